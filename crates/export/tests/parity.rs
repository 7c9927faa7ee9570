//! Parity of the exported ONNX graph (run by ONNX Runtime) with the tch model
//! in eval mode, normalization included on both sides, at the real input size
//! `[N, 1, 201, 401]`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_export::{to_onnx_bytes, ModelInput, ModelMetadata};
use specnorm_features::FeatureConfig;
use specnorm_norm::{NormSpec, Normalizer};
use specnorm_train::{Model, ModelKind, ModelSpec};
use tch::{Device, Tensor};

const F: usize = 201;
const T: usize = 401;

fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// The reference normalization: `specnorm-norm` itself, on the host.
fn normalize(x: &[f32], shape: [usize; 4], norm: &Normalizer) -> Tensor {
    let mut a = ndarray::Array4::from_shape_vec(shape, x.to_vec()).unwrap();
    norm.encode(a.view_mut()).unwrap();
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(a.as_slice().unwrap()).reshape(dims)
}

/// A model with non-trivial BN statistics: random affine BN parameters, then
/// a few train-mode passes on normalized random spectrograms update the
/// running mean/var.
fn trained_like(kind: ModelKind, n_classes: i64, norm: &Normalizer, seed: u64) -> Model {
    let spec = ModelSpec {
        kind,
        in_channels: 1,
        n_classes,
    };
    let model = Model::new(spec, Device::Cpu, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    tch::no_grad(|| {
        for (name, t) in model.named_tensors() {
            let n = t.numel();
            let v = if name.ends_with("convpath.1.1.weight") {
                // fastai zero-inits these (residual branch starts as identity);
                // trained ones are small but non-zero.
                Some(uniform(&mut rng, n, 0.05, 0.3))
            } else if name.ends_with(".1.weight") && t.dim() == 1 {
                Some(uniform(&mut rng, n, 0.5, 1.5)) // BN gamma
            } else if name.ends_with(".1.bias") && t.dim() == 1 {
                Some(uniform(&mut rng, n, -0.2, 0.2)) // BN beta
            } else {
                None
            };
            if let Some(v) = v {
                let src = Tensor::from_slice(&v).reshape(t.size());
                t.shallow_clone().f_copy_(&src).unwrap();
            }
        }
        for _ in 0..3 {
            let x = uniform(&mut rng, 4 * F * 64, -100.0, 0.0);
            let _ = model.forward_t(&normalize(&x, [4, 1, F, 64], norm), true);
        }
    });
    model
}

fn meta(n_classes: usize, norm: Normalizer, kind: ModelKind) -> ModelMetadata {
    ModelMetadata::new(
        (0..n_classes).map(|i| format!("class{i}")).collect(),
        FeatureConfig::default(),
        NormSpec::from(norm),
        kind.as_str(),
        ModelInput::Spectrogram,
    )
    .unwrap()
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Exports, runs both sides on the same random input and returns the max abs
/// logit difference (asserting identical argmax per row).
fn parity(kind: ModelKind, norm: Normalizer, n: usize, seed: u64) -> f32 {
    let n_classes = 10;
    let model = trained_like(kind, n_classes as i64, &norm, seed);
    let bytes = to_onnx_bytes(&model, &meta(n_classes, norm.clone(), kind)).unwrap();

    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
    let x = uniform(&mut rng, n * F * T, -100.0, 0.0);
    let xt = normalize(&x, [n, 1, F, T], &norm);
    let want = tch::no_grad(|| model.forward_t(&xt, false));
    let want: Vec<f32> = Vec::try_from(want.flatten(0, -1)).unwrap();

    let env = shared_env();
    let mut session = ort::session::Session::builder(&env)
        .unwrap()
        .commit_from_memory(&bytes)
        .unwrap();
    let input = ort::value::Tensor::from_array((vec![n, 1, F, T], x)).unwrap();
    let out = session.run(ort::inputs!["spectrogram" => input]).unwrap();
    let (shape, got) = out["logits"].try_extract_tensor::<f32>().unwrap();
    assert_eq!(&shape[..], &[n as i64, n_classes as i64]);
    let mut max = 0f32;
    for (g, w) in got.iter().zip(&want) {
        max = max.max((g - w).abs());
    }
    for r in 0..n {
        let row = r * n_classes..(r + 1) * n_classes;
        assert_eq!(argmax(&got[row.clone()]), argmax(&want[row]), "row {r}");
    }
    eprintln!(
        "{kind:?} {}: max abs logit diff {max:e} (logit scale {:.3})",
        norm.name(),
        want.iter().fold(0f32, |a, b| a.max(b.abs()))
    );
    max
}

/// One ONNX Runtime environment per process (the static keeps it alive).
fn shared_env() -> ort::environment::Environment {
    use std::sync::OnceLock;
    static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
    ENV.get_or_init(|| ort::init().with_name("parity").build().unwrap())
        .clone()
}

#[test]
fn small_cnn_parity_all_normalizations() {
    let per_channel = Normalizer::PerChannel {
        mean: (0..F).map(|f| -60.0 + 0.1 * f as f32).collect(),
        std: (0..F).map(|f| 15.0 + 0.02 * f as f32).collect(),
    };
    for (i, norm) in [
        Normalizer::None,
        Normalizer::Global {
            mean: -50.0,
            std: 20.0,
        },
        per_channel,
        Normalizer::PerInstance { eps: 1e-5 },
    ]
    .into_iter()
    .enumerate()
    {
        let d = parity(ModelKind::Small, norm, 3, 10 + i as u64);
        assert!(d <= 1e-4, "max abs diff {d}");
    }
}

#[test]
fn xresnet18_parity() {
    let norm = Normalizer::PerChannel {
        mean: (0..F).map(|f| -55.0 + 0.05 * f as f32).collect(),
        std: (0..F).map(|f| 18.0 - 0.01 * f as f32).collect(),
    };
    let d = parity(ModelKind::XResNet18, norm, 2, 7);
    assert!(d <= 1e-4, "max abs diff {d}");
}
