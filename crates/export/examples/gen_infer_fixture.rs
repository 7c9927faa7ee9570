//! (Re)generates the ONNX fixtures that `specnorm-infer`'s tests load (that
//! crate must not depend on this one or on libtorch, so the files are
//! committed). From the repository root:
//!
//! ```sh
//! cargo run -p specnorm-export --example gen_infer_fixture [-- FILE...]
//! ```
//!
//! Writes, under `data/fixtures/export/`:
//! - `tiny_small.onnx`: the train crate's small CNN (3 classes, seed 11,
//!   random BN statistics), global normalization, default feature config;
//! - `tiny_small_logits.json`: the input formula and the tch eval-mode
//!   logits (normalization included) for it;
//! - `bad_f.onnx`: a tiny valid model whose input has F = 64 while its
//!   metadata and feature config say 201;
//! - `no_meta.onnx`: the same tiny model with F = 201 and no metadata;
//! - `tiny_short.onnx`: the tiny model (global average pool, then a 1 -> 3
//!   linear layer) on a short-clip front end, [`short_config`]: 25 ms clips
//!   (400 samples at 16 kHz, 3 frames) and 16 mel bands, global
//!   normalization (mean -30, std 20). One inference costs next to nothing,
//!   so tests can run `infer` over thousands of files
//!   (`crates/cli/tests/scale_infer.rs`).
//!
//! With file names after `--` only those are written (e.g. `-- tiny_short.onnx`);
//! without, all of them. Every committed fixture is this program's output.

use std::path::PathBuf;

use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_dsp::{MelConfig, SpectrogramConfig};
use specnorm_export::onnx::{tensor_shape_proto::dimension::Value as Dim, type_proto};
use specnorm_export::{assemble_model, to_onnx_bytes, write_atomic, ModelInput, ModelMetadata};
use specnorm_features::FeatureConfig;
use specnorm_norm::{NormSpec, Normalizer};
use specnorm_train::{Model, ModelKind, ModelSpec};
use tch::{Device, Tensor};

const F: usize = 201;
/// Frames of the reference input: the small CNN needs at least 32 (its pooling).
const T: usize = 32;
const N: usize = 2;

/// The fixture input: `x[i] = -50 + 30 sin(0.0137 i) + 10 cos(0.29 i)` over
/// the flattened row-major `[2, 1, 201, 32]` (computed in f64, cast to f32).
fn input() -> Vec<f32> {
    (0..N * F * T)
        .map(|i| {
            let i = i as f64;
            (-50.0 + 30.0 * (0.0137 * i).sin() + 10.0 * (0.29 * i).cos()) as f32
        })
        .collect()
}

/// The feature configuration of `tiny_short.onnx`: the defaults (16 kHz, waveform
/// normalization, n_fft 400, hop 200, dB without top_db) with 25 ms clips and 16 HTK
/// mel bands, so features are `[16, 3]`.
fn short_config() -> FeatureConfig {
    FeatureConfig {
        seconds: Some(0.025),
        spectrogram: SpectrogramConfig {
            mel: Some(MelConfig {
                n_mels: 16,
                ..MelConfig::default()
            }),
            ..SpectrogramConfig::default()
        },
        ..FeatureConfig::default()
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The class names of every fixture.
fn classes() -> Vec<String> {
    vec!["dog".into(), "rain".into(), "siren".into()]
}

/// The tiny model of `meta`'s front end: GlobalAveragePool -> Flatten -> Gemm(1 -> 3)
/// (weights 1, -1, 0.5; biases 0, 0.1, 0.2), model kind `tiny`.
fn tiny(meta: &ModelMetadata) -> Res<specnorm_export::onnx::ModelProto> {
    let mut meta = meta.clone();
    meta.model_kind = "tiny".into();
    Ok(assemble_model(&meta, |g, x| {
        let p = g.global_average_pool(x, "pooled");
        let f = g.flatten(&p, 1, "flat");
        let w = g.initializer_f32("fc.weight", &[3, 1], &[1.0, -1.0, 0.5])?;
        let b = g.initializer_f32("fc.bias", &[3], &[0.0, 0.1, 0.2])?;
        Ok((g.gemm_trans_b(&f, &w, &b), 3))
    })?)
}

/// Writes the fixtures named on the command line (file names, e.g. `tiny_short.onnx`), or
/// all of them without arguments: regenerating one leaves the others' bytes alone.
fn main() -> Res<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/fixtures/export");
    std::fs::create_dir_all(&dir)?;
    let only: Vec<String> = std::env::args().skip(1).collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let (mean, std) = (-45.0f32, 17.0f32);
    let meta = ModelMetadata::new(
        classes(),
        FeatureConfig::default(),
        NormSpec::from(Normalizer::Global { mean, std }),
        "small",
        ModelInput::Spectrogram,
    )?;
    assert_eq!(meta.n_freq, F);
    if want("tiny_small.onnx") || want("tiny_small_logits.json") {
        write_small(&dir, &meta, mean, std)?;
    }
    if want("bad_f.onnx") || want("no_meta.onnx") {
        write_tiny_default(&dir, &meta)?;
    }
    if want("tiny_short.onnx") {
        write_short(&dir)?;
    }
    Ok(())
}

/// `tiny_small.onnx` and `tiny_small_logits.json`.
fn write_small(dir: &std::path::Path, meta: &ModelMetadata, mean: f32, std: f32) -> Res<()> {
    let spec = ModelSpec {
        kind: ModelKind::Small,
        in_channels: 1,
        n_classes: 3,
    };
    let model = Model::new(spec, Device::Cpu, 11)?;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    tch::no_grad(|| {
        for (name, t) in model.named_tensors() {
            if t.dim() == 1 && name.ends_with(".1.weight") {
                let v: Vec<f32> = (0..t.numel()).map(|_| rng.gen_range(0.5..1.5)).collect();
                t.shallow_clone().copy_(&Tensor::from_slice(&v));
            }
        }
        for _ in 0..3 {
            let b: Vec<f32> = (0..4 * F * 32)
                .map(|_| rng.gen_range(-100.0..0.0))
                .collect();
            let b = Tensor::from_slice(&b).reshape([4, 1, F as i64, 32]);
            let _ = model.forward_t(&((b - f64::from(mean)) / f64::from(std)), true);
        }
    });
    let path = dir.join("tiny_small.onnx");
    write_atomic(&path, &to_onnx_bytes(&model, meta)?)?;
    let x = Tensor::from_slice(&input()).reshape([N as i64, 1, F as i64, T as i64]);
    let logits = tch::no_grad(|| model.forward_t(&((x - f64::from(mean)) / f64::from(std)), false));
    let logits: Vec<f32> = Vec::try_from(logits.flatten(0, -1))?;
    let rows: Vec<Vec<f32>> = logits.chunks(3).map(<[f32]>::to_vec).collect();
    let json = serde_json::json!({
        "input": "x[i] = -50 + 30*sin(0.0137*i) + 10*cos(0.29*i) in f64, cast to f32, i over the flattened row-major shape",
        "shape": [N, 1, F, T],
        "logits_tch": rows,
    });
    write_atomic(
        &dir.join("tiny_small_logits.json"),
        (serde_json::to_string_pretty(&json)? + "\n").as_bytes(),
    )?;
    println!(
        "wrote {} ({} bytes)",
        path.display(),
        std::fs::metadata(&path)?.len()
    );
    Ok(())
}

/// `bad_f.onnx` and `no_meta.onnx` (the tiny model on the default front end).
fn write_tiny_default(dir: &std::path::Path, meta: &ModelMetadata) -> Res<()> {
    let cfg_json = serde_json::to_string(&FeatureConfig::default())?;
    let mut bad_f = tiny(meta)?;
    let input = &mut bad_f.graph.as_mut().ok_or("no graph")?.input[0];
    if let Some(type_proto::Value::TensorType(t)) =
        input.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        if let Some(shape) = t.shape.as_mut() {
            shape.dim[2].value = Some(Dim::DimValue(64));
        }
    }
    write_atomic(&dir.join("bad_f.onnx"), &bad_f.encode_to_vec())?;
    let mut no_meta = tiny(meta)?;
    no_meta.metadata_props.clear();
    write_atomic(&dir.join("no_meta.onnx"), &no_meta.encode_to_vec())?;
    println!("wrote bad_f.onnx, no_meta.onnx; feature config {cfg_json}");
    Ok(())
}

/// `tiny_short.onnx`: the tiny model on [`short_config`].
fn write_short(dir: &std::path::Path) -> Res<()> {
    let short_meta = ModelMetadata::new(
        classes(),
        short_config(),
        NormSpec::from(Normalizer::Global {
            mean: -30.0,
            std: 20.0,
        }),
        "small",
        ModelInput::Spectrogram,
    )?;
    assert_eq!(short_meta.n_freq, 16);
    let path = dir.join("tiny_short.onnx");
    write_atomic(&path, &tiny(&short_meta)?.encode_to_vec())?;
    println!(
        "wrote {} ({} bytes); feature config {}",
        path.display(),
        std::fs::metadata(&path)?.len(),
        serde_json::to_string(&short_config())?
    );
    Ok(())
}
