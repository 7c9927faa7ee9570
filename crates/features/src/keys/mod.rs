//! The flat, torchaudio-style keys of a feature configuration (`n_fft`, `hop`, `n_mels`,
//! `top_db` ...) and their mapping onto the nested [`FeatureConfig`].
//!
//! [`FeatureKeys`] is the one definition of those keys. Python's keyword arguments
//! (`FeatureExtractor(n_fft=512)`), the command line's flags (`--n-fft 512`) and the
//! `[features]` table of `specnorm.toml` (`n_fft = 512`) all fill one, and
//! [`FeatureKeys::resolve`] (or `FeatureConfig::try_from`) turns it into the [`FeatureConfig`]
//! that statistics, checkpoints and ONNX files record; `FeatureKeys::from(&cfg)` is its
//! inverse, with every key that applies set.
//!
//! Every key is optional: a key left unset takes [`FeatureConfig::default`]'s value.
//! Layers combine key by key with [`FeatureKeys::overridden_by`] (defaults < file < flags).
//!
//! ```
//! use specnorm_features::{FeatureConfig, FeatureKeys, ScaleName};
//! let file = FeatureKeys { n_mels: Some(64), top_db: Some(80.0), ..Default::default() };
//! let flags = FeatureKeys { n_mels: Some(40), ..Default::default() };
//! let cfg = file.overridden_by(&flags).resolve().unwrap();
//! assert_eq!(cfg.spectrogram.mel.as_ref().map(|m| m.n_mels), Some(40));
//! assert_eq!(cfg.spectrogram.scale, specnorm_dsp::Scale::Db { top_db: Some(80.0) });
//! // Back to keys: every key that applies is set.
//! let keys = FeatureKeys::from(&cfg);
//! assert_eq!((keys.n_fft, keys.scale, keys.ln_eps), (Some(400), Some(ScaleName::Db), None));
//! assert_eq!(FeatureConfig::try_from(keys).unwrap(), cfg);
//! ```

mod names;

use serde::de::{value::MapDeserializer, IntoDeserializer};
use serde::{Deserialize, Serialize, Serializer};
use specnorm_dsp::{MelConfig, Scale};

pub use names::{MelNormName, MelScaleName, PadModeName, ScaleName, WindowName};

use crate::{FeatureConfig, FeatureError};

/// The floor of `scale = "ln"` when `ln_eps` is not given.
pub const DEFAULT_LN_EPS: f32 = 1e-6;

/// A feature configuration as flat keys, each optional (unset: [`FeatureConfig::default`]'s
/// value). Serde names are the keys; unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureKeys {
    /// Target sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Pad or trim every clip to this many seconds; `0` keeps each clip's own length.
    #[serde(serialize_with = "shortest_f32")]
    pub seconds: Option<f32>,
    /// Normalize each waveform to zero mean and unit std before the STFT.
    pub waveform_norm: Option<bool>,
    /// FFT size; also the window length unless `win_length` is given.
    pub n_fft: Option<usize>,
    /// Window length (`<= n_fft`).
    pub win_length: Option<usize>,
    /// Hop between frames, in samples.
    pub hop: Option<usize>,
    /// Analysis window.
    pub window: Option<WindowName>,
    /// Pad `n_fft / 2` at both ends so frame `t` is centered at `t * hop`.
    pub center: Option<bool>,
    /// Padding of a centered STFT.
    pub pad_mode: Option<PadModeName>,
    /// Exponent of the magnitude (1 magnitude, 2 power).
    #[serde(serialize_with = "shortest_f32")]
    pub power: Option<f32>,
    /// Mel bands; `0` means none (linear frequency bins).
    pub n_mels: Option<usize>,
    /// Lowest mel band edge in Hz (needs `n_mels`).
    #[serde(serialize_with = "shortest_f32")]
    pub f_min: Option<f32>,
    /// Highest mel band edge in Hz; unset: half the sample rate (needs `n_mels`).
    #[serde(serialize_with = "shortest_f32")]
    pub f_max: Option<f32>,
    /// Mel scale (needs `n_mels`).
    pub mel_scale: Option<MelScaleName>,
    /// Mel filter normalization (needs `n_mels`).
    pub mel_norm: Option<MelNormName>,
    /// Output scaling.
    pub scale: Option<ScaleName>,
    /// Dynamic range of `scale = "db"` in dB below the maximum; unset: no clamping.
    #[serde(serialize_with = "shortest_f32")]
    pub top_db: Option<f32>,
    /// Floor of `scale = "ln"` before the log.
    #[serde(serialize_with = "shortest_f32")]
    pub ln_eps: Option<f32>,
}

/// A key or value that does not make a feature configuration. Each names the key (and, for a
/// closed set, the allowed values).
#[derive(Debug, thiserror::Error)]
pub enum FeatureKeyError {
    /// Not one of [`FeatureKeys::KEYS`].
    #[error("unknown feature key {key:?}; the keys are: {}", FeatureKeys::KEYS.join(", "))]
    Unknown {
        /// The key as given.
        key: String,
    },
    /// The value has the wrong type or is not one of the allowed names.
    #[error("{key}: {reason}")]
    Value {
        /// The key.
        key: String,
        /// What is wrong (the deserializer's message: the expected type or the allowed names).
        reason: String,
    },
    /// A key that applies only together with another one (`f_min` without `n_mels`,
    /// `top_db` with a scale other than `db` ...).
    #[error("{key} applies only {needs}")]
    NotApplicable {
        /// The key given.
        key: &'static str,
        /// What it needs, in words.
        needs: String,
    },
    /// The resolved configuration is invalid (sizes, ranges, Nyquist).
    #[error(transparent)]
    Invalid(#[from] FeatureError),
}

/// Serializes an `f32` as the `f64` of its shortest decimal form (`0.1`, not
/// `0.10000000149011612`), so JSON, TOML and Python show the value as written.
fn shortest_f32<S: Serializer>(v: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(x) => s.serialize_some(&x.to_string().parse::<f64>().unwrap_or(f64::from(*x))),
    }
}

impl FeatureKeys {
    /// Every key, in the order of the fields (and of Python's `FeatureExtractor.config`).
    pub const KEYS: [&'static str; 18] = [
        "sample_rate",
        "seconds",
        "waveform_norm",
        "n_fft",
        "win_length",
        "hop",
        "window",
        "center",
        "pad_mode",
        "power",
        "n_mels",
        "f_min",
        "f_max",
        "mel_scale",
        "mel_norm",
        "scale",
        "top_db",
        "ln_eps",
    ];

    /// Sets one key from any serde value (a `serde_json::Value`, a TOML value ...): the
    /// adapter for untyped sources such as Python's keyword arguments. A unit/null value leaves
    /// the key as it is. Errors: [`FeatureKeyError::Unknown`], or [`FeatureKeyError::Value`] naming the
    /// key and the expected type or names.
    pub fn set<'de, V, E>(&mut self, key: &str, value: V) -> Result<(), FeatureKeyError>
    where
        V: IntoDeserializer<'de, E>,
        E: serde::de::Error,
    {
        if !Self::KEYS.contains(&key) {
            return Err(FeatureKeyError::Unknown { key: key.into() });
        }
        let one = Self::deserialize(MapDeserializer::new(std::iter::once((key, value)))).map_err(
            |e: E| FeatureKeyError::Value {
                key: key.into(),
                reason: e.to_string(),
            },
        )?;
        *self = self.overridden_by(&one);
        Ok(())
    }

    /// These keys with every key that `top` sets taken from `top` (the layering of
    /// defaults < file < flags: `file.overridden_by(&flags)`).
    pub fn overridden_by(&self, top: &FeatureKeys) -> FeatureKeys {
        FeatureKeys {
            sample_rate: top.sample_rate.or(self.sample_rate),
            seconds: top.seconds.or(self.seconds),
            waveform_norm: top.waveform_norm.or(self.waveform_norm),
            n_fft: top.n_fft.or(self.n_fft),
            win_length: top.win_length.or(self.win_length),
            hop: top.hop.or(self.hop),
            window: top.window.or(self.window),
            center: top.center.or(self.center),
            pad_mode: top.pad_mode.or(self.pad_mode),
            power: top.power.or(self.power),
            n_mels: top.n_mels.or(self.n_mels),
            f_min: top.f_min.or(self.f_min),
            f_max: top.f_max.or(self.f_max),
            mel_scale: top.mel_scale.or(self.mel_scale),
            mel_norm: top.mel_norm.or(self.mel_norm),
            scale: top.scale.or(self.scale),
            top_db: top.top_db.or(self.top_db),
            ln_eps: top.ln_eps.or(self.ln_eps),
        }
    }

    /// The [`FeatureConfig`] these keys describe, over [`FeatureConfig::default`], validated
    /// ([`FeatureConfig::validate`]).
    pub fn resolve(&self) -> Result<FeatureConfig, FeatureKeyError> {
        let mut cfg = FeatureConfig::default();
        if let Some(v) = self.sample_rate {
            cfg.sample_rate = v;
        }
        if let Some(s) = self.seconds {
            cfg.seconds = (s != 0.0).then_some(s);
        }
        if let Some(v) = self.waveform_norm {
            cfg.waveform_norm = v;
        }
        let stft = &mut cfg.spectrogram.stft;
        if let Some(v) = self.n_fft {
            stft.n_fft = v;
            stft.win_length = v;
        }
        if let Some(v) = self.win_length {
            stft.win_length = v;
        }
        if let Some(v) = self.hop {
            stft.hop_length = v;
        }
        if let Some(v) = self.window {
            stft.window = v.into();
        }
        if let Some(v) = self.center {
            stft.center = v;
        }
        if let Some(v) = self.pad_mode {
            stft.pad_mode = v.into();
        }
        if let Some(v) = self.power {
            stft.power = v;
        }
        self.resolve_mel(&mut cfg)?;
        self.resolve_scale(&mut cfg)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// `n_mels` (0: none; unset: the default's) and the mel keys that need it.
    fn resolve_mel(&self, cfg: &mut FeatureConfig) -> Result<(), FeatureKeyError> {
        let mel = &mut cfg.spectrogram.mel;
        match self.n_mels {
            Some(0) => *mel = None,
            Some(n_mels) => {
                *mel = Some(MelConfig {
                    n_mels,
                    ..mel.clone().unwrap_or_default()
                })
            }
            None => {}
        }
        let Some(m) = mel.as_mut() else {
            let given = [
                ("f_min", self.f_min.is_some()),
                ("f_max", self.f_max.is_some()),
                ("mel_scale", self.mel_scale.is_some()),
                ("mel_norm", self.mel_norm.is_some()),
            ];
            return match given.iter().find(|(_, set)| *set) {
                Some((key, _)) => Err(FeatureKeyError::NotApplicable {
                    key,
                    needs: "to a mel spectrogram: it needs n_mels > 0".into(),
                }),
                None => Ok(()),
            };
        };
        if let Some(v) = self.f_min {
            m.f_min = v;
        }
        if let Some(v) = self.f_max {
            m.f_max = Some(v);
        }
        if let Some(v) = self.mel_scale {
            m.scale = v.into();
        }
        if let Some(v) = self.mel_norm {
            m.norm = v.into();
        }
        Ok(())
    }

    /// `scale` (unset: the default's) and its parameters `top_db` and `ln_eps`.
    fn resolve_scale(&self, cfg: &mut FeatureConfig) -> Result<(), FeatureKeyError> {
        let base = cfg.spectrogram.scale;
        let name = self.scale.unwrap_or_else(|| scale_name(base));
        let not_for = |key: &'static str, wants: ScaleName| FeatureKeyError::NotApplicable {
            key,
            needs: format!(
                "to scale = \"{}\" (the scale is \"{}\")",
                wants.as_str(),
                name.as_str()
            ),
        };
        if self.top_db.is_some() && name != ScaleName::Db {
            return Err(not_for("top_db", ScaleName::Db));
        }
        if self.ln_eps.is_some() && name != ScaleName::Ln {
            return Err(not_for("ln_eps", ScaleName::Ln));
        }
        cfg.spectrogram.scale = match (name, base) {
            (ScaleName::Db, Scale::Db { top_db }) => Scale::Db {
                top_db: self.top_db.or(top_db),
            },
            (ScaleName::Db, _) => Scale::Db {
                top_db: self.top_db,
            },
            (ScaleName::Ln, Scale::Ln { eps }) => Scale::Ln {
                eps: self.ln_eps.unwrap_or(eps),
            },
            (ScaleName::Ln, _) => Scale::Ln {
                eps: self.ln_eps.unwrap_or(DEFAULT_LN_EPS),
            },
            (ScaleName::Power, _) => Scale::Power,
        };
        Ok(())
    }
}

/// The name of a scale variant.
fn scale_name(s: Scale) -> ScaleName {
    match s {
        Scale::Db { .. } => ScaleName::Db,
        Scale::Ln { .. } => ScaleName::Ln,
        Scale::Power => ScaleName::Power,
    }
}

impl From<&FeatureConfig> for FeatureKeys {
    /// Every key that applies to `cfg` (the mel keys only with a mel filterbank, `top_db` only
    /// when set, `ln_eps` only for `scale = "ln"`); `seconds` is 0 for clips of their own length.
    fn from(cfg: &FeatureConfig) -> Self {
        let stft = &cfg.spectrogram.stft;
        let mel = cfg.spectrogram.mel.as_ref();
        let scale = cfg.spectrogram.scale;
        FeatureKeys {
            sample_rate: Some(cfg.sample_rate),
            seconds: Some(cfg.seconds.unwrap_or(0.0)),
            waveform_norm: Some(cfg.waveform_norm),
            n_fft: Some(stft.n_fft),
            win_length: Some(stft.win_length),
            hop: Some(stft.hop_length),
            window: Some(stft.window.into()),
            center: Some(stft.center),
            pad_mode: Some(stft.pad_mode.into()),
            power: Some(stft.power),
            n_mels: Some(mel.map_or(0, |m| m.n_mels)),
            f_min: mel.map(|m| m.f_min),
            f_max: mel.and_then(|m| m.f_max),
            mel_scale: mel.map(|m| m.scale.into()),
            mel_norm: mel.map(|m| m.norm.into()),
            scale: Some(scale_name(scale)),
            top_db: match scale {
                Scale::Db { top_db } => top_db,
                _ => None,
            },
            ln_eps: match scale {
                Scale::Ln { eps } => Some(eps),
                _ => None,
            },
        }
    }
}

impl From<FeatureConfig> for FeatureKeys {
    fn from(cfg: FeatureConfig) -> Self {
        Self::from(&cfg)
    }
}

impl TryFrom<&FeatureKeys> for FeatureConfig {
    type Error = FeatureKeyError;

    /// [`FeatureKeys::resolve`].
    fn try_from(keys: &FeatureKeys) -> Result<Self, Self::Error> {
        keys.resolve()
    }
}

impl TryFrom<FeatureKeys> for FeatureConfig {
    type Error = FeatureKeyError;

    /// [`FeatureKeys::resolve`].
    fn try_from(keys: FeatureKeys) -> Result<Self, Self::Error> {
        keys.resolve()
    }
}

#[cfg(test)]
mod tests;
