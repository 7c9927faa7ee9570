//! [`InMemoryData`]: features and labels held in memory, validated against a model spec.

use crate::model::{Model, ModelSpec};
use crate::source::{check_fill_buffer, validate_for_model, validate_source, BatchSource};
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
        validate_source(self, spec, None)
    }

    /// [`InMemoryData::validate`] against `model.spec`, and for a model with a PCEN front
    /// layer: F equal to the layer's channels and no negative value (a power spectrogram).
    pub fn validate_for(&self, model: &Model) -> Result<(), TrainError> {
        self.check_basic()?;
        validate_for_model(self, model)
    }
}

impl BatchSource for InMemoryData {
    fn len(&self) -> usize {
        self.shape[0]
    }

    fn sample_shape(&self) -> [usize; 3] {
        [self.shape[1], self.shape[2], self.shape[3]]
    }

    fn labels(&self) -> &[i64] {
        &self.y
    }

    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
        let sl = self.sample_len();
        check_fill_buffer(out.len(), idx.len(), sl)?;
        for (&i, o) in idx.iter().zip(out.chunks_exact_mut(sl.max(1))) {
            let row = self
                .x
                .get(i * sl..(i + 1) * sl)
                .ok_or_else(|| TrainError::InvalidData(format!("sample {i} of {}", self.len())))?;
            o.copy_from_slice(row);
        }
        Ok(())
    }

    fn contiguous(&self) -> Option<&[f32]> {
        Some(&self.x)
    }

    /// One pass over the whole array (the error gives the flat index).
    fn check_values(&self, non_negative: bool) -> Result<(), TrainError> {
        if self.x.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::InvalidData(
                "x contains non-finite values".into(),
            ));
        }
        if non_negative {
            if let Some(i) = self.x.iter().position(|v| *v < 0.0) {
                return Err(TrainError::InvalidData(format!(
                    "value {} at flat index {i} is negative; the PCEN front layer takes a \
                     power spectrogram",
                    self.x[i]
                )));
            }
        }
        Ok(())
    }
}
