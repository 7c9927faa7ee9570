//! The signals of the synthetic classes and one clip's synthesis: class
//! signal, random gain, event position and length, white or pink noise floor.

use std::f64::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{ClipMeta, SynthConfig};

fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// RBJ-cookbook band-pass biquad (constant 0 dB peak gain), applied in place.
fn bandpass(x: &mut [f64], sr: f64, center: f64, q: f64) {
    let w0 = 2.0 * PI * center / sr;
    let alpha = w0.sin() / (2.0 * q);
    let cw = w0.cos();
    let a0 = 1.0 + alpha;
    let (b0, b1, b2) = (alpha / a0, 0.0, -alpha / a0);
    let (a1, a2) = (-2.0 * cw / a0, (1.0 - alpha) / a0);
    let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
    for v in x.iter_mut() {
        let x0 = *v;
        let y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
        x2 = x1;
        x1 = x0;
        y2 = y1;
        y1 = y0;
        *v = y0;
    }
}

fn rms(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

fn scale_to_rms(x: &mut [f64], target: f64) {
    let r = rms(x);
    if r > 0.0 {
        let g = target / r;
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// Uniform white noise in [-1, 1).
fn white(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// Pink (1/f) noise, Paul Kellett's refined filter.
fn pink(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let mut b = [0.0f64; 7];
    (0..n)
        .map(|_| {
            let w: f64 = rng.gen_range(-1.0..1.0);
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.1538520;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let out = b.iter().sum::<f64>() + w * 0.5362;
            b[6] = w * 0.115926;
            out
        })
        .collect()
}

/// Band-limited noise: white noise through two cascaded band-passes.
fn band_noise(rng: &mut ChaCha8Rng, n: usize, sr: f64, center: f64, q: f64) -> Vec<f64> {
    let mut x = white(rng, n);
    let center = center.min(0.45 * sr);
    bandpass(&mut x, sr, center, q);
    bandpass(&mut x, sr, center, q);
    x
}

/// The class-specific sound (before gain, envelope and noise floor).
fn class_signal(target: usize, rng: &mut ChaCha8Rng, n: usize, sr: f64) -> Vec<f64> {
    let nyq = 0.45 * sr;
    let t = |i: usize| i as f64 / sr;
    match target {
        // Steady sine, 500-700 Hz.
        0 => {
            let f = rng.gen_range(500.0..700.0);
            let ph = rng.gen_range(0.0..2.0 * PI);
            (0..n).map(|i| (2.0 * PI * f * t(i) + ph).sin()).collect()
        }
        // Repeated upward linear chirps 300 Hz -> 3 kHz, 0.3-0.6 s long.
        1 | 2 => {
            let period = rng.gen_range(0.3..0.6);
            let (f0, f1) = if target == 1 {
                (300.0, 3000.0f64.min(nyq))
            } else {
                (4000.0f64.min(nyq), 500.0)
            };
            let k = (f1 - f0) / period;
            (0..n)
                .map(|i| {
                    let tt = t(i) % period;
                    (2.0 * PI * (f0 * tt + 0.5 * k * tt * tt)).sin()
                })
                .collect()
        }
        // Low rumble: noise around 150-250 Hz.
        3 => {
            let c = rng.gen_range(150.0..250.0);
            band_noise(rng, n, sr, c, 2.0)
        }
        // Hiss: noise around 5-6 kHz.
        4 => {
            let c = rng.gen_range(5000.0..6000.0);
            band_noise(rng, n, sr, c, 1.5)
        }
        // Click train, 6-14 clicks per second, each a 1 ms decaying burst.
        5 => {
            let rate = rng.gen_range(6.0..14.0);
            let period = (sr / rate).max(1.0) as usize;
            let burst = ((0.002 * sr) as usize).max(2);
            let mut x = vec![0.0; n];
            let mut start = rng.gen_range(0..period);
            while start < n {
                for j in 0..burst.min(n - start) {
                    let decay = (-(j as f64) / (0.0004 * sr)).exp();
                    x[start + j] = decay * if j % 2 == 0 { 1.0 } else { -1.0 };
                }
                start += period;
            }
            x
        }
        // Tremolo: 1-1.3 kHz carrier, 3-8 Hz full amplitude modulation.
        6 => {
            let f = rng.gen_range(1000.0..1300.0);
            let m = rng.gen_range(3.0..8.0);
            (0..n)
                .map(|i| (0.5 + 0.5 * (2.0 * PI * m * t(i)).sin()) * (2.0 * PI * f * t(i)).sin())
                .collect()
        }
        // Harmonic buzz: f0 in 100-160 Hz, 12 harmonics with 1/k amplitudes.
        7 => {
            let f0 = rng.gen_range(100.0..160.0);
            let phases: Vec<f64> = (0..12).map(|_| rng.gen_range(0.0..2.0 * PI)).collect();
            (0..n)
                .map(|i| {
                    (1..=12)
                        .filter(|k| (*k as f64) * f0 < nyq)
                        .map(|k| (2.0 * PI * k as f64 * f0 * t(i) + phases[k - 1]).sin() / k as f64)
                        .sum()
                })
                .collect()
        }
        // Mid-band noise around 1.5-2 kHz.
        8 => {
            let c = rng.gen_range(1500.0..2000.0);
            band_noise(rng, n, sr, c, 3.0)
        }
        // Warble: 2.5-3 kHz carrier, +/-400 Hz sinusoidal FM at 4-7 Hz.
        _ => {
            let fc = rng.gen_range(2500.0f64..3000.0).min(nyq - 500.0);
            let fm = rng.gen_range(4.0..7.0);
            let dev = 400.0;
            (0..n)
                .map(|i| (2.0 * PI * fc * t(i) - dev / fm * (2.0 * PI * fm * t(i)).cos()).sin())
                .collect()
        }
    }
}

/// The length of `clip` in seconds: [`SynthConfig::duration_s`], or with
/// [`SynthConfig::shortest_s`] a draw from `[shortest_s, duration_s]` of its own random stream
/// (so the clips' contents do not depend on whether lengths vary).
pub fn clip_seconds(cfg: &SynthConfig, clip: &ClipMeta) -> f64 {
    match cfg.shortest_s {
        Some(lo) if lo < cfg.duration_s => {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x6c65_6e67_7468);
            rng.set_stream(clip.clip_id as u64 + 1);
            rng.gen_range(lo..=cfg.duration_s)
        }
        _ => cfg.duration_s,
    }
}

/// Synthesizes one clip (mono, f32 in [-1, 1]). Deterministic in
/// (`cfg.seed`, `clip.clip_id`).
pub fn synthesize_clip(cfg: &SynthConfig, clip: &ClipMeta) -> Vec<f32> {
    let sr = f64::from(cfg.sample_rate);
    let n = (clip_seconds(cfg, clip) * sr).round() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(clip.clip_id as u64 + 1);

    let mut sig = class_signal(clip.target, &mut rng, n, sr);
    // Event: active over a random segment covering 40-100 % of the clip, with
    // 20 ms raised-cosine fades.
    let len = ((rng.gen_range(0.4..=1.0) * n as f64) as usize).clamp(1, n.max(1));
    let start = rng.gen_range(0..=n - len.min(n));
    let fade = ((0.02 * sr) as usize).max(1);
    for (i, v) in sig.iter_mut().enumerate() {
        let e = if i < start || i >= start + len {
            0.0
        } else {
            let k = (i - start).min(start + len - 1 - i);
            if k < fade {
                0.5 - 0.5 * (PI * k as f64 / fade as f64).cos()
            } else {
                1.0
            }
        };
        *v *= e;
    }
    // Signal level: -26 dBFS RMS over the active part, +/- gain_db.
    let active_rms = rms(&sig[start..start + len.min(n - start)]);
    let gain_db = if cfg.gain_db > 0.0 {
        rng.gen_range(-cfg.gain_db..=cfg.gain_db)
    } else {
        0.0
    };
    if active_rms > 0.0 {
        let g = db_to_amp(-26.0 + gain_db) / active_rms;
        sig.iter_mut().for_each(|v| *v *= g);
    }
    // Noise floor: white or pink at a random level.
    let (lo, hi) = cfg.noise_dbfs;
    let level = if hi > lo { rng.gen_range(lo..=hi) } else { lo };
    let mut noise = if rng.gen_bool(0.5) {
        pink(&mut rng, n)
    } else {
        white(&mut rng, n)
    };
    scale_to_rms(&mut noise, db_to_amp(level));
    sig.iter()
        .zip(&noise)
        .map(|(s, w)| (s + w).clamp(-1.0, 1.0) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tiny;
    use super::*;

    #[test]
    fn clips_are_deterministic_and_distinct() {
        let cfg = tiny();
        let clips = cfg.clips();
        let a = synthesize_clip(&cfg, &clips[0]);
        let b = synthesize_clip(&cfg, &clips[0]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 4000);
        assert_ne!(a, synthesize_clip(&cfg, &clips[1]));
        let other_seed = SynthConfig {
            seed: 7,
            ..cfg.clone()
        };
        assert_ne!(a, synthesize_clip(&other_seed, &clips[0]));
        for c in &clips {
            let x = synthesize_clip(&cfg, c);
            assert!(x.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
        }
    }

    /// With `shortest_s`, lengths spread over the range, deterministically; without it every
    /// clip has `duration_s`.
    #[test]
    fn lengths_vary_within_the_range() {
        let cfg = SynthConfig {
            n_classes: 2,
            clips_per_class: 10,
            duration_s: 1.0,
            shortest_s: Some(0.25),
            sample_rate: 8_000,
            ..SynthConfig::default()
        };
        let lens: Vec<usize> = cfg
            .clips()
            .iter()
            .map(|c| synthesize_clip(&cfg, c).len())
            .collect();
        assert!(lens.iter().all(|&n| (2000..=8000).contains(&n)), "{lens:?}");
        let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
        assert!(hi - lo > 3000, "{lens:?}");
        let again: Vec<usize> = cfg
            .clips()
            .iter()
            .map(|c| synthesize_clip(&cfg, c).len())
            .collect();
        assert_eq!(lens, again);
        let fixed = SynthConfig {
            shortest_s: None,
            ..cfg.clone()
        };
        assert!(fixed
            .clips()
            .iter()
            .all(|c| synthesize_clip(&fixed, c).len() == 8000));
    }

    #[test]
    fn gains_vary_strongly() {
        // Over 40 clips of a class, the loudest and quietest RMS differ by
        // well over 20 dB with the default ±20 dB gain range.
        let cfg = SynthConfig {
            n_classes: 1,
            clips_per_class: 40,
            duration_s: 0.5,
            ..SynthConfig::default()
        };
        let levels: Vec<f64> = cfg
            .clips()
            .iter()
            .map(|c| {
                let x: Vec<f64> = synthesize_clip(&cfg, c)
                    .iter()
                    .map(|v| f64::from(*v))
                    .collect();
                20.0 * rms(&x).log10()
            })
            .collect();
        let max = levels.iter().cloned().fold(f64::MIN, f64::max);
        let min = levels.iter().cloned().fold(f64::MAX, f64::min);
        assert!(max - min > 20.0, "spread {}", max - min);
    }

    #[test]
    fn bandpass_passes_center_and_rejects_far_frequencies() {
        let sr = 16_000.0;
        let tone = |f: f64| -> Vec<f64> {
            (0..16_000)
                .map(|i| (2.0 * PI * f * i as f64 / sr).sin())
                .collect()
        };
        let mut at_center = tone(1000.0);
        bandpass(&mut at_center, sr, 1000.0, 2.0);
        let mut far = tone(6000.0);
        bandpass(&mut far, sr, 1000.0, 2.0);
        // Unit peak gain at the center (RMS of a unit sine is 1/sqrt 2).
        assert!((rms(&at_center[4000..]) - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.01);
        assert!(rms(&far[4000..]) < 0.1);
    }
}
