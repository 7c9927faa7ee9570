//! Dataset listing (ESC-50 layout) for the torch `Dataset` and the Dask graph.

use std::path::PathBuf;

use pyo3::prelude::*;
use specnorm_folds::{Dataset, DatasetOptions};

use crate::{errors, extract};

/// The clips of an ESC-50-layout folder (`meta/esc50.csv`, `audio/`), in CSV order, as
/// `(path, fold, target, category)`; only those of `folds` when given. Every listed audio
/// file must exist (else `DatasetError` listing the missing ones) and lie inside `audio/` once
/// `..` and symbolic links are resolved (else `DatasetError` listing the rows), unless
/// `allow_outside_root`.
#[pyfunction]
#[pyo3(signature = (root, folds = None, allow_outside_root = false))]
pub fn list_clips(
    root: PathBuf,
    folds: Option<Vec<u32>>,
    allow_outside_root: bool,
) -> PyResult<Vec<(String, u32, u32, String)>> {
    let opts = DatasetOptions { allow_outside_root };
    let ds = Dataset::open_with(&root, opts).map_err(errors::folds)?;
    ds.check_files().map_err(errors::folds)?;
    if let Some(fs) = &folds {
        let present = ds.folds();
        if let Some(f) = fs.iter().find(|f| !present.contains(f)) {
            return Err(errors::DatasetError::new_err(format!(
                "{}: fold {f} has no items; available folds are {present:?}",
                root.display()
            )));
        }
    }
    Ok(ds
        .items()
        .iter()
        .filter(|i| folds.as_ref().is_none_or(|fs| fs.contains(&i.fold)))
        .map(|i| {
            (
                i.path.display().to_string(),
                i.fold,
                i.target,
                i.category.clone(),
            )
        })
        .collect())
}

/// Threads the extractor uses in this process (`RAYON_NUM_THREADS`, default all cores).
#[pyfunction]
pub fn num_threads() -> PyResult<usize> {
    Ok(extract::pool()?.current_num_threads())
}

/// Sets the number of threads the extractor uses in this process (0: `RAYON_NUM_THREADS` or
/// all cores). Calls already running finish on the old pool.
#[pyfunction]
pub fn set_num_threads(threads: usize) -> PyResult<()> {
    extract::set_pool(threads).map(|_| ())
}
