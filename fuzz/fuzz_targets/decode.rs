//! `specnorm_audio::decode` on arbitrary bytes: never panics; an `Ok` holds
//! `frames` finite mono samples within ±`MAX_SAMPLE_MAGNITUDE`, with a non-zero
//! rate and channel count, and is not truncated; an `Err` names the source path.
//! With `allow_truncated` the same holds, and a truncation reports fewer present
//! than declared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specnorm_audio::{decode_with, Audio, DecodeOptions, MAX_SAMPLE_MAGNITUDE};
use std::path::Path;

fn check(a: &Audio) {
    assert_eq!(a.samples.len() as u64, a.info.frames);
    assert!(a.info.frames > 0);
    assert!(a.info.sample_rate > 0 && a.info.channels > 0);
    assert!(a.samples.iter().all(|x| x.abs() <= MAX_SAMPLE_MAGNITUDE));
}

fuzz_target!(|data: &[u8]| {
    let src = Path::new("fuzz-input.wav");
    let strict = decode_with(data, src, DecodeOptions::default());
    match &strict {
        Ok(a) => {
            check(a);
            assert!(a.info.truncated.is_none());
        }
        Err(e) => assert!(e.to_string().contains("fuzz-input.wav"), "{e}"),
    }
    let allow = DecodeOptions {
        allow_truncated: true,
    };
    match decode_with(data, src, allow) {
        Ok(a) => {
            check(&a);
            if let Some(t) = a.info.truncated {
                assert!(t.present < t.declared, "{t}");
            } else if let Ok(s) = &strict {
                assert_eq!(s, &a, "a complete file decodes alike under both policies");
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz-input.wav"), "{e}"),
    }
});
