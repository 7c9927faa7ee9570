//! Faults while an experiment writes (needs libtorch, which `cargo xtask test` exports, and the
//! `fault-injection` feature of specnorm-atomic, which this package's tests enable): a full disk
//! while writing a checkpoint or the report makes `specnorm experiment` exit non-zero naming the
//! path and the OS error, leaves no temporary or partial file, and a re-run resumes; a second
//! experiment on a locked `--out` refuses.
#![cfg(feature = "train")]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// One setting, two seeds, one epoch of the small model.
fn experiment(data: &Path, out: &Path, fail: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    c.arg("experiment")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--settings", "global", "--runs", "2", "--epochs", "1"])
        .args([
            "--model",
            "small",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--no-export",
        ]);
    match fail {
        Some(pattern) => c.env(specnorm_atomic::FAIL_WRITES_ENV, pattern),
        None => c.env_remove(specnorm_atomic::FAIL_WRITES_ENV),
    };
    c.output().unwrap()
}

/// Every file under `dir` whose name marks it as temporary (`.name.pid.n.tmp`).
fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".tmp") {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_full_disk_while_writing_fails_cleanly_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    tiny_synth(&data);
    let out = dir.path().join("out");

    // The second run's checkpoint cannot be written.
    let o = experiment(&data, &out, Some("checkpoints/global_f1_s1"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let ckpt = out.join("checkpoints/global_f1_s1.safetensors");
    assert!(err.contains(&ckpt.display().to_string()), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    assert!(!ckpt.exists());
    assert!(out.join("runs/global_f1_s0.json").is_file());
    assert!(
        !out.join("runs/global_f1_s1.json").exists(),
        "no record of the failed run"
    );
    let first = std::fs::read(out.join("runs/global_f1_s0.json")).unwrap();

    // The report cannot be written: all runs finish, the command fails naming results.md.
    let o = experiment(&data, &out, Some("results.md"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&out.join("results.md").display().to_string()),
        "{err}"
    );
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!stdout.contains("trained "), "{stdout}");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    assert!(!out.join("results.md").exists());
    assert!(
        out.join("runs/global_f1_s1.json").is_file(),
        "the resumed run was saved"
    );

    // Re-run: both runs are skipped, the report is written, the first run is untouched.
    let o = experiment(&data, &out, None);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("trained 0 run(s), skipped 2 finished run(s)"),
        "{stdout}"
    );
    assert!(out.join("results.md").is_file() && out.join("results.json").is_file());
    assert_eq!(
        std::fs::read(out.join("runs/global_f1_s0.json")).unwrap(),
        first
    );
}

#[test]
fn a_second_experiment_on_a_locked_out_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    // Another process holding the folder: this test process takes the lock.
    let held = specnorm_atomic::lock_dir(&out).unwrap();
    let o = experiment(&data, &out, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!("cannot start: --out {} is locked", out.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "is in use by another process (pid {})",
            std::process::id()
        )),
        "{err}"
    );
    drop(held);
    // Released: the folder can be used again (here it fails on the missing dataset instead).
    let o = experiment(&data, &out, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("is locked"), "{err}");
}
