//! Checks of the graph signature against the metadata.

use ort::session::Session;
use ort::value::ValueType;
use specnorm_contract::ModelInput;

use crate::InferError;

/// The fixed size of a signature dimension (`None` when symbolic).
fn fixed(d: i64) -> Option<usize> {
    usize::try_from(d).ok()
}

/// Checks one float input (`[?, 1, n_freq, ?]` for a spectrogram model, `[?, ?]` for a
/// waveform model) and one float output `[?, n_classes]`; returns their names.
pub(crate) fn check_signature(
    session: &Session,
    input_kind: ModelInput,
    n_freq: usize,
    n_classes: usize,
) -> Result<(String, String), InferError> {
    let sig = InferError::Signature;
    let [input] = session.inputs() else {
        return Err(sig(format!(
            "expected 1 input, the model has {}",
            session.inputs().len()
        )));
    };
    let [output] = session.outputs() else {
        return Err(sig(format!(
            "expected 1 output, the model has {}",
            session.outputs().len()
        )));
    };
    let dims = |v: &ValueType, what: &str| -> Result<Vec<i64>, InferError> {
        match v {
            ValueType::Tensor { ty, shape, .. }
                if *ty == ort::value::TensorElementType::Float32 =>
            {
                Ok(shape.to_vec())
            }
            other => Err(sig(format!(
                "{what} is {other:?}, expected a float32 tensor"
            ))),
        }
    };
    let ishape = dims(input.dtype(), "input")?;
    match input_kind {
        ModelInput::Spectrogram => {
            if ishape.len() != 4 || fixed(ishape[1]) != Some(1) {
                return Err(sig(format!("input shape {ishape:?} is not [N, 1, F, T]")));
            }
            if fixed(ishape[2]) != Some(n_freq) {
                return Err(sig(format!(
                    "input F is {} but the feature config gives {n_freq} frequency bins",
                    ishape[2]
                )));
            }
        }
        ModelInput::Waveform { .. } => {
            if ishape.len() != 2 {
                return Err(sig(format!(
                    "input shape {ishape:?} is not [N, samples] (metadata says waveform input)"
                )));
            }
        }
    }
    let oshape = dims(output.dtype(), "output")?;
    if oshape.len() != 2 || (oshape[1] >= 0 && fixed(oshape[1]) != Some(n_classes)) {
        return Err(sig(format!(
            "output shape {oshape:?} is not [N, {n_classes}] ({n_classes} class names)"
        )));
    }
    Ok((input.name().to_string(), output.name().to_string()))
}
