//! The file format: [`CacheKey`] (what a file must have been computed for), [`Header`] (what
//! it says it was computed for), [`Dtype`], and the fixed framing.

use serde::{Deserialize, Serialize};

use crate::{fnv1a, DatasetFingerprint, FNV_OFFSET};

/// First bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"SPNFEAT1";
/// Last bytes of every complete cache file.
pub const END_MAGIC: &[u8; 8] = b"SPNFEND1";
/// Offset of the first row (the rest of the first 64 bytes is zero).
pub const DATA_OFFSET: usize = 64;
/// Header length (u64 LE) + [`END_MAGIC`].
pub const TRAILER_LEN: usize = 16;
/// Version of the layout and header.
pub const FORMAT_VERSION: u32 = 2;
/// Version of the software that computes the features: part of the key, so that features
/// computed by another version are recomputed.
pub const SOFTWARE: &str = env!("CARGO_PKG_VERSION");
/// Extension of cache files.
pub const EXTENSION: &str = "spnfeat";

/// Element type of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE binary32 (exact: the features as computed).
    F32,
    /// IEEE binary16 (half the size; about 3 significant digits, range ±65504; read back as
    /// f32).
    F16,
}

impl Dtype {
    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        }
    }

    /// `"f32"` or `"f16"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
        }
    }
}

/// A clip of the dataset that has no row (missing or undecodable), with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Its index in [`CacheKey::clips`].
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Why (the decoder's message).
    pub error: String,
}

/// What a cache file must have been computed for.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheKey {
    /// The feature configuration (compared as a JSON value).
    pub config: serde_json::Value,
    /// Element type.
    pub dtype: Dtype,
    /// The dataset.
    pub fingerprint: DatasetFingerprint,
    /// Every clip's name, in dataset order (rows are these minus the skipped ones).
    pub clips: Vec<String>,
}

impl CacheKey {
    /// A key.
    pub fn new(
        config: serde_json::Value,
        dtype: Dtype,
        fingerprint: DatasetFingerprint,
        clips: Vec<String>,
    ) -> CacheKey {
        CacheKey {
            config,
            dtype,
            fingerprint,
            clips,
        }
    }

    /// The file name of this key in a cache folder: a hash of the configuration, dtype and
    /// dataset identity (not of the dataset's state, so a changed dataset overwrites its stale
    /// file instead of piling up new ones), e.g. `0123456789abcdef.f32.spnfeat`.
    pub fn file_name(&self) -> String {
        let mut h = fnv1a(self.config.to_string().as_bytes(), FNV_OFFSET);
        h = fnv1a(b"\0", h);
        h = fnv1a(self.fingerprint.dataset.as_bytes(), h);
        format!("{h:016x}.{}.{EXTENSION}", self.dtype.as_str())
    }
}

/// The JSON header of a cache file (stored after the rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// [`SOFTWARE`] of the writer.
    pub software: String,
    /// The feature configuration.
    pub config: serde_json::Value,
    /// The dataset.
    pub fingerprint: DatasetFingerprint,
    /// Element type.
    pub dtype: Dtype,
    /// `[F, T]`: `F` of every row, `T` of the longest.
    pub shape: [usize; 2],
    /// Frames of each row when the rows differ in length (clips kept at their own
    /// durations); empty when every row has `shape[1]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<usize>,
    /// The clip of each row.
    pub names: Vec<String>,
    /// Clips without a row.
    pub skipped: Vec<Skipped>,
    /// CRC-32 (IEEE) of the rows' bytes.
    pub crc32: u32,
}

impl Header {
    /// Frames of row `k`.
    pub fn frames_of(&self, k: usize) -> usize {
        self.frames.get(k).copied().unwrap_or(self.shape[1])
    }

    /// Byte offset (from the first row) of each row and of the end of the last one, or `None`
    /// when the sizes overflow or `frames` does not have one entry per row.
    pub fn row_offsets(&self) -> Option<Vec<usize>> {
        if !self.frames.is_empty() && self.frames.len() != self.names.len() {
            return None;
        }
        let row_values = |k: usize| self.shape[0].checked_mul(self.frames_of(k));
        let mut offsets = Vec::with_capacity(self.names.len() + 1);
        let mut end = 0usize;
        offsets.push(end);
        for k in 0..self.names.len() {
            let bytes = row_values(k)?.checked_mul(self.dtype.size())?;
            end = end.checked_add(bytes)?;
            offsets.push(end);
        }
        Some(offsets)
    }

    /// Why this header does not belong to `key` (`None` when it does).
    pub fn mismatch(&self, key: &CacheKey) -> Option<String> {
        if self.format != FORMAT_VERSION {
            return Some(format!(
                "format version {}, expected {FORMAT_VERSION}",
                self.format
            ));
        }
        if self.software != SOFTWARE {
            return Some(format!(
                "written by version {}, this is {SOFTWARE}",
                self.software
            ));
        }
        if self.dtype != key.dtype {
            return Some(format!(
                "dtype {}, expected {}",
                self.dtype.as_str(),
                key.dtype.as_str()
            ));
        }
        if self.config != key.config {
            return Some("computed with another feature configuration".into());
        }
        if let Some(d) = key.fingerprint.difference(&self.fingerprint) {
            return Some(d);
        }
        // Rows + skipped must be the key's clip list, in order.
        let mut rows = self.names.iter();
        let mut skipped = self.skipped.iter().peekable();
        for (i, name) in key.clips.iter().enumerate() {
            let got = match skipped.peek() {
                Some(s) if s.index == i => skipped.next().map(|s| &s.name),
                _ => rows.next(),
            };
            if got != Some(name) {
                return Some(format!(
                    "clip {i} is {}, expected {name}",
                    got.map_or("absent", |s| s.as_str())
                ));
            }
        }
        if rows.next().is_some() || skipped.next().is_some() {
            return Some(format!("more clips than the dataset's {}", key.clips.len()));
        }
        None
    }
}
