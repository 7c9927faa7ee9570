//! `specnorm.FeatureExtractor`: the Rust front end with the GIL released, on all cores.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ndarray::{Array2, Array3, ArrayViewMut2, Axis};
use numpy::{IntoPyArray, PyArray2, PyArray3, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rayon::prelude::*;
use specnorm_features::FeatureExtractor;

use crate::{config, errors};

/// The rayon pool of this process. A pool inherited through `fork()` (DataLoader
/// workers, multiprocessing) has no threads in the child, so each process builds its own;
/// `RAYON_NUM_THREADS` sets its size (default: all cores).
static POOL: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);

/// The current process's pool.
pub fn pool() -> PyResult<Arc<rayon::ThreadPool>> {
    let pid = std::process::id();
    {
        let slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((owner, p)) = slot.as_ref() {
            if *owner == pid {
                return Ok(p.clone());
            }
        }
    }
    set_pool(0)
}

/// Replaces this process's pool by one of `threads` threads (0: `RAYON_NUM_THREADS` or all cores).
pub fn set_pool(threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    let pid = std::process::id();
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("specnorm-{i}"))
            .build()
            .map_err(|e| errors::SpecnormError::new_err(format!("cannot start threads: {e}")))?,
    );
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, old)) = slot.replace((pid, p.clone())) {
        if owner != pid {
            // The parent's pool (after a fork) has no threads here: never touch it again.
            std::mem::forget(old);
        }
    }
    Ok(p)
}

/// `numpy.asarray(obj, dtype)`: accepts numpy arrays, CPU torch tensors, lists.
pub fn asarray<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    dtype: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let np = py.import("numpy")?;
    match dtype {
        Some(d) => np.call_method1("asarray", (obj, d)),
        None => np.call_method1("asarray", (obj,)),
    }
}

/// Fixed-length clips (`t` frames each): every clip is computed straight into its slot of
/// the one `[B, F, t]` output (no per-clip array, no copy); the error of the first failing
/// file in input order, as the variable-length path reports it. `parallel`: over the current
/// rayon pool; otherwise on the calling thread (a one-thread pool: concurrent calls from
/// several Python threads then run side by side instead of queueing for its one worker).
fn extract_fixed(
    fx: &FeatureExtractor,
    paths: &[PathBuf],
    t: usize,
    parallel: bool,
) -> Result<Array3<f32>, specnorm_features::FeatureError> {
    let f = fx.n_bins();
    let mut data = vec![0f32; paths.len() * f * t];
    let one = |(slot, path): (&mut [f32], &PathBuf)| {
        let slot = ArrayViewMut2::from_shape((f, t), slot)
            .expect("a chunk of f * t elements is an [f, t] view");
        fx.extract_file_into(path, slot)
    };
    if f * t > 0 {
        let results: Vec<_> = if parallel {
            data.par_chunks_mut(f * t)
                .zip(paths.par_iter())
                .map(one)
                .collect()
        } else {
            data.chunks_mut(f * t).zip(paths.iter()).map(one).collect()
        };
        results.into_iter().collect::<Result<(), _>>()?;
    }
    Ok(Array3::from_shape_vec((paths.len(), f, t), data)
        .expect("paths.len() * f * t elements form a [B, f, t] array"))
}

/// Stacks same-shape `[F, T]` spectrograms into `[B, F, T]`.
fn stack(specs: Vec<Array2<f32>>) -> Result<Array3<f32>, String> {
    let (f, t) = specs.first().map_or((0, 0), |s| s.dim());
    if let Some((i, s)) = specs.iter().enumerate().find(|(_, s)| s.dim() != (f, t)) {
        return Err(format!(
            "clip {i} has {} frames but clip 0 has {t}: clips of different lengths do not stack; \
             set seconds= to pad/trim them, or call extract_file() per clip",
            s.dim().1
        ));
    }
    let mut out = Array3::<f32>::zeros((specs.len(), f, t));
    for (mut dst, s) in out.axis_iter_mut(Axis(0)).zip(&specs) {
        dst.assign(s);
    }
    Ok(out)
}

/// The specnorm feature front end: decode, mono, resample, waveform normalization,
/// pad/trim, STFT, optional mel, dB.
///
/// `FeatureExtractor(**config)` takes the keys of `FeatureExtractor.config`; missing
/// keys take the defaults of the blog experiment (16 kHz, 5 s, n_fft 400, hop 200,
/// Hann, centered reflect padding, power 2, dB): a `[201, 401]` spectrogram per clip.
#[pyclass(name = "FeatureExtractor", module = "specnorm", frozen)]
pub struct PyFeatureExtractor {
    pub inner: Arc<FeatureExtractor>,
}

impl PyFeatureExtractor {
    /// Plans an extractor for `cfg`.
    pub fn build(cfg: specnorm_features::FeatureConfig) -> PyResult<Self> {
        let fx = FeatureExtractor::new(cfg).map_err(errors::feature)?;
        Ok(Self {
            inner: Arc::new(fx),
        })
    }
}

#[pymethods]
impl PyFeatureExtractor {
    #[new]
    #[pyo3(signature = (**config))]
    fn new(config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::build(config::from_kwargs(config)?)
    }

    /// An extractor from a JSON file: a feature configuration, or a specnorm stats file
    /// (the configuration its statistics were computed with).
    #[staticmethod]
    fn from_json(path: PathBuf) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                errors::not_found(&path, "file not found")
            } else {
                errors::ConfigError::new_err(format!("{}: {e}", path.display()))
            }
        })?;
        Self::build(config::from_json(&text, &path.display().to_string())?)
    }

    /// The configuration as specnorm's JSON (the form `from_json` reads); written to
    /// `path` when given, returned otherwise.
    #[pyo3(signature = (path = None))]
    fn to_json(&self, path: Option<PathBuf>) -> PyResult<Option<String>> {
        let text = config::to_json(self.inner.config());
        match path {
            None => Ok(Some(text)),
            Some(p) => {
                std::fs::write(&p, text).map_err(|e| {
                    errors::ConfigError::new_err(format!("writing {}: {e}", p.display()))
                })?;
                Ok(None)
            }
        }
    }

    /// The configuration as keyword arguments: `FeatureExtractor(**fx.config)` rebuilds it.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        config::to_dict(py, self.inner.config())
    }

    /// Frequency (or mel) bins per frame.
    #[getter]
    fn n_bins(&self) -> usize {
        self.inner.n_bins()
    }

    /// Frames per clip, or `None` when `seconds=None` (each clip keeps its length).
    #[getter]
    fn n_frames(&self) -> Option<usize> {
        self.inner.n_frames()
    }

    /// Features of many files, in parallel on all cores with the GIL released:
    /// a float32 array `[B, F, T]` in input order. Raises for the first file (in input
    /// order) that fails: `FileNotFoundError` or `AudioDecodeError` naming it.
    fn extract<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let fx = self.inner.clone();
        let pool = pool()?;
        let out = py.detach(move || {
            // a one-thread pool runs on the calling thread, so that concurrent calls from several
            // Python threads run side by side instead of queueing for its one worker
            let parallel = pool.current_num_threads() > 1;
            let run = || match fx.n_frames() {
                Some(t) => extract_fixed(&fx, &paths, t, parallel).map(Ok),
                None => {
                    let specs: Result<Vec<_>, _> = if parallel {
                        fx.extract_files(&paths, &|_| {}).into_iter().collect()
                    } else {
                        paths.iter().map(|p| fx.extract_file(p)).collect()
                    };
                    Ok(stack(specs?))
                }
            };
            if parallel {
                pool.install(run)
            } else {
                run()
            }
        });
        let stacked = out
            .map_err(errors::feature)?
            .map_err(errors::ConfigError::new_err)?;
        Ok(stacked.into_pyarray(py))
    }

    /// Features of one file: float32 `[F, T]` (the GIL is released while it runs).
    fn extract_file<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let fx = self.inner.clone();
        let spec = py
            .detach(move || fx.extract_file(&path))
            .map_err(errors::feature)?;
        Ok(spec.into_pyarray(py))
    }

    /// Features of a waveform in memory: `x` is `[N]` or `[channels, N]` (averaged to
    /// mono) at `sample_rate` Hz; returns float32 `[F, T]`.
    fn extract_waveform<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        sample_rate: u32,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let arr = asarray(py, x, Some("float32"))?;
        let arr = arr.cast::<PyArrayDyn<f32>>().map_err(PyErr::from)?;
        let ro = arr.readonly();
        let view = ro.as_array();
        let mono: Vec<f32> = match view.ndim() {
            1 => view.iter().copied().collect(),
            2 => {
                let ch = view.shape()[0].max(1) as f32;
                view.sum_axis(Axis(0)).iter().map(|v| v / ch).collect()
            }
            _ => {
                return Err(errors::ConfigError::new_err(format!(
                    "extract_waveform needs a [N] or [channels, N] array, got shape {:?}",
                    arr.shape()
                )))
            }
        };
        drop(ro);
        let fx = self.inner.clone();
        let spec = py
            .detach(move || fx.extract_samples(&mono, sample_rate))
            .map_err(errors::feature)?;
        Ok(spec.into_pyarray(py))
    }

    /// Pickle support (DataLoader workers started with spawn/forkserver): rebuilt from `config`.
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        Ok((PyTuple::empty(py), self.config(py)?))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let items: Vec<String> = self
            .config(py)?
            .iter()
            .map(|(k, v)| Ok(format!("{k}={}", v.repr()?)))
            .collect::<PyResult<_>>()?;
        Ok(format!("FeatureExtractor({})", items.join(", ")))
    }
}
