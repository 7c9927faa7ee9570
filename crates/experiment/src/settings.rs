//! The compared normalization settings and how each one turns audio into the
//! network's input.
//!
//! | setting | waveform norm | spectrogram | spectrogram normalization |
//! |---|---|---|---|
//! | `none` | no | dB | none |
//! | `waveform` | yes | dB | none |
//! | `global` | yes | dB | one mean/std from the training folds |
//! | `channel` | yes | dB | one mean/std per frequency bin from the training folds |
//! | `instance` | yes | dB | each spectrogram by its own mean/std |
//! | `pcen` | yes | power | PCEN instead of dB |
//! | `pcen-learned` | yes | power | none: PCEN is the network's first layer, trained with it |
//!
//! Features are computed once per [`FeatureVariant`] (waveform norm on/off ×
//! dB/power) and kept in memory; [`fit_normalizer`] derives a setting's
//! [`Normalizer`] for one validation fold from the *training* clips only and
//! goes through [`Normalizer::for_validation_fold`], which refuses statistics
//! whose provenance includes the validation fold.

use std::collections::BTreeSet;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use specnorm_features::FeatureConfig;
use specnorm_norm::{NormError, Normalizer, PcenConfig};
use specnorm_pipeline::{Axes, SpectrogramStats};
use specnorm_stats::{Provenance, Stats, StatsError};

/// Spectrogram-level normalization of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecNorm {
    /// Leave the dB values as they are.
    None,
    /// Scalar mean/std of the training folds.
    Global,
    /// Per-frequency-bin mean/std of the training folds.
    PerChannel,
    /// Each spectrogram by its own statistics.
    PerInstance,
    /// Per-channel energy normalization of the power spectrogram.
    Pcen,
    /// A trainable PCEN layer in front of the network (per-channel α, δ, r and smoothing,
    /// initialized at librosa's defaults): the features stay power, the network normalizes.
    PcenLearned,
}

/// Which features a setting needs: computed once per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeatureVariant {
    /// Waveform normalization before the STFT.
    pub waveform_norm: bool,
    /// Power spectrogram (for PCEN) instead of dB.
    pub power: bool,
}

impl FeatureVariant {
    /// The feature configuration of this variant, derived from `base` (whose
    /// `waveform_norm` and `spectrogram.scale` are overridden).
    pub fn feature_config(&self, base: &FeatureConfig) -> FeatureConfig {
        let mut cfg = base.clone();
        cfg.waveform_norm = self.waveform_norm;
        if self.power {
            cfg.spectrogram.scale = specnorm_dsp::Scale::Power;
        } else if cfg.spectrogram.scale == specnorm_dsp::Scale::Power {
            cfg.spectrogram.scale = specnorm_dsp::Scale::default();
        }
        cfg
    }

    /// Short label, e.g. `wavenorm+db`.
    pub fn label(&self) -> &'static str {
        match (self.waveform_norm, self.power) {
            (false, false) => "raw+db",
            (true, false) => "wavenorm+db",
            (false, true) => "raw+power",
            (true, true) => "wavenorm+power",
        }
    }
}

/// One compared setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Setting {
    /// Name used on the command line, in file names and in the report.
    pub name: &'static str,
    /// Waveform normalization before the STFT.
    pub waveform_norm: bool,
    /// Spectrogram normalization.
    pub spec_norm: SpecNorm,
    /// One-line description.
    pub description: &'static str,
}

/// The name of the setting with the trainable PCEN layer.
pub const PCEN_LEARNED: &str = "pcen-learned";

/// Every setting, in report order.
pub const ALL: [Setting; 7] = [
    Setting {
        name: "none",
        waveform_norm: false,
        spec_norm: SpecNorm::None,
        description: "raw dB spectrogram, no normalization at all",
    },
    Setting {
        name: "waveform",
        waveform_norm: true,
        spec_norm: SpecNorm::None,
        description: "waveform normalized to zero mean / unit std, dB spectrogram as is",
    },
    Setting {
        name: "global",
        waveform_norm: true,
        spec_norm: SpecNorm::Global,
        description: "waveform norm + one mean/std over the training folds",
    },
    Setting {
        name: "channel",
        waveform_norm: true,
        spec_norm: SpecNorm::PerChannel,
        description: "waveform norm + one mean/std per frequency bin over the training folds",
    },
    Setting {
        name: "instance",
        waveform_norm: true,
        spec_norm: SpecNorm::PerInstance,
        description: "waveform norm + each spectrogram by its own mean/std",
    },
    Setting {
        name: "pcen",
        waveform_norm: true,
        spec_norm: SpecNorm::Pcen,
        description: "waveform norm + PCEN of the power spectrogram instead of dB",
    },
    Setting {
        name: PCEN_LEARNED,
        waveform_norm: true,
        spec_norm: SpecNorm::PcenLearned,
        description: "waveform norm + a trainable PCEN layer (per-channel parameters, \
                      librosa's defaults at the start) in front of the network",
    },
];

/// Epsilon added to the per-instance std.
pub const INSTANCE_EPS: f32 = 1e-6;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Unknown setting name.
    #[error(
        "unknown setting {0:?}; known: none, waveform, global, channel, instance, pcen, \
         pcen-learned"
    )]
    Unknown(String),
    /// No training clip to compute statistics on.
    #[error("no training clips to compute normalization statistics for validation fold {0}")]
    NoTrainingData(u32),
    /// Statistics accumulation failed.
    #[error(transparent)]
    Stats(#[from] StatsError),
    /// Normalizer construction or application failed (including the leakage guard).
    #[error(transparent)]
    Norm(#[from] NormError),
}

/// Looks a setting up by name (`per_channel` and `per_instance` are accepted
/// as aliases of `channel` and `instance`).
pub fn by_name(name: &str) -> Result<Setting, SettingsError> {
    let canonical = match name.trim().to_ascii_lowercase().as_str() {
        "per_channel" | "per-channel" => "channel".to_string(),
        "per_instance" | "per-instance" => "instance".to_string(),
        "pcen_learned" => "pcen-learned".to_string(),
        other => other.to_string(),
    };
    ALL.iter()
        .copied()
        .find(|s| s.name == canonical)
        .ok_or_else(|| SettingsError::Unknown(name.to_string()))
}

/// Parses a list of names (e.g. from `--settings a,b`), rejecting unknown ones
/// and dropping duplicates; `"all"` means [`ALL`].
pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<Setting>, SettingsError> {
    let mut out: Vec<Setting> = Vec::new();
    for n in names {
        if n.as_ref().trim() == "all" {
            for s in ALL {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            continue;
        }
        let s = by_name(n.as_ref())?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// One value of a settings list (`--settings a,b`): a setting or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingChoice {
    /// Every setting ([`ALL`]).
    All,
    /// One setting.
    One(Setting),
}

impl SettingChoice {
    /// Every choice: `all`, then [`ALL`] in report order.
    pub const CHOICES: [SettingChoice; ALL.len() + 1] = {
        let mut out = [SettingChoice::All; ALL.len() + 1];
        let mut i = 0;
        while i < ALL.len() {
            out[i + 1] = SettingChoice::One(ALL[i]);
            i += 1;
        }
        out
    };

    /// The name [`parse_list`] accepts for it.
    pub fn name(&self) -> &'static str {
        match self {
            SettingChoice::All => "all",
            SettingChoice::One(s) => s.name,
        }
    }
}

/// `--settings` lists its values with the descriptions of [`ALL`] (and the
/// `per_channel` / `per_instance` aliases of [`by_name`]).
#[cfg(feature = "clap")]
impl clap::ValueEnum for SettingChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::CHOICES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let v = clap::builder::PossibleValue::new(self.name());
        Some(match self {
            SettingChoice::All => v.help("every setting below"),
            SettingChoice::One(s) => {
                let v = v.help(s.description);
                match s.spec_norm {
                    SpecNorm::PerChannel => v.aliases(["per_channel", "per-channel"]),
                    SpecNorm::PerInstance => v.aliases(["per_instance", "per-instance"]),
                    SpecNorm::PcenLearned => v.alias("pcen_learned"),
                    _ => v,
                }
            }
        })
    }
}

impl Setting {
    /// The features this setting is computed from.
    pub fn variant(&self) -> FeatureVariant {
        FeatureVariant {
            waveform_norm: self.waveform_norm,
            power: matches!(self.spec_norm, SpecNorm::Pcen | SpecNorm::PcenLearned),
        }
    }

    /// Whether the network carries a trainable PCEN front layer (the setting's features reach
    /// it as power spectrograms, normalized by nothing before it).
    pub fn learned_pcen(&self) -> bool {
        self.spec_norm == SpecNorm::PcenLearned
    }

    /// Whether the setting needs training-fold statistics.
    pub fn needs_stats(&self) -> bool {
        matches!(self.spec_norm, SpecNorm::Global | SpecNorm::PerChannel)
    }
}

/// PCEN parameters matching a feature configuration (sample rate and hop
/// taken from it, librosa defaults otherwise): the `pcen` setting's, and the initial values of
/// `pcen-learned`'s layer.
pub fn pcen_config(features: &FeatureConfig) -> PcenConfig {
    PcenConfig {
        sample_rate: features.sample_rate,
        hop_length: features.spectrogram.stft.hop_length,
        ..PcenConfig::default()
    }
}

/// One training spectrogram `[F, T]` and the fold it comes from.
pub type FoldClip<'a> = (u32, ArrayView2<'a, f32>);

/// Accumulates global or per-channel statistics over `[F, T]` training
/// spectrograms (viewed as `[1, 1, F, T]` batches). The provenance folds are the
/// folds of the clips accumulated, so statistics can only claim the folds they saw.
pub fn training_stats(
    per_channel: bool,
    train: &[FoldClip<'_>],
    dataset: &str,
    features: &FeatureConfig,
) -> Result<Stats, SettingsError> {
    let mut acc = SpectrogramStats::new();
    acc.extend(train.iter().map(|(_, x)| x.view()))?;
    let stats = acc.stats(if per_channel {
        Axes::Channel
    } else {
        Axes::Global
    })?;
    let folds: BTreeSet<u32> = train.iter().map(|(f, _)| *f).collect();
    Ok(stats.with_provenance(Provenance {
        dataset: dataset.to_string(),
        folds: folds.into_iter().collect(),
        clips: train.len() as u64,
        sample_fraction: 1.0,
        features: serde_json::to_value(features).unwrap_or(serde_json::Value::Null),
        note: Some(if per_channel { "per-channel" } else { "global" }.to_string()),
        ..Provenance::default()
    }))
}

/// The normalizer of `setting` for validation fold `valid_fold`, with the
/// statistics it was built from (global/channel only). Statistics come from
/// `train` (features of `setting.variant()` with their folds) and pass the
/// leakage guard [`Normalizer::for_validation_fold`]: a training set that
/// holds a clip of `valid_fold` is [`NormError::Leakage`].
pub fn fit_normalizer(
    setting: &Setting,
    train: &[FoldClip<'_>],
    valid_fold: u32,
    dataset: &str,
    features: &FeatureConfig,
) -> Result<(Normalizer, Option<Stats>), SettingsError> {
    match setting.spec_norm {
        SpecNorm::None | SpecNorm::PcenLearned => Ok((Normalizer::None, None)),
        SpecNorm::PerInstance => Ok((Normalizer::PerInstance { eps: INSTANCE_EPS }, None)),
        SpecNorm::Pcen => Ok((Normalizer::Pcen(pcen_config(features)), None)),
        SpecNorm::Global | SpecNorm::PerChannel => {
            if train.is_empty() {
                return Err(SettingsError::NoTrainingData(valid_fold));
            }
            let per_channel = setting.spec_norm == SpecNorm::PerChannel;
            let stats = training_stats(per_channel, train, dataset, features)?;
            let norm = Normalizer::for_validation_fold(&stats, valid_fold)?;
            Ok((norm, Some(stats)))
        }
    }
}

/// Applies `norm` to one `[F, T]` spectrogram (a copy is returned; the input
/// stays untouched so every setting starts from the same features).
pub fn apply(norm: &Normalizer, x: &Array2<f32>) -> Result<Array2<f32>, SettingsError> {
    let mut y = x.clone();
    norm.encode(y.view_mut())?;
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_follow_the_table() {
        let names: Vec<&str> = SettingChoice::CHOICES.iter().map(|c| c.name()).collect();
        assert_eq!(names[0], "all");
        let table: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        assert_eq!(names[1..], table[..]);
        assert_eq!(parse_list(&names).unwrap().len(), ALL.len());
    }

    #[test]
    fn names_and_variants() {
        let names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "none",
                "waveform",
                "global",
                "channel",
                "instance",
                "pcen",
                "pcen-learned"
            ]
        );
        assert_eq!(by_name("pcen_learned").unwrap().name, "pcen-learned");
        let learned = by_name("pcen-learned").unwrap();
        assert!(learned.learned_pcen() && !learned.needs_stats());
        assert_eq!(learned.variant(), by_name("pcen").unwrap().variant());
        assert_eq!(by_name("per_channel").unwrap().name, "channel");
        assert!(matches!(by_name("bogus"), Err(SettingsError::Unknown(_))));
        let list = parse_list(&["global", "none", "global"]).unwrap();
        assert_eq!(
            list.iter().map(|s| s.name).collect::<Vec<_>>(),
            ["global", "none"]
        );
        assert_eq!(parse_list(&["all"]).unwrap().len(), 7);
        assert_eq!(
            by_name("none").unwrap().variant(),
            FeatureVariant {
                waveform_norm: false,
                power: false
            }
        );
        assert_eq!(
            by_name("pcen").unwrap().variant(),
            FeatureVariant {
                waveform_norm: true,
                power: true
            }
        );
        let variants: std::collections::BTreeSet<_> = ALL.iter().map(|s| s.variant()).collect();
        assert_eq!(variants.len(), 3);
        let base = FeatureConfig::default();
        let pc = by_name("pcen").unwrap().variant().feature_config(&base);
        assert_eq!(pc.spectrogram.scale, specnorm_dsp::Scale::Power);
        let raw = by_name("none").unwrap().variant().feature_config(&pc);
        assert!(!raw.waveform_norm);
        assert_eq!(raw.spectrogram.scale, specnorm_dsp::Scale::default());
    }

    fn clips() -> Vec<Array2<f32>> {
        (0..4)
            .map(|i| Array2::from_shape_fn((3, 5), |(f, t)| (10 * f + t + i) as f32))
            .collect()
    }

    #[test]
    fn global_and_channel_stats_come_from_training_clips() {
        let c = clips();
        // Folds 2, 3, 2, 3.
        let train: Vec<FoldClip<'_>> = c
            .iter()
            .enumerate()
            .map(|(i, x)| (2 + i as u32 % 2, x.view()))
            .collect();
        let cfg = FeatureConfig::default();
        let (n, stats) = fit_normalizer(&by_name("global").unwrap(), &train, 1, "t", &cfg).unwrap();
        let stats = stats.unwrap();
        assert_eq!(stats.provenance.folds, vec![2, 3]);
        assert_eq!(stats.provenance.clips, 4);
        // Mean over f in 0..3, t in 0..5, i in 0..4 of 10f + t + i = 10 + 2 + 1.5.
        match n {
            Normalizer::Global { mean, .. } => assert!((mean - 13.5).abs() < 1e-5),
            other => panic!("{other:?}"),
        }
        let (n, _) = fit_normalizer(&by_name("channel").unwrap(), &train, 1, "t", &cfg).unwrap();
        match &n {
            Normalizer::PerChannel { mean, .. } => {
                assert_eq!(mean.len(), 3);
                assert!((mean[2] - 23.5).abs() < 1e-5);
            }
            other => panic!("{other:?}"),
        }
        let y = apply(&n, &c[0]).unwrap();
        assert_eq!(y.dim(), (3, 5));
        // The leakage guard: one clip of the validation fold among the training
        // clips puts fold 1 into the provenance, and the statistics are refused.
        let mut leaky = train.clone();
        leaky[0].0 = 1;
        for name in ["global", "channel"] {
            let leak = fit_normalizer(&by_name(name).unwrap(), &leaky, 1, "t", &cfg);
            assert!(
                matches!(leak, Err(SettingsError::Norm(NormError::Leakage(_)))),
                "{name}: {leak:?}"
            );
        }
        let empty = fit_normalizer(&by_name("global").unwrap(), &[], 1, "t", &cfg);
        assert!(matches!(empty, Err(SettingsError::NoTrainingData(1))));
    }

    #[test]
    fn stat_free_settings() {
        let cfg = FeatureConfig::default();
        let (n, s) = fit_normalizer(&by_name("instance").unwrap(), &[], 1, "t", &cfg).unwrap();
        assert!(s.is_none());
        let y = apply(&n, &clips()[0]).unwrap();
        assert!(y.mean().unwrap().abs() < 1e-5);
        let (p, _) = fit_normalizer(&by_name("pcen").unwrap(), &[], 1, "t", &cfg).unwrap();
        let json = |n: &Normalizer| serde_json::to_value(specnorm_norm::NormSpec::from(n.clone()));
        assert_eq!(json(&p).unwrap()["hop_length"], 200);
        assert_eq!(json(&p).unwrap()["sample_rate"], 16000);
        assert_eq!(json(&Normalizer::None).unwrap()["kind"], "none");
        // pcen-learned: nothing before the network, whose first layer is the PCEN.
        let (l, s) = fit_normalizer(&by_name("pcen-learned").unwrap(), &[], 1, "t", &cfg).unwrap();
        assert_eq!(l, Normalizer::None);
        assert!(s.is_none());
        let c = clips();
        assert_eq!(apply(&l, &c[1]).unwrap(), c[1]);
    }
}
