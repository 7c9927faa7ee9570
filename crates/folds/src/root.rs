//! Containment: every metadata entry must resolve inside the audio folder.

use std::path::{Component, Path, PathBuf};

use crate::{FoldsError, Item, OutsideRow};

/// `path` made absolute with `..` and symbolic links resolved: the longest
/// prefix that exists is canonicalized (so a symlink anywhere in it is
/// followed), and the components after it, which do not exist, are applied
/// lexically (`..` drops the previous one).
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(path),
            Err(_) => path.to_path_buf(),
        }
    };
    let comps: Vec<Component<'_>> = abs.components().collect();
    for k in (0..=comps.len()).rev() {
        let prefix: PathBuf = comps[..k].iter().collect();
        let base = if k == 0 {
            PathBuf::new()
        } else {
            match std::fs::canonicalize(&prefix) {
                Ok(b) => b,
                Err(_) => continue,
            }
        };
        let mut out = base;
        for c in &comps[k..] {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other.as_os_str()),
            }
        }
        return out;
    }
    abs
}

/// The rows whose file resolves outside `audio_dir` (empty when all are inside).
pub(crate) fn outside_rows(audio_dir: &Path, items: &[Item], rows: &[u64]) -> Vec<OutsideRow> {
    let root = resolve(audio_dir);
    items
        .iter()
        .zip(rows)
        .filter_map(|(item, &row)| {
            let resolved = resolve(&item.path);
            (!resolved.starts_with(&root)).then(|| OutsideRow {
                row,
                filename: item.filename.clone(),
                resolved,
            })
        })
        .collect()
}

/// [`outside_rows`] as an error.
pub(crate) fn check_inside(
    csv: &Path,
    audio_dir: &Path,
    items: &[Item],
    rows: &[u64],
) -> Result<(), FoldsError> {
    let outside = outside_rows(audio_dir, items, rows);
    if outside.is_empty() {
        Ok(())
    } else {
        Err(FoldsError::OutsideRoot {
            csv: csv.to_path_buf(),
            audio_dir: audio_dir.to_path_buf(),
            rows: outside,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tails_are_normalized_lexically() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(resolve(&dir.path().join("a/b/../c")), base.join("a/c"));
        assert_eq!(
            resolve(&dir.path().join("a/../../x")),
            base.parent().unwrap().join("x")
        );
        assert_eq!(resolve(Path::new("/../../etc")), PathBuf::from("/etc"));
    }
}
