//! `specnorm.dataset_stats` and `specnorm.PartialStats`: specnorm-pipeline's dataset pass, the
//! same function `specnorm stats` calls, and its exact, mergeable partial results (the partial
//! files of `specnorm stats --shard` / `specnorm stats merge`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use specnorm_pipeline::{Axes, DatasetStats, PipelineError, Sample, Shard, StatsRequest};

use crate::dataset::{take_layout_kwargs, DatasetChoice};
use crate::stats::PyStats;
use crate::{config, errors};

/// Pipeline errors: bad files and configurations keep their classes, the rest is `StatsError`.
fn pipeline_err(e: PipelineError) -> PyErr {
    match e {
        PipelineError::Features(f) => errors::feature(f),
        PipelineError::Folds(f) => errors::folds(f),
        PipelineError::Stats(s) => errors::stats(s),
        PipelineError::BadFiles(ref bad) => errors::AudioDecodeError::new_err(format!(
            "{} file(s) could not be turned into features (pass skip_bad=True to leave them out):\n  {}",
            bad.len(),
            bad.join("\n  ")
        )),
        PipelineError::Config(_) | PipelineError::Sample(_) | PipelineError::Shard(_) => {
            errors::ConfigError::new_err(e.to_string())
        }
        other => errors::StatsError::new_err(other.to_string()),
    }
}

fn parse_axes(axes: &str) -> PyResult<Axes> {
    match axes {
        "global" => Ok(Axes::Global),
        "channel" => Ok(Axes::Channel),
        other => Err(errors::ConfigError::new_err(format!(
            "axes={other:?}: expected \"global\" or \"channel\""
        ))),
    }
}

/// The request `specnorm stats` builds from the same options.
#[allow(clippy::too_many_arguments)]
fn request(
    valid_fold: u32,
    axes: &str,
    sample: Option<f64>,
    seed: u64,
    skip_bad: bool,
    shard: Option<(u32, u32)>,
    feature_config: Option<&Bound<'_, PyDict>>,
) -> PyResult<StatsRequest> {
    Ok(StatsRequest {
        valid_fold,
        axes: parse_axes(axes)?,
        sample: sample.map(|fraction| Sample { fraction, seed }),
        shard: match shard {
            Some((k, n)) => Shard::new(k, n).map_err(pipeline_err)?,
            None => Shard::FULL,
        },
        skip_bad,
        features: config::from_kwargs(feature_config)?,
        ..StatsRequest::default()
    })
}

fn run(
    data: PathBuf,
    choice: DatasetChoice,
    req: StatsRequest,
    py: Python<'_>,
) -> PyResult<DatasetStats> {
    let pool = crate::extract::pool()?;
    py.detach(move || {
        let ds = choice.open(&data)?;
        pool.install(|| specnorm_pipeline::dataset_stats(&ds, &req, &|| {}))
    })
    .map_err(pipeline_err)
}

/// Exact statistics of the training clips of a dataset folder: every fold except
/// `valid_fold`, featurized with the feature keys of `**kwargs` (those of
/// `FeatureExtractor.config`). The layout is ESC-50's unless the layout keywords of
/// `list_clips` (`LAYOUT_KEYWORDS`, also in `**kwargs`) say otherwise. The same library call
/// as `specnorm stats`: the result equals its stats.json.
#[pyfunction]
#[pyo3(signature = (data, valid_fold = 1, axes = "channel", *, sample = None, seed = 0, skip_bad = false, **feature_config))]
#[allow(clippy::too_many_arguments)]
pub fn dataset_stats(
    py: Python<'_>,
    data: PathBuf,
    valid_fold: u32,
    axes: &str,
    sample: Option<f64>,
    seed: u64,
    skip_bad: bool,
    feature_config: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyStats> {
    let choice = take_layout_kwargs(feature_config)?;
    let req = request(
        valid_fold,
        axes,
        sample,
        seed,
        skip_bad,
        None,
        feature_config,
    )?;
    let out = run(data, choice, req, py)?
        .finish(false)
        .map_err(pipeline_err)?;
    Ok(PyStats { inner: out.stats })
}

/// Shard `shard` of `shards` of the same run as `dataset_stats` (clip `i` of the training
/// list goes to shard `i % shards + 1`): an exact `PartialStats`. Takes the same layout and
/// feature keywords.
#[pyfunction]
#[pyo3(signature = (data, shard, shards, valid_fold = 1, axes = "channel", *, sample = None, seed = 0, skip_bad = false, **feature_config))]
#[allow(clippy::too_many_arguments)]
pub fn shard_stats(
    py: Python<'_>,
    data: PathBuf,
    shard: u32,
    shards: u32,
    valid_fold: u32,
    axes: &str,
    sample: Option<f64>,
    seed: u64,
    skip_bad: bool,
    feature_config: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyPartialStats> {
    let choice = take_layout_kwargs(feature_config)?;
    let req = request(
        valid_fold,
        axes,
        sample,
        seed,
        skip_bad,
        Some((shard, shards)),
        feature_config,
    )?;
    Ok(PyPartialStats {
        inner: run(data, choice, req, py)?,
    })
}

/// The exact state of a statistics run over some shards: picklable, mergeable, and the same
/// document as the partial files of `specnorm stats --shard K/N` (`save`/`load`).
#[pyclass(name = "PartialStats", module = "specnorm", frozen)]
pub struct PyPartialStats {
    pub inner: DatasetStats,
}

#[pymethods]
impl PyPartialStats {
    /// Merges partial results of disjoint shards (any order, same result bit for bit); raises
    /// `StatsError` for different configurations, datasets or folds and for a shard given twice.
    #[staticmethod]
    fn merge(parts: Vec<PyRef<'_, PyPartialStats>>) -> PyResult<Self> {
        let labelled: Vec<(String, DatasetStats)> = parts
            .iter()
            .map(|p| {
                let shards: Vec<u32> = p.inner.parts.iter().map(|s| s.shard).collect();
                (format!("partial of shards {shards:?}"), p.inner.clone())
            })
            .collect();
        Ok(Self {
            inner: specnorm_pipeline::merge(&labelled).map_err(pipeline_err)?,
        })
    }

    /// The statistics (with provenance); raises unless every shard is present or `allow_partial`.
    #[pyo3(signature = (allow_partial = false))]
    fn finish(&self, allow_partial: bool) -> PyResult<PyStats> {
        let out = self.inner.finish(allow_partial).map_err(pipeline_err)?;
        Ok(PyStats { inner: out.stats })
    }

    /// Shards held, ascending.
    #[getter]
    fn shards(&self) -> Vec<u32> {
        self.inner.parts.iter().map(|p| p.shard).collect()
    }

    /// Number of shards the run was split into.
    #[getter]
    fn shard_count(&self) -> u32 {
        self.inner.shard_count
    }

    /// Clips reduced.
    #[getter]
    fn clips(&self) -> u64 {
        self.inner.spectrogram.clips()
    }

    /// Writes the partial file (`specnorm stats merge` reads it).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(pipeline_err)
    }

    /// Reads a partial file.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(Self {
            inner: DatasetStats::load(&path).map_err(pipeline_err)?,
        })
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    /// Pickled as the partial file's JSON (floats round-trip bit for bit).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let text = slf.get().inner.to_json().map_err(pipeline_err)?;
        let rebuild = slf
            .py()
            .import("specnorm._specnorm")?
            .getattr("_partial_from_json_text")?;
        Ok((rebuild, (text,)))
    }

    fn __repr__(&self) -> String {
        format!(
            "PartialStats(shards={:?} of {}, clips={})",
            self.shards(),
            self.inner.shard_count,
            self.clips()
        )
    }
}

/// Unpickling helper of `PartialStats`.
#[pyfunction]
pub fn _partial_from_json_text(text: &str) -> PyResult<PyPartialStats> {
    Ok(PyPartialStats {
        inner: DatasetStats::from_json(text, None).map_err(pipeline_err)?,
    })
}
