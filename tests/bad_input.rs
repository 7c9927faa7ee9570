//! The bad-audio zoo, run through the whole front end (`FeatureExtractor::extract_file`):
//! every malformed file gives an error whose message names the file and the reason;
//! every odd-but-valid file gives the documented, finite result.

mod common;

use common::*;
use specnorm_audio::{decode, encode_wav, load, load_with, DecodeOptions, WavFormat};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use std::path::Path;

fn fx() -> FeatureExtractor {
    FeatureExtractor::new(FeatureConfig::default()).unwrap()
}

fn fx_free() -> FeatureExtractor {
    FeatureExtractor::new(FeatureConfig {
        seconds: None,
        ..FeatureConfig::default()
    })
    .unwrap()
}

/// One second of 1 kHz at 16 kHz, 16-bit mono: the canonical good file.
fn good_wav() -> Vec<u8> {
    encode_wav(
        &sine(1000.0, 16_000, 16_000, 0.5),
        16_000,
        1,
        WavFormat::Pcm16,
    )
}

/// Replace the `fmt ` format tag of an [`encode_wav`] file.
fn with_tag(mut wav: Vec<u8>, tag: u16) -> Vec<u8> {
    wav[20..22].copy_from_slice(&tag.to_le_bytes());
    wav
}

/// Index of the largest value of column `t`.
fn peak_bin(spec: &ndarray::Array2<f32>, t: usize) -> usize {
    let col = spec.column(t);
    (0..col.len())
        .max_by(|&a, &b| col[a].total_cmp(&col[b]))
        .unwrap()
}

/// Largest |a - b| over the bins of `a` within 80 dB of its peak.
fn max_diff_db(a: &ndarray::Array2<f32>, b: &ndarray::Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    let peak = a.iter().copied().fold(f32::MIN, f32::max);
    a.iter()
        .zip(b.iter())
        .filter(|(x, _)| **x > peak - 80.0)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn good_file_gives_default_shape_and_peak() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "good.wav", &good_wav());
    let spec = fx().extract_file(&p).unwrap();
    assert_eq!(spec.dim(), (201, 401));
    assert_finite(spec.iter());
    // 1 kHz at 16 kHz with n_fft 400 -> bin 25; frame 20 lies inside the tone.
    assert_eq!(peak_bin(&spec, 20), 25);
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "empty.wav", b"");
    assert_msg(&err(fx().extract_file(&p)), "empty.wav", "empty");
}

#[test]
fn missing_file_and_directory_in_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    assert_msg(
        &err(fx().extract_file(&missing)),
        "missing.wav",
        "not found",
    );
    let d = dir.path().join("folder.wav");
    std::fs::create_dir(&d).unwrap();
    assert_msg(&err(fx().extract_file(&d)), "folder.wav", "is a directory");
}

#[test]
fn every_truncated_header_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let wav = good_wav();
    let fx = fx();
    // 44 bytes of header: any cut before the data chunk's size field is complete.
    for len in 1..44 {
        let name = format!("cut{len}.wav");
        let p = put(dir.path(), &name, &wav[..len]);
        assert_msg(&err(fx.extract_file(&p)), &name, "truncated header");
    }
    // The whole header and none of the 32000 data bytes it declares: truncated.
    let p = put(dir.path(), "cut44.wav", &wav[..44]);
    assert_msg(
        &err(fx.extract_file(&p)),
        "cut44.wav",
        "declares 32000 bytes of audio data but the file holds 0",
    );
}

#[test]
fn truncated_data_is_an_error_unless_allowed() {
    // Documented policy: the declared data size is checked; --allow-truncated decodes the
    // whole frames present, and the extractor lists the clip.
    let dir = tempfile::tempdir().unwrap();
    let wav = good_wav();
    let full = decode(&wav, Path::new("full.wav")).unwrap();
    // 10001 of 32000 data bytes: 5000 whole 16-bit frames and half of another.
    let p = put(dir.path(), "short_data.wav", &wav[..44 + 10_001]);
    let e = err(fx().extract_file(&p));
    assert_msg(
        &e,
        "short_data.wav",
        "declares 32000 bytes of audio data but the file holds 10001",
    );
    let allow = DecodeOptions {
        allow_truncated: true,
    };
    let cut = load_with(&p, allow).unwrap();
    assert_eq!(cut.info.frames, 5000);
    assert_eq!(cut.samples[..], full.samples[..5000]);
    let fx = fx().with_decode_options(allow);
    let spec = fx.extract_file(&p).unwrap();
    assert_eq!(spec.dim(), (201, 401));
    assert_finite(spec.iter());
    let listed = fx.take_truncated();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].path, p);
    assert_eq!(
        listed[0].to_string(),
        format!(
            "{}: header declares 32000 bytes, file holds 10001",
            p.display()
        )
    );
    assert!(fx.take_truncated().is_empty(), "taken once");
    // A stereo 16-bit file cut after 1 byte of data has no whole frame.
    let st = encode_wav(&[0.5; 8], 16_000, 2, WavFormat::Pcm16);
    let p = put(dir.path(), "one_byte.wav", &st[..45]);
    assert_msg(
        &err(fx.extract_file(&p)),
        "one_byte.wav",
        "no audio samples",
    );
}

#[test]
fn zero_length_data_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(
        dir.path(),
        "nodata.wav",
        &encode_wav(&[], 16_000, 1, WavFormat::F32),
    );
    assert_msg(
        &err(fx().extract_file(&p)),
        "nodata.wav",
        "no audio samples",
    );
}

#[test]
fn random_bytes_named_wav() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fx();
    for seed in 0..64u64 {
        let name = format!("random{seed}.wav");
        let n = 1 + (seed as usize * 997) % 5000;
        let p = put(dir.path(), &name, &lcg_bytes(seed, n));
        assert_msg(
            &err(fx.extract_file(&p)),
            &name,
            "not a recognized audio file",
        );
    }
    // Random bytes behind a valid RIFF/WAVE signature: an error, never a panic.
    for seed in 0..64u64 {
        let name = format!("riff{seed}.wav");
        let mut bytes = b"RIFF\0\0\0\0WAVE".to_vec();
        bytes.extend(lcg_bytes(seed, 200));
        let p = put(dir.path(), &name, &bytes);
        match fx.extract_file(&p) {
            Ok(spec) => assert_finite(spec.iter()),
            Err(e) => assert_msg(&e, &name, ""),
        }
    }
}

#[test]
fn unsupported_codecs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "mp3inwav.wav", &with_tag(good_wav(), 0x55));
    let e = err(fx().extract_file(&p));
    assert_msg(&e, "mp3inwav.wav", "unsupported codec");
    assert_msg(&e, "mp3inwav.wav", "0x0055");
    let p = put(dir.path(), "adpcm.wav", &with_tag(good_wav(), 0x11));
    let e = err(fx().extract_file(&p));
    assert_msg(&e, "adpcm.wav", "unsupported codec");
    assert_msg(&e, "adpcm.wav", "IMA ADPCM");
    // PCM with a sample width no reader supports (12-bit is fine: it is
    // stored in 16-bit containers and decodes as such).
    let mut wav = good_wav();
    wav[34..36].copy_from_slice(&40u16.to_le_bytes());
    let p = put(dir.path(), "pcm40.wav", &wav);
    assert_msg(&err(fx().extract_file(&p)), "pcm40.wav", "40-bit");
}

#[test]
fn zero_rate_and_zero_channels() {
    let dir = tempfile::tempdir().unwrap();
    let mut wav = good_wav();
    wav[24..28].copy_from_slice(&0u32.to_le_bytes());
    let p = put(dir.path(), "rate0.wav", &wav);
    assert_msg(&err(fx().extract_file(&p)), "rate0.wav", "sample rate 0");
    let mut wav = good_wav();
    wav[22..24].copy_from_slice(&0u16.to_le_bytes());
    let p = put(dir.path(), "ch0.wav", &wav);
    assert_msg(&err(fx().extract_file(&p)), "ch0.wav", "channel count 0");
}

#[test]
fn silent_and_constant_clips_are_finite() {
    let dir = tempfile::tempdir().unwrap();
    // Silence and a DC offset at 16 kHz: waveform norm centres them to exact zeros,
    // so every bin is the dB floor 10 * log10(1e-10) = -100.
    for (name, v) in [("silent.wav", 0.0f32), ("dc.wav", 0.5)] {
        let p = put(
            dir.path(),
            name,
            &encode_wav(&[v; 16_000], 16_000, 1, WavFormat::Pcm16),
        );
        let spec = fx().extract_file(&p).unwrap();
        assert_eq!(spec.dim(), (201, 401));
        assert!(spec.iter().all(|&x| x == -100.0), "{name}");
    }
    // Stereo with opposite channels mixes to silence.
    let x = sine(440.0, 16_000, 16_000, 0.5);
    let inter: Vec<f32> = x.iter().flat_map(|&v| [v, -v]).collect();
    let p = put(
        dir.path(),
        "antiphase.wav",
        &encode_wav(&inter, 16_000, 2, WavFormat::F32),
    );
    assert!(fx().extract_file(&p).unwrap().iter().all(|&x| x == -100.0));
    // Resampled DC (44.1 kHz) and silence without waveform normalization: finite.
    let p = put(
        dir.path(),
        "dc441.wav",
        &encode_wav(&[0.25; 44_100], 44_100, 1, WavFormat::Pcm16),
    );
    let spec = fx().extract_file(&p).unwrap();
    assert_eq!(spec.dim(), (201, 401));
    assert_finite(spec.iter());
    let raw = FeatureExtractor::new(FeatureConfig {
        waveform_norm: false,
        ..FeatureConfig::default()
    })
    .unwrap();
    let spec = raw.extract_file(&dir.path().join("silent.wav")).unwrap();
    assert!(spec.iter().all(|&x| x == -100.0));
}

#[test]
fn non_finite_float_samples_name_file_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = interleave(&sine(440.0, 16_000, 1000, 0.5), 2);
    x[201] = f32::NAN; // frame 100, right channel
    let p = put(
        dir.path(),
        "nan.wav",
        &encode_wav(&x, 16_000, 2, WavFormat::F32),
    );
    let e = err(fx().extract_file(&p));
    assert_msg(&e, "nan.wav", "non-finite");
    assert_msg(&e, "nan.wav", "index 201");
    let mut y = sine(440.0, 16_000, 1000, 0.5);
    y[0] = f32::NEG_INFINITY;
    let p = put(
        dir.path(),
        "inf64.wav",
        &encode_wav(&y, 16_000, 1, WavFormat::F64),
    );
    let e = err(fx().extract_file(&p));
    assert_msg(&e, "inf64.wav", "non-finite");
    assert_msg(&e, "inf64.wav", "index 0");
    // A finite f64 sample that overflows f32: out of range.
    let mut wav = encode_wav(&sine(440.0, 16_000, 100, 0.5), 16_000, 1, WavFormat::F64);
    wav[44 + 8 * 7..44 + 8 * 8].copy_from_slice(&1e300f64.to_le_bytes());
    let p = put(dir.path(), "huge64.wav", &wav);
    let e = err(fx().extract_file(&p));
    assert_msg(&e, "huge64.wav", "out of range");
    assert_msg(&e, "huge64.wav", "index 7");
}

#[test]
fn float_samples_near_f32_max_are_out_of_range_and_the_limit_stays_finite() {
    // Stated policy: float samples must lie within ±MAX_SAMPLE_MAGNITUDE (2^20). Near
    // f32::MAX, with or without waveform normalization, the file is refused (it used to give
    // power clamped to f32::MAX with normalization off).
    let dir = tempfile::tempdir().unwrap();
    let tone = sine(440.0, 16_000, 16_000, 1.0);
    let scaled = |k: f32| tone.iter().map(|v| v * k).collect::<Vec<f32>>();
    for sr in [16_000u32, 44_100] {
        let name = format!("loud{sr}.wav");
        let p = put(
            dir.path(),
            &name,
            &encode_wav(&scaled(3e38), sr, 1, WavFormat::F32),
        );
        let at_limit = format!("limit{sr}.wav");
        let q = put(
            dir.path(),
            &at_limit,
            &encode_wav(
                &scaled(specnorm_audio::MAX_SAMPLE_MAGNITUDE),
                sr,
                1,
                WavFormat::F32,
            ),
        );
        for norm in [true, false] {
            let fx = FeatureExtractor::new(FeatureConfig {
                waveform_norm: norm,
                ..FeatureConfig::default()
            })
            .unwrap();
            let e = err(fx.extract_file(&p));
            assert_msg(
                &e,
                &name,
                "is out of range: float samples must lie within ±1048576",
            );
            // The largest accepted amplitude gives a finite spectrogram below f32::MAX.
            let spec = fx.extract_file(&q).unwrap();
            assert_finite(spec.iter());
            let peak = spec.iter().copied().fold(f32::MIN, f32::max);
            assert!(
                peak < 10.0 * f32::MAX.log10(),
                "{at_limit} norm {norm}: {peak}"
            );
        }
    }
}

#[test]
fn clip_shorter_than_n_fft() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(
        dir.path(),
        "tiny.wav",
        &encode_wav(&sine(1000.0, 16_000, 100, 0.5), 16_000, 1, WavFormat::Pcm16),
    );
    // Fixed 5 s: zero-padded to the default shape.
    let spec = fx().extract_file(&p).unwrap();
    assert_eq!(spec.dim(), (201, 401));
    assert_finite(spec.iter());
    // Free length: reflect padding needs more than n_fft / 2 = 200 samples.
    let e = err(fx_free().extract_file(&p));
    assert_msg(&e, "tiny.wav", "too short");
    assert_msg(&e, "tiny.wav", "201");
    // 300 samples (between n_fft / 2 and n_fft): 1 + 300 / 200 = 2 frames.
    let p = put(
        dir.path(),
        "short300.wav",
        &encode_wav(&sine(1000.0, 16_000, 300, 0.5), 16_000, 1, WavFormat::Pcm16),
    );
    let spec = fx_free().extract_file(&p).unwrap();
    assert_eq!(spec.dim(), (201, 2));
    assert_finite(spec.iter());
    // One sample at 44.1 kHz resamples to one sample: too short, not a panic.
    let p = put(
        dir.path(),
        "one.wav",
        &encode_wav(&[0.5], 44_100, 1, WavFormat::Pcm16),
    );
    assert_msg(&err(fx_free().extract_file(&p)), "one.wav", "too short");
    assert_eq!(fx().extract_file(&p).unwrap().dim(), (201, 401));
}

#[test]
fn all_sample_formats_decode_to_identical_features() {
    // A signal on the u8 grid (k / 128) is represented exactly by every format,
    // so every format must give bit-identical features.
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<f32> = sine(1000.0, 16_000, 16_000, 0.7)
        .iter()
        .map(|v| (v * 128.0).round() / 128.0)
        .collect();
    let fx = fx();
    let mut reference = None;
    for (fmt, name) in [
        (WavFormat::Pcm16, "s16.wav"),
        (WavFormat::U8, "u8.wav"),
        (WavFormat::Pcm24, "s24.wav"),
        (WavFormat::Pcm32, "s32.wav"),
        (WavFormat::F32, "f32.wav"),
        (WavFormat::F64, "f64.wav"),
    ] {
        let p = put(dir.path(), name, &encode_wav(&x, 16_000, 1, fmt));
        let spec = fx.extract_file(&p).unwrap();
        assert_eq!(spec.dim(), (201, 401), "{name}");
        assert_eq!(peak_bin(&spec, 20), 25, "{name}");
        match &reference {
            None => reference = Some(spec),
            Some(r) => assert_eq!(r, &spec, "{name} differs from s16"),
        }
    }
}

#[test]
fn stereo_and_six_channels_mix_to_mono() {
    let dir = tempfile::tempdir().unwrap();
    let x = sine(1000.0, 16_000, 16_000, 0.5);
    let fx = fx();
    let mono = fx
        .extract_file(&put(
            dir.path(),
            "mono.wav",
            &encode_wav(&x, 16_000, 1, WavFormat::Pcm16),
        ))
        .unwrap();
    // Identical channels: the stereo mean is exact.
    let stereo = fx
        .extract_file(&put(
            dir.path(),
            "stereo.wav",
            &encode_wav(&interleave(&x, 2), 16_000, 2, WavFormat::Pcm16),
        ))
        .unwrap();
    assert_eq!(stereo, mono);
    let six = put(
        dir.path(),
        "six.wav",
        &encode_wav(&interleave(&x, 6), 16_000, 6, WavFormat::Pcm16),
    );
    let a = load(&six).unwrap();
    assert_eq!((a.info.channels, a.info.frames), (6, 16_000));
    let spec = fx.extract_file(&six).unwrap();
    assert!(max_diff_db(&mono, &spec) < 0.01);
    assert_finite(spec.iter());
}

#[test]
fn common_sample_rates_give_the_default_shape() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fx();
    for sr in [8_000u32, 16_000, 22_050, 44_100, 48_000, 96_000] {
        let name = format!("tone{sr}.wav");
        let wav = encode_wav(&sine(1000.0, sr, sr as usize, 0.5), sr, 1, WavFormat::Pcm16);
        let spec = fx.extract_file(&put(dir.path(), &name, &wav)).unwrap();
        assert_eq!(spec.dim(), (201, 401), "{name}");
        assert_finite(spec.iter());
        assert_eq!(peak_bin(&spec, 20), 25, "{name}");
    }
}

#[test]
fn extract_bytes_names_the_source() {
    let e = err(fx().extract_bytes(b"RIFF", Path::new("mem/clip.wav")));
    assert_msg(&e, "mem/clip.wav", "truncated header");
    let e = err(fx().extract_bytes(&[], Path::new("mem/none.wav")));
    assert_msg(&e, "mem/none.wav", "empty");
}

/// The committed FLAC seed of the fuzz corpus (1000 samples of 440 Hz at 16 kHz).
fn flac_seed() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/decode/seed-flac-mono-16k.flac"
    ))
    .unwrap()
}

/// Insert a metadata block right after STREAMINFO (which must not be last).
fn flac_with_block(flac: &[u8], block_type: u8, body: &[u8]) -> Vec<u8> {
    let si_end = 4 + 4 + 34;
    let mut out = flac[..si_end].to_vec();
    out[4] &= 0x7f; // STREAMINFO is no longer the last block
    let len = body.len() as u32;
    out.push(block_type | if flac[4] & 0x80 != 0 { 0x80 } else { 0 });
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out.extend_from_slice(&flac[si_end..]);
    out
}

#[test]
fn flac_tags_with_absurd_lengths_are_ignored() {
    // Fuzz regression: symphonia allocated a VORBIS_COMMENT's declared comment
    // length (up to 4 GiB) before reading it; metadata blocks are now dropped.
    let flac = flac_seed();
    let clean = decode(&flac, Path::new("clean.flac")).unwrap();
    assert_eq!(clean.info.frames, 1000);
    let mut comment = Vec::new();
    comment.extend_from_slice(&0u32.to_le_bytes()); // vendor length
    comment.extend_from_slice(&1u32.to_le_bytes()); // one comment
    comment.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes()); // of ~4 GiB
    comment.extend_from_slice(b"ARTIST=x");
    let bomb = flac_with_block(&flac, 4, &comment);
    let a = decode(&bomb, Path::new("bomb.flac")).unwrap();
    assert_eq!(a, clean);
    // PICTURE with a ~4 GiB media type string.
    let mut pic = 3u32.to_be_bytes().to_vec();
    pic.extend_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    let a = decode(&flac_with_block(&flac, 6, &pic), Path::new("pic.flac")).unwrap();
    assert_eq!(a, clean);
    // A metadata block that runs past the end of the file.
    let mut cut = flac_with_block(&flac, 4, &comment);
    cut.truncate(4 + 4 + 34 + 4 + 5);
    let e = err(decode(&cut, Path::new("cut.flac")));
    assert_msg(&e, "cut.flac", "truncated header");
}

#[test]
fn flac_without_streaminfo_is_malformed() {
    // Fuzz regression: with only a non-STREAMINFO block left, the frames were
    // parsed as metadata (and a ~1 MiB PICTURE length allocated).
    let flac = flac_seed();
    let mut bad = flac.clone();
    bad[4] = 0x80 | 0x7d; // the STREAMINFO header now says "last block, type 125"
    let e = err(decode(&bad, Path::new("nosi.flac")));
    assert_msg(&e, "nosi.flac", "no STREAMINFO");
}

#[test]
fn absurd_low_sample_rate_is_refused_before_resampling() {
    // A header claiming 1 Hz would expand 10 000 frames 16000-fold (640 MiB);
    // such clips are refused with a message that points at the header.
    let dir = tempfile::tempdir().unwrap();
    let x = sine(0.1, 1, 10_000, 0.5);
    let p = put(
        dir.path(),
        "onehertz.wav",
        &encode_wav(&x, 1, 1, WavFormat::Pcm16),
    );
    let e = err(fx().extract_file(&p));
    assert_msg(
        &e,
        "onehertz.wav",
        "10000 frames at 1 Hz would resample to 160000000",
    );
    assert_msg(&e, "onehertz.wav", "sample rate");
    // A short clip at a very low rate is still fine (5 s at 2 Hz -> 80 000 samples).
    let p = put(
        dir.path(),
        "twohertz.wav",
        &encode_wav(&sine(0.1, 2, 10, 0.5), 2, 1, WavFormat::Pcm16),
    );
    let spec = fx().extract_file(&p).unwrap();
    assert_eq!(spec.dim(), (201, 401));
    assert_finite(spec.iter());
}

#[test]
fn id3_tag_does_not_route_to_another_container() {
    // Fuzz regression: symphonia's probe scanned past an ID3 tag for any known
    // marker, so "ID3 ... fLaC ..." reached the FLAC reader and its unchecked
    // metadata allocations. Only the sniffed container's reader is tried now.
    let flac = flac_seed();
    let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x10".to_vec(); // 16-byte tag
    bytes.extend_from_slice(&[0; 16]);
    bytes.extend_from_slice(&flac);
    match decode(&bytes, Path::new("id3flac.mp3")) {
        Ok(a) => {
            assert_ne!(a.info.codec, "flac");
            assert_finite(a.samples.iter());
        }
        Err(e) => assert_msg(&e, "id3flac.mp3", ""),
    }
    // A tagged MP3 still decodes exactly like the untagged one.
    let mp3 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/decode/seed-mp3-mono-16k.mp3"
    ))
    .unwrap();
    let mut tagged = b"ID3\x03\x00\x00\x00\x00\x00\x10".to_vec();
    tagged.extend_from_slice(&[0; 16]);
    tagged.extend_from_slice(&mp3);
    let plain = decode(&mp3, Path::new("plain.mp3")).unwrap();
    assert_eq!(plain.info.codec, "mp3");
    assert_eq!(decode(&tagged, Path::new("tagged.mp3")).unwrap(), plain);
    // An ID3 tag that claims to run past the end of the file.
    let e = err(decode(
        b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f",
        Path::new("id3only.mp3"),
    ));
    assert_msg(&e, "id3only.mp3", "");
}
