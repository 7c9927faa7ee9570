//! Stage 5, training: each pending job trains one model on its fold's
//! normalized features and writes its run file (and checkpoint); finished jobs
//! are passed through. The training/validation sets of one (setting, fold) are
//! built once and reused by its seeds: a normalized in-memory copy when the
//! features are in memory, or, with the feature cache, a source that reads and
//! normalizes each batch from the memory map (`streamed`), so that no
//! normalized copy of the dataset exists.

use std::time::Instant;

use specnorm_contract::CheckpointMeta;
use specnorm_features::FeatureConfig;
use specnorm_norm::NormSpec;
use specnorm_train::{
    BatchSource, InMemoryData, LearnedPcenConfig, Model, ModelSpec, RaggedData, TrainConfig,
};

use super::config::{ExperimentConfig, OutputDir, Plan};
use super::dataset::DataIndex;
use super::error::{write_json, ExperimentError};
use super::features::{FeatureCache, FeatureSet};
use super::jobs::Job;
use super::streamed::NormalizedClips;
use super::{norm, Progress};
use crate::results::{EpochMetrics, RunRecord};
use crate::settings;

/// What the training stage produced.
pub(crate) struct Trained {
    /// Every run record (trained now or found finished), in job order.
    pub records: Vec<RunRecord>,
    /// Runs trained in this invocation.
    pub trained: usize,
    /// Runs found finished.
    pub skipped: usize,
}

/// Everything a job trains with.
pub(crate) struct Context<'a> {
    /// The configuration.
    pub cfg: &'a ExperimentConfig,
    /// Its validated form.
    pub plan: &'a Plan,
    /// The dataset.
    pub index: &'a DataIndex,
    /// The features.
    pub features: &'a FeatureCache,
    /// The output folder.
    pub out: &'a OutputDir,
    /// Learning rate per setting found by lr_find (`ExperimentConfig::lr_find`); empty
    /// otherwise, and every run trains at `ExperimentConfig::lr`.
    pub lrs: std::collections::BTreeMap<String, f64>,
}

impl Context<'_> {
    /// The peak learning rate of `setting`'s runs.
    pub fn lr(&self, setting: &str) -> f64 {
        self.lrs.get(setting).copied().unwrap_or(self.cfg.lr)
    }
}

/// The normalized data of one (setting, fold), shared by its seeds.
pub(crate) struct FoldData<'f> {
    setting: &'static str,
    fold: u32,
    /// The training folds, normalized.
    pub train: FoldSet<'f>,
    valid: FoldSet<'f>,
    norm: NormSpec,
}

/// The clips of a fold as training reads them.
pub(crate) enum FoldSet<'f> {
    /// A normalized copy in memory (features computed in this process), clips of one length.
    Memory(InMemoryData),
    /// A normalized copy in memory of clips kept at their own lengths.
    Ragged(RaggedData),
    /// Read and normalized batch by batch from the features (the memory-mapped cache).
    Streamed(Box<NormalizedClips<'f>>),
}

impl FoldSet<'_> {
    /// The set as training reads it.
    pub fn source(&self) -> &dyn BatchSource {
        match self {
            FoldSet::Memory(d) => d,
            FoldSet::Ragged(d) => d,
            FoldSet::Streamed(s) => &**s,
        }
    }
}

/// The normalized training and validation data of (`setting`, `fold`) from `feats`: a
/// normalized copy for features in memory, a per-batch source for a memory-mapped set.
pub(crate) fn fold_data<'f>(
    ctx: &Context<'f>,
    setting: &settings::Setting,
    fold: u32,
    feats: &'f FeatureSet,
) -> Result<FoldData<'f>, ExperimentError> {
    let train_idx = ctx.index.indices(fold, false);
    let valid_idx = ctx.index.indices(fold, true);
    let (norm, _) = norm::fit(ctx.cfg, ctx.index, feats, setting, &train_idx, fold)?;
    // A mapped set's pages leave the resident set after each pass.
    feats.release();
    let set = |idx: &[usize]| -> Result<FoldSet<'f>, ExperimentError> {
        if feats.is_mapped() {
            let clips = NormalizedClips::new(feats, ctx.index, idx, norm.normalizer.clone())?;
            Ok(FoldSet::Streamed(Box::new(clips)))
        } else {
            build_data(feats, idx, ctx.index, &norm)
        }
    };
    let train = set(&train_idx)?;
    let valid = set(&valid_idx)?;
    Ok(FoldData {
        setting: setting.name,
        fold,
        train,
        valid,
        norm,
    })
}

/// Runs every job in order, reporting progress.
pub(crate) fn run_jobs(
    ctx: &Context<'_>,
    jobs: Vec<Job>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Trained, ExperimentError> {
    let total = jobs.len();
    let mut out = Trained {
        records: Vec::with_capacity(total),
        trained: 0,
        skipped: 0,
    };
    let mut cache: Option<FoldData> = None;
    for (index, mut job) in jobs.into_iter().enumerate() {
        if let Some(r) = job.done.take() {
            progress(Progress::RunSkipped {
                key: &job.key,
                index,
                total,
            });
            out.skipped += 1;
            out.records.push(r);
            continue;
        }
        let reuse =
            matches!(&cache, Some(d) if d.setting == job.setting.name && d.fold == job.fold);
        if !reuse {
            drop(cache.take()); // free the previous copies first
            let feats = ctx.features.require(job.setting.variant())?;
            cache = Some(fold_data(ctx, &job.setting, job.fold, feats)?);
        }
        let data = cache
            .as_ref()
            .ok_or_else(|| ExperimentError::Config("internal: no fold data".into()))?;
        progress(Progress::RunStarted {
            key: &job.key,
            index,
            total,
        });
        let record = train_one(ctx, &job, data, progress)?;
        progress(Progress::RunFinished {
            record: &record,
            index,
            total,
        });
        out.trained += 1;
        out.records.push(record);
    }
    Ok(out)
}

/// Trains one job, saves its checkpoint (if configured) and its run file.
fn train_one(
    ctx: &Context<'_>,
    job: &Job,
    data: &FoldData,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<RunRecord, ExperimentError> {
    let cfg = ctx.cfg;
    let device = ctx.plan.device;
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
    let spec = ModelSpec {
        kind: cfg.model,
        in_channels: 1,
        n_classes: ctx.index.classes.len() as i64,
    };
    let features = job.setting.variant().feature_config(&cfg.features);
    let front = job
        .setting
        .learned_pcen()
        .then(|| learned_pcen_init(&features, data.train.source().sample_shape()[1]));
    let mut model = Model::with_front(spec, front, device, job.seed).map_err(terr)?;
    let tcfg = TrainConfig {
        epochs: cfg.epochs,
        lr: ctx.lr(job.setting.name),
        batch_size: cfg.batch_size,
        seed: job.seed,
        mixup: cfg.mixup,
        label_smoothing: cfg.label_smoothing,
        device,
        threads: cfg.threads,
        ..TrainConfig::default()
    };
    let mut epochs: Vec<EpochMetrics> = Vec::with_capacity(cfg.epochs);
    let history = specnorm_train::fit_one_cycle(
        &mut model,
        data.train.source(),
        data.valid.source(),
        &tcfg,
        &mut |m| {
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
        },
    )
    .map_err(terr)?;
    let checkpoint = if cfg.save_checkpoints {
        let rel = format!("checkpoints/{}.safetensors", job.key);
        let meta = CheckpointMeta {
            setting: job.setting.name.to_string(),
            normalization: data.norm.clone(),
            features,
            classes: ctx.index.classes.clone(),
            valid_fold: Some(job.fold),
            seed: Some(job.seed),
            config_hash: Some(ctx.out.config_hash.clone()),
            final_accuracy: epochs.last().map(|m| m.accuracy),
        };
        model
            .save(&ctx.out.root.join(&rel), &meta.to_map())
            .map_err(terr)?;
        Some(rel)
    } else {
        None
    };
    let last = epochs.last().cloned();
    let record = RunRecord {
        setting: job.setting.name.to_string(),
        fold: job.fold,
        seed: job.seed,
        config_hash: ctx.out.config_hash.clone(),
        final_accuracy: last.as_ref().map_or(0.0, |m| m.accuracy),
        final_valid_loss: last.as_ref().map_or(f64::NAN, |m| m.valid_loss),
        epochs,
        wall_time_s: t0.elapsed().as_secs_f64().max(history.seconds),
        checkpoint,
    };
    write_json(&ctx.out.runs.join(format!("{}.json", job.key)), &record)?;
    Ok(record)
}

/// The initial values of `pcen-learned`'s layer: the fixed PCEN of the `pcen` setting
/// ([`settings::pcen_config`]: librosa's defaults at the features' sample rate and hop), so
/// that the two settings start from the same function.
pub(crate) fn learned_pcen_init(features: &FeatureConfig, n_freq: usize) -> LearnedPcenConfig {
    let p = settings::pcen_config(features);
    LearnedPcenConfig {
        n_freq: n_freq as i64,
        gain: p.gain.into(),
        bias: p.bias.into(),
        power: p.power.into(),
        smoothing: p.smoothing_coefficient(),
        eps: p.eps.into(),
    }
}

/// Stacks normalized copies of the selected clips (features in memory): `[N, 1, F, T]` when
/// they have one length, else each at its own length (normalized before any padding).
fn build_data(
    feats: &FeatureSet,
    idx: &[usize],
    index: &DataIndex,
    norm: &NormSpec,
) -> Result<FoldSet<'static>, ExperimentError> {
    let (f, frames) = feats.rows_and_frames(idx, index)?;
    let mut x = Vec::with_capacity(f * frames.iter().sum::<usize>());
    let mut y = Vec::with_capacity(idx.len());
    for &i in idx {
        let a = settings::apply(&norm.normalizer, &*feats.array(i)?)?;
        x.extend(a.iter().copied());
        y.push(index.clips[i].target as i64);
    }
    let data_error = |source| ExperimentError::Train {
        key: "data".into(),
        source,
    };
    let t = frames.first().copied().unwrap_or(0);
    if frames.iter().all(|&u| u == t) {
        let data = InMemoryData::new(x, [idx.len(), 1, f, t], y).map_err(data_error)?;
        Ok(FoldSet::Memory(data))
    } else {
        let data = RaggedData::new(x, 1, f, frames, y).map_err(data_error)?;
        Ok(FoldSet::Ragged(data))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
