//! Golden-value tests against data/fixtures/train/golden.json (gen_train.py: PyTorch rebuild
//! of fastai's modules, fastai's schedule and Adam formulas).

use serde_json::Value;
use specnorm_train::{AdamW, Model, ModelKind, ModelSpec, OneCycle};
use tch::{Device, Kind, Tensor};

fn golden() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/fixtures/train/golden.json"
    );
    let s = std::fs::read_to_string(p).expect("fixture golden.json readable");
    serde_json::from_str(&s).expect("fixture is valid JSON")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], atol: f64, rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).expect("tensor to vec")
}

/// Same closed form as `fill_formula` in gen_train.py.
fn fill_formula(model: &Model, names: &Value) {
    let named = model.named_tensors();
    let want = names.as_array().expect("tensor list");
    assert_eq!(named.len(), want.len(), "number of tensors");
    for (t, ((name, tensor), w)) in named.iter().zip(want).enumerate() {
        assert_eq!(name, w[0].as_str().expect("name"), "tensor #{t} name");
        let shape: Vec<i64> = w[1]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_i64().expect("dim"))
            .collect();
        assert_eq!(tensor.size(), shape, "{name} shape");
        let n = tensor.numel();
        let vals: Vec<f32> = (0..n)
            .map(|i| {
                let s = (0.7 * i as f64 + 1.3 * t as f64 + 0.1).sin();
                let v = if shape.len() > 1 {
                    s / ((n as f64) / shape[0] as f64).sqrt()
                } else if name.ends_with("running_var") {
                    1.0 + 0.5 * s * s
                } else if name.ends_with("weight") {
                    1.0 + 0.2 * s
                } else {
                    0.1 * s
                };
                v as f32
            })
            .collect();
        let src = Tensor::from_slice(&vals).view(shape.as_slice());
        let mut dst = tensor.shallow_clone();
        tch::no_grad(|| dst.copy_(&src));
    }
}

fn input(shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((0.05 * i as f64).sin() + 0.5 * (0.011 * i as f64).cos()) as f32)
        .collect();
    Tensor::from_slice(&v).view(shape)
}

fn check_model(kind: ModelKind, n_classes: i64, g: &Value) {
    let model = Model::new(
        ModelSpec {
            kind,
            in_channels: 1,
            n_classes,
        },
        Device::Cpu,
        0,
    )
    .expect("model");
    assert_eq!(
        model.num_parameters(),
        g["n_params"].as_i64().expect("n_params"),
        "{kind:?} parameter count"
    );
    fill_formula(&model, &g["tensors"]);
    let shape: Vec<i64> = g["input_shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_i64().expect("d"))
        .collect();
    let x = input(&shape);
    let ev = tch::no_grad(|| model.forward_t(&x, false));
    assert_eq!(ev.size(), vec![shape[0], n_classes]);
    assert_close(
        &to_vec(&ev),
        &f64s(&g["logits_eval"]),
        1e-4,
        1e-4,
        "eval logits",
    );
    let tr = tch::no_grad(|| model.forward_t(&x, true));
    assert_close(
        &to_vec(&tr),
        &f64s(&g["logits_train"]),
        1e-4,
        1e-4,
        "train logits",
    );
    let named: std::collections::HashMap<String, Tensor> =
        model.named_tensors().into_iter().collect();
    assert_close(
        &to_vec(&named["0.1.running_mean"]),
        &f64s(&g["bn0_running_mean_after_train"]),
        1e-5,
        1e-4,
        "running_mean",
    );
    assert_close(
        &to_vec(&named["0.1.running_var"]),
        &f64s(&g["bn0_running_var_after_train"]),
        1e-5,
        1e-4,
        "running_var",
    );
}

#[test]
fn xresnet18_matches_fastai_structure() {
    let g = golden();
    // 11_200_298 = fastai xresnet18(c_in=1, n_out=10), computed from the architecture.
    assert_eq!(g["xresnet18"]["n_params"].as_i64(), Some(11_200_298));
    check_model(ModelKind::XResNet18, 10, &g["xresnet18"]);
}

#[test]
fn small_cnn_matches_pytorch_rebuild() {
    let g = golden();
    check_model(ModelKind::Small, 5, &g["small"]);
}

#[test]
fn xresnet18_output_shape_on_spectrogram_size() {
    let model = Model::new(
        ModelSpec {
            kind: ModelKind::XResNet18,
            in_channels: 1,
            n_classes: 50,
        },
        Device::Cpu,
        1,
    )
    .expect("model");
    let x = Tensor::zeros([1, 1, 201, 401], (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| model.forward_t(&x, false));
    assert_eq!(y.size(), vec![1, 50]);
}

#[test]
fn one_cycle_matches_fastai() {
    let g = golden();
    for case in g["one_cycle"].as_array().expect("cases") {
        let sched = OneCycle::new(
            case["lr_max"].as_f64().expect("lr"),
            case["total"].as_u64().expect("t") as usize,
        );
        for v in case["values"].as_array().expect("values") {
            let s = v[0].as_u64().expect("step") as usize;
            let (lr, mom) = (v[1].as_f64().expect("lr"), v[2].as_f64().expect("mom"));
            assert!(
                (sched.lr_at(s) - lr).abs() <= 1e-12 * lr,
                "lr step {s}: {} vs {lr}",
                sched.lr_at(s)
            );
            assert!(
                (sched.mom_at(s) - mom).abs() <= 1e-12,
                "mom step {s}: {} vs {mom}",
                sched.mom_at(s)
            );
        }
    }
    // Hand-checkable anchors: start lr_max/25, peak lr_max at 25%, momentum 0.95 -> 0.85.
    let s = OneCycle::new(1e-3, 100);
    assert!((s.lr_at(0) - 4e-5).abs() < 1e-18);
    assert!((s.lr_at(25) - 1e-3).abs() < 1e-18);
    assert!((s.mom_at(0) - 0.95).abs() < 1e-15 && (s.mom_at(25) - 0.85).abs() < 1e-15);
    // half-way through the warm-up: arithmetic mean of start and peak (cos(pi/2) = 0)
    let want = 4e-5 + (1e-3 - 4e-5) * (1.0 + (std::f64::consts::PI * (1.0 - 0.48)).cos()) / 2.0;
    // (fastai computes the phase position in f32, hence the loose tolerance)
    assert!((s.lr_at(12) - want).abs() < 1e-6 * want);
}

#[test]
fn adamw_matches_fastai_adam() {
    let g = golden();
    let a = &g["adam"];
    for (key, do_wd) in [("p_wd", true), ("p_no_wd", false)] {
        let p0: Vec<f32> = f64s(&a["p0"]).iter().map(|&v| v as f32).collect();
        let p = Tensor::from_slice(&p0).set_requires_grad(true);
        let mut opt = AdamW::new(
            vec![(p.shallow_clone(), do_wd)],
            a["wd"].as_f64().expect("wd"),
        );
        let lrs = f64s(&a["lrs"]);
        let moms = f64s(&a["moms"]);
        for (k, gr) in a["grads"].as_array().expect("grads").iter().enumerate() {
            let gv: Vec<f32> = f64s(gr).iter().map(|&v| v as f32).collect();
            opt.zero_grad();
            (&p * Tensor::from_slice(&gv)).sum(Kind::Float).backward();
            opt.step(lrs[k], moms[k]);
        }
        assert_close(&to_vec(&p), &f64s(&a[key]), 1e-7, 1e-6, key);
    }
}
