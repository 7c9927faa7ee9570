//! Training loop (`fit_one_cycle`), evaluation and the learning-rate finder.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::model::{Model, ModelKind, ModelSpec};
use crate::optim::{AdamW, OneCycle};
use crate::TrainError;

/// In-memory features `[N, C, F, T]` (row-major, already normalized) and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct InMemoryData {
    /// Row-major values, `N*C*F*T` of them.
    pub x: Vec<f32>,
    /// `[N, C, F, T]`.
    pub shape: [usize; 4],
    /// `N` class indices in `0..n_classes`.
    pub y: Vec<i64>,
}

impl InMemoryData {
    /// Checked constructor.
    pub fn new(x: Vec<f32>, shape: [usize; 4], y: Vec<i64>) -> Result<InMemoryData, TrainError> {
        let d = InMemoryData { x, shape, y };
        d.check_basic()?;
        Ok(d)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    fn sample_len(&self) -> usize {
        self.shape[1] * self.shape[2] * self.shape[3]
    }

    fn check_basic(&self) -> Result<(), TrainError> {
        let n: Option<usize> = self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if n != Some(self.x.len()) {
            return Err(TrainError::InvalidData(format!(
                "x has {} values, shape {:?}",
                self.x.len(),
                self.shape
            )));
        }
        if self.y.len() != self.shape[0] {
            return Err(TrainError::InvalidData(format!(
                "{} labels for {} samples",
                self.y.len(),
                self.shape[0]
            )));
        }
        Ok(())
    }

    /// Validates against a model spec (shape, channels, label range, finiteness, min size).
    pub fn validate(&self, spec: &ModelSpec) -> Result<(), TrainError> {
        self.check_basic()?;
        if self.is_empty() {
            return Err(TrainError::InvalidData("dataset is empty".into()));
        }
        if self.shape[1] as i64 != spec.in_channels {
            return Err(TrainError::InvalidData(format!(
                "data has {} channels, model expects {}",
                self.shape[1], spec.in_channels
            )));
        }
        let min = match spec.kind {
            ModelKind::Small => 32,
            ModelKind::XResNet18 => 1,
        };
        if self.shape[2] < min || self.shape[3] < min {
            return Err(TrainError::InvalidData(format!(
                "spatial size {}x{} below the minimum {min}x{min} of {:?}",
                self.shape[2], self.shape[3], spec.kind
            )));
        }
        if let Some(bad) = self.y.iter().find(|&&c| c < 0 || c >= spec.n_classes) {
            return Err(TrainError::InvalidData(format!(
                "label {bad} outside 0..{}",
                spec.n_classes
            )));
        }
        if self.x.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::InvalidData(
                "x contains non-finite values".into(),
            ));
        }
        Ok(())
    }

    /// Batch of the given sample indices as `(x [B,C,F,T] f32, y [B] i64)` on `device`.
    fn batch(&self, idx: &[usize], device: Device) -> (Tensor, Tensor) {
        let sl = self.sample_len();
        let mut xs = Vec::with_capacity(idx.len() * sl);
        let mut ys = Vec::with_capacity(idx.len());
        for &i in idx {
            xs.extend_from_slice(&self.x[i * sl..(i + 1) * sl]);
            ys.push(self.y[i]);
        }
        let s = [
            idx.len() as i64,
            self.shape[1] as i64,
            self.shape[2] as i64,
            self.shape[3] as i64,
        ];
        let x = Tensor::from_slice(&xs).view(s).to_device(device);
        let y = Tensor::from_slice(&ys).to_device(device);
        (x, y)
    }
}

/// Training hyper-parameters (fastai defaults in [`TrainConfig::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Number of epochs.
    pub epochs: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// Batch size (64).
    pub batch_size: usize,
    /// Seed for init (`tch::manual_seed`), shuffling and mixup (ChaCha8).
    pub seed: u64,
    /// MixUp Beta(α, α) parameter (fastai: 0.4), `None` = no mixup.
    pub mixup: Option<f64>,
    /// Label smoothing ε (0 = plain cross-entropy).
    pub label_smoothing: f64,
    /// Decoupled weight decay (0.01).
    pub weight_decay: f64,
    /// Device (data is moved there per batch).
    pub device: Device,
    /// libtorch intra-op threads (`tch::set_num_threads`), `None` = leave as is.
    pub threads: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            lr: 2e-3,
            batch_size: 64,
            seed: 0,
            mixup: None,
            label_smoothing: 0.0,
            weight_decay: 0.01,
            device: crate::default_device(),
            threads: None,
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::InvalidConfig(m));
        if self.batch_size == 0 {
            return bad("batch_size must be >= 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be finite and > 0, got {}", self.lr));
        }
        if !(self.label_smoothing.is_finite() && (0.0..1.0).contains(&self.label_smoothing)) {
            return bad(format!(
                "label_smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "weight_decay must be finite and >= 0, got {}",
                self.weight_decay
            ));
        }
        if let Some(a) = self.mixup {
            if !(a.is_finite() && a > 0.0) {
                return bad(format!("mixup alpha must be finite and > 0, got {a}"));
            }
        }
        if self.threads == Some(0) {
            return bad("threads must be >= 1".into());
        }
        Ok(())
    }

    fn apply_threads(&self) {
        if let Some(n) = self.threads {
            tch::set_num_threads(n.min(i32::MAX as usize) as i32);
        }
    }
}

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// 0-based epoch index.
    pub epoch: usize,
    /// fastai's smoothed training loss at the end of the epoch (EMA β=0.98, debiased, over
    /// all steps so far), i.e. the `train_loss` column fastai prints.
    pub train_loss: f64,
    /// Mean validation loss (same loss function as training, without mixup).
    pub valid_loss: f64,
    /// Validation accuracy in `[0, 1]`.
    pub accuracy: f64,
    /// Wall time of the epoch (training + validation).
    pub seconds: f64,
}

/// Result of [`fit_one_cycle`].
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// Per-epoch metrics.
    pub epochs: Vec<EpochMetrics>,
    /// Total wall time.
    pub seconds: f64,
    /// Training throughput: samples processed by optimizer steps / time spent in the
    /// training phases (batch assembly + transfer + forward + backward + step).
    pub samples_per_sec: f64,
}

/// Per-sample loss: cross-entropy, with fastai `LabelSmoothingCrossEntropy` when `ls > 0`:
/// `ε/c · (−Σ log p) + (1−ε) · nll`.
fn per_sample_loss(logits: &Tensor, y: &Tensor, ls: f64) -> Tensor {
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

/// Standard normal via Box–Muller.
fn std_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>(); // (0, 1]
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Gamma(a, 1) (Marsaglia–Tsang; boost for a < 1).
fn gamma(rng: &mut ChaCha8Rng, a: f64) -> f64 {
    if a < 1.0 {
        let u = 1.0 - rng.gen::<f64>();
        return gamma(rng, a + 1.0) * u.powf(1.0 / a);
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = std_normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - rng.gen::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Beta(a, a) sample.
pub(crate) fn beta(rng: &mut ChaCha8Rng, a: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, a);
    if x + y > 0.0 {
        x / (x + y)
    } else {
        0.5
    }
}

/// fastai's `AvgSmoothLoss(beta=0.98)`.
struct SmoothLoss {
    val: f64,
    count: i32,
}

impl SmoothLoss {
    fn new() -> Self {
        SmoothLoss { val: 0.0, count: 0 }
    }
    fn push(&mut self, loss: f64) -> f64 {
        const B: f64 = 0.98;
        self.count += 1;
        self.val = B * self.val + (1.0 - B) * loss; // torch.lerp(loss, val, beta)
        self.val / (1.0 - B.powi(self.count))
    }
}

/// Everything a training step needs besides the model.
struct Stepper {
    rng: ChaCha8Rng,
    opt: AdamW,
    mixup: Option<f64>,
    ls: f64,
    device: Device,
}

impl Stepper {
    fn new(model: &Model, cfg: &TrainConfig) -> Stepper {
        // fastai Learner default wd_bn_bias=False: no weight decay on BN params and biases
        // (the 1-D tensors); conv/linear weights get it.
        let params = model.trainable().into_iter().map(|(_, t)| {
            let wd = t.dim() > 1;
            (t, wd)
        });
        Stepper {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            opt: AdamW::new(params.collect(), cfg.weight_decay),
            mixup: cfg.mixup,
            ls: cfg.label_smoothing,
            device: cfg.device,
        }
    }

    fn epoch_batches(&mut self, n: usize, bs: usize) -> Vec<Vec<usize>> {
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut self.rng);
        if n < bs {
            return vec![perm];
        }
        // fastai's training DataLoader drops the last incomplete batch.
        perm.chunks_exact(bs).map(|c| c.to_vec()).collect()
    }

    /// One optimizer step; returns the (mean) training loss of the batch.
    fn step(
        &mut self,
        model: &Model,
        data: &InMemoryData,
        idx: &[usize],
        lr: f64,
        mom: f64,
    ) -> f64 {
        let (x, y) = data.batch(idx, self.device);
        let loss = match self.mixup {
            None => per_sample_loss(&model.forward_t(&x, true), &y, self.ls).mean(Kind::Float),
            Some(alpha) => {
                let b = idx.len();
                let lam: Vec<f32> = (0..b)
                    .map(|_| {
                        let l = beta(&mut self.rng, alpha);
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
                let xm = x1.lerp_tensor(&x, &lam.view([b as i64, 1, 1, 1]));
                let logits = model.forward_t(&xm, true);
                let l1 = per_sample_loss(&logits, &y1, self.ls);
                let l0 = per_sample_loss(&logits, &y, self.ls);
                l1.lerp_tensor(&l0, &lam).mean(Kind::Float)
            }
        };
        self.opt.zero_grad();
        loss.backward();
        self.opt.step(lr, mom);
        loss.double_value(&[])
    }
}

fn eval_impl(model: &Model, data: &InMemoryData, bs: usize, ls: f64) -> (f64, f64, Vec<i64>) {
    let device = model.device();
    let n = data.len();
    let mut preds = Vec::with_capacity(n);
    let mut loss_sum = 0.0;
    let mut correct = 0usize;
    tch::no_grad(|| {
        let idx: Vec<usize> = (0..n).collect();
        for chunk in idx.chunks(bs) {
            let (x, y) = data.batch(chunk, device);
            let logits = model.forward_t(&x, false);
            loss_sum += per_sample_loss(&logits, &y, ls)
                .sum(Kind::Double)
                .double_value(&[]);
            let p = logits.argmax(1, false).to_device(Device::Cpu);
            let p: Vec<i64> = Vec::<i64>::try_from(&p).unwrap_or_default();
            for (k, &pi) in p.iter().enumerate() {
                if pi == data.y[chunk[k]] {
                    correct += 1;
                }
            }
            preds.extend(p);
        }
    });
    (loss_sum / n as f64, correct as f64 / n as f64, preds)
}

/// Mean cross-entropy loss, accuracy and arg-max predictions of `model` (eval mode, no grad).
pub fn evaluate(
    model: &Model,
    data: &InMemoryData,
    batch_size: usize,
) -> Result<(f64, f64, Vec<i64>), TrainError> {
    data.validate(&model.spec)?;
    if batch_size == 0 {
        return Err(TrainError::InvalidConfig("batch_size must be >= 1".into()));
    }
    let (loss, acc, preds) = eval_impl(model, data, batch_size, 0.0);
    if preds.len() != data.len() {
        return Err(TrainError::InvalidData("prediction count mismatch".into()));
    }
    Ok((loss, acc, preds))
}

fn batches_per_epoch(n: usize, bs: usize) -> usize {
    if n < bs {
        1
    } else {
        n / bs
    }
}

/// fastai's `fit_one_cycle(epochs, lr)`: one-cycle lr/momentum schedule, fastai Adam with
/// decoupled weight decay, optional label smoothing and MixUp. `on_epoch` is called after
/// each epoch. Errors if the data does not match the model or the loss becomes non-finite.
pub fn fit_one_cycle(
    model: &mut Model,
    train: &InMemoryData,
    valid: &InMemoryData,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<History, TrainError> {
    cfg.validate()?;
    train.validate(&model.spec)?;
    valid.validate(&model.spec)?;
    if model.device() != cfg.device {
        return Err(TrainError::InvalidConfig(format!(
            "model is on {:?}, config device is {:?}",
            model.device(),
            cfg.device
        )));
    }
    cfg.apply_threads();
    tch::manual_seed(cfg.seed as i64);
    let bs = cfg.batch_size;
    let per_epoch = batches_per_epoch(train.len(), bs);
    let sched = OneCycle::new(cfg.lr, cfg.epochs * per_epoch);
    let mut st = Stepper::new(model, cfg);
    let mut smooth = SmoothLoss::new();
    let mut history = History {
        epochs: Vec::with_capacity(cfg.epochs),
        seconds: 0.0,
        samples_per_sec: 0.0,
    };
    let t_all = Instant::now();
    let mut train_secs = 0.0;
    let mut samples = 0usize;
    let mut step = 0usize;
    for epoch in 0..cfg.epochs {
        let t0 = Instant::now();
        let mut train_loss = f64::NAN;
        for idx in st.epoch_batches(train.len(), bs) {
            let l = st.step(model, train, &idx, sched.lr_at(step), sched.mom_at(step));
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
        let (valid_loss, accuracy, _) = eval_impl(model, valid, bs, cfg.label_smoothing);
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

/// Result of [`lr_find`].
#[derive(Clone, Debug, PartialEq)]
pub struct LrFind {
    /// Learning rates (fastai drops the first 10% and the last 5 points; so do we).
    pub lrs: Vec<f64>,
    /// Smoothed losses (fastai `AvgSmoothLoss`, β = 0.98) at those learning rates.
    pub losses: Vec<f64>,
    /// fastai's `valley` suggestion.
    pub suggested: f64,
}

/// fastai's `valley` suggestion: middle of the longest decreasing run of the loss curve.
pub fn valley(lrs: &[f64], losses: &[f64]) -> Option<f64> {
    let n = losses.len().min(lrs.len());
    if n == 0 {
        return None;
    }
    // fastai computes `max_start = max_end - lds[max_end]`, which is -1 when the loss decreases
    // from the very first point; Python then indexes from the end. Signed arithmetic keeps that.
    let (mut max_start, mut max_end) = (0isize, 0usize);
    let mut lds = vec![1usize; n];
    for i in 1..n {
        for j in 0..i {
            if losses[i] < losses[j] && lds[i] < lds[j] + 1 {
                lds[i] = lds[j] + 1;
            }
            if lds[max_end] < lds[i] {
                max_end = i;
                max_start = max_end as isize - lds[max_end] as isize;
            }
        }
    }
    let sections = (max_end as isize - max_start) as f64 / 3.0;
    let idx = max_start + sections as isize + (sections / 2.0) as isize;
    let idx = if idx < 0 { n as isize + idx } else { idx };
    usize::try_from(idx).ok().and_then(|i| lrs.get(i).copied())
}

/// fastai's `lr_find`: trains a fresh model (seeded by `cfg.seed`) for `steps` steps with the
/// learning rate growing exponentially from `start` to `end` (Adam β1 = 0.9, `cfg`'s weight
/// decay, label smoothing and mixup), recording the smoothed loss; stops early when the
/// smoothed loss exceeds 4× its minimum or becomes non-finite.
pub fn lr_find(
    spec: ModelSpec,
    train: &InMemoryData,
    cfg: &TrainConfig,
    start: f64,
    end: f64,
    steps: usize,
) -> Result<LrFind, TrainError> {
    cfg.validate()?;
    train.validate(&spec)?;
    if !(start.is_finite() && end.is_finite() && start > 0.0 && end > start) {
        return Err(TrainError::InvalidConfig(format!(
            "need 0 < start < end, got {start}, {end}"
        )));
    }
    if steps < 2 {
        return Err(TrainError::InvalidConfig("lr_find needs steps >= 2".into()));
    }
    cfg.apply_threads();
    let model = Model::new(spec, cfg.device, cfg.seed)?;
    let mut st = Stepper::new(&model, cfg);
    let mut smooth = SmoothLoss::new();
    let (mut lrs, mut losses) = (Vec::new(), Vec::new());
    let mut best = f64::INFINITY;
    let mut it = 0usize;
    'outer: loop {
        for idx in st.epoch_batches(train.len(), cfg.batch_size) {
            let lr = start * (end / start).powf(it as f64 / steps as f64);
            let l = st.step(&model, train, &idx, lr, 0.9);
            let s = smooth.push(l);
            it += 1;
            if !s.is_finite() {
                break 'outer;
            }
            lrs.push(lr);
            losses.push(s);
            best = best.min(s);
            if s > 4.0 * best || it >= steps {
                break 'outer;
            }
        }
    }
    let lo = steps / 10;
    let hi = lrs.len().saturating_sub(5);
    if hi <= lo {
        return Err(TrainError::Diverged(format!(
            "lr_find stopped after {} steps, too few points for a suggestion",
            lrs.len()
        )));
    }
    let (lrs, losses) = (lrs[lo..hi].to_vec(), losses[lo..hi].to_vec());
    let suggested = valley(&lrs, &losses)
        .ok_or_else(|| TrainError::Diverged("lr_find: no suggestion".into()))?;
    Ok(LrFind {
        lrs,
        losses,
        suggested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let xs: Vec<f64> = (0..n).map(|_| beta(&mut rng, a)).collect();
            assert!(xs.iter().all(|&x| (0.0..=1.0).contains(&x)));
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let want = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "a={a} mean {mean}");
            assert!((var - want).abs() < 0.006, "a={a} var {var} want {want}");
        }
    }

    #[test]
    fn valley_picks_middle_of_longest_descent() {
        // losses fall over indices 2..=8 (longest decreasing run starts at the peak, index 1)
        let lrs: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let losses = [3.0, 3.5, 3.2, 3.0, 2.5, 2.0, 1.5, 1.2, 1.0, 1.6, 2.5, 4.0];
        // Longest strictly decreasing chain: 3.5, 3.2, 3.0, 2.5, 2.0, 1.5, 1.2, 1.0 (length 8,
        // ends at index 8) -> max_start = 8 - 8 = 0, sections = 8/3 -> idx = 0 + 2 + 1 = 3.
        assert_eq!(valley(&lrs, &losses), Some(3.0));
        assert_eq!(valley(&[], &[]), None);
        // Falling from the first point: fastai's max_start is -1 (this used to underflow).
        // sections = (5 - -1) / 3 = 2 -> idx = -1 + 2 + 1 = 2, as in Python.
        let falling = [5.0, 4.0, 3.0, 2.0, 1.0, 0.5];
        assert_eq!(valley(&lrs[..6], &falling), Some(2.0));
        // Two falling points: idx = -1, which Python reads as the last element.
        assert_eq!(valley(&lrs[..2], &[2.0, 1.0]), Some(1.0));
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
        let mut st = Stepper::new(&m, &cfg);
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
