//! `specnorm stats` (a dataset's training folds, or one shard of them) and `specnorm stats merge`:
//! argument parsing, one `specnorm-pipeline` call, printing.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use specnorm_features::FeatureExtractor;
use specnorm_pipeline::{
    max_abs_difference, merge_files, write_outputs, Axes, DatasetStats, FinishedStats, OutputPaths,
    Sample, Shard, ShardSpec, StatsPlan, StatsRequest,
};
use specnorm_stats::Stats;

use crate::common::{warn_truncated, DecodeArgs, FeatureArgs};
use crate::dataset::DatasetArgs;

const EXAMPLES: &str = "Examples:
  specnorm stats --data ESC-50-master --valid-fold 1 --axes channel --out stats.json
  specnorm stats --data UrbanSound8K --layout urbansound8k --valid-fold 10 --out us8k.json
  specnorm stats --data speech_words --layout folders --folds 5 --fold-seed 0 --out words.json
  specnorm stats --data clips --layout csv --metadata labels.csv --label-col word --out s.json
  specnorm stats --data ESC-50-master --shard 2/4 --out parts/stats.part-2.json
  specnorm stats --data ESC-50-master --shard auto --out parts/stats.part-$SLURM_ARRAY_TASK_ID.json
  specnorm stats merge parts/stats.part-*.json --out stats.json";

/// Arguments of `specnorm stats`.
#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<Sub>,
    /// Dataset root (ESC-50 layout unless --layout says otherwise).
    #[arg(long, required = true)]
    pub data: Option<PathBuf>,
    /// The validation fold: statistics come from all other folds.
    #[arg(long, default_value_t = 1)]
    pub valid_fold: u32,
    /// Axes to keep.
    #[arg(long, value_enum, default_value_t = Axes::Channel)]
    pub axes: Axes,
    /// Use a seeded random fraction (0, 1] of the training clips.
    #[arg(long)]
    pub sample: Option<f64>,
    /// Seed for --sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Clips decoded in parallel per step (bounds memory; the result does not depend on it).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Full-pass stats.json to compare a --sample run against.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Leave out clips that fail to decode (and say how many) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// Reduce one shard and write its partial file: K/N (clip i goes to shard i % N + 1), `auto`
    /// (Slurm array: SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT) or `auto/N` (Kubernetes Indexed Job:
    /// JOB_COMPLETION_INDEX, N = completions). Merge the partials with `specnorm stats merge`.
    #[arg(long)]
    pub shard: Option<ShardSpec>,
    /// Output stats.json (mean/std .npy and a per-channel PNG are written beside it); with
    /// --shard, the partial file [default: stats.part-K-of-N.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub features: FeatureArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    // last: its help heading ("Dataset layout") would otherwise cover the flags after it
    #[command(flatten)]
    pub dataset: DatasetArgs,
}

/// Subcommands of `specnorm stats`.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Merge the partial files of `stats --shard` into the outputs of a single run.
    Merge(MergeArgs),
}

/// Arguments of `specnorm stats merge`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  specnorm stats merge parts/*.json --out stats.json")]
pub struct MergeArgs {
    /// Partial files written by `specnorm stats --shard`.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Output stats.json (mean/std .npy and a per-channel PNG are written beside it).
    #[arg(long, default_value = "stats.json")]
    pub out: PathBuf,
    /// Accept a set that lacks shards (the missing shards are recorded in the provenance).
    #[arg(long)]
    pub allow_partial: bool,
}

pub fn run(a: Args) -> Result<()> {
    if let Some(Sub::Merge(m)) = a.cmd {
        return merge(m);
    }
    let data = a.data.context("--data is required")?;
    let ds = a.dataset.open(&data)?;
    let shard = match a.shard {
        Some(spec) => {
            let (shard, origin) = spec.resolve(|k| std::env::var(k).ok())?;
            eprintln!("shard {shard}, {origin}");
            shard
        }
        None => Shard::FULL,
    };
    if shard != Shard::FULL && a.compare.is_some() {
        bail!("--compare needs full statistics: merge the shards, then compare");
    }
    let req = StatsRequest {
        valid_fold: a.valid_fold,
        axes: a.axes,
        sample: a.sample.map(|fraction| Sample {
            fraction,
            seed: a.seed,
        }),
        shard,
        batch_size: a.batch_size,
        skip_bad: a.skip_bad,
        allow_truncated: a.decode.allow_truncated,
        features: a.features.config()?,
    };
    let plan = StatsPlan::new(&ds, &req)?;
    let fx = FeatureExtractor::new(req.features.clone())?.with_decode_options(plan.decode);
    eprintln!(
        "stats over {} training clips (folds {:?}, validation fold {} excluded{}), {} threads",
        plan.clips.len(),
        plan.source.train_folds,
        a.valid_fold,
        if shard == Shard::FULL {
            String::new()
        } else {
            format!("; shard {shard}")
        },
        rayon::current_num_threads()
    );
    let pb = ProgressBar::new(plan.clips.len() as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} clips  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    let result = plan.run(&fx, &|| pb.inc(1));
    pb.finish_and_clear();
    let result = result?;
    let secs = t0.elapsed().as_secs_f64();
    if !result.bad.is_empty() {
        eprintln!(
            "skipped {} bad file(s):\n  {}",
            result.bad.len(),
            result.bad.join("\n  ")
        );
    }
    warn_truncated(&result.truncated);
    let clips = result.spectrogram.clips();
    println!(
        "{clips} clips in {secs:.1} s ({:.0} clips/s)",
        clips as f64 / secs.max(1e-9)
    );
    if shard != Shard::FULL {
        let out = a.out.unwrap_or_else(|| {
            PathBuf::from(format!(
                "stats.part-{}-of-{}.json",
                shard.index(),
                shard.count()
            ))
        });
        crate::common::ensure_parent(&out)?;
        result.save(&out)?;
        println!(
            "wrote partial statistics of shard {shard} to {}",
            out.display()
        );
        return Ok(());
    }
    let out = a.out.unwrap_or_else(|| PathBuf::from("stats.json"));
    let finished = result.finish(false)?;
    let paths = write_outputs(&out, &finished, &req.features)?;
    print_summary(&finished, &paths);
    if let Some(full) = &a.compare {
        let full_stats = Stats::load_json(full)?;
        let (dmean, dstd) = max_abs_difference(&finished.stats, &full_stats)
            .with_context(|| format!("comparing with {}", full.display()))?;
        println!(
            "sample ({:.0}% of clips) vs full pass: max |Δmean| = {dmean:.4} dB, max |Δstd| = {dstd:.4} dB",
            a.sample.unwrap_or(1.0) * 100.0,
        );
    }
    Ok(())
}

fn merge(m: MergeArgs) -> Result<()> {
    let merged: DatasetStats = merge_files(&m.parts, m.allow_partial)?;
    let finished = merged.finish(m.allow_partial)?;
    let paths = write_outputs(&m.out, &finished, &merged.source.features)?;
    let missing = merged.missing_shards();
    println!(
        "merged {} of {} shard(s) from {} file(s): {} clips{}",
        merged.parts.len(),
        merged.shard_count,
        m.parts.len(),
        merged.spectrogram.clips(),
        if missing.is_empty() {
            String::new()
        } else {
            format!(" (--allow-partial: shards {missing:?} missing)")
        }
    );
    print_summary(&finished, &paths);
    Ok(())
}

fn print_summary(f: &FinishedStats, paths: &OutputPaths) {
    let s = &f.stats;
    let range = |v: &ndarray::ArrayD<f64>| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            })
    };
    let ((m0, m1), (s0, s1)) = (range(&s.mean), range(&s.std));
    if s.mean.len() == 1 {
        println!(
            "shape {:?}: global mean {m0:.4} dB, std {s0:.4} dB",
            s.shape
        );
    } else {
        println!(
            "shape {:?}: per-channel mean from {m0:.2} to {m1:.2} dB, std from {s0:.2} to {s1:.2} dB",
            s.shape
        );
    }
    println!(
        "wrote {}, {}, {}, {}",
        paths.json.display(),
        paths.mean_npy.display(),
        paths.std_npy.display(),
        paths.png.display()
    );
}
