//! [`CheckpointMeta`]: the metadata a training run stores beside its weights.

use std::collections::BTreeMap;

use specnorm_features::FeatureConfig;
use specnorm_norm::NormSpec;

use crate::keys::checkpoint as k;
use crate::model::n_bins;
use crate::{invalid, parse_json, to_json, ContractError, ModelInput, ModelMetadata};

/// What `specnorm experiment` records in each checkpoint (string map of the `.safetensors`
/// header) so that the checkpoint alone can be exported.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointMeta {
    /// Setting name.
    pub setting: String,
    /// The normalization the network was trained behind.
    pub normalization: NormSpec,
    /// The feature configuration of the network's input.
    pub features: FeatureConfig,
    /// Class names in logit order.
    pub classes: Vec<String>,
    /// Validation fold of the run.
    pub valid_fold: Option<u32>,
    /// Seed of the run.
    pub seed: Option<u64>,
    /// Hash of the experiment configuration.
    pub config_hash: Option<String>,
    /// Validation accuracy after the last epoch.
    pub final_accuracy: Option<f64>,
}

impl CheckpointMeta {
    /// The string map to store.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |key: &str, v: String| {
            m.insert(key.to_string(), v);
        };
        put(k::SETTING, self.setting.clone());
        put(k::NORMALIZER, self.normalization.to_json());
        put(k::FEATURES, to_json(&self.features));
        put(k::CLASSES, to_json(&self.classes));
        if let Some(f) = self.valid_fold {
            put(k::VALID_FOLD, f.to_string());
        }
        if let Some(s) = self.seed {
            put(k::SEED, s.to_string());
        }
        if let Some(h) = &self.config_hash {
            put(k::CONFIG_HASH, h.clone());
        }
        if let Some(a) = self.final_accuracy {
            put(k::FINAL_ACCURACY, a.to_string());
        }
        m
    }

    /// Reads and validates the map (normalization valid for the features' bin count).
    pub fn from_map(m: &BTreeMap<String, String>) -> Result<Self, ContractError> {
        let req = |key: &'static str| {
            m.get(key)
                .map(String::as_str)
                .ok_or(ContractError::Missing { key })
        };
        fn opt<T: std::str::FromStr>(
            m: &BTreeMap<String, String>,
            key: &'static str,
        ) -> Result<Option<T>, ContractError>
        where
            T::Err: std::fmt::Display,
        {
            m.get(key)
                .map(|v| v.trim().parse::<T>().map_err(|e| invalid(key, e)))
                .transpose()
        }
        let features: FeatureConfig = parse_json(k::FEATURES, req(k::FEATURES)?)?;
        let normalization =
            NormSpec::from_json(req(k::NORMALIZER)?).map_err(|e| invalid(k::NORMALIZER, e))?;
        let bins = n_bins(&features, k::FEATURES)?;
        normalization
            .normalizer
            .check_n_freq(bins)
            .map_err(|e| invalid(k::NORMALIZER, e))?;
        Ok(Self {
            setting: m.get(k::SETTING).cloned().unwrap_or_default(),
            normalization,
            features,
            classes: parse_json(k::CLASSES, req(k::CLASSES)?)?,
            valid_fold: opt(m, k::VALID_FOLD)?,
            seed: opt(m, k::SEED)?,
            config_hash: m.get(k::CONFIG_HASH).cloned(),
            final_accuracy: opt(m, k::FINAL_ACCURACY)?,
        })
    }

    /// The ONNX metadata of a `model_kind` network exported from this checkpoint.
    pub fn model_metadata(
        &self,
        model_kind: &str,
        input: ModelInput,
    ) -> Result<ModelMetadata, ContractError> {
        ModelMetadata::new(
            self.classes.clone(),
            self.features.clone(),
            self.normalization.clone(),
            model_kind,
            input,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use specnorm_norm::Normalizer;

    #[test]
    fn round_trip_and_errors() {
        let c = CheckpointMeta {
            setting: "instance".into(),
            normalization: NormSpec::from(Normalizer::PerInstance { eps: 1e-6 }),
            features: FeatureConfig::default(),
            classes: vec!["x".into(), "y".into()],
            valid_fold: Some(1),
            seed: Some(2),
            config_hash: Some("abc".into()),
            final_accuracy: Some(0.5),
        };
        let m = c.to_map();
        assert_eq!(m[k::SETTING], "instance");
        assert_eq!(CheckpointMeta::from_map(&m).unwrap(), c);
        let mut no_norm = m.clone();
        no_norm.remove(k::NORMALIZER);
        assert!(matches!(
            CheckpointMeta::from_map(&no_norm),
            Err(ContractError::Missing { key: k::NORMALIZER })
        ));
        let mut bad = m.clone();
        bad.insert(k::SEED.into(), "x".into());
        assert!(CheckpointMeta::from_map(&bad).is_err());
        let meta = c.model_metadata("small", ModelInput::Spectrogram).unwrap();
        assert_eq!(meta.class_names, c.classes);
        assert_eq!(meta.n_freq, 201);
    }
}
