//! The fuzz seeds (fuzz/corpus/decode, written by fuzz/gen_seeds.py with
//! libsndfile) decode to the tone they were written from: every Vorbis and
//! MPEG layer III variant the fuzzer starts from is a valid file for
//! symphonia 0.6, with gapless lengths equal to the frames written.

use std::path::{Path, PathBuf};

use specnorm_audio::decode;

fn seed(name: &str) -> Vec<u8> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/decode"
    ))
    .join(format!("seed-{name}"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// gen_seeds.py's tone mixed to mono: channel k is 0.5 sin(2 pi 440 t) scaled
/// by 0.5 + 0.5 k / channels.
fn tone_mono(rate: u32, frames: usize, channels: usize) -> Vec<f64> {
    let gain: f64 = (0..channels)
        .map(|k| 0.5 + 0.5 * k as f64 / channels as f64)
        .sum::<f64>()
        / channels as f64;
    (0..frames)
        .map(|n| {
            0.5 * gain * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / f64::from(rate)).sin()
        })
        .collect()
}

fn max_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "length");
    got.iter()
        .zip(want)
        .map(|(&x, &y)| (f64::from(x) - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn vorbis_mp3_and_flac_seeds_decode_to_their_tone() {
    // name, rate, frames written, channels, codec, bound on the error: lossy
    // codecs at these low bitrates stay within 0.012 of the 0.25-0.31 peak
    // tone (measured 0.004-0.012); FLAC holds 16-bit PCM (half a step).
    for (name, rate, frames, ch, codec, tol) in [
        ("vorbis-mono-16k.ogg", 16000, 2000, 1, "vorbis", 0.02),
        ("vorbis-stereo-44k.ogg", 44100, 3000, 2, "vorbis", 0.02),
        ("mp3-mono-16k.mp3", 16000, 2000, 1, "mp3", 0.02),
        ("mp3-stereo-44k.mp3", 44100, 2304, 2, "mp3", 0.02),
        ("id3-mp3-stereo-44k.mp3", 44100, 2304, 2, "mp3", 0.02),
        ("mp3-mono-8k.mp3", 8000, 1152, 1, "mp3", 0.02),
        (
            "flac-mono-16k.flac",
            16000,
            1000,
            1,
            "flac",
            0.5 / 32768.0 + 1e-7,
        ),
    ] {
        let a = decode(&seed(name), Path::new(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.info.sample_rate, rate, "{name}");
        assert_eq!(usize::from(a.info.channels), ch, "{name}");
        assert_eq!(a.info.codec, codec, "{name}");
        assert_eq!(a.info.truncated, None, "{name}");
        // Gapless: encoder delay and padding removed, the frames written are what decodes.
        assert_eq!(a.info.frames, frames as u64, "{name}");
        let err = max_err(&a.samples, &tone_mono(rate, frames, ch));
        assert!(err <= tol, "{name}: max abs err {err:e}");
    }
}

#[test]
fn an_id3v2_tag_in_front_changes_nothing() {
    let plain = decode(&seed("mp3-stereo-44k.mp3"), Path::new("a.mp3")).unwrap();
    let tagged = decode(&seed("id3-mp3-stereo-44k.mp3"), Path::new("a.mp3")).unwrap();
    assert_eq!(plain, tagged);
}
