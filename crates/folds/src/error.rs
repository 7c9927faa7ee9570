//! The errors of this crate.

use std::path::PathBuf;

/// Errors of this crate. Every variant names the file it is about: the metadata CSV (for the
/// folder-per-class layout, the fold file), or the folder being scanned; row numbers are 1-based
/// CSV line numbers (the header is line 1).
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
    /// A yes/no column (ESC-50's `esc10`) holds something other than `True`/`False`.
    #[error("{}, row {row}: {column} {value:?} is neither True nor False", .csv.display())]
    BadFlag {
        /// CSV file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
        /// The column.
        column: String,
        /// Raw value.
        value: String,
    },
    /// An empty class label (a CSV layout without a target column).
    #[error("{}, row {row}: empty label in column {column:?}", .csv.display())]
    EmptyLabel {
        /// CSV file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
        /// The label column.
        column: String,
    },
    /// A folder of the folder-per-class layout cannot be listed.
    #[error("cannot list {}: {source}", .dir.display())]
    Scan {
        /// The folder.
        dir: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A class folder or audio file name that is not UTF-8 (the fold file is UTF-8 text).
    #[error("{}: the name is not valid UTF-8", .path.display())]
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
    /// The folder-per-class layout found fewer audio files than folds (or none at all).
    #[error(
        "{}: {files} audio file(s) (.wav, .flac, .ogg, .mp3) in class folders, fewer than the \
         {folds} folds asked for (the layout is <root>/<class>/<clip>)",
        .root.display()
    )]
    TooFewFiles {
        /// Dataset root.
        root: PathBuf,
        /// Audio files found.
        files: usize,
        /// Folds asked for.
        folds: u32,
    },
    /// A fold count below 2 (cross-validation needs a fold to hold out and one to train on).
    #[error("{}: {folds} fold(s) asked for; at least 2 are needed", .root.display())]
    BadFoldCount {
        /// Dataset root.
        root: PathBuf,
        /// Folds asked for.
        folds: u32,
    },
    /// The fold file cannot be written.
    #[error(
        "cannot write the fold file {}: {source} (choose another place for it: --fold-file)",
        .csv.display()
    )]
    WriteFoldFile {
        /// The fold file.
        csv: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row of the fold file disagrees with the layout asked for (fold count, seed, a fold out
    /// of range, a class that is not the file's folder).
    #[error("{}, row {row}: {detail}", .csv.display())]
    FoldFileMismatch {
        /// The fold file.
        csv: PathBuf,
        /// 1-based line number.
        row: u64,
        /// What disagrees.
        detail: String,
    },
    /// The class folders no longer hold the files the fold file lists.
    #[error(
        "{}: the class folders changed since the folds were drawn: {} file(s) added, {} \
         removed:\n  {}\nDelete the fold file to draw new folds over the current files (every \
         file may change fold), or restore the files.",
        .csv.display(), .added.len(), .removed.len(),
        .added.iter().map(|f| format!("added {f}"))
            .chain(.removed.iter().map(|f| format!("removed {f}")))
            .collect::<Vec<_>>().join("\n  ")
    )]
    StaleFoldFile {
        /// The fold file.
        csv: PathBuf,
        /// Files in the class folders that the fold file does not list (`class/name`).
        added: Vec<String>,
        /// Files the fold file lists that are no longer there.
        removed: Vec<String>,
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
