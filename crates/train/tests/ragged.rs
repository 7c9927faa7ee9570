//! Samples of their own lengths ([`RaggedData`]): each training batch is padded to its longest
//! sample (at least the model's minimum), evaluation gives every sample the prediction it gets
//! alone whatever the batch size, and a resident set trains as the per-batch one, bit for bit.

use std::cell::RefCell;

use specnorm_train::{
    evaluate, fit_one_cycle, BatchSource, DataPlacement, InMemoryData, Model, RaggedData,
    TrainConfig, TrainError,
};
use tch::Device;

mod common;
use common::SPEC;

/// Frames of sample i: 20..=70, some below the small CNN's minimum of 32.
fn frames(n: usize) -> Vec<usize> {
    (0..n).map(|i| 20 + (i * 37) % 51).collect()
}

/// A [`RaggedData`] recording the frames of every `fill_frames` call.
struct Recorded {
    data: RaggedData,
    calls: RefCell<Vec<(Vec<usize>, usize)>>,
}

impl BatchSource for Recorded {
    fn len(&self) -> usize {
        self.data.len()
    }
    fn sample_shape(&self) -> [usize; 3] {
        self.data.sample_shape()
    }
    fn frames(&self, i: usize) -> usize {
        self.data.frames(i)
    }
    fn labels(&self) -> &[i64] {
        self.data.labels()
    }
    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
        self.data.fill(idx, out)
    }
    fn fill_frames(&self, idx: &[usize], t: usize, out: &mut [f32]) -> Result<(), TrainError> {
        self.calls.borrow_mut().push((idx.to_vec(), t));
        self.data.fill_frames(idx, t, out)
    }
}

fn cfg(placement: DataPlacement) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        lr: 1e-2,
        batch_size: 8,
        seed: 5,
        device: Device::Cpu,
        threads: Some(1),
        placement,
        ..TrainConfig::default()
    }
}

/// Training batches are of similar lengths and have the frames of their longest sample (32 at
/// least); evaluation batches hold samples of one length.
#[test]
fn batches_are_padded_to_their_longest_sample() {
    let fr = frames(30);
    let train = Recorded {
        data: common::ragged(&fr, 1),
        calls: RefCell::new(Vec::new()),
    };
    let valid = Recorded {
        data: common::ragged(&frames(13), 2),
        calls: RefCell::new(Vec::new()),
    };
    let mut model = Model::new(SPEC, Device::Cpu, 0).expect("model");
    let h = fit_one_cycle(
        &mut model,
        &train,
        &valid,
        &cfg(DataPlacement::Auto),
        &mut |_| {},
    )
    .expect("trains");
    assert!(!h.resident);
    let calls = train.calls.borrow();
    let batches: Vec<_> = calls.iter().filter(|(idx, _)| idx.len() == 8).collect();
    assert_eq!(batches.len(), 2 * 3, "2 epochs of 30 / 8 batches");
    for (idx, t) in &batches {
        let longest = idx.iter().map(|&i| fr[i]).max().unwrap();
        assert_eq!(*t, longest.max(32), "{idx:?}");
    }
    assert!(
        batches.iter().any(|(_, t)| *t < 70),
        "some batch is shorter than the longest"
    );
    let vfr = frames(13);
    // (The validation pass before training reads through `fill`, not recorded.)
    assert!(!valid.calls.borrow().is_empty());
    for (idx, t) in valid.calls.borrow().iter() {
        assert!(idx.len() <= 8);
        assert!(idx.iter().all(|&i| vfr[i].max(32) == *t), "{idx:?} at {t}");
    }
}

/// Each sample's prediction and loss are those it gets evaluated alone at its own length
/// (padded only to 32 frames), for any batch size.
#[test]
fn evaluation_does_not_depend_on_the_batch() {
    let fr = frames(17);
    let data = common::ragged(&fr, 3);
    let model = Model::new(SPEC, Device::Cpu, 1).expect("model");
    let (loss1, acc1, p1) = evaluate(&model, &data, 1).expect("evaluate");
    for bs in [4, 64] {
        let (loss, acc, p) = evaluate(&model, &data, bs).expect("evaluate");
        assert_eq!(p, p1, "batch size {bs}");
        assert_eq!(acc, acc1);
        assert!((loss - loss1).abs() < 1e-5, "{loss} vs {loss1}");
    }
    let mut alone = Vec::new();
    let mut loss_sum = 0.0;
    for (i, &t) in fr.iter().enumerate() {
        let x = data.sample(i).expect("sample").to_vec();
        let tt = t.max(32);
        let mut padded = vec![0.0; 32 * tt];
        RaggedData::new(x, 1, 32, vec![t], vec![data.labels()[i]])
            .expect("one")
            .fill_frames(&[0], tt, &mut padded)
            .expect("fill");
        let one = InMemoryData::new(padded, [1, 1, 32, tt], vec![data.labels()[i]]).expect("one");
        let (l, _, p) = evaluate(&model, &one, 1).expect("evaluate");
        loss_sum += l;
        alone.push(p[0]);
    }
    assert_eq!(p1, alone);
    assert!((loss1 - loss_sum / fr.len() as f64).abs() < 1e-5);
}

/// A resident set (uploaded padded to the longest sample, each batch cut to its frames)
/// trains exactly as the set filled batch by batch.
#[test]
fn resident_and_per_batch_train_alike() {
    let (tr, va) = (
        common::ragged(&frames(24), 4),
        common::ragged(&frames(9), 5),
    );
    let run = |placement| {
        let mut model = Model::new(SPEC, Device::Cpu, 2).expect("model");
        let h = fit_one_cycle(&mut model, &tr, &va, &cfg(placement), &mut |_| {}).expect("trains");
        let metrics: Vec<_> = h
            .epochs
            .iter()
            .map(|e| (e.train_loss, e.valid_loss, e.accuracy))
            .collect();
        (metrics, h.resident)
    };
    let (per_batch, resident) = run(DataPlacement::Auto);
    assert!(!resident, "a ragged set is not contiguous");
    let (uploaded, resident) = run(DataPlacement::Resident);
    assert!(resident);
    assert_eq!(uploaded, per_batch, "bit for bit");
    assert!(per_batch.iter().all(|m| m.0.is_finite() && m.1.is_finite()));
}

/// The longest sample must reach the model's minimum; a sample without frames is refused.
#[test]
fn too_short_sets_are_refused() {
    let short = common::ragged(&[20, 31, 12], 6);
    let model = Model::new(SPEC, Device::Cpu, 0).expect("model");
    let e = evaluate(&model, &short, 2).unwrap_err().to_string();
    assert!(e.contains("below the minimum 32x32"), "{e}");
    assert!(RaggedData::new(vec![], 1, 32, vec![0], vec![0]).is_err());
}
