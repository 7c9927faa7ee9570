//! `specnorm._specnorm`: the PyO3 extension behind the `specnorm` Python package.
//!
//! Thin bindings over the libtorch-free crates (audio, dsp, features, stats, norm, folds,
//! pipeline): argument conversion, GIL release and error mapping live here; every
//! computation is a call into those crates, so Python and the CLI give the same bits.
//! The pure-Python files of `python/specnorm/` only re-export and glue (torch `Dataset`,
//! Dask graph).

mod config;
mod dataset;
mod errors;
mod extract;
mod norm;
mod pipeline;
mod stats;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _specnorm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<extract::PyFeatureExtractor>()?;
    m.add_class::<stats::PyStatsAccumulator>()?;
    m.add_class::<stats::PyStats>()?;
    m.add_class::<norm::PyNormalizer>()?;
    m.add_function(wrap_pyfunction!(stats::_stats_from_json_text, m)?)?;
    m.add_function(wrap_pyfunction!(norm::_normalizer_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::list_clips, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::set_num_threads, m)?)?;
    m.add_class::<pipeline::PyPartialStats>()?;
    m.add_function(wrap_pyfunction!(pipeline::dataset_stats, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::shard_stats, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::_partial_from_json_text, m)?)?;
    m.add("LAYOUT_KEYWORDS", dataset::LAYOUT_KEYWORDS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
