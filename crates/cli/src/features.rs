//! `specnorm features`: writes (or checks and reuses) the on-disk feature cache of a dataset
//! for the variants an experiment reads, without libtorch; one `specnorm-experiment` call.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use specnorm_experiment::feature_cache::{experiment_variants, open_or_build, CacheEvent};
use specnorm_experiment::settings;

use crate::common::FeatureArgs;
use crate::dataset::DatasetArgs;

const EXAMPLES: &str = "Examples:
  specnorm features --data ESC-50-master --out cache/esc50
  specnorm experiment --data ESC-50-master --cache cache/esc50      # reads it, memory-mapped
  specnorm features --data ESC-50-master --out cache/esc50 --settings global,pcen --n-mels 64";

/// Arguments of `specnorm features`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Dataset root (ESC-50 layout unless --layout says otherwise).
    #[arg(long)]
    pub data: PathBuf,
    /// Cache folder (created if missing): one file per feature variant, reused while the
    /// feature configuration and the dataset (metadata, clip sizes and mtimes) are unchanged.
    #[arg(long)]
    pub out: PathBuf,
    /// Comma-separated settings whose feature variants to write (plus the report's
    /// waveform-normalized dB features) [default: all].
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub settings: Vec<String>,
    #[command(flatten)]
    pub features: FeatureArgs,
    // last: its help heading ("Dataset layout") would otherwise cover the flags after it
    #[command(flatten)]
    pub dataset: DatasetArgs,
}

pub fn run(a: Args) -> Result<()> {
    let ds = a.dataset.open(&a.data)?;
    let base = a.features.config()?;
    let variants = experiment_variants(&settings::parse_list(&a.settings)?);
    let bar: Mutex<Option<ProgressBar>> = Mutex::new(None);
    let t0 = Instant::now();
    let cached = open_or_build(&a.out, &ds, &a.data, &base, &variants, &|e| match e {
        CacheEvent::Stage(s) => eprintln!("== {s}"),
        CacheEvent::Clips { done, total } => {
            if let Ok(mut slot) = bar.lock() {
                let b = slot.get_or_insert_with(|| {
                    let b = ProgressBar::new(total as u64);
                    b.set_style(
                        ProgressStyle::with_template(
                            "features {bar:30} {pos}/{len} clips {per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b
                });
                b.set_position(done as u64);
                if done == total {
                    b.finish_and_clear();
                }
            }
        }
    })?;
    for (v, f) in &cached.files {
        let bytes = std::fs::metadata(f.path()).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:<16} {} ({} clips of {:?}, {:.1} MB, {})",
            v.label(),
            f.path().display(),
            f.len(),
            f.shape(),
            bytes as f64 / 1e6,
            if cached.computed.contains(v) {
                "computed"
            } else {
                "reused"
            }
        );
    }
    if !cached.skipped.is_empty() {
        println!(
            "{} clip(s) have no features (missing or cannot be decoded):",
            cached.skipped.len()
        );
        for s in &cached.skipped {
            println!("  {}", s.error);
        }
    }
    println!("in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}
