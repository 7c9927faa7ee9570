//! Decoding: fixtures written by libsndfile vs soundfile's own decode,
//! round trips through encode_wav for every format, and every error path.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, max_abs_diff, noise, read_npy};
use specnorm_audio::{decode, encode_wav, load, write_wav, AudioError, WavFormat};

fn check_fixture(name: &str, channels: u16, codec: &str, tol: f64) {
    let audio = load(&fixture(name)).unwrap_or_else(|e| panic!("{e}"));
    let golden = read_npy(&format!("{name}.mono.npy"));
    assert_eq!(audio.info.sample_rate, 22_050, "{name}");
    assert_eq!(audio.info.channels, channels, "{name}");
    assert_eq!(audio.info.codec, codec, "{name}");
    assert_eq!(audio.info.frames as usize, audio.samples.len(), "{name}");
    let err = max_abs_diff(&audio.samples, &golden);
    assert!(err <= tol, "{name}: max abs err {err:e}");
}

#[test]
fn wav_u8_matches_soundfile() {
    check_fixture("sf_u8.wav", 1, "pcm_u8", 1e-7);
}

#[test]
fn wav_pcm16_stereo_matches_soundfile() {
    check_fixture("sf_pcm16_stereo.wav", 2, "pcm_s16le", 1e-7);
}

#[test]
fn wav_pcm24_stereo_matches_soundfile() {
    check_fixture("sf_pcm24_stereo.wav", 2, "pcm_s24le", 1e-7);
}

#[test]
fn wav_pcm32_matches_soundfile() {
    check_fixture("sf_pcm32.wav", 1, "pcm_s32le", 1e-7);
}

#[test]
fn wav_float_stereo_matches_soundfile() {
    check_fixture("sf_float_stereo.wav", 2, "pcm_f32le", 1e-7);
}

#[test]
fn wav_double_matches_soundfile() {
    check_fixture("sf_double.wav", 1, "pcm_f64le", 1e-7);
}

#[test]
fn wavex_3ch_pcm16_matches_soundfile() {
    check_fixture("sf_wavex_3ch.wav", 3, "pcm_s16le", 1e-7);
}

#[test]
fn wavex_float_and_double_match_soundfile() {
    check_fixture("sf_wavex_float.wav", 2, "pcm_f32le", 1e-7);
    check_fixture("sf_wavex_double.wav", 2, "pcm_f64le", 1e-7);
}

#[test]
fn wav_mulaw_goes_through_symphonia() {
    check_fixture("sf_ulaw.wav", 1, "pcm_mulaw", 1e-6);
}

#[test]
fn flac_matches_soundfile() {
    check_fixture("codec.flac", 2, "flac", 1e-7);
}

#[test]
fn ogg_vorbis_matches_libvorbis() {
    // Length trimmed to the last page's granule position, like libvorbis.
    check_fixture("codec.ogg", 2, "vorbis", 1e-5);
}

#[test]
fn mp3_matches_libmpg123_gapless() {
    // Encoder delay and padding (LAME header) are removed, like libmpg123.
    check_fixture("codec.mp3", 2, "mp3", 1e-5);
}

#[test]
fn every_format_round_trips_through_encode_wav() {
    let rate = 16_000;
    for channels in [1u16, 2, 5] {
        let inter = noise(300 * channels as usize, 0.9, channels as u64);
        for (format, step, codec) in [
            (WavFormat::U8, 1.0 / 128.0, "pcm_u8"),
            (WavFormat::Pcm16, 1.0 / 32768.0, "pcm_s16le"),
            (WavFormat::Pcm24, 1.0 / 8_388_608.0, "pcm_s24le"),
            (WavFormat::Pcm32, 1.0 / 2_147_483_648.0, "pcm_s32le"),
            (WavFormat::F32, 0.0, "pcm_f32le"),
            (WavFormat::F64, 0.0, "pcm_f64le"),
        ] {
            let bytes = encode_wav(&inter, rate, channels, format);
            let audio = decode(&bytes, Path::new("mem.wav")).unwrap();
            assert_eq!(audio.info.sample_rate, rate);
            assert_eq!(audio.info.channels, channels);
            assert_eq!(audio.info.frames, 300);
            assert_eq!(audio.info.codec, codec);
            let expect: Vec<f64> = inter
                .chunks_exact(channels as usize)
                .map(|f| f.iter().map(|&x| x as f64).sum::<f64>() / channels as f64)
                .collect();
            // Quantisation is at most half a step per sample (+ f32 rounding).
            let err = max_abs_diff(&audio.samples, &expect);
            assert!(err <= step / 2.0 + 1e-6, "{format:?} x{channels}: {err:e}");
        }
    }
}

#[test]
fn grid_values_round_trip_exactly() {
    let x: Vec<f32> = (-32768..32768)
        .step_by(97)
        .map(|k| k as f32 / 32768.0)
        .collect();
    let bytes = encode_wav(&x, 8000, 1, WavFormat::Pcm16);
    assert_eq!(decode(&bytes, Path::new("g.wav")).unwrap().samples, x);
    let u: Vec<f32> = (0..256).map(|k| (k as f32 - 128.0) / 128.0).collect();
    let bytes = encode_wav(&u, 8000, 1, WavFormat::U8);
    assert_eq!(decode(&bytes, Path::new("g.wav")).unwrap().samples, u);
}

#[test]
fn encode_saturates_out_of_range_and_nan() {
    let bytes = encode_wav(&[2.0, -2.0, f32::NAN], 8000, 1, WavFormat::Pcm16);
    let a = decode(&bytes, Path::new("s.wav")).unwrap();
    assert_eq!(a.samples, vec![32767.0 / 32768.0, -1.0, 0.0]);
}

#[test]
fn pcm16_header_layout_is_canonical() {
    let bytes = encode_wav(&[0.0, 0.5], 44_100, 2, WavFormat::Pcm16);
    assert_eq!(bytes.len(), 48);
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 40);
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 1); // PCM
    assert_eq!(
        u32::from_le_bytes(bytes[28..32].try_into().unwrap()),
        44_100 * 4
    );
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(&bytes[44..48], &[0, 0, 0, 0x40]);
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("specnorm-audio-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn write_wav_is_atomic_and_loadable() {
    let dir = tmpdir("write");
    let path = dir.join("out.wav");
    let x = noise(1000, 0.5, 4);
    write_wav(&path, &x, 22_050, 1, WavFormat::F32).unwrap();
    write_wav(&path, &x, 22_050, 1, WavFormat::F32).unwrap(); // overwrite
    let a = load(&path).unwrap();
    assert_eq!(a.samples, x);
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.wav")]);
    let e = write_wav(&dir.join("missing/x.wav"), &x, 22_050, 1, WavFormat::F32).unwrap_err();
    assert!(matches!(e, AudioError::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing/x.wav"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- errors ---------------------------------------------------------------

fn err_of(bytes: &[u8]) -> AudioError {
    decode(bytes, Path::new("clip.wav")).unwrap_err()
}

fn assert_names_file(e: &AudioError) {
    assert!(
        e.to_string().contains("clip.wav"),
        "message must name the file: {e}"
    );
}

#[test]
fn missing_file_and_directory() {
    let e = load(Path::new("/nonexistent/dir/a.wav")).unwrap_err();
    assert!(matches!(e, AudioError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/dir/a.wav"));
    let dir = tmpdir("isdir");
    let e = load(&dir).unwrap_err();
    assert!(matches!(e, AudioError::IsDirectory { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_file() {
    let e = err_of(&[]);
    assert!(matches!(e, AudioError::Empty { .. }), "{e}");
    assert_names_file(&e);
}

#[test]
fn truncated_header() {
    let wav = encode_wav(&noise(100, 0.5, 1), 8000, 1, WavFormat::Pcm16);
    for cut in [1, 4, 11, 12, 20, 35, 43] {
        let e = err_of(&wav[..cut]);
        assert!(
            matches!(e, AudioError::TruncatedHeader { .. }),
            "cut {cut}: {e}"
        );
        assert_names_file(&e);
    }
}

#[test]
fn zero_samples() {
    let e = err_of(&encode_wav(&[], 8000, 1, WavFormat::Pcm16));
    assert!(matches!(e, AudioError::ZeroSamples { .. }), "{e}");
    assert_names_file(&e);
}

#[test]
fn random_bytes_are_not_audio() {
    let bytes: Vec<u8> = noise(4096, 1.0, 77)
        .iter()
        .map(|x| (x * 127.0) as i8 as u8)
        .collect();
    let e = err_of(&bytes);
    assert!(matches!(e, AudioError::NotAudio { .. }), "{e}");
    assert_names_file(&e);
    let e = err_of(b"hello, this is a text file, not audio\n");
    assert!(matches!(e, AudioError::NotAudio { .. }), "{e}");
}

fn with_tag(tag: u16, bits: u16) -> Vec<u8> {
    let mut wav = encode_wav(&noise(64, 0.5, 1), 8000, 1, WavFormat::Pcm16);
    wav[20..22].copy_from_slice(&tag.to_le_bytes());
    wav[34..36].copy_from_slice(&bits.to_le_bytes());
    wav
}

#[test]
fn unsupported_codecs() {
    for (tag, bits, what) in [
        (0x55, 16, "0x0055"),
        (0x02, 4, "ADPCM"),
        (0x11, 4, "IMA ADPCM"),
        (1, 12 * 8, "96-bit"),
        (3, 16, "float with 16-bit"),
    ] {
        let e = err_of(&with_tag(tag, bits));
        assert!(matches!(e, AudioError::UnsupportedCodec { .. }), "{e}");
        assert!(e.to_string().contains(what), "{e}");
        assert_names_file(&e);
    }
}

#[test]
fn zero_rate_and_zero_channels() {
    let mut wav = encode_wav(&noise(64, 0.5, 1), 8000, 1, WavFormat::Pcm16);
    wav[24..28].copy_from_slice(&0u32.to_le_bytes());
    let e = err_of(&wav);
    assert!(matches!(e, AudioError::ZeroSampleRate { .. }), "{e}");
    assert_names_file(&e);
    let mut wav = encode_wav(&noise(64, 0.5, 1), 8000, 1, WavFormat::Pcm16);
    wav[22..24].copy_from_slice(&0u16.to_le_bytes());
    let e = err_of(&wav);
    assert!(matches!(e, AudioError::ZeroChannels { .. }), "{e}");
}

#[test]
fn non_finite_float_samples() {
    for format in [WavFormat::F32, WavFormat::F64] {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut x = noise(40, 0.5, 1);
            x[23] = bad;
            x[31] = bad;
            let e = err_of(&encode_wav(&x, 8000, 2, format));
            match &e {
                AudioError::NonFinite { index, .. } => assert_eq!(*index, 23, "{e}"),
                other => panic!("{other}"),
            }
            assert!(e.to_string().contains("index 23"), "{e}");
            assert_names_file(&e);
        }
    }
}

#[test]
fn odd_chunks_before_data_are_skipped() {
    // RIFF chunks are word aligned: an odd-sized LIST chunk has a pad byte.
    let x = noise(50, 0.5, 2);
    let wav = encode_wav(&x, 8000, 1, WavFormat::Pcm16);
    let mut out = wav[..36].to_vec();
    out.extend_from_slice(b"LIST");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&[1, 2, 3, 0]);
    out.extend_from_slice(&wav[36..]);
    let a = decode(&out, Path::new("l.wav")).unwrap();
    assert_eq!(a.samples, decode(&wav, Path::new("l.wav")).unwrap().samples);
}

#[test]
fn data_before_fmt_is_malformed() {
    let mut out = b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\0\0".to_vec();
    out.extend_from_slice(&encode_wav(&[0.0], 8000, 1, WavFormat::Pcm16)[12..]);
    let e = err_of(&out);
    assert!(matches!(e, AudioError::Malformed { .. }), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        let _ = decode(&bytes, Path::new("fuzz.bin"));
    }

    #[test]
    fn random_bytes_after_riff_header_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let mut b = b"RIFF\xff\xff\xff\xffWAVE".to_vec();
        b.extend_from_slice(&tail);
        let _ = decode(&b, Path::new("fuzz.wav"));
    }

    #[test]
    fn truncations_and_corruptions_never_panic(cut in 0usize..700, pos in 0usize..700, byte in proptest::prelude::any::<u8>(), fmt in 0usize..6) {
        let formats = [WavFormat::U8, WavFormat::Pcm16, WavFormat::Pcm24, WavFormat::Pcm32, WavFormat::F32, WavFormat::F64];
        let mut wav = encode_wav(&noise(80, 0.5, 3), 8000, 2, formats[fmt]);
        if pos < wav.len() {
            wav[pos] = byte;
        }
        let cut = cut.min(wav.len());
        let _ = decode(&wav[..cut], Path::new("fuzz.wav"));
    }

    #[test]
    fn codec_fixture_corruptions_never_panic(which in 0usize..3, pos in 0usize..20_000, byte in proptest::prelude::any::<u8>(), cut in 0usize..20_000) {
        let name = ["codec.flac", "codec.ogg", "codec.mp3"][which];
        let mut bytes = std::fs::read(fixture(name)).unwrap();
        let n = bytes.len();
        bytes[pos % n] = byte;
        let _ = decode(&bytes[..cut.min(n)], Path::new(name));
    }
}

#[test]
fn fast_path_equals_symphonia_for_pcm_wav() {
    use specnorm_audio::decode_symphonia;
    for channels in [1u16, 2, 3] {
        let x = noise(500 * channels as usize, 0.9, 11 + channels as u64);
        for format in [
            WavFormat::U8,
            WavFormat::Pcm16,
            WavFormat::Pcm24,
            WavFormat::Pcm32,
            WavFormat::F32,
        ] {
            let bytes = encode_wav(&x, 44_100, channels, format);
            let fast = decode(&bytes, Path::new("x.wav")).unwrap();
            let slow = decode_symphonia(&bytes, Path::new("x.wav")).unwrap();
            assert_eq!(fast.info.frames, slow.info.frames, "{format:?}");
            assert_eq!(fast.info.channels, slow.info.channels);
            assert_eq!(fast.info.sample_rate, slow.info.sample_rate);
            let err = fast
                .samples
                .iter()
                .zip(&slow.samples)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err <= 1e-7, "{format:?} x{channels}: {err:e}");
        }
    }
}

#[test]
fn decode_into_reuses_buffer_and_matches_decode() {
    use specnorm_audio::decode_into;
    let mut buf = vec![9.0f32; 5];
    for (name, format, ch) in [
        ("a.wav", WavFormat::Pcm16, 2u16),
        ("b.wav", WavFormat::F64, 1),
    ] {
        let bytes = encode_wav(&noise(600, 0.5, 8), 11_025, ch, format);
        let info = decode_into(&bytes, Path::new(name), &mut buf).unwrap();
        let a = decode(&bytes, Path::new(name)).unwrap();
        assert_eq!(info, a.info);
        assert_eq!(buf, a.samples);
    }
    let flac = std::fs::read(fixture("codec.flac")).unwrap();
    let info = decode_into(&flac, Path::new("c.flac"), &mut buf).unwrap();
    assert_eq!(info.frames as usize, buf.len());
    assert_eq!(buf, decode(&flac, Path::new("c.flac")).unwrap().samples);
}
