//! Dataset metadata (ESC-50 layout) and cross-validation fold splitting.
//!
//! A [`Dataset`] is read from a metadata CSV with (at least) a filename, a fold, an integer class
//! target and a category name column ([`Columns`], ESC-50 names by default). Audio files live in
//! one directory. [`Dataset::split`] holds one fold out for validation; [`Dataset::cross_validation`]
//! yields every such split. All errors name the CSV file; row numbers are 1-based CSV line numbers
//! (the header is line 1).
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

mod root;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Errors of this crate; every variant names the CSV file.
#[derive(Debug, thiserror::Error)]
pub enum FoldsError {
    /// The CSV file cannot be read.
    #[error("cannot read {}: {source}", .csv.display())]
    Io {
        /// CSV file.
        csv: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed CSV (e.g. a row with the wrong number of fields).
    #[error("{}: malformed CSV: {source}", .csv.display())]
    Csv {
        /// CSV file.
        csv: PathBuf,
        /// Underlying error.
        #[source]
        source: csv::Error,
    },
    /// The CSV has no header or no data rows.
    #[error("{}: the CSV is empty ({what})", .csv.display())]
    Empty {
        /// CSV file.
        csv: PathBuf,
        /// "no header" or "no data rows".
        what: &'static str,
    },
    /// A required column is absent.
    #[error("{}: missing column {column:?}; the header is {header:?}", .csv.display())]
    MissingColumn {
        /// CSV file.
        csv: PathBuf,
        /// The column that was looked for.
        column: String,
        /// The header as read.
        header: Vec<String>,
    },
    /// A fold value that is not a non-negative integer.
    #[error("{}, row {row}: fold {value:?} is not a non-negative integer", .csv.display())]
    BadFold {
        /// CSV file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
        /// Raw value.
        value: String,
    },
    /// A target value that is not a non-negative integer.
    #[error("{}, row {row}: target {value:?} is not a non-negative integer", .csv.display())]
    BadTarget {
        /// CSV file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
        /// Raw value.
        value: String,
    },
    /// An empty filename.
    #[error("{}, row {row}: empty filename", .csv.display())]
    EmptyFilename {
        /// CSV file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
    },
    /// The same filename appears twice.
    #[error("{}: duplicate filename {filename:?} in rows {first} and {second}", .csv.display())]
    DuplicateFilename {
        /// CSV file.
        csv: PathBuf,
        /// The filename.
        filename: String,
        /// Row of the first occurrence.
        first: u64,
        /// Row of the repeat.
        second: u64,
    },
    /// One target is used with two category names.
    #[error(
        "{}: target {target} is {first:?} in row {first_row} but {second:?} in row {second_row}",
        .csv.display()
    )]
    InconsistentClass {
        /// CSV file.
        csv: PathBuf,
        /// The target.
        target: u32,
        /// First category name.
        first: String,
        /// Its row.
        first_row: u64,
        /// Conflicting category name.
        second: String,
        /// Its row.
        second_row: u64,
    },
    /// A row contains bytes that are not UTF-8.
    #[error("{}, row {row}: field {field} is not valid UTF-8", .csv.display())]
    NonUtf8 {
        /// CSV file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
        /// 0-based field index.
        field: usize,
    },
    /// Audio files listed in the CSV that do not exist (all of them).
    #[error(
        "{}: {} of {total} audio files are missing from {}:\n  {}",
        .csv.display(), .missing.len(), .audio_dir.display(),
        .missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join("\n  ")
    )]
    MissingFiles {
        /// CSV file.
        csv: PathBuf,
        /// Audio directory.
        audio_dir: PathBuf,
        /// Every missing path.
        missing: Vec<PathBuf>,
        /// Number of items checked.
        total: usize,
    },
    /// Metadata rows whose file resolves (after `..` and symbolic links) outside the audio folder.
    #[error(
        "{}: {} row(s) name files outside the audio folder {} (after resolving '..' and symbolic \
         links; pass --allow-outside-root to read them anyway):\n  {}",
        .csv.display(), .rows.len(), .audio_dir.display(),
        .rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n  ")
    )]
    OutsideRoot {
        /// CSV file.
        csv: PathBuf,
        /// Audio directory.
        audio_dir: PathBuf,
        /// Every such row.
        rows: Vec<OutsideRow>,
    },
    /// The requested fold has no items.
    #[error("{}: fold {fold} has no items; available folds are {available:?}", .csv.display())]
    EmptyFold {
        /// CSV file.
        csv: PathBuf,
        /// Requested fold.
        fold: u32,
        /// Folds present.
        available: Vec<u32>,
    },
}

/// A metadata row whose file lies outside the audio folder ([`FoldsError::OutsideRoot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideRow {
    /// 1-based CSV line number.
    pub row: u64,
    /// The file name as written in the CSV.
    pub filename: String,
    /// Where it resolves to.
    pub resolved: PathBuf,
}

impl std::fmt::Display for OutsideRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {}: {:?} -> {}",
            self.row,
            self.filename,
            self.resolved.display()
        )
    }
}

/// How [`Dataset::open_with`] / [`Dataset::from_csv_with`] treat the metadata. `Default` is the
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
    /// File name as written in the CSV.
    pub filename: String,
    /// `audio_dir / filename`.
    pub path: PathBuf,
    /// Fold.
    pub fold: u32,
    /// Class index.
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

/// Dataset metadata: items in CSV order.
#[derive(Clone, Debug)]
pub struct Dataset {
    csv: PathBuf,
    audio_dir: PathBuf,
    items: Vec<Item>,
}

fn parse_u32(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok()
}

impl Dataset {
    /// Opens an ESC-50 style root: `<root>/meta/esc50.csv`, audio in `<root>/audio`, with the
    /// default [`DatasetOptions`] (every entry must lie inside the audio folder).
    pub fn open(root: &Path) -> Result<Dataset, FoldsError> {
        Self::open_with(root, DatasetOptions::default())
    }

    /// [`Dataset::open`] with [`DatasetOptions`].
    pub fn open_with(root: &Path, opts: DatasetOptions) -> Result<Dataset, FoldsError> {
        Self::from_csv_with(
            &root.join("meta").join("esc50.csv"),
            &root.join("audio"),
            &Columns::default(),
            opts,
        )
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

    /// [`Dataset::from_csv`] with [`DatasetOptions`].
    pub fn from_csv_with(
        csv: &Path,
        audio_dir: &Path,
        cols: &Columns,
        opts: DatasetOptions,
    ) -> Result<Dataset, FoldsError> {
        let csv_path = csv.to_path_buf();
        let file = std::fs::File::open(csv).map_err(|source| FoldsError::Io {
            csv: csv_path.clone(),
            source,
        })?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(file);
        let cerr = |source: csv::Error| FoldsError::Csv {
            csv: csv_path.clone(),
            source,
        };
        let header = rdr.byte_headers().map_err(cerr)?.clone();
        if header.is_empty() {
            return Err(FoldsError::Empty {
                csv: csv_path,
                what: "no header",
            });
        }
        let mut names = Vec::with_capacity(header.len());
        for (field, h) in header.iter().enumerate() {
            let s = std::str::from_utf8(h).map_err(|_| FoldsError::NonUtf8 {
                csv: csv_path.clone(),
                row: 1,
                field,
            })?;
            names.push(s.trim().trim_start_matches('\u{feff}').to_string());
        }
        let col = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| FoldsError::MissingColumn {
                    csv: csv_path.clone(),
                    column: name.to_string(),
                    header: names.clone(),
                })
        };
        let (ci_file, ci_fold, ci_target, ci_cat) = (
            col(&cols.filename)?,
            col(&cols.fold)?,
            col(&cols.target)?,
            col(&cols.category)?,
        );

        let mut items = Vec::new();
        let mut rows = Vec::new();
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut class_rows: HashMap<u32, (String, u64)> = HashMap::new();
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(cerr(e)),
            }
            let row = rec.position().map_or(0, |p| p.line());
            let field = |i: usize| -> Result<&str, FoldsError> {
                // the csv reader enforces equal field counts, so index i < header.len() exists
                let bytes = rec.get(i).unwrap_or(b"");
                std::str::from_utf8(bytes).map_err(|_| FoldsError::NonUtf8 {
                    csv: csv_path.clone(),
                    row,
                    field: i,
                })
            };
            // validate all fields' encoding first so the reported field is the first bad one
            for i in 0..rec.len() {
                field(i)?;
            }
            let filename = field(ci_file)?.trim().to_string();
            if filename.is_empty() {
                return Err(FoldsError::EmptyFilename { csv: csv_path, row });
            }
            let fold_s = field(ci_fold)?;
            let fold = parse_u32(fold_s).ok_or_else(|| FoldsError::BadFold {
                csv: csv_path.clone(),
                row,
                value: fold_s.to_string(),
            })?;
            let target_s = field(ci_target)?;
            let target = parse_u32(target_s).ok_or_else(|| FoldsError::BadTarget {
                csv: csv_path.clone(),
                row,
                value: target_s.to_string(),
            })?;
            let category = field(ci_cat)?.trim().to_string();
            if let Some(&first) = seen.get(&filename) {
                return Err(FoldsError::DuplicateFilename {
                    csv: csv_path,
                    filename,
                    first,
                    second: row,
                });
            }
            match class_rows.get(&target) {
                Some((c, r)) if *c != category => {
                    return Err(FoldsError::InconsistentClass {
                        csv: csv_path.clone(),
                        target,
                        first: c.clone(),
                        first_row: *r,
                        second: category,
                        second_row: row,
                    })
                }
                Some(_) => {}
                None => {
                    class_rows.insert(target, (category.clone(), row));
                }
            }
            seen.insert(filename.clone(), row);
            rows.push(row);
            items.push(Item {
                path: audio_dir.join(&filename),
                filename,
                fold,
                target,
                category,
            });
        }
        if items.is_empty() {
            return Err(FoldsError::Empty {
                csv: csv_path,
                what: "no data rows",
            });
        }
        if !opts.allow_outside_root {
            root::check_inside(&csv_path, audio_dir, &items, &rows)?;
        }
        Ok(Dataset {
            csv: csv_path,
            audio_dir: audio_dir.to_path_buf(),
            items,
        })
    }

    /// The metadata CSV path.
    pub fn csv_path(&self) -> &Path {
        &self.csv
    }

    /// The audio directory.
    pub fn audio_dir(&self) -> &Path {
        &self.audio_dir
    }

    /// All items in CSV order.
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
