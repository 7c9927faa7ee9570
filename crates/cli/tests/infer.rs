//! `specnorm infer` end to end on the committed tiny model (needs ORT_DYLIB_PATH,
//! which `cargo xtask test` exports).
#![cfg(feature = "infer")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/fixtures/export")
        .join(name)
}

fn tone(path: &Path, freq: f32) {
    let sr = 16_000u32;
    let s: Vec<f32> = (0..sr as usize)
        .map(|i| 0.3 * (i as f32 * freq * std::f32::consts::TAU / sr as f32).sin())
        .collect();
    specnorm_audio::write_wav(path, &s, sr, 1, specnorm_audio::WavFormat::Pcm16).unwrap();
}

fn specnorm(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_specnorm"))
        .arg("infer")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn classifies_a_folder_as_json_lines_with_top_k() {
    let dir = tempfile::tempdir().unwrap();
    tone(&dir.path().join("a.wav"), 440.0);
    tone(&dir.path().join("b.wav"), 3000.0);
    std::fs::write(
        dir.path().join("notes.txt"),
        "not audio, skipped by extension",
    )
    .unwrap();
    let model = fixture("tiny_small.onnx");
    let out = specnorm(&[
        "--model".as_ref(),
        model.as_os_str(),
        "--json".as_ref(),
        "--top-k".as_ref(),
        "2".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        let top = l["top"].as_array().unwrap();
        assert_eq!(top.len(), 2);
        let p0 = top[0]["prob"].as_f64().unwrap();
        let p1 = top[1]["prob"].as_f64().unwrap();
        assert!(p0 >= p1 && p0 <= 1.0 && p1 >= 0.0, "{l}");
    }
    assert!(lines[0]["file"].as_str().unwrap().ends_with("a.wav"));
}

#[test]
fn bad_model_and_bad_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("ok.wav");
    tone(&wav, 440.0);
    let bad = fixture("bad_f.onnx");
    let out = specnorm(&["--model".as_ref(), bad.as_os_str(), wav.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("F is 64"), "{err}");

    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"definitely not a wav file").unwrap();
    let model = fixture("tiny_small.onnx");
    let out = specnorm(&[
        "--model".as_ref(),
        model.as_os_str(),
        wav.as_os_str(),
        junk.as_os_str(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("junk.wav"), "{err}");
    assert!(err.contains("1 of 2"), "{err}");
    // The good file is still classified.
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok.wav"));
}
