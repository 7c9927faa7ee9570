//! The truncation policy (declared length vs what the file holds, the streaming
//! markers, `allow_truncated`) and the range policy for float samples, on
//! generated files and cut fixtures.

mod common;

use std::path::Path;

use common::{fixture, noise};
use specnorm_audio::{
    check_samples, decode, decode_symphonia, decode_with, encode_wav, AudioError, DecodeOptions,
    LengthUnit, Truncation, WavFormat, MAX_SAMPLE_MAGNITUDE,
};

const ALLOW: DecodeOptions = DecodeOptions {
    allow_truncated: true,
};

fn set_data_size(wav: &mut [u8], size: u32) {
    assert_eq!(&wav[36..40], b"data");
    wav[40..44].copy_from_slice(&size.to_le_bytes());
}

#[test]
fn a_wav_cut_300_bytes_short_is_an_error_naming_both_sizes() {
    // 1000 stereo 16-bit frames: 4000 data bytes, 3700 left after the cut.
    let wav = encode_wav(&noise(2000, 0.5, 3), 16_000, 2, WavFormat::Pcm16);
    let cut = &wav[..wav.len() - 300];
    for e in [
        decode(cut, Path::new("dl/cut.wav")).unwrap_err(),
        decode_symphonia(cut, Path::new("dl/cut.wav")).unwrap_err(),
    ] {
        match &e {
            AudioError::Truncated {
                declared,
                present,
                unit,
                ..
            } => assert_eq!(
                (*declared, *present, *unit),
                (4000, 3700, LengthUnit::Bytes)
            ),
            other => panic!("{other}"),
        }
        assert_eq!(
            e.to_string(),
            "dl/cut.wav: truncated: the header declares 4000 bytes of audio data but the file \
             holds 3700 (pass --allow-truncated to decode the part present)"
        );
    }
    // Accepted: the whole frames present (925 of 1000), said so in the info.
    let a = decode_with(cut, Path::new("dl/cut.wav"), ALLOW).unwrap();
    let full = decode(&wav, Path::new("full.wav")).unwrap();
    assert_eq!(a.info.frames, 925);
    assert_eq!(a.samples, full.samples[..925]);
    assert_eq!(
        a.info.truncated,
        Some(Truncation {
            declared: 4000,
            present: 3700,
            unit: LengthUnit::Bytes
        })
    );
    assert_eq!(full.info.truncated, None);
    // A cut inside a frame keeps the whole frames before it.
    let a = decode_with(&wav[..44 + 37], Path::new("t.wav"), ALLOW).unwrap();
    assert_eq!(a.info.frames, 9);
    // Less than one frame present is still ZeroSamples.
    let e = decode_with(&wav[..44 + 3], Path::new("t.wav"), ALLOW).unwrap_err();
    assert!(matches!(e, AudioError::ZeroSamples { .. }), "{e}");
}

#[test]
fn a_header_claiming_4_gib_over_2_bytes_is_an_error() {
    let mut wav = encode_wav(&[0.25], 8000, 1, WavFormat::Pcm16);
    assert_eq!(wav.len(), 46);
    set_data_size(&mut wav, 0xFFFF_FFFE);
    let e = decode(&wav, Path::new("huge.wav")).unwrap_err();
    assert!(
        e.to_string()
            .contains("declares 4294967294 bytes of audio data but the file holds 2"),
        "{e}"
    );
    let a = decode_with(&wav, Path::new("huge.wav"), ALLOW).unwrap();
    assert_eq!(a.samples, vec![0.25]);
}

#[test]
fn the_streaming_markers_read_to_the_end_of_the_file() {
    let x = noise(300, 0.5, 5);
    let wav = encode_wav(&x, 8000, 1, WavFormat::Pcm16);
    let full = decode(&wav, Path::new("s.wav")).unwrap();
    for marker in [0u32, u32::MAX] {
        let mut w = wav.clone();
        set_data_size(&mut w, marker);
        let a = decode(&w, Path::new("stream.wav")).unwrap();
        assert_eq!(a.samples, full.samples, "marker {marker:#x}");
        assert_eq!(a.info.truncated, None);
        let b = decode_symphonia(&w, Path::new("stream.wav")).unwrap();
        assert_eq!(b.info.frames, 300, "marker {marker:#x}");
        // A streamed file holding nothing yet.
        let e = decode(&w[..44], Path::new("stream.wav")).unwrap_err();
        assert!(matches!(e, AudioError::ZeroSamples { .. }), "{e}");
    }
}

#[test]
fn a_truncated_mulaw_wav_follows_the_same_policy() {
    // mu-law goes through symphonia on a copy whose data size is the one present.
    let bytes = std::fs::read(fixture("sf_ulaw.wav")).unwrap();
    let full = decode(&bytes, Path::new("m.wav")).unwrap();
    let cut = &bytes[..bytes.len() - 300];
    let e = decode(cut, Path::new("m.wav")).unwrap_err();
    assert!(
        matches!(e, AudioError::Truncated { present, declared, .. } if declared == present + 300),
        "{e}"
    );
    let a = decode_with(cut, Path::new("m.wav"), ALLOW).unwrap();
    assert_eq!(a.info.frames as usize, a.samples.len());
    assert_eq!(a.samples[..], full.samples[..a.samples.len()]);
    assert!(a.info.truncated.is_some());
}

/// A compressed fixture cut 300 bytes short: `Truncated` in sample frames
/// (declared: the container's total), or the part present when allowed.
fn check_cut_codec(name: &str) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let full = decode(&bytes, Path::new(name)).unwrap();
    assert_eq!(full.info.truncated, None, "{name}");
    let cut = &bytes[..bytes.len() - 300];
    let e = decode(cut, Path::new(name)).unwrap_err();
    match &e {
        AudioError::Truncated {
            declared,
            present,
            unit,
            ..
        } => {
            assert_eq!(*unit, LengthUnit::Frames, "{name}");
            assert_eq!(*declared, full.info.frames, "{name}");
            assert!(*present < *declared, "{name}: {e}");
        }
        other => panic!("{name}: {other}"),
    }
    assert!(e.to_string().contains("sample frames of audio data"), "{e}");
    let a = decode_with(cut, Path::new(name), ALLOW).unwrap();
    assert!(
        !a.samples.is_empty() && a.samples.len() < full.samples.len(),
        "{name}"
    );
    assert_eq!(a.info.truncated.map(|t| t.declared), Some(full.info.frames));
}

#[test]
fn a_cut_flac_is_truncated_against_its_streaminfo_total() {
    check_cut_codec("codec.flac");
    let bytes = std::fs::read(fixture("codec.flac")).unwrap();
    let full = decode(&bytes, Path::new("c.flac")).unwrap();
    let half = decode_with(&bytes[..bytes.len() - 300], Path::new("c.flac"), ALLOW).unwrap();
    assert_eq!(half.samples[..], full.samples[..half.samples.len()]);
    let e = decode(&bytes[..20], Path::new("c.flac")).unwrap_err();
    assert!(e.to_string().contains("c.flac"), "{e}");
}

#[test]
fn a_cut_ogg_is_truncated_against_its_last_page_header() {
    // The cut falls inside the last page, whose header states its length in bytes.
    let bytes = std::fs::read(fixture("codec.ogg")).unwrap();
    let full = decode(&bytes, Path::new("c.ogg")).unwrap();
    assert_eq!(full.info.truncated, None);
    let cut = &bytes[..bytes.len() - 300];
    let e = decode(cut, Path::new("c.ogg")).unwrap_err();
    match &e {
        AudioError::Truncated {
            declared,
            present,
            unit,
            ..
        } => {
            assert_eq!(*unit, LengthUnit::Bytes);
            assert_eq!(*present, cut.len() as u64);
            assert!(
                *declared > *present && *declared <= bytes.len() as u64,
                "{e}"
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        e.to_string(),
        "c.ogg: truncated: the header declares 6046 bytes of audio data but the file holds 5746 \
         (pass --allow-truncated to decode the part present)"
    );
    // The fixture's audio is one page (after the two header pages, ending at byte 3687): cut
    // inside it, the part present holds no audio, which is still an error naming the file.
    let e = decode_with(cut, Path::new("c.ogg"), ALLOW).unwrap_err();
    assert!(e.to_string().starts_with("c.ogg: "), "{e}");
    // Cut at the page boundary, the stream is a valid (header-only) prefix: not truncation.
    let e = decode(&bytes[..3687], Path::new("c.ogg")).unwrap_err();
    assert!(!matches!(e, AudioError::Truncated { .. }), "{e}");
}

#[test]
fn a_cut_mp3_is_truncated_against_its_xing_frame_count() {
    check_cut_codec("codec.mp3");
}

#[test]
fn float_samples_beyond_the_range_limit_are_out_of_range() {
    for format in [WavFormat::F32, WavFormat::F64] {
        // Near f32::MAX (the case that used to give power clamped to f32::MAX), and just
        // past the limit; the limit itself is accepted.
        for big in [f32::MAX, -3.0e38, MAX_SAMPLE_MAGNITUDE * 1.001] {
            let mut x = noise(40, 0.5, 1);
            x[17] = MAX_SAMPLE_MAGNITUDE;
            x[23] = big;
            let e = decode(&encode_wav(&x, 8000, 2, format), Path::new("loud.wav")).unwrap_err();
            match &e {
                AudioError::OutOfRange { index, value, .. } => {
                    assert_eq!(*index, 23, "{e}");
                    assert_eq!(*value, f64::from(big), "{e}");
                }
                other => panic!("{other}"),
            }
            let msg = e.to_string();
            assert!(msg.starts_with("loud.wav: sample value "), "{msg}");
            assert!(
                msg.contains(
                    "at interleaved sample index 23 is out of range: float samples \
                              must lie within ±1048576 (2^20, about +120 dBFS)"
                ),
                "{msg}"
            );
        }
    }
    // An f64 beyond f32's range is out of range too (it used to become infinite).
    let mut wav = encode_wav(&[0.0, 0.0], 8000, 1, WavFormat::F64);
    wav[52..60].copy_from_slice(&1e300f64.to_le_bytes());
    match decode(&wav, Path::new("clip.wav")).unwrap_err() {
        AudioError::OutOfRange { index, value, .. } => assert_eq!((index, value), (1, 1e300)),
        other => panic!("{other}"),
    }
    // At the limit: decodes, and the mono mix of two channels at +-limit is exact.
    let x = [
        MAX_SAMPLE_MAGNITUDE,
        MAX_SAMPLE_MAGNITUDE,
        -MAX_SAMPLE_MAGNITUDE,
        0.0,
    ];
    let a = decode(
        &encode_wav(&x, 8000, 2, WavFormat::F32),
        Path::new("edge.wav"),
    )
    .unwrap();
    assert_eq!(
        a.samples,
        vec![MAX_SAMPLE_MAGNITUDE, -MAX_SAMPLE_MAGNITUDE / 2.0]
    );
}

#[test]
fn in_memory_samples_follow_the_range_policy() {
    let src = Path::new("<memory>");
    assert!(check_samples(&[0.0, -MAX_SAMPLE_MAGNITUDE, 1.5], src).is_ok());
    let e = check_samples(&[0.0, 1.0, 2e6], src).unwrap_err();
    assert!(matches!(e, AudioError::OutOfRange { index: 2, .. }), "{e}");
    let e = check_samples(&[f32::NAN], src).unwrap_err();
    assert!(matches!(e, AudioError::NonFinite { index: 0, .. }), "{e}");
}
