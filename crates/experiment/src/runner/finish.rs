//! Stage 6, finishing: the report (`results.json`, `results.md`, plots), the
//! best run of each setting (`best_runs.json`) and its ONNX export.

use std::collections::BTreeMap;

use super::error::write_json;
use super::training::{Context, Trained};
use super::{distributions, plots, ExperimentError, ExperimentOutcome, Progress};
use crate::report::{self, BestRun};

/// Writes the report, the example plots, `best_runs.json` and (if configured)
/// the ONNX files.
pub(crate) fn finish(
    ctx: &Context<'_>,
    trained: Trained,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<ExperimentOutcome, ExperimentError> {
    let (cfg, plan, out) = (ctx.cfg, ctx.plan, &ctx.out.root);
    progress(Progress::Stage("writing report"));
    let order = plan.order();
    let folds: Vec<String> = plan.valid_folds.iter().map(|f| f.to_string()).collect();
    let config_json = serde_json::json!({
        "data_root": cfg.data_root.display().to_string(),
        "settings": order.join(", "),
        "seeds per fold": cfg.runs,
        "validation folds": folds.join(", "),
        "model": cfg.model.as_str(),
        "epochs": cfg.epochs,
        "lr": if cfg.lr_find {
            serde_json::json!({"lr_find": ctx.lrs})
        } else {
            serde_json::json!(cfg.lr)
        },
        "batch_size": cfg.batch_size,
        "mixup": cfg.mixup,
        "label_smoothing": cfg.label_smoothing,
        "device": format!("{:?}", plan.device),
        "features": cfg.features,
        "shard": cfg.shard.map(|s| s.to_string()),
    });
    let distributions = distributions::compute(ctx)?;
    let results = report::write_report(
        out,
        config_json,
        &ctx.out.config_hash,
        trained.records,
        &order,
        distributions,
    )?;
    if let Some(&fold) = plan.valid_folds.first() {
        plots::write_examples(ctx, fold)?;
    }

    let mut best = BTreeMap::new();
    for s in &results.summary.settings {
        if let Some(b) = &s.best {
            let abs = b.checkpoint.as_ref().map(|c| out.join(c));
            best.insert(s.setting.clone(), (b.clone(), abs));
        }
    }
    if let Some((b, Some(ckpt))) = best.get(crate::settings::PCEN_LEARNED) {
        plots::write_learned_pcen(ctx, b, ckpt)?;
    }
    let best_json: BTreeMap<&String, &BestRun> = best.iter().map(|(k, (b, _))| (k, b)).collect();
    write_json(&out.join("best_runs.json"), &best_json)?;
    let exports = if cfg.export_onnx && cfg.shard.is_none() {
        progress(Progress::Stage("exporting ONNX"));
        crate::export::export_best_runs(out, &best)?
    } else {
        Vec::new()
    };
    Ok(ExperimentOutcome {
        exports,
        results,
        trained: trained.trained,
        skipped: trained.skipped,
        best,
        results_md: out.join("results.md"),
        results_json: out.join("results.json"),
        skipped_clips: ctx.index.skipped.clone(),
        truncated_clips: ctx.index.truncated.clone(),
    })
}
