//! The closed sets of values of the flat keys (`window = "hann"`, `scale = "db"` ...): one
//! enum per key, lowercase names for serde (Python keyword arguments, `specnorm.toml`) and, with
//! feature `clap`, for the command line. Each converts both ways to the `specnorm-dsp` type it
//! names, with exhaustive matches, so a variant added there does not compile until named here.

use serde::{Deserialize, Serialize};
use specnorm_dsp::{MelNorm, MelScale, PadMode, WindowKind};

/// `window`: the analysis window ([`WindowKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum WindowName {
    /// Periodic Hann (torchaudio's default).
    Hann,
    /// Periodic Hamming.
    Hamming,
    /// All ones.
    Rectangular,
}

impl From<WindowName> for WindowKind {
    fn from(v: WindowName) -> Self {
        match v {
            WindowName::Hann => WindowKind::Hann,
            WindowName::Hamming => WindowKind::Hamming,
            WindowName::Rectangular => WindowKind::Rectangular,
        }
    }
}

impl From<WindowKind> for WindowName {
    fn from(v: WindowKind) -> Self {
        match v {
            WindowKind::Hann => WindowName::Hann,
            WindowKind::Hamming => WindowName::Hamming,
            WindowKind::Rectangular => WindowName::Rectangular,
        }
    }
}

/// `pad_mode`: the padding of a centered STFT ([`PadMode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum PadModeName {
    /// Mirror without repeating the edge sample (torch `"reflect"`).
    Reflect,
    /// Zeros (torch `"constant"`).
    Constant,
}

impl From<PadModeName> for PadMode {
    fn from(v: PadModeName) -> Self {
        match v {
            PadModeName::Reflect => PadMode::Reflect,
            PadModeName::Constant => PadMode::Constant,
        }
    }
}

impl From<PadMode> for PadModeName {
    fn from(v: PadMode) -> Self {
        match v {
            PadMode::Reflect => PadModeName::Reflect,
            PadMode::Constant => PadModeName::Constant,
        }
    }
}

/// `mel_scale`: the mel frequency scale ([`MelScale`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MelScaleName {
    /// HTK, `2595 log10(1 + f / 700)` (torchaudio's default).
    Htk,
    /// Slaney: linear below 1 kHz, logarithmic above (librosa's default).
    Slaney,
}

impl From<MelScaleName> for MelScale {
    fn from(v: MelScaleName) -> Self {
        match v {
            MelScaleName::Htk => MelScale::Htk,
            MelScaleName::Slaney => MelScale::Slaney,
        }
    }
}

impl From<MelScale> for MelScaleName {
    fn from(v: MelScale) -> Self {
        match v {
            MelScale::Htk => MelScaleName::Htk,
            MelScale::Slaney => MelScaleName::Slaney,
        }
    }
}

/// `mel_norm`: the mel filter normalization ([`MelNorm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MelNormName {
    /// Triangles with peak 1 (torchaudio's default).
    None,
    /// Slaney area normalization, `2 / (f_hi - f_lo)` per triangle.
    Slaney,
}

impl From<MelNormName> for MelNorm {
    fn from(v: MelNormName) -> Self {
        match v {
            MelNormName::None => MelNorm::None,
            MelNormName::Slaney => MelNorm::Slaney,
        }
    }
}

impl From<MelNorm> for MelNormName {
    fn from(v: MelNorm) -> Self {
        match v {
            MelNorm::None => MelNormName::None,
            MelNorm::Slaney => MelNormName::Slaney,
        }
    }
}

/// `scale`: the output scaling, one name per [`specnorm_dsp::Scale`] variant (its parameters
/// are the keys `top_db` and `ln_eps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ScaleName {
    /// Decibels, torchaudio's `AmplitudeToDB` (`top_db` clamps the range).
    Db,
    /// Natural log, `ln(max(x, ln_eps))`; also accepted as `log`.
    #[serde(alias = "log")]
    #[cfg_attr(feature = "clap", value(alias = "log"))]
    Ln,
    /// The raw `|X|^power` (or its mel sums).
    Power,
}

impl ScaleName {
    /// The name the keys use (`"db"`, `"ln"`, `"power"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleName::Db => "db",
            ScaleName::Ln => "ln",
            ScaleName::Power => "power",
        }
    }
}
