//! Atomic file output for specnorm: the one implementation of "write to a
//! temporary sibling, then rename".
//!
//! Every file the workspace produces (WAV, JSON, `.npy`, PNG, safetensors,
//! ONNX) goes through [`write`] or [`write_with`]:
//!
//! 1. the content is written to a uniquely named temporary file **in the same
//!    directory** as the target (`.{name}.{pid}.{counter}.tmp`: hidden, and
//!    ending in `.tmp`, so it never matches `*.json`, `*.wav`, `*.png`, ...),
//! 2. the temporary file is flushed to disk (`fsync`),
//! 3. it is renamed over the target, which on POSIX file systems replaces the
//!    target in one step.
//!
//! A reader therefore sees either the old target (or none) or the complete new
//! one, never a half-written file. On any error the temporary file is removed
//! and the target is left untouched.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("specnorm-atomic-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("results.json");
//!
//! // Bytes already in memory.
//! specnorm_atomic::write(&path, b"{\"accuracy\": 0.81}")?;
//! assert_eq!(std::fs::read(&path)?, b"{\"accuracy\": 0.81}");
//!
//! // A library that insists on writing to a path itself: it gets the
//! // temporary sibling, and the target only changes once it has succeeded.
//! specnorm_atomic::write_with(&path, |tmp| {
//!     assert_eq!(tmp.parent(), path.parent());
//!     assert!(tmp.file_name().unwrap().to_string_lossy().starts_with(".results.json."));
//!     std::fs::write(tmp, "{\"accuracy\": 0.83}")
//! })?;
//! assert_eq!(std::fs::read_to_string(&path)?, "{\"accuracy\": 0.83}");
//!
//! // A failing writer leaves the old target in place and no temporary file.
//! let failed: Result<(), std::io::Error> = specnorm_atomic::write_with(&path, |tmp| {
//!     std::fs::write(tmp, "{\"accu")?;
//!     Err(std::io::Error::other("encoder gave up"))
//! });
//! assert!(failed.is_err());
//! assert_eq!(std::fs::read_to_string(&path)?, "{\"accuracy\": 0.83}");
//! assert_eq!(std::fs::read_dir(&dir)?.count(), 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Notes:
//! * The rename replaces a symbolic link at `path` rather than writing through
//!   it, and the new file gets default permissions (not the old target's).
//! * The parent directory must exist; it is not created.
//! * Durability against power loss would also need an `fsync` of the
//!   directory after the rename; that is not done (the guarantee is "never
//!   half-written", not "survives a crash right after returning").
//!
//! [`Pending`] is the same protocol for a writer that streams into several files at once.
//!
//! Also here: [`lock_dir`], an exclusive lock on an output folder (one writer at a time), and,
//! with the cargo feature `fault-injection` (tests only), [`FAIL_WRITES_ENV`]: writes whose
//! target path contains its value fail with `ENOSPC`, to test that callers report the path and
//! the OS error and leave nothing half-written.
#![deny(missing_docs)]

mod fault;
mod lock;
mod pending;

pub use fault::FAIL_WRITES_ENV;
pub use lock::{lock_dir, DirLock, LOCK_FILE};
pub use pending::Pending;

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest prefix (in bytes) of the target's file name kept in the temporary
/// name, so that `.{name}.{pid}.{counter}.tmp` stays under the usual 255-byte
/// file-name limit.
const MAX_NAME_BYTES: usize = 200;

/// Writes `bytes` to `path` atomically: a temporary sibling is created,
/// filled, synced and renamed over `path`.
///
/// On error the temporary file is removed and `path` is unchanged (an existing
/// target keeps its old content). Fails with [`io::ErrorKind::InvalidInput`]
/// when `path` has no file name (e.g. `/` or `..`).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |tmp| {
        let mut f = File::create(tmp)?;
        f.write_all(bytes)
    })
}

/// Atomically produces `path` with a writer that wants a path of its own.
///
/// `f` receives a fresh, unique temporary path next to `path` (same
/// directory, hidden name `.{name}.{pid}.{counter}.tmp`) and must create and
/// fill that file (as `plotters`, `ndarray-npy` or `safetensors` do when given
/// a path). When `f` returns `Ok`, the temporary file is synced to disk and
/// renamed over `path`. When `f` fails, or syncing or renaming fails, the
/// temporary file is removed, `path` is untouched and the error is returned
/// (I/O errors of this function converted with `E::from`). If `f` returns
/// `Ok` without creating the file, the result is a
/// [`io::ErrorKind::NotFound`] error.
pub fn write_with<F, E>(path: &Path, f: F) -> Result<(), E>
where
    F: FnOnce(&Path) -> Result<(), E>,
    E: From<io::Error>,
{
    let tmp = temp_sibling(path)?;
    let result = f(&tmp).and_then(|()| match fault::injected(path) {
        Some(e) => Err(E::from(e)),
        None => commit(&tmp, path).map_err(E::from),
    });
    if result.is_err() {
        // Best effort: the writer may not have created it at all.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Syncs `tmp` to disk and renames it over `path`.
fn commit(tmp: &Path, path: &Path) -> io::Result<()> {
    // Write access: some platforms refuse to flush a read-only handle.
    let file = OpenOptions::new().write(true).open(tmp)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)
}

/// A unique hidden temporary path in `path`'s directory.
fn temp_sibling(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )
    })?;
    let name = name.to_string_lossy();
    let mut cut = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut tmp_name = OsString::from(".");
    tmp_name.push(&name[..cut]);
    tmp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // `with_file_name` keeps the parent as written, including none at all
    // (`out.json` -> `.out.json.<pid>.<n>.tmp`, relative to the current directory).
    Ok(path.with_file_name(tmp_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_sibling_is_hidden_unique_and_in_the_same_directory() {
        let p = Path::new("some/dir/clip.wav");
        let a = temp_sibling(p).unwrap();
        let b = temp_sibling(p).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(Path::new("some/dir")));
        let name = a.file_name().unwrap().to_str().unwrap();
        let prefix = format!(".clip.wav.{}.", std::process::id());
        assert!(name.starts_with(&prefix), "{name}");
        assert!(name.ends_with(".tmp"), "{name}");
        let counter = &name[prefix.len()..name.len() - 4];
        assert!(counter.parse::<u64>().is_ok(), "{name}");
    }

    #[test]
    fn temp_sibling_of_a_bare_name_has_no_parent() {
        let t = temp_sibling(Path::new("out.json")).unwrap();
        assert_eq!(t.parent(), Some(Path::new("")));
        assert!(t.to_str().unwrap().starts_with(".out.json."));
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        let long = "é".repeat(150); // 300 bytes
        let t = temp_sibling(Path::new(&long)).unwrap();
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 1 + MAX_NAME_BYTES + 40, "{}", name.len());
        assert!(
            name.starts_with(&format!(".{}.", "é".repeat(100))),
            "{name}"
        );
    }

    #[test]
    fn paths_without_a_file_name_are_rejected() {
        for p in ["/", "..", "a/.."] {
            let e = temp_sibling(Path::new(p)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{p}");
            assert!(e.to_string().contains(p), "{e}");
        }
    }
}
