//! The bad-metadata zoo: every malformed ESC-50-style CSV gives an error that
//! names the CSV (and the row, column or files concerned).

mod common;

use common::*;
use specnorm_folds::{Columns, Dataset};
use std::path::{Path, PathBuf};

const HEADER: &str = "filename,fold,target,category,esc10,src_file,take\n";

/// `<dir>/meta/esc50.csv` with `body`, and an empty `<dir>/audio`.
fn root_with(body: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("meta")).unwrap();
    std::fs::create_dir_all(dir.path().join("audio")).unwrap();
    let csv = put(&dir.path().join("meta"), "esc50.csv", body);
    (dir, csv)
}

fn open(
    body: &str,
) -> (
    tempfile::TempDir,
    Result<Dataset, specnorm_folds::FoldsError>,
) {
    let (dir, _) = root_with(body.as_bytes());
    let r = Dataset::open(dir.path());
    (dir, r)
}

fn touch(audio: &Path, names: &[&str]) {
    for n in names {
        std::fs::write(audio.join(n), b"x").unwrap();
    }
}

#[test]
fn good_csv_opens_and_splits() {
    let (dir, ds) = open(&format!(
        "{HEADER}1-a.wav,1,0,dog,True,a,A\n2-a.wav,2,1,cat,False,b,A\n3-a.wav,3,0,dog,True,c,A\n"
    ));
    let ds = ds.unwrap();
    touch(
        &dir.path().join("audio"),
        &["1-a.wav", "2-a.wav", "3-a.wav"],
    );
    ds.check_files().unwrap();
    let s = ds.split(2).unwrap();
    assert_eq!(s.train_folds, vec![1, 3]);
    assert_eq!(s.valid.len(), 1);
    assert_eq!(s.train.len(), 2);
}

#[test]
fn missing_column() {
    let (_d, r) = open("filename,target,category\n1-a.wav,0,dog\n");
    let e = err(r);
    assert_msg(&e, "esc50.csv", "missing column \"fold\"");
    // custom column names are honoured
    let (dir, csv) = root_with(b"file,f,t,c\na.wav,1,0,dog\n");
    let cols = Columns {
        filename: "file".into(),
        fold: "f".into(),
        target: "t".into(),
        category: "c".into(),
    };
    let ds = Dataset::from_csv(&csv, &dir.path().join("audio"), &cols).unwrap();
    assert_eq!(ds.items()[0].fold, 1);
}

#[test]
fn non_integer_and_negative_fold() {
    for bad in ["one", "-1", "1.5", "", "99999999999"] {
        let (_d, r) = open(&format!(
            "{HEADER}1-a.wav,1,0,dog,True,a,A\n1-b.wav,{bad},0,dog,True,a,A\n"
        ));
        let e = err(r);
        assert_msg(&e, "esc50.csv", "row 3");
        assert_msg(
            &e,
            "esc50.csv",
            &format!("fold \"{bad}\" is not a non-negative integer"),
        );
    }
    let (_d, r) = open(&format!("{HEADER}1-a.wav,1,-3,dog,True,a,A\n"));
    assert_msg(&err(r), "esc50.csv", "target \"-3\"");
}

#[test]
fn duplicate_filenames() {
    let (_d, r) = open(&format!(
        "{HEADER}1-a.wav,1,0,dog,True,a,A\n2-b.wav,2,0,dog,True,a,A\n1-a.wav,3,0,dog,True,a,A\n"
    ));
    let e = err(r);
    assert_msg(
        &e,
        "esc50.csv",
        "duplicate filename \"1-a.wav\" in rows 2 and 4",
    );
}

#[test]
fn missing_files_are_listed_all_at_once() {
    let (dir, ds) = open(&format!(
        "{HEADER}1-a.wav,1,0,dog,True,a,A\n1-b.wav,1,0,dog,True,a,A\n\
         2-a.wav,2,0,dog,True,a,A\n2-b.wav,2,0,dog,True,a,A\n"
    ));
    let ds = ds.unwrap();
    touch(&dir.path().join("audio"), &["2-a.wav"]);
    // a directory with a listed name is not an audio file either
    std::fs::create_dir(dir.path().join("audio").join("2-b.wav")).unwrap();
    let e = err(ds.check_files());
    let msg = e.to_string();
    assert_msg(&e, "esc50.csv", "3 of 4 audio files are missing");
    for name in ["1-a.wav", "1-b.wav", "2-b.wav"] {
        assert!(msg.contains(name), "{name} not listed: {msg}");
    }
    assert!(!msg.contains("2-a.wav"), "{msg}");
}

#[test]
fn empty_csv_and_header_only() {
    let (_d, r) = open("");
    assert_msg(&err(r), "esc50.csv", "empty");
    let (_d, r) = open(HEADER);
    assert_msg(&err(r), "esc50.csv", "no data rows");
    // no CSV at all
    let dir = tempfile::tempdir().unwrap();
    assert_msg(&err(Dataset::open(dir.path())), "esc50.csv", "cannot read");
}

#[test]
fn fold_with_no_items() {
    let (_d, ds) = open(&format!(
        "{HEADER}1-a.wav,1,0,dog,True,a,A\n3-a.wav,3,0,dog,True,a,A\n"
    ));
    let e = err(ds.unwrap().split(2));
    assert_msg(
        &e,
        "esc50.csv",
        "fold 2 has no items; available folds are [1, 3]",
    );
}

#[test]
fn non_utf8_bytes() {
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"1-a.wav,1,0,dog,True,a,A\n1-\xff\xfe.wav,1,0,dog,True,a,A\n");
    let (dir, _) = root_with(&body);
    let e = err(Dataset::open(dir.path()));
    assert_msg(&e, "esc50.csv", "row 3: field 0 is not valid UTF-8");
    // in the header
    let (dir, _) = root_with(b"filename,f\xffold,target,category\na.wav,1,0,dog\n");
    assert_msg(&err(Dataset::open(dir.path())), "esc50.csv", "row 1");
}

#[test]
fn ragged_rows_and_inconsistent_classes() {
    let (_d, r) = open(&format!("{HEADER}1-a.wav,1,0,dog\n"));
    assert_msg(&err(r), "esc50.csv", "malformed CSV");
    let (_d, r) = open(&format!(
        "{HEADER}1-a.wav,1,0,dog,True,a,A\n1-b.wav,1,0,cat,True,a,A\n"
    ));
    assert_msg(
        &err(r),
        "esc50.csv",
        "target 0 is \"dog\" in row 2 but \"cat\" in row 3",
    );
}
