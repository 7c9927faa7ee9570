//! The plots a merged report takes over from the folders it merges (`specnorm report`).
//!
//! A merged report redraws everything it computes from the runs (accuracy, curves,
//! distributions). Two kinds of plot come from data the report does not hold, and are copied:
//! * the dataset's plots (`spectrograms/`, `channel_stats.png`): drawn from the features of the
//!   first validation fold, the same in every folder of one configuration (the merge checks the
//!   configuration hash), so they are taken from the first folder that has them;
//! * the learned PCEN parameters of the best `pcen-learned` run (`pcen_learned.json` and
//!   `pcen_learned/`): taken from the folder whose file names that run. The merged best run is
//!   the best of its folder too, so its folder drew them when it finished.
//!
//! What no folder holds is listed in [`Carried::missing`] (a folder whose experiment did not
//! reach its report, say), so the caller can say which links of `results.md` lead nowhere.

use std::path::{Path, PathBuf};

use super::{
    io_err, LearnedPcenParams, ReportError, ResultsDoc, LEARNED_PCEN_DIR, LEARNED_PCEN_JSON,
};
use crate::settings::PCEN_LEARNED;

/// The dataset plots of an output folder, relative to it.
pub const DATASET_PLOTS: [&str; 2] = ["spectrograms", "channel_stats.png"];

/// What [`carry_plots`] copied and what it could not find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// Files and folders copied, as `(from, to)`.
    pub copied: Vec<(PathBuf, PathBuf)>,
    /// The plots no merged folder holds, relative to the output folder, with the reason.
    pub missing: Vec<String>,
}

/// Copies a file, or a folder of files (one level, as the plot folders are), to `to`.
fn copy(from: &Path, to: &Path) -> Result<(), ReportError> {
    if from.is_dir() {
        std::fs::create_dir_all(to).map_err(io_err(to))?;
        for entry in std::fs::read_dir(from).map_err(io_err(from))? {
            let entry = entry.map_err(io_err(from))?;
            let path = entry.path();
            if path.is_file() {
                let dest = to.join(entry.file_name());
                std::fs::copy(&path, &dest).map_err(io_err(&dest))?;
            }
        }
    } else {
        std::fs::copy(from, to).map_err(io_err(to))?;
    }
    Ok(())
}

/// The learned PCEN parameters file of `dir`, if it has one that parses.
fn learned_pcen_run(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(LEARNED_PCEN_JSON)).ok()?;
    serde_json::from_str::<LearnedPcenParams>(&text)
        .ok()
        .map(|p| p.run)
}

/// Copies into `out` the plots of `doc` that come from the folders `dirs` (see the module
/// documentation).
pub fn carry_plots(dirs: &[PathBuf], out: &Path, doc: &ResultsDoc) -> Result<Carried, ReportError> {
    let mut carried = Carried::default();
    for name in DATASET_PLOTS {
        match dirs.iter().map(|d| d.join(name)).find(|p| p.exists()) {
            Some(from) => {
                let to = out.join(name);
                copy(&from, &to)?;
                carried.copied.push((from, to));
            }
            None => carried
                .missing
                .push(format!("{name} (no merged folder has it)")),
        }
    }
    let best = doc
        .summary
        .settings
        .iter()
        .find(|s| s.setting == PCEN_LEARNED)
        .and_then(|s| s.best.as_ref());
    if let Some(best) = best {
        match dirs
            .iter()
            .find(|d| learned_pcen_run(d).as_deref() == Some(best.key.as_str()))
        {
            Some(dir) => {
                for name in [LEARNED_PCEN_JSON, LEARNED_PCEN_DIR] {
                    let (from, to) = (dir.join(name), out.join(name));
                    if from.exists() {
                        copy(&from, &to)?;
                        carried.copied.push((from, to));
                    }
                }
            }
            None => carried.missing.push(format!(
                "{LEARNED_PCEN_JSON} and {LEARNED_PCEN_DIR}/ of the best {PCEN_LEARNED} run {} \
                 (no merged folder drew them)",
                best.key
            )),
        }
    }
    Ok(carried)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;
    use super::super::summarize;
    use super::*;

    fn doc(runs: Vec<crate::results::RunRecord>) -> ResultsDoc {
        let order = vec![PCEN_LEARNED.to_string()];
        ResultsDoc {
            config: serde_json::json!({}),
            config_hash: "abc".into(),
            summary: summarize(&runs, &order),
            runs,
            distributions: None,
        }
    }

    fn learned(dir: &Path, run: &str) {
        std::fs::create_dir_all(dir.join(LEARNED_PCEN_DIR)).unwrap();
        let p = LearnedPcenParams {
            run: run.into(),
            gain: vec![0.98],
            bias: vec![2.0],
            power: vec![0.5],
            smoothing: vec![0.025],
            initial: [0.98, 2.0, 0.5, 0.025],
        };
        std::fs::write(
            dir.join(LEARNED_PCEN_JSON),
            serde_json::to_string(&p).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join(LEARNED_PCEN_DIR).join("gain.png"), run).unwrap();
    }

    #[test]
    fn dataset_plots_from_the_first_folder_and_learned_pcen_from_the_best_runs_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("out"),
        );
        for d in [&a, &b, &out] {
            std::fs::create_dir_all(d).unwrap();
        }
        // Only b has the dataset plots; each folder drew the learned PCEN of its own best run.
        std::fs::create_dir_all(b.join("spectrograms")).unwrap();
        std::fs::write(b.join("spectrograms/none.png"), "png").unwrap();
        std::fs::write(b.join("channel_stats.png"), "stats").unwrap();
        learned(&a, "pcen-learned_f1_s0");
        learned(&b, "pcen-learned_f1_s1");
        let runs = vec![run(PCEN_LEARNED, 1, 0, 0.70), run(PCEN_LEARNED, 1, 1, 0.80)];
        let c = carry_plots(&[a.clone(), b.clone()], &out, &doc(runs.clone())).unwrap();
        assert!(c.missing.is_empty(), "{c:?}");
        assert_eq!(c.copied.len(), 4);
        assert_eq!(
            std::fs::read_to_string(out.join("spectrograms/none.png")).unwrap(),
            "png"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("channel_stats.png")).unwrap(),
            "stats"
        );
        assert_eq!(
            learned_pcen_run(&out).as_deref(),
            Some("pcen-learned_f1_s1")
        );
        assert_eq!(
            std::fs::read_to_string(out.join(LEARNED_PCEN_DIR).join("gain.png")).unwrap(),
            "pcen-learned_f1_s1"
        );
        // The best run's folder did not draw its parameters: named as missing, nothing copied.
        let out2 = tmp.path().join("out2");
        std::fs::create_dir_all(&out2).unwrap();
        let c = carry_plots(&[a], &out2, &doc(runs)).unwrap();
        assert_eq!(c.missing.len(), 3, "{c:?}");
        assert!(c.missing[2].contains("pcen-learned_f1_s1"), "{c:?}");
        assert!(!out2.join(LEARNED_PCEN_JSON).exists());
    }
}
