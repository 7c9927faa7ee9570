//! Exports a randomly initialized small CNN and xresnet18 (with non-trivial
//! BN statistics) plus a reference input and the tch eval-mode logits, for
//! `crates/export/tests/check_onnxruntime.py`:
//!
//! ```sh
//! cargo run -p specnorm-export --example export_check_models -- /tmp/specnorm_check
//! /tmp/projvenv/bin/python crates/export/tests/check_onnxruntime.py /tmp/specnorm_check
//! ```
//!
//! Writes `<dir>/{small,xresnet18}.onnx`, `<dir>/input.f32` (raw little-endian
//! f32, shape in `<dir>/reference.json`) and `<dir>/reference.json` (shape and
//! tch logits per model).

use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_export::{export_model, ModelInput, ModelMetadata};
use specnorm_norm::{NormSpec, Normalizer};
use specnorm_train::{Model, ModelKind, ModelSpec};
use tch::{Device, Tensor};

const F: i64 = 201;
const T: i64 = 401;
const N: i64 = 2;
const CLASSES: i64 = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/specnorm_check".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mean: Vec<f32> = (0..F).map(|f| -55.0 + 0.05 * f as f32).collect();
    let std: Vec<f32> = (0..F).map(|f| 18.0 - 0.01 * f as f32).collect();
    let norm = Normalizer::PerChannel {
        mean: mean.clone(),
        std: std.clone(),
    };
    let m_t = Tensor::from_slice(&mean).reshape([1, 1, F, 1]);
    let s_t = Tensor::from_slice(&std).reshape([1, 1, F, 1]);
    let x: Vec<f32> = (0..N * F * T).map(|_| rng.gen_range(-100.0..0.0)).collect();
    std::fs::write(
        dir.join("input.f32"),
        x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )?;
    let xt = Tensor::from_slice(&x).reshape([N, 1, F, T]);
    let mut reference = serde_json::json!({ "shape": [N, 1, F, T] });
    for kind in [ModelKind::Small, ModelKind::XResNet18] {
        let spec = ModelSpec {
            kind,
            in_channels: 1,
            n_classes: CLASSES,
        };
        let model = Model::new(spec, Device::Cpu, 5)?;
        tch::no_grad(|| {
            for (name, t) in model.named_tensors() {
                if t.dim() == 1 && name.ends_with(".1.weight") {
                    let lo = if name.ends_with("convpath.1.1.weight") {
                        0.05
                    } else {
                        0.5
                    };
                    let v: Vec<f32> = (0..t.numel())
                        .map(|_| rng.gen_range(lo..lo + 0.5))
                        .collect();
                    t.shallow_clone().copy_(&Tensor::from_slice(&v));
                }
            }
            for _ in 0..3 {
                let b: Vec<f32> = (0..4 * F * 64)
                    .map(|_| rng.gen_range(-100.0..0.0))
                    .collect();
                let b = Tensor::from_slice(&b).reshape([4, 1, F, 64]);
                let _ = model.forward_t(&((b - &m_t) / &s_t), true);
            }
        });
        let meta = ModelMetadata::new(
            (0..CLASSES).map(|i| format!("class{i}")).collect(),
            specnorm_features::FeatureConfig::default(),
            NormSpec::from(norm.clone()),
            kind.as_str(),
            ModelInput::Spectrogram,
        )?;
        let path = dir.join(format!("{}.onnx", kind.as_str()));
        export_model(&model, &meta, &path)?;
        let logits = tch::no_grad(|| model.forward_t(&((&xt - &m_t) / &s_t), false));
        let logits: Vec<f32> = Vec::try_from(logits.flatten(0, -1))?;
        reference[kind.as_str()] = serde_json::json!(logits);
        println!(
            "wrote {} ({} bytes)",
            path.display(),
            std::fs::metadata(&path)?.len()
        );
    }
    std::fs::write(
        dir.join("reference.json"),
        serde_json::to_string(&reference)?,
    )?;
    Ok(())
}
