//! The folder-per-class layout: stratified seeded folds drawn once, written to the fold file,
//! reused on the next open, and every documented error, on empty files the tests create (no
//! audio is read).

use std::collections::BTreeMap;
use std::path::Path;

use specnorm_folds::{Dataset, DatasetOptions, FolderLayout, FoldsError, Layout};

fn touch(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"").unwrap();
}

/// `classes` as `(name, files)`: `<root>/<name>/<name>-<i>.wav` (every fourth `.FLAC`), plus
/// entries the layout ignores.
fn tree(root: &Path, classes: &[(&str, usize)]) {
    for (name, n) in classes {
        for i in 0..*n {
            let ext = if i % 4 == 3 { "FLAC" } else { "wav" };
            touch(&root.join(format!("{name}/{name}-{i:02}.{ext}")));
        }
        touch(&root.join(format!("{name}/notes.txt")));
        touch(&root.join(format!("{name}/.hidden.wav")));
        touch(&root.join(format!("{name}/nested/deeper.wav")));
    }
    touch(&root.join("README.wav")); // a file at the root is no class
    touch(&root.join(".cache/x.wav")); // a hidden folder is no class
    std::fs::create_dir_all(root.join("empty")).unwrap(); // no audio: no class
    touch(&root.join("docs/readme.md"));
}

fn layout(folds: u32, seed: u64) -> Layout {
    Layout::Folders(FolderLayout {
        folds,
        seed,
        fold_file: None,
    })
}

fn open(root: &Path, l: &Layout) -> Result<Dataset, FoldsError> {
    Dataset::open_layout(root, l, DatasetOptions::default())
}

fn fold_map(ds: &Dataset) -> BTreeMap<String, u32> {
    ds.items()
        .iter()
        .map(|i| (i.filename.clone(), i.fold))
        .collect()
}

const CLASSES: [(&str, usize); 3] = [("dog", 12), ("rain", 7), ("siren", 5)];

#[test]
fn folds_are_stratified_balanced_and_written_down() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, &CLASSES);
    let ds = open(root, &layout(5, 3)).unwrap();
    let fold_file = root.join("specnorm-folds-k5-seed3.csv");
    assert_eq!(ds.csv_path(), fold_file);
    assert_eq!(ds.audio_dir(), root);
    assert_eq!(ds.root(), root);
    ds.check_files().unwrap();
    assert_eq!(ds.items().len(), 24);
    assert_eq!(ds.folds(), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        ds.classes(),
        vec![(0, "dog".into()), (1, "rain".into()), (2, "siren".into())]
    );
    let it = &ds.items()[3];
    assert_eq!(it.filename, "dog/dog-03.FLAC");
    assert_eq!(it.path, root.join("dog/dog-03.FLAC"));
    assert_eq!((it.target, it.category.as_str()), (0, "dog"));
    // Each class in each fold: its count / 5, rounded down or up; fold sizes within one.
    for (class, n) in CLASSES {
        for k in 1..=5 {
            let c = ds
                .items()
                .iter()
                .filter(|i| i.category == class && i.fold == k)
                .count();
            assert!(c == n / 5 || c == n.div_ceil(5), "{class} fold {k}: {c}");
        }
    }
    let sizes: Vec<usize> = (1..=5).map(|k| ds.split(k).unwrap().valid.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 24);
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    // The fold file: sorted by file, the rows the dataset reports.
    let text = std::fs::read_to_string(&fold_file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "filename,class,fold,folds,seed");
    assert_eq!(lines.len(), 25);
    for (line, it) in lines[1..].iter().zip(ds.items()) {
        assert_eq!(
            *line,
            format!("{},{},{},5,3", it.filename, it.category, it.fold)
        );
    }
    // Nothing the layout ignores is listed.
    assert!(ds.items().iter().all(|i| !i.filename.contains("nested")
        && !i.filename.contains("hidden")
        && !i.filename.ends_with(".txt")
        && !i.filename.starts_with("README")
        && !i.filename.starts_with(".cache")));
    // No temporary file is left beside it.
    let stray: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn the_draw_depends_only_on_the_files_and_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    tree(&a, &CLASSES);
    tree(&b, &CLASSES);
    let fa = fold_map(&open(&a, &layout(4, 11)).unwrap());
    let fb = fold_map(&open(&b, &layout(4, 11)).unwrap());
    assert_eq!(fa, fb, "same files, same seed: same folds");
    assert_eq!(
        std::fs::read(a.join("specnorm-folds-k4-seed11.csv")).unwrap(),
        std::fs::read(b.join("specnorm-folds-k4-seed11.csv")).unwrap()
    );
    let other = fold_map(&open(&a, &layout(4, 12)).unwrap());
    assert_eq!(
        other.keys().collect::<Vec<_>>(),
        fa.keys().collect::<Vec<_>>()
    );
    let moved = fa.iter().filter(|(f, k)| other[*f] != **k).count();
    assert!(moved > 0, "another seed draws other folds");
    // Both draws stay on disk, each under its own name.
    assert!(a.join("specnorm-folds-k4-seed11.csv").is_file());
    assert!(a.join("specnorm-folds-k4-seed12.csv").is_file());
}

#[test]
fn the_fold_file_is_reused_not_redrawn() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, &CLASSES);
    let l = layout(3, 0);
    let first = fold_map(&open(root, &l).unwrap());
    let fold_file = root.join("specnorm-folds-k3-seed0.csv");
    let bytes = std::fs::read(&fold_file).unwrap();
    // Opening again leaves the file as it is and gives the same folds.
    assert_eq!(fold_map(&open(root, &l).unwrap()), first);
    assert_eq!(std::fs::read(&fold_file).unwrap(), bytes);
    // A hand edit (dog-00 to another fold) is what the next open reads.
    let text = String::from_utf8(bytes).unwrap();
    let old = first["dog/dog-00.wav"];
    let new = old % 3 + 1;
    let edited = text.replace(
        &format!("dog/dog-00.wav,dog,{old},3,0"),
        &format!("dog/dog-00.wav,dog,{new},3,0"),
    );
    assert_ne!(edited, text);
    std::fs::write(&fold_file, &edited).unwrap();
    let again = fold_map(&open(root, &l).unwrap());
    assert_eq!(again["dog/dog-00.wav"], new);
    assert_eq!(again.iter().filter(|(f, k)| first[*f] != **k).count(), 1);
}

#[test]
fn added_or_removed_files_are_named_until_the_fold_file_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, &CLASSES);
    let l = layout(5, 0);
    let first = fold_map(&open(root, &l).unwrap());
    let fold_file = root.join("specnorm-folds-k5-seed0.csv");
    touch(&root.join("rain/rain-new.wav"));
    touch(&root.join("wind/wind-00.ogg")); // a new class
    std::fs::remove_file(root.join("siren/siren-01.wav")).unwrap();
    let e = open(root, &l).unwrap_err();
    let FoldsError::StaleFoldFile { added, removed, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(added, &["rain/rain-new.wav", "wind/wind-00.ogg"]);
    assert_eq!(removed, &["siren/siren-01.wav"]);
    let msg = e.to_string();
    assert!(msg.starts_with(&fold_file.display().to_string()), "{msg}");
    assert!(msg.contains("2 file(s) added, 1 removed"), "{msg}");
    assert!(msg.contains("added wind/wind-00.ogg"), "{msg}");
    assert!(msg.contains("removed siren/siren-01.wav"), "{msg}");
    assert!(
        msg.contains("Delete the fold file to draw new folds"),
        "{msg}"
    );
    // Deleting the fold file draws new folds over the current files.
    std::fs::remove_file(&fold_file).unwrap();
    let ds = open(root, &l).unwrap();
    assert_eq!(ds.items().len(), first.len() + 1);
    assert_eq!(ds.classes().len(), 4);
}

#[test]
fn a_fold_file_elsewhere_and_its_checks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &CLASSES);
    let place = dir.path().join("runs/folds/mine.csv");
    let mut fl = FolderLayout {
        folds: 4,
        seed: 9,
        fold_file: Some(place.clone()),
    };
    let ds = open(&root, &Layout::Folders(fl.clone())).unwrap();
    assert_eq!(ds.csv_path(), place);
    assert!(place.is_file(), "its folder is created");
    assert!(!root.join("specnorm-folds-k4-seed9.csv").exists());
    // Reusing it with another seed or fold count is refused, naming the row.
    fl.seed = 10;
    let msg = open(&root, &Layout::Folders(fl.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(
            "mine.csv, row 2: drawn with 4 folds and seed 9, not the 4 folds and seed 10 asked for"
        ),
        "{msg}"
    );
    fl.seed = 9;
    // Hand-edited rows are checked.
    let text = std::fs::read_to_string(&place).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines[3].starts_with("dog/dog-02.wav,dog,"), "{}", lines[3]);
    for (bad, want) in [
        (
            "dog/dog-02.wav,rain,1,4,9",
            "row 4: \"dog/dog-02.wav\" is not a file of the class folder \"rain\"",
        ),
        (
            "dog/dog-02.wav,dog,7,4,9",
            "row 4: fold 7 is not one of 1..=4",
        ),
        ("dog/dog-02.wav,dog,x,4,9", "row 4: fold \"x\""),
    ] {
        lines[3] = bad.to_string();
        std::fs::write(&place, lines.join("\n") + "\n").unwrap();
        let msg = open(&root, &Layout::Folders(fl.clone()))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("mine.csv"), "{msg}");
        assert!(msg.contains(want), "want {want:?} in {msg:?}");
    }
    // A place that cannot be written names itself.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"").unwrap();
    fl.fold_file = Some(blocker.join("folds.csv"));
    let e = open(&root, &Layout::Folders(fl)).unwrap_err();
    assert!(matches!(e, FoldsError::WriteFoldFile { .. }), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "cannot write the fold file {}",
            blocker.join("folds.csv").display()
        )),
        "{e}"
    );
}

#[test]
fn bad_fold_counts_and_empty_trees_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, &[("dog", 2), ("rain", 1)]);
    let msg = open(root, &layout(1, 0)).unwrap_err().to_string();
    assert!(
        msg.contains("1 fold(s) asked for; at least 2 are needed"),
        "{msg}"
    );
    let msg = open(root, &layout(4, 0)).unwrap_err().to_string();
    assert!(
        msg.contains(
            "3 audio file(s) (.wav, .flac, .ogg, .mp3) in class folders, fewer than the 4 folds"
        ),
        "{msg}"
    );
    assert!(msg.starts_with(&root.display().to_string()), "{msg}");
    let e = open(&root.join("missing"), &layout(2, 0)).unwrap_err();
    assert!(matches!(e, FoldsError::Scan { .. }), "{e}");
    assert!(e.to_string().contains("cannot list"), "{e}");
    assert!(!root.join("specnorm-folds-k4-seed0.csv").exists());
    // Three files over three folds: one each.
    let ds = open(root, &layout(3, 0)).unwrap();
    assert_eq!(ds.folds(), vec![1, 2, 3]);
}

#[test]
fn numeric_class_folders_rank_numerically() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), &[("10", 2), ("2", 2), ("9", 2)]);
    // A name the CSV must quote, with a leading space: written and read back as it is.
    touch(&dir.path().join("9/ odd, \"quoted\".wav"));
    let ds = open(dir.path(), &layout(2, 0)).unwrap();
    assert_eq!(
        ds.classes(),
        vec![(0, "2".into()), (1, "9".into()), (2, "10".into())]
    );
    let again = open(dir.path(), &layout(2, 0)).unwrap();
    assert_eq!(again.items(), ds.items());
    assert!(ds
        .items()
        .iter()
        .any(|i| i.filename == "9/ odd, \"quoted\".wav"));
    ds.check_files().unwrap();
}

#[test]
fn class_folders_that_point_outside_the_root_are_refused_with_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    tree(&root, &[("dog", 3), ("rain", 3)]);
    let outside = dir.path().join("elsewhere");
    touch(&outside.join("a.wav"));
    std::os::unix::fs::symlink(&outside, root.join("zebra")).unwrap();
    let l = layout(2, 0);
    let e = open(&root, &l).unwrap_err();
    let FoldsError::OutsideRoot { csv, rows, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(csv, &root.join("specnorm-folds-k2-seed0.csv"));
    assert_eq!(
        rows.iter()
            .map(|r| (r.row, r.filename.as_str()))
            .collect::<Vec<_>>(),
        vec![(8, "zebra/a.wav")]
    );
    assert_eq!(
        rows[0].resolved,
        std::fs::canonicalize(outside.join("a.wav")).unwrap()
    );
    assert!(e.to_string().contains("--allow-outside-root"), "{e}");
    let opts = DatasetOptions {
        allow_outside_root: true,
    };
    let ds = Dataset::open_layout(&root, &l, opts).unwrap();
    assert_eq!(ds.items()[6].path, root.join("zebra/a.wav"));
}
