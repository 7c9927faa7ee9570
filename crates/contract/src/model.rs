//! [`ModelMetadata`]: the metadata of an exported ONNX model.

use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_norm::NormSpec;

use crate::keys::onnx as k;
use crate::{invalid, parse_json, to_json, ContractError};

/// How the STFT of a waveform graph is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StftImpl {
    /// The ONNX `STFT` operator (opset 17).
    Dft,
    /// `Conv` with windowed cosine / sine kernels (runs on every execution provider).
    Conv,
}

impl StftImpl {
    /// `dft` or `conv` (the metadata value and the CLI spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            StftImpl::Dft => "dft",
            StftImpl::Conv => "conv",
        }
    }

    /// Parses `dft` / `conv`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dft" => Some(StftImpl::Dft),
            "conv" => Some(StftImpl::Conv),
            _ => None,
        }
    }
}

/// What the graph's input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelInput {
    /// Features `[N, 1, F, T]` computed outside (by `specnorm-features`).
    Spectrogram,
    /// Mono waveform `[N, S]` at the model's sample rate; the front end is in the graph.
    Waveform {
        /// The STFT inside the graph.
        stft: StftImpl,
    },
}

impl ModelInput {
    /// `spectrogram` or `waveform`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelInput::Spectrogram => "spectrogram",
            ModelInput::Waveform { .. } => "waveform",
        }
    }
}

/// Everything an exported model carries besides the network, as typed values.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMetadata {
    /// Class names in logit order (non-empty).
    pub class_names: Vec<String>,
    /// Sample rate (Hz) of the front end (= `feature_config.sample_rate`).
    pub sample_rate: u32,
    /// Frequency bins F of the features (what `feature_config` produces).
    pub n_freq: usize,
    /// The front end the model was trained with.
    pub feature_config: FeatureConfig,
    /// The normalization inside the graph.
    pub normalization: NormSpec,
    /// Model kind (`small`, `xresnet18`).
    pub model_kind: String,
    /// What the graph takes.
    pub input: ModelInput,
    /// Version of specnorm that wrote the file (empty if unknown).
    pub specnorm_version: String,
}

/// Frequency bins that `cfg` produces (checks the configuration).
pub(crate) fn n_bins(cfg: &FeatureConfig, key: &'static str) -> Result<usize, ContractError> {
    Ok(FeatureExtractor::new(cfg.clone())
        .map_err(|e| invalid(key, e))?
        .n_bins())
}

impl ModelMetadata {
    /// Metadata for a model trained on `feature_config` features, with `n_freq` and the
    /// sample rate derived from it and this crate's version; validated.
    pub fn new(
        class_names: Vec<String>,
        feature_config: FeatureConfig,
        normalization: NormSpec,
        model_kind: &str,
        input: ModelInput,
    ) -> Result<Self, ContractError> {
        let meta = Self {
            class_names,
            sample_rate: feature_config.sample_rate,
            n_freq: n_bins(&feature_config, k::FEATURE_CONFIG)?,
            feature_config,
            normalization,
            model_kind: model_kind.to_string(),
            input,
            specnorm_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        meta.validate()?;
        Ok(meta)
    }

    /// Checks the fields against each other: class names present, sample rate and `n_freq`
    /// equal to what the feature configuration says, the normalization valid for `n_freq`.
    pub fn validate(&self) -> Result<(), ContractError> {
        if self.class_names.is_empty() {
            return Err(invalid(k::CLASS_NAMES, "empty list"));
        }
        if self.sample_rate != self.feature_config.sample_rate {
            return Err(invalid(
                k::SAMPLE_RATE,
                format!(
                    "sample_rate is {} but the feature config says {}",
                    self.sample_rate, self.feature_config.sample_rate
                ),
            ));
        }
        let bins = n_bins(&self.feature_config, k::FEATURE_CONFIG)?;
        if bins != self.n_freq {
            return Err(invalid(
                k::N_FREQ,
                format!(
                    "n_freq is {} but the feature config produces {bins} frequency bins",
                    self.n_freq
                ),
            ));
        }
        self.normalization
            .normalizer
            .check_n_freq(self.n_freq)
            .map_err(|e| invalid(k::NORMALIZATION, e))
    }

    /// The `metadata_props` key / value pairs.
    pub fn to_props(&self) -> Vec<(String, String)> {
        let mut props = vec![
            (k::CLASS_NAMES, to_json(&self.class_names)),
            (k::SAMPLE_RATE, self.sample_rate.to_string()),
            (k::FEATURE_CONFIG, to_json(&self.feature_config)),
            (k::N_FREQ, self.n_freq.to_string()),
            (k::NORMALIZATION, self.normalization.to_json()),
            (k::MODEL_KIND, self.model_kind.clone()),
            (k::SPECNORM_VERSION, self.specnorm_version.clone()),
            (k::INPUT, self.input.as_str().to_string()),
        ];
        if let ModelInput::Waveform { stft } = self.input {
            props.push((k::STFT, stft.as_str().to_string()));
            props.push((
                k::RESAMPLING,
                format!(
                    "outside the graph: the input must be mono float32 samples at {} Hz",
                    self.sample_rate
                ),
            ));
        }
        props
            .into_iter()
            .map(|(key, v)| (key.to_string(), v))
            .collect()
    }

    /// Reads and validates the metadata; `get` looks a key up (e.g. ONNX Runtime's
    /// `ModelMetadata::custom`).
    pub fn from_props(get: impl Fn(&str) -> Option<String>) -> Result<Self, ContractError> {
        let req = |key: &'static str| get(key).ok_or(ContractError::Missing { key });
        let uint = |key: &'static str| -> Result<u64, ContractError> {
            let v = req(key)?;
            v.trim()
                .parse::<u64>()
                .map_err(|e| invalid(key, format!("{v:?}: {e}")))
        };
        let input = match get(k::INPUT).as_deref() {
            None | Some("spectrogram") => ModelInput::Spectrogram,
            Some("waveform") => {
                let s = req(k::STFT)?;
                let stft = StftImpl::parse(&s)
                    .ok_or_else(|| invalid(k::STFT, format!("{s:?} (dft | conv)")))?;
                ModelInput::Waveform { stft }
            }
            Some(other) => {
                return Err(invalid(
                    k::INPUT,
                    format!("{other:?} (spectrogram | waveform)"),
                ))
            }
        };
        let meta = Self {
            class_names: parse_json(k::CLASS_NAMES, &req(k::CLASS_NAMES)?)?,
            sample_rate: u32::try_from(uint(k::SAMPLE_RATE)?)
                .map_err(|e| invalid(k::SAMPLE_RATE, e))?,
            n_freq: usize::try_from(uint(k::N_FREQ)?).map_err(|e| invalid(k::N_FREQ, e))?,
            feature_config: parse_json(k::FEATURE_CONFIG, &req(k::FEATURE_CONFIG)?)?,
            normalization: NormSpec::from_json(&req(k::NORMALIZATION)?)
                .map_err(|e| invalid(k::NORMALIZATION, e))?,
            model_kind: req(k::MODEL_KIND)?,
            input,
            specnorm_version: get(k::SPECNORM_VERSION).unwrap_or_default(),
        };
        meta.validate()?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use specnorm_norm::Normalizer;
    use std::collections::HashMap;

    fn meta(input: ModelInput) -> ModelMetadata {
        ModelMetadata::new(
            vec!["a".into(), "b".into()],
            FeatureConfig::default(),
            NormSpec::from(Normalizer::PerChannel {
                mean: vec![-40.0; 201],
                std: vec![10.0; 201],
            }),
            "small",
            input,
        )
        .unwrap()
    }

    fn props(m: &ModelMetadata) -> HashMap<String, String> {
        m.to_props().into_iter().collect()
    }

    #[test]
    fn round_trip_both_inputs() {
        for input in [
            ModelInput::Spectrogram,
            ModelInput::Waveform {
                stft: StftImpl::Dft,
            },
            ModelInput::Waveform {
                stft: StftImpl::Conv,
            },
        ] {
            let m = meta(input);
            let p = props(&m);
            assert_eq!(
                ModelMetadata::from_props(|key| p.get(key).cloned()).unwrap(),
                m
            );
            assert_eq!(
                p.contains_key(k::RESAMPLING),
                input != ModelInput::Spectrogram
            );
        }
    }

    #[test]
    fn inconsistent_metadata_is_refused() {
        let m = meta(ModelInput::Spectrogram);
        let mut p = props(&m);
        p.insert(k::N_FREQ.into(), "128".into());
        let err = ModelMetadata::from_props(|key| p.get(key).cloned()).unwrap_err();
        assert!(
            matches!(err, ContractError::Invalid { key: k::N_FREQ, .. }),
            "{err}"
        );
        let mut p = props(&m);
        p.remove(k::CLASS_NAMES);
        assert!(matches!(
            ModelMetadata::from_props(|key| p.get(key).cloned()),
            Err(ContractError::Missing {
                key: k::CLASS_NAMES
            })
        ));
        let mut p = props(&m);
        p.insert(k::INPUT.into(), "waveform".into());
        assert!(ModelMetadata::from_props(|key| p.get(key).cloned()).is_err());
        let mut bad = m.clone();
        bad.normalization = NormSpec::from(Normalizer::PerChannel {
            mean: vec![0.0; 3],
            std: vec![1.0; 3],
        });
        assert!(bad.validate().is_err());
    }
}
