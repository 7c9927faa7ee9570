//! Plain data records of finished runs, shared by the runner and the report.

use serde::{Deserialize, Serialize};

/// Serde helpers that write a non-finite `f64` as `null` and read `null` back
/// as NaN, so that a diverged metric never makes a run file unreadable.
mod lenient_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Metrics after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch index, 0-based.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    #[serde(with = "lenient_f64")]
    pub train_loss: f64,
    /// Validation loss after the epoch.
    #[serde(with = "lenient_f64")]
    pub valid_loss: f64,
    /// Validation accuracy (0..1) after the epoch.
    #[serde(with = "lenient_f64")]
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
    #[serde(with = "lenient_f64")]
    pub final_accuracy: f64,
    /// Validation loss after the last epoch.
    #[serde(with = "lenient_f64")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_metrics_round_trip_as_null() {
        let m = EpochMetrics {
            epoch: 0,
            train_loss: 1.5,
            valid_loss: f64::NAN,
            accuracy: 0.25,
            seconds: 2.0,
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"epoch":0,"train_loss":1.5,"valid_loss":null,"accuracy":0.25,"seconds":2.0}"#
        );
        let back: EpochMetrics = serde_json::from_str(&json).unwrap();
        assert!(back.valid_loss.is_nan());
        assert_eq!((back.train_loss, back.accuracy), (1.5, 0.25));
        assert_eq!(run_key("channel", 3, 7), "channel_f3_s7");
    }
}
