//! [`CacheError`].

use std::path::PathBuf;

/// What can go wrong with a cache file. [`CacheError::is_recomputable`] tells the errors that
/// mean "this file cannot be used, compute the features again" from real failures.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No cache file for this key yet.
    #[error("{}: no feature cache yet", path.display())]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file is intact but belongs to another key (configuration, dtype, dataset, clips,
    /// software version).
    #[error("{}: stale feature cache: {reason}", path.display())]
    Stale {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The file is damaged: truncated, not a cache file, a bad header, a checksum mismatch.
    #[error("{}: corrupt feature cache: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A row pushed to a writer does not match the others, or an index is out of range.
    #[error("{}: {detail}", path.display())]
    Invalid {
        /// The cache file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl CacheError {
    /// True when the features should simply be computed again (and the file rewritten):
    /// [`Missing`](CacheError::Missing), [`Stale`](CacheError::Stale),
    /// [`Corrupt`](CacheError::Corrupt).
    pub fn is_recomputable(&self) -> bool {
        matches!(
            self,
            CacheError::Missing { .. } | CacheError::Stale { .. } | CacheError::Corrupt { .. }
        )
    }

    pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> CacheError + '_ {
        move |source| CacheError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
