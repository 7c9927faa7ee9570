//! Evaluation of a model on a data set (eval mode, no gradients).

use tch::{Device, Kind};

use crate::batches::{DataPlacement, DeviceSet};
use crate::model::Model;
use crate::source::{validate_for_model, BatchSource};
use crate::train::per_sample_loss;
use crate::TrainError;

/// Mean loss (label smoothing `ls`), accuracy and arg-max predictions over `set`, the
/// device form of `data`, in batches of `bs`.
pub(crate) fn eval_impl(
    model: &Model,
    data: &dyn BatchSource,
    set: &DeviceSet<'_>,
    bs: usize,
    ls: f64,
) -> Result<(f64, f64, Vec<i64>), TrainError> {
    let n = data.len();
    let labels = data.labels();
    let mut preds = Vec::with_capacity(n);
    let mut loss_sum = 0.0;
    let mut correct = 0usize;
    let idx: Vec<usize> = (0..n).collect();
    let pass = set.pass(idx.chunks(bs).map(<[usize]>::to_vec).collect())?;
    tch::no_grad(|| -> Result<(), TrainError> {
        for (k, chunk) in pass.batches().iter().enumerate() {
            let (x, y) = pass.batch(k)?;
            let logits = model.forward_t(&x, false);
            loss_sum += per_sample_loss(&logits, &y, ls)
                .f_sum(Kind::Double)?
                .f_double_value(&[])?;
            let p = logits.f_argmax(1, false)?.f_to_device(Device::Cpu)?;
            let p = Vec::<i64>::try_from(&p)?;
            correct += p
                .iter()
                .zip(chunk)
                .filter(|(&pi, &i)| labels.get(i) == Some(&pi))
                .count();
            preds.extend(p);
        }
        Ok(())
    })?;
    Ok((loss_sum / n as f64, correct as f64 / n as f64, preds))
}

/// Mean cross-entropy loss, accuracy and arg-max predictions of `model` (eval mode, no grad);
/// the set is validated first and uploaded to the model's device once when it is held in
/// memory and fits ([`DataPlacement::Auto`]), else read batch by batch.
pub fn evaluate(
    model: &Model,
    data: &dyn BatchSource,
    batch_size: usize,
) -> Result<(f64, f64, Vec<i64>), TrainError> {
    validate_for_model(data, model)?;
    if batch_size == 0 {
        return Err(TrainError::InvalidConfig("batch_size must be >= 1".into()));
    }
    let set = DeviceSet::new(data, model.device(), DataPlacement::Auto, false)?;
    let (loss, acc, preds) = eval_impl(model, data, &set, batch_size, 0.0)?;
    if preds.len() != data.len() {
        return Err(TrainError::InvalidData("prediction count mismatch".into()));
    }
    Ok((loss, acc, preds))
}
