//! Paired comparisons of two settings: the paired t-test over the (fold, seed) runs both
//! finished, and for a family of comparisons (one report, or one epoch) Holm's correction and
//! what each pair could have detected.

use std::collections::BTreeMap;

use specnorm_analysis::power::{detectable_effect, runs_needed};

use super::{PairComparison, Verdict, ALPHA, MAX_RUNS, POWER, STATED_DIFFERENCE};
use crate::results::RunRecord;
use crate::significance::{holm, paired_t_test};

/// Paired comparison of settings `a` and `b` over their common (fold, seed) runs, as a family
/// of one comparison (no Holm adjustment).
pub fn compare(runs: &[RunRecord], a: &str, b: &str) -> PairComparison {
    let mut family = [test_pair(runs, a, b)];
    adjust_family(&mut family);
    let [pair] = family;
    pair
}

/// The paired t-test of `a` against `b` on the final accuracy; the verdict is final only for
/// untestable pairs, [`adjust_family`] sets the rest.
pub(crate) fn test_pair(runs: &[RunRecord], a: &str, b: &str) -> PairComparison {
    test_pair_by(runs, a, b, |r| Some(r.final_accuracy))
}

/// The paired t-test of `a` against `b` on `value` of each run, over the (fold, seed) pairs
/// both settings have a value for (before [`adjust_family`]).
pub(crate) fn test_pair_by(
    runs: &[RunRecord],
    a: &str,
    b: &str,
    value: impl Fn(&RunRecord) -> Option<f64>,
) -> PairComparison {
    let of = |s: &str| -> BTreeMap<(u32, u64), f64> {
        runs.iter()
            .filter(|r| r.setting == s)
            .filter_map(|r| value(r).map(|v| ((r.fold, r.seed), v)))
            .collect()
    };
    let (ma, mb) = (of(a), of(b));
    let (mut xa, mut xb) = (Vec::new(), Vec::new());
    for (k, va) in &ma {
        if let Some(vb) = mb.get(k) {
            xa.push(*va);
            xb.push(*vb);
        }
    }
    let test = paired_t_test(&xa, &xb);
    let p_value = test.and_then(|t| t.p_value);
    let constant = test.is_some_and(|t| t.t.is_none() && t.mean_diff != 0.0 && t.n >= 2);
    let verdict = match p_value {
        _ if constant => Verdict::ConstantDifference,
        None => Verdict::TooFewPairs,
        Some(p) if p < ALPHA => Verdict::Distinguishable,
        Some(_) => Verdict::WithinSeedNoise,
    };
    PairComparison {
        a: a.to_string(),
        b: b.to_string(),
        pairs: xa.len(),
        mean_diff: test.map_or(0.0, |t| t.mean_diff),
        std_diff: test.map_or(0.0, |t| t.std_diff),
        p_value,
        p_holm: None,
        detectable_diff: None,
        runs_for_stated: None,
        verdict,
    }
}

/// Whether a pair has a p-value that means something (spread, two or more pairs).
pub(crate) fn testable(p: &PairComparison) -> bool {
    p.p_value.is_some()
        && !matches!(
            p.verdict,
            Verdict::TooFewPairs | Verdict::ConstantDifference
        )
}

/// Holm-adjusts the p-values of the testable pairs of one report, sets their verdicts from the
/// adjusted values, and states what each could have detected at α / m, the level of Holm's
/// strictest step (m = testable pairs): conservative for every pair but the first rejected.
pub(crate) fn adjust_family(pairs: &mut [PairComparison]) {
    let raw: Vec<f64> = pairs
        .iter()
        .filter(|p| testable(p))
        .filter_map(|p| p.p_value)
        .collect();
    let Some(adjusted) = holm(&raw) else {
        return;
    };
    let alpha = ALPHA / raw.len().max(1) as f64;
    let testable_pairs = pairs.iter_mut().filter(|p| testable(p));
    for (p, p_holm) in testable_pairs.zip(adjusted) {
        p.p_holm = Some(p_holm);
        p.verdict = if p_holm < ALPHA {
            Verdict::Distinguishable
        } else {
            Verdict::WithinSeedNoise
        };
        if p.std_diff > 0.0 {
            p.detectable_diff = detectable_effect(p.pairs, alpha, POWER)
                .ok()
                .map(|d| d * p.std_diff);
            p.runs_for_stated = runs_needed(STATED_DIFFERENCE / p.std_diff, alpha, POWER, MAX_RUNS)
                .ok()
                .flatten();
        }
    }
}
