//! The example plots of the report: a spectrogram before/after each setting's
//! normalization (first validation clip of the first validation fold,
//! normalizer fitted on the other folds) and the per-channel mean ± std of the
//! training features. Written only when missing. And the learned PCEN parameters of the best
//! `pcen-learned` run (rewritten each time: the best run can change when runs are added).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::config::{ExperimentConfig, Plan};
use super::error::{io_err, ExperimentError};
use super::norm;
use super::training::Context;
use crate::report;
use crate::settings::{self, FeatureVariant, FoldClip, SpecNorm};

/// The variant of the per-channel statistics plot.
const CHANNEL_VARIANT: FeatureVariant = FeatureVariant {
    waveform_norm: true,
    power: false,
};

fn spectrogram_dir(cfg: &ExperimentConfig) -> PathBuf {
    cfg.out_dir.join("spectrograms")
}

fn channel_png(cfg: &ExperimentConfig) -> PathBuf {
    cfg.out_dir.join("channel_stats.png")
}

fn missing(cfg: &ExperimentConfig, plan: &Plan) -> bool {
    let dir = spectrogram_dir(cfg);
    plan.settings
        .iter()
        .any(|s| !dir.join(format!("{}_after.png", s.name)).is_file())
        || !channel_png(cfg).is_file()
}

/// The feature variants the plots need (none when they are all there).
pub(crate) fn needed_variants(cfg: &ExperimentConfig, plan: &Plan) -> BTreeSet<FeatureVariant> {
    if !missing(cfg, plan) {
        return BTreeSet::new();
    }
    let mut v: BTreeSet<FeatureVariant> = plan.settings.iter().map(|s| s.variant()).collect();
    v.insert(CHANNEL_VARIANT);
    v
}

/// Writes the example plots for validation fold `fold` if any is missing.
pub(crate) fn write_examples(ctx: &Context<'_>, fold: u32) -> Result<(), ExperimentError> {
    let (cfg, index) = (ctx.cfg, ctx.index);
    if !missing(cfg, ctx.plan) {
        return Ok(());
    }
    let spec_dir = spectrogram_dir(cfg);
    std::fs::create_dir_all(&spec_dir).map_err(io_err(&spec_dir))?;
    let Some(example) = index.clips.iter().position(|c| c.fold == fold) else {
        return Ok(());
    };
    let train_idx = index.indices(fold, false);
    let class = index
        .classes
        .get(index.clips[example].target)
        .cloned()
        .unwrap_or_default();
    for s in &ctx.plan.settings {
        let v = s.variant();
        let Some(feats) = ctx.features.get(v) else {
            continue;
        };
        let (norm, _) = norm::fit(cfg, index, feats, s, &train_idx, fold)?;
        let before = feats.array(example)?;
        // A mapped set's pages read by the fit leave the resident set.
        feats.release();
        let after = settings::apply(&norm.normalizer, &before)?;
        let features = v.feature_config(&cfg.features);
        let unit_before = report::feature_unit(&features);
        let unit_after = match s.spec_norm {
            SpecNorm::None | SpecNorm::PcenLearned => unit_before,
            SpecNorm::Pcen => "PCEN (dimensionless)",
            _ => "σ (standard deviations)",
        };
        report::plot_spectrogram(
            &spec_dir.join(format!("{}_before.png", s.name)),
            &before,
            &format!("{}: input ({}, {class})", s.name, v.label()),
            unit_before,
            &features,
        )?;
        report::plot_spectrogram(
            &spec_dir.join(format!("{}_after.png", s.name)),
            &after,
            &format!("{}: after normalization ({class})", s.name),
            unit_after,
            &features,
        )?;
    }
    if let Some(feats) = ctx.features.get(CHANNEL_VARIANT) {
        let train: Vec<FoldClip<'_>> = train_idx
            .iter()
            .map(|&k| Ok((index.clips[k].fold, feats.view(k)?)))
            .collect::<Result<_, ExperimentError>>()?;
        if !train.is_empty() {
            let stats = settings::training_stats(
                true,
                &train,
                &norm::dataset_name(cfg),
                &CHANNEL_VARIANT.feature_config(&cfg.features),
            )?;
            let mean: Vec<f64> = stats.mean.iter().copied().collect();
            let std: Vec<f64> = stats.std.iter().copied().collect();
            report::plot_channel_stats(
                &channel_png(cfg),
                &mean,
                &std,
                &format!(
                    "Per-frequency-bin mean ± std of the training folds (validation fold {fold})"
                ),
                &CHANNEL_VARIANT.feature_config(&cfg.features),
            )?;
        }
    }
    Ok(())
}

/// Writes `pcen_learned.json` and `pcen_learned/*.png` for the best `pcen-learned` run `best`
/// (its checkpoint at `ckpt`): the learned α, δ, r, s across frequency.
pub(crate) fn write_learned_pcen(
    ctx: &Context<'_>,
    best: &report::BestRun,
    ckpt: &Path,
) -> Result<(), ExperimentError> {
    let terr = |source| ExperimentError::Train {
        key: best.key.clone(),
        source,
    };
    let (model, _) = specnorm_train::Model::load(ckpt, tch::Device::Cpu).map_err(terr)?;
    let (Some(front), Some(v)) = (&model.front, model.front_values().map_err(terr)?) else {
        return Err(ExperimentError::Config(format!(
            "{}: the checkpoint of {} has no PCEN front layer",
            ckpt.display(),
            best.key
        )));
    };
    let setting = settings::by_name(settings::PCEN_LEARNED)?;
    let features = setting.variant().feature_config(&ctx.cfg.features);
    let p = report::LearnedPcenParams {
        run: best.key.clone(),
        gain: v.gain,
        bias: v.bias,
        power: v.power,
        smoothing: v.smoothing,
        initial: [front.gain, front.bias, front.power, front.smoothing],
    };
    report::write_learned_pcen(&ctx.cfg.out_dir, &p, &features)?;
    Ok(())
}
