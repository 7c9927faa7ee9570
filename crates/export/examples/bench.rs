//! End-to-end CPU latency/throughput: ONNX Runtime (specnorm-infer) vs tch
//! eager, for the same exported model and the same front end.
//!
//! ```sh
//! cargo run --release -p specnorm-export --example bench -- [small|xresnet18] [reps]
//! ```
//!
//! Synthetic 5 s 44.1 kHz 16-bit WAV clips (like ESC-50) are written to a
//! temporary directory. Reported, per model kind:
//! - front end alone (decode → resample → waveform norm → dB spectrogram), ms/clip;
//! - model alone at batch 1 (median latency) and batch 64 (clips/s), ort vs tch;
//! - end to end at batch 1 (one file: decode → features → model, median) and
//!   batch 64 (64 files through `Classifier::predict_files` vs the same front
//!   end + tch), ort vs tch.
//!
//! tch runs in eval mode under `no_grad` with the normalization as tch ops;
//! both use the default thread counts (all cores).

use std::path::{Path, PathBuf};
use std::time::Instant;

use specnorm_export::{export_model, ModelInput, ModelMetadata};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_infer::Classifier;
use specnorm_norm::{NormSpec, Normalizer};
use specnorm_train::{Model, ModelKind, ModelSpec};
use tch::{Device, Tensor};

const CLASSES: i64 = 50;
const BATCH: usize = 64;

fn write_wav(path: &Path, seed: usize) -> Result<(), Box<dyn std::error::Error>> {
    let sr = 44_100u32;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sr,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    let f0 = 200.0 + 37.0 * seed as f32;
    let mut state = seed as u32 * 2_654_435_761 + 1;
    for i in 0..(5 * sr) {
        let t = i as f32 / sr as f32;
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        let v = 0.3 * (std::f32::consts::TAU * f0 * t).sin() + 0.05 * noise;
        w.write_sample((v * 32767.0) as i16)?;
    }
    w.finalize()?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = Instant::now();
    let r = f();
    (r, t0.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let kind = match args.get(1).map(String::as_str) {
        Some("small") => ModelKind::Small,
        _ => ModelKind::XResNet18,
    };
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir()?;
    let paths: Vec<PathBuf> = (0..BATCH)
        .map(|i| dir.path().join(format!("clip{i}.wav")))
        .collect();
    for (i, p) in paths.iter().enumerate() {
        write_wav(p, i)?;
    }

    let cfg = FeatureConfig::default();
    let (mean, std) = (-40.0f32, 20.0f32);
    let model = Model::new(
        ModelSpec {
            kind,
            in_channels: 1,
            n_classes: CLASSES,
        },
        Device::Cpu,
        1,
    )?;
    let meta = ModelMetadata::new(
        (0..CLASSES).map(|i| format!("c{i}")).collect(),
        cfg.clone(),
        NormSpec::from(Normalizer::Global { mean, std }),
        kind.as_str(),
        ModelInput::Spectrogram,
    )?;
    let onnx = dir.path().join("model.onnx");
    export_model(&model, &meta, &onnx)?;
    let clf = Classifier::load(&onnx)?;
    let fx = FeatureExtractor::new(cfg)?;
    println!(
        "model {} | cores {} | torch threads {} | reps {reps}",
        kind.as_str(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        tch::get_num_threads()
    );

    // Front end alone, sequential.
    let mut fe = Vec::new();
    for p in paths.iter().take(reps.max(3)) {
        fe.push(time(|| fx.extract_file(p)).1);
    }
    let fe_ms = median(fe) * 1e3;
    println!("front end (decode+features), 1 clip: {fe_ms:.2} ms");

    let spec = fx.extract_file(&paths[0])?;
    let (f, t) = spec.dim();
    let one: Vec<f32> = spec.iter().copied().collect();
    let mut batch = Vec::with_capacity(BATCH * f * t);
    for _ in 0..BATCH {
        batch.extend_from_slice(&one);
    }
    let tch_run = |x: &[f32], n: usize| -> Tensor {
        tch::no_grad(|| {
            let xt = Tensor::from_slice(x).reshape([n as i64, 1, f as i64, t as i64]);
            model.forward_t(&((xt - f64::from(mean)) / f64::from(std)), false)
        })
    };

    // Model alone, batch 1.
    let _ = clf.logits_features(&one, [1, 1, f, t])?;
    let _ = tch_run(&one, 1);
    let mut o1 = Vec::new();
    let mut t1 = Vec::new();
    for _ in 0..reps {
        o1.push(time(|| clf.logits_features(&one, [1, 1, f, t])).1);
        t1.push(time(|| tch_run(&one, 1)).1);
    }
    let (o1, t1) = (median(o1) * 1e3, median(t1) * 1e3);
    println!(
        "model only, batch 1: ort {o1:.2} ms, tch {t1:.2} ms, speedup {:.2}x",
        t1 / o1
    );

    // Model alone, batch 64.
    let breps = (reps / 5).max(2);
    let mut o64 = Vec::new();
    let mut t64 = Vec::new();
    for _ in 0..breps {
        o64.push(time(|| clf.logits_features(&batch, [BATCH, 1, f, t])).1);
        t64.push(time(|| tch_run(&batch, BATCH)).1);
    }
    let (o64, t64) = (median(o64), median(t64));
    println!(
        "model only, batch 64: ort {:.1} clips/s ({:.1} ms/clip), tch {:.1} clips/s ({:.1} ms/clip), speedup {:.2}x",
        BATCH as f64 / o64,
        o64 * 1e3 / BATCH as f64,
        BATCH as f64 / t64,
        t64 * 1e3 / BATCH as f64,
        t64 / o64
    );

    // End to end, batch 1: one file, decode -> features -> model.
    let mut e1o = Vec::new();
    let mut e1t = Vec::new();
    for i in 0..reps {
        let p = &paths[i % BATCH];
        e1o.push(time(|| clf.predict_files(std::slice::from_ref(p))).1);
        e1t.push(
            time(|| {
                let s = fx
                    .extract_file(p)
                    .map(|s| s.iter().copied().collect::<Vec<f32>>());
                s.map(|x| tch_run(&x, 1).softmax(-1, tch::Kind::Float))
            })
            .1,
        );
    }
    let (e1o, e1t) = (median(e1o) * 1e3, median(e1t) * 1e3);
    println!(
        "end to end, batch 1: ort {e1o:.2} ms/clip, tch {e1t:.2} ms/clip, speedup {:.2}x",
        e1t / e1o
    );

    // End to end, batch 64: 64 files (features in parallel over rayon).
    let mut e64o = Vec::new();
    let mut e64t = Vec::new();
    for _ in 0..breps {
        e64o.push(time(|| clf.predict_files(&paths)).1);
        e64t.push(
            time(|| {
                let feats = fx.extract_files(&paths, &|_| {});
                let mut x = Vec::with_capacity(BATCH * f * t);
                for s in feats.into_iter().flatten() {
                    x.extend(s.iter().copied());
                }
                tch_run(&x, BATCH).softmax(-1, tch::Kind::Float)
            })
            .1,
        );
    }
    let (e64o, e64t) = (median(e64o), median(e64t));
    println!(
        "end to end, batch 64: ort {:.1} clips/s, tch {:.1} clips/s, speedup {:.2}x",
        BATCH as f64 / e64o,
        BATCH as f64 / e64t,
        e64t / e64o
    );
    Ok(())
}
