//! fastai's learning-rate finder on the experiment's data: for a setting, a fresh model (seed
//! 0) is trained on the normalized training folds of the first validation fold with the
//! learning rate growing exponentially from [`LR_START`] to [`LR_END`] over [`LR_STEPS`] steps
//! (`specnorm_train::lr_find`), and fastai's `valley` suggestion is taken. Used by
//! `ExperimentConfig::lr_find` (each setting's runs train at its suggestion) and by
//! [`find_lr`] (`specnorm lr-find`). Each result is cached in `lr_find/<setting>.json` beside
//! its plot `lr_find/<setting>.png` (loss against learning rate, log x, suggestion marked).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specnorm_train::{ModelSpec, TrainConfig};

use super::config::{ExperimentConfig, Plan};
use super::error::{io_err, read_json, write_json, ExperimentError};
use super::training::{fold_data, learned_pcen_init, Context};
use super::Progress;
use crate::settings::Setting;

/// First learning rate of the sweep (fastai's default).
pub const LR_START: f64 = 1e-7;
/// Last learning rate of the sweep (fastai's default).
pub const LR_END: f64 = 10.0;
/// Steps of the sweep (fastai's default).
pub const LR_STEPS: usize = 100;

/// One learning-rate sweep and its suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrFindResult {
    /// The setting.
    pub setting: String,
    /// The validation fold whose training folds were used.
    pub fold: u32,
    /// The configuration hash of the experiment (a cached result of another is recomputed).
    pub config_hash: String,
    /// Learning rates of the recorded steps.
    pub lrs: Vec<f64>,
    /// Smoothed training losses at those steps.
    pub losses: Vec<f64>,
    /// fastai's `valley` suggestion.
    pub suggested: f64,
}

fn dir(cfg: &ExperimentConfig) -> PathBuf {
    cfg.out_dir.join("lr_find")
}

/// The suggestion for every setting of the plan (cached per setting), in plan order.
pub(crate) fn suggest_all(
    ctx: &Context<'_>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<BTreeMap<String, LrFindResult>, ExperimentError> {
    let mut out = BTreeMap::new();
    for s in &ctx.plan.settings {
        out.insert(s.name.to_string(), suggest(ctx, s, progress)?);
    }
    Ok(out)
}

/// The cached or computed sweep of `setting`.
pub(crate) fn suggest(
    ctx: &Context<'_>,
    setting: &Setting,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<LrFindResult, ExperimentError> {
    let (cfg, plan) = (ctx.cfg, ctx.plan);
    let fold = *plan
        .valid_folds
        .first()
        .ok_or_else(|| ExperimentError::Config("no validation fold selected".into()))?;
    let d = dir(cfg);
    std::fs::create_dir_all(&d).map_err(io_err(&d))?;
    let json = d.join(format!("{}.json", setting.name));
    if json.is_file() {
        let cached: LrFindResult = read_json(&json)?;
        if cached.config_hash == ctx.out.config_hash && cached.fold == fold {
            return Ok(cached);
        }
    }
    progress(Progress::Stage(&format!(
        "lr_find for {} on the training folds of fold {fold}",
        setting.name
    )));
    let feats = ctx.features.require(setting.variant())?;
    let data = fold_data(ctx, setting, fold, feats)?;
    let spec = ModelSpec {
        kind: cfg.model,
        in_channels: 1,
        n_classes: ctx.index.classes.len() as i64,
    };
    // A pcen-learned sweep trains the PCEN front layer with the network, as its runs do.
    let features = setting.variant().feature_config(&cfg.features);
    let front = setting
        .learned_pcen()
        .then(|| learned_pcen_init(&features, data.train.source().sample_shape()[1]));
    let tcfg = TrainConfig {
        batch_size: cfg.batch_size,
        seed: 0,
        mixup: cfg.mixup,
        label_smoothing: cfg.label_smoothing,
        device: plan.device,
        threads: cfg.threads,
        ..TrainConfig::default()
    };
    let found = specnorm_train::lr_find(
        spec,
        front,
        data.train.source(),
        &tcfg,
        LR_START,
        LR_END,
        LR_STEPS,
    )
    .map_err(|source| ExperimentError::Train {
        key: format!("lr_find {}", setting.name),
        source,
    })?;
    let result = LrFindResult {
        setting: setting.name.to_string(),
        fold,
        config_hash: ctx.out.config_hash.clone(),
        lrs: found.lrs,
        losses: found.losses,
        suggested: found.suggested,
    };
    plot(&d.join(format!("{}.png", setting.name)), &result)?;
    write_json(&json, &result)?;
    progress(Progress::Line(&format!(
        "lr_find {}: suggested lr {:.3e}",
        setting.name, result.suggested
    )));
    Ok(result)
}

/// Loss against learning rate (log x) with the suggestion as a vertical line.
pub fn plot(path: &Path, r: &LrFindResult) -> Result<(), ExperimentError> {
    let finite = r.losses.iter().copied().filter(|l| l.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), l| {
        (a.min(l), b.max(l))
    });
    let mut series = vec![specnorm_plot::Series {
        name: "smoothed training loss".into(),
        x: r.lrs.clone(),
        y: r.losses.clone(),
        band: None,
    }];
    if lo.is_finite() && hi.is_finite() {
        series.push(specnorm_plot::Series {
            name: format!("suggested {:.2e} (valley)", r.suggested),
            x: vec![r.suggested, r.suggested],
            y: vec![lo, hi],
            band: None,
        });
    }
    let opts = specnorm_plot::LinesOpts {
        title: format!("lr_find: {} (training folds of fold {})", r.setting, r.fold),
        x_label: "learning rate".into(),
        y_label: "loss".into(),
        log_x: true,
    };
    specnorm_plot::lines(path, &opts, &series).map_err(|e| ExperimentError::Report(e.into()))
}

/// `specnorm lr-find`: the sweep of `setting` on `cfg`'s dataset, features and model, without
/// training any run (the output folder gets `experiment.json` and `lr_find/`); with
/// `cfg.feature_cache` its features come from the cache, as the experiment's do.
pub fn find_lr(
    cfg: &ExperimentConfig,
    setting: &str,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<LrFindResult, ExperimentError> {
    let setting = crate::settings::by_name(setting)?;
    let mut cfg = cfg.clone();
    cfg.settings = vec![setting.name.to_string()];
    let plan = Plan::new(&cfg)?;
    progress(Progress::Stage("reading dataset"));
    let (index, features, _, out) = super::prepare(
        &cfg,
        &plan,
        &|_| Ok(Vec::new()),
        &|_| [setting.variant()].into_iter().collect(),
        progress,
    )?;
    let ctx = Context {
        cfg: &cfg,
        plan: &plan,
        index: &index,
        features: &features,
        out: &out,
        lrs: BTreeMap::new(),
    };
    suggest(&ctx, &setting, progress)
}
