//! The `specnorm` binary end to end on generated files: `spec` writes a correct
//! `.npy`, `stats` writes its outputs deterministically, and bad inputs give a
//! non-zero exit with the offending file names on stderr.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use ndarray::{Array2, Array4, Axis};
use specnorm_audio::{encode_wav, write_wav, WavFormat};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_stats::{Stats, StatsAccumulator};

fn sine(freq: f64, sr: u32, n: usize, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / f64::from(sr)).sin()) as f32)
        .collect()
}

/// Minimal `.npy` reader for little-endian float32 C-order arrays: (shape, data).
fn read_npy_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY", "not an .npy file");
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        _ => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
    };
    let header = std::str::from_utf8(&b[start..start + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape_s = &header[header.find("'shape': (").unwrap() + 10..];
    let shape_s = &shape_s[..shape_s.find(')').unwrap()];
    let shape: Vec<usize> = shape_s
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let data: Vec<f32> = b[start + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

#[test]
fn spec_writes_a_float32_npy_identical_to_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    write_wav(
        &wav,
        &sine(1000.0, 44_100, 44_100, 0.5),
        44_100,
        1,
        WavFormat::Pcm16,
    )
    .unwrap();
    let out = dir.path().join("sub/tone.npy");
    let o = specnorm(&[&"spec", &wav, &"--out", &out]);
    assert_ok(&o);
    let (shape, data) = read_npy_f32(&out);
    assert_eq!(shape, vec![201, 401]);
    let lib = FeatureExtractor::new(FeatureConfig::default())
        .unwrap()
        .extract_file(&wav)
        .unwrap();
    assert_eq!(lib.as_slice().unwrap(), &data[..]);
    // 1 kHz lands in bin 25 of frame 20 (row-major [F, T]).
    let col: Vec<f32> = (0..201).map(|f| data[f * 401 + 20]).collect();
    let peak = (0..201).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
    assert_eq!(peak, 25);
}

#[test]
fn spec_on_bad_files_fails_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.npy");
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "garbage.wav",
            b"this is not audio",
            "not a recognized audio file",
        ),
        ("empty.wav", b"", "empty"),
        (
            "cut.wav",
            b"RIFF\x10\x00\x00\x00WAVEfmt ",
            "truncated header",
        ),
    ];
    for (name, bytes, reason) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = specnorm(&[&"spec", &p, &"--out", &out]);
        assert!(!o.status.success(), "{name} succeeded");
        let e = stderr(&o);
        assert!(e.contains(name) && e.contains(reason), "{name}: {e}");
        assert!(!out.exists(), "no output for a failed input");
    }
    let o = specnorm(&[&"spec", &dir.path().join("nope.wav"), &"--out", &out]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nope.wav"), "{}", stderr(&o));
}

/// An ESC-50-layout dataset: 3 folds x 2 classes x 2 clips of 1 s at 16 kHz.
fn tiny_dataset(root: &Path) -> Vec<(String, u32)> {
    std::fs::create_dir_all(root.join("meta")).unwrap();
    std::fs::create_dir_all(root.join("audio")).unwrap();
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    let mut names = Vec::new();
    for fold in 1..=3u32 {
        for (target, category, freq) in [(0u32, "dog", 500.0), (1, "rain", 3000.0)] {
            for take in ["A", "B"] {
                let name = format!("{fold}-{target}{take}-{take}-{target}.wav");
                let f = freq * (1.0 + 0.1 * fold as f64) + if take == "A" { 0.0 } else { 77.0 };
                write_wav(
                    &root.join("audio").join(&name),
                    &sine(f, 16_000, 16_000, 0.3),
                    16_000,
                    1,
                    WavFormat::Pcm16,
                )
                .unwrap();
                csv += &format!("{name},{fold},{target},{category},False,{fold}{target},{take}\n");
                names.push((name, fold));
            }
        }
    }
    std::fs::write(root.join("meta").join("esc50.csv"), csv).unwrap();
    names
}

fn stats_cmd(root: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"stats",
        &"--data",
        &root,
        &"--valid-fold",
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
fn stats_matches_the_library_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    let clips = tiny_dataset(&root);
    let out = dir.path().join("out/stats.json");
    let o = stats_cmd(&root, &out, &["--axes", "channel"]);
    assert_ok(&o);
    for sib in ["stats.mean.npy", "stats.std.npy", "stats.channels.png"] {
        assert!(dir.path().join("out").join(sib).is_file(), "{sib}");
    }
    let s = Stats::load_json(&out).unwrap();
    assert_eq!(s.shape, vec![1, 1, 201, 1]);
    assert_eq!(s.provenance.folds, vec![2, 3]);
    assert_eq!(s.provenance.clips, 8);
    assert_eq!(s.count, vec![8 * 401; 201]);
    // Reference: the library on the 8 training clips (folds 2 and 3).
    let fx = FeatureExtractor::new(FeatureConfig::default()).unwrap();
    let train: Vec<PathBuf> = clips
        .iter()
        .filter(|(_, f)| *f != 1)
        .map(|(n, _)| root.join("audio").join(n))
        .collect();
    let mut batch = Array4::<f32>::zeros((train.len(), 1, 201, 401));
    for (i, p) in train.iter().enumerate() {
        let spec: Array2<f32> = fx.extract_file(p).unwrap();
        batch
            .index_axis_mut(Axis(0), i)
            .index_axis_mut(Axis(0), 0)
            .assign(&spec);
    }
    let mut acc = StatsAccumulator::per_channel();
    acc.update(batch.view()).unwrap();
    let r = acc.finalize().unwrap();
    for (a, b) in s.mean.iter().zip(r.mean.iter()) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }
    for (a, b) in s.std.iter().zip(r.std.iter()) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }
    // The mean/std .npy files hold the same values as float32 with the keep-dims shape.
    let (shape, mean) = read_npy_f32(&dir.path().join("out/stats.mean.npy"));
    assert_eq!(shape, vec![1, 1, 201, 1]);
    assert!(mean.iter().zip(s.mean.iter()).all(|(&a, &b)| a == b as f32));
    // Same inputs, same bytes.
    let first = std::fs::read(&out).unwrap();
    assert_ok(&stats_cmd(&root, &out, &["--axes", "channel"]));
    assert_eq!(
        first,
        std::fs::read(&out).unwrap(),
        "stats.json differs between runs"
    );
    // Global axes.
    let g = dir.path().join("global.json");
    assert_ok(&stats_cmd(&root, &g, &["--axes", "global"]));
    let gs = Stats::load_json(&g).unwrap();
    assert_eq!(gs.shape, vec![1, 1, 1, 1]);
    let all_mean = r.mean.iter().sum::<f64>() / 201.0;
    assert!((gs.mean[[0, 0, 0, 0]] - all_mean).abs() < 1e-9);
}

#[test]
fn stats_lists_every_bad_file_and_skip_bad_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    let clips = tiny_dataset(&root);
    // Corrupt two training clips (folds 2 and 3) in different ways.
    let bad1 = &clips.iter().find(|(_, f)| *f == 2).unwrap().0;
    let bad2 = &clips.iter().find(|(_, f)| *f == 3).unwrap().0;
    std::fs::write(root.join("audio").join(bad1), b"garbage").unwrap();
    let wav = encode_wav(&sine(440.0, 16_000, 100, 0.5), 16_000, 1, WavFormat::Pcm16);
    std::fs::write(root.join("audio").join(bad2), &wav[..30]).unwrap();
    let out = dir.path().join("stats.json");
    let o = stats_cmd(&root, &out, &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("2 file(s)"), "{e}");
    assert!(
        e.contains(bad1.as_str()) && e.contains("not a recognized audio file"),
        "{e}"
    );
    assert!(
        e.contains(bad2.as_str()) && e.contains("truncated header"),
        "{e}"
    );
    assert!(e.contains("--skip-bad"), "{e}");
    assert!(!out.exists());

    let o = stats_cmd(&root, &out, &["--skip-bad"]);
    assert_ok(&o);
    let e = stderr(&o);
    assert!(e.contains("skipped 2 bad file(s)"), "{e}");
    assert!(
        e.contains(bad1.as_str()) && e.contains(bad2.as_str()),
        "{e}"
    );
    let s = Stats::load_json(&out).unwrap();
    assert_eq!(s.provenance.clips, 6);
    assert_eq!(s.count[0], 6 * 401);
}

#[test]
fn stats_on_bad_datasets_fails_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    let clips = tiny_dataset(&root);
    let out = dir.path().join("stats.json");
    // A validation fold that does not exist.
    let o = specnorm(&[
        &"stats",
        &"--data",
        &root,
        &"--valid-fold",
        &"9",
        &"--out",
        &out,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fold 9 has no items"), "{}", stderr(&o));
    // Missing audio files: all of them are listed.
    for (name, _) in &clips[..3] {
        std::fs::remove_file(root.join("audio").join(name)).unwrap();
    }
    let o = stats_cmd(&root, &out, &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("3 of 12 audio files are missing"), "{e}");
    for (name, _) in &clips[..3] {
        assert!(e.contains(name.as_str()), "{name}: {e}");
    }
    // No metadata at all.
    let o = stats_cmd(&dir.path().join("nowhere"), &out, &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("esc50.csv"), "{}", stderr(&o));
}

#[test]
fn stats_shards_and_merge_give_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    tiny_dataset(&root);
    let single = dir.path().join("single/stats.json");
    assert_ok(&stats_cmd(&root, &single, &["--axes", "global"]));
    let parts: Vec<PathBuf> = (1..=2)
        .map(|k| dir.path().join(format!("parts/stats.part-{k}.json")))
        .collect();
    let o = stats_cmd(&root, &parts[0], &["--axes", "global", "--shard", "1/2"]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("shard 1/2, given on the command line"),
        "{}",
        stderr(&o)
    );
    // shard 2 from a Slurm array's environment (--array=0-1, task 1)
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    cmd.args([
        "stats",
        "--valid-fold",
        "1",
        "--axes",
        "global",
        "--shard",
        "auto",
        "--data",
    ])
    .arg(&root)
    .arg("--out")
    .arg(&parts[1])
    .env("SLURM_ARRAY_TASK_ID", "1")
    .env("SLURM_ARRAY_TASK_MIN", "0")
    .env("SLURM_ARRAY_TASK_COUNT", "2")
    .env_remove("JOB_COMPLETION_INDEX");
    let o = cmd.output().unwrap();
    assert_ok(&o);
    assert!(
        stderr(&o).contains("shard 2/2, from the Slurm array"),
        "{}",
        stderr(&o)
    );

    // a missing shard is refused, naming the file
    let merged = dir.path().join("merged/stats.json");
    let o = specnorm(&[&"stats", &"merge", &parts[0], &"--out", &merged]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("[2] of 2 are missing") && e.contains("stats.part-1.json"),
        "{e}"
    );
    assert!(!merged.exists());
    // all shards: the outputs of a single run, equal within 1e-12
    assert_ok(&specnorm(&[
        &"stats", &"merge", &parts[1], &parts[0], &"--out", &merged,
    ]));
    for sib in ["stats.mean.npy", "stats.std.npy", "stats.channels.png"] {
        assert!(dir.path().join("merged").join(sib).is_file(), "{sib}");
    }
    let (a, b) = (
        Stats::load_json(&single).unwrap(),
        Stats::load_json(&merged).unwrap(),
    );
    assert_eq!(
        (a.shape.clone(), a.count.clone()),
        (b.shape.clone(), b.count.clone())
    );
    let rel = |x: f64, y: f64| (x - y).abs() / y.abs();
    assert!(rel(b.mean[[0, 0, 0, 0]], a.mean[[0, 0, 0, 0]]) <= 1e-12);
    assert!(rel(b.std[[0, 0, 0, 0]], a.std[[0, 0, 0, 0]]) <= 1e-12);
    assert_eq!(b.provenance.shards.as_ref().unwrap().merged, vec![1, 2]);
    // --allow-partial is recorded
    let part = dir.path().join("partial.json");
    assert_ok(&specnorm(&[
        &"stats",
        &"merge",
        &parts[0],
        &"--allow-partial",
        &"--out",
        &part,
    ]));
    let p = Stats::load_json(&part).unwrap();
    assert_eq!(p.provenance.shards.unwrap().missing, vec![2]);
    assert_eq!(p.provenance.clips, 4);
    // auto without a scheduler says what it looked for
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specnorm"));
    cmd.args(["stats", "--shard", "auto", "--data"])
        .arg(&root)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX");
    let o = cmd.output().unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("JOB_COMPLETION_INDEX"),
        "{}",
        stderr(&o)
    );
}
