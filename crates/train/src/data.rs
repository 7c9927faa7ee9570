//! [`InMemoryData`]: features and labels held in memory, validated against a model spec.

use tch::{Device, Tensor};

use crate::model::{Model, ModelKind, ModelSpec};
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

    /// [`InMemoryData::validate`] against `model.spec`, and for a model with a PCEN front
    /// layer: F equal to the layer's channels and no negative value (a power spectrogram).
    pub fn validate_for(&self, model: &Model) -> Result<(), TrainError> {
        self.validate(&model.spec)?;
        if let Some(front) = &model.front {
            if self.shape[2] as i64 != front.n_freq {
                return Err(TrainError::InvalidData(format!(
                    "data has {} frequency bins, the PCEN front layer {}",
                    self.shape[2], front.n_freq
                )));
            }
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

    /// `[N, C, F, T]` as libtorch sizes.
    pub(crate) fn dims(&self) -> [i64; 4] {
        self.shape.map(|d| d as i64)
    }

    /// Batch of the given sample indices as `(x [B,C,F,T] f32, y [B] i64)` on `device`,
    /// gathered on the host.
    pub(crate) fn batch(
        &self,
        idx: &[usize],
        device: Device,
    ) -> Result<(Tensor, Tensor), TrainError> {
        let sl = self.sample_len();
        let mut xs = Vec::with_capacity(idx.len() * sl);
        let mut ys = Vec::with_capacity(idx.len());
        for &i in idx {
            xs.extend_from_slice(&self.x[i * sl..(i + 1) * sl]);
            ys.push(self.y[i]);
        }
        let mut s = self.dims();
        s[0] = idx.len() as i64;
        let x = Tensor::f_from_slice(&xs)?.f_view(s)?.f_to_device(device)?;
        let y = Tensor::f_from_slice(&ys)?.f_to_device(device)?;
        Ok((x, y))
    }
}
