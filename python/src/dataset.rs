//! Dataset listing (any `specnorm_folds` layout) for the torch `Dataset` and the Dask graph.

use std::path::PathBuf;

use pyo3::prelude::*;
use specnorm_folds::{Dataset, DatasetOptions, Layout, LayoutOptionError, LayoutOptions};

use crate::{errors, extract};

/// The keyword arguments of `list_clips` that choose the layout.
#[allow(clippy::too_many_arguments)]
fn layout(
    layout: &str,
    esc10: bool,
    metadata: Option<PathBuf>,
    filename_col: Option<String>,
    label_col: Option<String>,
    fold_col: Option<String>,
    target_col: Option<String>,
    audio_dir: Option<PathBuf>,
    n_folds: Option<u32>,
    fold_seed: Option<u64>,
    fold_file: Option<PathBuf>,
) -> PyResult<Layout> {
    let opts = LayoutOptions {
        esc10,
        metadata,
        filename_col,
        label_col,
        fold_col,
        target_col,
        audio_dir,
        folds: n_folds,
        fold_seed,
        fold_file,
    };
    // the keyword is `n_folds` (`folds` selects the folds to list)
    let kw = |option: &str| if option == "folds" { "n_folds" } else { option }.to_string();
    Layout::from_options(layout, &opts).map_err(|e| {
        errors::ConfigError::new_err(match e {
            LayoutOptionError::Misplaced {
                option,
                belongs,
                layout,
            } => format!(
                "{} applies to layout={belongs:?}, not layout={layout:?}",
                kw(option)
            ),
            LayoutOptionError::NoMetadata => {
                "layout=\"csv\" needs metadata= (the CSV listing the clips)".to_string()
            }
            other => other.to_string(),
        })
    })
}

/// The clips of a dataset folder, in metadata order, as `(path, fold, target, category)`; only
/// those of `folds` when given. The layout is ESC-50's (`meta/esc50.csv`, `audio/`) unless
/// `layout` names another (`"csv"`, `"urbansound8k"`, `"folders"`; see the stubs for the keyword
/// arguments of each). Every listed audio file must exist (else `DatasetError` listing the
/// missing ones) and lie inside the layout's audio folder once `..` and symbolic links are
/// resolved (else `DatasetError` listing the rows), unless `allow_outside_root`. A keyword of
/// another layout is a `ConfigError`.
#[pyfunction]
#[pyo3(signature = (
    root,
    folds = None,
    allow_outside_root = false,
    *,
    layout = "esc50",
    esc10 = false,
    metadata = None,
    filename_col = None,
    label_col = None,
    fold_col = None,
    target_col = None,
    audio_dir = None,
    n_folds = None,
    fold_seed = None,
    fold_file = None,
))]
#[allow(clippy::too_many_arguments)]
pub fn list_clips(
    root: PathBuf,
    folds: Option<Vec<u32>>,
    allow_outside_root: bool,
    layout: &str,
    esc10: bool,
    metadata: Option<PathBuf>,
    filename_col: Option<String>,
    label_col: Option<String>,
    fold_col: Option<String>,
    target_col: Option<String>,
    audio_dir: Option<PathBuf>,
    n_folds: Option<u32>,
    fold_seed: Option<u64>,
    fold_file: Option<PathBuf>,
) -> PyResult<Vec<(String, u32, u32, String)>> {
    let layout = self::layout(
        layout,
        esc10,
        metadata,
        filename_col,
        label_col,
        fold_col,
        target_col,
        audio_dir,
        n_folds,
        fold_seed,
        fold_file,
    )?;
    let opts = DatasetOptions { allow_outside_root };
    let ds = Dataset::open_layout(&root, &layout, opts).map_err(errors::folds)?;
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
