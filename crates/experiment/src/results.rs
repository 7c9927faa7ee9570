//! Plain data records of finished runs, shared by the runner and the report.

use serde::{Deserialize, Serialize};

/// Metrics after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch index, 0-based.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Validation loss after the epoch.
    pub valid_loss: f64,
    /// Validation accuracy (0..1) after the epoch.
    pub accuracy: f64,
    /// Wall-clock seconds the epoch took (training + validation).
    pub seconds: f64,
}

/// One finished (setting, fold, seed) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Setting name (see [`crate::settings`]).
    pub setting: String,
    /// Validation fold (1-based).
    pub fold: u32,
    /// Seed of the model initialization and data order.
    pub seed: u64,
    /// Hash of the experiment configuration that produced the run.
    pub config_hash: String,
    /// Per-epoch metrics, in order.
    pub epochs: Vec<EpochMetrics>,
    /// Validation accuracy after the last epoch.
    pub final_accuracy: f64,
    /// Validation loss after the last epoch.
    pub final_valid_loss: f64,
    /// Wall-clock seconds of the whole run (training and evaluation).
    pub wall_time_s: f64,
    /// Checkpoint path, relative to the output directory, if one was saved.
    pub checkpoint: Option<String>,
}

impl RunRecord {
    /// The file stem used for this run: `<setting>_f<fold>_s<seed>`.
    pub fn key(&self) -> String {
        run_key(&self.setting, self.fold, self.seed)
    }
}

/// `<setting>_f<fold>_s<seed>`: the name of a run's files.
pub fn run_key(setting: &str, fold: u32, seed: u64) -> String {
    format!("{setting}_f{fold}_s{seed}")
}
