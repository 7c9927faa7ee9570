//! How fast each setting learns: mean validation accuracy per epoch, a paired comparison of
//! every pair of settings at every epoch (Holm-corrected within the epoch), and the epochs and
//! seconds each run needed to reach [`TARGET_FRACTION`] of the best setting's mean final
//! accuracy. Normalization often changes how fast a model learns more than where it ends.

use serde::{Deserialize, Serialize};

use super::pairs::{adjust_family, test_pair_by};
use super::{PairComparison, SettingSummary, Verdict};
use crate::results::RunRecord;
use crate::significance::{summarize as summarize_values, Summary};

/// The fraction of the best mean final accuracy that "converged" means.
pub const TARGET_FRACTION: f64 = 0.95;

/// One setting's learning curve and time to the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingCurve {
    /// Setting name.
    pub setting: String,
    /// Mean (and spread) of the validation accuracy after each epoch, over the runs that have
    /// that epoch; `None` where no run has it.
    pub accuracy: Vec<Option<Summary>>,
    /// Runs of the setting.
    pub runs: usize,
    /// Runs whose validation accuracy reached the target at some epoch.
    pub reached: usize,
    /// Epochs (1-based count) to the target, over the runs that reached it.
    pub epochs_to_target: Option<Summary>,
    /// Wall-clock seconds of those epochs, over the same runs.
    pub seconds_to_target: Option<Summary>,
}

/// The paired comparisons at one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochPairs {
    /// Epoch, 1-based.
    pub epoch: usize,
    /// Every pair of settings on the accuracy after this epoch (Holm over this epoch's pairs).
    pub pairs: Vec<PairComparison>,
}

/// Everything about convergence in `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// [`TARGET_FRACTION`].
    pub target_fraction: f64,
    /// The accuracy counted as converged: the fraction times the best mean final accuracy.
    pub target_accuracy: Option<f64>,
    /// One curve per setting, in report order.
    pub settings: Vec<SettingCurve>,
    /// Paired comparisons per epoch.
    pub epochs: Vec<EpochPairs>,
}

/// Epochs and seconds `run` took to reach `target`, if it did.
fn time_to(run: &RunRecord, target: f64) -> Option<(f64, f64)> {
    let mut seconds = 0.0;
    for (i, e) in run.epochs.iter().enumerate() {
        seconds += e.seconds;
        if e.accuracy >= target {
            return Some(((i + 1) as f64, seconds));
        }
    }
    None
}

fn curve(runs: &[&RunRecord], setting: &str, n_epochs: usize, target: Option<f64>) -> SettingCurve {
    let accuracy = (0..n_epochs)
        .map(|e| {
            let vals: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.epochs.get(e).map(|m| m.accuracy))
                .filter(|v| v.is_finite())
                .collect();
            summarize_values(&vals)
        })
        .collect();
    let times: Vec<(f64, f64)> = target
        .map(|t| runs.iter().filter_map(|r| time_to(r, t)).collect())
        .unwrap_or_default();
    let epochs: Vec<f64> = times.iter().map(|t| t.0).collect();
    let seconds: Vec<f64> = times.iter().map(|t| t.1).collect();
    SettingCurve {
        setting: setting.to_string(),
        accuracy,
        runs: runs.len(),
        reached: times.len(),
        epochs_to_target: summarize_values(&epochs),
        seconds_to_target: summarize_values(&seconds),
    }
}

/// Convergence of the settings `names` (report order) from their runs; `settings` gives the
/// mean final accuracies that set the target.
pub fn convergence(
    runs: &[RunRecord],
    names: &[String],
    settings: &[SettingSummary],
) -> Convergence {
    let best = settings
        .iter()
        .filter_map(|s| s.accuracy.map(|a| a.mean))
        .fold(None, |acc: Option<f64>, m| {
            Some(acc.map_or(m, |a| a.max(m)))
        });
    let target = best.map(|b| TARGET_FRACTION * b);
    let n_epochs = runs.iter().map(|r| r.epochs.len()).max().unwrap_or(0);
    let curves = names
        .iter()
        .map(|name| {
            let mine: Vec<&RunRecord> = runs.iter().filter(|r| &r.setting == name).collect();
            curve(&mine, name, n_epochs, target)
        })
        .collect();
    let epochs = (0..n_epochs)
        .map(|e| {
            let mut pairs = Vec::new();
            for (i, a) in names.iter().enumerate() {
                for b in &names[i + 1..] {
                    pairs.push(test_pair_by(runs, a, b, |r| {
                        r.epochs.get(e).map(|m| m.accuracy)
                    }));
                }
            }
            adjust_family(&mut pairs);
            EpochPairs {
                epoch: e + 1,
                pairs,
            }
        })
        .collect();
    Convergence {
        target_fraction: TARGET_FRACTION,
        target_accuracy: target,
        settings: curves,
        epochs,
    }
}

impl EpochPairs {
    /// "a > b" for every pair distinguishable at this epoch (Holm), the higher setting first.
    pub fn separated(&self) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|p| p.verdict == Verdict::Distinguishable)
            .map(|p| {
                if p.mean_diff >= 0.0 {
                    format!("{} > {}", p.a, p.b)
                } else {
                    format!("{} > {}", p.b, p.a)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fixed, order};
    use super::super::summarize;
    use super::*;

    #[test]
    fn curves_targets_and_per_epoch_tests() {
        let runs = fixed();
        let s = summarize(&runs, &order());
        let c = &s.convergence;
        // Best mean final accuracy: channel 0.814.
        assert!((c.target_accuracy.unwrap() - 0.95 * 0.814).abs() < 1e-12);
        assert_eq!(c.settings.len(), 3);
        assert_eq!(c.epochs.len(), 3);
        let ch = &c.settings[2];
        assert_eq!(ch.setting, "channel");
        // Fixture accuracy at epoch e (0-based) is final * (e + 1) / 3.
        let e1 = ch.accuracy[0].unwrap();
        assert!((e1.mean - 0.814 / 3.0).abs() < 1e-12);
        // Only the last epoch is >= 0.7733: runs whose final accuracy is >= the target reach
        // it there, after 3 epochs of 1 s each.
        let reached = runs
            .iter()
            .filter(|r| r.setting == "channel" && r.final_accuracy >= 0.95 * 0.814)
            .count();
        assert_eq!((ch.runs, ch.reached), (5, reached));
        let ep = ch.epochs_to_target.unwrap();
        assert_eq!((ep.mean, ep.std), (3.0, 0.0));
        assert_eq!(ch.seconds_to_target.unwrap().mean, 3.0);
        // global's best run is 0.80 >= 0.7733, so it reaches the target once or more.
        assert!(c.settings[1].reached >= 1);
        // The last epoch's paired tests are the final-accuracy comparisons (up to the rounding
        // of final * 3 / 3).
        for (at_last, fin) in c.epochs[2].pairs.iter().zip(&s.pairs) {
            assert_eq!(at_last.verdict, fin.verdict);
            assert!((at_last.p_holm.unwrap() - fin.p_holm.unwrap()).abs() < 1e-9);
        }
        // Epoch 1 scales every difference by 1/3, so p-values are the same as the final ones.
        let gc1 = &c.epochs[0].pairs[2];
        assert_eq!((gc1.a.as_str(), gc1.b.as_str()), ("global", "channel"));
        assert!((gc1.p_value.unwrap() - s.pairs[2].p_value.unwrap()).abs() < 1e-9);
        assert!(c.epochs[2].separated().is_empty());
    }

    #[test]
    fn nothing_reached_and_no_runs() {
        let c = convergence(&[], &order(), &[]);
        assert_eq!(c.target_accuracy, None);
        assert!(c.epochs.is_empty());
        assert!(c
            .settings
            .iter()
            .all(|s| s.runs == 0 && s.epochs_to_target.is_none()));
    }
}
