//! Dataset metadata and cross-validation fold splitting.
//!
//! A [`Dataset`] is a list of labelled clips ([`Item`]: file, fold, integer target, class name)
//! read from a dataset root in one of the [`Layout`]s the caller chooses:
//!
//! * [`Layout::Esc50`] (the default, [`Dataset::open`]): `meta/esc50.csv`, `audio/`; with
//!   `esc10: true` only the ESC-10 rows (`esc10` column `True`);
//! * [`Layout::Csv`]: any metadata CSV with named file name, label and fold columns
//!   ([`CsvLayout`]);
//! * [`Layout::UrbanSound8K`]: `metadata/UrbanSound8K.csv`, clips in `audio/fold{N}/`;
//! * [`Layout::Folders`]: `<class>/<clip>` folders, with stratified seeded folds drawn once and
//!   written to a fold file that later opens reuse ([`FolderLayout`]).
//!
//! [`Dataset::split`] holds one fold out for validation; [`Dataset::cross_validation`] yields
//! every such split. All errors name the file (the metadata CSV, the fold file, or the folder
//! scanned); row numbers are 1-based CSV line numbers (the header is line 1). In every layout,
//! entries that resolve outside the audio folder are refused unless
//! [`DatasetOptions::allow_outside_root`].
//!
//! ```
//! use specnorm_folds::Dataset;
//! # let dir = tempfile::tempdir()?;
//! # std::fs::create_dir_all(dir.path().join("meta"))?;
//! # std::fs::create_dir_all(dir.path().join("audio"))?;
//! # for f in ["1-a.wav", "1-b.wav", "2-a.wav", "3-a.wav"] { std::fs::write(dir.path().join("audio").join(f), b"")?; }
//! std::fs::write(
//!     dir.path().join("meta/esc50.csv"),
//!     "filename,fold,target,category,esc10,src_file,take\n\
//!      1-a.wav,1,0,dog,True,a,A\n1-b.wav,1,1,rooster,False,b,A\n\
//!      2-a.wav,2,0,dog,True,c,A\n3-a.wav,3,1,rooster,False,d,A\n",
//! )?;
//! let ds = Dataset::open(dir.path())?; // <root>/meta/esc50.csv, audio in <root>/audio
//! ds.check_files()?;
//! assert_eq!(ds.folds(), vec![1, 2, 3]);
//! assert_eq!(ds.classes(), vec![(0, "dog".to_string()), (1, "rooster".to_string())]);
//!
//! let split = ds.split(1)?;
//! assert_eq!(split.valid.len(), 2);
//! assert_eq!(split.train_folds, vec![2, 3]);
//! assert_eq!(split.train[0].path, dir.path().join("audio").join("2-a.wav"));
//! assert_eq!(ds.cross_validation().count(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod error;
mod layout;
mod root;
mod table;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use error::{FoldsError, OutsideRow};
pub use layout::{CsvLayout, FolderLayout, Layout, LayoutOptionError, LayoutOptions};
pub use tree::AUDIO_EXTENSIONS;

/// How [`Dataset::open_with`], [`Dataset::open_layout`] and [`Dataset::from_csv_with`] treat the metadata. `Default` is the
/// safe policy of [`Dataset::open`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatasetOptions {
    /// Accept entries that resolve outside the audio folder (`../x`, `/etc/hostname`, a symbolic
    /// link pointing out). Off: they are [`FoldsError::OutsideRoot`] (`--allow-outside-root`).
    pub allow_outside_root: bool,
}

/// Column names of the metadata CSV. `Default` gives the ESC-50 names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// Audio file name relative to the audio directory (`filename`).
    pub filename: String,
    /// Cross-validation fold (`fold`).
    pub fold: String,
    /// Integer class index (`target`).
    pub target: String,
    /// Class name (`category`).
    pub category: String,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            filename: "filename".into(),
            fold: "fold".into(),
            target: "target".into(),
            category: "category".into(),
        }
    }
}

/// One labelled clip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// File name as written in the metadata (for [`Layout::Folders`], `class/clip`).
    pub filename: String,
    /// Where the file is: `audio_dir / filename` (UrbanSound8K: `audio_dir / fold{N} /
    /// filename`).
    pub path: PathBuf,
    /// Fold.
    pub fold: u32,
    /// Class index: the metadata's target column, or the rank of the class name among the
    /// sorted names where the layout has no such column ([`CsvLayout`], [`FolderLayout`]).
    pub target: u32,
    /// Class name.
    pub category: String,
}

/// A train/validation split holding out one fold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The held-out fold.
    pub valid_fold: u32,
    /// Items of all other folds (CSV order).
    pub train: Vec<Item>,
    /// Items of the held-out fold (CSV order).
    pub valid: Vec<Item>,
    /// The training folds, sorted.
    pub train_folds: Vec<u32>,
}

/// Dataset metadata: items in metadata order.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub(crate) root: PathBuf,
    pub(crate) csv: PathBuf,
    pub(crate) audio_dir: PathBuf,
    pub(crate) layout: Layout,
    pub(crate) items: Vec<Item>,
}

impl Dataset {
    /// Opens an ESC-50 style root: `<root>/meta/esc50.csv`, audio in `<root>/audio`, with the
    /// default [`DatasetOptions`] (every entry must lie inside the audio folder).
    pub fn open(root: &Path) -> Result<Dataset, FoldsError> {
        Self::open_with(root, DatasetOptions::default())
    }

    /// [`Dataset::open`] with [`DatasetOptions`].
    pub fn open_with(root: &Path, opts: DatasetOptions) -> Result<Dataset, FoldsError> {
        Self::open_layout(root, &Layout::default(), opts)
    }

    /// Opens the dataset at `root` in `layout`. The metadata is checked row by row as for
    /// [`from_csv`](Self::from_csv) (for [`Layout::Folders`], the fold file is, and it is drawn
    /// and written first if absent), and the outside-root policy of `opts` applies to every
    /// layout. Existence and content of the audio files are not checked here (see
    /// [`check_files`](Self::check_files)); no audio is read.
    pub fn open_layout(
        root: &Path,
        layout: &Layout,
        opts: DatasetOptions,
    ) -> Result<Dataset, FoldsError> {
        layout.open(root, opts)
    }

    /// Reads any metadata CSV with the given column names, with the default [`DatasetOptions`].
    ///
    /// Every entry must resolve inside `audio_dir` once `..` and symbolic links are resolved
    /// (the audio folder itself may be a link); all rows that do not are reported at once as
    /// [`FoldsError::OutsideRoot`], before any audio file is opened. Existence and content of the
    /// files are not checked here (see [`check_files`](Self::check_files)).
    pub fn from_csv(csv: &Path, audio_dir: &Path, cols: &Columns) -> Result<Dataset, FoldsError> {
        Self::from_csv_with(csv, audio_dir, cols, DatasetOptions::default())
    }

    /// [`Dataset::from_csv`] with [`DatasetOptions`]: [`Layout::Csv`] with `cols.target` as the
    /// target column, `cols.category` as the label column, `csv` and `audio_dir` as given.
    pub fn from_csv_with(
        csv: &Path,
        audio_dir: &Path,
        cols: &Columns,
        opts: DatasetOptions,
    ) -> Result<Dataset, FoldsError> {
        let layout = Layout::Csv(CsvLayout {
            metadata: csv.to_path_buf(),
            audio_dir: audio_dir.to_path_buf(),
            filename_col: cols.filename.clone(),
            label_col: cols.category.clone(),
            fold_col: cols.fold.clone(),
            target_col: Some(cols.target.clone()),
        });
        let mut ds = layout.open(Path::new(""), opts)?;
        // no root was given: the folder above the CSV's folder (ESC-50's `meta/..`)
        ds.root = csv
            .parent()
            .and_then(Path::parent)
            .unwrap_or(audio_dir)
            .to_path_buf();
        Ok(ds)
    }

    /// The dataset root as given to [`open_layout`](Self::open_layout) (for
    /// [`from_csv`](Self::from_csv), the folder above the CSV's folder).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The layout the dataset was read in (record it with a run's results).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The metadata CSV path (for [`Layout::Folders`], the fold file).
    pub fn csv_path(&self) -> &Path {
        &self.csv
    }

    /// The audio directory (for [`Layout::UrbanSound8K`], the folder above `fold{N}/`; for
    /// [`Layout::Folders`], the root).
    pub fn audio_dir(&self) -> &Path {
        &self.audio_dir
    }

    /// All items in metadata order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Distinct folds, sorted.
    pub fn folds(&self) -> Vec<u32> {
        self.items
            .iter()
            .map(|i| i.fold)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Distinct `(target, category)` pairs sorted by target.
    pub fn classes(&self) -> Vec<(u32, String)> {
        self.items
            .iter()
            .map(|i| (i.target, i.category.clone()))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect()
    }

    /// Checks that every listed audio file exists; reports all missing files at once.
    pub fn check_files(&self) -> Result<(), FoldsError> {
        let missing: Vec<PathBuf> = self
            .items
            .iter()
            .filter(|i| !i.path.is_file())
            .map(|i| i.path.clone())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(FoldsError::MissingFiles {
                csv: self.csv.clone(),
                audio_dir: self.audio_dir.clone(),
                missing,
                total: self.items.len(),
            })
        }
    }

    /// Holds out `valid_fold`; errors if no item has that fold.
    pub fn split(&self, valid_fold: u32) -> Result<Split, FoldsError> {
        let (valid, train): (Vec<Item>, Vec<Item>) = self
            .items
            .iter()
            .cloned()
            .partition(|i| i.fold == valid_fold);
        if valid.is_empty() {
            return Err(FoldsError::EmptyFold {
                csv: self.csv.clone(),
                fold: valid_fold,
                available: self.folds(),
            });
        }
        Ok(Split {
            valid_fold,
            train,
            valid,
            train_folds: self
                .folds()
                .into_iter()
                .filter(|&f| f != valid_fold)
                .collect(),
        })
    }

    /// One split per fold, in fold order (k-fold cross-validation).
    pub fn cross_validation(&self) -> impl Iterator<Item = Result<Split, FoldsError>> + '_ {
        self.folds().into_iter().map(move |f| self.split(f))
    }
}
