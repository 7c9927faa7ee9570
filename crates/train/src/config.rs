//! Training hyper-parameters ([`TrainConfig`]) and what a run reports ([`EpochMetrics`],
//! [`History`]).

use tch::Device;

use crate::batches::DataPlacement;
use crate::TrainError;

/// Training hyper-parameters (fastai defaults in [`TrainConfig::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Number of epochs.
    pub epochs: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// Batch size (64).
    pub batch_size: usize,
    /// Seed for init (`tch::manual_seed`), shuffling and mixup (ChaCha8).
    pub seed: u64,
    /// MixUp Beta(α, α) parameter (fastai: 0.4), `None` = no mixup.
    pub mixup: Option<f64>,
    /// Label smoothing ε (0 = plain cross-entropy).
    pub label_smoothing: f64,
    /// Decoupled weight decay (0.01).
    pub weight_decay: f64,
    /// Device.
    pub device: Device,
    /// libtorch intra-op threads (`tch::set_num_threads`), `None` = leave as is.
    pub threads: Option<usize>,
    /// Where the training and validation sets are kept during the run (default
    /// [`DataPlacement::Auto`]: uploaded once when they fit).
    pub placement: DataPlacement,
    /// Train with the conv weights and inputs in channels-last memory format (NHWC strides;
    /// same values, libtorch picks its channels-last kernels). The model stays channels-last
    /// afterwards ([`Model::set_channels_last`](crate::Model::set_channels_last) switches back).
    pub channels_last: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            lr: 2e-3,
            batch_size: 64,
            seed: 0,
            mixup: None,
            label_smoothing: 0.0,
            weight_decay: 0.01,
            device: crate::default_device(),
            threads: None,
            placement: DataPlacement::Auto,
            channels_last: false,
        }
    }
}

impl TrainConfig {
    pub(crate) fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::InvalidConfig(m));
        if self.batch_size == 0 {
            return bad("batch_size must be >= 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be finite and > 0, got {}", self.lr));
        }
        if !(self.label_smoothing.is_finite() && (0.0..1.0).contains(&self.label_smoothing)) {
            return bad(format!(
                "label_smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "weight_decay must be finite and >= 0, got {}",
                self.weight_decay
            ));
        }
        if let Some(a) = self.mixup {
            if !(a.is_finite() && a > 0.0) {
                return bad(format!("mixup alpha must be finite and > 0, got {a}"));
            }
        }
        if self.threads == Some(0) {
            return bad("threads must be >= 1".into());
        }
        Ok(())
    }

    pub(crate) fn apply_threads(&self) {
        if let Some(n) = self.threads {
            tch::set_num_threads(n.min(i32::MAX as usize) as i32);
        }
    }
}

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// 0-based epoch index.
    pub epoch: usize,
    /// fastai's smoothed training loss at the end of the epoch (EMA β=0.98, debiased, over
    /// all steps so far), i.e. the `train_loss` column fastai prints.
    pub train_loss: f64,
    /// Mean validation loss (same loss function as training, without mixup).
    pub valid_loss: f64,
    /// Validation accuracy in `[0, 1]`.
    pub accuracy: f64,
    /// Wall time of the epoch (training + validation).
    pub seconds: f64,
}

/// Result of [`fit_one_cycle`].
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// Per-epoch metrics.
    pub epochs: Vec<EpochMetrics>,
    /// Total wall time.
    pub seconds: f64,
    /// Training throughput: samples processed by optimizer steps / time spent in the
    /// training phases (batch gathering, transfer when not resident, forward, backward and
    /// the optimizer step; not the one-off upload of a resident set).
    pub samples_per_sec: f64,
    /// Whether the training set was uploaded to the device once ([`DataPlacement`]).
    pub resident: bool,
}
