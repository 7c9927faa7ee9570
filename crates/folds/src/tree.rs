//! The folder-per-class layout: scanning `<root>/<class>/<clip>`, drawing stratified seeded
//! folds, and the fold file that writes them down (see [`FolderLayout`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::table::{label_ranks, parse_u32, Table};
use crate::{root, Dataset, DatasetOptions, FolderLayout, FoldsError, Item, Layout};

/// File extensions (any case) the folder layout takes for audio.
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "ogg", "mp3"];

/// The fold file's columns, in order.
const HEADER: [&str; 5] = ["filename", "class", "fold", "folds", "seed"];

/// One audio file of the tree: `class/clip` and its class.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    filename: String,
    class: String,
}

fn hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, FoldsError> {
    let scan = |source| FoldsError::Scan {
        dir: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(scan)? {
        let e = e.map_err(scan)?;
        if !hidden(&e.file_name()) {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

fn utf8_name(path: &Path) -> Result<String, FoldsError> {
    path.file_name()
        .and_then(OsStr::to_str)
        .map(str::to_string)
        .ok_or_else(|| FoldsError::NonUtf8Path {
            path: path.to_path_buf(),
        })
}

/// Every audio file in a class folder of `root`, sorted by `class/clip`. Symbolic links are
/// followed (the outside-root policy then judges where they point).
fn scan(root: &Path) -> Result<Vec<Found>, FoldsError> {
    let mut found = Vec::new();
    for dir in list(root)?.into_iter().filter(|p| p.is_dir()) {
        let clips: Vec<PathBuf> = list(&dir)?
            .into_iter()
            .filter(|p| is_audio(p) && p.is_file())
            .collect();
        if clips.is_empty() {
            continue;
        }
        let class = utf8_name(&dir)?;
        for clip in clips {
            found.push(Found {
                filename: format!("{class}/{}", utf8_name(&clip)?),
                class: class.clone(),
            });
        }
    }
    found.sort();
    Ok(found)
}

/// The fold of each file (same order as `found`), as documented on [`FolderLayout`].
fn draw(found: &[Found], folds: u32, seed: u64) -> Vec<u32> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in found.iter().enumerate() {
        by_class.entry(&f.class).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0; found.len()];
    let mut next = 0u64;
    for members in by_class.values_mut() {
        members.shuffle(&mut rng);
        for &i in members.iter() {
            fold_of[i] = (next % u64::from(folds)) as u32 + 1;
            next += 1;
        }
    }
    fold_of
}

fn write_fold_file(path: &Path, found: &[Found], layout: &FolderLayout) -> Result<(), FoldsError> {
    let werr = |source: std::io::Error| FoldsError::WriteFoldFile {
        csv: path.to_path_buf(),
        source,
    };
    let folds = draw(found, layout.folds, layout.seed);
    let mut w = csv::Writer::from_writer(Vec::new());
    let rows = std::iter::once(HEADER.map(str::to_string)).chain(found.iter().zip(&folds).map(
        |(f, fold)| {
            [
                f.filename.clone(),
                f.class.clone(),
                fold.to_string(),
                layout.folds.to_string(),
                layout.seed.to_string(),
            ]
        },
    ));
    for r in rows {
        w.write_record(&r)
            .map_err(|e| werr(std::io::Error::other(e)))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| werr(std::io::Error::other(e.to_string())))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(werr)?;
    }
    specnorm_atomic::write(path, &bytes).map_err(werr)
}

/// Reads a fold file written by [`write_fold_file`] (or edited by hand), checking each row
/// against `layout`: the items in file order and their line numbers.
fn read_fold_file(
    csv: &Path,
    root: &Path,
    layout: &FolderLayout,
) -> Result<(Vec<Item>, Vec<u64>), FoldsError> {
    let mut table = Table::open(csv)?;
    let [ci_file, ci_class, ci_fold, ci_folds, ci_seed] = [
        table.col(HEADER[0])?,
        table.col(HEADER[1])?,
        table.col(HEADER[2])?,
        table.col(HEADER[3])?,
        table.col(HEADER[4])?,
    ];
    let csv_path = csv.to_path_buf();
    let mismatch = |row: u64, detail: String| FoldsError::FoldFileMismatch {
        csv: csv_path.clone(),
        row,
        detail,
    };
    let mut items = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    table.for_each(|row, fields| {
        let raw = |i: usize| fields.get(i).copied().unwrap_or("");
        let get = |i: usize| raw(i).trim();
        // names as written (a clip may begin or end with a space); numbers trimmed
        let filename = raw(ci_file).to_string();
        if filename.is_empty() {
            return Err(FoldsError::EmptyFilename {
                csv: csv_path.clone(),
                row,
            });
        }
        let class = raw(ci_class).to_string();
        if filename.split_once('/').map(|(c, _)| c) != Some(class.as_str()) {
            return Err(mismatch(
                row,
                format!("{filename:?} is not a file of the class folder {class:?}"),
            ));
        }
        let fold = parse_u32(get(ci_fold)).ok_or_else(|| FoldsError::BadFold {
            csv: csv_path.clone(),
            row,
            value: get(ci_fold).to_string(),
        })?;
        if !(1..=layout.folds).contains(&fold) {
            return Err(mismatch(
                row,
                format!("fold {fold} is not one of 1..={}", layout.folds),
            ));
        }
        if get(ci_folds) != layout.folds.to_string() || get(ci_seed) != layout.seed.to_string() {
            return Err(mismatch(
                row,
                format!(
                    "drawn with {} folds and seed {}, not the {} folds and seed {} asked for \
                     (ask for those, or choose another fold file)",
                    get(ci_folds),
                    get(ci_seed),
                    layout.folds,
                    layout.seed
                ),
            ));
        }
        if let Some(&first) = seen.get(&filename) {
            return Err(FoldsError::DuplicateFilename {
                csv: csv_path.clone(),
                filename,
                first,
                second: row,
            });
        }
        seen.insert(filename.clone(), row);
        rows.push(row);
        items.push(Item {
            path: root.join(&filename),
            filename,
            fold,
            target: 0,
            category: class,
        });
        Ok(())
    })?;
    if items.is_empty() {
        return Err(FoldsError::Empty {
            csv: csv_path,
            what: "no data rows",
        });
    }
    let ranks = label_ranks(items.iter().map(|i| i.category.as_str()));
    for it in &mut items {
        it.target = ranks.get(&it.category).copied().unwrap_or(0);
    }
    Ok((items, rows))
}

/// Opens a folder-per-class dataset: draws and writes the fold file if there is none, then reads
/// it and checks it against the class folders.
pub(crate) fn open(
    root: &Path,
    layout: &FolderLayout,
    opts: DatasetOptions,
) -> Result<Dataset, FoldsError> {
    if layout.folds < 2 {
        return Err(FoldsError::BadFoldCount {
            root: root.to_path_buf(),
            folds: layout.folds,
        });
    }
    let found = scan(root)?;
    let fold_file = layout.fold_file_in(root);
    // A fold file that cannot even be looked at (a parent that is a file, no permission) is
    // treated as absent: writing it then fails with an error naming it.
    let exists = fold_file.try_exists().unwrap_or(false);
    if !exists {
        if found.len() < layout.folds as usize {
            return Err(FoldsError::TooFewFiles {
                root: root.to_path_buf(),
                files: found.len(),
                folds: layout.folds,
            });
        }
        write_fold_file(&fold_file, &found, layout)?;
    }
    let (items, rows) = read_fold_file(&fold_file, root, layout)?;
    let listed: BTreeSet<&str> = items.iter().map(|i| i.filename.as_str()).collect();
    let present: BTreeSet<&str> = found.iter().map(|f| f.filename.as_str()).collect();
    let added: Vec<String> = present.difference(&listed).map(|s| s.to_string()).collect();
    let removed: Vec<String> = listed.difference(&present).map(|s| s.to_string()).collect();
    if !added.is_empty() || !removed.is_empty() {
        return Err(FoldsError::StaleFoldFile {
            csv: fold_file,
            added,
            removed,
        });
    }
    if !opts.allow_outside_root {
        root::check_inside(&fold_file, root, &items, &rows)?;
    }
    Ok(Dataset {
        root: root.to_path_buf(),
        csv: fold_file,
        audio_dir: root.to_path_buf(),
        layout: Layout::Folders(layout.clone()),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, n: usize) -> Vec<Found> {
        (0..n)
            .map(|i| Found {
                filename: format!("{name}/{i:03}.wav"),
                class: name.to_string(),
            })
            .collect()
    }

    #[test]
    fn the_draw_is_stratified_and_balanced() {
        // 3 classes of 10, 7 and 4 files over 4 folds.
        let f: Vec<Found> = [class("a", 10), class("b", 7), class("c", 4)].concat();
        let folds = draw(&f, 4, 7);
        let mut per: BTreeMap<(&str, u32), usize> = BTreeMap::new();
        for (x, &k) in f.iter().zip(&folds) {
            *per.entry((x.class.as_str(), k)).or_default() += 1;
        }
        for (class, n) in [("a", 10usize), ("b", 7), ("c", 4)] {
            for k in 1..=4 {
                let c = per.get(&(class, k)).copied().unwrap_or(0);
                assert!(
                    c == n / 4 || c == n.div_ceil(4),
                    "{class} fold {k}: {c} of {n}"
                );
            }
        }
        let sizes: Vec<usize> = (1..=4)
            .map(|k| folds.iter().filter(|&&x| x == k).count())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 21);
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
    }
}
