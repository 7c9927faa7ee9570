//! The normalization of one (setting, validation fold): fitted on the clips the
//! caller names as training clips. The statistics' provenance is the set of
//! folds of the clips they were accumulated over (not a list the caller
//! passes), so the leakage guard [`specnorm_norm::Normalizer::for_validation_fold`]
//! fires whenever a validation clip reaches the statistics.

use specnorm_norm::NormSpec;
use specnorm_stats::Stats;

use super::config::ExperimentConfig;
use super::dataset::DataIndex;
use super::error::ExperimentError;
use super::features::FeatureSet;
use crate::settings::{self, FoldClip, Setting};

/// Fits `setting`'s normalization for `valid_fold` on the clips `train_idx`
/// of `index` (features `feats`, of `setting.variant()`).
pub(crate) fn fit(
    cfg: &ExperimentConfig,
    index: &DataIndex,
    feats: &FeatureSet,
    setting: &Setting,
    train_idx: &[usize],
    valid_fold: u32,
) -> Result<(NormSpec, Option<Stats>), ExperimentError> {
    let train: Vec<FoldClip<'_>> = train_idx
        .iter()
        .map(|&k| Ok((index.clips[k].fold, feats.view(k)?)))
        .collect::<Result<_, ExperimentError>>()?;
    let (normalizer, stats) = settings::fit_normalizer(
        setting,
        &train,
        valid_fold,
        &dataset_name(cfg),
        &setting.variant().feature_config(&cfg.features),
    )?;
    let spec = NormSpec {
        normalizer,
        provenance: stats.as_ref().map(|s| s.provenance.clone()),
    };
    Ok((spec, stats))
}

/// The dataset name recorded in the statistics' provenance.
pub(crate) fn dataset_name(cfg: &ExperimentConfig) -> String {
    cfg.data_root.display().to_string()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use specnorm_norm::NormError;

    use super::*;
    use crate::runner::dataset::Clip;
    use crate::settings::{by_name, SettingsError};

    fn index() -> (DataIndex, FeatureSet) {
        let clips: Vec<Clip> = (0..6)
            .map(|i| Clip {
                path: format!("clip{i}.wav").into(),
                fold: 1 + i as u32 % 3,
                target: 0,
            })
            .collect();
        let feats = FeatureSet::Memory(
            (0..6)
                .map(|i| Array2::from_shape_fn((4, 3), |(f, t)| (f * 3 + t + i) as f32))
                .collect(),
        );
        let index = DataIndex {
            clips,
            classes: vec!["a".into()],
            folds: vec![1, 2, 3],
            fingerprint: String::new(),
            skipped: Vec::new(),
            truncated: Vec::new(),
        };
        (index, feats)
    }

    /// On the experiment's own path: statistics that saw a clip of the
    /// validation fold are refused, because their provenance is the folds of
    /// the clips they were computed from.
    #[test]
    fn statistics_that_saw_the_validation_fold_are_refused() {
        let (index, feats) = index();
        let cfg = ExperimentConfig::new("data", "out");
        for name in ["global", "channel"] {
            let s = by_name(name).unwrap();
            let (spec, stats) = fit(&cfg, &index, &feats, &s, &index.indices(1, false), 1).unwrap();
            assert_eq!(stats.unwrap().provenance.folds, [2, 3]);
            assert_eq!(spec.provenance.unwrap().folds, [2, 3]);
            // Every clip, validation fold included.
            let all: Vec<usize> = (0..index.clips.len()).collect();
            let leak = fit(&cfg, &index, &feats, &s, &all, 1);
            assert!(
                matches!(
                    leak,
                    Err(ExperimentError::Settings(SettingsError::Norm(
                        NormError::Leakage(_)
                    )))
                ),
                "{name}: {leak:?}"
            );
            // A single validation clip is enough.
            let mut one = index.indices(1, false);
            one.push(0);
            assert!(fit(&cfg, &index, &feats, &s, &one, 1).is_err());
        }
        // Settings without statistics have no provenance to check.
        let (spec, stats) =
            fit(&cfg, &index, &feats, &by_name("instance").unwrap(), &[0], 1).unwrap();
        assert!(stats.is_none() && spec.provenance.is_none());
    }
}
