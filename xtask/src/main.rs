//! `cargo xtask`: specnorm's automation, in the style of rust-analyzer's xtask.
//!
//! * `setup [--cuda]`   install libtorch (PyPI torch wheel), onnxruntime and the Python
//!   package (`python/`, with pytest, dask, distributed) into `.venv/`
//! * `test`             setup, then fmt, clippy, every test of the workspace and pytest
//! * `bench [--python]` feature-pipeline throughput, specnorm vs torchaudio, same clips
//! * `experiment ...`   setup, then `specnorm experiment ...` (release build)
//! * `download-esc50`   fetch and verify the real ESC-50 archive (needs internet)
//! * `env`              print the environment the other commands export
//!
//! xtask itself never links libtorch or onnxruntime, so it builds on a bare machine.

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
  bench [--clips N] [--no-torchaudio] [--python]
                          feature pipeline clips/s, specnorm vs torchaudio 2.11 on the same clips;
                          --python adds the Python package (extract, DataLoader, threads)
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
        "bench" => bench(&root, rest),
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
    let mut t = cargo(root, &env);
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
    python::test(root)
}

/// Feature-pipeline benchmark: specnorm and torchaudio on the same generated clips.
fn bench(root: &Path, rest: &[String]) -> Result<()> {
    let mut clips = 400usize;
    let mut torchaudio = true;
    let mut python = false;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--clips" => {
                clips = it
                    .next()
                    .context("--clips needs a number")?
                    .parse()
                    .context("--clips")?
            }
            "--no-torchaudio" => torchaudio = false,
            "--python" => python = true,
            other => bail!("unknown bench option '{other}'"),
        }
    }
    let dir = root.join("target/bench-clips");
    let env = setup::RuntimeEnv::empty();
    let mut c = cargo(root, &env);
    c.args(["run", "--release", "-p", "specnorm", "--", "bench", "--dir"]);
    c.arg(&dir);
    c.args(["--clips", &clips.to_string(), "--json"]);
    c.arg(dir.join("specnorm.json"));
    run(c)?;
    if torchaudio {
        let py = setup::bench_venv(root)?;
        let mut p = Command::new(py);
        p.arg(root.join("xtask/bench/torchaudio_pipeline.py"))
            .arg(&dir)
            .arg(dir.join("torchaudio.json"))
            .env("OMP_NUM_THREADS", "2");
        run(p)?;
        let ours = read_rate(&dir.join("specnorm.json"))?;
        let theirs = read_rate(&dir.join("torchaudio.json"))?;
        println!(
            "feature pipeline on {clips} ESC-50-shaped clips: specnorm {ours:.0} clips/s, torchaudio {theirs:.0} clips/s, ratio {:.2}x",
            ours / theirs
        );
    }
    if python {
        python::bench(root, &dir)?;
    }
    Ok(())
}

fn read_rate(path: &Path) -> Result<f64> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // Tiny, format-specific read: the files are written by our own tools as {"clips_per_sec": X, ...}.
    let key = "\"clips_per_sec\":";
    let at = text
        .find(key)
        .with_context(|| format!("{} has no clips_per_sec", path.display()))?;
    let tail = text[at + key.len()..].trim_start();
    let end = tail.find([',', '}']).unwrap_or(tail.len());
    tail[..end]
        .trim()
        .parse()
        .with_context(|| format!("bad clips_per_sec in {}", path.display()))
}
