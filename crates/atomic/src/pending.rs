//! [`Pending`]: an atomic output that stays open while the caller streams into it, for writers
//! that fill several files at once (one per feature variant) and cannot nest closures.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::{commit, fault, temp_sibling};

/// A file being written atomically: the content goes to the temporary sibling (see the crate
/// docs), [`Pending::commit`] syncs it and renames it over the target. Dropped without a
/// commit (an error, a panic), the temporary file is removed and the target is untouched.
///
/// ```
/// use std::io::Write;
/// let dir = std::env::temp_dir().join(format!("specnorm-pending-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("a.bin");
/// let mut p = specnorm_atomic::Pending::create(&path)?;
/// p.write_all(b"abc")?;
/// assert!(!path.exists());
/// p.commit()?;
/// assert_eq!(std::fs::read(&path)?, b"abc");
/// drop(specnorm_atomic::Pending::create(&path)?); // abandoned: nothing changes
/// assert_eq!(std::fs::read(&path)?, b"abc");
/// assert_eq!(std::fs::read_dir(&dir)?.count(), 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Pending {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
}

impl Pending {
    /// Creates the temporary sibling of `path` (the parent directory must exist).
    pub fn create(path: &Path) -> io::Result<Pending> {
        let tmp = temp_sibling(path)?;
        let file = File::create(&tmp)?;
        Ok(Pending {
            file: Some(file),
            tmp,
            target: path.to_path_buf(),
        })
    }

    /// The target path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the temporary file over the target. On error the temporary
    /// file is removed and the target is untouched.
    pub fn commit(mut self) -> io::Result<()> {
        let result = match self.file.take() {
            Some(mut f) => f
                .flush()
                .and_then(|()| match fault::injected(&self.target) {
                    Some(e) => Err(e),
                    None => {
                        drop(f);
                        commit(&self.tmp, &self.target)
                    }
                }),
            None => Err(io::Error::other("internal: pending file already closed")),
        };
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        // Committed or removed: nothing left for `drop`.
        self.tmp = PathBuf::new();
        result
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("internal: pending file already closed"))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
