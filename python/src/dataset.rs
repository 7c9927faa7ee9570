//! Dataset listing (any `specnorm_folds` layout) for the torch `Dataset` and the Dask graph.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
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

/// The keyword arguments that choose a dataset's layout, as `list_clips` names them. The
/// statistics functions (`dataset_stats`, `shard_stats`, `specnorm.dask`) take the same ones
/// beside the feature keys; Python sees this list as `specnorm.LAYOUT_KEYWORDS`.
pub const LAYOUT_KEYWORDS: [&str; 12] = [
    "layout",
    "esc10",
    "metadata",
    "filename_col",
    "label_col",
    "fold_col",
    "target_col",
    "audio_dir",
    "n_folds",
    "fold_seed",
    "fold_file",
    "allow_outside_root",
];

/// How to open a dataset root: its layout and the path policy.
pub struct DatasetChoice {
    /// The layout.
    pub layout: Layout,
    /// `allow_outside_root` and the other options.
    pub opts: DatasetOptions,
}

impl DatasetChoice {
    /// Opens the dataset at `root` (no GIL needed).
    pub fn open(&self, root: &std::path::Path) -> Result<Dataset, specnorm_folds::FoldsError> {
        Dataset::open_layout(root, &self.layout, self.opts)
    }
}

/// Removes the [`LAYOUT_KEYWORDS`] from `kwargs` and resolves them as `list_clips` does (missing
/// or `None`: the defaults, ESC-50); what stays in `kwargs` is the caller's other keys.
pub fn take_layout_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<DatasetChoice> {
    fn take<'py, T: FromPyObjectOwned<'py>>(
        kw: Option<&Bound<'py, PyDict>>,
        key: &str,
    ) -> PyResult<Option<T>> {
        let Some(kw) = kw else { return Ok(None) };
        let Some(v) = kw.get_item(key)? else {
            return Ok(None);
        };
        kw.del_item(key)?;
        if v.is_none() {
            return Ok(None);
        }
        v.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            errors::ConfigError::new_err(format!("{key}= has the wrong type: {e}"))
        })
    }
    let name: Option<String> = take(kwargs, "layout")?;
    let layout = self::layout(
        name.as_deref().unwrap_or("esc50"),
        take(kwargs, "esc10")?.unwrap_or(false),
        take(kwargs, "metadata")?,
        take(kwargs, "filename_col")?,
        take(kwargs, "label_col")?,
        take(kwargs, "fold_col")?,
        take(kwargs, "target_col")?,
        take(kwargs, "audio_dir")?,
        take(kwargs, "n_folds")?,
        take(kwargs, "fold_seed")?,
        take(kwargs, "fold_file")?,
    )?;
    let opts = DatasetOptions {
        allow_outside_root: take(kwargs, "allow_outside_root")?.unwrap_or(false),
    };
    Ok(DatasetChoice { layout, opts })
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
