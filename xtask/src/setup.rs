//! `cargo xtask setup`: libtorch and onnxruntime from PyPI wheels into `.venv/`.
//!
//! Facts this relies on (checked on the project's machines):
//! * PyPI has only the CUDA build of torch 2.13.0 for Linux x86_64. Its
//!   `libtorch_cpu.so` needs `libcudart.so.13` and `libcupti.so.13`, so the CPU
//!   profile installs torch with `--no-deps` plus exactly those two NVIDIA
//!   wheels (1.3 GB instead of 4.8 GB). `--cuda` installs the full dependency set.
//! * tch builds against `LIBTORCH=<site-packages>/torch` and sets no rpath, so
//!   `LD_LIBRARY_PATH` must be exported to every process that runs a binary.
//! * ort's `load-dynamic` needs `ORT_DYLIB_PATH` pointing at the versioned
//!   `libonnxruntime.so.1.31.1` (the wheel ships no unversioned name).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const TORCH: &str = "torch==2.13.0";
const CPU_EXTRAS: [&str; 2] = ["nvidia-cuda-runtime==13.0.96", "nvidia-cuda-cupti==13.0.85"];
const ONNXRUNTIME: &str = "onnxruntime==1.31.1";
const ORT_LIB: &str = "onnxruntime/capi/libonnxruntime.so.1.31.1";
const MARKER: &str = "specnorm-setup.txt";

/// Which libtorch install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Options {
    /// torch without dependencies + the two CUDA runtime libraries libtorch_cpu links.
    Cpu,
    /// torch with every CUDA dependency (GPU machines).
    Cuda,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        match args {
            [] => Ok(Options::Cpu),
            [a] if a == "--cuda" => Ok(Options::Cuda),
            other => bail!("unknown setup arguments {other:?} (expected nothing or --cuda)"),
        }
    }

    /// Keep a CUDA install if one is there; otherwise the CPU profile.
    pub fn default_or_existing(root: &Path) -> Options {
        match std::fs::read_to_string(venv(root).join(MARKER)) {
            Ok(s) if s.lines().next() == Some("cuda") => Options::Cuda,
            _ => Options::Cpu,
        }
    }

    fn marker(self) -> String {
        let name = match self {
            Options::Cpu => "cpu",
            Options::Cuda => "cuda",
        };
        format!("{name}\n{TORCH} {} {ONNXRUNTIME}\n", CPU_EXTRAS.join(" "))
    }
}

pub(crate) fn venv(root: &Path) -> PathBuf {
    root.join(".venv")
}

fn python() -> String {
    std::env::var("SPECNORM_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn site_packages(venv: &Path) -> Result<PathBuf> {
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib).with_context(|| format!("reading {}", lib.display()))?;
    for e in entries.flatten() {
        let sp = e.path().join("site-packages");
        if e.file_name().to_string_lossy().starts_with("python") && sp.is_dir() {
            return Ok(sp);
        }
    }
    bail!("no site-packages under {}", lib.display())
}

pub(crate) fn pip(venv: &Path, args: &[&str]) -> Result<()> {
    let mut c = Command::new(venv.join("bin/python"));
    c.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
    ]);
    c.args(args);
    crate::run(c)
}

fn ensure_venv(dir: &Path) -> Result<()> {
    if !dir.join("bin/python").exists() {
        let mut c = Command::new(python());
        c.args(["-m", "venv"]).arg(dir);
        crate::run(c).context("creating the Python venv (is python3 with venv installed?)")?;
    }
    Ok(())
}

/// Install (idempotently) and return the environment to export.
pub fn setup(root: &Path, opts: Options) -> Result<RuntimeEnv> {
    let dir = venv(root);
    let marker = dir.join(MARKER);
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(opts.marker().as_str()) {
        if let Ok(env) = RuntimeEnv::locate(root) {
            return Ok(env);
        }
    }
    eprintln!(
        "xtask setup: installing libtorch ({TORCH}) and {ONNXRUNTIME} into {}",
        dir.display()
    );
    ensure_venv(&dir)?;
    match opts {
        Options::Cpu => {
            let mut args = vec!["--no-deps", TORCH];
            args.extend(CPU_EXTRAS);
            pip(&dir, &args)?;
        }
        Options::Cuda => pip(&dir, &[TORCH])?,
    }
    // With its (small) dependencies, so Python can load exported models too.
    pip(&dir, &[ONNXRUNTIME, "numpy"])?;
    let env = RuntimeEnv::locate(root)?;
    std::fs::write(&marker, opts.marker())
        .with_context(|| format!("writing {}", marker.display()))?;
    Ok(env)
}

/// A separate venv with torchaudio 2.11 for `cargo xtask bench` (torchaudio
/// 2.11 pins torch 2.11, which cannot share `.venv` with torch 2.13).
pub fn bench_venv(root: &Path) -> Result<PathBuf> {
    let dir = root.join(".venv-bench");
    let marker = dir.join(MARKER);
    let want = "torch==2.11.0 torchaudio==2.11.0 soundfile numpy\n";
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(want) {
        ensure_venv(&dir)?;
        pip(
            &dir,
            &["torch==2.11.0", "torchaudio==2.11.0", "soundfile", "numpy"],
        )?;
        std::fs::write(&marker, want)?;
    }
    Ok(dir.join("bin/python"))
}

/// Paths of the installed runtimes and the variables that expose them.
#[derive(Debug, Clone, Default)]
pub struct RuntimeEnv {
    pub libtorch: PathBuf,
    pub lib_dirs: Vec<PathBuf>,
    pub ort_dylib: Option<PathBuf>,
}

impl RuntimeEnv {
    /// Nothing exported (commands that need no native runtime).
    pub fn empty() -> RuntimeEnv {
        RuntimeEnv::default()
    }

    /// Find an existing install; error if setup has not run.
    pub fn locate(root: &Path) -> Result<RuntimeEnv> {
        let sp = site_packages(&venv(root)).context("run `cargo xtask setup` first")?;
        let libtorch = sp.join("torch");
        if !libtorch.join("lib/libtorch_cpu.so").exists() {
            bail!(
                "{} has no lib/libtorch_cpu.so: run `cargo xtask setup`",
                libtorch.display()
            );
        }
        let mut lib_dirs = vec![libtorch.join("lib")];
        // NVIDIA wheels put their libraries under nvidia/<pkg>/lib (cu13: nvidia/cu13/lib).
        if let Ok(entries) = std::fs::read_dir(sp.join("nvidia")) {
            let mut dirs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path().join("lib"))
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            lib_dirs.extend(dirs);
        }
        let ort = sp.join(ORT_LIB);
        Ok(RuntimeEnv {
            libtorch,
            lib_dirs,
            ort_dylib: ort.exists().then_some(ort),
        })
    }

    /// The variables to export to cargo and every binary it runs.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if self.libtorch.as_os_str().is_empty() {
            return v;
        }
        v.push(("LIBTORCH".into(), self.libtorch.display().to_string()));
        let mut ld: Vec<String> = self
            .lib_dirs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if let Ok(old) = std::env::var("LD_LIBRARY_PATH") {
            if !old.is_empty() {
                ld.push(old);
            }
        }
        v.push(("LD_LIBRARY_PATH".into(), ld.join(":")));
        if let Some(o) = &self.ort_dylib {
            v.push(("ORT_DYLIB_PATH".into(), o.display().to_string()));
        }
        v
    }
}
