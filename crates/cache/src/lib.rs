//! On-disk feature cache for specnorm: the features of every clip of a dataset, for one
//! feature configuration, in one memory-mapped file, so that a consumer's memory is bounded
//! by what it reads rather than by the dataset.
//!
//! One file per [`CacheKey`]: the feature configuration (any serde value, e.g. a
//! `specnorm_features::FeatureConfig` serialized), the element type ([`Dtype`]: f32, or f16 to
//! halve the disk) and the [`DatasetFingerprint`] (metadata files' contents, every clip's
//! name, size and modification time). Layout ([`format`](mod@format)):
//!
//! ```text
//! [0, 64)          magic "SPNFEAT1", zeros
//! [64, 64 + D)     rows: one [F, T] array per usable clip, row-major, little-endian
//! then             the header, JSON (Header: config, fingerprint, dtype, shape, names, skipped
//!                  clips, CRC-32 of the rows)
//! last 16 bytes    header length (u64 LE), "SPNFEND1"
//! ```
//!
//! Files are streamed through [`CacheWriter`] into a [`specnorm_atomic::Pending`] (temporary
//! sibling, fsync, rename), so a reader never sees a half-written cache. [`CacheFile::open`]
//! checks the header against the key and the file size against the header, and by default
//! the rows' CRC-32, before it maps the file: a different configuration or dtype, a changed
//! dataset, another clip list, a truncated or damaged file are each an error that
//! [`CacheError::is_recomputable`] marks as "compute it again", never a silent wrong read.
//!
//! ```
//! use specnorm_cache::{CacheFile, CacheKey, CacheWriter, DatasetFingerprint, Dtype, Verify};
//!
//! let dir = tempfile::tempdir()?;
//! let clip = dir.path().join("a.wav");
//! std::fs::write(&clip, b"RIFF")?;
//! let fp = DatasetFingerprint::of("demo", &[], &[("a.wav".into(), clip.clone())])?;
//! let key = CacheKey::new(serde_json::json!({"n_fft": 400}), Dtype::F32, fp, vec!["a.wav".into()]);
//! let mut w = CacheWriter::create(dir.path(), &key)?;
//! w.push("a.wav", [2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])?;
//! let path = w.finish(Vec::new())?;
//! let c = CacheFile::open(&path, &key, Verify::Checksum)?;
//! assert_eq!(c.view(0)?[[1, 2]], 5.0);
//! // Another configuration is a different file, and this one is refused for it.
//! let other = CacheKey { config: serde_json::json!({"n_fft": 512}), ..key.clone() };
//! assert!(CacheFile::open(&path, &other, Verify::Checksum).unwrap_err().is_recomputable());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod error;
mod fingerprint;
pub mod format;
mod reader;
mod writer;

pub use error::CacheError;
pub use fingerprint::DatasetFingerprint;
pub use format::{CacheKey, Dtype, Header, Skipped};
pub use reader::{CacheFile, Verify};
pub use writer::CacheWriter;

/// FNV-1a, 64 bit, as 16 hex digits (file names and digests; not a cryptographic hash).
pub(crate) fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The FNV-1a offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
