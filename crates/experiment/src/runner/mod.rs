//! Runs the experiment: every setting × validation fold × seed, resumably.
//!
//! [`run_experiment`] is a list of stages, one module each:
//!
//! | stage | module | produces |
//! |---|---|---|
//! | plan | `config` | [`ExperimentConfig`] validated into a plan; the config hash and the claimed output folder |
//! | dataset index | `dataset` | the clips, classes and folds; every clip decoded and resampled **once**; bad clips listed ([`BadClip`]) |
//! | jobs | `jobs` | every (setting, fold, seed), finished ones read back (resume) |
//! | features | `features` | every needed feature variant of every clip, from the decoded waveforms (dB derived from power) |
//! | (with [`ExperimentConfig::feature_cache`]) | `crate::feature_cache` | dataset + features in one streaming pass into memory-mapped cache files, before the jobs; the index built from the clips they record as bad |
//! | learning rates | `lr_find` (with `ExperimentConfig::lr_find`) | fastai's lr_find per setting on the training folds; its suggestion is the setting's lr |
//! | training | `training` (with `norm`) | per job: the fold's normalization (leakage-guarded), a model, its run file and checkpoint |
//! | finish | `finish` (with `plots`, `distributions`) | the report (with the feature values' distributions), example plots, `best_runs.json`, ONNX export |
//!
//! Errors of every stage are [`ExperimentError`].
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
//! cfg.valid_folds = dataset_folds(&cfg)?; // cross-validation over every fold
//! let outcome = run_experiment(&cfg, &|p| {
//!     if let Progress::Line(line) = p {
//!         println!("{line}");
//!     }
//! })?;
//! println!("{}", outcome.results.summary.conclusion);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod dataset;
mod distributions;
mod error;
mod features;
mod finish;
mod jobs;
mod lr_find;
mod norm;
mod plots;
mod streamed;
mod training;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use config::{fnv1a_hex, ExperimentConfig, Preset, BLOG, QUICK};
pub use dataset::{dataset_folds, BadClip};
pub use error::ExperimentError;
pub use lr_find::{find_lr, LrFindResult, LR_END, LR_START, LR_STEPS};
pub use training::{epoch_table_header, epoch_table_row};

use crate::feature_cache::CacheEvent;
use crate::report::{BestRun, ResultsDoc};
use crate::results::{EpochMetrics, RunRecord};

/// Progress events, delivered through the callback of [`run_experiment`].
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A stage begins (free text, e.g. "reading dataset").
    Stage(&'a str),
    /// Feature extraction (all needed variants of each clip at once): `done`
    /// of `total` clips.
    Features {
        /// Variant labels, e.g. `wavenorm+db, wavenorm+power`.
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
    /// Clips accepted although truncated (`ExperimentConfig::allow_truncated`).
    pub truncated_clips: Vec<specnorm_features::TruncatedClip>,
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

/// Runs (or resumes) the experiment and writes the report. `progress`
/// receives [`Progress`] events (it may be called from worker threads during
/// decoding and feature extraction, hence `Sync`).
pub fn run_experiment(
    cfg: &ExperimentConfig,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<ExperimentOutcome, ExperimentError> {
    let plan = config::Plan::new(cfg)?;
    progress(Progress::Stage("reading dataset"));
    let needed = |jobs: &[jobs::Job]| -> BTreeSet<crate::settings::FeatureVariant> {
        jobs::pending_variants(jobs)
            .into_iter()
            .chain(plots::needed_variants(cfg, &plan))
            .chain(distributions::needed_variants(cfg, &plan))
            .collect()
    };
    let list = |out: &config::OutputDir| jobs::list(&plan, cfg.runs, cfg.shard, out);
    let (index, features, jobs, out) = prepare(cfg, &plan, &list, &needed, progress)?;
    let mut ctx = training::Context {
        cfg,
        plan: &plan,
        index: &index,
        features: &features,
        out: &out,
        lrs: BTreeMap::new(),
    };
    if cfg.lr_find {
        let found = lr_find::suggest_all(&ctx, progress)?;
        ctx.lrs = found.into_iter().map(|(k, r)| (k, r.suggested)).collect();
    }
    let trained = training::run_jobs(&ctx, jobs, progress)?;
    finish::finish(&ctx, trained, progress)
}

/// Stages 2–4, shared by [`run_experiment`] and [`find_lr`]: the dataset index, the output
/// folder, the jobs `list_jobs` names there, and the features of the variants `needed` asks for
/// them (in memory), or of every variant of the plan's settings (`cfg.feature_cache`: the cache
/// is opened or built before the jobs are known, since the bad clips it records are part of the
/// dataset fingerprint, hence of the config hash).
#[allow(clippy::type_complexity)]
fn prepare(
    cfg: &ExperimentConfig,
    plan: &config::Plan,
    list_jobs: &dyn Fn(&config::OutputDir) -> Result<Vec<jobs::Job>, ExperimentError>,
    needed: &dyn Fn(&[jobs::Job]) -> BTreeSet<crate::settings::FeatureVariant>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<
    (
        dataset::DataIndex,
        features::FeatureCache,
        Vec<jobs::Job>,
        config::OutputDir,
    ),
    ExperimentError,
> {
    Ok(match &cfg.feature_cache {
        None => {
            let (index, waves) = dataset::DataIndex::load(cfg, progress)?;
            plan.check_folds(&index)?;
            let out = config::OutputDir::prepare(cfg, &index)?;
            let jobs = list_jobs(&out)?;
            let features = features::FeatureCache::compute(
                &index,
                waves,
                &needed(&jobs),
                &cfg.features,
                progress,
            )?;
            (index, features, jobs, out)
        }
        Some(dir) => {
            let ds = dataset::open(cfg)?;
            let needed = crate::feature_cache::experiment_variants(&plan.settings);
            let cached = crate::feature_cache::open_or_build(
                dir,
                &ds,
                &cfg.data_root,
                &cfg.features,
                &needed,
                &|e| match e {
                    CacheEvent::Stage(s) => progress(Progress::Stage(s)),
                    CacheEvent::Clips { done, total } => progress(Progress::Features {
                        variant: "feature cache",
                        done,
                        total,
                    }),
                },
            )?;
            let skipped = cached
                .skipped
                .iter()
                .map(|s| dataset::BadClip {
                    path: ds
                        .items()
                        .get(s.index)
                        .map_or_else(|| cached.audio_dir.join(&s.name), |it| it.path.clone()),
                    error: s.error.clone(),
                })
                .collect();
            let index = dataset::DataIndex::with_skipped(cfg, &ds, skipped, Vec::new(), progress)?;
            plan.check_folds(&index)?;
            let out = config::OutputDir::prepare(cfg, &index)?;
            let jobs = list_jobs(&out)?;
            (
                index,
                features::FeatureCache::from_files(cached.files),
                jobs,
                out,
            )
        }
    })
}
