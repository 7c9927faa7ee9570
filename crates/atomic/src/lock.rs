//! [`lock_dir`]: one writer per output folder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file [`lock_dir`] keeps in the folder.
pub const LOCK_FILE: &str = ".specnorm.lock";

/// An exclusive lock on a folder, held until dropped (or until the process ends).
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Empty the file first, so a reader never sees the pid of a finished holder; the file
        // itself stays (removing it would race with a process that just opened it).
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Takes an exclusive lock on folder `dir` (created if missing) through the lock file
/// `dir/.specnorm.lock`, so that two processes never write the same output folder at once.
///
/// The lock is an advisory `flock`-style lock on that file ([`File::try_lock`]), which the
/// operating system releases when the holder exits, however it exits (crash and `kill -9`
/// included): there are no stale locks to clean up, and a lock file left behind by a finished
/// run is simply reused. The holder writes its process id into the file for the message a
/// second process gets. Locks on network file systems depend on the server supporting them.
///
/// Errors: [`io::ErrorKind::WouldBlock`] when another process holds the lock, with a message
/// naming the folder, the lock file and the holder's pid; other I/O errors name the lock file.
pub fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(named)?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another process (pid {holder})")
            };
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is in use by {who}: it holds the lock {}; wait for it to finish or \
                     choose another output folder",
                    dir.display(),
                    path.display()
                ),
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(io::Error::new(
                e.kind(),
                format!("{}: cannot lock: {e}", path.display()),
            ))
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(DirLock { file, path })
}
