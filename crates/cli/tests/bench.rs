//! `specnorm bench` cannot rot: it runs on a tiny clip count (no timing
//! assertion), writes every field `cargo xtask bench` reads, and its clip folder
//! is a dataset `specnorm stats` accepts (the bench's end-to-end measurement).

use std::ffi::OsStr;
use std::process::Command;

/// Run `specnorm ARGS` and insist it succeeds.
fn specnorm(args: &[&dyn AsRef<OsStr>]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    for a in args {
        cmd.arg(a);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bench_runs_on_a_tiny_set_and_its_clips_feed_stats() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let d = dir.path();
    let bench: [&dyn AsRef<OsStr>; 11] = [
        &"bench",
        &"--dir",
        &d,
        &"--clips",
        &"5",
        &"--passes",
        &"1",
        &"--sample",
        &"2",
        &"--json",
        &json,
    ];
    specnorm(&bench);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["clips"], 5);
    for key in ["one_core", "all_cores"] {
        let rate = v[key]["clips_per_sec"].as_f64().unwrap();
        assert!(rate.is_finite() && rate > 0.0, "{key}: {rate}");
    }
    assert!(v["in_memory_ms_per_clip"].as_f64().unwrap() > 0.0);
    for stage in ["read", "decode", "resample", "normalize_pad", "stft_db"] {
        assert!(v["per_clip_ms"][stage].as_f64().unwrap() >= 0.0, "{stage}");
    }
    let stats = dir.path().join("stats/stats.json");
    specnorm(&[
        &"stats",
        &"--data",
        &d,
        &"--valid-fold",
        &"1",
        &"--axes",
        &"channel",
        &"--out",
        &stats,
    ]);
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["provenance"]["clips"], 4, "folds 2-5 of 5 clips");
}
