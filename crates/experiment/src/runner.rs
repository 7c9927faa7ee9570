//! Runs the experiment: every setting × validation fold × seed, resumably.
//!
//! Layout of `out_dir`:
//!
//! ```text
//! experiment.json              config + config hash (written first; a mismatch is an error)
//! runs/<setting>_f<fold>_s<seed>.json          one finished run (atomic write)
//! checkpoints/<setting>_f<fold>_s<seed>.safetensors   its final weights + metadata
//! best_runs.json               best run per setting (for ONNX export)
//! onnx/<setting>.onnx, exports.json   the best run of each setting exported (see crate::export)
//! results.json, results.md, *.png, spectrograms/*.png   the report
//! ```
//!
//! A run whose JSON exists (with the same config hash) is skipped, so an
//! interrupted experiment continues where it stopped. The config hash covers
//! everything that changes what a run computes (dataset fingerprint, model,
//! epochs, lr, batch size, mixup, label smoothing, feature config) but not
//! *which* runs are done (settings, seeds, folds), nor device/threads: the same
//! output directory can be extended with more settings, seeds or folds.
//!
//! ```no_run
//! use specnorm_experiment::runner::{dataset_folds, run_experiment, ExperimentConfig, Progress};
//!
//! let mut cfg = ExperimentConfig::new("data/esc50", "runs/esc50");
//! cfg.valid_folds = dataset_folds(&cfg.data_root)?; // cross-validation over every fold
//! let outcome = run_experiment(&cfg, &|p| {
//!     if let Progress::Line(line) = p {
//!         println!("{line}");
//!     }
//! })?;
//! println!("{}", outcome.results.summary.conclusion);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use specnorm_contract::CheckpointMeta;
use specnorm_features::{FeatureConfig, FeatureError, FeatureExtractor};
use specnorm_norm::NormSpec;
use specnorm_train::{InMemoryData, Model, ModelKind, ModelSpec, TrainConfig, TrainError};

use crate::report::{self, BestRun, ReportError, ResultsDoc};
use crate::results::{run_key, EpochMetrics, RunRecord};
use crate::settings::{self, FeatureVariant, Setting, SettingsError};

/// Version of the run-file format and of the hashed configuration.
const RUNNER_VERSION: u32 = 1;

/// Everything the experiment needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Dataset root in ESC-50 layout (`audio/`, `meta/esc50.csv`).
    pub data_root: PathBuf,
    /// Output directory (created if missing).
    pub out_dir: PathBuf,
    /// Setting names (see [`crate::settings::ALL`]), in report order.
    pub settings: Vec<String>,
    /// Number of seeds per (setting, fold): seeds `0..runs`.
    pub runs: u64,
    /// Validation folds: one for a single split, all of them for cross-validation.
    pub valid_folds: Vec<u32>,
    /// Network.
    pub model: ModelKind,
    /// Epochs per run.
    pub epochs: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// Batch size.
    pub batch_size: usize,
    /// `"auto"` (CUDA if available), `"cpu"`, `"cuda"` or `"cuda:N"`.
    pub device: String,
    /// MixUp Beta(α, α) parameter, `None` for no mixup.
    pub mixup: Option<f64>,
    /// Label smoothing ε (0 = plain cross-entropy).
    pub label_smoothing: f64,
    /// Base feature configuration; each setting overrides `waveform_norm`
    /// and the spectrogram scale (dB, or power for PCEN).
    pub features: FeatureConfig,
    /// libtorch intra-op threads, `None` to leave the default.
    pub threads: Option<usize>,
    /// Save the final checkpoint of every run.
    pub save_checkpoints: bool,
    /// Leave out clips that are missing or cannot be decoded (reported through
    /// [`Progress::Stage`] and [`ExperimentOutcome::skipped_clips`]) instead
    /// of failing with [`ExperimentError::BadClips`]. Not part of the config
    /// hash; the names of the clips actually left out are (through the
    /// dataset fingerprint), so runs on different clip sets never mix.
    #[serde(default)]
    pub skip_bad: bool,
    /// Export the best run of each setting to `onnx/<setting>.onnx` (needs
    /// `save_checkpoints`); outcomes in [`ExperimentOutcome::exports`].
    #[serde(default)]
    pub export_onnx: bool,
}

impl ExperimentConfig {
    /// The blog's setup: all six settings, 5 seeds, validation fold 1,
    /// xresnet18, 20 epochs at lr 2e-3, batch size 64, no mixup, no label
    /// smoothing, default features (16 kHz, 5 s, STFT 400/200, dB),
    /// checkpoints and ONNX export on, device `auto`.
    pub fn new(data_root: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_root: data_root.into(),
            out_dir: out_dir.into(),
            settings: settings::ALL.iter().map(|s| s.name.to_string()).collect(),
            runs: 5,
            valid_folds: vec![1],
            model: ModelKind::XResNet18,
            epochs: 20,
            lr: 2e-3,
            batch_size: 64,
            device: "auto".into(),
            mixup: None,
            label_smoothing: 0.0,
            features: FeatureConfig::default(),
            threads: None,
            save_checkpoints: true,
            skip_bad: false,
            export_onnx: true,
        }
    }
}

/// The part of the configuration that decides what a run computes.
#[derive(Serialize)]
struct HashedConfig<'a> {
    runner_version: u32,
    dataset_fingerprint: String,
    model: &'a str,
    epochs: usize,
    lr: f64,
    batch_size: usize,
    mixup: Option<f64>,
    label_smoothing: f64,
    features: &'a FeatureConfig,
}

/// 64-bit FNV-1a, hex encoded: a stable (toolchain-independent) content hash.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Errors of the runner.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Invalid configuration.
    #[error("invalid experiment config: {0}")]
    Config(String),
    /// The output directory holds results of a different configuration.
    #[error(
        "{path} was produced with a different experiment configuration (hash {found}, this one is \
         {expected}); pick another output directory (or delete it to start over)"
    )]
    ConfigMismatch {
        /// File that disagrees.
        path: PathBuf,
        /// Hash of the current configuration.
        expected: String,
        /// Hash found in the file.
        found: String,
    },
    /// The dataset could not be read.
    #[error("dataset {root}: {detail}")]
    Dataset {
        /// Dataset root.
        root: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Clips listed in the metadata are missing or cannot be decoded (all of
    /// them are listed; checked before any feature extraction or training).
    #[error(
        "{} of {total} clip(s) listed in {} are missing or cannot be decoded (set skip_bad / pass \
         --skip-bad to leave them out):{}",
        bad.len(),
        csv.display(),
        list_bad(bad)
    )]
    BadClips {
        /// The metadata table.
        csv: PathBuf,
        /// Every bad clip, in metadata order.
        bad: Vec<BadClip>,
        /// Clips listed in the metadata.
        total: usize,
    },
    /// Feature extraction failed.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Normalization failed (including the leakage guard).
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Training failed.
    #[error("run {key}: {source}")]
    Train {
        /// Run key.
        key: String,
        /// Underlying error.
        source: TrainError,
    },
    /// Filesystem error.
    #[error("I/O error at {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A run file could not be parsed.
    #[error("{path}: {source}")]
    Json {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: serde_json::Error,
    },
    /// Report writing failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// A clip that is missing or cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadClip {
    /// Its path.
    pub path: PathBuf,
    /// Why (the decoder's message, which names the file).
    pub error: String,
}

fn list_bad(bad: &[BadClip]) -> String {
    bad.iter().map(|b| format!("\n  {}", b.error)).collect()
}

/// Progress events, delivered through the callback of [`run_experiment`].
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A stage begins (free text, e.g. "reading dataset").
    Stage(&'a str),
    /// Feature extraction of one variant: `done` of `total` clips.
    Features {
        /// Variant label, e.g. `wavenorm+db`.
        variant: &'a str,
        /// Clips finished.
        done: usize,
        /// Clips in total.
        total: usize,
    },
    /// A run was found finished on disk and is skipped.
    RunSkipped {
        /// Run key.
        key: &'a str,
        /// 0-based index among all runs.
        index: usize,
        /// Number of runs.
        total: usize,
    },
    /// A run starts training.
    RunStarted {
        /// Run key.
        key: &'a str,
        /// 0-based index among all runs.
        index: usize,
        /// Number of runs.
        total: usize,
    },
    /// An epoch finished.
    Epoch {
        /// Run key.
        key: &'a str,
        /// Metrics of the epoch (0-based `epoch`).
        metrics: &'a EpochMetrics,
        /// Epochs per run.
        epochs: usize,
    },
    /// A line of the fastai-like epoch table (header or one epoch).
    Line(&'a str),
    /// A run finished and was saved.
    RunFinished {
        /// Its record.
        record: &'a RunRecord,
        /// 0-based index among all runs.
        index: usize,
        /// Number of runs.
        total: usize,
    },
}

/// What [`run_experiment`] did and produced.
#[derive(Debug, Clone)]
pub struct ExperimentOutcome {
    /// The report document (also in `results.json`).
    pub results: ResultsDoc,
    /// Runs trained in this invocation.
    pub trained: usize,
    /// Runs found finished and skipped.
    pub skipped: usize,
    /// Best run per setting (highest final accuracy), with the absolute
    /// checkpoint path when checkpoints were saved.
    pub best: BTreeMap<String, (BestRun, Option<PathBuf>)>,
    /// Path of `results.md`.
    pub results_md: PathBuf,
    /// Path of `results.json`.
    pub results_json: PathBuf,
    /// Clips left out because they are missing or cannot be decoded (only
    /// with [`ExperimentConfig::skip_bad`]; otherwise they are an error).
    pub skipped_clips: Vec<BadClip>,
    /// ONNX export of each setting's best run (empty without
    /// [`ExperimentConfig::export_onnx`]).
    pub exports: Vec<crate::export::ExportRecord>,
}

impl ExperimentOutcome {
    /// The exports that failed (a caller that asked for ONNX files should fail).
    pub fn failed_exports(&self) -> impl Iterator<Item = &crate::export::ExportRecord> {
        self.exports.iter().filter(|e| e.onnx.is_none())
    }
}

/// One clip of the dataset.
#[derive(Debug, Clone)]
struct Clip {
    path: PathBuf,
    fold: u32,
    target: usize,
}

/// The dataset as the runner needs it.
#[derive(Debug, Clone)]
struct DataIndex {
    clips: Vec<Clip>,
    classes: Vec<String>,
    folds: Vec<u32>,
    fingerprint: String,
    /// Clips of the metadata left out (`skip_bad`).
    skipped: Vec<BadClip>,
}

/// Decodes every listed clip (in parallel; the decoded audio is dropped) and
/// returns the ones that are missing or do not decode, in metadata order.
fn check_clips(items: &[specnorm_folds::Item]) -> Vec<BadClip> {
    use rayon::prelude::*;
    items
        .par_iter()
        .filter_map(|it| {
            specnorm_audio::load(&it.path).err().map(|e| BadClip {
                path: it.path.clone(),
                error: e.to_string(),
            })
        })
        .collect()
}

fn load_index(
    root: &Path,
    skip_bad: bool,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<DataIndex, ExperimentError> {
    let derr = |detail: String| ExperimentError::Dataset {
        root: root.to_path_buf(),
        detail,
    };
    let ds = specnorm_folds::Dataset::open(root).map_err(|e| derr(e.to_string()))?;
    progress(Progress::Stage(&format!(
        "checking that all {} clips decode",
        ds.items().len()
    )));
    let skipped = check_clips(ds.items());
    if !skipped.is_empty() {
        if !skip_bad {
            return Err(ExperimentError::BadClips {
                csv: ds.csv_path().to_path_buf(),
                bad: skipped,
                total: ds.items().len(),
            });
        }
        progress(Progress::Stage(&format!(
            "skipping {} of {} clip(s) that are missing or cannot be decoded (skip_bad):{}",
            skipped.len(),
            ds.items().len(),
            list_bad(&skipped)
        )));
    }
    let bad_paths: BTreeSet<&Path> = skipped.iter().map(|b| b.path.as_path()).collect();
    // Targets may be sparse (e.g. an ESC-10 subset): the model's labels are
    // their ranks.
    let class_list = ds.classes();
    let rank: HashMap<u32, usize> = class_list
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (*t, i))
        .collect();
    let classes: Vec<String> = class_list.into_iter().map(|(_, name)| name).collect();
    let clips: Vec<Clip> = ds
        .items()
        .iter()
        .filter(|it| !bad_paths.contains(it.path.as_path()))
        .map(|it| Clip {
            path: it.path.clone(),
            fold: it.fold,
            target: rank.get(&it.target).copied().unwrap_or(0),
        })
        .collect();
    if clips.is_empty() {
        return Err(derr("no clips in the metadata".into()));
    }
    let folds: Vec<u32> = clips
        .iter()
        .map(|c| c.fold)
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    // Fingerprint: the metadata table, for generated data its marker, and the
    // clips left out (none normally, so skip_bad alone changes nothing).
    let mut bytes = Vec::new();
    for f in [
        ds.csv_path().to_path_buf(),
        root.join(crate::synth::MARKER_FILE),
    ] {
        if let Ok(b) = std::fs::read(&f) {
            bytes.extend_from_slice(&b);
        }
    }
    for b in &skipped {
        bytes.extend_from_slice(b"\0skipped:");
        let name = b.path.strip_prefix(ds.audio_dir()).unwrap_or(&b.path);
        bytes.extend_from_slice(name.to_string_lossy().as_bytes());
    }
    Ok(DataIndex {
        clips,
        classes,
        folds,
        fingerprint: fnv1a_hex(&bytes),
        skipped,
    })
}

/// The folds of the dataset at `root` (sorted), e.g. to cross-validate over
/// all of them.
pub fn dataset_folds(root: &Path) -> Result<Vec<u32>, ExperimentError> {
    specnorm_folds::Dataset::open(root)
        .map(|d| d.folds())
        .map_err(|e| ExperimentError::Dataset {
            root: root.to_path_buf(),
            detail: e.to_string(),
        })
}

fn parse_device(s: &str) -> Result<tch::Device, ExperimentError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(specnorm_train::default_device()),
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" | "gpu" => Ok(tch::Device::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .map(tch::Device::Cuda)
            .ok_or_else(|| {
                ExperimentError::Config(format!("unknown device {s:?} (auto, cpu, cuda, cuda:N)"))
            }),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExperimentError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| ExperimentError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    specnorm_atomic::write(path, text.as_bytes()).map_err(io_err(path))
}

fn read_run(path: &Path) -> Result<RunRecord, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|source| ExperimentError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// The header of the epoch table.
pub fn epoch_table_header() -> String {
    format!(
        "{:<7} {:<11} {:<11} {:<9} {:<6}",
        "epoch", "train_loss", "valid_loss", "accuracy", "time"
    )
}

/// One row of the epoch table, fastai style.
pub fn epoch_table_row(m: &EpochMetrics) -> String {
    let secs = m.seconds.max(0.0).round() as u64;
    format!(
        "{:<7} {:<11.6} {:<11.6} {:<9.6} {:02}:{:02}",
        m.epoch,
        m.train_loss,
        m.valid_loss,
        m.accuracy,
        secs / 60,
        secs % 60
    )
}

struct Job {
    setting: Setting,
    fold: u32,
    seed: u64,
    key: String,
    done: Option<RunRecord>,
}

/// Features of every clip for one variant, in dataset order.
type FeatureSet = Vec<Array2<f32>>;

fn extract_variant(
    index: &DataIndex,
    variant: FeatureVariant,
    base: &FeatureConfig,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<FeatureSet, ExperimentError> {
    let fx = FeatureExtractor::new(variant.feature_config(base))?;
    let paths: Vec<PathBuf> = index.clips.iter().map(|c| c.path.clone()).collect();
    let total = paths.len();
    let label = variant.label();
    progress(Progress::Features {
        variant: label,
        done: 0,
        total,
    });
    let out = fx.extract_files(&paths, &|done| {
        progress(Progress::Features {
            variant: label,
            done,
            total,
        })
    });
    out.into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(ExperimentError::from)
}

/// Stacks normalized copies of the selected clips into `[N, 1, F, T]`.
fn build_data(
    feats: &FeatureSet,
    idx: &[usize],
    index: &DataIndex,
    norm: &NormSpec,
) -> Result<InMemoryData, ExperimentError> {
    let (f, t) = feats.first().map_or((0, 0), |a| a.dim());
    let mut x = Vec::with_capacity(idx.len() * f * t);
    let mut y = Vec::with_capacity(idx.len());
    for &i in idx {
        let a = settings::apply(&norm.normalizer, &feats[i])?;
        if a.dim() != (f, t) {
            return Err(ExperimentError::Dataset {
                root: index.clips[i].path.clone(),
                detail: format!(
                    "feature shape {:?} differs from {:?}; set a fixed clip duration",
                    a.dim(),
                    (f, t)
                ),
            });
        }
        x.extend(a.iter().copied());
        y.push(index.clips[i].target as i64);
    }
    InMemoryData::new(x, [idx.len(), 1, f, t], y).map_err(|source| ExperimentError::Train {
        key: "data".into(),
        source,
    })
}

/// Runs (or resumes) the experiment and writes the report. `progress`
/// receives [`Progress`] events (it may be called from worker threads during
/// feature extraction, hence `Sync`).
pub fn run_experiment(
    cfg: &ExperimentConfig,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<ExperimentOutcome, ExperimentError> {
    // --- validate -------------------------------------------------------
    let settings_list = settings::parse_list(&cfg.settings)?;
    if settings_list.is_empty() {
        return Err(ExperimentError::Config("no setting selected".into()));
    }
    if cfg.runs == 0 || cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(ExperimentError::Config(
            "runs, epochs and batch_size must be >= 1".into(),
        ));
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return Err(ExperimentError::Config(format!(
            "lr must be finite and > 0, got {}",
            cfg.lr
        )));
    }
    if cfg.features.target_len().is_none() {
        return Err(ExperimentError::Config(
            "features.seconds must be set: batches need a fixed clip duration".into(),
        ));
    }
    let device = parse_device(&cfg.device)?;

    progress(Progress::Stage("reading dataset"));
    let index = load_index(&cfg.data_root, cfg.skip_bad, progress)?;
    let mut valid_folds: Vec<u32> = cfg.valid_folds.clone();
    valid_folds.sort_unstable();
    valid_folds.dedup();
    if valid_folds.is_empty() {
        return Err(ExperimentError::Config(
            "no validation fold selected".into(),
        ));
    }
    for f in &valid_folds {
        if !index.folds.contains(f) {
            return Err(ExperimentError::Config(format!(
                "validation fold {f} is not in the dataset (folds {:?})",
                index.folds
            )));
        }
    }
    if index.folds.len() < 2 {
        return Err(ExperimentError::Config(
            "the dataset needs at least two folds".into(),
        ));
    }

    // --- config hash ----------------------------------------------------
    let hashed = HashedConfig {
        runner_version: RUNNER_VERSION,
        dataset_fingerprint: index.fingerprint.clone(),
        model: cfg.model.as_str(),
        epochs: cfg.epochs,
        lr: cfg.lr,
        batch_size: cfg.batch_size,
        mixup: cfg.mixup,
        label_smoothing: cfg.label_smoothing,
        features: &cfg.features,
    };
    let hashed_json = serde_json::to_value(&hashed).map_err(|source| ExperimentError::Json {
        path: cfg.out_dir.clone(),
        source,
    })?;
    let config_hash = fnv1a_hex(hashed_json.to_string().as_bytes());
    let out = &cfg.out_dir;
    let runs_dir = out.join("runs");
    let ckpt_dir = out.join("checkpoints");
    for d in [out, &runs_dir, &ckpt_dir] {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let exp_path = out.join("experiment.json");
    if exp_path.exists() {
        let text = std::fs::read_to_string(&exp_path).map_err(io_err(&exp_path))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ExperimentError::Json {
                path: exp_path.clone(),
                source,
            })?;
        let found = v
            .get("config_hash")
            .and_then(|h| h.as_str())
            .unwrap_or("")
            .to_string();
        if found != config_hash {
            return Err(ExperimentError::ConfigMismatch {
                path: exp_path,
                expected: config_hash,
                found,
            });
        }
    }
    write_json(
        &exp_path,
        &serde_json::json!({"config_hash": config_hash, "hashed": hashed_json, "config": cfg}),
    )?;

    // --- jobs -------------------------------------------------------------
    let mut jobs = Vec::new();
    for s in &settings_list {
        for &fold in &valid_folds {
            for seed in 0..cfg.runs {
                let key = run_key(s.name, fold, seed);
                let path = runs_dir.join(format!("{key}.json"));
                let done = if path.is_file() {
                    let r = read_run(&path)?;
                    if r.config_hash != config_hash {
                        return Err(ExperimentError::ConfigMismatch {
                            path,
                            expected: config_hash.clone(),
                            found: r.config_hash,
                        });
                    }
                    Some(r)
                } else {
                    None
                };
                jobs.push(Job {
                    setting: *s,
                    fold,
                    seed,
                    key,
                    done,
                });
            }
        }
    }
    let total = jobs.len();

    // --- features (only for variants with pending runs) -------------------
    let mut features: HashMap<FeatureVariant, FeatureSet> = HashMap::new();
    let pending_variants: BTreeSet<FeatureVariant> = jobs
        .iter()
        .filter(|j| j.done.is_none())
        .map(|j| j.setting.variant())
        .collect();
    for v in &pending_variants {
        progress(Progress::Stage(&format!(
            "extracting features ({})",
            v.label()
        )));
        features.insert(*v, extract_variant(&index, *v, &cfg.features, progress)?);
    }

    // --- training ---------------------------------------------------------
    let spec = ModelSpec {
        kind: cfg.model,
        in_channels: 1,
        n_classes: index.classes.len() as i64,
    };
    let dataset_name = cfg.data_root.display().to_string();
    let (mut trained, mut skipped) = (0usize, 0usize);
    let mut records: Vec<RunRecord> = Vec::with_capacity(total);
    let mut cache: Option<(String, u32, InMemoryData, InMemoryData, NormSpec)> = None;
    for (i, job) in jobs.into_iter().enumerate() {
        if let Some(r) = job.done {
            progress(Progress::RunSkipped {
                key: &job.key,
                index: i,
                total,
            });
            skipped += 1;
            records.push(r);
            continue;
        }
        let variant = job.setting.variant();
        let feats = features.get(&variant).ok_or_else(|| {
            ExperimentError::Config(format!("internal: features of {} missing", variant.label()))
        })?;
        let fresh = !matches!(&cache, Some((s, f, ..)) if s == job.setting.name && *f == job.fold);
        if fresh {
            drop(cache.take()); // free the previous copies first
            let train_idx: Vec<usize> = (0..index.clips.len())
                .filter(|&k| index.clips[k].fold != job.fold)
                .collect();
            let valid_idx: Vec<usize> = (0..index.clips.len())
                .filter(|&k| index.clips[k].fold == job.fold)
                .collect();
            let train_folds: Vec<u32> = index
                .folds
                .iter()
                .copied()
                .filter(|f| *f != job.fold)
                .collect();
            let train_refs: Vec<&Array2<f32>> = train_idx.iter().map(|&k| &feats[k]).collect();
            let (norm, stats) = settings::fit_normalizer(
                &job.setting,
                &train_refs,
                &train_folds,
                job.fold,
                &dataset_name,
                &variant.feature_config(&cfg.features),
            )?;
            let norm = NormSpec {
                normalizer: norm,
                provenance: stats.map(|s| s.provenance),
            };
            let train = build_data(feats, &train_idx, &index, &norm)?;
            let valid = build_data(feats, &valid_idx, &index, &norm)?;
            cache = Some((job.setting.name.to_string(), job.fold, train, valid, norm));
        }
        let Some((_, _, train, valid, norm)) = &cache else {
            unreachable!("the cache was filled just above")
        };

        progress(Progress::RunStarted {
            key: &job.key,
            index: i,
            total,
        });
        progress(Progress::Line(&format!(
            "{} (setting {}, fold {}, seed {})",
            job.key, job.setting.name, job.fold, job.seed
        )));
        progress(Progress::Line(&epoch_table_header()));
        let t0 = Instant::now();
        let terr = |source| ExperimentError::Train {
            key: job.key.clone(),
            source,
        };
        let mut model = Model::new(spec, device, job.seed).map_err(terr)?;
        let tcfg = TrainConfig {
            epochs: cfg.epochs,
            lr: cfg.lr,
            batch_size: cfg.batch_size,
            seed: job.seed,
            mixup: cfg.mixup,
            label_smoothing: cfg.label_smoothing,
            device,
            threads: cfg.threads,
            ..TrainConfig::default()
        };
        let mut epochs: Vec<EpochMetrics> = Vec::with_capacity(cfg.epochs);
        let history = specnorm_train::fit_one_cycle(&mut model, train, valid, &tcfg, &mut |m| {
            let em = EpochMetrics {
                epoch: m.epoch,
                train_loss: m.train_loss,
                valid_loss: m.valid_loss,
                accuracy: m.accuracy,
                seconds: m.seconds,
            };
            progress(Progress::Epoch {
                key: &job.key,
                metrics: &em,
                epochs: cfg.epochs,
            });
            progress(Progress::Line(&epoch_table_row(&em)));
            epochs.push(em);
        })
        .map_err(|source| ExperimentError::Train {
            key: job.key.clone(),
            source,
        })?;
        let checkpoint = if cfg.save_checkpoints {
            let rel = format!("checkpoints/{}.safetensors", job.key);
            let meta = CheckpointMeta {
                setting: job.setting.name.to_string(),
                normalization: norm.clone(),
                features: variant.feature_config(&cfg.features),
                classes: index.classes.clone(),
                valid_fold: Some(job.fold),
                seed: Some(job.seed),
                config_hash: Some(config_hash.clone()),
                final_accuracy: epochs.last().map(|m| m.accuracy),
            };
            model.save(&out.join(&rel), &meta.to_map()).map_err(terr)?;
            Some(rel)
        } else {
            None
        };
        let last = epochs.last().cloned();
        let record = RunRecord {
            setting: job.setting.name.to_string(),
            fold: job.fold,
            seed: job.seed,
            config_hash: config_hash.clone(),
            final_accuracy: last.as_ref().map_or(0.0, |m| m.accuracy),
            final_valid_loss: last.as_ref().map_or(f64::NAN, |m| m.valid_loss),
            epochs,
            wall_time_s: t0.elapsed().as_secs_f64().max(history.seconds),
            checkpoint,
        };
        write_json(&runs_dir.join(format!("{}.json", job.key)), &record)?;
        progress(Progress::RunFinished {
            record: &record,
            index: i,
            total,
        });
        trained += 1;
        records.push(record);
    }
    drop(cache);

    // --- report -----------------------------------------------------------
    progress(Progress::Stage("writing report"));
    let order: Vec<String> = settings_list.iter().map(|s| s.name.to_string()).collect();
    let config_json = serde_json::json!({
        "data_root": cfg.data_root.display().to_string(),
        "settings": order.join(", "),
        "seeds per fold": cfg.runs,
        "validation folds": valid_folds.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", "),
        "model": cfg.model.as_str(),
        "epochs": cfg.epochs,
        "lr": cfg.lr,
        "batch_size": cfg.batch_size,
        "mixup": cfg.mixup,
        "label_smoothing": cfg.label_smoothing,
        "device": format!("{device:?}"),
        "features": cfg.features,
    });
    let results = report::write_report(out, config_json, &config_hash, records, &order)?;
    write_example_plots(
        cfg,
        &index,
        &settings_list,
        valid_folds[0],
        &mut features,
        progress,
    )?;

    let mut best = BTreeMap::new();
    for s in &results.summary.settings {
        if let Some(b) = &s.best {
            let abs = b.checkpoint.as_ref().map(|c| out.join(c));
            best.insert(s.setting.clone(), (b.clone(), abs));
        }
    }
    let best_json: BTreeMap<&String, &BestRun> = best.iter().map(|(k, (b, _))| (k, b)).collect();
    write_json(&out.join("best_runs.json"), &best_json)?;
    let exports = if cfg.export_onnx {
        progress(Progress::Stage("exporting ONNX"));
        crate::export::export_best_runs(out, &best)?
    } else {
        Vec::new()
    };
    Ok(ExperimentOutcome {
        exports,
        results,
        trained,
        skipped,
        best,
        results_md: out.join("results.md"),
        results_json: out.join("results.json"),
        skipped_clips: index.skipped.clone(),
    })
}

/// Example spectrograms before/after each setting's normalization (first
/// validation clip of `fold`, normalizer fitted on the other folds) and the
/// per-channel mean ± std of the training features. Written only when missing.
fn write_example_plots(
    cfg: &ExperimentConfig,
    index: &DataIndex,
    settings_list: &[Setting],
    fold: u32,
    features: &mut HashMap<FeatureVariant, FeatureSet>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<(), ExperimentError> {
    let out = &cfg.out_dir;
    let spec_dir = out.join("spectrograms");
    let channel_png = out.join("channel_stats.png");
    let missing_spec = settings_list
        .iter()
        .any(|s| !spec_dir.join(format!("{}_after.png", s.name)).is_file());
    if !missing_spec && channel_png.is_file() {
        return Ok(());
    }
    std::fs::create_dir_all(&spec_dir).map_err(io_err(&spec_dir))?;
    let Some(example) = index.clips.iter().position(|c| c.fold == fold) else {
        return Ok(());
    };
    let train_idx: Vec<usize> = (0..index.clips.len())
        .filter(|&k| index.clips[k].fold != fold)
        .collect();
    let train_folds: Vec<u32> = index.folds.iter().copied().filter(|f| *f != fold).collect();
    let dataset_name = cfg.data_root.display().to_string();
    let mut variants: Vec<FeatureVariant> = settings_list.iter().map(|s| s.variant()).collect();
    let channel_variant = FeatureVariant {
        waveform_norm: true,
        power: false,
    };
    variants.push(channel_variant);
    for v in variants {
        if let std::collections::hash_map::Entry::Vacant(slot) = features.entry(v) {
            progress(Progress::Stage(&format!(
                "extracting features for plots ({})",
                v.label()
            )));
            slot.insert(extract_variant(index, v, &cfg.features, progress)?);
        }
    }
    let class = index
        .classes
        .get(index.clips[example].target)
        .cloned()
        .unwrap_or_default();
    for s in settings_list {
        let v = s.variant();
        let Some(feats) = features.get(&v) else {
            continue;
        };
        let train_refs: Vec<&Array2<f32>> = train_idx.iter().map(|&k| &feats[k]).collect();
        let fcfg = v.feature_config(&cfg.features);
        let (norm, _) =
            settings::fit_normalizer(s, &train_refs, &train_folds, fold, &dataset_name, &fcfg)?;
        let before = &feats[example];
        let after = settings::apply(&norm, before)?;
        let unit_before = if v.power { "power" } else { "dB" };
        let unit_after = match s.spec_norm {
            settings::SpecNorm::None => "dB",
            settings::SpecNorm::Pcen => "PCEN",
            _ => "normalized",
        };
        report::plot_spectrogram(
            &spec_dir.join(format!("{}_before.png", s.name)),
            before,
            &format!("{}: input ({}, {class})", s.name, v.label()),
            unit_before,
        )?;
        report::plot_spectrogram(
            &spec_dir.join(format!("{}_after.png", s.name)),
            &after,
            &format!("{}: after normalization ({class})", s.name),
            unit_after,
        )?;
    }
    if let Some(feats) = features.get(&channel_variant) {
        let train_refs: Vec<&Array2<f32>> = train_idx.iter().map(|&k| &feats[k]).collect();
        if !train_refs.is_empty() {
            let stats = settings::training_stats(
                true,
                &train_refs,
                &train_folds,
                &dataset_name,
                &channel_variant.feature_config(&cfg.features),
            )?;
            let mean: Vec<f64> = stats.mean.iter().copied().collect();
            let std: Vec<f64> = stats.std.iter().copied().collect();
            report::plot_channel_stats(
                &channel_png,
                &mean,
                &std,
                &format!(
                    "Per-frequency-bin mean ± std of the training folds (validation fold {fold})"
                ),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a_hex(b""), "cbf29ce484222325");
        assert_eq!(fnv1a_hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a_hex(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn epoch_table_format() {
        let m = EpochMetrics {
            epoch: 3,
            train_loss: 1.5,
            valid_loss: 1.25,
            accuracy: 0.5,
            seconds: 75.4,
        };
        assert_eq!(
            epoch_table_row(&m),
            "3       1.500000    1.250000    0.500000  01:15"
        );
        assert!(epoch_table_header().starts_with("epoch   train_loss  valid_loss  accuracy"));
    }

    #[test]
    fn devices() {
        assert_eq!(parse_device("cpu").unwrap(), tch::Device::Cpu);
        assert_eq!(parse_device("cuda:1").unwrap(), tch::Device::Cuda(1));
        assert!(parse_device("tpu").is_err());
    }
}
