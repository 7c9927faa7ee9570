//! A 10-minute clip works, in bounded memory (own test binary, so `VmHWM` is ours alone).

mod common;

use common::*;
use specnorm_audio::{encode_wav, WavFormat};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use std::io::Write;

fn vm_hwm_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[test]
fn ten_minute_clip() {
    const SR: u32 = 44_100;
    const SECS: usize = 600;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten_minutes.wav");
    // Stream the file: one second of a 1 kHz tone (a whole number of periods), 600 times.
    let second = encode_wav(&sine(1000.0, SR, SR as usize, 0.5), SR, 1, WavFormat::Pcm16);
    let data = &second[44..];
    let total = data.len() * SECS;
    let mut header = second[..44].to_vec();
    header[4..8].copy_from_slice(&(36 + total as u32).to_le_bytes());
    header[40..44].copy_from_slice(&(total as u32).to_le_bytes());
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all(&header).unwrap();
        for _ in 0..SECS {
            f.write_all(data).unwrap();
        }
    }
    let a = specnorm_audio::load(&path).unwrap();
    assert_eq!(a.info.frames, (SR as usize * SECS) as u64);
    drop(a);
    // Whole length: 1 + 600 * 16000 / 200 frames.
    let fx = FeatureExtractor::new(FeatureConfig {
        seconds: None,
        ..FeatureConfig::default()
    })
    .unwrap();
    let spec = fx.extract_file(&path).unwrap();
    assert_eq!(spec.dim(), (201, 48_001));
    assert_finite(spec.iter());
    let col = spec.column(24_000);
    let peak = (0..201).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
    assert_eq!(peak, 25);
    drop(spec);
    // Default 5 s: trimmed.
    let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
    assert_eq!(fx.extract_file(&path).unwrap().dim(), (201, 401));
    // File 53 MB + decoded 106 MB + resampled 38 MB + spectrogram 39 MB: well under 512 MiB.
    if let Some(peak) = vm_hwm_mib() {
        assert!(peak < 512.0, "peak RSS {peak:.0} MiB");
        eprintln!("peak RSS {peak:.0} MiB");
    }
}
