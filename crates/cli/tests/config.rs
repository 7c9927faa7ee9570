//! The feature flags and `--config specnorm.toml` end to end: `config --print` shows what
//! library defaults < file < flags resolve to (and reads back its own output), bad files and
//! bad values fail naming the file and the key, and `stats` records the resolved configuration.

mod common;

use std::path::Path;

use common::*;
use specnorm_audio::{write_wav, WavFormat};
use specnorm_experiment::config_file::ConfigFile;
use specnorm_features::{FeatureConfig, FeatureKeys};
use specnorm_stats::Stats;

/// `config --print` with `args`, parsed back.
fn print(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (String, ConfigFile) {
    let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"config", &"--print"];
    all.extend_from_slice(args);
    let o = specnorm(&all);
    assert_ok(&o);
    let text = stdout(&o);
    let file = ConfigFile::parse(&text, "<config --print>").unwrap();
    (text, file)
}

#[test]
fn print_without_a_file_is_the_library_default_with_every_key() {
    let (text, file) = print(&[]);
    assert_eq!(file.features, FeatureKeys::from(&FeatureConfig::default()));
    assert_eq!(file.features.resolve().unwrap(), FeatureConfig::default());
    for line in [
        "[features]",
        "sample_rate = 16000",
        "seconds = 5.0",
        "n_fft = 400",
        "hop = 200",
        "window = \"hann\"",
        "n_mels = 0",
        "scale = \"db\"",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("[experiment]"), "{text}");
}

#[test]
fn flags_override_the_file_which_overrides_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("specnorm.toml");
    std::fs::write(
        &conf,
        "[features]\nn_fft = 512\nhop = 128\nn_mels = 64\ntop_db = 80\n\n\
         [experiment]\nsettings = [\"none\", \"channel\"]\nepochs = 3\nfolds = [1, 2]\n",
    )
    .unwrap();
    let (text, file) = print(&[
        &"--config",
        &conf,
        &"--hop",
        &"160",
        &"--mel-scale",
        &"slaney",
    ]);
    let k = &file.features;
    // flags
    assert_eq!(
        (k.hop, k.mel_scale),
        (Some(160), Some(specnorm_features::MelScaleName::Slaney))
    );
    // file (win_length follows the file's n_fft)
    assert_eq!(
        (k.n_fft, k.win_length, k.n_mels, k.top_db),
        (Some(512), Some(512), Some(64), Some(80.0))
    );
    // defaults
    assert_eq!(
        (k.sample_rate, k.seconds, k.f_min),
        (Some(16_000), Some(5.0), Some(0.0))
    );
    // The experiment table comes through as written.
    assert_eq!(
        file.experiment.settings,
        Some(vec!["none".into(), "channel".into()])
    );
    assert_eq!(
        (file.experiment.epochs, file.experiment.folds.clone()),
        (Some(3), Some(vec![1, 2]))
    );
    assert!(
        text.starts_with(&format!(
            "# specnorm config --print: library defaults < {} < flags\n",
            conf.display()
        )),
        "{text}"
    );

    // The printed file, read back, prints the same configuration.
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, &text).unwrap();
    let (_, again) = print(&[&"--config", &printed]);
    assert_eq!(again, file);
}

#[test]
fn bad_files_and_values_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let p = write("typo.toml", "[features]\nn_ftt = 512\n");
    assert_fails_with(
        &specnorm(&[&"config", &"--print", &"--config", &p]),
        &["typo.toml", "line 2", "unknown field `n_ftt`"],
    );
    let p = write("window.toml", "[features]\nwindow = \"kaiser\"\n");
    assert_fails_with(
        &specnorm(&[&"config", &"--print", &"--config", &p]),
        &[
            "window.toml",
            "unknown variant `kaiser`, expected one of `hann`, `hamming`, `rectangular`",
        ],
    );
    // A key the file sets where it does not apply: the file is named.
    let p = write("fmin.toml", "[features]\nf_min = 20.0\n");
    assert_fails_with(
        &specnorm(&[&"config", &"--print", &"--config", &p]),
        &["fmin.toml: [features] f_min applies only to a mel spectrogram"],
    );
    // ... but a flag can supply what it needs.
    let (_, f) = print(&[&"--config", &p, &"--mel", &"40"]);
    assert_eq!(
        (f.features.n_mels, f.features.f_min),
        (Some(40), Some(20.0))
    );
    // A flag that does not fit the file: the flags are blamed, over the file.
    let p = write("ln.toml", "[features]\nscale = \"ln\"\n");
    assert_fails_with(
        &specnorm(&[&"config", &"--print", &"--config", &p, &"--top-db", &"80"]),
        &[
            "the feature flags over",
            "ln.toml",
            "top_db applies only to scale = \"db\" (the scale is \"ln\")",
        ],
    );
    assert_fails_with(
        &specnorm(&[
            &"config",
            &"--print",
            &"--config",
            &dir.path().join("missing.toml"),
        ]),
        &["missing.toml"],
    );
    // Closed sets are checked by the flag parser, which lists the values.
    assert_fails_with(
        &specnorm(&[&"config", &"--print", &"--scale", &"amplitude"]),
        &["--scale", "db, ln, power"],
    );
    assert_fails_with(
        &specnorm(&[&"config", &"--print", &"--sample-rate", &"0"]),
        &["sample_rate must be > 0"],
    );
    assert_fails_with(&specnorm(&[&"config"]), &["--print"]);
}

#[test]
fn help_shows_the_library_defaults() {
    let o = specnorm(&[&"spec", &"--help"]);
    assert_ok(&o);
    let h = stdout(&o);
    let d = FeatureConfig::default();
    for want in [
        format!("[default: {}]", d.sample_rate),
        format!("[default: {}]", d.spectrogram.stft.n_fft),
        format!("[default: {}]", d.spectrogram.stft.hop_length),
        format!("[default: {}]", d.seconds.unwrap()),
        "[default: hann]".to_string(),
        "[default: db]".to_string(),
    ] {
        assert!(h.contains(&want), "no {want:?} in\n{h}");
    }
    for flag in [
        "--config",
        "--mel <N>",
        "--f-min",
        "--f-max",
        "--mel-scale",
        "--mel-norm",
        "--top-db",
        "--no-waveform-norm",
        "--win-length",
        "--window",
    ] {
        assert!(h.contains(flag), "no {flag} in\n{h}");
    }
}

/// ESC-50 layout: 2 folds x 2 clips of 1 s at 16 kHz.
fn tiny_dataset(root: &Path) {
    std::fs::create_dir_all(root.join("meta")).unwrap();
    std::fs::create_dir_all(root.join("audio")).unwrap();
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for fold in 1..=2u32 {
        for target in 0..2u32 {
            let name = format!("{fold}-{target}-A-{target}.wav");
            let f = 300.0 * f64::from(1 + target + 2 * fold);
            let x: Vec<f32> = (0..16_000)
                .map(|i| (0.3 * (std::f64::consts::TAU * f * i as f64 / 16_000.0).sin()) as f32)
                .collect();
            write_wav(
                &root.join("audio").join(&name),
                &x,
                16_000,
                1,
                WavFormat::Pcm16,
            )
            .unwrap();
            csv += &format!("{name},{fold},{target},c{target},False,{fold}{target},A\n");
        }
    }
    std::fs::write(root.join("meta/esc50.csv"), csv).unwrap();
}

#[test]
fn stats_records_the_resolved_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("esc");
    tiny_dataset(&root);
    let conf = dir.path().join("specnorm.toml");
    std::fs::write(&conf, "[features]\nseconds = 0.5\nn_mels = 40\nhop = 100\n").unwrap();
    let out = dir.path().join("stats.json");
    let o = specnorm(&[
        &"stats",
        &"--data",
        &root,
        &"--valid-fold",
        &"1",
        &"--out",
        &out,
        &"--config",
        &conf,
        &"--hop",
        &"160",
        &"--scale",
        &"ln",
    ]);
    assert_ok(&o);
    let s = Stats::load_json(&out).unwrap();
    let recorded: FeatureConfig = serde_json::from_value(s.provenance.features.clone()).unwrap();
    let want = FeatureKeys {
        seconds: Some(0.5),
        n_mels: Some(40),
        hop: Some(160),
        scale: Some(specnorm_features::ScaleName::Ln),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(recorded, want);
    // 40 mel bands; 0.5 s at hop 160: 1 + 8000 / 160 = 51 frames per clip, 2 training clips.
    assert_eq!(s.shape, vec![1, 1, 40, 1]);
    assert_eq!(s.count, vec![2 * 51; 40]);
    // The same configuration printed by `config --print` resolves to what stats recorded.
    let (_, f) = print(&[&"--config", &conf, &"--hop", &"160", &"--scale", &"ln"]);
    assert_eq!(f.features.resolve().unwrap(), recorded);
}
