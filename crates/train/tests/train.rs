//! Integration tests: training, determinism, checkpoints, lr_find, input validation.

use std::collections::BTreeMap;

use specnorm_train::{
    evaluate, fit_one_cycle, lr_find, DataPlacement, InMemoryData, Model, ModelKind, ModelSpec,
    TrainConfig, TrainError,
};
use tch::{Device, Kind, Tensor};

mod common;
use common::SPEC;

/// 3 classes of [1, 32, 32] "spectrograms", `per_class` each, noise in [-0.5, 0.5).
fn synthetic(per_class: usize, seed: u64) -> InMemoryData {
    common::synthetic(3 * per_class, seed, -0.5..0.5)
}

fn cfg(epochs: usize, mixup: Option<f64>) -> TrainConfig {
    TrainConfig {
        epochs,
        lr: 1e-2,
        batch_size: 16,
        seed: 7,
        mixup,
        label_smoothing: 0.0,
        weight_decay: 0.01,
        device: Device::Cpu,
        threads: Some(1),
        placement: DataPlacement::Auto,
        channels_last: false,
    }
}

fn train(c: &TrainConfig) -> (Model, specnorm_train::History) {
    let (tr, va) = (synthetic(30, 1), synthetic(10, 2));
    let mut model = Model::new(SPEC, Device::Cpu, c.seed).expect("model");
    let mut seen = Vec::new();
    let h =
        fit_one_cycle(&mut model, &tr, &va, c, &mut |m| seen.push(m.epoch)).expect("training runs");
    assert_eq!(
        seen,
        (0..c.epochs).collect::<Vec<_>>(),
        "callback once per epoch"
    );
    (model, h)
}

fn strip_time(h: &specnorm_train::History) -> Vec<(usize, f64, f64, f64)> {
    h.epochs
        .iter()
        .map(|e| (e.epoch, e.train_loss, e.valid_loss, e.accuracy))
        .collect()
}

#[test]
fn small_model_learns_synthetic_classes_and_is_deterministic() {
    let c = cfg(4, None);
    let (model, h1) = train(&c);
    let last = h1.epochs.last().expect("epochs");
    assert!(
        last.accuracy >= 0.9,
        "accuracy {} (chance 0.33)",
        last.accuracy
    );
    assert!(last.valid_loss < 0.5, "valid loss {}", last.valid_loss);
    assert!(h1.samples_per_sec > 0.0);
    // evaluate agrees with the last epoch (no label smoothing)
    let (loss, acc, preds) = evaluate(&model, &synthetic(10, 2), 7).expect("evaluate");
    assert!((loss - last.valid_loss).abs() < 1e-5 && acc == last.accuracy);
    assert_eq!(preds.len(), 30);
    // same seed twice -> identical history
    let (_, h2) = train(&c);
    assert_eq!(strip_time(&h1), strip_time(&h2));
}

#[test]
fn placement_changes_nothing_and_channels_last_changes_only_rounding() {
    let mut c = cfg(2, Some(0.4));
    c.placement = DataPlacement::PerBatch;
    let (_, host) = train(&c);
    assert!(!host.resident);
    c.placement = DataPlacement::Resident;
    let (_, dev) = train(&c);
    assert!(dev.resident);
    // the same batches, gathered on the device instead of the host: bit-identical training
    assert_eq!(strip_time(&host), strip_time(&dev));
    c.channels_last = true;
    let (mut model, cl) = train(&c);
    assert!(model.is_channels_last());
    for (a, b) in strip_time(&dev).iter().zip(strip_time(&cl)) {
        assert!(
            (a.1 - b.1).abs() < 1e-3 * a.1.abs(),
            "train loss {a:?} vs {b:?}"
        );
        assert!(
            (a.2 - b.2).abs() < 1e-3 * a.2.abs(),
            "valid loss {a:?} vs {b:?}"
        );
    }
    // switching back keeps the values
    let x = Tensor::randn([3, 1, 32, 32], (Kind::Float, Device::Cpu));
    let before = tch::no_grad(|| model.forward_t(&x, false));
    model.set_channels_last(false).expect("contiguous");
    assert!(!model.is_channels_last());
    let after = tch::no_grad(|| model.forward_t(&x, false));
    let diff = (before - after).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "logits moved by {diff}");
}

#[test]
fn mixup_and_label_smoothing_train_deterministically() {
    let mut c = cfg(3, Some(0.4));
    c.label_smoothing = 0.1;
    let (_, h1) = train(&c);
    let (_, h2) = train(&c);
    assert_eq!(strip_time(&h1), strip_time(&h2));
    assert!(h1
        .epochs
        .iter()
        .all(|e| e.train_loss.is_finite() && e.valid_loss.is_finite()));
    // a different seed changes the run
    c.seed = 8;
    let (_, h3) = train(&c);
    assert_ne!(strip_time(&h1), strip_time(&h3));
}

#[test]
fn save_load_round_trip_gives_identical_logits() {
    let (model, _) = train(&cfg(1, None));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.safetensors");
    let mut meta = BTreeMap::new();
    meta.insert("fold".to_string(), "3".to_string());
    model.save(&path, &meta).expect("save");
    let (loaded, meta2) = Model::load(&path, Device::Cpu).expect("load");
    assert_eq!(loaded.spec, SPEC);
    assert_eq!(meta2.get("fold").map(String::as_str), Some("3"));
    assert_eq!(
        meta2.get("specnorm.model.kind").map(String::as_str),
        Some("small")
    );
    let x = Tensor::randn([4, 1, 32, 32], (Kind::Float, Device::Cpu));
    let a = tch::no_grad(|| model.forward_t(&x, false));
    let b = tch::no_grad(|| loaded.forward_t(&x, false));
    assert_eq!(
        Vec::<f32>::try_from(a.flatten(0, -1)).ok(),
        Vec::<f32>::try_from(b.flatten(0, -1)).ok()
    );
    // BN running stats were saved too (they differ from their init after training)
    let rm = &loaded
        .named_tensors()
        .into_iter()
        .find(|(n, _)| n == "0.1.running_mean")
        .expect("bn")
        .1;
    assert!(rm.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    // corrupt file -> typed error, not a panic
    std::fs::write(&path, b"not a safetensors file").expect("write");
    assert!(matches!(
        Model::load(&path, Device::Cpu),
        Err(TrainError::Checkpoint(_))
    ));
    assert!(matches!(
        Model::load(&dir.path().join("missing"), Device::Cpu),
        Err(TrainError::Io { .. })
    ));
}

#[test]
fn lr_find_returns_finite_suggestion() {
    let c = cfg(1, None);
    let r = lr_find(SPEC, None, &synthetic(30, 1), &c, 1e-5, 1.0, 40).expect("lr_find");
    assert!(
        r.suggested.is_finite() && r.suggested >= 1e-5 && r.suggested <= 1.0,
        "{}",
        r.suggested
    );
    assert_eq!(r.lrs.len(), r.losses.len());
    assert!(r.lrs.len() >= 10);
    assert!(r.lrs.windows(2).all(|w| w[1] > w[0]), "lrs increase");
    assert!(r.losses.iter().all(|l| l.is_finite()));
}

#[test]
fn lr_find_sweeps_the_pcen_front_layer_with_the_network() {
    let c = cfg(1, None);
    let mut power = synthetic(30, 1);
    power.x.iter_mut().for_each(|v| *v = v.abs());
    let front = |n_freq| specnorm_train::LearnedPcenConfig {
        n_freq,
        gain: 0.98,
        bias: 2.0,
        power: 0.5,
        smoothing: 0.025,
        eps: 1e-6,
    };
    let plain = lr_find(SPEC, None, &power, &c, 1e-5, 1.0, 40).expect("lr_find");
    let pcen = lr_find(SPEC, Some(front(32)), &power, &c, 1e-5, 1.0, 40).expect("lr_find");
    assert_eq!(pcen.lrs[..5], plain.lrs[..5], "the same schedule");
    assert_ne!(pcen.losses, plain.losses, "another network: PCEN in front");
    assert!(pcen.losses.iter().all(|l| l.is_finite()));
    // The front layer's checks apply: its channels must be the data's F.
    let e = lr_find(SPEC, Some(front(16)), &power, &c, 1e-5, 1.0, 40).unwrap_err();
    assert!(e.to_string().contains("16"), "{e}");
}

#[test]
fn invalid_inputs_are_typed_errors() {
    let mut bad = synthetic(2, 0);
    bad.y[0] = 3; // n_classes is 3
    let mut model = Model::new(SPEC, Device::Cpu, 0).expect("model");
    let good = synthetic(2, 0);
    let r = fit_one_cycle(&mut model, &bad, &good, &cfg(1, None), &mut |_| {});
    assert!(matches!(r, Err(TrainError::InvalidData(_))));
    assert!(InMemoryData::new(vec![0.0; 10], [1, 1, 3, 3], vec![0]).is_err());
    let mut c = cfg(1, None);
    c.batch_size = 0;
    assert!(matches!(
        fit_one_cycle(&mut model, &good, &good, &c, &mut |_| {}),
        Err(TrainError::InvalidConfig(_))
    ));
    let tiny = InMemoryData::new(vec![0.0; 64], [1, 1, 8, 8], vec![0]).expect("consistent");
    assert!(matches!(
        evaluate(&model, &tiny, 4),
        Err(TrainError::InvalidData(_))
    ));
    assert!(Model::new(
        ModelSpec {
            kind: ModelKind::XResNet18,
            in_channels: 0,
            n_classes: 2
        },
        Device::Cpu,
        0
    )
    .is_err());
}
