//! `specnorm bench`: [`specnorm_features::bench::run`] and its table.

use std::path::PathBuf;

use anyhow::Result;
use specnorm_features::bench::{self, BenchConfig};

/// Arguments of `specnorm bench`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  specnorm bench --clips 2000 --passes 3 --json target/bench.json\n  \
    RAYON_NUM_THREADS=1 specnorm bench    # the all-cores figure on one thread"
)]
pub struct Args {
    /// Dataset folder for the generated clips (`audio/`, `meta/esc50.csv`; reused when there).
    #[arg(long, default_value = "target/bench-clips")]
    pub dir: PathBuf,
    /// Number of clips.
    #[arg(long, default_value_t = BenchConfig::new("").clips)]
    pub clips: usize,
    /// Timed passes of each measurement (the best is reported).
    #[arg(long, default_value_t = BenchConfig::new("").passes)]
    pub passes: usize,
    /// Clips of the one-core stage breakdown and in-memory measurement.
    #[arg(long, default_value_t = BenchConfig::new("").sample)]
    pub sample: usize,
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let cfg = BenchConfig {
        clips: a.clips,
        passes: a.passes,
        sample: a.sample,
        ..BenchConfig::new(&a.dir)
    };
    let r = bench::run(&cfg)?;
    println!(
        "specnorm, {} clips, best of {}: one core {:.0} clips/s; {} threads {:.0} clips/s",
        r.clips, r.passes, r.one_core.clips_per_sec, r.threads, r.all_cores.clips_per_sec
    );
    println!(
        "in-memory pipeline (decode to dB), one core: {:.3} ms per clip",
        r.in_memory_ms_per_clip
    );
    let s = r.per_clip_ms;
    println!(
        "per clip on one core: read {:.3} ms, decode {:.3} ms, resample {:.3} ms, \
         normalize_pad {:.3} ms, stft_db {:.3} ms",
        s.read, s.decode, s.resample, s.normalize_pad, s.stft_db
    );
    if let Some(j) = &a.json {
        crate::common::ensure_parent(j)?;
        crate::common::write_atomic(j, serde_json::to_string_pretty(&r)?.as_bytes())?;
    }
    Ok(())
}
