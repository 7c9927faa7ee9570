//! Training from a [`BatchSource`] that is not held in memory: the same runs as from
//! [`InMemoryData`], bit for bit, whatever the placement; validated by a streaming pass whose
//! errors name the sample.

use std::cell::Cell;

use specnorm_train::{
    evaluate, fit_one_cycle, lr_find, BatchSource, DataPlacement, InMemoryData, LearnedPcenConfig,
    Model, TrainConfig, TrainError, CHECK_CHUNK,
};
use tch::Device;

mod common;
use common::SPEC;

/// `n` samples of 3 classes of [1, 32, 32], non-negative (noise in [0, 0.5)).
fn synthetic(n: usize, seed: u64) -> InMemoryData {
    common::synthetic(n, seed, 0.0..0.5)
}

/// The samples of an [`InMemoryData`] handed out only through `fill` (as a memory-mapped
/// cache would), counting the calls and naming samples `clip<i>.wav`.
struct Streamed {
    data: InMemoryData,
    fills: Cell<usize>,
}

impl Streamed {
    fn new(data: InMemoryData) -> Self {
        Streamed {
            data,
            fills: Cell::new(0),
        }
    }
}

impl BatchSource for Streamed {
    fn len(&self) -> usize {
        self.data.len()
    }
    fn sample_shape(&self) -> [usize; 3] {
        self.data.sample_shape()
    }
    fn labels(&self) -> &[i64] {
        &self.data.y
    }
    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
        self.fills.set(self.fills.get() + 1);
        self.data.fill(idx, out)
    }
    fn sample_name(&self, i: usize) -> String {
        format!("clip{i}.wav")
    }
}

fn cfg(placement: DataPlacement) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        lr: 1e-2,
        batch_size: 16,
        seed: 3,
        mixup: Some(0.4),
        device: Device::Cpu,
        threads: Some(1),
        placement,
        ..TrainConfig::default()
    }
}

fn run(
    train: &dyn BatchSource,
    valid: &dyn BatchSource,
    c: &TrainConfig,
) -> (Vec<(f64, f64, f64)>, bool) {
    let mut model = Model::new(SPEC, Device::Cpu, c.seed).expect("model");
    let h = fit_one_cycle(&mut model, train, valid, c, &mut |_| {}).expect("trains");
    let metrics = h
        .epochs
        .iter()
        .map(|e| (e.train_loss, e.valid_loss, e.accuracy))
        .collect();
    (metrics, h.resident)
}

#[test]
fn a_streamed_source_trains_exactly_as_in_memory() {
    let (tr, va) = (synthetic(60, 1), synthetic(21, 2));
    let (memory, resident) = run(&tr, &va, &cfg(DataPlacement::Auto));
    assert!(resident, "a small in-memory set is uploaded");
    let (str_, sva) = (Streamed::new(tr.clone()), Streamed::new(va.clone()));
    let (streamed, resident) = run(&str_, &sva, &cfg(DataPlacement::Auto));
    assert!(!resident, "Auto never uploads a source not held in memory");
    assert_eq!(streamed, memory, "bit for bit");
    // Validation: 60 / CHECK_CHUNK chunks; training: 2 epochs of 60 / 16 = 3 batches;
    // evaluation: 2 passes over 21 samples in batches of 16.
    assert_eq!(str_.fills.get(), 60usize.div_ceil(CHECK_CHUNK) + 2 * 3);
    assert_eq!(sva.fills.get(), 21usize.div_ceil(CHECK_CHUNK) + 2 * 2);
    // Resident: uploaded in pieces, same runs.
    let (uploaded, resident) = run(&str_, &sva, &cfg(DataPlacement::Resident));
    assert!(resident);
    assert_eq!(uploaded, memory);

    let model = Model::new(SPEC, Device::Cpu, 0).expect("model");
    let a = evaluate(&model, &va, 8).expect("evaluate");
    let b = evaluate(&model, &sva, 8).expect("evaluate");
    assert_eq!(a, b);
    let c = cfg(DataPlacement::Auto);
    let a = lr_find(SPEC, None, &tr, &c, 1e-5, 1e-2, 20).expect("lr_find");
    let b = lr_find(SPEC, None, &str_, &c, 1e-5, 1e-2, 20).expect("lr_find");
    assert_eq!(a, b);
}

#[test]
fn a_streamed_source_is_validated_before_training_with_the_sample_named() {
    let c = cfg(DataPlacement::Auto);
    let good = Streamed::new(synthetic(40, 1));
    let mut model = Model::new(SPEC, Device::Cpu, 0).expect("model");

    let mut nan = synthetic(40, 1);
    nan.x[37 * 32 * 32 + 5] = f32::NAN;
    let nan = Streamed::new(nan);
    let e = fit_one_cycle(&mut model, &nan, &good, &c, &mut |_| {}).unwrap_err();
    assert!(matches!(e, TrainError::InvalidData(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("clip37.wav") && msg.contains("index 5") && msg.contains("not finite"),
        "{msg}"
    );
    assert_eq!(nan.fills.get(), 2, "stopped in the validation pass");

    let mut label = synthetic(40, 1);
    label.y[12] = 3;
    let e = fit_one_cycle(&mut model, &good, &Streamed::new(label), &c, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("clip12.wav") && e.contains("label 3"), "{e}");

    // A PCEN front layer needs non-negative input.
    let front = LearnedPcenConfig {
        n_freq: 32,
        gain: 0.98,
        bias: 2.0,
        power: 0.5,
        smoothing: 0.025,
        eps: 1e-6,
    };
    let mut model = Model::with_front(SPEC, Some(front), Device::Cpu, 0).expect("model");
    let mut negative = synthetic(40, 1);
    negative.x[3 * 32 * 32] = -1.0;
    let e = fit_one_cycle(&mut model, &good, &Streamed::new(negative), &c, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("clip3.wav") && e.contains("negative"), "{e}");
}
