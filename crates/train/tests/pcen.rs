//! The trainable PCEN front layer: equal to `specnorm_norm::pcen` at initialization,
//! differentiable in every parameter (the smoother included), learned by training, saved and
//! loaded with the checkpoint, and checked against its input.

use std::collections::BTreeMap;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_norm::{pcen, PcenConfig};
use specnorm_train::{
    fit_one_cycle, InMemoryData, LayerDesc, LearnedPcenConfig, Model, ModelKind, ModelSpec,
    TrainConfig, TrainError,
};
use tch::{Device, Kind, Tensor};

/// libtorch's generator is global: tests that build models (seeded draws) or train take this
/// lock, so that a seed gives the same weights whatever runs beside it.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

const SPEC: ModelSpec = ModelSpec {
    kind: ModelKind::Small,
    in_channels: 1,
    n_classes: 3,
};

/// The learned layer's initial values for a fixed PCEN configuration.
fn init(cfg: &PcenConfig, n_freq: i64) -> LearnedPcenConfig {
    LearnedPcenConfig {
        n_freq,
        gain: cfg.gain.into(),
        bias: cfg.bias.into(),
        power: cfg.power.into(),
        smoothing: cfg.smoothing_coefficient(),
        eps: cfg.eps.into(),
    }
}

/// `n` power spectrograms `[F, T]` spanning several decades (0 included), like real ones.
fn power_specs(n: usize, f: usize, t: usize, seed: u64) -> Vec<Array2<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            Array2::from_shape_fn((f, t), |(r, c)| {
                if (r + c) % 17 == 0 {
                    0.0
                } else {
                    10f32.powf(rng.gen_range(-6.0f32..3.0)) * (1.0 + (c as f32 / 7.0).sin().abs())
                }
            })
        })
        .collect()
}

fn stack(specs: &[Array2<f32>]) -> Tensor {
    let (f, t) = specs[0].dim();
    let flat: Vec<f32> = specs.iter().flat_map(|a| a.iter().copied()).collect();
    Tensor::from_slice(&flat).view([specs.len() as i64, 1, f as i64, t as i64])
}

/// Runs only the front layer of `model` (the first layer) on `x`.
fn front_forward(model: &Model, x: &Tensor) -> Tensor {
    let named: BTreeMap<String, Tensor> = model.named_tensors().into_iter().collect();
    let LayerDesc::LearnedPcen { prefix, eps, .. } = &model.layers()[0] else {
        panic!("no front layer: {:?}", model.layers()[0]);
    };
    let p = |n: &str| named[&format!("{prefix}.{n}")].shallow_clone();
    // The formula of the module docs, written out again from the named tensors.
    let f = p("log_gain").size()[0];
    let col = |t: Tensor| t.view([1, 1, f, 1]);
    let s = p("logit_smoothing").sigmoid().view([1, 1, f]);
    let mut m = x.select(3, 0).ones_like();
    let mut ms = Vec::new();
    for t in 0..x.size()[3] {
        m = &m * (s.neg() + 1.0) + x.select(3, t) * &s;
        ms.push(m.shallow_clone());
    }
    let m = Tensor::stack(&ms, 3);
    let (a, d, r) = (
        col(p("log_gain").exp()),
        col(p("log_bias").exp()),
        col(p("log_power").exp()),
    );
    let g = (m + *eps).pow(&(-a));
    (x * g + &d).pow(&r) - d.pow(&r)
}

#[test]
fn equals_fixed_pcen_at_initialization() {
    let _rng = rng_lock();
    let (f, t) = (7usize, 300usize);
    for cfg in [
        PcenConfig::default(),
        PcenConfig {
            sample_rate: 16000,
            hop_length: 200,
            ..PcenConfig::default()
        },
        PcenConfig {
            gain: 0.6,
            bias: 0.5,
            power: 0.25,
            time_constant: 0.06,
            eps: 1e-4,
            ..PcenConfig::default()
        },
    ] {
        let specs = power_specs(3, f, t, 7);
        let model = Model::with_front(SPEC, Some(init(&cfg, f as i64)), Device::Cpu, 0).unwrap();
        let x = stack(&specs);
        let y = tch::no_grad(|| model.front_output(&x)).expect("a front layer");
        let mut worst = 0f64;
        for (i, s) in specs.iter().enumerate() {
            let want = pcen(s.view(), &cfg).unwrap();
            let got: Vec<f32> = Vec::<f32>::try_from(y.get(i as i64).flatten(0, -1)).unwrap();
            for (g, w) in got.iter().zip(want.iter()) {
                let err = (f64::from(*g) - f64::from(*w)).abs() / (1.0 + f64::from(w.abs()));
                worst = worst.max(err);
            }
        }
        println!(
            "time constant {} s: worst |diff| / (1 + |pcen|) {worst:.2e}",
            cfg.time_constant
        );
        assert!(worst < 5e-6, "{cfg:?}: worst relative error {worst:e}");
    }
}

#[test]
fn forward_uses_the_front_layer() {
    let _rng = rng_lock();
    let (f, t) = (40usize, 48usize);
    let cfg = PcenConfig::default();
    let specs = power_specs(4, f, t, 3);
    let x = stack(&specs);
    let with = Model::with_front(SPEC, Some(init(&cfg, f as i64)), Device::Cpu, 5).unwrap();
    let plain = Model::new(SPEC, Device::Cpu, 5).unwrap();
    // Same seed: the network has the same initial weights with or without the front layer.
    let named: BTreeMap<String, Tensor> = with.named_tensors().into_iter().collect();
    for (k, v) in plain.named_tensors() {
        assert!(named[&k].equal(&v), "{k}");
    }
    assert_eq!(named.len(), plain.named_tensors().len() + 4);
    tch::no_grad(|| {
        let pc = with.front_output(&x).unwrap();
        assert!(plain.front_output(&x).is_none());
        let a = with.forward_t(&x, false);
        let b = plain.forward_t(&pc, false);
        assert!(a.allclose(&b, 1e-6, 1e-6, false));
        // The written-out formula agrees with the layer.
        assert!(pc.allclose(&front_forward(&with, &x), 1e-5, 1e-6, false));
    });
}

#[test]
fn gradients_reach_every_parameter_and_match_finite_differences() {
    let _rng = rng_lock();
    let (f, t) = (5usize, 60usize);
    let cfg = PcenConfig {
        sample_rate: 16000,
        hop_length: 200,
        ..PcenConfig::default()
    };
    let specs = power_specs(2, f, t, 11);
    let x = stack(&specs).to_kind(Kind::Double);
    let model = Model::with_front(SPEC, Some(init(&cfg, f as i64)), Device::Cpu, 0).unwrap();
    let named: BTreeMap<String, Tensor> = model.named_tensors().into_iter().collect();
    let weights = Tensor::linspace(0.5, 1.5, (2 * f * t) as i64, (Kind::Double, Device::Cpu))
        .view([2, 1, f as i64, t as i64]);
    for name in ["log_gain", "log_bias", "log_power", "logit_smoothing"] {
        // A double-precision copy of the parameters with the gradient on `name` only.
        let params: BTreeMap<&str, Tensor> =
            ["log_gain", "log_bias", "log_power", "logit_smoothing"]
                .into_iter()
                .map(|n| {
                    let v = named[&format!("pcen.{n}")].detach().to_kind(Kind::Double);
                    (
                        n,
                        if n == name {
                            v.set_requires_grad(true)
                        } else {
                            v
                        },
                    )
                })
                .collect();
        let loss = |params: &BTreeMap<&str, Tensor>| {
            (specnorm_train::learned_pcen(
                &x,
                &params["log_gain"],
                &params["log_bias"],
                &params["log_power"],
                &params["logit_smoothing"],
                cfg.eps.into(),
            ) * &weights)
                .sum(Kind::Double)
        };
        let l = loss(&params);
        l.backward();
        let grad = params[name].grad();
        assert_eq!(grad.size(), [f as i64]);
        let h = 1e-6;
        for c in 0..f as i64 {
            let shifted = |d: f64| {
                let mut q: BTreeMap<&str, Tensor> = params
                    .iter()
                    .map(|(k, v)| (*k, v.detach().copy()))
                    .collect();
                let v = q[name].copy();
                let _ = v.get(c).g_add_scalar_(d);
                q.insert(name, v);
                loss(&q).double_value(&[])
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            let g = grad.double_value(&[c]);
            assert!(g != 0.0, "{name}[{c}]: zero gradient");
            assert!(
                (g - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{name}[{c}]: autograd {g}, finite difference {fd}"
            );
        }
    }
}

fn classes(f: usize, t: usize, per_class: usize, seed: u64) -> InMemoryData {
    // Class k: a band of rows 10k..10k+10 carries 100× the energy of the rest.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..3 * per_class {
        let k = i % 3;
        for r in 0..f {
            for _ in 0..t {
                let level = if r >= 10 * k && r < 10 * k + 10 {
                    100.0
                } else {
                    1.0
                };
                x.push(level * rng.gen_range(0.1f32..2.0));
            }
        }
        y.push(k as i64);
    }
    InMemoryData::new(x, [3 * per_class, 1, f, t], y).unwrap()
}

#[test]
fn training_moves_the_parameters_and_the_checkpoint_keeps_them() {
    let _rng = rng_lock();
    let (f, t) = (32usize, 32usize);
    let data = classes(f, t, 8, 1);
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 8,
        lr: 1e-2,
        device: Device::Cpu,
        threads: Some(1),
        ..TrainConfig::default()
    };
    let pc = init(&PcenConfig::default(), f as i64);
    let mut model = Model::with_front(SPEC, Some(pc.clone()), Device::Cpu, 0).unwrap();
    let before: Vec<f32> = Vec::<f32>::try_from(model.named_tensors()[3].1.detach()).unwrap();
    assert_eq!(model.named_tensors()[3].0, "pcen.logit_smoothing");
    let history = fit_one_cycle(&mut model, &data, &data, &cfg, &mut |_| {}).unwrap();
    assert!(history.epochs.iter().all(|e| e.valid_loss.is_finite()));
    let after: Vec<f32> = Vec::<f32>::try_from(model.named_tensors()[3].1.detach()).unwrap();
    assert!(
        before.iter().zip(&after).any(|(a, b)| a != b),
        "the smoothing coefficient did not move"
    );
    // Save / load round trip: the front layer's description and learned values come back.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut meta = BTreeMap::new();
    meta.insert("user".to_string(), "x".to_string());
    model.save(&path, &meta).unwrap();
    let (loaded, map) = Model::load(&path, Device::Cpu).unwrap();
    assert_eq!(loaded.front, Some(pc));
    assert_eq!(loaded.layers(), model.layers());
    assert!(map.contains_key("specnorm.model.front"));
    for ((ka, va), (kb, vb)) in model.named_tensors().iter().zip(loaded.named_tensors()) {
        assert_eq!(ka, &kb);
        assert!(va.equal(&vb), "{ka}");
    }
    let x = Tensor::from_slice(&data.x).view([24, 1, f as i64, t as i64]);
    tch::no_grad(|| {
        assert!(model
            .forward_t(&x, false)
            .equal(&loaded.forward_t(&x, false)));
    });
    // A model without a front layer does not load as one, even with a stale key.
    let plain = Model::new(SPEC, Device::Cpu, 0).unwrap();
    plain.save(&path, &map).unwrap();
    let (p2, m2) = Model::load(&path, Device::Cpu).unwrap();
    assert!(p2.front.is_none() && !m2.contains_key("specnorm.model.front"));
}

#[test]
fn input_and_config_are_checked() {
    let _rng = rng_lock();
    let (f, t) = (32usize, 32usize);
    let good = init(&PcenConfig::default(), f as i64);
    for bad in [
        LearnedPcenConfig {
            n_freq: 0,
            ..good.clone()
        },
        LearnedPcenConfig {
            gain: 0.0,
            ..good.clone()
        },
        LearnedPcenConfig {
            bias: -1.0,
            ..good.clone()
        },
        LearnedPcenConfig {
            power: f64::NAN,
            ..good.clone()
        },
        LearnedPcenConfig {
            smoothing: 1.0,
            ..good.clone()
        },
        LearnedPcenConfig {
            eps: 0.0,
            ..good.clone()
        },
    ] {
        let r = Model::with_front(SPEC, Some(bad.clone()), Device::Cpu, 0);
        assert!(matches!(r, Err(TrainError::InvalidConfig(_))), "{bad:?}");
    }
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 8,
        device: Device::Cpu,
        threads: Some(1),
        ..TrainConfig::default()
    };
    let mut model = Model::with_front(SPEC, Some(good), Device::Cpu, 0).unwrap();
    let wrong_f = classes(f + 1, t, 2, 0);
    let e = fit_one_cycle(&mut model, &wrong_f, &wrong_f, &cfg, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("33 frequency bins"), "{e}");
    let mut negative = classes(f, t, 2, 0);
    negative.x[5] = -1.0;
    let e = fit_one_cycle(&mut model, &negative, &negative, &cfg, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("negative"), "{e}");
}
