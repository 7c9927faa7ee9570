//! [`CacheFile`]: a checked, memory-mapped cache file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::ArrayView2;

use crate::format::{CacheKey, Dtype, Header, DATA_OFFSET, END_MAGIC, MAGIC, TRAILER_LEN};
use crate::CacheError;

/// How much of a file [`CacheFile::open`] checks before mapping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Header, key and sizes, and the rows' CRC-32 (reads the file once, through the page
    /// cache, not the map).
    Checksum,
    /// Header, key and sizes only.
    Header,
}

/// A cache file whose header matched its key, mapped read-only.
///
/// The map stays valid while the file is replaced (writers rename a new file over it; the old
/// inode lives on until unmapped). Truncating the file in place while it is mapped (which no
/// specnorm code does) would make reads of the lost pages fault.
#[derive(Debug)]
pub struct CacheFile {
    path: PathBuf,
    header: Header,
    /// Byte offset of each row from [`DATA_OFFSET`], and of the end of the last.
    offsets: Vec<usize>,
    map: Mmap,
}

fn corrupt(path: &Path, reason: impl Into<String>) -> CacheError {
    CacheError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl CacheFile {
    /// Opens `path` for `key`: [`CacheError::Missing`] when there is no file,
    /// [`CacheError::Stale`] when its header belongs to another key, [`CacheError::Corrupt`]
    /// when it is not a complete cache file (or, with [`Verify::Checksum`], its rows do not
    /// match their CRC-32).
    pub fn open(path: &Path, key: &CacheKey, verify: Verify) -> Result<CacheFile, CacheError> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CacheError::Missing {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(CacheError::io(path)(e)),
        };
        let io = CacheError::io(path);
        let len = file.metadata().map_err(&io)?.len();
        let min = (DATA_OFFSET + TRAILER_LEN) as u64;
        if len < min {
            return Err(corrupt(
                path,
                format!("{len} bytes, shorter than any cache file"),
            ));
        }
        let mut head = [0u8; 8];
        file.read_exact(&mut head).map_err(&io)?;
        if &head != MAGIC {
            return Err(corrupt(path, "not a specnorm feature cache (bad magic)"));
        }
        let mut trailer = [0u8; TRAILER_LEN];
        file.seek(SeekFrom::Start(len - TRAILER_LEN as u64))
            .map_err(&io)?;
        file.read_exact(&mut trailer).map_err(&io)?;
        if &trailer[8..] != END_MAGIC {
            return Err(corrupt(path, "incomplete file (no end marker; truncated?)"));
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&trailer[..8]);
        let json_len = u64::from_le_bytes(n);
        if json_len > len - min {
            return Err(corrupt(
                path,
                format!("header length {json_len} exceeds the file"),
            ));
        }
        let json_start = len - TRAILER_LEN as u64 - json_len;
        file.seek(SeekFrom::Start(json_start)).map_err(&io)?;
        let mut json = vec![0u8; json_len as usize];
        file.read_exact(&mut json).map_err(&io)?;
        let header: Header = serde_json::from_slice(&json)
            .map_err(|e| corrupt(path, format!("unreadable header: {e}")))?;
        if let Some(reason) = header.mismatch(key) {
            return Err(CacheError::Stale {
                path: path.to_path_buf(),
                reason,
            });
        }
        let offsets = header.row_offsets().ok_or_else(|| {
            corrupt(
                path,
                format!(
                    "header sizes overflow, or {} row lengths for {} rows",
                    header.frames.len(),
                    header.names.len()
                ),
            )
        })?;
        let data_len = offsets.last().copied().unwrap_or(0);
        if DATA_OFFSET as u64 + data_len as u64 != json_start {
            return Err(corrupt(
                path,
                format!(
                    "{} rows of {:?} {} need {data_len} bytes, the file holds {}",
                    header.names.len(),
                    header.shape,
                    header.dtype.as_str(),
                    json_start.saturating_sub(DATA_OFFSET as u64)
                ),
            ));
        }
        if verify == Verify::Checksum {
            file.seek(SeekFrom::Start(DATA_OFFSET as u64))
                .map_err(&io)?;
            let mut crc = crc32fast::Hasher::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut left = data_len;
            while left > 0 {
                let k = left.min(buf.len());
                file.read_exact(&mut buf[..k]).map_err(&io)?;
                crc.update(&buf[..k]);
                left -= k;
            }
            if crc.finalize() != header.crc32 {
                return Err(corrupt(path, "rows do not match their checksum"));
            }
        }
        // SAFETY: the map is read-only and specnorm never modifies a cache file in place
        // (writers rename a complete new file over it); see the type's docs.
        let map = unsafe { Mmap::map(&file) }.map_err(&io)?;
        if map.len() as u64 != len {
            return Err(corrupt(path, "the file changed while it was opened"));
        }
        Ok(CacheFile {
            path: path.to_path_buf(),
            header,
            offsets,
            map,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of rows (usable clips).
    pub fn len(&self) -> usize {
        self.header.names.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.header.names.is_empty()
    }

    /// `[F, T]`: `F` of every row, `T` of the longest ([`CacheFile::row_shape`] of each).
    pub fn shape(&self) -> [usize; 2] {
        self.header.shape
    }

    /// `[F, T_k]` of row `k`: its frames differ from [`CacheFile::shape`]'s when the clips
    /// kept their own durations.
    pub fn row_shape(&self, k: usize) -> Result<[usize; 2], CacheError> {
        self.check_row(k)?;
        Ok([self.header.shape[0], self.header.frames_of(k)])
    }

    fn check_row(&self, k: usize) -> Result<(), CacheError> {
        if k >= self.len() {
            return Err(CacheError::Invalid {
                path: self.path.clone(),
                detail: format!("row {k} of {}", self.len()),
            });
        }
        Ok(())
    }

    fn row_bytes_of(&self, k: usize) -> Result<&[u8], CacheError> {
        self.check_row(k)?;
        let (start, end) = (self.offsets[k], self.offsets[k + 1]);
        Ok(&self.map[DATA_OFFSET + start..DATA_OFFSET + end])
    }

    /// Row `k` as a `[F, T_k]` view into the map, without copying (f32 files on a
    /// little-endian machine; otherwise use [`CacheFile::read_row`]).
    pub fn view(&self, k: usize) -> Result<ArrayView2<'_, f32>, CacheError> {
        let bytes = self.row_bytes_of(k)?;
        let invalid = |detail: &str| CacheError::Invalid {
            path: self.path.clone(),
            detail: detail.to_string(),
        };
        if self.header.dtype != Dtype::F32 || cfg!(target_endian = "big") {
            return Err(invalid("rows are not native f32: use read_row"));
        }
        let values: &[f32] =
            bytemuck::try_cast_slice(bytes).map_err(|e| invalid(&format!("row {k}: {e}")))?;
        let [f, t] = self.row_shape(k)?;
        ArrayView2::from_shape((f, t), values).map_err(|e| invalid(&e.to_string()))
    }

    /// Row `k` converted to f32 into `out` (`F*T_k` values, row-major: see
    /// [`CacheFile::row_shape`]), for any dtype.
    pub fn read_row(&self, k: usize, out: &mut [f32]) -> Result<(), CacheError> {
        let bytes = self.row_bytes_of(k)?;
        let size = self.header.dtype.size();
        if out.len() * size != bytes.len() {
            return Err(CacheError::Invalid {
                path: self.path.clone(),
                detail: format!(
                    "row {k} has {} values, not {}",
                    bytes.len() / size,
                    out.len()
                ),
            });
        }
        match self.header.dtype {
            Dtype::F32 => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            Dtype::F16 => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
                }
            }
        }
        Ok(())
    }

    /// Drops the pages this process has read from its resident set (they stay in the page
    /// cache and are read again on the next access): call after a pass over the rows to keep
    /// the process's memory bounded by what it holds, not by what it has read.
    pub fn release_pages(&self) {
        // SAFETY: for a read-only, shared mapping of a file, MADV_DONTNEED only unmaps the
        // pages; the next access reads the same bytes back from the file (nothing written
        // through the map is lost, because nothing is written through it).
        #[cfg(unix)]
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }
}
