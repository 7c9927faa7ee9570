//! The training loop (`fit_one_cycle`): losses, MixUp, the smoothed loss and one optimizer
//! step.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use tch::{Device, Kind, Tensor};

use crate::batches::DeviceSet;
use crate::config::{EpochMetrics, History, TrainConfig};
use crate::eval::eval_impl;
use crate::layers::LayerDesc;
use crate::model::Model;
use crate::optim::{AdamW, OneCycle};
use crate::source::{min_frames, validate_for_model, BatchSource};
use crate::TrainError;

/// Per-sample loss: cross-entropy, with fastai `LabelSmoothingCrossEntropy` when `ls > 0`:
/// `ε/c · (−Σ log p) + (1−ε) · nll`.
pub(crate) fn per_sample_loss(logits: &Tensor, y: &Tensor, ls: f64) -> Tensor {
    let logp = logits.log_softmax(-1, Kind::Float);
    let nll = -logp.gather(1, &y.unsqueeze(1), false).squeeze_dim(1);
    if ls > 0.0 {
        let c = logp.size()[1] as f64;
        let smooth = -logp.sum_dim_intlist(1, false, Kind::Float);
        smooth * ls / c + nll * (1.0 - ls)
    } else {
        nll
    }
}

/// fastai's `AvgSmoothLoss(beta=0.98)`.
pub(crate) struct SmoothLoss {
    val: f64,
    count: i32,
}

impl SmoothLoss {
    pub(crate) fn new() -> Self {
        SmoothLoss { val: 0.0, count: 0 }
    }
    pub(crate) fn push(&mut self, loss: f64) -> f64 {
        const B: f64 = 0.98;
        self.count += 1;
        self.val = B * self.val + (1.0 - B) * loss; // torch.lerp(loss, val, beta)
        self.val / (1.0 - B.powi(self.count))
    }
}

/// Everything a training step needs besides the model.
pub(crate) struct Stepper {
    rng: ChaCha8Rng,
    opt: AdamW,
    /// MixUp's Beta(α, α), one draw per sample.
    mixup: Option<Beta<f64>>,
    ls: f64,
    device: Device,
}

impl Stepper {
    pub(crate) fn new(model: &Model, cfg: &TrainConfig) -> Result<Stepper, TrainError> {
        // fastai Learner default wd_bn_bias=False: no weight decay on BN params and biases
        // (the 1-D tensors); conv/linear weights get it.
        let params = model.trainable().into_iter().map(|(_, t)| {
            let wd = t.dim() > 1;
            (t, wd)
        });
        let mixup = cfg
            .mixup
            .map(|a| {
                Beta::new(a, a)
                    .map_err(|e| TrainError::InvalidConfig(format!("mixup alpha {a}: {e}")))
            })
            .transpose()?;
        Ok(Stepper {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            opt: AdamW::new(params.collect(), cfg.weight_decay),
            mixup,
            ls: cfg.label_smoothing,
            device: cfg.device,
        })
    }

    pub(crate) fn epoch_batches(&mut self, n: usize, bs: usize) -> Vec<Vec<usize>> {
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut self.rng);
        if n < bs {
            return vec![perm];
        }
        // fastai's training DataLoader drops the last incomplete batch.
        perm.chunks_exact(bs).map(|c| c.to_vec()).collect()
    }

    /// The training batches of one epoch over `src`: [`Stepper::epoch_batches`] for samples of
    /// one length; for samples of their own lengths fastai's `SortedDL` order (its
    /// `SortishSampler`): the same shuffled samples (those of the incomplete batch dropped
    /// before sorting, not after, which would drop the shortest every epoch) in pieces of
    /// [`SORTISH_BATCHES`] batches, each piece sorted by frames (longest first) and cut into
    /// batches, the batch of the longest samples first and the others shuffled, so that a
    /// batch holds samples of similar lengths and is padded little.
    pub(crate) fn epoch_batches_for(
        &mut self,
        src: &dyn BatchSource,
        bs: usize,
    ) -> Vec<Vec<usize>> {
        let n = src.len();
        let batches = self.epoch_batches(n, bs);
        let full = src.sample_shape()[2];
        if n < bs || (0..n).all(|i| src.frames(i) == full) {
            return batches;
        }
        let mut perm = batches.concat();
        for piece in perm.chunks_mut(bs * SORTISH_BATCHES) {
            piece.sort_by_key(|&i| std::cmp::Reverse(src.frames(i)));
        }
        let mut batches: Vec<Vec<usize>> = perm.chunks_exact(bs).map(<[usize]>::to_vec).collect();
        let longest = |b: &Vec<usize>| b.iter().map(|&i| src.frames(i)).max().unwrap_or(0);
        if let Some(k) = (0..batches.len()).max_by_key(|&k| (longest(&batches[k]), usize::MAX - k))
        {
            batches.swap(0, k);
        }
        batches[1..].shuffle(&mut self.rng);
        batches
    }

    /// One optimizer step on the batch `x`, `y` (on the device); returns the (mean) training
    /// loss of the batch.
    pub(crate) fn step(&mut self, model: &Model, x: &Tensor, y: &Tensor, lr: f64, mom: f64) -> f64 {
        self.step_observed(model, x, y, lr, mom, &mut |_, _| {})
    }

    /// [`Stepper::step`], calling `seen(layer, output)` after every layer of the forward pass.
    pub(crate) fn step_observed(
        &mut self,
        model: &Model,
        x: &Tensor,
        y: &Tensor,
        lr: f64,
        mom: f64,
        seen: &mut dyn FnMut(&LayerDesc, &Tensor),
    ) -> f64 {
        let loss = match self.mixup {
            None => per_sample_loss(&model.forward_observed(x, true, seen), y, self.ls)
                .mean(Kind::Float),
            Some(beta) => {
                let b = x.size()[0] as usize;
                let lam: Vec<f32> = (0..b)
                    .map(|_| {
                        let l = beta.sample(&mut self.rng);
                        l.max(1.0 - l) as f32
                    })
                    .collect();
                let mut shuf: Vec<i64> = (0..b as i64).collect();
                shuf.shuffle(&mut self.rng);
                let lam = Tensor::from_slice(&lam).to_device(self.device);
                let shuf = Tensor::from_slice(&shuf).to_device(self.device);
                let x1 = x.index_select(0, &shuf);
                let y1 = y.index_select(0, &shuf);
                // torch.lerp(x1, x, lam) = x1 + lam * (x - x1)
                let xm = x1.lerp_tensor(x, &lam.view([b as i64, 1, 1, 1]));
                let logits = model.forward_observed(&xm, true, seen);
                let l1 = per_sample_loss(&logits, &y1, self.ls);
                let l0 = per_sample_loss(&logits, y, self.ls);
                l1.lerp_tensor(&l0, &lam).mean(Kind::Float)
            }
        };
        self.opt.zero_grad();
        loss.backward();
        self.opt.step(lr, mom);
        loss.double_value(&[])
    }

    /// The optimizer (its moments, for the memory-format diagnostics).
    #[cfg(test)]
    pub(crate) fn optimizer(&self) -> &AdamW {
        &self.opt
    }
}

/// Batches per sorted piece of an epoch over samples of their own lengths (fastai's `SortedDL`:
/// `bs * 50` samples).
pub const SORTISH_BATCHES: usize = 50;

pub(crate) fn batches_per_epoch(n: usize, bs: usize) -> usize {
    if n < bs {
        1
    } else {
        n / bs
    }
}

/// fastai's `fit_one_cycle(epochs, lr)`: one-cycle lr/momentum schedule, fastai Adam with
/// decoupled weight decay, optional label smoothing and MixUp. `on_epoch` is called after
/// each epoch. Both sets are validated first (shapes, labels, every value: see
/// [`BatchSource`]). Errors if the data does not match the model or the loss becomes
/// non-finite.
pub fn fit_one_cycle(
    model: &mut Model,
    train: &dyn BatchSource,
    valid: &dyn BatchSource,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<History, TrainError> {
    cfg.validate()?;
    validate_for_model(train, model)?;
    validate_for_model(valid, model)?;
    if model.device() != cfg.device {
        return Err(TrainError::InvalidConfig(format!(
            "model is on {:?}, config device is {:?}",
            model.device(),
            cfg.device
        )));
    }
    cfg.apply_threads();
    tch::manual_seed(cfg.seed as i64);
    model.set_channels_last(cfg.channels_last)?;
    let min = min_frames(model.spec.kind);
    let train_set = DeviceSet::new(train, cfg.device, cfg.placement, cfg.channels_last, min)?;
    let valid_set = DeviceSet::new(valid, cfg.device, cfg.placement, cfg.channels_last, min)?;
    let bs = cfg.batch_size;
    let per_epoch = batches_per_epoch(train.len(), bs);
    let sched = OneCycle::new(cfg.lr, cfg.epochs * per_epoch);
    let mut st = Stepper::new(model, cfg)?;
    let mut smooth = SmoothLoss::new();
    let mut history = History {
        epochs: Vec::with_capacity(cfg.epochs),
        seconds: 0.0,
        samples_per_sec: 0.0,
        resident: train_set.is_resident(),
    };
    let t_all = Instant::now();
    let mut train_secs = 0.0;
    let mut samples = 0usize;
    let mut step = 0usize;
    for epoch in 0..cfg.epochs {
        let t0 = Instant::now();
        let mut train_loss = f64::NAN;
        let pass = train_set.pass(st.epoch_batches_for(train, bs))?;
        for (k, idx) in pass.batches().iter().enumerate() {
            let (x, y) = pass.batch(k)?;
            let l = st.step(model, &x, &y, sched.lr_at(step), sched.mom_at(step));
            if !l.is_finite() {
                return Err(TrainError::Diverged(format!(
                    "training loss {l} at epoch {epoch}, step {step}"
                )));
            }
            train_loss = smooth.push(l);
            samples += idx.len();
            step += 1;
        }
        // Make sure queued device work is finished before timing.
        if let Device::Cuda(i) = cfg.device {
            tch::Cuda::synchronize(i as i64);
        }
        train_secs += t0.elapsed().as_secs_f64();
        let (valid_loss, accuracy, _) =
            eval_impl(model, valid, &valid_set, bs, cfg.label_smoothing, min)?;
        let m = EpochMetrics {
            epoch,
            train_loss,
            valid_loss,
            accuracy,
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_epoch(&m);
        history.epochs.push(m);
    }
    history.seconds = t_all.elapsed().as_secs_f64();
    history.samples_per_sec = if train_secs > 0.0 {
        samples as f64 / train_secs
    } else {
        0.0
    };
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelKind, ModelSpec};

    #[test]
    fn label_smoothing_matches_fastai() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/fixtures/train/golden.json"
        );
        let g: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("json");
        let g = &g["label_smoothing"];
        let f = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .expect("array")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        };
        let logits: Vec<f32> = f(&g["logits"]).iter().map(|&v| v as f32).collect();
        let y: Vec<i64> = g["y"]
            .as_array()
            .expect("y")
            .iter()
            .map(|v| v.as_i64().expect("i"))
            .collect();
        let logits = Tensor::from_slice(&logits).view([3, 4]);
        let y = Tensor::from_slice(&y);
        for (eps, key) in [(g["eps"].as_f64().expect("eps"), "ls"), (0.0, "ce")] {
            let got = Vec::<f64>::try_from(per_sample_loss(&logits, &y, eps).to_kind(Kind::Double))
                .expect("vec");
            for (a, b) in got.iter().zip(f(&g[key])) {
                assert!((a - b).abs() < 1e-6, "{key}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn beta_sampler_moments() {
        // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for a in [0.4, 2.0] {
            let n = 40_000;
            let beta = Beta::new(a, a).unwrap();
            let xs: Vec<f64> = (0..n).map(|_| beta.sample(&mut rng)).collect();
            assert!(xs.iter().all(|&x| (0.0..=1.0).contains(&x)));
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let want = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "a={a} mean {mean}");
            assert!((var - want).abs() < 0.006, "a={a} var {var} want {want}");
        }
    }

    #[test]
    fn smooth_loss_is_debiased_ema() {
        let mut s = SmoothLoss::new();
        assert!((s.push(2.0) - 2.0).abs() < 1e-12);
        // (0.98*0.04 + 0.02*1) / (1 - 0.98^2)
        let want = (0.98 * 0.04 + 0.02) / (1.0 - 0.98f64.powi(2));
        assert!((s.push(1.0) - want).abs() < 1e-12);
    }

    #[test]
    fn drop_last_batches() {
        let m = Model::new(
            ModelSpec {
                kind: ModelKind::Small,
                in_channels: 1,
                n_classes: 2,
            },
            Device::Cpu,
            0,
        )
        .expect("model");
        let cfg = TrainConfig {
            device: Device::Cpu,
            batch_size: 4,
            ..TrainConfig::default()
        };
        let mut st = Stepper::new(&m, &cfg).expect("stepper");
        let b = st.epoch_batches(10, 4);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4]);
        assert_eq!(
            st.epoch_batches(3, 4)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(batches_per_epoch(10, 4), 2);
    }
}
