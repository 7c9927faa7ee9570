//! Evaluation of a model on a data set (eval mode, no gradients).

use tch::{Device, Kind};

use crate::batches::{DataPlacement, DeviceSet};
use crate::model::Model;
use crate::source::{min_frames, validate_for_model, BatchSource};
use crate::train::per_sample_loss;
use crate::TrainError;

/// The batches of an evaluation pass over `data`: batches of `bs` samples of one length
/// (frames, at least `min`), in order of length (then of index), so that a sample is padded
/// only to the model's minimum and its prediction does not depend on its batch. For a set of
/// one length: `0..N` in chunks of `bs`.
pub(crate) fn eval_batches(data: &dyn BatchSource, bs: usize, min: usize) -> Vec<Vec<usize>> {
    let frames = |i: usize| data.frames(i).max(min);
    let mut idx: Vec<usize> = (0..data.len()).collect();
    idx.sort_by_key(|&i| frames(i)); // stable: equal lengths keep their order
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for i in idx {
        match batches.last_mut() {
            Some(b) if b.len() < bs && frames(b[0]) == frames(i) => b.push(i),
            _ => batches.push(vec![i]),
        }
    }
    batches
}

/// Mean loss (label smoothing `ls`), accuracy and arg-max predictions (in sample order) over
/// `set`, the device form of `data`, in batches of at most `bs` ([`eval_batches`]).
pub(crate) fn eval_impl(
    model: &Model,
    data: &dyn BatchSource,
    set: &DeviceSet<'_>,
    bs: usize,
    ls: f64,
    min: usize,
) -> Result<(f64, f64, Vec<i64>), TrainError> {
    let n = data.len();
    let labels = data.labels();
    let mut preds = vec![0i64; n];
    let mut loss_sum = 0.0;
    let mut correct = 0usize;
    let pass = set.pass(eval_batches(data, bs, min))?;
    tch::no_grad(|| -> Result<(), TrainError> {
        for (k, chunk) in pass.batches().iter().enumerate() {
            let (x, y) = pass.batch(k)?;
            let logits = model.forward_t(&x, false);
            loss_sum += per_sample_loss(&logits, &y, ls)
                .f_sum(Kind::Double)?
                .f_double_value(&[])?;
            let p = logits.f_argmax(1, false)?.f_to_device(Device::Cpu)?;
            let p = Vec::<i64>::try_from(&p)?;
            for (&pi, &i) in p.iter().zip(chunk) {
                correct += usize::from(labels.get(i) == Some(&pi));
                if let Some(slot) = preds.get_mut(i) {
                    *slot = pi;
                }
            }
        }
        Ok(())
    })?;
    Ok((loss_sum / n as f64, correct as f64 / n as f64, preds))
}

/// Mean cross-entropy loss, accuracy and arg-max predictions (in sample order) of `model`
/// (eval mode, no grad); the set is validated first and uploaded to the model's device once
/// when it is held in memory and fits ([`DataPlacement::Auto`]), else read batch by batch.
/// Samples of their own lengths are evaluated in batches of one length, each padded only to
/// the model's minimum, so a prediction does not depend on `batch_size`.
pub fn evaluate(
    model: &Model,
    data: &dyn BatchSource,
    batch_size: usize,
) -> Result<(f64, f64, Vec<i64>), TrainError> {
    validate_for_model(data, model)?;
    if batch_size == 0 {
        return Err(TrainError::InvalidConfig("batch_size must be >= 1".into()));
    }
    let min = min_frames(model.spec.kind);
    let set = DeviceSet::new(data, model.device(), DataPlacement::Auto, false, min)?;
    eval_impl(model, data, &set, batch_size, 0.0, min)
}
