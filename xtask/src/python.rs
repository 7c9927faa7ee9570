//! The Python package (`python/`): build it, install it, test it, benchmark it.
//!
//! * `setup` installs the pinned Python tools (maturin, pytest, dask, distributed) into
//!   `.venv/`, builds the abi3 wheel once (`maturin build --release`) and installs it.
//! * `test` runs pytest (`python/tests`) in `.venv/` with `SPECNORM_BIN` pointing at the CLI,
//!   then the PyTorch tests in `.venv-bench/`: `.venv/`'s CPU libtorch has no CUDA libraries,
//!   so `import torch` works only in the full torch install of the benchmark venv.
//! * `bench` runs `python/bench/bench.py` in `.venv-bench/` (torchaudio is only there).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::setup;

/// Pinned tools of the project venv.
const TOOLS: [&str; 5] = [
    "maturin==1.16.0",
    "pytest==9.2.0",
    "dask==2026.8.0",
    "distributed==2026.8.0",
    // The export test's Python half: onnx.checker beside onnxruntime (crates/export/tests).
    "onnx==1.23.2",
];
const TOOLS_MARKER: &str = "specnorm-python-tools.txt";

/// Installs the Python tools into `.venv/` (once per tool list); returns its python.
pub fn install_tools(root: &Path) -> Result<PathBuf> {
    let venv = setup::venv(root);
    let marker = venv.join(TOOLS_MARKER);
    let want = format!("{}\n", TOOLS.join(" "));
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(want.as_str()) {
        setup::pip(&venv, &TOOLS)?;
        std::fs::write(&marker, &want).with_context(|| format!("writing {}", marker.display()))?;
    }
    Ok(venv.join("bin/python"))
}

/// Installs the tools (once) and the freshly built package into `.venv/`.
pub fn setup(root: &Path) -> Result<PathBuf> {
    install_tools(root)?;
    let wheel = build_wheel(root)?;
    install_wheel(&setup::venv(root), &wheel)?;
    Ok(wheel)
}

/// `maturin build --release` of `python/`: one abi3 wheel for every CPython >= 3.9.
fn build_wheel(root: &Path) -> Result<PathBuf> {
    let out = root.join("target/wheels");
    if out.exists() {
        // only the wheel of this build may remain: its name does not change between builds
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let mut c = Command::new(setup::venv(root).join("bin/maturin"));
    c.current_dir(root)
        .args([
            "build",
            "--release",
            "--manifest-path",
            "python/Cargo.toml",
            "--out",
        ])
        .arg(&out);
    crate::run(c)?;
    let wheel = std::fs::read_dir(&out)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"));
    match wheel {
        Some(w) => Ok(w),
        None => bail!("maturin wrote no wheel into {}", out.display()),
    }
}

fn install_wheel(venv: &Path, wheel: &Path) -> Result<()> {
    let w = wheel.display().to_string();
    setup::pip(venv, &["--force-reinstall", "--no-deps", &w])
}

/// pytest on `tests` (paths relative to the root, from where the installed package, not the
/// source folder `python/specnorm`, is the one imported).
/// The runtime environment (`LD_LIBRARY_PATH` for libtorch) is exported, so the CLI that
/// the tests run (built with every feature, linking libtorch) starts.
fn pytest(python: &Path, root: &Path, env: &setup::RuntimeEnv, tests: &str) -> Result<()> {
    let mut c = Command::new(python);
    c.current_dir(root)
        .args(["-m", "pytest", "-q", "-rs", tests]);
    for (k, v) in env.vars() {
        c.env(k, v);
    }
    let cli = root.join("target/debug/specnorm");
    if cli.exists() {
        c.env("SPECNORM_BIN", cli);
    }
    crate::run(c)
}

/// `.venv-bench/` (torch, torchaudio) with `wheel` installed: (venv folder, its python).
fn bench_venv_with(root: &Path, wheel: &Path) -> Result<(PathBuf, PathBuf)> {
    let py = setup::bench_venv(root)?;
    let dir = py
        .parent()
        .and_then(Path::parent)
        .context("bench venv layout")?
        .to_path_buf();
    install_wheel(&dir, wheel)?;
    Ok((dir, py))
}

/// pytest in `.venv/`, then the torch tests in `.venv-bench/`.
pub fn test(root: &Path, env: &setup::RuntimeEnv) -> Result<()> {
    let wheel = setup(root)?;
    pytest(
        &setup::venv(root).join("bin/python"),
        root,
        env,
        "python/tests",
    )?;
    let (dir, py) = bench_venv_with(root, &wheel)?;
    setup::pip(&dir, &[TOOLS[1]])?;
    pytest(&py, root, env, "python/tests/test_torch.py")
}

/// `cargo xtask bench --python`: the package vs torchaudio on the clips in `clip_dir`.
pub fn bench(root: &Path, clip_dir: &Path) -> Result<()> {
    let wheel = setup(root)?;
    let (_, py) = bench_venv_with(root, &wheel)?;
    let mut c = Command::new(&py);
    c.arg(root.join("python/bench/bench.py"))
        .arg(clip_dir)
        .arg(clip_dir.join("python.json"));
    crate::run(c)
}
