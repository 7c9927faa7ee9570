//! `specnorm experiment` survives SIGKILL: runs finished before the kill are
//! complete files, are not redone, and the re-run finishes the rest (needs
//! libtorch on LD_LIBRARY_PATH, which `cargo xtask test` exports).
#![cfg(feature = "train")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use specnorm_experiment::results::RunRecord;

const SETTINGS: [&str; 3] = ["waveform", "channel", "instance"];
const SEEDS: u64 = 2;

fn experiment(data: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    c.arg("experiment")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--settings")
        .arg(SETTINGS.join(","))
        .args(["--runs", &SEEDS.to_string()])
        .args(["--epochs", "2", "--model", "small", "--threads", "1"])
        .args(["--device", "cpu", "--no-export"]);
    c
}

/// Every `*.json` under `runs/`, parsed (a partial file fails the parse), with
/// its bytes. Anything else there must not look like a run file.
fn finished_runs(runs: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(runs) else {
        return out;
    };
    for e in entries {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        assert!(
            !name.starts_with('.'),
            "temporary file visible as a run: {name}"
        );
        let bytes = std::fs::read(&path).unwrap();
        let r: RunRecord = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{name} is not a complete run file: {e}"));
        assert_eq!(format!("{}.json", r.key()), name);
        assert_eq!(r.epochs.len(), 2, "{name}");
        out.insert(name, bytes);
    }
    out
}

fn count_in(text: &str, before: &str) -> usize {
    // "... trained N run(s), skipped M finished run(s) ..."
    let head = text.split(before).next().unwrap();
    head.rsplit(' ')
        .find(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count before {before:?} in {text:?}"))
}

#[test]
fn killed_experiment_resumes_without_redoing_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    tiny_synth(&data);
    let runs_dir = out.join("runs");
    let log: PathBuf = dir.path().join("first.log");

    // First attempt: killed (SIGKILL) as soon as one run is on disk.
    let mut child = experiment(&data, &out)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "experiment exited ({status}) before it could be killed:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let n = std::fs::read_dir(&runs_dir).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.ends_with(".json") && !n.starts_with('.')
                })
                .count()
        });
        if n >= 1 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no run finished within 120 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL on unix: no cleanup code runs
    let status = child.wait().unwrap();
    assert!(!status.success(), "the process was killed, not finished");
    let before = finished_runs(&runs_dir);
    let total = SETTINGS.len() * SEEDS as usize;
    eprintln!(
        "killed after {:.1} s with {} of {total} runs on disk",
        t0.elapsed().as_secs_f64(),
        before.len()
    );
    assert!(!before.is_empty());
    assert!(
        before.len() < total,
        "all runs finished before the kill; nothing to resume"
    );
    assert!(!out.join("results.json").exists(), "report before the end");

    // Second attempt: runs to completion, skipping what is on disk.
    let o = experiment(&data, &out).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("trained "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    let trained = count_in(line, " run(s), skipped");
    let skipped = count_in(line, " finished run(s)");
    // The process is dead: exactly the runs on disk are skipped.
    assert_eq!(
        skipped,
        before.len(),
        "{line}: {} were on disk",
        before.len()
    );
    assert!(skipped > 0 && trained > 0, "{line}");
    assert_eq!(trained + skipped, total, "{line}");
    for k in before.keys() {
        let key = k.trim_end_matches(".json");
        assert!(
            stderr.contains(&format!("{key}: already finished, skipped")),
            "{key} not reported skipped:\n{stderr}"
        );
    }

    // All runs are in the report, and the ones finished before the kill are
    // untouched (byte for byte).
    let after = finished_runs(&runs_dir);
    assert_eq!(after.len(), total);
    for (name, bytes) in &before {
        assert_eq!(&after[name], bytes, "{name} was rewritten");
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let mut keys: Vec<String> = results["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}_f{}_s{}",
                r["setting"].as_str().unwrap(),
                r["fold"],
                r["seed"]
            )
        })
        .collect();
    keys.sort();
    let mut want: Vec<String> = SETTINGS
        .iter()
        .flat_map(|s| (0..SEEDS).map(move |seed| format!("{s}_f1_s{seed}")))
        .collect();
    want.sort();
    assert_eq!(keys, want);
}
