//! Training throughput (a benchmark, not a test): samples/s of `fit_one_cycle`'s step loop on
//! random `[B, 1, 201, 401]` inputs (the ESC-50 spectrogram size), for the small CNN and
//! xresnet18, in three set-ups: the data gathered on the host and copied per batch, the data
//! resident on the device, and resident + channels-last.
//!
//! ```text
//! cargo run --release -p specnorm-train --example throughput -- \
//!     [--models small,xresnet18] [--batch 32] [--steps 3] [--repeats 3] [--threads 2] \
//!     [--device cpu|cuda|auto] [--json OUT.json]
//! ```
//!
//! Each set-up starts from a fresh model (seed 0), runs one warm-up step (not timed), then
//! `repeats` one-epoch runs of `steps` steps; the best run's `History::samples_per_sec` is
//! reported (forward, backward, optimizer step and batch gathering; not the one-off upload).
//! `crates/train/bench/torch_throughput.py` measures PyTorch eager on the same models and
//! shapes; `cargo xtask bench --train` runs both and prints the table.

use anyhow::{Context, Result};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use specnorm_train::{
    fit_one_cycle, DataPlacement, InMemoryData, Model, ModelKind, ModelSpec, TrainConfig,
};
use tch::Device;

#[derive(Parser, Debug)]
#[command(about = "specnorm-train training throughput (samples/s)")]
struct Args {
    /// Models, comma-separated: small, xresnet18.
    #[arg(long, value_delimiter = ',', default_value = "small,xresnet18")]
    models: Vec<String>,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Timed optimizer steps per run.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Timed runs per set-up (the best is reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// libtorch intra-op threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// cpu, cuda or auto (CUDA when available).
    #[arg(long, default_value = "auto")]
    device: String,
    /// Frequency bins of one input.
    #[arg(long, default_value_t = 201)]
    freq: usize,
    /// Frames of one input.
    #[arg(long, default_value_t = 401)]
    frames: usize,
    /// Write the results as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

fn random_data(n: usize, f: usize, t: usize, seed: u64) -> Result<InMemoryData> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f32> = (0..n * f * t)
        .map(|_| rng.gen_range(-2.0f32..2.0))
        .collect();
    let y: Vec<i64> = (0..n).map(|i| (i % 10) as i64).collect();
    Ok(InMemoryData::new(x, [n, 1, f, t], y)?)
}

/// One set-up: best samples/s over `repeats` runs after one warm-up step.
fn measure(
    a: &Args,
    kind: ModelKind,
    device: Device,
    placement: DataPlacement,
    channels_last: bool,
    data: (&InMemoryData, &InMemoryData, &InMemoryData),
) -> Result<Vec<f64>> {
    let (train, warm, valid) = data;
    let spec = ModelSpec {
        kind,
        in_channels: 1,
        n_classes: 10,
    };
    let cfg = TrainConfig {
        epochs: 1,
        lr: 1e-3,
        batch_size: a.batch,
        device,
        threads: Some(a.threads),
        placement,
        channels_last,
        ..TrainConfig::default()
    };
    let mut model = Model::new(spec, device, 0)?;
    fit_one_cycle(&mut model, warm, valid, &cfg, &mut |_| {}).context("warm-up")?;
    (0..a.repeats.max(1))
        .map(|_| Ok(fit_one_cycle(&mut model, train, valid, &cfg, &mut |_| {})?.samples_per_sec))
        .collect()
}

fn main() -> Result<()> {
    let a = Args::parse();
    let device = match a.device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda(0),
        "auto" => specnorm_train::default_device(),
        other => anyhow::bail!("--device {other:?}: expected cpu, cuda or auto"),
    };
    let kinds = a
        .models
        .iter()
        .map(|m| ModelKind::parse(m).with_context(|| format!("--models {m:?}")))
        .collect::<Result<Vec<_>>>()?;
    let train = random_data(a.batch * a.steps, a.freq, a.frames, 1)?;
    let warm = random_data(a.batch, a.freq, a.frames, 2)?;
    let valid = random_data(1, a.freq, a.frames, 3)?;
    let setups = [
        ("per-batch copy", DataPlacement::PerBatch, false),
        ("resident", DataPlacement::Resident, false),
        ("resident, channels-last", DataPlacement::Resident, true),
    ];
    let mut results = Vec::new();
    for kind in kinds {
        for (name, placement, cl) in setups {
            let runs = measure(&a, kind, device, placement, cl, (&train, &warm, &valid))?;
            let best = runs.iter().copied().fold(0.0, f64::max);
            println!(
                "specnorm {:<9} {name:<24} {best:8.2} samples/s (runs {runs:.2?})",
                kind.as_str()
            );
            results.push(json!({
                "model": kind.as_str(), "setup": name, "samples_per_sec": best, "runs": runs,
            }));
        }
    }
    if let Some(path) = &a.json {
        let out = json!({
            "tool": "specnorm-train (tch 0.26)",
            "libtorch": std::env::var("LIBTORCH").ok(),
            "device": format!("{device:?}"),
            "threads": a.threads, "batch": a.batch, "steps": a.steps, "repeats": a.repeats,
            "input": [a.batch, 1, a.freq, a.frames],
            "results": results,
        });
        std::fs::write(path, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
