//! `specnorm.toml`: the configuration file of the command line. Two tables, both optional:
//!
//! ```toml
//! [features]          # the flat keys of specnorm_features::FeatureKeys
//! sample_rate = 8000
//! seconds = 1.0
//! n_mels = 40
//!
//! [experiment]        # ExperimentKeys
//! settings = ["none", "channel"]
//! model = "small"
//! epochs = 10
//! folds = [1, 2]
//! ```
//!
//! Unknown tables and keys are errors naming the file, the line and the key. The file is one
//! layer: flags override it key by key, and unset keys take the library defaults.
//!
//! ```
//! use specnorm_experiment::config_file::ConfigFile;
//! let f = ConfigFile::parse("[features]\nn_mels = 40\n[experiment]\nepochs = 3\n", "a.toml").unwrap();
//! assert_eq!((f.features.n_mels, f.experiment.epochs), (Some(40), Some(3)));
//! let e = ConfigFile::parse("[features]\nn_ftt = 512\n", "a.toml").unwrap_err().to_string();
//! assert!(e.starts_with("a.toml: ") && e.contains("unknown field `n_ftt`"), "{e}");
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specnorm_features::FeatureKeys;

use crate::settings::{self, SettingsError};

/// A parsed `specnorm.toml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// The `[features]` table.
    pub features: FeatureKeys,
    /// The `[experiment]` table.
    #[serde(skip_serializing_if = "ExperimentKeys::is_empty")]
    pub experiment: ExperimentKeys,
}

/// The `[experiment]` table: the training settings of `specnorm experiment`, each optional
/// (unset: the command's default). Each key names the `runner::ExperimentConfig` field it sets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentKeys {
    /// Setting names in report order (`settings`), checked against [`settings::ALL`]
    /// (`"all"` is every one).
    pub settings: Option<Vec<String>>,
    /// Network (`model`): `"small"` or `"xresnet18"` (checked where the network is built, by
    /// `specnorm_train::ModelKind::parse`; this crate has no libtorch without feature `train`).
    pub model: Option<String>,
    /// Epochs per run (`epochs`).
    pub epochs: Option<usize>,
    /// Peak learning rate of the one-cycle schedule (`lr`).
    pub lr: Option<f64>,
    /// Seeds per setting and fold (`runs`).
    pub runs: Option<u64>,
    /// Validation folds (`valid_folds`).
    pub folds: Option<Vec<u32>>,
    /// MixUp Beta(α, α) parameter (`mixup`).
    pub mixup: Option<f64>,
    /// Label smoothing ε (`label_smoothing`).
    pub label_smoothing: Option<f64>,
}

impl ExperimentKeys {
    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Sets the fields of `cfg` this table sets (one layer: call it on the preset's
    /// configuration, then apply the flags); `path` names the file in errors.
    #[cfg(feature = "train")]
    pub fn apply(
        &self,
        cfg: &mut crate::runner::ExperimentConfig,
        path: &Path,
    ) -> Result<(), ConfigFileError> {
        if let Some(s) = &self.settings {
            cfg.settings = s.clone();
        }
        if let Some(m) = &self.model {
            cfg.model =
                specnorm_train::ModelKind::parse(m).map_err(|_| ConfigFileError::Model {
                    path: path.into(),
                    name: m.clone(),
                })?;
        }
        cfg.epochs = self.epochs.unwrap_or(cfg.epochs);
        cfg.lr = self.lr.unwrap_or(cfg.lr);
        cfg.runs = self.runs.unwrap_or(cfg.runs);
        if let Some(f) = &self.folds {
            cfg.valid_folds = f.clone();
        }
        cfg.mixup = self.mixup.or(cfg.mixup);
        cfg.label_smoothing = self.label_smoothing.unwrap_or(cfg.label_smoothing);
        Ok(())
    }
}

/// A configuration file that cannot be used; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, an unknown table or key, or a value of the wrong type (the message gives the
    /// line and the key).
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error.
        source: toml::de::Error,
    },
    /// An unknown `[experiment] model`.
    #[error("{}: [experiment] model: unknown network {name:?} (small, xresnet18)", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// The name given.
        name: String,
    },
    /// An unknown name in `[experiment] settings`.
    #[error("{}: [experiment] settings: {source}", path.display())]
    Settings {
        /// The file.
        path: PathBuf,
        /// The settings error.
        source: SettingsError,
    },
}

impl ConfigFile {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks the text of a configuration file; `path` names it in errors.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, ConfigFileError> {
        let path = path.as_ref();
        let file: ConfigFile = toml::from_str(text).map_err(|source| ConfigFileError::Parse {
            path: path.into(),
            source,
        })?;
        if let Some(names) = &file.experiment.settings {
            settings::parse_list(names).map_err(|source| ConfigFileError::Settings {
                path: path.into(),
                source,
            })?;
        }
        Ok(file)
    }

    /// The file as TOML text (`[features]`, then `[experiment]` when it sets a key); unset
    /// keys are left out.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use specnorm_features::ScaleName;

    const FULL: &str = r#"
[features]
sample_rate = 8000
seconds = 1
n_mels = 40
scale = "log"

[experiment]
settings = ["none", "channel"]
model = "xresnet18"
epochs = 10
lr = 2e-3
runs = 5
folds = [1, 2, 3]
mixup = 0.4
label_smoothing = 0.1
"#;

    #[test]
    fn both_tables_parse_and_print_back() {
        let f = ConfigFile::parse(FULL, "specnorm.toml").unwrap();
        assert_eq!(f.features.sample_rate, Some(8000));
        assert_eq!(f.features.seconds, Some(1.0));
        assert_eq!(f.features.scale, Some(ScaleName::Ln));
        assert_eq!(
            f.experiment,
            ExperimentKeys {
                settings: Some(vec!["none".into(), "channel".into()]),
                model: Some("xresnet18".into()),
                epochs: Some(10),
                lr: Some(2e-3),
                runs: Some(5),
                folds: Some(vec![1, 2, 3]),
                mixup: Some(0.4),
                label_smoothing: Some(0.1),
            }
        );
        let text = f.to_toml().unwrap();
        assert!(text.contains("scale = \"ln\""), "{text}");
        assert_eq!(ConfigFile::parse(&text, "printed.toml").unwrap(), f);
    }

    #[test]
    fn an_empty_file_is_all_defaults_and_prints_no_experiment_table() {
        let f = ConfigFile::parse("", "empty.toml").unwrap();
        assert_eq!(f, ConfigFile::default());
        assert_eq!(f.to_toml().unwrap().trim(), "[features]");
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let err = |text: &str| {
            ConfigFile::parse(text, "conf/specnorm.toml")
                .unwrap_err()
                .to_string()
        };
        let e = err("[features]\nhop_length = 100\n");
        assert!(e.starts_with("conf/specnorm.toml: "), "{e}");
        assert!(
            e.contains("line 2") && e.contains("unknown field `hop_length`"),
            "{e}"
        );
        let e = err("[experiment]\nepoch = 3\n");
        assert!(e.contains("unknown field `epoch`"), "{e}");
        let e = err("[feature]\nn_fft = 512\n");
        assert!(
            e.contains("unknown field `feature`, expected `features` or `experiment`"),
            "{e}"
        );
        let e = err("[features]\nwindow = \"kaiser\"\n");
        assert!(
            e.contains(
                "unknown variant `kaiser`, expected one of `hann`, `hamming`, `rectangular`"
            ),
            "{e}"
        );
        let e = err("[experiment]\nsettings = [\"channel\", \"perchannel\"]\n");
        assert_eq!(
            e,
            "conf/specnorm.toml: [experiment] settings: unknown setting \"perchannel\"; known: \
             none, waveform, global, channel, instance, pcen, pcen-learned"
        );
        let e = err("[features\n");
        assert!(e.starts_with("conf/specnorm.toml: TOML parse error"), "{e}");
        let missing = ConfigFile::load(Path::new("/nonexistent/specnorm.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("/nonexistent/specnorm.toml: "),
            "{missing}"
        );
    }
}
