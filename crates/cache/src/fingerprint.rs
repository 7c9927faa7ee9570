//! [`DatasetFingerprint`]: what a cache file's rows were computed from.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::{fnv1a, CacheError, FNV_OFFSET};

/// The dataset a cache was computed from: its identity and digests of its metadata files'
/// contents and of its clips' names, sizes and modification times. Any change to the metadata
/// table, the clip list or an audio file's size or mtime changes it (an in-place edit that
/// keeps both size and mtime is not seen, as with `make`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetFingerprint {
    /// Which dataset (e.g. its canonical root); part of the cache file's name, so that two
    /// datasets never share a file.
    pub dataset: String,
    /// FNV-1a of the metadata files' contents (16 hex digits).
    pub metadata: String,
    /// FNV-1a of every clip's name, size and modification time, in order (16 hex digits).
    pub files: String,
    /// Number of clips.
    pub clips: usize,
}

impl DatasetFingerprint {
    /// Fingerprints `dataset`: the contents of `metadata` (a missing file counts as absent,
    /// not as an error) and, for each `(name, path)` of `clips`, the name, size and mtime (a
    /// missing clip counts as missing: it will be a bad clip, not a cache error).
    pub fn of(
        dataset: &str,
        metadata: &[PathBuf],
        clips: &[(String, PathBuf)],
    ) -> Result<DatasetFingerprint, CacheError> {
        let mut h = FNV_OFFSET;
        for m in metadata {
            match std::fs::read(m) {
                Ok(bytes) => {
                    h = fnv1a(
                        format!("file {} {}\0", m.display(), bytes.len()).as_bytes(),
                        h,
                    );
                    h = fnv1a(&bytes, h);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    h = fnv1a(format!("absent {}\0", m.display()).as_bytes(), h);
                }
                Err(e) => return Err(CacheError::io(m)(e)),
            }
        }
        let metadata = format!("{h:016x}");
        let mut h = FNV_OFFSET;
        for (name, path) in clips {
            let entry = match std::fs::metadata(path) {
                Ok(md) => {
                    let mtime = md
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()));
                    format!("{name}\0{}\0{}.{:09}\0", md.len(), mtime.0, mtime.1)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{name}\0missing\0"),
                Err(e) => return Err(CacheError::io(path)(e)),
            };
            h = fnv1a(entry.as_bytes(), h);
        }
        Ok(DatasetFingerprint {
            dataset: dataset.to_string(),
            metadata,
            files: format!("{h:016x}"),
            clips: clips.len(),
        })
    }

    /// What differs from `other`, in words (`None` when equal).
    pub fn difference(&self, other: &DatasetFingerprint) -> Option<String> {
        if self.dataset != other.dataset {
            Some(format!(
                "computed for dataset {}, not {}",
                other.dataset, self.dataset
            ))
        } else if self.clips != other.clips {
            Some(format!(
                "the dataset had {} clips, now {}",
                other.clips, self.clips
            ))
        } else if self.metadata != other.metadata {
            Some("the metadata files changed".into())
        } else if self.files != other.files {
            Some("audio files changed (name, size or modification time)".into())
        } else {
            None
        }
    }
}
