//! Bad inputs are found before any long work, all listed at once, and
//! `--skip-bad` leaves them out: `specnorm experiment` (feature `train`) and
//! `specnorm infer` (feature `infer`).
#![cfg(any(feature = "train", feature = "infer"))]

#[cfg(feature = "train")]
mod experiment {
    use std::path::Path;
    use std::process::{Command, Output};

    use specnorm_experiment::synth::{generate, SynthConfig};

    /// A 3-class × 5-clip dataset (1 s at 16 kHz, 5 folds) with two clips
    /// replaced by junk; returns their file names and original bytes.
    fn dataset_with_bad_clips(root: &Path) -> Vec<(String, Vec<u8>)> {
        let synth = SynthConfig {
            n_classes: 3,
            clips_per_class: 5,
            n_folds: 5,
            duration_s: 1.0,
            sample_rate: 16_000,
            ..SynthConfig::default()
        };
        generate(root, &synth).unwrap();
        let mut wavs: Vec<String> = std::fs::read_dir(root.join("audio"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".wav"))
            .collect();
        wavs.sort();
        assert_eq!(wavs.len(), 15);
        // One truncated to a bare header prefix, one not audio at all.
        let a = &wavs[2];
        let b = &wavs[9];
        let a_bytes = std::fs::read(root.join("audio").join(a)).unwrap();
        let b_bytes = std::fs::read(root.join("audio").join(b)).unwrap();
        std::fs::write(root.join("audio").join(a), &a_bytes[..20]).unwrap();
        std::fs::write(root.join("audio").join(b), b"this is not a wav file").unwrap();
        vec![(a.clone(), a_bytes), (b.clone(), b_bytes)]
    }

    fn experiment(data: &Path, out: &Path, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_specnorm"))
            .arg("experiment")
            .arg("--data")
            .arg(data)
            .arg("--out")
            .arg(out)
            .args(["--settings", "channel", "--runs", "1", "--epochs", "1"])
            .args(["--model", "small", "--threads", "1", "--device", "cpu"])
            .arg("--no-export")
            .args(extra)
            .output()
            .unwrap()
    }

    #[test]
    fn bad_clips_are_all_listed_up_front_or_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let bad = dataset_with_bad_clips(&data);
        let names: Vec<&str> = bad.iter().map(|(n, _)| n.as_str()).collect();

        // Without --skip-bad: fails before any feature extraction or
        // training, naming both files.
        let out = dir.path().join("strict");
        let o = experiment(&data, &out, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        for name in &names {
            assert!(stderr.contains(name), "{name} not named:\n{stderr}");
        }
        assert!(stderr.contains("2 of 15 clip(s)"), "{stderr}");
        assert!(stderr.contains("--skip-bad"), "{stderr}");
        assert!(!stderr.contains("extracting features"), "{stderr}");
        assert!(
            std::fs::read_dir(out.join("runs")).map_or(true, |mut d| d.next().is_none()),
            "a run was written"
        );

        // With --skip-bad: the other 13 clips are used and the two are reported.
        let out = dir.path().join("lenient");
        let o = experiment(&data, &out, &["--skip-bad"]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("trained 1 run(s), skipped 0 finished run(s)"),
            "{stdout}"
        );
        assert!(
            stdout.contains("skipped 2 clip(s) that are missing or cannot be decoded"),
            "{stdout}"
        );
        assert!(stderr.contains("skipping 2 of 15 clip(s)"), "{stderr}");
        for name in &names {
            assert!(stdout.contains(name), "{name} not listed:\n{stdout}");
        }
        assert!(out.join("runs/channel_f1_s0.json").is_file());
        assert!(out.join("results.json").is_file());

        // The clips left out are part of the dataset fingerprint: once they
        // are repaired, the same output directory refuses to mix run sets.
        for (name, bytes) in &bad {
            std::fs::write(data.join("audio").join(name), bytes).unwrap();
        }
        let o = experiment(&data, &out, &["--skip-bad"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        assert!(
            stderr.contains("different experiment configuration"),
            "{stderr}"
        );
    }

    #[test]
    fn missing_clips_are_listed_too() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let bad = dataset_with_bad_clips(&data);
        std::fs::remove_file(data.join("audio").join(&bad[1].0)).unwrap();
        let o = experiment(&data, &dir.path().join("out"), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("{}: file not found", bad[1].0)),
            "{stderr}"
        );
        assert!(stderr.contains(bad[0].0.as_str()), "{stderr}");
        assert!(stderr.contains("2 of 15 clip(s)"), "{stderr}");
    }

    /// A clip cut off mid-download (header intact, half its data) is a bad clip naming the
    /// sizes; `--allow-truncated` trains on the part present and lists it.
    #[test]
    fn truncated_clips_are_refused_or_accepted_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let bad = dataset_with_bad_clips(&data);
        for (name, bytes) in &bad {
            std::fs::write(data.join("audio").join(name), bytes).unwrap();
        }
        let cut = &bad[0].0;
        let full = &bad[0].1;
        std::fs::write(data.join("audio").join(cut), &full[..full.len() / 2]).unwrap();
        let o = experiment(&data, &dir.path().join("strict"), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        assert!(
            stderr.contains(cut.as_str()) && stderr.contains("truncated"),
            "{stderr}"
        );
        assert!(stderr.contains("1 of 15 clip(s)"), "{stderr}");
        let o = experiment(&data, &dir.path().join("lenient"), &["--allow-truncated"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert!(
            stderr.contains("accepted 1 truncated clip(s)") && stderr.contains(cut.as_str()),
            "{stderr}"
        );
    }
}

#[cfg(feature = "infer")]
mod infer {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    fn tiny_model() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fixtures/export/tiny_small.onnx")
    }

    fn infer(args: &[&std::ffi::OsStr]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_specnorm"))
            .arg("infer")
            .arg("--model")
            .arg(tiny_model())
            .args(args)
            .output()
            .unwrap()
    }

    #[test]
    fn skip_bad_exits_zero_and_counts_the_skipped_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.wav");
        let s: Vec<f32> = (0..16_000)
            .map(|i| 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect();
        specnorm_audio::write_wav(&good, &s, 16_000, 1, specnorm_audio::WavFormat::Pcm16).unwrap();
        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"not audio").unwrap();
        let missing = dir.path().join("missing.wav");

        let files = [good.as_os_str(), junk.as_os_str(), missing.as_os_str()];
        // Without --skip-bad: non-zero, both bad files named.
        let o = infer(&files);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        assert!(stderr.contains("2 of 3 file(s)"), "{stderr}");

        // With it: exit 0, the good file classified, the count said.
        let mut args = files.to_vec();
        args.push("--skip-bad".as_ref());
        let o = infer(&args);
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert!(stdout.contains("good.wav"), "{stdout}");
        assert!(!stdout.contains("junk.wav"), "{stdout}");
        assert!(stderr.contains("skipped 2 of 3 file(s)"), "{stderr}");
        assert!(
            stderr.contains("junk.wav") && stderr.contains("missing.wav"),
            "{stderr}"
        );

        // Nothing classifiable is still an error, even with --skip-bad.
        let o = infer(&[junk.as_os_str(), "--skip-bad".as_ref()]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("none of the 1 file(s)"));
    }
}
