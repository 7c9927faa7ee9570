//! The report's distributions (`report::distributions`) from the experiment's features: the
//! sampled training clips of the first validation fold as power and dB (waveform-normalized
//! features, power recovered as `10^(dB/10)`: exact above the dB floor of 1e-10 and any
//! `top_db` clamp), and after each setting's normalization fitted on the same training folds.
//! Cached in `distributions.json` (recomputed when missing or for another fold).

use std::collections::BTreeSet;
use std::path::PathBuf;

use ndarray::Array2;

use super::config::{ExperimentConfig, Plan};
use super::error::{read_json, write_json, ExperimentError};
use super::norm;
use super::training::Context;
use crate::report::distributions::{
    channel_quantiles, sample_clips, value_distribution, Distributions, RESERVOIR, SAMPLE_SEED,
};
use crate::report::feature_unit;
use crate::settings::{self, FeatureVariant, SpecNorm};

/// The variant whose values are shown as power and dB.
const DB_VARIANT: FeatureVariant = FeatureVariant {
    waveform_norm: true,
    power: false,
};

fn cache_path(cfg: &ExperimentConfig) -> PathBuf {
    cfg.out_dir.join("distributions.json")
}

/// The cached distributions of `fold`, if there.
fn cached(cfg: &ExperimentConfig, fold: u32) -> Option<Distributions> {
    let path = cache_path(cfg);
    if !path.is_file() {
        return None;
    }
    read_json::<Distributions>(&path)
        .ok()
        .filter(|d| d.valid_fold == fold)
}

/// The feature variants [`compute`] needs (none when cached).
pub(crate) fn needed_variants(cfg: &ExperimentConfig, plan: &Plan) -> BTreeSet<FeatureVariant> {
    match plan.valid_folds.first() {
        Some(&fold) if cached(cfg, fold).is_none() => {
            let mut v: BTreeSet<_> = plan.settings.iter().map(|s| s.variant()).collect();
            v.insert(DB_VARIANT);
            v
        }
        _ => BTreeSet::new(),
    }
}

/// The distributions for the first validation fold (cached, or computed and cached).
pub(crate) fn compute(ctx: &Context<'_>) -> Result<Option<Distributions>, ExperimentError> {
    let (cfg, index) = (ctx.cfg, ctx.index);
    let Some(&fold) = ctx.plan.valid_folds.first() else {
        return Ok(None);
    };
    if let Some(d) = cached(cfg, fold) {
        return Ok(Some(d));
    }
    let Some(db_feats) = ctx.features.get(DB_VARIANT) else {
        return Ok(None);
    };
    let train_idx = index.indices(fold, false);
    let picked: Vec<usize> = sample_clips(train_idx.len())
        .into_iter()
        .map(|i| train_idx[i])
        .collect();
    if picked.is_empty() {
        return Ok(None);
    }
    let db_arrays = picked
        .iter()
        .map(|&k| db_feats.array(k))
        .collect::<Result<Vec<_>, _>>()?;
    let db: Vec<&Array2<f32>> = db_arrays.iter().map(|a| a.as_ref()).collect();
    let db_cfg = DB_VARIANT.feature_config(&cfg.features);
    let unit = feature_unit(&db_cfg);
    let power: Vec<Array2<f32>> = db
        .iter()
        .map(|a| a.mapv(|v| 10f32.powf(v / 10.0)))
        .collect();
    let mut values = vec![
        value_distribution("power", "power", power.iter())?,
        value_distribution(unit, unit, db.iter().copied())?,
    ];
    drop(power);
    for s in &ctx.plan.settings {
        let Some(feats) = ctx.features.get(s.variant()) else {
            continue;
        };
        let (spec, _) = norm::fit(cfg, index, feats, s, &train_idx, fold)?;
        let normalized = picked
            .iter()
            .map(|&k| Ok(settings::apply(&spec.normalizer, &*feats.array(k)?)?))
            .collect::<Result<Vec<_>, ExperimentError>>()?;
        // A mapped set's pages read by the fit and the sample leave the resident set.
        feats.release();
        let unit = match s.spec_norm {
            SpecNorm::None => unit,
            // nothing before the network: the power features themselves
            SpecNorm::PcenLearned => "power",
            SpecNorm::Pcen => "PCEN",
            _ => "σ",
        };
        values.push(value_distribution(s.name, unit, normalized.iter())?);
    }
    let d = Distributions {
        valid_fold: fold,
        clips_sampled: picked.len(),
        clips_total: train_idx.len(),
        seed: SAMPLE_SEED,
        reservoir: RESERVOIR,
        values,
        channels: channel_quantiles(&db, db_cfg.row_frequencies())?,
    };
    write_json(&cache_path(cfg), &d)?;
    Ok(Some(d))
}
