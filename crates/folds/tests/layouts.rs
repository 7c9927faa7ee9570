//! The metadata layouts (ESC-10 out of ESC-50, a CSV with named columns, UrbanSound8K) and the
//! serialized form of `Layout`, on small CSVs and empty audio files the tests write.

use std::path::{Path, PathBuf};

use specnorm_folds::{CsvLayout, Dataset, DatasetOptions, FolderLayout, FoldsError, Layout};

fn put(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn open(root: &Path, layout: &Layout) -> Result<Dataset, FoldsError> {
    Dataset::open_layout(root, layout, DatasetOptions::default())
}

fn names(ds: &Dataset) -> Vec<&str> {
    ds.items().iter().map(|i| i.filename.as_str()).collect()
}

// ---- ESC-10 -----------------------------------------------------------------

const ESC: &str = "filename,fold,target,category,esc10,src_file,take\n\
                   1-a.wav,1,0,dog,True,a,A\n\
                   1-b.wav,1,1,rooster,False,b,A\n\
                   2-a.wav,2,41,chainsaw,True,c,A\n\
                   2-b.wav,2,0,dog,true,d,A\n\
                   3-a.wav,3,1,rooster,FALSE,e,A\n";

#[test]
fn esc10_keeps_the_rows_marked_true_with_their_esc50_targets() {
    let dir = tempfile::tempdir().unwrap();
    put(&dir.path().join("meta/esc50.csv"), ESC);
    let all = Dataset::open(dir.path()).unwrap();
    assert_eq!(all.items().len(), 5);
    assert_eq!(all.layout(), &Layout::Esc50 { esc10: false });

    let esc10 = Layout::Esc50 { esc10: true };
    let ds = open(dir.path(), &esc10).unwrap();
    assert_eq!(names(&ds), vec!["1-a.wav", "2-a.wav", "2-b.wav"]);
    assert_eq!(
        ds.classes(),
        vec![(0, "dog".to_string()), (41, "chainsaw".to_string())]
    );
    assert_eq!(ds.folds(), vec![1, 2]);
    assert_eq!(ds.layout(), &esc10);
    assert_eq!(ds.items()[1].path, dir.path().join("audio/2-a.wav"));
}

#[test]
fn esc10_errors_name_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("meta/esc50.csv");
    let esc10 = Layout::Esc50 { esc10: true };
    put(&csv, &format!("{ESC}4-a.wav,4,0,dog,yes,f,A\n"));
    let e = open(dir.path(), &esc10).unwrap_err();
    assert!(matches!(e, FoldsError::BadFlag { row: 7, .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("esc50.csv, row 7: esc10 \"yes\" is neither True nor False"),
        "{msg}"
    );
    // Without --esc10 the column is not read.
    assert_eq!(Dataset::open(dir.path()).unwrap().items().len(), 6);

    put(
        &csv,
        "filename,fold,target,category,esc10\na.wav,1,0,dog,False\n",
    );
    let msg = open(dir.path(), &esc10).unwrap_err().to_string();
    assert!(
        msg.contains("esc50.csv: the CSV is empty (no selected rows)"),
        "{msg}"
    );

    put(&csv, "filename,fold,target,category\na.wav,1,0,dog\n");
    let msg = open(dir.path(), &esc10).unwrap_err().to_string();
    assert!(msg.contains("esc50.csv: missing column \"esc10\""), "{msg}");
}

// ---- a CSV with named columns -----------------------------------------------

fn custom() -> CsvLayout {
    CsvLayout {
        metadata: "lists/all.csv".into(),
        audio_dir: "clips".into(),
        filename_col: "path".into(),
        label_col: "word".into(),
        fold_col: "split".into(),
        target_col: None,
    }
}

#[test]
fn csv_layout_reads_named_columns_and_ranks_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    put(
        &dir.path().join("lists/all.csv"),
        "speaker,path,word,split\n\
         s1,yes/1.wav,yes,1\n\
         s2,no/1.wav,no,2\n\
         s1,up/1.wav,up,1\n\
         s3,yes/2.wav,yes,3\n",
    );
    let ds = open(dir.path(), &Layout::Csv(custom())).unwrap();
    assert_eq!(
        names(&ds),
        vec!["yes/1.wav", "no/1.wav", "up/1.wav", "yes/2.wav"]
    );
    // byte order: no < up < yes
    assert_eq!(
        ds.classes(),
        vec![(0, "no".into()), (1, "up".into()), (2, "yes".into())]
    );
    assert_eq!(
        ds.items().iter().map(|i| i.target).collect::<Vec<_>>(),
        vec![2, 0, 1, 2]
    );
    assert_eq!(ds.folds(), vec![1, 2, 3]);
    assert_eq!(ds.items()[0].path, dir.path().join("clips/yes/1.wav"));
    assert_eq!(ds.csv_path(), dir.path().join("lists/all.csv"));
    assert_eq!(ds.root(), dir.path());
    assert_eq!(ds.split(1).unwrap().train_folds, vec![2, 3]);
}

#[test]
fn csv_layout_numeric_labels_rank_numerically_and_a_target_column_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = CsvLayout::new("meta.csv");
    put(
        &dir.path().join("meta.csv"),
        "filename,label,fold,id\na.wav,10,1,7\nb.wav,2,2,3\nc.wav,9,1,5\n",
    );
    let ds = open(dir.path(), &Layout::Csv(l.clone())).unwrap();
    assert_eq!(
        ds.classes(),
        vec![(0, "2".into()), (1, "9".into()), (2, "10".into())]
    );
    assert_eq!(ds.items()[0].path, dir.path().join("a.wav"));
    assert_eq!(ds.audio_dir().as_os_str(), dir.path().as_os_str());
    l.target_col = Some("id".into());
    let ds = open(dir.path(), &Layout::Csv(l)).unwrap();
    assert_eq!(
        ds.classes(),
        vec![(3, "2".into()), (5, "9".into()), (7, "10".into())]
    );
}

#[test]
fn csv_layout_errors_name_the_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("lists/all.csv");
    let layout = Layout::Csv(custom());
    let cases = [
        (
            "path,word\na.wav,yes\n",
            "all.csv: missing column \"split\"; the header is [\"path\", \"word\"]",
        ),
        (
            "path,word,split\na.wav,yes,1\nb.wav, ,2\n",
            "all.csv, row 3: empty label in column \"word\"",
        ),
        (
            "path,word,split\na.wav,yes,1\nb.wav,no,2\nc.wav,no,two\n",
            "all.csv, row 4: fold \"two\" is not a non-negative integer",
        ),
        (
            "path,word,split\na.wav,yes,1\na.wav,no,2\n",
            "all.csv: duplicate filename \"a.wav\" in rows 2 and 3",
        ),
        (
            "path,word,split\na.wav,yes,1\n../../etc/passwd,no,2\n",
            "all.csv: 1 row(s) name files outside the audio folder",
        ),
    ];
    for (body, want) in cases {
        put(&csv, body);
        let msg = open(dir.path(), &layout).unwrap_err().to_string();
        assert!(msg.contains(want), "want {want:?} in {msg:?}");
    }
    // The outside entry's row is listed, and allow_outside_root reads it.
    let msg = open(dir.path(), &layout).unwrap_err().to_string();
    assert!(msg.contains("row 3: \"../../etc/passwd\" -> "), "{msg}");
    let opts = DatasetOptions {
        allow_outside_root: true,
    };
    let ds = Dataset::open_layout(dir.path(), &layout, opts).unwrap();
    assert_eq!(
        ds.items()[1].path,
        dir.path().join("clips/../../etc/passwd")
    );
    // A missing metadata file is named.
    let e = open(&dir.path().join("none"), &layout).unwrap_err();
    assert!(matches!(e, FoldsError::Io { .. }), "{e}");
    assert!(e.to_string().contains("none/lists/all.csv"), "{e}");
}

// ---- UrbanSound8K -----------------------------------------------------------

const US8K_HEADER: &str = "slice_file_name,fsID,start,end,salience,fold,classID,class\n";

fn us8k(rows: &[(&str, u32, u32, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = US8K_HEADER.to_string();
    for (i, (name, fold, id, class)) in rows.iter().enumerate() {
        csv += &format!("{name},{i},0.0,4.0,1,{fold},{id},{class}\n");
        put(&dir.path().join(format!("audio/fold{fold}/{name}")), "");
    }
    put(&dir.path().join("metadata/UrbanSound8K.csv"), &csv);
    dir
}

#[test]
fn urbansound8k_finds_each_clip_in_its_fold_folder() {
    let dir = us8k(&[
        ("100032-3-0-0.wav", 5, 3, "dog_bark"),
        ("100263-2-0-117.wav", 5, 2, "children_playing"),
        ("101415-3-0-2.wav", 1, 3, "dog_bark"),
        ("102305-6-0-0.wav", 10, 6, "gun_shot"),
    ]);
    let ds = open(dir.path(), &Layout::UrbanSound8K).unwrap();
    ds.check_files().unwrap();
    assert_eq!(ds.folds(), vec![1, 5, 10]);
    assert_eq!(
        ds.classes(),
        vec![
            (2, "children_playing".into()),
            (3, "dog_bark".into()),
            (6, "gun_shot".into())
        ]
    );
    let it = &ds.items()[3];
    assert_eq!(it.filename, "102305-6-0-0.wav");
    assert_eq!(it.path, dir.path().join("audio/fold10/102305-6-0-0.wav"));
    assert_eq!(ds.audio_dir(), dir.path().join("audio"));
    assert_eq!(
        ds.split(5).unwrap().valid.len(),
        2,
        "fold 5 holds two clips"
    );
}

#[test]
fn urbansound8k_errors_name_the_file_and_row() {
    let dir = us8k(&[("a.wav", 1, 3, "dog_bark"), ("b.wav", 2, 3, "dog_bark")]);
    let csv = dir.path().join("metadata/UrbanSound8K.csv");
    let body = std::fs::read_to_string(&csv).unwrap();
    put(&csv, &format!("{body}c.wav,9,0,1,1,3,4,drilling\n"));
    // A missing file is listed with its fold folder.
    let ds = open(dir.path(), &Layout::UrbanSound8K).unwrap();
    let msg = ds.check_files().unwrap_err().to_string();
    assert!(msg.contains("audio/fold3/c.wav"), "{msg}");
    put(&csv, &format!("{body}c.wav,9,0,1,1,3,3,siren\n"));
    let msg = open(dir.path(), &Layout::UrbanSound8K)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("UrbanSound8K.csv: target 3 is \"dog_bark\" in row 2 but \"siren\" in row 4"),
        "{msg}"
    );
    put(&csv, &format!("{body}c.wav,9,0,1,1,x,3,dog_bark\n"));
    let msg = open(dir.path(), &Layout::UrbanSound8K)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("UrbanSound8K.csv, row 4: fold \"x\""), "{msg}");
    // `..` out of fold1/ into fold2/ stays inside audio/; out of audio/ it does not.
    put(
        &csv,
        &format!("{body}../fold2/b.wav,1,0,1,1,1,3,dog_bark\n../../x.wav,9,0,1,1,1,3,dog_bark\n"),
    );
    let e = open(dir.path(), &Layout::UrbanSound8K).unwrap_err();
    let FoldsError::OutsideRoot { rows, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(
        rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        vec![5],
        "{e}"
    );
    assert_eq!(
        rows[0].resolved,
        std::fs::canonicalize(dir.path()).unwrap().join("x.wav")
    );
    let e = open(&dir.path().join("elsewhere"), &Layout::UrbanSound8K).unwrap_err();
    assert!(
        e.to_string()
            .contains("elsewhere/metadata/UrbanSound8K.csv"),
        "{e}"
    );
}

// ---- the serialized form ----------------------------------------------------

#[test]
fn layouts_serialize_with_a_tag_and_defaults() {
    let cases: Vec<(Layout, &str)> = vec![
        (Layout::default(), r#"{"layout":"esc50","esc10":false}"#),
        (Layout::UrbanSound8K, r#"{"layout":"urbansound8k"}"#),
        (
            Layout::Folders(FolderLayout::default()),
            r#"{"layout":"folders","folds":5,"seed":0,"fold_file":null}"#,
        ),
        (
            Layout::Csv(CsvLayout::new("m.csv")),
            r#"{"layout":"csv","metadata":"m.csv","audio_dir":"","filename_col":"filename","label_col":"label","fold_col":"fold","target_col":null}"#,
        ),
    ];
    for (layout, json) in cases {
        assert_eq!(serde_json::to_string(&layout).unwrap(), json);
        assert_eq!(serde_json::from_str::<Layout>(json).unwrap(), layout);
    }
    let short: Layout = serde_json::from_str(r#"{"layout":"folders","seed":3}"#).unwrap();
    assert_eq!(
        short,
        Layout::Folders(FolderLayout {
            seed: 3,
            ..FolderLayout::default()
        })
    );
    let esc: Layout = serde_json::from_str(r#"{"layout":"esc50"}"#).unwrap();
    assert_eq!(esc, Layout::default());
    let csv: Layout = serde_json::from_str(r#"{"layout":"csv","metadata":"x.csv"}"#).unwrap();
    assert_eq!(csv, Layout::Csv(CsvLayout::new(PathBuf::from("x.csv"))));
    for bad in [
        r#"{"layout":"esc50","esc11":true}"#,
        r#"{"layout":"tree"}"#,
        r#"{"layout":"csv"}"#,
    ] {
        assert!(serde_json::from_str::<Layout>(bad).is_err(), "{bad}");
    }
    assert_eq!(Layout::UrbanSound8K.name(), "urbansound8k");
}

// ---- flat options (command line, keyword arguments) -------------------------

#[test]
fn flat_options_make_one_layout_and_refuse_the_options_of_others() {
    use specnorm_folds::{LayoutOptionError, LayoutOptions};
    let none = LayoutOptions::default();
    assert_eq!(
        Layout::from_options("esc50", &none).unwrap(),
        Layout::default()
    );
    let o = LayoutOptions {
        esc10: true,
        ..none.clone()
    };
    assert_eq!(
        Layout::from_options("esc50", &o).unwrap(),
        Layout::Esc50 { esc10: true }
    );
    assert_eq!(
        Layout::from_options("urbansound8k", &none).unwrap(),
        Layout::UrbanSound8K
    );
    let o = LayoutOptions {
        metadata: Some("m.csv".into()),
        label_col: Some("word".into()),
        audio_dir: Some("wavs".into()),
        ..none.clone()
    };
    assert_eq!(
        Layout::from_options("csv", &o).unwrap(),
        Layout::Csv(CsvLayout {
            label_col: "word".into(),
            audio_dir: "wavs".into(),
            ..CsvLayout::new("m.csv")
        })
    );
    let o = LayoutOptions {
        folds: Some(10),
        fold_seed: Some(4),
        ..none.clone()
    };
    assert_eq!(
        Layout::from_options("folders", &o).unwrap(),
        Layout::Folders(FolderLayout {
            folds: 10,
            seed: 4,
            fold_file: None
        })
    );
    assert_eq!(
        Layout::from_options("esc50", &o).unwrap_err(),
        LayoutOptionError::Misplaced {
            option: "folds",
            belongs: "folders",
            layout: "esc50"
        }
    );
    assert_eq!(
        Layout::from_options("csv", &none).unwrap_err(),
        LayoutOptionError::NoMetadata
    );
    let e = Layout::from_options("tree", &none).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown layout \"tree\"; the layouts are esc50, csv, urbansound8k, folders"
    );
    for name in Layout::NAMES {
        let o = LayoutOptions {
            metadata: (name == "csv").then(|| "m.csv".into()),
            ..none.clone()
        };
        assert_eq!(Layout::from_options(name, &o).unwrap().name(), name);
    }
}
