//! A deterministic, generated stand-in for ESC-50.
//!
//! [`generate`] writes `root/audio/*.wav` (16-bit PCM, mono) and
//! `root/meta/esc50.csv` (columns `filename,fold,target,category,esc10,src_file,take`)
//! exactly as ESC-50 lays them out, so the same code path handles both. The
//! classes differ in spectral shape (steady tones, up/down chirps, band-limited
//! noise in class-specific bands, click trains, amplitude-modulated tones,
//! harmonic stacks, FM warbles) while every clip gets a random gain (default
//! ±20 dB), a random event position and length, and an independent white or
//! pink noise floor at a random level — so loudness and noise floor vary far
//! more within a class than between classes, which is what makes
//! normalization matter.
//!
//! Generation is seeded ([`rand_chacha`], one stream per clip) and thus
//! bit-for-bit reproducible, parallel (rayon) and idempotent: a `synth.json`
//! marker holding the config is written last; if it is present and matches,
//! [`generate`] does nothing.

use std::f64::consts::PI;
use std::fs;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Names of the synthetic sound classes, in target order (at most this many
/// classes can be generated).
pub const CLASS_NAMES: [&str; 10] = [
    "steady_tone",
    "chirp_up",
    "chirp_down",
    "low_rumble",
    "hiss",
    "click_train",
    "tremolo_tone",
    "harmonic_buzz",
    "mid_noise",
    "warble",
];

/// Version of the generator; part of the marker so that a changed generator
/// never silently reuses old files.
const GENERATOR_VERSION: u32 = 1;

/// Name of the completion marker written last into the dataset root.
pub const MARKER_FILE: &str = "synth.json";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Number of classes (1..=10, taken from [`CLASS_NAMES`] in order).
    pub n_classes: usize,
    /// Clips per class; must be a positive multiple of `n_folds`.
    pub clips_per_class: usize,
    /// Number of cross-validation folds (clips are spread evenly: every fold
    /// holds `clips_per_class / n_folds` clips of every class).
    pub n_folds: usize,
    /// Clip length in seconds.
    pub duration_s: f64,
    /// Sample rate in Hz (ESC-50: 44100).
    pub sample_rate: u32,
    /// Per-clip gain is drawn uniformly from `±gain_db` dB.
    pub gain_db: f64,
    /// Noise floor RMS level range in dBFS, drawn uniformly per clip.
    pub noise_dbfs: (f64, f64),
    /// Master seed.
    pub seed: u64,
}

impl Default for SynthConfig {
    /// 10 classes × 40 clips of 5 s at 44.1 kHz in 5 folds, ±20 dB gain,
    /// noise floor between -70 and -30 dBFS, seed 0.
    fn default() -> Self {
        Self {
            n_classes: 10,
            clips_per_class: 40,
            n_folds: 5,
            duration_s: 5.0,
            sample_rate: 44_100,
            gain_db: 20.0,
            noise_dbfs: (-70.0, -30.0),
            seed: 0,
        }
    }
}

/// Errors from [`generate`].
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The configuration cannot be generated.
    #[error("invalid synthetic dataset config: {0}")]
    InvalidConfig(String),
    /// The directory holds a complete dataset generated with another config.
    #[error(
        "{root} already holds a synthetic dataset generated with a different config; \
         choose another directory or delete it"
    )]
    ConfigMismatch {
        /// Dataset root.
        root: PathBuf,
    },
    /// Filesystem error.
    #[error("I/O error at {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// WAV encoding/writing failed.
    #[error("writing {path}: {source}")]
    Wav {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: specnorm_audio::AudioError,
    },
    /// Marker (de)serialization failed.
    #[error("marker {path}: {source}")]
    Marker {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: serde_json::Error,
    },
}

/// Outcome of [`generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerateOutcome {
    /// Files were written (this many clips).
    Created(usize),
    /// A complete dataset with the same config was already there.
    AlreadyPresent,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Marker {
    generator_version: u32,
    config: SynthConfig,
}

/// One row of the generated metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipMeta {
    /// File name inside `audio/`.
    pub filename: String,
    /// Fold, 1-based.
    pub fold: usize,
    /// Class index.
    pub target: usize,
    /// Clip index within its class (0-based).
    pub index_in_class: usize,
    /// Global clip id (also the `src_file` column).
    pub clip_id: usize,
}

impl SynthConfig {
    fn validate(&self) -> Result<(), SynthError> {
        let bad = |m: &str| Err(SynthError::InvalidConfig(m.to_string()));
        if self.n_classes == 0 || self.n_classes > CLASS_NAMES.len() {
            return bad(&format!("n_classes must be in 1..={}", CLASS_NAMES.len()));
        }
        if self.n_folds == 0
            || self.clips_per_class == 0
            || !self.clips_per_class.is_multiple_of(self.n_folds)
        {
            return bad("clips_per_class must be a positive multiple of n_folds");
        }
        if !(self.duration_s.is_finite() && self.duration_s >= 0.05 && self.duration_s <= 600.0) {
            return bad("duration_s must be in [0.05, 600]");
        }
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return bad("sample_rate must be in 8000..=192000");
        }
        if !(self.gain_db.is_finite() && (0.0..=40.0).contains(&self.gain_db)) {
            return bad("gain_db must be in [0, 40]");
        }
        let (lo, hi) = self.noise_dbfs;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi && hi <= 0.0) {
            return bad("noise_dbfs must be an ordered range of finite levels <= 0 dBFS");
        }
        Ok(())
    }

    /// Metadata of every clip, in file order (class-major).
    pub fn clips(&self) -> Vec<ClipMeta> {
        let mut out = Vec::with_capacity(self.n_classes * self.clips_per_class);
        for target in 0..self.n_classes {
            for i in 0..self.clips_per_class {
                let clip_id = target * self.clips_per_class + i;
                let fold = i % self.n_folds.max(1) + 1;
                out.push(ClipMeta {
                    filename: format!("{fold}-{clip_id:06}-A-{target}.wav"),
                    fold,
                    target,
                    index_in_class: i,
                    clip_id,
                });
            }
        }
        out
    }
}

/// Generates the dataset under `root` (created if needed). Idempotent: if
/// `root/synth.json` says a dataset with the same config is complete, nothing
/// is written. A marker with a different config is an error
/// ([`SynthError::ConfigMismatch`]); a directory without a marker (e.g. an
/// interrupted generation) is (re)written.
pub fn generate(root: &Path, cfg: &SynthConfig) -> Result<GenerateOutcome, SynthError> {
    cfg.validate()?;
    let marker_path = root.join(MARKER_FILE);
    let want = Marker {
        generator_version: GENERATOR_VERSION,
        config: cfg.clone(),
    };
    if marker_path.exists() {
        let text = fs::read_to_string(&marker_path).map_err(|source| SynthError::Io {
            path: marker_path.clone(),
            source,
        })?;
        let have: Option<Marker> = serde_json::from_str(&text).ok();
        if have.as_ref() == Some(&want) {
            let clips = cfg.clips();
            if clips
                .iter()
                .all(|c| root.join("audio").join(&c.filename).is_file())
                && root.join("meta").join("esc50.csv").is_file()
            {
                return Ok(GenerateOutcome::AlreadyPresent);
            }
            // Marker present but files missing: fall through and rewrite.
        } else {
            return Err(SynthError::ConfigMismatch {
                root: root.to_path_buf(),
            });
        }
    }
    let audio_dir = root.join("audio");
    let meta_dir = root.join("meta");
    for d in [&audio_dir, &meta_dir] {
        fs::create_dir_all(d).map_err(|source| SynthError::Io {
            path: d.clone(),
            source,
        })?;
    }
    let clips = cfg.clips();
    clips.par_iter().try_for_each(|c| {
        let samples = synthesize_clip(cfg, c);
        let path = audio_dir.join(&c.filename);
        specnorm_audio::write_wav(
            &path,
            &samples,
            cfg.sample_rate,
            1,
            specnorm_audio::WavFormat::Pcm16,
        )
        .map_err(|source| SynthError::Wav {
            path: path.clone(),
            source,
        })
    })?;
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for c in &clips {
        csv.push_str(&format!(
            "{},{},{},{},False,{},A\n",
            c.filename, c.fold, c.target, CLASS_NAMES[c.target], c.clip_id
        ));
    }
    write_atomic(&meta_dir.join("esc50.csv"), csv.as_bytes())?;
    let marker = serde_json::to_vec_pretty(&want).map_err(|source| SynthError::Marker {
        path: marker_path.clone(),
        source,
    })?;
    write_atomic(&marker_path, &marker)?;
    Ok(GenerateOutcome::Created(clips.len()))
}

/// Writes `bytes` atomically, mapping errors to [`SynthError::Io`].
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    specnorm_atomic::write(path, bytes).map_err(|source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    })
}

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

/// Synthesizes one clip (mono, f32 in [-1, 1]). Deterministic in
/// (`cfg.seed`, `clip.clip_id`).
pub fn synthesize_clip(cfg: &SynthConfig, clip: &ClipMeta) -> Vec<f32> {
    let sr = f64::from(cfg.sample_rate);
    let n = (cfg.duration_s * sr).round() as usize;
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
    use super::*;

    fn tiny() -> SynthConfig {
        SynthConfig {
            n_classes: 3,
            clips_per_class: 4,
            n_folds: 2,
            duration_s: 0.25,
            sample_rate: 16_000,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn metadata_layout_and_folds() {
        let clips = SynthConfig::default().clips();
        assert_eq!(clips.len(), 400);
        for fold in 1..=5 {
            for target in 0..10 {
                let n = clips
                    .iter()
                    .filter(|c| c.fold == fold && c.target == target)
                    .count();
                assert_eq!(n, 8, "fold {fold} class {target}");
            }
        }
        assert_eq!(clips[41].filename, "2-000041-A-1.wav");
    }

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

    #[test]
    fn invalid_configs_are_rejected() {
        let cases = [
            SynthConfig {
                n_classes: 0,
                ..tiny()
            },
            SynthConfig {
                n_classes: 11,
                ..tiny()
            },
            SynthConfig {
                clips_per_class: 3,
                ..tiny()
            },
            SynthConfig {
                duration_s: f64::NAN,
                ..tiny()
            },
            SynthConfig {
                noise_dbfs: (-20.0, -30.0),
                ..tiny()
            },
        ];
        for c in cases {
            assert!(matches!(c.validate(), Err(SynthError::InvalidConfig(_))));
        }
    }

    #[test]
    fn generate_is_idempotent_and_guards_config() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ds");
        let cfg = tiny();
        assert_eq!(generate(&root, &cfg).unwrap(), GenerateOutcome::Created(12));
        let csv = fs::read_to_string(root.join("meta/esc50.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "filename,fold,target,category,esc10,src_file,take"
        );
        assert_eq!(lines[1], "1-000000-A-0.wav,1,0,steady_tone,False,0,A");
        assert_eq!(lines.len(), 13);
        let wav = root.join("audio/2-000005-A-1.wav");
        let first = fs::read(&wav).unwrap();
        // 44-byte header + 4000 16-bit samples.
        assert_eq!(first.len(), 44 + 2 * 4000);
        assert_eq!(
            generate(&root, &cfg).unwrap(),
            GenerateOutcome::AlreadyPresent
        );
        // A missing file is regenerated, identically.
        fs::remove_file(&wav).unwrap();
        assert_eq!(generate(&root, &cfg).unwrap(), GenerateOutcome::Created(12));
        assert_eq!(fs::read(&wav).unwrap(), first);
        let other = SynthConfig { seed: 1, ..cfg };
        assert!(matches!(
            generate(&root, &other),
            Err(SynthError::ConfigMismatch { .. })
        ));
    }
}
