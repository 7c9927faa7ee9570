//! Stage 1, the plan: the configuration, its validation into a [`Plan`], the
//! configuration hash and the output folder that belongs to it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use specnorm_features::FeatureConfig;
use specnorm_train::ModelKind;

use super::dataset::DataIndex;
use super::error::{io_err, json_err, read_json, write_json, ExperimentError};
use crate::settings::{self, Setting};

/// Version of the run-file format and of the hashed configuration.
const RUNNER_VERSION: u32 = 1;

/// Everything the experiment needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Dataset root, read with [`ExperimentConfig::layout`].
    pub data_root: PathBuf,
    /// How the dataset is laid out (ESC-50 by default). Part of the dataset fingerprint, so
    /// runs of different layouts (ESC-10 vs ESC-50, other columns) never share a folder.
    #[serde(default)]
    pub layout: specnorm_folds::Layout,
    /// Read metadata entries that resolve outside the dataset's audio folder.
    #[serde(default)]
    pub allow_outside_root: bool,
    /// Output directory (created if missing).
    pub out_dir: PathBuf,
    /// Setting names (see [`crate::settings::ALL`]), in report order.
    pub settings: Vec<String>,
    /// Number of seeds per (setting, fold): seeds `0..runs`.
    pub runs: u64,
    /// Validation folds: one for a single split, all of them for cross-validation.
    pub valid_folds: Vec<u32>,
    /// Network.
    pub model: ModelKind,
    /// Epochs per run.
    pub epochs: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// Find each setting's learning rate instead (fastai's `lr_find` and `valley` on the
    /// training folds of the first validation fold, seed 0; `lr` is then unused). Cached in
    /// `lr_find/`, shown in the report's configuration.
    #[serde(default)]
    pub lr_find: bool,
    /// Batch size.
    pub batch_size: usize,
    /// `"auto"` (CUDA if available), `"cpu"`, `"cuda"` or `"cuda:N"`.
    pub device: String,
    /// MixUp Beta(α, α) parameter, `None` for no mixup.
    pub mixup: Option<f64>,
    /// Label smoothing ε (0 = plain cross-entropy).
    pub label_smoothing: f64,
    /// Base feature configuration; each setting overrides `waveform_norm`
    /// and the spectrogram scale (dB, or power for PCEN).
    pub features: FeatureConfig,
    /// libtorch intra-op threads, `None` to leave the default.
    pub threads: Option<usize>,
    /// Save the final checkpoint of every run.
    pub save_checkpoints: bool,
    /// Leave out clips that are missing or cannot be decoded (reported through
    /// [`Progress::Stage`](super::Progress::Stage) and [`ExperimentOutcome::skipped_clips`](super::ExperimentOutcome::skipped_clips)) instead
    /// of failing with [`ExperimentError::BadClips`]. Not part of the config
    /// hash; the names of the clips actually left out are (through the
    /// dataset fingerprint), so runs on different clip sets never mix.
    #[serde(default)]
    pub skip_bad: bool,
    /// Accept truncated clips (the header declares more audio than the file holds): decode
    /// the part present, list them ([`ExperimentOutcome::truncated_clips`](super::ExperimentOutcome::truncated_clips)).
    /// Without it each is a bad clip. Not in the config hash; the clips accepted are (through
    /// the dataset fingerprint).
    #[serde(default)]
    pub allow_truncated: bool,
    /// Export the best run of each setting to `onnx/<setting>.onnx` (needs
    /// `save_checkpoints`); outcomes in [`ExperimentOutcome::exports`](super::ExperimentOutcome::exports).
    /// Not done by a shard (the best run is known only after `specnorm report` merged them).
    #[serde(default)]
    pub export_onnx: bool,
    /// Run only this shard of the jobs: job `i` of the full list (settings in report order,
    /// then validation folds, then seeds) belongs to shard `i % N + 1`, so shards differ in
    /// size by at most one job and mix settings. Each shard needs its own `out_dir`;
    /// [`crate::report::merge_dirs`] joins them. Not part of the config hash.
    #[serde(default)]
    pub shard: Option<specnorm_pipeline::Shard>,
    /// On-disk feature cache folder (`crate::feature_cache`): clips are decoded and
    /// featurized one chunk at a time into memory-mapped files there (reused by later runs
    /// and by every setting that reads the same variant), instead of holding every waveform
    /// and every variant in memory. `None`: all in memory. Not part of the config hash (the
    /// features are the same, bit for bit).
    #[serde(default)]
    pub feature_cache: Option<PathBuf>,
}

/// A named recipe: the settings compared and the training hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Settings compared, in report order (names of [`crate::settings::ALL`]).
    pub settings: &'static [&'static str],
    /// Seeds per (setting, fold).
    pub runs: u64,
    /// Network.
    pub model: ModelKind,
    /// Epochs per run.
    pub epochs: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// Batch size.
    pub batch_size: usize,
}

/// The blog's recipe ([`ExperimentConfig::new`]): its three settings, No Norm / Global /
/// Channel, all on normalized waveforms as fastaudio's pipeline had them (`waveform`, `global`,
/// `channel` here); 5 seeds of xresnet18, 20 epochs of one-cycle at lr 2e-3, batch size 64,
/// validation fold 1.
pub const BLOG: Preset = Preset {
    settings: &["waveform", "global", "channel"],
    runs: 5,
    model: ModelKind::XResNet18,
    epochs: 20,
    lr: 2e-3,
    batch_size: 64,
};

/// Minutes on a CPU ([`ExperimentConfig::quick`], the defaults of `specnorm
/// experiment`): every setting whose normalization happens before the network (all but
/// `pcen-learned`, which trains a PCEN layer and is asked for by name or with `all`), 3 seeds
/// of the small CNN, 6 epochs at lr 1e-2, batch size 64.
pub const QUICK: Preset = Preset {
    settings: &["none", "waveform", "global", "channel", "instance", "pcen"],
    runs: 3,
    model: ModelKind::Small,
    epochs: 6,
    lr: 1e-2,
    batch_size: 64,
};

impl ExperimentConfig {
    /// The blog's recipe ([`BLOG`]: its three settings and hyper-parameters), validation fold
    /// 1, no mixup, no label smoothing, default features (16 kHz, 5 s, STFT 400/200, dB),
    /// checkpoints and ONNX export on, device `auto`.
    pub fn new(data_root: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        Self::with_preset(data_root, out_dir, BLOG)
    }

    /// [`ExperimentConfig::new`] with the [`QUICK`] hyper-parameters.
    pub fn quick(data_root: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        Self::with_preset(data_root, out_dir, QUICK)
    }

    /// [`ExperimentConfig::new`] with `preset`'s hyper-parameters.
    pub fn with_preset(
        data_root: impl Into<PathBuf>,
        out_dir: impl Into<PathBuf>,
        preset: Preset,
    ) -> Self {
        Self {
            data_root: data_root.into(),
            layout: specnorm_folds::Layout::default(),
            allow_outside_root: false,
            out_dir: out_dir.into(),
            settings: preset.settings.iter().map(|s| s.to_string()).collect(),
            runs: preset.runs,
            valid_folds: vec![1],
            model: preset.model,
            epochs: preset.epochs,
            lr: preset.lr,
            lr_find: false,
            batch_size: preset.batch_size,
            device: "auto".into(),
            mixup: None,
            label_smoothing: 0.0,
            features: FeatureConfig::default(),
            threads: None,
            save_checkpoints: true,
            skip_bad: false,
            allow_truncated: false,
            export_onnx: true,
            shard: None,
            feature_cache: None,
        }
    }
}

/// The part of the configuration that decides what a run computes.
#[derive(Serialize)]
struct HashedConfig<'a> {
    runner_version: u32,
    dataset_fingerprint: String,
    model: &'a str,
    epochs: usize,
    lr: f64,
    /// Left out when false, so configurations from before the option keep their hash.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    lr_find: bool,
    batch_size: usize,
    mixup: Option<f64>,
    label_smoothing: f64,
    features: &'a FeatureConfig,
}

/// 64-bit FNV-1a, hex encoded: a stable (toolchain-independent) content hash.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A validated configuration: what the stages after it rely on.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The settings, in report order (at least one).
    pub settings: Vec<Setting>,
    /// Validation folds, sorted, without duplicates (at least one).
    pub valid_folds: Vec<u32>,
    /// The libtorch device.
    pub device: tch::Device,
}

impl Plan {
    /// Checks everything that can be checked without the dataset.
    pub fn new(cfg: &ExperimentConfig) -> Result<Self, ExperimentError> {
        let bad = |m: String| Err(ExperimentError::Config(m));
        let settings = settings::parse_list(&cfg.settings)?;
        if settings.is_empty() {
            return bad("no setting selected".into());
        }
        if cfg.runs == 0 || cfg.epochs == 0 || cfg.batch_size == 0 {
            return bad("runs, epochs and batch_size must be >= 1".into());
        }
        if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
            return bad(format!("lr must be finite and > 0, got {}", cfg.lr));
        }
        if !cfg.features.waveform_norm
            || cfg.features.spectrogram.scale == specnorm_dsp::Scale::Power
        {
            return bad(
                "the settings choose waveform normalization (`none` vs `waveform`) and the \
                 power spectrogram (`pcen`): leave waveform_norm on and the scale db or ln"
                    .into(),
            );
        }
        if cfg.allow_truncated && cfg.feature_cache.is_some() {
            return bad(
                "allow_truncated is not supported with a feature cache (its streaming decoder \
                 treats truncated clips as bad clips): drop one of them"
                    .into(),
            );
        }
        let mut valid_folds = cfg.valid_folds.clone();
        valid_folds.sort_unstable();
        valid_folds.dedup();
        if valid_folds.is_empty() {
            return bad("no validation fold selected".into());
        }
        Ok(Self {
            settings,
            valid_folds,
            device: parse_device(&cfg.device)?,
        })
    }

    /// Checks the validation folds against the dataset.
    pub fn check_folds(&self, index: &DataIndex) -> Result<(), ExperimentError> {
        if let Some(f) = self.valid_folds.iter().find(|f| !index.folds.contains(*f)) {
            return Err(ExperimentError::Config(format!(
                "validation fold {f} is not in the dataset (folds {:?})",
                index.folds
            )));
        }
        if index.folds.len() < 2 {
            return Err(ExperimentError::Config(
                "the dataset needs at least two folds".into(),
            ));
        }
        Ok(())
    }

    /// Setting names in report order.
    pub fn order(&self) -> Vec<String> {
        self.settings.iter().map(|s| s.name.to_string()).collect()
    }
}

/// The output folder of one configuration: `experiment.json` checked (a
/// different configuration hash is an error) and written, `runs/` and
/// `checkpoints/` created.
#[derive(Debug, Clone)]
pub(crate) struct OutputDir {
    /// The folder.
    pub root: PathBuf,
    /// `runs/`: one JSON file per finished run.
    pub runs: PathBuf,
    /// Hash of [`HashedConfig`].
    pub config_hash: String,
}

impl OutputDir {
    /// Hashes the configuration (with the dataset fingerprint) and claims
    /// `cfg.out_dir` for it.
    pub fn prepare(cfg: &ExperimentConfig, index: &DataIndex) -> Result<Self, ExperimentError> {
        let hashed = HashedConfig {
            runner_version: RUNNER_VERSION,
            dataset_fingerprint: index.fingerprint.clone(),
            model: cfg.model.as_str(),
            epochs: cfg.epochs,
            lr: cfg.lr,
            lr_find: cfg.lr_find,
            batch_size: cfg.batch_size,
            mixup: cfg.mixup,
            label_smoothing: cfg.label_smoothing,
            features: &cfg.features,
        };
        let hashed_json = serde_json::to_value(&hashed).map_err(json_err(&cfg.out_dir))?;
        let config_hash = fnv1a_hex(hashed_json.to_string().as_bytes());
        let root = cfg.out_dir.clone();
        let runs = root.join("runs");
        for d in [&root, &runs, &root.join("checkpoints")] {
            std::fs::create_dir_all(d).map_err(io_err(d))?;
        }
        let exp_path = root.join("experiment.json");
        if exp_path.exists() {
            let v: serde_json::Value = read_json(&exp_path)?;
            let found = v
                .get("config_hash")
                .and_then(|h| h.as_str())
                .unwrap_or("")
                .to_string();
            if found != config_hash {
                return Err(ExperimentError::ConfigMismatch {
                    path: exp_path,
                    expected: config_hash,
                    found,
                });
            }
        }
        write_json(
            &exp_path,
            &serde_json::json!({"config_hash": config_hash, "hashed": hashed_json, "config": cfg}),
        )?;
        Ok(Self {
            root,
            runs,
            config_hash,
        })
    }
}

fn parse_device(s: &str) -> Result<tch::Device, ExperimentError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(specnorm_train::default_device()),
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" | "gpu" => Ok(tch::Device::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .map(tch::Device::Cuda)
            .ok_or_else(|| {
                ExperimentError::Config(format!("unknown device {s:?} (auto, cpu, cuda, cuda:N)"))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a_hex(b""), "cbf29ce484222325");
        assert_eq!(fnv1a_hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a_hex(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn preset_settings_are_known_names() {
        for p in [BLOG, QUICK] {
            assert!(settings::parse_list(p.settings).is_ok(), "{:?}", p.settings);
        }
        // QUICK: every setting but the one that trains its normalization.
        let fixed: Vec<&str> = settings::ALL
            .iter()
            .filter(|s| !s.learned_pcen())
            .map(|s| s.name)
            .collect();
        assert_eq!(QUICK.settings, fixed.as_slice());
        assert_eq!(fixed.len() + 1, settings::ALL.len());
    }

    #[test]
    fn devices() {
        assert_eq!(parse_device("cpu").unwrap(), tch::Device::Cpu);
        assert_eq!(parse_device("cuda:1").unwrap(), tch::Device::Cuda(1));
        assert!(parse_device("tpu").is_err());
    }

    #[test]
    fn plan_rejects_what_cannot_run() {
        let cfg = ExperimentConfig::quick("d", "o");
        let plan = Plan::new(&cfg).unwrap();
        assert_eq!(plan.order().len(), 6);
        let blog = Plan::new(&ExperimentConfig::new("d", "o")).unwrap();
        assert_eq!(blog.order(), ["waveform", "global", "channel"]);
        let mut c = cfg.clone();
        c.valid_folds = vec![3, 1, 3];
        assert_eq!(Plan::new(&c).unwrap().valid_folds, [1, 3]);
        let mut own_lengths = cfg.clone();
        own_lengths.features.seconds = None;
        assert!(
            Plan::new(&own_lengths).is_ok(),
            "clips at their own lengths"
        );
        let changes: [fn(&mut ExperimentConfig); 6] = [
            |c| c.settings.clear(),
            |c| c.runs = 0,
            |c| c.lr = f64::NAN,
            |c| c.valid_folds.clear(),
            |c| c.device = "tpu".into(),
            |c| c.features.waveform_norm = false,
        ];
        for change in changes {
            let mut c = cfg.clone();
            change(&mut c);
            assert!(matches!(Plan::new(&c), Err(ExperimentError::Config(_))));
        }
    }
}
