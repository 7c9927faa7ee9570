//! `specnorm_audio::decode` on arbitrary bytes: never panics; an `Ok` holds
//! `frames` finite mono samples with a non-zero rate and channel count; an
//! `Err` names the source path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let src = Path::new("fuzz-input.wav");
    match specnorm_audio::decode(data, src) {
        Ok(a) => {
            assert_eq!(a.samples.len() as u64, a.info.frames);
            assert!(a.info.frames > 0);
            assert!(a.info.sample_rate > 0 && a.info.channels > 0);
            assert!(a.samples.iter().all(|x| x.is_finite()));
        }
        Err(e) => assert!(e.to_string().contains("fuzz-input.wav"), "{e}"),
    }
});
