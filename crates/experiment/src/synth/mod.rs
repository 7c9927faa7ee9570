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

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod signal;

pub use signal::{clip_seconds, synthesize_clip};

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

/// Where `specnorm experiment` writes the generated dataset when no `--data` is given
/// (relative to the working directory).
pub const DEFAULT_ROOT: &str = "data/generated/esc10-synth";

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
    /// Clip length in seconds (the longest, with [`SynthConfig::shortest_s`]).
    pub duration_s: f64,
    /// When set, each clip's length is drawn uniformly from `[shortest_s, duration_s]`
    /// (seeded per clip): a dataset of clips of their own lengths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortest_s: Option<f64>,
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
            shortest_s: None,
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
        if let Some(s) = self.shortest_s {
            if !(s.is_finite() && s >= 0.05 && s <= self.duration_s) {
                return bad("shortest_s must be in [0.05, duration_s]");
            }
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

#[cfg(test)]
/// A tiny configuration for tests.
pub(crate) fn tiny() -> SynthConfig {
    SynthConfig {
        n_classes: 3,
        clips_per_class: 4,
        n_folds: 2,
        duration_s: 0.25,
        sample_rate: 16_000,
        ..SynthConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
