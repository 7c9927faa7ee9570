//! Helpers shared by the CLI's integration tests (each test file is its own crate and uses a
//! part of them).
#![allow(dead_code)]

pub mod scale;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `specnorm` binary with `args`.
pub fn specnorm(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("the specnorm binary runs")
}

/// Its standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command succeeded (else both outputs are shown).
#[track_caller]
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// The command failed and its standard error holds every part of `parts`.
#[track_caller]
pub fn assert_fails_with(o: &Output, parts: &[&str]) {
    assert!(!o.status.success(), "succeeded: {}", stdout(o));
    let e = stderr(o);
    for p in parts {
        assert!(e.contains(p), "stderr lacks {p:?}:\n{e}");
    }
}

/// A generated ESC-50-layout set: 3 classes x 10 clips of 1 s at 16 kHz in 5 folds.
pub fn tiny_synth(root: &Path) {
    let synth = specnorm_experiment::synth::SynthConfig {
        n_classes: 3,
        clips_per_class: 10,
        n_folds: 5,
        duration_s: 1.0,
        sample_rate: 16_000,
        ..specnorm_experiment::synth::SynthConfig::default()
    };
    specnorm_experiment::synth::generate(root, &synth).expect("generating the tiny set");
}
