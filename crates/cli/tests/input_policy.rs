//! Input policies through the binary: truncated clips (`--allow-truncated` for `spec` and
//! `stats`, counted in the provenance) and metadata entries outside the dataset
//! (`--allow-outside-root`).

mod common;

use std::path::Path;

use common::*;
use specnorm_audio::{encode_wav, WavFormat};
use specnorm_stats::Stats;

fn tone(freq: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.3 * (std::f64::consts::TAU * freq * i as f64 / 16_000.0).sin()) as f32)
        .collect()
}

/// 1 s at 16 kHz, 16-bit mono: 32000 data bytes.
fn wav(freq: f64) -> Vec<u8> {
    encode_wav(&tone(freq, 16_000), 16_000, 1, WavFormat::Pcm16)
}

/// An ESC-50-layout dataset of 3 folds x 2 clips; returns the file names by fold.
fn dataset(root: &Path, rows: &[(String, u32)]) {
    std::fs::create_dir_all(root.join("meta")).unwrap();
    std::fs::create_dir_all(root.join("audio")).unwrap();
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for (i, (name, fold)) in rows.iter().enumerate() {
        csv += &format!("{name},{fold},{},c{},False,{i},A\n", i % 2, i % 2);
    }
    std::fs::write(root.join("meta/esc50.csv"), csv).unwrap();
}

fn good_rows(root: &Path) -> Vec<(String, u32)> {
    let mut rows = Vec::new();
    for fold in 1..=3u32 {
        for k in 0..2 {
            let name = format!("{fold}-{k}.wav");
            std::fs::create_dir_all(root.join("audio")).unwrap();
            std::fs::write(
                root.join("audio").join(&name),
                wav(300.0 * f64::from(fold) + 50.0 * k as f64),
            )
            .unwrap();
            rows.push((name, fold));
        }
    }
    rows
}

#[test]
fn spec_refuses_a_truncated_clip_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.wav");
    let w = wav(440.0);
    std::fs::write(&p, &w[..w.len() - 300]).unwrap();
    let out = dir.path().join("cut.npy");
    let o = specnorm(&[&"spec", &p, &"--out", &out]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "{}: truncated: the header declares 32000 bytes of audio data but the file holds 31700",
            p.display()
        )),
        "{e}"
    );
    assert!(!out.exists());
    let o = specnorm(&[&"spec", &p, &"--out", &out, &"--allow-truncated"]);
    assert_ok(&o);
    let e = stderr(&o);
    assert!(e.contains("warning: accepted 1 truncated clip(s)"), "{e}");
    assert!(
        e.contains(&format!(
            "{}: header declares 32000 bytes, file holds 31700",
            p.display()
        )),
        "{e}"
    );
    assert!(out.exists());
}

#[test]
fn stats_refuses_truncated_clips_and_counts_the_accepted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    let rows = good_rows(&root);
    dataset(&root, &rows);
    // Two training clips cut short: a download cut 300 bytes early, and a header claiming
    // ~4 GiB over 2 bytes. A third, streamed (data size 0xFFFFFFFF), is fine.
    let w = wav(1000.0);
    std::fs::write(root.join("audio/2-0.wav"), &w[..w.len() - 300]).unwrap();
    let mut huge = w[..46].to_vec();
    huge[40..44].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    std::fs::write(root.join("audio/3-1.wav"), &huge).unwrap();
    let mut streamed = w.clone();
    streamed[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(root.join("audio/2-1.wav"), &streamed).unwrap();
    let out = dir.path().join("stats.json");
    let o = specnorm(&[&"stats", &"--data", &root, &"--out", &out]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("2 file(s) could not be turned into features"),
        "{e}"
    );
    assert!(
        e.contains("2-0.wav: truncated: the header declares 32000 bytes"),
        "{e}"
    );
    assert!(e.contains("3-1.wav: truncated: the header declares 4294967280 bytes of audio data but the file holds 2"), "{e}");
    assert!(!out.exists());

    let o = specnorm(&[
        &"stats",
        &"--data",
        &root,
        &"--out",
        &out,
        &"--allow-truncated",
    ]);
    assert_ok(&o);
    let e = stderr(&o);
    assert!(e.contains("warning: accepted 2 truncated clip(s)"), "{e}");
    assert_eq!(
        e.matches("2-0.wav: header declares 32000 bytes, file holds 31700")
            .count(),
        1,
        "{e}"
    );
    assert_eq!(
        e.matches("3-1.wav: header declares 4294967280 bytes, file holds 2")
            .count(),
        1,
        "{e}"
    );
    let s = Stats::load_json(&out).unwrap();
    assert_eq!(s.provenance.clips, 4);
    assert_eq!(s.provenance.truncated_accepted, 2);
    assert!(
        s.provenance
            .note
            .as_deref()
            .unwrap()
            .contains("--allow-truncated: 2 truncated clips accepted"),
        "{:?}",
        s.provenance.note
    );
    // Without truncated clips the provenance field is absent from the file.
    let clean = dir.path().join("clean");
    let rows = good_rows(&clean);
    dataset(&clean, &rows);
    let out2 = dir.path().join("clean.json");
    assert_ok(&specnorm(&[&"stats", &"--data", &clean, &"--out", &out2]));
    assert!(!std::fs::read_to_string(&out2)
        .unwrap()
        .contains("truncated_accepted"));
}

#[test]
fn stats_refuses_metadata_outside_the_audio_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    let mut rows = good_rows(&root);
    // A clip outside the dataset, named three ways.
    let outside = dir.path().join("elsewhere.wav");
    std::fs::write(&outside, wav(700.0)).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("audio/link.wav")).unwrap();
    rows.push(("../../elsewhere.wav".into(), 2));
    rows.push((outside.display().to_string(), 3));
    rows.push(("link.wav".into(), 3));
    dataset(&root, &rows);
    let out = dir.path().join("stats.json");
    let o = specnorm(&[&"stats", &"--data", &root, &"--out", &out]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("3 row(s) name files outside the audio folder"),
        "{e}"
    );
    assert!(e.contains("row 8: \"../../elsewhere.wav\""), "{e}");
    assert!(e.contains("row 10: \"link.wav\""), "{e}");
    assert!(e.contains("--allow-outside-root"), "{e}");
    assert!(!out.exists());
    let o = specnorm(&[
        &"stats",
        &"--data",
        &root,
        &"--out",
        &out,
        &"--allow-outside-root",
    ]);
    assert_ok(&o);
    assert_eq!(Stats::load_json(&out).unwrap().provenance.clips, 7);
}
