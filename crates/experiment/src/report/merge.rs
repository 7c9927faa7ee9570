//! One report from several output folders (`specnorm report DIR... --out DIR`): the shards of
//! an experiment run on different machines (`ExperimentConfig::shard`), or runs added later.
//! Every folder must hold the same configuration (its `experiment.json` config hash); runs are
//! read from `runs/*.json`, each checked against that hash, and a run found in two folders must
//! be the same run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::carry::{carry_plots, Carried};
use super::{io_err, write_report, ReportError, ResultsDoc};
use crate::results::RunRecord;

/// What one output folder holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsDir {
    /// The folder.
    pub dir: PathBuf,
    /// Its configuration hash (`experiment.json`).
    pub config_hash: String,
    /// Its settings, in report order.
    pub settings: Vec<String>,
    /// The configuration shown in its report (`results.json`), or `experiment.json`'s.
    pub display_config: serde_json::Value,
    /// The distributions of its report (`results.json`), if any.
    pub distributions: Option<super::distributions::Distributions>,
    /// Its finished runs, sorted by key; checkpoint paths made relative to the current
    /// directory (`dir` joined).
    pub runs: Vec<RunRecord>,
}

fn read_value(path: &Path) -> Result<serde_json::Value, ReportError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|source| ReportError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads an output folder of `specnorm experiment`.
pub fn read_runs_dir(dir: &Path) -> Result<RunsDir, ReportError> {
    let exp_path = dir.join("experiment.json");
    if !exp_path.is_file() {
        return Err(ReportError::NotAnExperiment {
            dir: dir.to_path_buf(),
        });
    }
    let exp = read_value(&exp_path)?;
    let invalid = |what: &str| ReportError::Invalid {
        path: exp_path.clone(),
        what: what.to_string(),
    };
    let config_hash = exp
        .get("config_hash")
        .and_then(|h| h.as_str())
        .ok_or_else(|| invalid("no config_hash"))?
        .to_string();
    let settings = exp
        .pointer("/config/settings")
        .and_then(|s| s.as_array())
        .ok_or_else(|| invalid("no config.settings list"))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid("a setting is not a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results = dir.join("results.json");
    let (display_config, distributions) = if results.is_file() {
        let r = read_value(&results)?;
        let dist = match r.get("distributions") {
            Some(v) if !v.is_null() => Some(serde_json::from_value(v.clone()).map_err(
                |source| ReportError::Json {
                    path: results.clone(),
                    source,
                },
            )?),
            _ => None,
        };
        let config = r.get("config").cloned();
        (config.unwrap_or(serde_json::Value::Null), dist)
    } else {
        let config = exp.get("config").cloned();
        (config.unwrap_or(serde_json::Value::Null), None)
    };
    let runs_dir = dir.join("runs");
    let mut runs = Vec::new();
    if runs_dir.is_dir() {
        let entries = std::fs::read_dir(&runs_dir).map_err(io_err(&runs_dir))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let mut run: RunRecord =
                serde_json::from_value(read_value(&path)?).map_err(|source| ReportError::Json {
                    path: path.clone(),
                    source,
                })?;
            if run.config_hash != config_hash {
                return Err(ReportError::ConfigMismatch {
                    first: exp_path.clone(),
                    first_hash: config_hash,
                    other: path,
                    other_hash: run.config_hash,
                });
            }
            run.checkpoint = run.checkpoint.map(|c| dir.join(c).display().to_string());
            runs.push(run);
        }
    }
    runs.sort_by_key(RunRecord::key);
    Ok(RunsDir {
        dir: dir.to_path_buf(),
        config_hash,
        settings,
        display_config,
        distributions,
        runs,
    })
}

/// The runs of several output folders joined by [`merge_dirs`].
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The first folder's report configuration, with "merged from" added.
    pub config: serde_json::Value,
    /// The common configuration hash.
    pub config_hash: String,
    /// Every run once, sorted by key.
    pub runs: Vec<RunRecord>,
    /// Settings in report order (the first folder's, then new ones).
    pub order: Vec<String>,
    /// The first folder's distributions that has them (same configuration, same dataset: the
    /// same values).
    pub distributions: Option<super::distributions::Distributions>,
}

/// Joins the runs of `dirs`: same configuration hash everywhere, a run in several folders only
/// if identical there.
pub fn merge_dirs(dirs: &[PathBuf]) -> Result<Merged, ReportError> {
    let Some(first_dir) = dirs.first() else {
        return Err(ReportError::NoInput);
    };
    let first = read_runs_dir(first_dir)?;
    let mut order = first.settings.clone();
    let mut distributions = first.distributions.clone();
    let mut runs: BTreeMap<String, (PathBuf, RunRecord)> = BTreeMap::new();
    for dir in dirs {
        let d = if dir == first_dir {
            first.clone()
        } else {
            read_runs_dir(dir)?
        };
        if d.config_hash != first.config_hash {
            return Err(ReportError::ConfigMismatch {
                first: first_dir.join("experiment.json"),
                first_hash: first.config_hash.clone(),
                other: dir.join("experiment.json"),
                other_hash: d.config_hash,
            });
        }
        if distributions.is_none() {
            distributions = d.distributions.clone();
        }
        for s in &d.settings {
            if !order.contains(s) {
                order.push(s.clone());
            }
        }
        for run in d.runs {
            let key = run.key();
            let same_run = |a: &RunRecord, b: &RunRecord| {
                RunRecord {
                    checkpoint: None,
                    ..a.clone()
                } == RunRecord {
                    checkpoint: None,
                    ..b.clone()
                }
            };
            match runs.get(&key) {
                Some((seen_in, seen)) if !same_run(seen, &run) => {
                    return Err(ReportError::Conflict {
                        key,
                        first: seen_in.clone(),
                        other: dir.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    runs.insert(key, (dir.clone(), run));
                }
            }
        }
    }
    let mut config = first.display_config;
    if let serde_json::Value::Object(map) = &mut config {
        map.remove("shard");
        map.insert(
            "merged from".into(),
            serde_json::Value::String(
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
    }
    Ok(Merged {
        config,
        config_hash: first.config_hash,
        runs: runs.into_values().map(|(_, r)| r).collect(),
        order,
        distributions,
    })
}

/// A merged report: the document written and the plots taken over from the folders.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedReport {
    /// `results.json`'s document.
    pub doc: ResultsDoc,
    /// The dataset and learned-PCEN plots copied from the merged folders, and those missing.
    pub carried: Carried,
}

/// [`merge_dirs`], then [`write_report`] into `out` (created if missing), then
/// [`carry_plots`]: the plots the report links to that come from the folders' data.
pub fn write_merged_report(dirs: &[PathBuf], out: &Path) -> Result<MergedReport, ReportError> {
    let m = merge_dirs(dirs)?;
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let doc = write_report(
        out,
        m.config,
        &m.config_hash,
        m.runs,
        &m.order,
        m.distributions,
    )?;
    let carried = carry_plots(dirs, out, &doc)?;
    Ok(MergedReport { doc, carried })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{fixed, order};
    use super::*;

    /// An output folder holding `runs` under configuration hash `hash`.
    fn folder(root: &Path, name: &str, hash: &str, runs: &[RunRecord]) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("runs")).unwrap();
        let exp = serde_json::json!({
            "config_hash": hash,
            "config": {"settings": order()},
        });
        std::fs::write(dir.join("experiment.json"), exp.to_string()).unwrap();
        for r in runs {
            let r = RunRecord {
                config_hash: hash.into(),
                ..r.clone()
            };
            let path = dir.join("runs").join(format!("{}.json", r.key()));
            std::fs::write(path, serde_json::to_string(&r).unwrap()).unwrap();
        }
        dir
    }

    #[test]
    fn two_shards_give_the_report_of_one_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let all = fixed();
        let (a, b): (Vec<_>, Vec<_>) = all
            .iter()
            .cloned()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let a: Vec<RunRecord> = a.into_iter().map(|(_, r)| r).collect();
        let b: Vec<RunRecord> = b.into_iter().map(|(_, r)| r).collect();
        let one = folder(tmp.path(), "one", "h", &all);
        let s1 = folder(tmp.path(), "s1", "h", &a);
        // A run present in both shards, identical, is counted once.
        let s2 = folder(
            tmp.path(),
            "s2",
            "h",
            &[b.clone(), vec![a[0].clone()]].concat(),
        );
        let whole = write_merged_report(&[one], &tmp.path().join("whole"))
            .unwrap()
            .doc;
        let merged = write_merged_report(&[s1, s2], &tmp.path().join("merged")).unwrap();
        // These folders hold runs only: no plot to carry, each named as missing.
        assert!(merged.carried.copied.is_empty());
        assert_eq!(merged.carried.missing.len(), 2, "{:?}", merged.carried);
        let merged = merged.doc;
        assert_eq!(merged.runs.len(), all.len());
        let strip = |rs: &[RunRecord]| -> Vec<RunRecord> {
            rs.iter()
                .map(|r| RunRecord {
                    checkpoint: None,
                    ..r.clone()
                })
                .collect()
        };
        assert_eq!(strip(&merged.runs), strip(&whole.runs));
        let drop_best = |mut s: super::super::ResultsSummary| {
            for x in &mut s.settings {
                x.best = None;
            }
            s
        };
        assert_eq!(drop_best(merged.summary), drop_best(whole.summary));
        assert!(tmp.path().join("merged/results.md").is_file());
        // Checkpoints point into the folder the run came from.
        let ck = merged.runs[0].checkpoint.as_deref().unwrap();
        assert!(ck.contains("/s1/") || ck.contains("/s2/"), "{ck}");
    }

    #[test]
    fn different_configurations_and_conflicting_runs_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = fixed();
        let a = folder(tmp.path(), "a", "h1", &runs[..3]);
        let b = folder(tmp.path(), "b", "h2", &runs[3..]);
        let err = merge_dirs(&[a.clone(), b]).unwrap_err().to_string();
        assert!(
            err.contains("h1") && err.contains("h2") && err.contains("/b/"),
            "{err}"
        );
        let mut changed = runs[0].clone();
        changed.final_accuracy += 0.01;
        let c = folder(tmp.path(), "c", "h1", &[changed]);
        let err = merge_dirs(&[a.clone(), c]).unwrap_err().to_string();
        assert!(err.contains(&runs[0].key()), "{err}");
        let err = merge_dirs(&[tmp.path().join("missing")]).unwrap_err();
        assert!(matches!(err, ReportError::NotAnExperiment { .. }));
        assert!(matches!(merge_dirs(&[]), Err(ReportError::NoInput)));
        // A run file of another configuration inside a folder.
        let d = folder(tmp.path(), "d", "h1", &[]);
        let stray = RunRecord {
            config_hash: "zz".into(),
            ..runs[1].clone()
        };
        std::fs::write(
            d.join("runs/stray.json"),
            serde_json::to_string(&stray).unwrap(),
        )
        .unwrap();
        let err = read_runs_dir(&d).unwrap_err().to_string();
        assert!(err.contains("stray.json") && err.contains("zz"), "{err}");
    }
}
