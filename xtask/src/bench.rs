//! `cargo xtask bench`: specnorm against torchaudio on the same generated clips, in one run,
//! best of N passes on both sides, set up alike:
//!
//! * one core: `specnorm bench`'s serial loop vs torchaudio's serial loop on one thread;
//! * the whole machine: specnorm on every core vs torchaudio's faster of a `DataLoader` with one
//!   worker per core and the serial loop with one intra-op thread per core;
//! * `specnorm stats` end to end (a fresh process: start-up, reading, features, accumulation,
//!   output files; wall time and peak RSS) vs torchaudio's best set-up computing the same
//!   per-channel statistics (checked equal to `specnorm stats`' output).
//!
//! Writes `<dir>/bench.json` (everything) and prints a short table (also `<dir>/bench.md`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Clips generated and measured (the stats run uses the 4 training folds of them).
    pub clips: usize,
    /// Passes per measurement; the best is reported.
    pub passes: usize,
    /// Also run the torchaudio side.
    pub torchaudio: bool,
    /// Folder for clips and results.
    pub dir: Option<PathBuf>,
    /// Also benchmark the Python package (`crate::python::bench`).
    pub python: bool,
}

impl Options {
    pub fn parse(rest: &[String]) -> Result<Options> {
        let mut o = Options {
            clips: 400,
            passes: 3,
            torchaudio: true,
            dir: None,
            python: false,
        };
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
            match a.as_str() {
                "--clips" => o.clips = value("--clips")?.parse().context("--clips")?,
                "--passes" => o.passes = value("--passes")?.parse().context("--passes")?,
                "--dir" => o.dir = Some(PathBuf::from(value("--dir")?)),
                "--no-torchaudio" => o.torchaudio = false,
                "--python" => o.python = true,
                other => bail!("unknown bench option '{other}'"),
            }
        }
        if o.clips < 5 {
            bail!("--clips must be at least 5 (one per fold)");
        }
        Ok(o)
    }
}

pub fn bench(root: &Path, rest: &[String]) -> Result<()> {
    let o = Options::parse(rest)?;
    let dir = o
        .dir
        .clone()
        .unwrap_or_else(|| root.join("target/bench-clips"));
    let mut build = crate::cargo(root, &crate::setup::RuntimeEnv::empty());
    build.args(["build", "--release", "-p", "specnorm"]);
    crate::run(build)?;
    let bin = crate::target_dir(root).join("release/specnorm");
    let result = measure(root, &bin, &dir, &o)?;
    let table = table(&result);
    std::fs::write(
        dir.join("bench.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    std::fs::write(dir.join("bench.md"), &table)?;
    println!("{table}");
    println!("wrote {} and bench.md", dir.join("bench.json").display());
    if o.python {
        crate::python::bench(root, &dir.join("audio"))?;
    }
    Ok(())
}

/// Run every measurement with the `specnorm` binary `bin`; the merged JSON result.
pub fn measure(root: &Path, bin: &Path, dir: &Path, o: &Options) -> Result<Value> {
    let ours_json = dir.join("specnorm.json");
    let mut c = Command::new(bin);
    c.arg("bench").arg("--dir").arg(dir);
    c.args(["--clips", &o.clips.to_string()]);
    c.args(["--passes", &o.passes.to_string(), "--json"]);
    c.arg(&ours_json);
    crate::run(c)?;
    let ours = read_json(&ours_json)?;
    let stats_dir = dir.join("stats");
    let stats = stats_end_to_end(bin, dir, &stats_dir, o.passes)?;
    let theirs = if o.torchaudio {
        let py = crate::setup::bench_venv(root)?;
        let out = dir.join("torchaudio.json");
        let mut p = Command::new(py);
        p.arg(root.join("xtask/bench/torchaudio_bench.py"))
            .arg(dir)
            .arg(&out)
            .args(["--passes", &o.passes.to_string(), "--compare"])
            .arg(&stats_dir);
        crate::run(p)?;
        read_json(&out)?
    } else {
        Value::Null
    };
    Ok(json!({
        "clips": o.clips,
        "passes": o.passes,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "load_average_at_start": load_average(),
        "specnorm": ours,
        "specnorm_stats": stats,
        "torchaudio": theirs,
    }))
}

/// `specnorm stats` as a user runs it, `passes` times: best wall time, largest peak RSS.
fn stats_end_to_end(bin: &Path, data: &Path, out: &Path, passes: usize) -> Result<Value> {
    let mut best = f64::INFINITY;
    let mut rss_kib = 0i64;
    for _ in 0..passes.max(1) {
        let mut c = Command::new(bin);
        c.arg("stats").arg("--data").arg(data);
        c.args(["--valid-fold", "1", "--axes", "channel", "--out"]);
        c.arg(out.join("stats.json"));
        c.stdout(std::process::Stdio::null());
        let t0 = Instant::now();
        let child = c.spawn().with_context(|| format!("cannot start {c:?}"))?;
        let (ok, maxrss) = wait_rusage(child)?;
        let secs = t0.elapsed().as_secs_f64();
        if !ok {
            bail!("command failed: {c:?}");
        }
        best = best.min(secs);
        rss_kib = rss_kib.max(maxrss);
    }
    Ok(json!({"seconds": best, "peak_rss_mb": rss_kib as f64 / 1024.0}))
}

/// Wait for `child` and return (success, its peak RSS in KiB) from `wait4`.
fn wait_rusage(child: std::process::Child) -> Result<(bool, i64)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain old data, zero is a valid value; `wait4` fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own un-waited child; both pointers are valid for writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4({pid}) failed: {}", std::io::Error::last_os_error());
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((ok, usage.ru_maxrss))
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), printed beside wall-clock numbers.
pub(crate) fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Reads and parses a JSON result file, naming it in errors.
pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// The short table of a [`measure`] result.
pub fn table(r: &Value) -> String {
    let cell =
        |x: Option<f64>, unit: &str| x.map_or("—".to_string(), |x| format!("{x:.0} {unit}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "—".into(),
    };
    let (s, t) = (&r["specnorm"], &r["torchaudio"]);
    let cores = r["cores"].as_u64().unwrap_or(1);
    let one = (
        num(s, &["one_core", "clips_per_sec"]),
        num(t, &["one_core", "clips_per_sec"]),
    );
    let all = (
        num(s, &["all_cores", "clips_per_sec"]),
        num(t, &["all_cores", "clips_per_sec"]),
    );
    let st = (
        num(r, &["specnorm_stats", "seconds"]),
        num(t, &["stats", "seconds"]),
    );
    let best = |k: &str| t[k]["best"].as_str().unwrap_or("—").to_string();
    let mut out = format!(
        "{} clips (ESC-50-shaped, 5 s at 44.1 kHz), best of {}; load average at start {}\n\n\
         | set-up | specnorm | {} | ratio |\n|---|---|---|---|\n",
        r["clips"],
        r["passes"],
        r["load_average_at_start"].as_str().unwrap_or("?"),
        t["tool"].as_str().unwrap_or("torchaudio (not run)"),
    );
    out += &format!(
        "| one core | {} | {} (serial, 1 thread) | {} |\n",
        cell(one.0, "clips/s"),
        cell(one.1, "clips/s"),
        ratio(one.0, one.1)
    );
    out += &format!(
        "| whole machine ({cores} cores) | {} | {} (best: {}) | {} |\n",
        cell(all.0, "clips/s"),
        cell(all.1, "clips/s"),
        best("all_cores"),
        ratio(all.0, all.1)
    );
    out += &format!(
        "| `stats` end to end ({} training clips) | {:.3} s, peak RSS {:.0} MB | {} (best: {}) | {} |\n",
        t["stats"]["clips"].as_u64().map_or("?".into(), |n| n.to_string()),
        st.0.unwrap_or(f64::NAN),
        num(r, &["specnorm_stats", "peak_rss_mb"]).unwrap_or(f64::NAN),
        st.1.map_or("—".into(), |x| format!("{x:.3} s")),
        best("stats"),
        ratio(st.1, st.0)
    );
    let ms = |k: &str| num(s, &["per_clip_ms", k]).unwrap_or(f64::NAN);
    out += &format!(
        "\nspecnorm per clip on one core: in-memory pipeline {:.3} ms (decode {:.3}, resample {:.3}, \
         normalize+pad {:.3}, STFT+dB {:.3}); file read {:.3} ms\n",
        num(s, &["in_memory_ms_per_clip"]).unwrap_or(f64::NAN),
        ms("decode"),
        ms("resample"),
        ms("normalize_pad"),
        ms("stft_db"),
        ms("read"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_reject() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = Options::parse(&args(&[
            "--clips",
            "20",
            "--passes",
            "1",
            "--no-torchaudio",
        ]))
        .unwrap();
        assert_eq!((o.clips, o.passes, o.torchaudio), (20, 1, false));
        assert!(Options::parse(&args(&["--clips"])).is_err());
        assert!(Options::parse(&args(&["--clips", "3"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn table_reads_both_sides() {
        let r = json!({
            "clips": 10, "passes": 2, "cores": 2, "load_average_at_start": "0.1 0.2 0.3",
            "specnorm": {"one_core": {"clips_per_sec": 1000.0}, "all_cores": {"clips_per_sec": 1900.0},
                         "in_memory_ms_per_clip": 0.5,
                         "per_clip_ms": {"read": 0.1, "decode": 0.05, "resample": 0.1, "normalize_pad": 0.05, "stft_db": 0.2}},
            "specnorm_stats": {"seconds": 0.5, "peak_rss_mb": 40.0},
            "torchaudio": {"tool": "torchaudio 2.11.0", "one_core": {"clips_per_sec": 250.0},
                           "all_cores": {"clips_per_sec": 380.0, "best": "dataloader"},
                           "stats": {"clips": 8, "seconds": 2.5, "best": "serial"}},
        });
        let t = table(&r);
        assert!(
            t.contains("| one core | 1000 clips/s | 250 clips/s (serial, 1 thread) | 4.00x |"),
            "{t}"
        );
        assert!(
            t.contains("1900 clips/s | 380 clips/s (best: dataloader) | 5.00x"),
            "{t}"
        );
        assert!(
            t.contains("0.500 s, peak RSS 40 MB | 2.500 s (best: serial) | 5.00x"),
            "{t}"
        );
        // Without torchaudio the table still prints.
        let mut r2 = r.clone();
        r2["torchaudio"] = Value::Null;
        assert!(table(&r2).contains("torchaudio (not run)"));
    }
}
