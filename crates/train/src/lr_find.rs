//! fastai's learning-rate finder (`lr_find`) and its `valley` suggestion.

use crate::batches::DeviceSet;
use crate::config::TrainConfig;
use crate::model::{Model, ModelSpec};
use crate::pcen::LearnedPcenConfig;
use crate::source::{min_frames, validate_source, BatchSource};
use crate::train::{SmoothLoss, Stepper};
use crate::TrainError;

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

/// fastai's `lr_find`: trains a fresh model (seeded by `cfg.seed`; with the trainable PCEN front
/// layer `front` when given, see [`Model::with_front`]) for `steps` steps with the
/// learning rate growing exponentially from `start` to `end` (Adam β1 = 0.9, `cfg`'s weight
/// decay, label smoothing and mixup), recording the smoothed loss; stops early when the
/// smoothed loss exceeds 4× its minimum or becomes non-finite.
pub fn lr_find(
    spec: ModelSpec,
    front: Option<LearnedPcenConfig>,
    train: &dyn BatchSource,
    cfg: &TrainConfig,
    start: f64,
    end: f64,
    steps: usize,
) -> Result<LrFind, TrainError> {
    cfg.validate()?;
    validate_source(train, &spec, front.as_ref().map(|f| f.n_freq))?;
    if !(start.is_finite() && end.is_finite() && start > 0.0 && end > start) {
        return Err(TrainError::InvalidConfig(format!(
            "need 0 < start < end, got {start}, {end}"
        )));
    }
    if steps < 2 {
        return Err(TrainError::InvalidConfig("lr_find needs steps >= 2".into()));
    }
    cfg.apply_threads();
    let mut model = Model::with_front(spec, front, cfg.device, cfg.seed)?;
    model.set_channels_last(cfg.channels_last)?;
    let min = min_frames(model.spec.kind);
    let set = DeviceSet::new(train, cfg.device, cfg.placement, cfg.channels_last, min)?;
    let mut st = Stepper::new(&model, cfg)?;
    let mut smooth = SmoothLoss::new();
    let (mut lrs, mut losses) = (Vec::new(), Vec::new());
    let mut best = f64::INFINITY;
    let mut it = 0usize;
    'outer: loop {
        let pass = set.pass(st.epoch_batches_for(train, cfg.batch_size))?;
        for k in 0..pass.batches().len() {
            let (x, y) = pass.batch(k)?;
            let lr = start * (end / start).powf(it as f64 / steps as f64);
            let l = st.step(&model, &x, &y, lr, 0.9);
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
}
