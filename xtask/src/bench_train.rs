//! `cargo xtask bench --train`: training throughput of specnorm-train (tch) against PyTorch
//! eager on the same libtorch (`.venv/`'s torch 2.13, which tch links), same models, same
//! `[B, 1, 201, 401]` inputs, same thread count, in one run: the Rust example
//! `crates/train/examples/throughput.rs` and `crates/train/bench/torch_throughput.py`,
//! alternating model by model for `--rounds` rounds (a shared machine's load then falls on
//! both sides alike); each set-up reports its best run over all rounds.
//! Installs the `--cuda` profile of `cargo xtask setup` (torch with its CUDA libraries:
//! Python's `import torch` needs them even on CPU).
//!
//! Writes `<dir>/train.json` (both sides and the load average before and after) and prints a
//! table (also `<dir>/train.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::bench::{load_average, read_json};
use crate::setup;

/// Options of `cargo xtask bench --train`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Models (comma-separated list passed on).
    pub models: String,
    /// Batch size.
    pub batch: usize,
    /// Timed steps per run.
    pub steps: usize,
    /// Runs per set-up and round (best of all rounds reported).
    pub repeats: usize,
    /// Rounds: each runs both sides, model by model, alternating.
    pub rounds: usize,
    /// Intra-op threads on both sides.
    pub threads: usize,
    /// `cpu`, `cuda` or `auto`.
    pub device: String,
    /// Output folder.
    pub dir: Option<PathBuf>,
}

impl Options {
    pub fn parse(rest: &[String]) -> Result<Options> {
        let mut o = Options {
            models: "small,xresnet18".into(),
            batch: 32,
            steps: 3,
            repeats: 3,
            rounds: 1,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            device: "auto".into(),
            dir: None,
        };
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
            let count = |name: &str, v: &String| -> Result<usize> {
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{name} must be a positive integer, got {v:?}"),
                }
            };
            match a.as_str() {
                "--train" => {}
                "--models" => o.models = value("--models")?.clone(),
                "--batch" => o.batch = count("--batch", value("--batch")?)?,
                "--steps" => o.steps = count("--steps", value("--steps")?)?,
                "--repeats" => o.repeats = count("--repeats", value("--repeats")?)?,
                "--rounds" => o.rounds = count("--rounds", value("--rounds")?)?,
                "--threads" => o.threads = count("--threads", value("--threads")?)?,
                "--device" => o.device = value("--device")?.clone(),
                "--dir" => o.dir = Some(PathBuf::from(value("--dir")?)),
                other => bail!("unknown bench --train option '{other}'"),
            }
        }
        Ok(o)
    }

    /// The arguments both sides get for one model.
    fn shared_args(&self, model: &str) -> Vec<String> {
        let mut v = Vec::new();
        for (k, x) in [
            ("--models", model.to_string()),
            ("--batch", self.batch.to_string()),
            ("--steps", self.steps.to_string()),
            ("--repeats", self.repeats.to_string()),
            ("--threads", self.threads.to_string()),
            ("--device", self.device.clone()),
        ] {
            v.push(k.to_string());
            v.push(x);
        }
        v
    }
}

pub fn bench(root: &Path, rest: &[String]) -> Result<()> {
    let o = Options::parse(rest)?;
    let dir = o
        .dir
        .clone()
        .unwrap_or_else(|| root.join("target/bench-train"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // `import torch` loads libtorch_cuda and its CUDA libraries even on a CPU-only machine,
    // so the PyTorch side needs the full torch install (`cargo xtask setup --cuda`); the
    // libtorch tch links is the same either way.
    let env = setup::setup(root, setup::Options::Cuda)?;
    let py = setup::venv(root).join("bin/python");
    let mut build = crate::cargo(root, &env);
    build.args([
        "build",
        "--release",
        "-p",
        "specnorm-train",
        "--example",
        "throughput",
    ]);
    crate::run(build)?;
    let bin = crate::target_dir(root).join("release/examples/throughput");
    let load_start = load_average();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut loads = Vec::new();
    for round in 0..o.rounds {
        for model in o.models.split(',').filter(|m| !m.is_empty()) {
            let out = dir.join(format!("specnorm-{model}-{round}.json"));
            let mut c = Command::new(&bin);
            c.args(o.shared_args(model)).arg("--json").arg(&out);
            for (k, v) in env.vars() {
                c.env(k, v);
            }
            crate::run(c)?;
            ours.push(read_json(&out)?);
            let out = dir.join(format!("pytorch-{model}-{round}.json"));
            let mut p = Command::new(&py);
            p.arg(root.join("crates/train/bench/torch_throughput.py"))
                .args(o.shared_args(model))
                .arg("--json")
                .arg(&out);
            crate::run(p)?;
            theirs.push(read_json(&out)?);
        }
        loads.push(load_average());
    }
    let result = json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "rounds": o.rounds,
        "load_average_at_start": load_start,
        "load_average_after_each_round": loads,
        "load_average_at_end": load_average(),
        "specnorm": merge(&ours)?,
        "pytorch": merge(&theirs)?,
    });
    let table = table(&result);
    std::fs::write(
        dir.join("train.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    std::fs::write(dir.join("train.md"), &table)?;
    println!("{table}");
    println!("wrote {} and train.md", dir.join("train.json").display());
    Ok(())
}

/// One side's result files (one per model and round) as one: the first file's fields, and
/// per (model, set-up) all runs of all rounds with the best as `samples_per_sec`.
fn merge(parts: &[Value]) -> Result<Value> {
    let Some(first) = parts.first() else {
        bail!("no results to merge");
    };
    let mut out = first.clone();
    let mut results: Vec<Value> = Vec::new();
    for r in parts
        .iter()
        .filter_map(|p| p["results"].as_array())
        .flatten()
    {
        let runs = r["runs"].as_array().cloned().unwrap_or_default();
        let best = r["samples_per_sec"].as_f64().unwrap_or(0.0);
        let same = |x: &&mut Value| x["model"] == r["model"] && x["setup"] == r["setup"];
        match results.iter_mut().find(|x| same(x)) {
            Some(x) => {
                if let Some(all) = x["runs"].as_array_mut() {
                    all.extend(runs);
                }
                if best > x["samples_per_sec"].as_f64().unwrap_or(0.0) {
                    x["samples_per_sec"] = json!(best);
                }
            }
            None => results.push(r.clone()),
        }
    }
    out["results"] = json!(results);
    Ok(out)
}

/// `(model, set-up) -> samples/s` of one side.
fn rates(side: &Value) -> Vec<(String, String, f64)> {
    side["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    Some((
                        r["model"].as_str()?.to_string(),
                        r["setup"].as_str()?.to_string(),
                        r["samples_per_sec"].as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The table of a result: one row per model and set-up, then each side's best per model.
pub fn table(r: &Value) -> String {
    let (s, t) = (&r["specnorm"], &r["pytorch"]);
    let ours = rates(s);
    let theirs = rates(t);
    let find = |v: &[(String, String, f64)], m: &str, set: &str| {
        v.iter().find(|(a, b, _)| a == m && b == set).map(|x| x.2)
    };
    let cell = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.2}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "—".into(),
    };
    let mut out = format!(
        "Training throughput, samples/s (input {}, {} threads, {} device; best of {} runs of {} \
         steps after a warm-up step, in each of {} rounds alternating the two sides); {} vs {}; \
         load average {} at start, {} at end\n\n\
         | model | set-up | specnorm | PyTorch eager | specnorm / PyTorch |\n|---|---|---|---|---|\n",
        s["input"],
        s["threads"],
        s["device"].as_str().unwrap_or("?"),
        s["repeats"],
        s["steps"],
        r["rounds"].as_u64().unwrap_or(1),
        s["tool"].as_str().unwrap_or("?"),
        t["tool"].as_str().unwrap_or("?"),
        r["load_average_at_start"].as_str().unwrap_or("?"),
        r["load_average_at_end"].as_str().unwrap_or("?"),
    );
    let mut models: Vec<&str> = ours.iter().map(|x| x.0.as_str()).collect();
    models.dedup();
    for m in &models {
        for (_, set, a) in ours.iter().filter(|x| x.0 == *m) {
            let b = find(&theirs, m, set);
            out += &format!(
                "| {m} | {set} | {} | {} | {} |\n",
                cell(Some(*a)),
                cell(b),
                ratio(Some(*a), b)
            );
        }
        let best = |v: &[(String, String, f64)]| {
            v.iter()
                .filter(|x| x.0 == *m)
                .max_by(|a, b| a.2.total_cmp(&b.2))
                .map(|x| (x.1.clone(), x.2))
        };
        let (bo, bt) = (best(&ours), best(&theirs));
        out += &format!(
            "| {m} | **best of each** | {} ({}) | {} ({}) | {} |\n",
            cell(bo.as_ref().map(|x| x.1)),
            bo.as_ref().map_or("—", |x| x.0.as_str()),
            cell(bt.as_ref().map(|x| x.1)),
            bt.as_ref().map_or("—", |x| x.0.as_str()),
            ratio(bo.as_ref().map(|x| x.1), bt.as_ref().map(|x| x.1))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_reject() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = Options::parse(&args(&["--train", "--batch", "8", "--models", "small"])).unwrap();
        assert_eq!((o.batch, o.models.as_str(), o.steps), (8, "small", 3));
        assert_eq!(o.rounds, 1);
        assert_eq!(Options::parse(&args(&["--rounds", "3"])).unwrap().rounds, 3);
        assert!(Options::parse(&args(&["--rounds", "0"])).is_err());
        assert!(Options::parse(&args(&["--batch", "0"])).is_err());
        assert!(Options::parse(&args(&["--steps"])).is_err());
        assert!(Options::parse(&args(&["--clips", "3"])).is_err());
    }

    #[test]
    fn merge_keeps_every_run_and_the_best() {
        let part = |model: &str, a: f64, runs: &[f64]| {
            json!({"tool": "t", "results": [{"model": model, "setup": "resident",
                                             "samples_per_sec": a, "runs": runs}]})
        };
        let m = merge(&[
            part("small", 3.0, &[2.0, 3.0]),
            part("xresnet18", 1.0, &[1.0]),
            part("small", 4.0, &[4.0, 1.0]),
        ])
        .unwrap();
        let r = m["results"].as_array().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["samples_per_sec"], json!(4.0));
        assert_eq!(r[0]["runs"], json!([2.0, 3.0, 4.0, 1.0]));
        assert_eq!(r[1]["model"], json!("xresnet18"));
        assert_eq!(m["tool"], json!("t"));
        assert!(merge(&[]).is_err());
    }

    #[test]
    fn table_pairs_set_ups_and_bests() {
        let side = |tool: &str, a: f64, b: f64| {
            json!({"tool": tool, "input": [8, 1, 201, 401], "threads": 2, "device": "Cpu",
                   "repeats": 3, "steps": 2,
                   "results": [{"model": "small", "setup": "resident", "samples_per_sec": a},
                               {"model": "small", "setup": "resident, channels-last", "samples_per_sec": b}]})
        };
        let r = json!({"load_average_at_start": "0.5 0.4 0.3", "load_average_at_end": "0.6 0.4 0.3",
                       "specnorm": side("specnorm", 30.0, 40.0), "pytorch": side("torch", 20.0, 50.0)});
        let t = table(&r);
        assert!(
            t.contains("| small | resident | 30.00 | 20.00 | 1.50x |"),
            "{t}"
        );
        assert!(
            t.contains("| small | **best of each** | 40.00 (resident, channels-last) | 50.00 (resident, channels-last) | 0.80x |"),
            "{t}"
        );
        assert!(t.contains("load average 0.5 0.4 0.3 at start"), "{t}");
    }
}
