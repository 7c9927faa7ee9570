//! `specnorm stats` on each dataset layout (`--layout folders|csv|urbansound8k`, `--esc10`) on
//! generated WAVs: the clips it reads, the fold file it writes and reuses, and errors that name
//! the file and the row.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use common::*;
use specnorm_audio::{write_wav, WavFormat};
use specnorm_stats::Stats;

/// A quarter-second 16 kHz tone.
fn wav(path: &Path, freq: f64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let x: Vec<f32> = (0..4000)
        .map(|i| (0.3 * (std::f64::consts::TAU * freq * i as f64 / 16_000.0).sin()) as f32)
        .collect();
    write_wav(path, &x, 16_000, 1, WavFormat::Pcm16).unwrap();
}

/// `stats` over `root` holding out fold 1, with 1 s clips; the stats.json it wrote.
fn stats(root: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"stats",
        &"--data",
        &root,
        &"--valid-fold",
        &"1",
        &"--seconds",
        &"1",
        &"--out",
        &out,
    ];
    for e in extra {
        args.push(e);
    }
    specnorm(&args)
}

#[test]
fn folders_layout_writes_the_fold_file_reuses_it_and_names_added_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("words");
    for (class, n, f) in [("yes", 5, 400.0), ("no", 4, 900.0), ("up", 3, 2000.0)] {
        for i in 0..n {
            wav(
                &root.join(format!("{class}/{class}{i}.wav")),
                f + 37.0 * i as f64,
            );
        }
    }
    let out = dir.path().join("out/stats.json");
    let flags = ["--layout", "folders", "--folds", "3", "--fold-seed", "7"];
    let o = stats(&root, &out, &flags);
    assert_ok(&o);
    let fold_file = root.join("specnorm-folds-k3-seed7.csv");
    let text = std::fs::read_to_string(&fold_file).unwrap();
    let folds: BTreeMap<String, u32> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(folds.len(), 12);
    // 5, 4 and 3 clips dealt round-robin over 3 folds: 4 per fold.
    for k in 1..=3 {
        assert_eq!(folds.values().filter(|&&f| f == k).count(), 4, "fold {k}");
    }
    let s = Stats::load_json(&out).unwrap();
    assert_eq!(s.provenance.folds, vec![2, 3]);
    assert_eq!(s.provenance.clips, 8);
    assert_eq!(s.provenance.dataset, root.display().to_string());
    // The next run reads the same file and gives the same bytes.
    let first = std::fs::read(&out).unwrap();
    assert_ok(&stats(&root, &out, &flags));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    assert_eq!(std::fs::read_to_string(&fold_file).unwrap(), text);
    // A new clip is named, with the way out.
    wav(&root.join("no/no9.wav"), 700.0);
    assert_fails_with(
        &stats(&root, &out, &flags),
        &[
            "specnorm-folds-k3-seed7.csv",
            "1 file(s) added, 0 removed",
            "added no/no9.wav",
            "Delete the fold file",
        ],
    );
    // A flag of another layout is refused.
    assert_fails_with(
        &stats(&root, &out, &["--layout", "folders", "--esc10"]),
        &["--esc10 applies to --layout esc50, not --layout folders"],
    );
}

#[test]
fn csv_layout_reads_named_columns_and_names_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    let mut csv = String::from("clip,word,split\n");
    for i in 0..6u32 {
        let name = format!("c{i}.wav");
        wav(&root.join("wavs").join(&name), 300.0 + 150.0 * f64::from(i));
        csv += &format!("{name},{},{}\n", ["on", "off"][i as usize % 2], i % 3 + 1);
    }
    std::fs::write(root.join("labels.csv"), &csv).unwrap();
    let out = dir.path().join("stats.json");
    let flags = [
        "--layout",
        "csv",
        "--metadata",
        "labels.csv",
        "--filename-col",
        "clip",
        "--label-col",
        "word",
        "--fold-col",
        "split",
        "--audio-dir",
        "wavs",
    ];
    assert_ok(&stats(&root, &out, &flags));
    let s = Stats::load_json(&out).unwrap();
    assert_eq!(s.provenance.folds, vec![2, 3]);
    assert_eq!(s.provenance.clips, 4);
    std::fs::write(root.join("labels.csv"), csv + "c9.wav,on,three\n").unwrap();
    assert_fails_with(
        &stats(&root, &out, &flags),
        &[
            "labels.csv, row 8: fold \"three\" is not a non-negative integer",
            "--layout csv",
        ],
    );
    assert_fails_with(
        &stats(&root, &out, &["--layout", "csv"]),
        &["--layout csv needs --metadata FILE"],
    );
    // An entry outside the audio folder is refused unless --allow-outside-root.
    std::fs::write(
        root.join("labels.csv"),
        "clip,word,split\nc0.wav,on,1\nc1.wav,off,2\n../labels.csv,on,2\n",
    )
    .unwrap();
    assert_fails_with(
        &stats(&root, &out, &flags),
        &["row 4: \"../labels.csv\"", "--allow-outside-root"],
    );
}

#[test]
fn urbansound8k_and_esc10_layouts() {
    let dir = tempfile::tempdir().unwrap();
    // UrbanSound8K: audio/fold{N}/.
    let us = dir.path().join("UrbanSound8K");
    let mut csv = String::from("slice_file_name,fsID,start,end,salience,fold,classID,class\n");
    for i in 0..6u32 {
        let (fold, id, class) = (
            i % 3 + 1,
            i % 2 * 3,
            ["air_conditioner", "dog_bark"][i as usize % 2],
        );
        let name = format!("{i}-{id}-0-0.wav");
        wav(
            &us.join(format!("audio/fold{fold}/{name}")),
            500.0 + 90.0 * f64::from(i),
        );
        csv += &format!("{name},{i},0.0,0.25,1,{fold},{id},{class}\n");
    }
    std::fs::create_dir_all(us.join("metadata")).unwrap();
    std::fs::write(us.join("metadata/UrbanSound8K.csv"), csv).unwrap();
    let out = dir.path().join("us.json");
    assert_ok(&stats(&us, &out, &["--layout", "urbansound8k"]));
    let s = Stats::load_json(&out).unwrap();
    assert_eq!(
        (s.provenance.folds.clone(), s.provenance.clips),
        (vec![2, 3], 4)
    );
    std::fs::remove_file(us.join("audio/fold2/1-3-0-0.wav")).unwrap();
    assert_fails_with(
        &stats(&us, &out, &["--layout", "urbansound8k"]),
        &["audio/fold2/1-3-0-0.wav"],
    );

    // ESC-10 out of ESC-50: only the rows marked True.
    let esc = dir.path().join("ESC-50");
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for i in 0..9u32 {
        let name = format!("{}-{i}-A-0.wav", i % 3 + 1);
        wav(&esc.join("audio").join(&name), 350.0 + 60.0 * f64::from(i));
        let esc10 = if i < 6 { "True" } else { "False" };
        csv += &format!("{name},{},0,dog,{esc10},{i},A\n", i % 3 + 1);
    }
    std::fs::create_dir_all(esc.join("meta")).unwrap();
    std::fs::write(esc.join("meta/esc50.csv"), &csv).unwrap();
    let out = dir.path().join("esc.json");
    assert_ok(&stats(&esc, &out, &[]));
    assert_eq!(Stats::load_json(&out).unwrap().provenance.clips, 6);
    assert_ok(&stats(&esc, &out, &["--esc10"]));
    assert_eq!(Stats::load_json(&out).unwrap().provenance.clips, 4);
    std::fs::write(
        esc.join("meta/esc50.csv"),
        csv.replace("2-4-A-0.wav,2,0,dog,True", "2-4-A-0.wav,2,0,dog,maybe"),
    )
    .unwrap();
    assert_fails_with(
        &stats(&esc, &out, &["--esc10"]),
        &["esc50.csv, row 6: esc10 \"maybe\" is neither True nor False"],
    );
}
