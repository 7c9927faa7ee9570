//! Every metadata key and graph name of the contract, in one place.

/// Keys of the checkpoint metadata (the `__metadata__` map of the `.safetensors` file).
pub mod checkpoint {
    /// Setting name (`channel`, `pcen`, ...).
    pub const SETTING: &str = "specnorm.setting";
    /// The normalization ([`NormSpec`](crate::NormSpec) JSON).
    pub const NORMALIZER: &str = "specnorm.normalizer";
    /// Feature configuration JSON ([`FeatureConfig`](crate::FeatureConfig)).
    pub const FEATURES: &str = "specnorm.features";
    /// JSON array of class names, in logit order.
    pub const CLASSES: &str = "specnorm.classes";
    /// Validation fold of the run (decimal).
    pub const VALID_FOLD: &str = "specnorm.valid_fold";
    /// Seed of the run (decimal).
    pub const SEED: &str = "specnorm.seed";
    /// Hash of the experiment configuration.
    pub const CONFIG_HASH: &str = "specnorm.config_hash";
    /// Validation accuracy after the last epoch.
    pub const FINAL_ACCURACY: &str = "specnorm.final_accuracy";
}

/// Keys of the ONNX `metadata_props` (all values are strings).
pub mod onnx {
    /// JSON array of class names, in logit order.
    pub const CLASS_NAMES: &str = "class_names";
    /// Sample rate in Hz (decimal) of the front end; a waveform input must already be at it.
    pub const SAMPLE_RATE: &str = "sample_rate";
    /// Feature configuration JSON ([`FeatureConfig`](crate::FeatureConfig)).
    pub const FEATURE_CONFIG: &str = "feature_config";
    /// Number of frequency bins F of the features (decimal).
    pub const N_FREQ: &str = "n_freq";
    /// The normalization ([`NormSpec`](crate::NormSpec) JSON); applied inside the graph.
    pub const NORMALIZATION: &str = "normalization";
    /// Model kind (`small`, `xresnet18`).
    pub const MODEL_KIND: &str = "model_kind";
    /// Version of specnorm that wrote the file.
    pub const SPECNORM_VERSION: &str = "specnorm_version";
    /// What the graph takes: `spectrogram` (features computed outside) or `waveform` (the
    /// front end is inside the graph). Absent in files from before the waveform export:
    /// `spectrogram`.
    pub const INPUT: &str = "input";
    /// STFT implementation inside a waveform graph: `dft` (the ONNX `STFT` operator, opset 17)
    /// or `conv` (`Conv` with windowed DFT kernels).
    pub const STFT: &str = "stft";
    /// For a waveform graph: what the caller must do before (decode, mix to mono, resample).
    pub const RESAMPLING: &str = "resampling";
}

/// Graph input and output names.
pub mod graph {
    /// Input of a feature-input model: the dB (or power, for PCEN) spectrogram `[N, 1, F, T]`.
    pub const SPECTROGRAM_INPUT: &str = "spectrogram";
    /// Input of a waveform model: mono samples `[N, S]` at the model's sample rate.
    pub const WAVEFORM_INPUT: &str = "waveform";
    /// Output of every model: logits `[N, n_classes]`.
    pub const LOGITS_OUTPUT: &str = "logits";
}
