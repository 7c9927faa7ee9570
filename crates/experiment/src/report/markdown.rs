//! `results.md`: configuration, the per-setting table, the paired comparisons
//! and links to the plots.

use std::fmt::Write as _;

use super::{ResultsDoc, ALPHA, MAX_RUNS, POWER, STATED_DIFFERENCE, TARGET_FRACTION};

fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

fn json_inline(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How the experiment batches clips kept at their own lengths (stated in the report).
pub const OWN_LENGTHS: &str = "Clips of their own lengths: each clip is normalized at its own \
    length (per-instance statistics and PCEN over its real frames; the dataset statistics over \
    every real frame of the training folds); training batches hold clips of similar lengths \
    (fastai's SortedDL order: pieces of 50 batches sorted by length, the batches shuffled) and \
    each is padded with zeros after every clip's last frame to its longest clip (at least the \
    model's minimum: 32 frames for the small CNN). Zero is the training mean after global or per-channel normalization, \
    the clip's mean after per-instance normalization, 0 dB for the settings without a \
    spectrogram normalization (none, waveform) and silence for pcen (PCEN of zero power is 0) \
    and pcen-learned (zero power). \
    Validation clips are evaluated in batches of one length, so each prediction is the one \
    the clip gets alone (as from the exported ONNX model).";

/// Renders `results.md`.
pub fn render_markdown(doc: &ResultsDoc) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Spectrogram normalization experiment\n");
    let _ = writeln!(md, "{}\n", doc.summary.conclusion);
    let _ = writeln!(md, "## Configuration\n");
    if let Some(features) = doc
        .config
        .get("features")
        .and_then(|f| serde_json::from_value::<specnorm_features::FeatureConfig>(f.clone()).ok())
    {
        let _ = writeln!(md, "Features: {}.\n", features.describe());
        if features.seconds.is_none() {
            let _ = writeln!(md, "{OWN_LENGTHS}\n");
        }
    }
    let _ = writeln!(md, "- config hash: `{}`", doc.config_hash);
    if let serde_json::Value::Object(map) = &doc.config {
        for (k, v) in map {
            let _ = writeln!(md, "- {k}: `{}`", json_inline(v));
        }
    }
    let _ = writeln!(md, "- finished runs: {}\n", doc.runs.len());

    let _ = writeln!(md, "## Final validation accuracy per setting\n");
    let _ = writeln!(
        md,
        "| setting | runs | mean | std | 95 % CI | min | max | mean time / run | best run |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---|---:|---:|---:|---|");
    for s in &doc.summary.settings {
        match s.accuracy {
            Some(a) => {
                let ci = a.ci95.map_or("n/a (1 run)".to_string(), |h| {
                    format!("[{}, {}]", pct(a.mean - h), pct(a.mean + h))
                });
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} |",
                    s.setting,
                    a.n,
                    pct(a.mean),
                    pct(a.std),
                    ci,
                    pct(s.min),
                    pct(s.max),
                    s.mean_wall_time_s,
                    s.best
                        .as_ref()
                        .map_or("-".to_string(), |b| format!("`{}`", b.key)),
                );
            }
            None => {
                let _ = writeln!(md, "| {} | 0 | - | - | - | - | - | - | - |", s.setting);
            }
        }
    }
    let _ = writeln!(
        md,
        "\nThe 95 % CI is the Student-t interval of the mean over the runs (seeds × folds).\n"
    );

    let _ = writeln!(md, "## Paired comparisons\n");
    if doc.summary.pairs.is_empty() {
        let _ = writeln!(md, "Only one setting: no comparison.\n");
    } else {
        let m = doc
            .summary
            .pairs
            .iter()
            .filter(|p| p.p_holm.is_some())
            .count();
        let _ = writeln!(
            md,
            "Each pair is compared over the (fold, seed) runs both settings finished: mean \
             accuracy difference (A − B) and two-sided paired t-test. The verdict uses the \
             p-value after Holm's step-down correction over the {m} testable pairs \
             (family-wise α = {ALPHA}). \"detectable\" is the smallest difference these runs \
             find with power {POWER} at α / {m} (Holm's strictest step), from the spread of the \
             paired differences; the last column is the paired runs that would find a \
             {:.0}-point difference.\n",
            100.0 * STATED_DIFFERENCE
        );
        let _ = writeln!(
            md,
            "| A | B | pairs | mean diff (A − B) | p-value | Holm p | detectable | runs for {:.0} pp | verdict |",
            100.0 * STATED_DIFFERENCE
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---|");
        let p_text = |v: Option<f64>| {
            v.map_or("-".to_string(), |v| {
                if v < 1e-4 {
                    "< 0.0001".to_string()
                } else {
                    format!("{v:.4}")
                }
            })
        };
        for p in &doc.summary.pairs {
            let detectable = p
                .detectable_diff
                .map_or("-".to_string(), |d| format!("{:.2} pp", 100.0 * d));
            let runs = match (p.runs_for_stated, p.detectable_diff) {
                (Some(n), _) => n.to_string(),
                (None, Some(_)) => format!("> {MAX_RUNS}"),
                (None, None) => "-".to_string(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:+.2} pp | {} | {} | {detectable} | {runs} | {} |",
                p.a,
                p.b,
                p.pairs,
                100.0 * p.mean_diff,
                p_text(p.p_value),
                p_text(p.p_holm),
                p.verdict.as_str()
            );
        }
        let _ = writeln!(md);
    }
    render_folds(&mut md, doc);
    render_convergence(&mut md, doc);
    if let Some(d) = &doc.distributions {
        super::distributions::render(&mut md, d);
    }
    let _ = writeln!(md, "## Plots\n");
    for (file, what) in PLOT_FILES {
        let _ = writeln!(md, "- [{what}]({file})");
    }
    use crate::settings::PCEN_LEARNED;
    if doc.runs.iter().any(|r| r.setting == PCEN_LEARNED) {
        let _ = writeln!(
            md,
            "- [the learned per-channel PCEN parameters (α, δ, r, s) of the best \
             {PCEN_LEARNED} run across frequency]({}/) (values in [{}]({}))",
            super::LEARNED_PCEN_DIR,
            super::LEARNED_PCEN_JSON,
            super::LEARNED_PCEN_JSON
        );
    }
    md
}

/// `## Accuracy per validation fold`: only with more than one fold (cross-validation).
fn render_folds(md: &mut String, doc: &ResultsDoc) {
    let folds = &doc.summary.folds;
    if folds.len() < 2 {
        return;
    }
    let names: Vec<&str> = doc
        .summary
        .settings
        .iter()
        .map(|s| s.setting.as_str())
        .collect();
    let _ = writeln!(md, "## Accuracy per validation fold\n");
    let _ = writeln!(
        md,
        "Mean final accuracy over the seeds of each fold. The paired comparisons above pair \
         runs by (fold, seed), so fold-to-fold differences do not count as noise.\n"
    );
    let _ = writeln!(md, "| fold | {} |", names.join(" | "));
    let _ = writeln!(md, "|---:|{}", "---:|".repeat(names.len()));
    for row in folds {
        let cells: Vec<String> = row
            .accuracy
            .iter()
            .map(|a| a.map_or("-".to_string(), |a| format!("{} (n={})", pct(a.mean), a.n)))
            .collect();
        let _ = writeln!(md, "| {} | {} |", row.fold, cells.join(" | "));
    }
    let _ = writeln!(md);
}

/// `## Convergence`: mean accuracy per epoch, time to the target, per-epoch separations.
fn render_convergence(md: &mut String, doc: &ResultsDoc) {
    let c = &doc.summary.convergence;
    let Some(target) = c.target_accuracy else {
        return;
    };
    let _ = writeln!(md, "## Convergence\n");
    let _ = writeln!(
        md,
        "Epochs and seconds each setting's runs took to reach {:.0} % of the best mean final \
         accuracy ({}), over the runs that reached it.\n",
        100.0 * TARGET_FRACTION,
        pct(target)
    );
    let _ = writeln!(
        md,
        "| setting | reached | epochs (mean ± std) | seconds (mean) |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|");
    for s in &c.settings {
        let epochs = s
            .epochs_to_target
            .map_or("-".to_string(), |e| format!("{:.1} ± {:.1}", e.mean, e.std));
        let secs = s
            .seconds_to_target
            .map_or("-".to_string(), |e| format!("{:.1} s", e.mean));
        let _ = writeln!(
            md,
            "| {} | {}/{} | {epochs} | {secs} |",
            s.setting, s.reached, s.runs
        );
    }
    let names: Vec<&str> = c.settings.iter().map(|s| s.setting.as_str()).collect();
    let _ = writeln!(
        md,
        "\nMean validation accuracy after each epoch; the last column lists the pairs a paired \
         t-test separates at that epoch (Holm over the epoch's pairs, α = {ALPHA}).\n"
    );
    let _ = writeln!(md, "| epoch | {} | separated |", names.join(" | "));
    let _ = writeln!(md, "|---:|{}---|", "---:|".repeat(names.len()));
    for (e, pairs) in c.epochs.iter().enumerate() {
        let cells: Vec<String> = c
            .settings
            .iter()
            .map(|s| {
                s.accuracy
                    .get(e)
                    .copied()
                    .flatten()
                    .map_or("-".to_string(), |a| pct(a.mean))
            })
            .collect();
        let separated = pairs.separated();
        let sep = if separated.is_empty() {
            "-".to_string()
        } else {
            separated.join(", ")
        };
        let _ = writeln!(md, "| {} | {} | {sep} |", pairs.epoch, cells.join(" | "));
    }
    let _ = writeln!(md);
}

/// Plot files referenced from the markdown: (file name, description).
pub const PLOT_FILES: [(&str, &str); 5] = [
    (
        "accuracy.png",
        "final accuracy per setting (mean ± 95 % CI)",
    ),
    ("valid_loss.png", "mean validation loss per epoch (± std)"),
    (
        "accuracy_curves.png",
        "mean validation accuracy per epoch (± std)",
    ),
    (
        "spectrograms/",
        "an example spectrogram before and after each normalization",
    ),
    (
        "channel_stats.png",
        "per-frequency-bin mean ± std of the training features",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fixed, order};
    use super::super::summarize;
    use super::*;

    #[test]
    fn markdown_on_fixed_results() {
        let runs = fixed();
        let summary = summarize(&runs, &order());
        let doc = ResultsDoc {
            config: serde_json::json!({"epochs": 3, "model": "small"}),
            config_hash: "abc".into(),
            runs,
            summary,
            distributions: None,
        };
        let md = render_markdown(&doc);
        assert!(md.contains("- epochs: `3`"));
        assert!(md.contains("- model: `small`"));
        assert!(md.contains(
            "| channel | 5 | 81.40 % | 2.30 % | [78.54 %, 84.26 %] | 79.00 % | 85.00 % | 3.0 s | `channel_f1_s3` |"
        ), "{md}");
        let gc = doc
            .summary
            .pairs
            .iter()
            .find(|p| p.a == "global" && p.b == "channel")
            .unwrap();
        let row = format!(
            "| global | channel | 5 | -3.60 pp | 0.0178 | 0.0534 | {:.2} pp | {} | within seed noise |",
            100.0 * gc.detectable_diff.unwrap(),
            gc.runs_for_stated.unwrap()
        );
        assert!(md.contains(&row), "{row}\n{md}");
        assert!(md.contains("Holm's step-down correction over the 3 testable pairs"));
        // One fold: no fold table; convergence with one row per epoch.
        assert!(!md.contains("## Accuracy per validation fold"));
        assert!(md.contains("## Convergence"), "{md}");
        assert!(md.contains("| epoch | none | global | channel | separated |"));
        assert!(
            md.contains("| 1 | 26.73 % | 25.93 % | 27.13 % | - |"),
            "{md}"
        );
        assert!(md.contains("| none | global |"));
        assert!(md.contains("within seed noise"));
        for s in ["none", "global", "channel"] {
            assert!(md.contains(&format!("| {s} |")));
        }
        // Round trip of the JSON document.
        let json = serde_json::to_string(&doc).unwrap();
        let back: ResultsDoc = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
    }
}
