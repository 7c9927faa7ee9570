//! Stage 3, the job list: every (setting, validation fold, seed) in report
//! order, each either already finished on disk (a run file with this
//! configuration's hash: skipped) or pending.

use std::collections::BTreeSet;

use super::config::{OutputDir, Plan};
use super::error::{read_json, ExperimentError};
use crate::results::{run_key, RunRecord};
use crate::settings::{FeatureVariant, Setting};

/// One (setting, fold, seed) run.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// The setting.
    pub setting: Setting,
    /// The validation fold.
    pub fold: u32,
    /// The seed.
    pub seed: u64,
    /// `<setting>_f<fold>_s<seed>`.
    pub key: String,
    /// The finished run found on disk, if any.
    pub done: Option<RunRecord>,
}

/// The jobs of `plan` (`runs` seeds each; only `shard`'s share when given), with the finished
/// ones read from `out`. A run file of another configuration is an error.
pub(crate) fn list(
    plan: &Plan,
    runs: u64,
    shard: Option<specnorm_pipeline::Shard>,
    out: &OutputDir,
) -> Result<Vec<Job>, ExperimentError> {
    let mut keys = Vec::new();
    for s in &plan.settings {
        for &fold in &plan.valid_folds {
            for seed in 0..runs {
                keys.push((*s, fold, seed));
            }
        }
    }
    if let Some(shard) = shard {
        keys = shard.select(&keys);
    }
    let mut jobs = Vec::new();
    for (setting, fold, seed) in keys {
        let key = run_key(setting.name, fold, seed);
        let path = out.runs.join(format!("{key}.json"));
        let done = if path.is_file() {
            let r: RunRecord = read_json(&path)?;
            if r.config_hash != out.config_hash {
                return Err(ExperimentError::ConfigMismatch {
                    path,
                    expected: out.config_hash.clone(),
                    found: r.config_hash,
                });
            }
            Some(r)
        } else {
            None
        };
        jobs.push(Job {
            setting,
            fold,
            seed,
            key,
            done,
        });
    }
    Ok(jobs)
}

/// The feature variants the pending jobs train on.
pub(crate) fn pending_variants(jobs: &[Job]) -> BTreeSet<FeatureVariant> {
    jobs.iter()
        .filter(|j| j.done.is_none())
        .map(|j| j.setting.variant())
        .collect()
}
