//! Dataset layouts: where the metadata and the audio of a dataset root are, chosen by the caller
//! ([`Layout`]), serializable so a run can record which one it read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::table::{self, Label, Spec};
use crate::{root, tree, Dataset, DatasetOptions, FoldsError};

/// How a dataset root is laid out. `Default` is ESC-50 (`meta/esc50.csv`, `audio/`).
///
/// Serialized with a `layout` tag, e.g. `{"layout":"esc50","esc10":true}`,
/// `{"layout":"urbansound8k"}` or `{"layout":"folders","folds":5,"seed":0}`; omitted fields
/// take their defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "layout", rename_all = "lowercase", deny_unknown_fields)]
pub enum Layout {
    /// ESC-50: `<root>/meta/esc50.csv` (columns `filename`, `fold`, `target`, `category`,
    /// `esc10`), audio in `<root>/audio/`.
    Esc50 {
        /// Keep only the rows whose `esc10` column is `True` (ESC-10: 10 classes, 400 clips).
        /// The targets stay ESC-50's (sparse: 0, 1, 10, 11, 12, 20, 21, 38, 40, 41).
        #[serde(default)]
        esc10: bool,
    },
    /// Any metadata CSV with named columns ([`CsvLayout`]).
    Csv(CsvLayout),
    /// UrbanSound8K: `<root>/metadata/UrbanSound8K.csv` (columns `slice_file_name`, `fold`,
    /// `classID`, `class`), each clip in `<root>/audio/fold{N}/`.
    #[serde(rename = "urbansound8k")]
    UrbanSound8K,
    /// A folder per class, `<root>/<class>/<clip>`, with generated folds ([`FolderLayout`]).
    Folders(FolderLayout),
}

impl Default for Layout {
    fn default() -> Self {
        Layout::Esc50 { esc10: false }
    }
}

/// A metadata CSV with named columns. Targets are the ranks of the sorted labels (numerically
/// sorted when every label is a non-negative integer) unless `target_col` names an integer
/// column, which is then used as is (one target must always carry the same label).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvLayout {
    /// The CSV, relative to the dataset root (or absolute).
    pub metadata: PathBuf,
    /// The folder the file names are relative to, relative to the root (or absolute); empty:
    /// the root itself. Every entry must resolve inside it (see [`DatasetOptions`]).
    #[serde(default)]
    pub audio_dir: PathBuf,
    /// File name column.
    #[serde(default = "default_filename_col")]
    pub filename_col: String,
    /// Class name column.
    #[serde(default = "default_label_col")]
    pub label_col: String,
    /// Fold column (non-negative integers).
    #[serde(default = "default_fold_col")]
    pub fold_col: String,
    /// Integer class index column, if the CSV has one.
    #[serde(default)]
    pub target_col: Option<String>,
}

fn default_filename_col() -> String {
    "filename".into()
}
fn default_label_col() -> String {
    "label".into()
}
fn default_fold_col() -> String {
    "fold".into()
}

impl CsvLayout {
    /// `metadata` with the default columns `filename`, `label`, `fold`, audio beside the root.
    pub fn new(metadata: impl Into<PathBuf>) -> Self {
        Self {
            metadata: metadata.into(),
            audio_dir: PathBuf::new(),
            filename_col: default_filename_col(),
            label_col: default_label_col(),
            fold_col: default_fold_col(),
            target_col: None,
        }
    }
}

/// A folder per class (`<root>/<class>/<clip>.wav|flac|ogg|mp3`, extensions in any case; hidden
/// entries and other files are ignored, subfolders of a class folder are not searched, a folder
/// without audio files is not a class). Class names are the folder names; targets their ranks
/// (sorted as for [`CsvLayout`]).
///
/// The folds are drawn once, stratified by class and seeded, and **written down** in the fold
/// file (`filename,class,fold,folds,seed`; `filename` is `class/clip`), which every later open
/// reuses instead of drawing again: the file, not the seed, is the record of a run's folds. If
/// the class folders then hold files the fold file does not list, or lack files it lists, opening
/// fails with [`FoldsError::StaleFoldFile`] naming them; deleting the fold file draws new folds
/// over the current files (on which every file may change fold).
///
/// Drawing: each class's files (sorted by name) are shuffled with a ChaCha8 generator seeded with
/// `seed` (classes in name order, one generator), then dealt round-robin to folds `1..=folds`,
/// each class continuing where the previous one stopped. Every fold thus holds each class's
/// count divided by `folds`, rounded down or up, and the folds' sizes differ by at most one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderLayout {
    /// Number of folds (at least 2).
    #[serde(default = "default_folds")]
    pub folds: u32,
    /// Seed of the draw.
    #[serde(default)]
    pub seed: u64,
    /// Where the fold file is, relative to the root (or absolute); `None`:
    /// `<root>/specnorm-folds-k{folds}-seed{seed}.csv`. Its folder must exist (or be creatable).
    #[serde(default)]
    pub fold_file: Option<PathBuf>,
}

fn default_folds() -> u32 {
    5
}

impl Default for FolderLayout {
    fn default() -> Self {
        Self {
            folds: default_folds(),
            seed: 0,
            fold_file: None,
        }
    }
}

impl FolderLayout {
    /// The fold file of a dataset at `root`.
    pub fn fold_file_in(&self, root: &Path) -> PathBuf {
        match &self.fold_file {
            Some(p) => root.join(p),
            None => root.join(format!(
                "specnorm-folds-k{}-seed{}.csv",
                self.folds, self.seed
            )),
        }
    }
}

/// The options of every layout, flat, as a command line's flags or a function's keyword arguments
/// give them: [`Layout::from_options`] makes one [`Layout`] of them. `None`: the layout's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayoutOptions {
    /// [`Layout::Esc50`]: ESC-10 only.
    pub esc10: bool,
    /// [`CsvLayout::metadata`] (required for `csv`).
    pub metadata: Option<PathBuf>,
    /// [`CsvLayout::filename_col`].
    pub filename_col: Option<String>,
    /// [`CsvLayout::label_col`].
    pub label_col: Option<String>,
    /// [`CsvLayout::fold_col`].
    pub fold_col: Option<String>,
    /// [`CsvLayout::target_col`].
    pub target_col: Option<String>,
    /// [`CsvLayout::audio_dir`].
    pub audio_dir: Option<PathBuf>,
    /// [`FolderLayout::folds`].
    pub folds: Option<u32>,
    /// [`FolderLayout::seed`].
    pub fold_seed: Option<u64>,
    /// [`FolderLayout::fold_file`].
    pub fold_file: Option<PathBuf>,
}

/// Why [`LayoutOptions`] make no [`Layout`]. Options are named as the fields of
/// [`LayoutOptions`] (`fold_seed`); front ends spell them their way (`--fold-seed`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutOptionError {
    /// An option of another layout was given.
    #[error("{option} applies to the {belongs} layout, not {layout}")]
    Misplaced {
        /// The option.
        option: &'static str,
        /// The layout it belongs to.
        belongs: &'static str,
        /// The layout asked for.
        layout: &'static str,
    },
    /// `csv` without `metadata`.
    #[error("the csv layout needs a metadata file (the CSV listing the clips)")]
    NoMetadata,
    /// A layout name that is not one of [`Layout::NAMES`].
    #[error("unknown layout {0:?}; the layouts are esc50, csv, urbansound8k, folders")]
    Unknown(String),
}

/// ESC-50's metadata under a root (its audio is in `audio/`).
pub(crate) const ESC50_CSV: [&str; 2] = ["meta", "esc50.csv"];
/// UrbanSound8K's metadata under a root.
pub(crate) const URBANSOUND8K_CSV: [&str; 2] = ["metadata", "UrbanSound8K.csv"];

impl Layout {
    /// The layouts' names, as [`Layout::name`] gives them.
    pub const NAMES: [&'static str; 4] = ["esc50", "csv", "urbansound8k", "folders"];

    /// The layout called `name` ([`Layout::NAMES`]) with `opts`; an option of another layout is
    /// an error (so that a misspelt intent does not pass silently).
    pub fn from_options(name: &str, opts: &LayoutOptions) -> Result<Layout, LayoutOptionError> {
        let layout = Self::NAMES
            .into_iter()
            .find(|n| *n == name)
            .ok_or_else(|| LayoutOptionError::Unknown(name.to_string()))?;
        let o = opts;
        let given: [(&'static str, &'static str, bool); 10] = [
            ("esc10", "esc50", o.esc10),
            ("metadata", "csv", o.metadata.is_some()),
            ("filename_col", "csv", o.filename_col.is_some()),
            ("label_col", "csv", o.label_col.is_some()),
            ("fold_col", "csv", o.fold_col.is_some()),
            ("target_col", "csv", o.target_col.is_some()),
            ("audio_dir", "csv", o.audio_dir.is_some()),
            ("folds", "folders", o.folds.is_some()),
            ("fold_seed", "folders", o.fold_seed.is_some()),
            ("fold_file", "folders", o.fold_file.is_some()),
        ];
        if let Some((option, belongs, _)) = given.iter().find(|(_, b, set)| *set && *b != layout) {
            return Err(LayoutOptionError::Misplaced {
                option,
                belongs,
                layout,
            });
        }
        Ok(match layout {
            "esc50" => Layout::Esc50 { esc10: o.esc10 },
            "urbansound8k" => Layout::UrbanSound8K,
            "csv" => {
                let mut c =
                    CsvLayout::new(o.metadata.clone().ok_or(LayoutOptionError::NoMetadata)?);
                let pick = |v: &Option<String>, d: String| v.clone().unwrap_or(d);
                c.audio_dir = o.audio_dir.clone().unwrap_or_default();
                c.filename_col = pick(&o.filename_col, c.filename_col);
                c.label_col = pick(&o.label_col, c.label_col);
                c.fold_col = pick(&o.fold_col, c.fold_col);
                c.target_col = o.target_col.clone();
                Layout::Csv(c)
            }
            _ => {
                let d = FolderLayout::default();
                Layout::Folders(FolderLayout {
                    folds: o.folds.unwrap_or(d.folds),
                    seed: o.fold_seed.unwrap_or(d.seed),
                    fold_file: o.fold_file.clone(),
                })
            }
        })
    }

    /// The layout's name as the command line spells it (`esc50`, `csv`, `urbansound8k`,
    /// `folders`).
    pub fn name(&self) -> &'static str {
        Self::NAMES[match self {
            Layout::Esc50 { .. } => 0,
            Layout::Csv(_) => 1,
            Layout::UrbanSound8K => 2,
            Layout::Folders(_) => 3,
        }]
    }

    /// Reads the dataset at `root` in this layout (see [`Dataset::open_layout`]).
    pub fn open(&self, root: &Path, opts: DatasetOptions) -> Result<Dataset, FoldsError> {
        match self {
            Layout::Esc50 { esc10 } => {
                let csv = root.join(ESC50_CSV[0]).join(ESC50_CSV[1]);
                let spec = Spec {
                    filename: "filename",
                    fold: "fold",
                    label: Label::Target {
                        target: "target",
                        category: "category",
                    },
                    select: esc10.then_some("esc10"),
                    fold_subdirs: false,
                };
                self.read_table(root, &csv, &root.join("audio"), &spec, opts)
            }
            Layout::UrbanSound8K => {
                let csv = root.join(URBANSOUND8K_CSV[0]).join(URBANSOUND8K_CSV[1]);
                let spec = Spec {
                    filename: "slice_file_name",
                    fold: "fold",
                    label: Label::Target {
                        target: "classID",
                        category: "class",
                    },
                    select: None,
                    fold_subdirs: true,
                };
                self.read_table(root, &csv, &root.join("audio"), &spec, opts)
            }
            Layout::Csv(c) => {
                let label = match &c.target_col {
                    Some(t) => Label::Target {
                        target: t,
                        category: &c.label_col,
                    },
                    None => Label::Named(&c.label_col),
                };
                let spec = Spec {
                    filename: &c.filename_col,
                    fold: &c.fold_col,
                    label,
                    select: None,
                    fold_subdirs: false,
                };
                let csv = root.join(&c.metadata);
                let audio_dir = if c.audio_dir.as_os_str().is_empty() {
                    root.to_path_buf()
                } else {
                    root.join(&c.audio_dir)
                };
                self.read_table(root, &csv, &audio_dir, &spec, opts)
            }
            Layout::Folders(f) => tree::open(root, f, opts),
        }
    }

    fn read_table(
        &self,
        root: &Path,
        csv: &Path,
        audio_dir: &Path,
        spec: &Spec<'_>,
        opts: DatasetOptions,
    ) -> Result<Dataset, FoldsError> {
        let (items, rows) = table::read(csv, audio_dir, spec)?;
        if !opts.allow_outside_root {
            root::check_inside(csv, audio_dir, &items, &rows)?;
        }
        Ok(Dataset {
            root: root.to_path_buf(),
            csv: csv.to_path_buf(),
            audio_dir: audio_dir.to_path_buf(),
            layout: self.clone(),
            items,
        })
    }
}
