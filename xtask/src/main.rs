//! `cargo xtask`: specnorm's automation, in the style of rust-analyzer's xtask.
//!
//! * `setup [--cuda]`   install libtorch (PyPI torch wheel), onnxruntime and the Python
//!   package (`python/`, with pytest, dask, distributed) into `.venv/`
//! * `test`             setup, then fmt, clippy, every test of the workspace and pytest
//! * `bench`            specnorm vs torchaudio, same clips: one core, all cores, `stats` end to
//!   end (`--python` adds the Python package); `bench --train`: training throughput against
//!   PyTorch eager on the same libtorch
//! * `experiment ...`   setup, then `specnorm experiment ...` (release build)
//! * `download-esc50`   fetch and verify the real ESC-50 archive (needs internet)
//! * `env`              print the environment the other commands export
//!
//! xtask itself never links libtorch or onnxruntime, so it builds on a bare machine.

mod bench;
mod bench_train;
mod esc50;
mod python;
mod setup;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  setup [--cuda]          install libtorch + onnxruntime (PyPI wheels) and the Python package
                          (python/, plus maturin, pytest, dask, distributed) into .venv/
                          --cuda installs torch==2.13.0 with all CUDA dependencies (GPU machines)
  test                    setup, cargo fmt --check, clippy -D warnings, all workspace tests, pytest
  bench [--clips N] [--passes P] [--dir DIR] [--no-torchaudio] [--python]
                          specnorm vs torchaudio 2.11, same clips, best of P: one core, whole
                          machine, `stats` end to end; writes DIR/bench.json and a table;
                          --python adds the Python package (extract, DataLoader, threads)
  bench --train [--models small,xresnet18] [--batch B] [--steps S] [--repeats R]
                [--rounds N] [--threads T] [--device cpu|cuda|auto] [--dir DIR]
                          training samples/s, specnorm-train vs PyTorch eager on the same
                          libtorch (with and without channels-last); N rounds alternate the
                          two sides model by model (best of all runs); writes DIR/train.json
  experiment [ARGS...]    setup, then run `specnorm experiment ARGS...` in release mode
  download-esc50 [--dest DIR] [--archive ZIP]
                          download (or take ZIP), verify and unpack ESC-50 into DIR (default data/ESC-50-master)
  env                     print the exported environment (eval \"$(cargo xtask env)\")
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &args[1..];
    let root = project_root();
    match cmd.as_str() {
        "setup" => {
            let env = setup::setup(&root, setup::Options::parse(rest)?)?;
            python::setup(&root)?;
            eprintln!("setup complete: LIBTORCH={}", env.libtorch.display());
            Ok(())
        }
        "env" => {
            let env = setup::RuntimeEnv::locate(&root)?;
            for (k, v) in env.vars() {
                println!("export {k}={}", shell_quote(&v));
            }
            Ok(())
        }
        "test" => test(&root, rest),
        "bench" if rest.iter().any(|a| a == "--train") => bench_train::bench(&root, rest),
        "bench" => bench::bench(&root, rest),
        "experiment" => {
            let env = setup::setup(&root, setup::Options::default_or_existing(&root))?;
            let mut c = cargo(&root, &env);
            c.args([
                "run",
                "--release",
                "-p",
                "specnorm",
                "--features",
                "train,infer",
                "--",
                "experiment",
            ]);
            c.args(rest);
            run(c)
        }
        "download-esc50" => esc50::main(&root, rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command '{other}'\n{USAGE}"),
    }
}

/// The workspace root (xtask lives one level below it).
fn project_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A `cargo` command in the workspace root with the runtime environment exported.
fn cargo(root: &Path, env: &setup::RuntimeEnv) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root);
    for (k, v) in env.vars() {
        c.env(k, v);
    }
    c
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set (relative to `root`), else
/// `root/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root.join(d),
        _ => root.join("target"),
    }
}

fn run(mut c: Command) -> Result<()> {
    eprintln!("$ {c:?}");
    let status = c.status().with_context(|| format!("cannot start {c:?}"))?;
    if !status.success() {
        bail!("command failed ({status}): {c:?}");
    }
    Ok(())
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Every check CI runs: formatting, lints, all tests including the libtorch
/// and onnxruntime crates.
fn test(root: &Path, rest: &[String]) -> Result<()> {
    let env = setup::setup(root, setup::Options::default_or_existing(root))?;
    let mut fmt = cargo(root, &env);
    fmt.args(["fmt", "--all", "--check"]);
    run(fmt)?;
    let mut clippy = cargo(root, &env);
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    // crates/export/tests/python_check.rs runs onnx's checker and onnxruntime with it.
    let python = python::install_tools(root)?;
    let mut t = cargo(root, &env);
    t.env("SPECNORM_PYTHON", &python);
    if has_nextest() {
        t.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ]);
    } else {
        t.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
    }
    t.args(rest);
    run(t)?;
    let mut doc = cargo(root, &env);
    doc.args(["test", "--doc", "--workspace", "--all-features"]);
    run(doc)?;
    python::test(root, &env)
}
