//! `specnorm.Normalizer`: specnorm-norm's transforms on numpy arrays, with the leakage guard.

use ndarray::ArrayD;
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use specnorm_norm::{InstanceStats, NormSpec, Normalizer, PcenConfig};

use crate::errors;
use crate::extract::asarray;
use crate::stats::PyStats;

/// A float32 copy of `batch` (numpy array, torch CPU tensor, nested lists).
fn owned_f32(py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<ArrayD<f32>> {
    let arr = asarray(py, batch, Some("float32"))?;
    let arr = arr.cast::<PyArrayDyn<f32>>().map_err(PyErr::from)?;
    Ok(arr.readonly().as_array().to_owned())
}

fn info_dict<'py>(py: Python<'py>, info: InstanceStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("mean", info.mean.into_pyarray(py))?;
    d.set_item("scale", info.scale.into_pyarray(py))?;
    Ok(d)
}

fn info_from(py: Python<'_>, d: &Bound<'_, PyAny>) -> PyResult<InstanceStats> {
    let field = |k: &str| -> PyResult<Vec<f32>> {
        let v = asarray(py, &d.get_item(k)?, Some("float32"))?;
        let v = v.cast::<PyArrayDyn<f32>>().map_err(PyErr::from)?;
        Ok(v.readonly().as_array().iter().copied().collect())
    };
    Ok(InstanceStats {
        mean: field("mean")?,
        scale: field("scale")?,
    })
}

/// A spectrogram normalization for batches `[..., F, T]` (e.g. `[B, 1, F, T]` or `[F, T]`).
///
/// `norm(batch)` returns the normalized float32 array (the input is not modified) and
/// `norm.decode(batch)` inverts it. Arithmetic is float64 per element, rounded once.
#[pyclass(name = "Normalizer", module = "specnorm", frozen)]
pub struct PyNormalizer {
    pub inner: Normalizer,
}

#[pymethods]
impl PyNormalizer {
    /// From statistics: global (scalar), per channel (`[1, 1, F, 1]`) or broadcast arrays.
    #[staticmethod]
    fn from_stats(stats: &PyStats) -> PyResult<Self> {
        Ok(Self {
            inner: Normalizer::from_stats(&stats.inner).map_err(errors::norm)?,
        })
    }

    /// Like `from_stats`, but raises `LeakageError` when the statistics' provenance includes
    /// `valid_fold` (or records no folds at all).
    #[staticmethod]
    fn for_validation_fold(stats: &PyStats, valid_fold: u32) -> PyResult<Self> {
        Ok(Self {
            inner: Normalizer::for_validation_fold(&stats.inner, valid_fold)
                .map_err(errors::norm)?,
        })
    }

    /// Each `[F, T]` spectrogram by its own mean and variance: `(x - mean) / sqrt(var + eps)`
    /// (`torch.nn.InstanceNorm2d`'s formula). Decoding needs the `info` of the encoding call.
    #[staticmethod]
    #[pyo3(signature = (eps = 1e-5))]
    fn per_instance(eps: f32) -> Self {
        Self {
            inner: Normalizer::PerInstance { eps },
        }
    }

    /// Per-channel energy normalization (librosa.pcen) of *power* spectrograms
    /// (`FeatureExtractor(scale="power")`). Defaults are librosa's; pass the features'
    /// `sample_rate` and `hop_length`. Not invertible.
    #[staticmethod]
    #[pyo3(signature = (sample_rate = None, hop_length = None, gain = None, bias = None, power = None, time_constant = None, eps = None))]
    fn pcen(
        sample_rate: Option<u32>,
        hop_length: Option<usize>,
        gain: Option<f32>,
        bias: Option<f32>,
        power: Option<f32>,
        time_constant: Option<f32>,
        eps: Option<f32>,
    ) -> PyResult<Self> {
        let d = PcenConfig::default();
        let cfg = PcenConfig {
            sample_rate: sample_rate.unwrap_or(d.sample_rate),
            hop_length: hop_length.unwrap_or(d.hop_length),
            gain: gain.unwrap_or(d.gain),
            bias: bias.unwrap_or(d.bias),
            power: power.unwrap_or(d.power),
            time_constant: time_constant.unwrap_or(d.time_constant),
            eps: eps.unwrap_or(d.eps),
        };
        cfg.validate().map_err(errors::norm)?;
        Ok(Self {
            inner: Normalizer::Pcen(cfg),
        })
    }

    /// The identity (the "no normalization" baseline).
    #[staticmethod]
    fn none() -> Self {
        Self {
            inner: Normalizer::None,
        }
    }

    /// `none`, `global`, `per_channel`, `per_instance`, `fixed` or `pcen`.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Normalizes a copy of `batch`. With `return_info=True` returns `(array, info)`, where
    /// `info` (per-instance only, else `None`) is what `decode` needs to invert it.
    #[pyo3(signature = (batch, return_info = false))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        return_info: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut x = owned_f32(py, batch)?;
        let info = py
            .detach(|| self.inner.encode_with_info(x.view_mut()))
            .map_err(errors::norm)?;
        let arr = x.into_pyarray(py).into_any();
        if !return_info {
            return Ok(arr);
        }
        let info = match info {
            Some(i) => info_dict(py, i)?.into_any(),
            None => py.None().into_bound(py),
        };
        Ok((arr, info).into_pyobject(py)?.into_any())
    }

    /// Inverts the normalization on a copy of `batch`; per-instance needs the `info` returned
    /// by `norm(batch, return_info=True)`; PCEN raises (not invertible).
    #[pyo3(signature = (batch, info = None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let mut x = owned_f32(py, batch)?;
        let info = info
            .filter(|i| !i.is_none())
            .map(|i| info_from(py, i))
            .transpose()?;
        py.detach(|| match &info {
            Some(i) => self.inner.decode_with(x.view_mut(), i),
            None => self.inner.decode(x.view_mut()),
        })
        .map_err(errors::norm)?;
        Ok(x.into_pyarray(py))
    }

    /// The normalization as specnorm-norm's `NormSpec` JSON: the form checkpoints store
    /// (`specnorm.normalizer`) and ONNX metadata carries (`normalization`);
    /// `Normalizer.from_json` reads it back exactly.
    fn to_json(&self) -> String {
        NormSpec::from(self.inner.clone()).to_json()
    }

    /// Parses and validates a `NormSpec` JSON (e.g. `to_json()`'s output, or the `normalization`
    /// metadata of an exported ONNX model). Raises `NormalizationError` on invalid input.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Self {
            inner: NormSpec::from_json(text).map_err(errors::norm)?.normalizer,
        })
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    /// Pickles as its JSON spec (float32 values round-trip exactly), so a `Dataset` holding a
    /// normalizer travels to `spawn`/`forkserver` DataLoader workers.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let py = slf.py();
        let rebuild = py
            .import("specnorm._specnorm")?
            .getattr("_normalizer_from_json")?;
        Ok((rebuild, (slf.get().to_json(),)))
    }

    fn __repr__(&self) -> String {
        format!("Normalizer.{}", self.inner.name())
    }
}

/// Unpickling helper of `Normalizer`.
#[pyfunction]
pub fn _normalizer_from_json(text: &str) -> PyResult<PyNormalizer> {
    PyNormalizer::from_json(text)
}
