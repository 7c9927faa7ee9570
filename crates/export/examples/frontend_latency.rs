//! CPU latency of the two deployment shapes, in one run, on the same network:
//! the Rust front end (`specnorm-features`) + the feature-input ONNX model, against the
//! `--frontend` waveform-input model with each STFT (`dft`: the ONNX `STFT` operator, `conv`:
//! `Conv` with windowed DFT kernels), at batch 1 and batch 64 of 5 s clips at 16 kHz (the
//! model rate: resampling is outside both and not timed).
//!
//! ```sh
//! cargo run --release -p specnorm-export --example frontend_latency -- [small|xresnet18] [reps]
//! ```
//!
//! Every configuration runs the same inputs; the median of `reps` runs (batch 1) and of
//! `max(reps / 4, 3)` runs (batch 64) is printed in ms per batch. ONNX Runtime uses its
//! default thread count; the Rust front end of a batch runs on rayon (as `predict_files`).

use std::time::Instant;

use rayon::prelude::*;
use specnorm_export::{export_model, ModelInput, ModelMetadata, StftImpl};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_infer::Classifier;
use specnorm_norm::{NormSpec, Normalizer};
use specnorm_train::{Model, ModelKind, ModelSpec};

const SR: usize = 16_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up (session allocations, plans)
    median(
        (0..reps)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let kind = match args.get(1).map(String::as_str) {
        Some("xresnet18") => ModelKind::XResNet18,
        _ => ModelKind::Small,
    };
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let classes = 50;
    let model = Model::new(
        ModelSpec {
            kind,
            in_channels: 1,
            n_classes: classes,
        },
        tch::Device::Cpu,
        1,
    )?;
    let cfg = FeatureConfig::default();
    let dir = tempfile::tempdir()?;
    let load = |input: ModelInput, name: &str| -> Result<Classifier, Box<dyn std::error::Error>> {
        let meta = ModelMetadata::new(
            (0..classes).map(|i| format!("c{i}")).collect(),
            cfg.clone(),
            NormSpec::from(Normalizer::PerInstance { eps: 1e-6 }),
            kind.as_str(),
            input,
        )?;
        let path = dir.path().join(name);
        export_model(&model, &meta, &path)?;
        Ok(Classifier::load(&path)?)
    };
    let features = load(ModelInput::Spectrogram, "features.onnx")?;
    let dft = load(
        ModelInput::Waveform {
            stft: StftImpl::Dft,
        },
        "dft.onnx",
    )?;
    let conv = load(
        ModelInput::Waveform {
            stft: StftImpl::Conv,
        },
        "conv.onnx",
    )?;
    let fx = FeatureExtractor::new(cfg.clone())?;
    let clips: Vec<Vec<f32>> = (0..64)
        .map(|c| {
            (0..5 * SR)
                .map(|i| {
                    let t = i as f32 / SR as f32;
                    0.3 * (std::f32::consts::TAU * (200.0 + 37.0 * c as f32) * t).sin()
                        + 0.05 * ((i * 7919 + c * 104_729) % 1000) as f32 / 1000.0
                })
                .collect()
        })
        .collect();
    println!(
        "model {} | {} cores | 5 s clips at 16 kHz | median ms per batch (the machine may be loaded)",
        kind.as_str(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| pipeline | batch 1 | batch 64 |\n|---|---|---|");
    let rust_front_end = |n: usize| {
        let specs: Vec<_> = clips[..n]
            .par_iter()
            .map(|c| fx.extract_samples(c, SR as u32).expect("features"))
            .collect();
        let (f, t) = specs[0].dim();
        let x: Vec<f32> = specs.iter().flat_map(|s| s.iter().copied()).collect();
        features
            .logits_features(&x, [n, 1, f, t])
            .expect("feature model");
    };
    let waveform = |clf: &Classifier, n: usize| {
        let x: Vec<f32> = clips[..n].iter().flatten().copied().collect();
        clf.logits_waveform(&x, [n, 5 * SR])
            .expect("waveform model");
    };
    let big = (reps / 4).max(3);
    let rows = [
        (
            "Rust front end + feature-input model",
            timed(reps, || rust_front_end(1)),
            timed(big, || rust_front_end(64)),
        ),
        (
            "--frontend --stft dft (ONNX STFT)",
            timed(reps, || waveform(&dft, 1)),
            timed(big, || waveform(&dft, 64)),
        ),
        (
            "--frontend --stft conv (Conv DFT kernels)",
            timed(reps, || waveform(&conv, 1)),
            timed(big, || waveform(&conv, 64)),
        ),
    ];
    for (name, b1, b64) in rows {
        println!("| {name} | {b1:.1} | {b64:.0} |");
    }
    Ok(())
}
