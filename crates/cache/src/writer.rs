//! [`CacheWriter`]: streams rows into a new cache file (atomically).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use specnorm_atomic::Pending;

use crate::format::{
    CacheKey, Dtype, Header, Skipped, DATA_OFFSET, END_MAGIC, FORMAT_VERSION, MAGIC, SOFTWARE,
};
use crate::CacheError;

/// Writes the rows of one [`CacheKey`], one clip at a time, to `DIR/<key.file_name()>`
/// through a [`Pending`] file: until [`CacheWriter::finish`] the target is untouched (an old
/// file stays readable), and a writer dropped without finishing leaves nothing behind.
pub struct CacheWriter {
    out: BufWriter<Pending>,
    path: PathBuf,
    key: CacheKey,
    /// `F` of the rows and the frames of each.
    rows: Option<usize>,
    frames: Vec<usize>,
    names: Vec<String>,
    crc: crc32fast::Hasher,
    buf: Vec<u8>,
}

impl std::fmt::Debug for CacheWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheWriter")
            .field("path", &self.path)
            .field("rows", &self.names.len())
            .finish()
    }
}

impl CacheWriter {
    /// Starts the file of `key` in `dir` (created if missing).
    pub fn create(dir: &Path, key: &CacheKey) -> Result<CacheWriter, CacheError> {
        std::fs::create_dir_all(dir).map_err(CacheError::io(dir))?;
        let path = dir.join(key.file_name());
        let pending = Pending::create(&path).map_err(CacheError::io(&path))?;
        let mut out = BufWriter::with_capacity(1 << 20, pending);
        let mut head = [0u8; DATA_OFFSET];
        head[..MAGIC.len()].copy_from_slice(MAGIC);
        out.write_all(&head).map_err(CacheError::io(&path))?;
        Ok(CacheWriter {
            out,
            path,
            key: key.clone(),
            rows: None,
            frames: Vec::new(),
            names: Vec::new(),
            crc: crc32fast::Hasher::new(),
            buf: Vec::new(),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.names.len()
    }

    /// Appends the `[F, T]` row (`values`, row-major) of clip `name`. Every row must have the
    /// first row's `F`; `T` may differ (clips kept at their own durations: the header then
    /// records each row's frames).
    pub fn push(
        &mut self,
        name: &str,
        shape: [usize; 2],
        values: &[f32],
    ) -> Result<(), CacheError> {
        let invalid = |detail: String| CacheError::Invalid {
            path: self.path.clone(),
            detail,
        };
        if shape[0].checked_mul(shape[1]) != Some(values.len()) {
            return Err(invalid(format!(
                "{name}: {} values for shape {shape:?}",
                values.len()
            )));
        }
        match self.rows {
            Some(f) if f != shape[0] => {
                return Err(invalid(format!(
                    "{name}: features of {} rows, the other clips' have {f}",
                    shape[0]
                )))
            }
            _ => self.rows = Some(shape[0]),
        }
        self.buf.clear();
        match self.key.dtype {
            Dtype::F32 => {
                for v in values {
                    self.buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            Dtype::F16 => {
                for v in values {
                    self.buf
                        .extend_from_slice(&half::f16::from_f32(*v).to_le_bytes());
                }
            }
        }
        self.crc.update(&self.buf);
        self.out
            .write_all(&self.buf)
            .map_err(CacheError::io(&self.path))?;
        self.names.push(name.to_string());
        self.frames.push(shape[1]);
        Ok(())
    }

    /// Writes the header (with `skipped`, the clips that have no row) and commits the file;
    /// returns its path.
    pub fn finish(mut self, skipped: Vec<Skipped>) -> Result<PathBuf, CacheError> {
        let header = Header {
            format: FORMAT_VERSION,
            software: SOFTWARE.to_string(),
            config: self.key.config.clone(),
            fingerprint: self.key.fingerprint.clone(),
            dtype: self.key.dtype,
            shape: [
                self.rows.unwrap_or(0),
                self.frames.iter().copied().max().unwrap_or(0),
            ],
            frames: if self.frames.windows(2).all(|w| w[0] == w[1]) {
                Vec::new()
            } else {
                std::mem::take(&mut self.frames)
            },
            names: std::mem::take(&mut self.names),
            skipped,
            crc32: self.crc.clone().finalize(),
        };
        if let Some(reason) = header.mismatch(&self.key) {
            return Err(CacheError::Invalid {
                path: self.path.clone(),
                detail: format!("rows do not match the dataset's clips: {reason}"),
            });
        }
        let json = serde_json::to_vec(&header).map_err(|e| CacheError::Invalid {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        let path = self.path.clone();
        let io = CacheError::io(&path);
        self.out.write_all(&json).map_err(&io)?;
        self.out
            .write_all(&(json.len() as u64).to_le_bytes())
            .map_err(&io)?;
        self.out.write_all(END_MAGIC).map_err(&io)?;
        let pending = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        pending.commit().map_err(&io)?;
        drop(io);
        Ok(path)
    }
}
