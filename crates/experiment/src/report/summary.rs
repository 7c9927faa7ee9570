//! Per-setting statistics of the final accuracy, the paired comparisons of every pair of
//! settings (`pairs`), the per-fold table and the plain-language conclusion.

use std::fmt::Write as _;

use super::convergence::convergence;
use super::pairs::{adjust_family, test_pair, testable};
use super::{
    BestRun, FoldRow, PairComparison, ResultsSummary, SettingSummary, Verdict, ALPHA, MAX_RUNS,
    POWER, STATED_DIFFERENCE,
};
use crate::results::RunRecord;
use crate::significance::summarize as summarize_values;

/// Settings in `order`, followed by any other setting found in `runs`
/// (sorted), without duplicates.
pub(crate) fn setting_order(runs: &[RunRecord], order: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in order {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    let mut extra: Vec<String> = runs
        .iter()
        .map(|r| r.setting.clone())
        .filter(|s| !out.contains(s))
        .collect();
    extra.sort();
    extra.dedup();
    out.extend(extra);
    out
}

/// Aggregates the runs: per-setting summaries, all pairwise paired t-tests
/// and the conclusion sentence.
pub fn summarize(runs: &[RunRecord], order: &[String]) -> ResultsSummary {
    let names = setting_order(runs, order);
    let settings: Vec<SettingSummary> = names
        .iter()
        .map(|name| {
            let mine: Vec<&RunRecord> = runs.iter().filter(|r| &r.setting == name).collect();
            let accs: Vec<f64> = mine.iter().map(|r| r.final_accuracy).collect();
            let best = mine
                .iter()
                .copied()
                .max_by(|x, y| {
                    x.final_accuracy
                        .total_cmp(&y.final_accuracy)
                        .then((y.fold, y.seed).cmp(&(x.fold, x.seed)))
                })
                .map(|r| BestRun {
                    key: r.key(),
                    fold: r.fold,
                    seed: r.seed,
                    final_accuracy: r.final_accuracy,
                    checkpoint: r.checkpoint.clone(),
                });
            let n = mine.len().max(1) as f64;
            SettingSummary {
                setting: name.clone(),
                accuracy: summarize_values(&accs),
                min: accs
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
                    .min(f64::MAX),
                max: accs
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
                    .max(f64::MIN),
                mean_wall_time_s: mine.iter().map(|r| r.wall_time_s).sum::<f64>() / n,
                best,
            }
        })
        .collect();

    let mut pairs = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            pairs.push(test_pair(runs, a, b));
        }
    }
    adjust_family(&mut pairs);
    let conclusion = conclude(&settings, &pairs);
    let convergence = convergence(runs, &names, &settings);
    let folds = fold_table(runs, &names);
    ResultsSummary {
        settings,
        pairs,
        convergence,
        folds,
        conclusion,
    }
}

/// Mean final accuracy (over seeds) per validation fold and setting.
fn fold_table(runs: &[RunRecord], names: &[String]) -> Vec<FoldRow> {
    let folds: std::collections::BTreeSet<u32> = runs.iter().map(|r| r.fold).collect();
    folds
        .into_iter()
        .map(|fold| FoldRow {
            fold,
            accuracy: names
                .iter()
                .map(|name| {
                    let accs: Vec<f64> = runs
                        .iter()
                        .filter(|r| r.fold == fold && &r.setting == name)
                        .map(|r| r.final_accuracy)
                        .collect();
                    summarize_values(&accs)
                })
                .collect(),
        })
        .collect()
}

/// "Differences below X points cannot be told apart with N paired runs …" for the pairs of
/// the best setting that were within seed noise (the widest of them), or nothing.
fn detectability_sentence(tied: &[&PairComparison], testable_pairs: usize) -> String {
    let widest = tied
        .iter()
        .filter_map(|p| p.detectable_diff.map(|d| (d, *p)))
        .max_by(|x, y| x.0.total_cmp(&y.0));
    let Some((d, p)) = widest else {
        return String::new();
    };
    let alpha = ALPHA / testable_pairs.max(1) as f64;
    let runs = p
        .runs_for_stated
        .map_or(format!("more than {MAX_RUNS}"), |n| n.to_string());
    // An accuracy difference is at most 100 points: past that, nothing can be told apart.
    let below = if d < 1.0 {
        format!("Differences below {:.1} points", 100.0 * d)
    } else {
        "No accuracy difference (even 100 points)".to_string()
    };
    format!(
        " {below} cannot be told apart with {} paired runs (power {POWER}, two-sided \
         α = {alpha:.4}: {ALPHA} after Holm's correction for {testable_pairs} comparison(s)); \
         telling {:.0} points apart would take {runs} paired runs.",
        p.pairs,
        100.0 * STATED_DIFFERENCE
    )
}

fn conclude(settings: &[SettingSummary], pairs: &[PairComparison]) -> String {
    let ran: Vec<(&str, f64)> = settings
        .iter()
        .filter_map(|s| s.accuracy.map(|a| (s.setting.as_str(), a.mean)))
        .collect();
    if ran.is_empty() {
        return "No run has finished yet, so there is nothing to conclude.".to_string();
    }
    if ran.len() == 1 {
        return format!(
            "Only `{}` was run, so there is nothing to compare.",
            ran[0].0
        );
    }
    let (best, best_mean) = ran
        .iter()
        .copied()
        .fold(ran[0], |acc, x| if x.1 > acc.1 { x } else { acc });
    let mut beaten = Vec::new();
    let mut tied = Vec::new();
    let mut tied_pairs = Vec::new();
    let mut untested = Vec::new();
    for p in pairs.iter().filter(|p| p.a == best || p.b == best) {
        let other = if p.a == best { &p.b } else { &p.a };
        if !ran.iter().any(|(n, _)| n == other) {
            continue;
        }
        match p.verdict {
            Verdict::Distinguishable => beaten.push(format!("`{other}`")),
            Verdict::WithinSeedNoise => {
                tied.push(format!("`{other}`"));
                tied_pairs.push(p);
            }
            Verdict::TooFewPairs | Verdict::ConstantDifference => {
                untested.push(format!("`{other}`"))
            }
        }
    }
    let pct = 100.0 * best_mean;
    let m = pairs.iter().filter(|p| testable(p)).count();
    let detectability = detectability_sentence(&tied_pairs, m);
    if tied.is_empty() && untested.is_empty() {
        format!(
            "`{best}` won: its mean final accuracy ({pct:.2} %) is the highest and the paired \
             t-test separates it from every other setting (Holm-adjusted p < {ALPHA})."
        )
    } else if beaten.is_empty() && untested.is_empty() {
        format!(
            "No normalization won: `{best}` has the highest mean final accuracy ({pct:.2} %), \
             but every difference between it and the other settings is within seed noise \
             (paired t-test, Holm-adjusted p >= {ALPHA}).{detectability}"
        )
    } else {
        let mut s = format!(
            "No single normalization won: `{best}` has the highest mean final accuracy ({pct:.2} %)"
        );
        if !beaten.is_empty() {
            let _ = write!(s, " and is distinguishable from {}", beaten.join(", "));
        }
        if !tied.is_empty() {
            let _ = write!(s, ", but it is within seed noise of {}", tied.join(", "));
        }
        if !untested.is_empty() {
            let _ = write!(
                s,
                "; too few paired runs to compare it with {}",
                untested.join(", ")
            );
        }
        s.push('.');
        s.push_str(&detectability);
        s
    }
}

#[cfg(test)]
mod tests {
    use specnorm_analysis::power::detectable_effect;

    use super::super::fixtures::{fixed, order, run};
    use super::super::pairs::compare;
    use super::*;

    #[test]
    fn summary_statistics_and_pairs() {
        let s = summarize(&fixed(), &order());
        let names: Vec<&str> = s.settings.iter().map(|x| x.setting.as_str()).collect();
        assert_eq!(names, ["none", "global", "channel"]);
        let ch = &s.settings[2];
        let acc = ch.accuracy.unwrap();
        assert!((acc.mean - 0.814).abs() < 1e-12);
        assert!((acc.ci95.unwrap() - 0.028_585_251_909_870_18).abs() < 1e-9);
        assert_eq!((ch.min, ch.max), (0.79, 0.85));
        assert_eq!(ch.best.as_ref().unwrap().key, "channel_f1_s3");
        assert_eq!(s.pairs.len(), 3);
        let gc = s
            .pairs
            .iter()
            .find(|p| p.a == "global" && p.b == "channel")
            .unwrap();
        assert_eq!(gc.pairs, 5);
        assert!((gc.mean_diff + 0.036).abs() < 1e-12);
        assert!((gc.p_value.unwrap() - 0.017_811_325_477_956_916).abs() < 1e-10);
        // Holm over the three pairs: 3 x 0.0178 = 0.0534 (statsmodels multipletests "holm"),
        // no longer below 0.05.
        assert!((gc.p_holm.unwrap() - 0.053_433_976_433_870_75).abs() < 1e-10);
        assert_eq!(gc.verdict, Verdict::WithinSeedNoise);
        // Differences 0.05, 0.02, 0.01, 0.06, 0.04: sample std 0.0207364 (numpy ddof=1).
        assert!((gc.std_diff - 0.020_736_441_353_327_72).abs() < 1e-12);
        let effect = detectable_effect(5, ALPHA / 3.0, POWER).unwrap();
        assert!((gc.detectable_diff.unwrap() - effect * gc.std_diff).abs() < 1e-12);
        let power = specnorm_analysis::power::paired_power(effect, 5, ALPHA / 3.0).unwrap();
        assert!((power - POWER).abs() < 1e-9);
        let need = gc.runs_for_stated.unwrap();
        let at =
            |n| specnorm_analysis::power::paired_power(0.02 / gc.std_diff, n, ALPHA / 3.0).unwrap();
        assert!(at(need) >= POWER && at(need - 1) < POWER, "{need}");
        let ng = s
            .pairs
            .iter()
            .find(|p| p.a == "none" && p.b == "global")
            .unwrap();
        assert!((ng.p_value.unwrap() - 0.354_419_081_017_244_9).abs() < 1e-10);
        assert!((ng.p_holm.unwrap() - 0.708_838_162_034_489_8).abs() < 1e-10);
        assert_eq!(ng.verdict, Verdict::WithinSeedNoise);
        let nc = s
            .pairs
            .iter()
            .find(|p| p.a == "none" && p.b == "channel")
            .unwrap();
        assert!((nc.p_value.unwrap() - 0.614_431_801_512_332_5).abs() < 1e-10);
        // Holm's running maximum lifts the largest p-value to the one before it.
        assert_eq!(nc.p_holm, ng.p_holm);
    }

    #[test]
    fn fold_table_has_one_row_per_fold_and_a_column_per_setting() {
        let mut runs = fixed();
        // Fold 2: channel with two seeds, global with one, none with none.
        runs.push(run("channel", 2, 0, 0.6));
        runs.push(run("channel", 2, 1, 0.7));
        runs.push(run("global", 2, 0, 0.5));
        let s = summarize(&runs, &order());
        assert_eq!(s.folds.iter().map(|f| f.fold).collect::<Vec<_>>(), [1, 2]);
        let f1 = &s.folds[0];
        assert!((f1.accuracy[2].unwrap().mean - 0.814).abs() < 1e-12);
        let f2 = &s.folds[1];
        assert_eq!(f2.accuracy[0], None);
        assert_eq!(f2.accuracy[1].unwrap().n, 1);
        assert!((f2.accuracy[2].unwrap().mean - 0.65).abs() < 1e-12);
        // The pairs are over (fold, seed): channel vs global now has 6 pairs.
        let gc = s
            .pairs
            .iter()
            .find(|p| p.a == "global" && p.b == "channel")
            .unwrap();
        assert_eq!(gc.pairs, 6);
    }

    #[test]
    fn pairs_use_only_common_fold_seed_runs() {
        let mut runs = fixed();
        runs.retain(|r| !(r.setting == "global" && r.seed >= 3));
        runs.push(run("global", 2, 0, 0.1));
        let p = compare(&runs, "channel", "global");
        assert_eq!(p.pairs, 3);
        let p1 = compare(&runs[..0], "channel", "global");
        assert_eq!((p1.pairs, p1.verdict), (0, Verdict::TooFewPairs));
        // Same non-zero gap in every pair: untestable, not "distinguishable".
        let gap = vec![
            run("a", 1, 0, 0.5),
            run("a", 1, 1, 0.6),
            run("b", 1, 0, 0.4),
            run("b", 1, 1, 0.5),
        ];
        let p2 = compare(&gap, "a", "b");
        assert_eq!((p2.pairs, p2.verdict), (2, Verdict::ConstantDifference));
        assert!((p2.mean_diff - 0.1).abs() < 1e-12);
        // Identical results: within seed noise (p = 1).
        let same = vec![
            run("a", 1, 0, 0.5),
            run("a", 1, 1, 0.6),
            run("b", 1, 0, 0.5),
            run("b", 1, 1, 0.6),
        ];
        let p3 = compare(&same, "a", "b");
        assert_eq!(
            (p3.p_value, p3.verdict),
            (Some(1.0), Verdict::WithinSeedNoise)
        );
    }

    #[test]
    fn conclusions() {
        let s = summarize(&fixed(), &order());
        // channel vs global has raw p = 0.018 but Holm-adjusted 0.053: a tie, like none.
        assert!(
            s.conclusion.starts_with("No normalization won: `channel`"),
            "{}",
            s.conclusion
        );
        assert!(s.conclusion.contains("Holm-adjusted p >= 0.05"));
        assert!(
            s.conclusion
                .contains("cannot be told apart with 5 paired runs")
                && s.conclusion.contains("α = 0.0167"),
            "{}",
            s.conclusion
        );
        let widest = s
            .pairs
            .iter()
            .filter(|p| p.a == "channel" || p.b == "channel")
            .filter_map(|p| p.detectable_diff)
            .fold(0.0, f64::max);
        assert!(
            s.conclusion
                .contains(&format!("Differences below {:.1} points", 100.0 * widest)),
            "{}",
            s.conclusion
        );

        // global 5 points lower in every run: separated from channel even after Holm.
        let lower: Vec<RunRecord> = fixed()
            .into_iter()
            .map(|mut r| {
                if r.setting == "global" {
                    r.final_accuracy -= 0.05;
                }
                r
            })
            .collect();
        let s = summarize(&lower, &order());
        assert!(
            s.conclusion
                .starts_with("No single normalization won: `channel`"),
            "{}",
            s.conclusion
        );
        assert!(s.conclusion.contains("distinguishable from `global`"));
        assert!(s.conclusion.contains("within seed noise of `none`"));

        let two: Vec<RunRecord> = fixed()
            .into_iter()
            .filter(|r| r.setting != "none")
            .collect();
        let s = summarize(&two, &order());
        assert!(
            s.conclusion.starts_with("`channel` won"),
            "{}",
            s.conclusion
        );
        // `none` has no run: listed, but no accuracy.
        assert_eq!(s.settings[0].accuracy, None);

        let tie: Vec<RunRecord> = fixed()
            .into_iter()
            .filter(|r| r.setting != "channel")
            .collect();
        let s = summarize(&tie, &order());
        assert!(
            s.conclusion.starts_with("No normalization won"),
            "{}",
            s.conclusion
        );

        assert!(summarize(&[], &order())
            .conclusion
            .contains("nothing to conclude"));
    }
}
