//! Dataset parsing, splitting and every documented error, on small CSVs in a tempdir.

use specnorm_folds::{Columns, Dataset, FoldsError};
use std::path::{Path, PathBuf};

const HEADER: &str = "filename,fold,target,category,esc10,src_file,take\n";

fn write(dir: &Path, body: &[u8]) -> PathBuf {
    let p = dir.join("meta.csv");
    std::fs::write(&p, body).unwrap();
    p
}

fn open(body: &str) -> (tempfile::TempDir, Result<Dataset, FoldsError>) {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), body.as_bytes());
    let r = Dataset::from_csv(&csv, &dir.path().join("audio"), &Columns::default());
    (dir, r)
}

fn esc_like() -> String {
    // 5 folds x 4 clips, 2 classes
    let mut s = HEADER.to_string();
    for fold in 1..=5 {
        for k in 0..4 {
            let (t, c) = if k % 2 == 0 {
                (0, "dog")
            } else {
                (41, "chainsaw")
            };
            s += &format!("{fold}-{k}-A-{t}.wav,{fold},{t},{c},False,{k},A\n");
        }
    }
    s
}

#[test]
fn splits_partition_the_data() {
    let (_d, ds) = open(&esc_like());
    let ds = ds.unwrap();
    assert_eq!(ds.items().len(), 20);
    assert_eq!(ds.folds(), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        ds.classes(),
        vec![(0, "dog".into()), (41, "chainsaw".into())]
    );
    let splits: Vec<_> = ds.cross_validation().collect::<Result<_, _>>().unwrap();
    assert_eq!(splits.len(), 5);
    let mut all_valid = Vec::new();
    for (k, s) in splits.iter().enumerate() {
        let v = k as u32 + 1;
        assert_eq!(s.valid_fold, v);
        assert_eq!(s.valid.len(), 4);
        assert_eq!(s.train.len(), 16);
        assert!(s.valid.iter().all(|i| i.fold == v));
        assert!(s.train.iter().all(|i| i.fold != v));
        assert_eq!(
            s.train_folds,
            (1..=5).filter(|&f| f != v).collect::<Vec<_>>()
        );
        all_valid.extend(s.valid.iter().map(|i| i.filename.clone()));
    }
    all_valid.sort();
    let mut names: Vec<_> = ds.items().iter().map(|i| i.filename.clone()).collect();
    names.sort();
    assert_eq!(all_valid, names, "every item is validated exactly once");
    let i = &ds.items()[1];
    assert_eq!((i.fold, i.target, i.category.as_str()), (1, 41, "chainsaw"));
    assert!(i.path.ends_with("audio/1-1-A-41.wav"));
}

#[test]
fn custom_columns_and_open() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        b"slice_file_name,classID,class,fold\na.wav,3,siren, 10 \n",
    );
    let cols = Columns {
        filename: "slice_file_name".into(),
        fold: "fold".into(),
        target: "classID".into(),
        category: "class".into(),
    };
    let ds = Dataset::from_csv(&csv, dir.path(), &cols).unwrap();
    assert_eq!(ds.items()[0].fold, 10);
    assert_eq!(
        ds.root(),
        dir.path().parent().unwrap(),
        "the folder above the CSV's"
    );
    assert_eq!(ds.classes(), vec![(3, "siren".into())]);

    let e = Dataset::open(dir.path()).unwrap_err();
    assert!(matches!(e, FoldsError::Io { .. }));
    assert!(e.to_string().contains("esc50.csv"), "{e}");
}

#[test]
fn missing_files_are_all_listed() {
    let (d, ds) = open(&esc_like());
    let ds = ds.unwrap();
    let audio = d.path().join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    for i in ds.items().iter().skip(3) {
        std::fs::write(&i.path, b"").unwrap();
    }
    let e = ds.check_files().unwrap_err();
    match &e {
        FoldsError::MissingFiles { missing, total, .. } => {
            assert_eq!(missing.len(), 3);
            assert_eq!(*total, 20);
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    for f in ["1-0-A-0.wav", "1-1-A-41.wav", "1-2-A-0.wav"] {
        assert!(msg.contains(f), "{msg}");
    }
    assert!(msg.contains("meta.csv"));
    for i in ds.items().iter().take(3) {
        std::fs::write(&i.path, b"").unwrap();
    }
    ds.check_files().unwrap();
}

#[test]
fn each_error_names_file_and_row() {
    let cases: Vec<(String, &str)> = vec![
        (
            "filename,target,category\na.wav,1,x\n".into(),
            "missing column \"fold\"; the header is [\"filename\", \"target\", \"category\"]",
        ),
        (
            format!("{HEADER}a.wav,1,0,dog,,,\nb.wav,x2,0,dog,,,\n"),
            "row 3: fold \"x2\"",
        ),
        (
            format!("{HEADER}a.wav,-1,0,dog,,,\n"),
            "row 2: fold \"-1\" is not a non-negative integer",
        ),
        (
            format!("{HEADER}a.wav,1,0.5,dog,,,\n"),
            "row 2: target \"0.5\"",
        ),
        (
            format!("{HEADER}a.wav,1,0,dog,,,\nb.wav,1,0,dog,,,\na.wav,2,0,dog,,,\n"),
            "duplicate filename \"a.wav\" in rows 2 and 4",
        ),
        (
            format!("{HEADER}a.wav,1,0,dog,,,\nb.wav,1,0,cat,,,\n"),
            "target 0 is \"dog\" in row 2 but \"cat\" in row 3",
        ),
        (HEADER.to_string(), "empty (no data rows)"),
        (String::new(), "empty"),
        (
            format!("{HEADER}a.wav,1,0,dog,,,\nb.wav,1,0\n"),
            "malformed CSV",
        ),
        (format!("{HEADER},1,0,dog,,,\n"), "row 2: empty filename"),
    ];
    for (body, want) in cases {
        let (_d, r) = open(&body);
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("meta.csv"), "{msg}");
        assert!(msg.contains(want), "want {want:?} in {msg:?}");
    }
}

#[test]
fn non_utf8_reports_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"a.wav,1,0,dog,,,\nb.wav,1,0,d\xffg,,,\n");
    let csv = write(dir.path(), &body);
    let e = Dataset::from_csv(&csv, dir.path(), &Columns::default()).unwrap_err();
    assert!(
        matches!(
            e,
            FoldsError::NonUtf8 {
                row: 3,
                field: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("meta.csv, row 3"));
}

#[test]
fn empty_fold_is_an_error() {
    let (_d, ds) = open(&esc_like());
    let e = ds.unwrap().split(6).unwrap_err();
    assert!(matches!(e, FoldsError::EmptyFold { fold: 6, .. }));
    assert!(
        e.to_string()
            .contains("available folds are [1, 2, 3, 4, 5]"),
        "{e}"
    );
}

// ---- containment: entries must stay inside the audio folder -----------------

/// A dataset root with `audio/in.wav`, a secret file beside the root, and `audio/link.wav`, a
/// symbolic link pointing at the secret.
fn rooted(rows: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ds");
    std::fs::create_dir_all(root.join("audio/sub")).unwrap();
    std::fs::create_dir_all(root.join("meta")).unwrap();
    std::fs::write(root.join("audio/in.wav"), b"RIFF").unwrap();
    std::fs::write(root.join("audio/sub/deep.wav"), b"RIFF").unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"not yours").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("audio/link.wav")).unwrap();
    let mut csv = HEADER.to_string();
    for (i, r) in rows.iter().enumerate() {
        csv += &format!("{r},{},0,dog,False,{i},A\n", i % 2 + 1);
    }
    std::fs::write(root.join("meta/esc50.csv"), csv).unwrap();
    (dir, root, secret)
}

#[test]
fn entries_outside_the_audio_folder_are_refused_with_their_rows() {
    let (_d, root, secret) = rooted(&[
        "in.wav",
        "../../../../../../../../etc/passwd",
        "sub/../in.wav",
        "/etc/hostname",
        "link.wav",
        "sub/deep.wav",
        "../meta/esc50.csv",
    ]);
    let e = Dataset::open(&root).unwrap_err();
    let FoldsError::OutsideRoot { rows, .. } = &e else {
        panic!("{e}")
    };
    let listed: Vec<(u64, &str)> = rows.iter().map(|r| (r.row, r.filename.as_str())).collect();
    assert_eq!(
        listed,
        vec![
            (3, "../../../../../../../../etc/passwd"),
            (5, "/etc/hostname"),
            (6, "link.wav"),
            (8, "../meta/esc50.csv"),
        ]
    );
    assert_eq!(rows[0].resolved, PathBuf::from("/etc/passwd"));
    assert_eq!(rows[1].resolved, PathBuf::from("/etc/hostname"));
    assert_eq!(rows[2].resolved, std::fs::canonicalize(&secret).unwrap());
    let msg = e.to_string();
    assert!(msg.contains("esc50.csv"), "{msg}");
    assert!(
        msg.contains("4 row(s) name files outside the audio folder"),
        "{msg}"
    );
    assert!(
        msg.contains("row 5: \"/etc/hostname\" -> /etc/hostname"),
        "{msg}"
    );
    assert!(msg.contains("--allow-outside-root"), "{msg}");
}

#[test]
fn allow_outside_root_accepts_them_and_inside_entries_pass() {
    use specnorm_folds::DatasetOptions;
    let (_d, root, _secret) = rooted(&["in.wav", "link.wav", "/etc/hostname"]);
    let opts = DatasetOptions {
        allow_outside_root: true,
    };
    let ds = Dataset::open_with(&root, opts).unwrap();
    assert_eq!(ds.items().len(), 3);
    assert_eq!(ds.items()[2].path, PathBuf::from("/etc/hostname"));
    // Only inside entries (a `..` that comes back in, a subfolder): accepted by default.
    let (_d, root, _secret) = rooted(&["in.wav", "sub/../in2.wav", "sub/deep.wav"]);
    assert_eq!(Dataset::open(&root).unwrap().items().len(), 3);
    // The audio folder itself may be a symbolic link (a dataset mounted elsewhere).
    let (d, root, _secret) = rooted(&["in.wav", "sub/deep.wav"]);
    let view = d.path().join("view");
    std::fs::create_dir_all(view.join("meta")).unwrap();
    std::fs::copy(root.join("meta/esc50.csv"), view.join("meta/esc50.csv")).unwrap();
    std::os::unix::fs::symlink(root.join("audio"), view.join("audio")).unwrap();
    let ds = Dataset::open(&view).unwrap();
    ds.check_files().unwrap();
}
