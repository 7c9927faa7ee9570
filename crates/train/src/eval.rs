//! Evaluation of a model on a data set (eval mode, no gradients).

use tch::{Device, Kind};

use crate::data::InMemoryData;
use crate::model::Model;
use crate::train::per_sample_loss;
use crate::TrainError;

pub(crate) fn eval_impl(model: &Model, data: &InMemoryData, bs: usize, ls: f64) -> (f64, f64, Vec<i64>) {
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
