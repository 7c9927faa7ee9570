//! Training-throughput benchmark: samples/s of `fit_one_cycle` on random `[64, 1, 201, 401]`
//! batches (the ESC-50 spectrogram size), for the small CNN and/or xresnet18.
//!
//! ```text
//! cargo run --release -p specnorm-train --example bench_train -- \
//!     [--model small|xresnet18|both] [--steps N] [--threads N] [--device cpu|cuda] [--batch N]
//! ```
//! Compare with `crates/train/benches/bench_train.py` (plain PyTorch eager, same shapes,
//! same thread count). Timing covers batch assembly, host→device copy, forward, backward and
//! the optimizer step (fit_one_cycle's `History::samples_per_sec`), after a one-step warm-up.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_train::{fit_one_cycle, InMemoryData, Model, ModelKind, ModelSpec, TrainConfig};
use tch::Device;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn data(n: usize, seed: u64) -> InMemoryData {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (f, t) = (201, 401);
    let x: Vec<f32> = (0..n * f * t)
        .map(|_| rng.gen_range(-2.0f32..2.0))
        .collect();
    let y: Vec<i64> = (0..n).map(|i| (i % 10) as i64).collect();
    InMemoryData {
        x,
        shape: [n, 1, f, t],
        y,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let which: String = arg(&args, "--model", "both".to_string());
    let steps: usize = arg(&args, "--steps", 5);
    let batch: usize = arg(&args, "--batch", 64);
    let threads: usize = arg(&args, "--threads", 2);
    let device = match arg(&args, "--device", "auto".to_string()).as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda(0),
        _ => specnorm_train::default_device(),
    };
    let kinds: Vec<ModelKind> = match which.as_str() {
        "small" => vec![ModelKind::Small],
        "xresnet18" => vec![ModelKind::XResNet18],
        _ => vec![ModelKind::Small, ModelKind::XResNet18],
    };
    let train = data(batch * steps, 1);
    let warm = data(batch, 2);
    let valid = data(1, 3);
    for kind in kinds {
        let spec = ModelSpec {
            kind,
            in_channels: 1,
            n_classes: 10,
        };
        let cfg = TrainConfig {
            epochs: 1,
            lr: 1e-3,
            batch_size: batch,
            seed: 0,
            mixup: None,
            label_smoothing: 0.0,
            weight_decay: 0.01,
            device,
            threads: Some(threads),
        };
        let mut model = Model::new(spec, device, 0)?;
        fit_one_cycle(&mut model, &warm, &valid, &cfg, &mut |_| {})?; // warm-up
        let h = fit_one_cycle(&mut model, &train, &valid, &cfg, &mut |_| {})?;
        println!(
            "specnorm {:<9} device={device:?} threads={threads} batch={batch} steps={steps}: {:.2} samples/s",
            kind.as_str(),
            h.samples_per_sec
        );
    }
    Ok(())
}
