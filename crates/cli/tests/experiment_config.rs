//! `specnorm experiment --config FILE.toml` end to end: a mel front end on 1 s clips from the
//! file's `[features]`, the training keys from its `[experiment]`, a flag over the file, and
//! the resolved configuration recorded where inference reads it (needs libtorch, which
//! `cargo xtask test` puts on LD_LIBRARY_PATH).
#![cfg(feature = "train")]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_mel_experiment_from_a_config_file_with_a_flag_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    tiny_synth(&data);
    let toml = dir.path().join("specnorm.toml");
    std::fs::write(
        &toml,
        "[features]\nseconds = 1.0\nn_mels = 32\n\n\
         [experiment]\nsettings = [\"waveform\", \"channel\"]\nepochs = 3\nruns = 1\nfolds = [2]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_specnorm"))
        .arg("experiment")
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&toml)
        // the flag wins over the file's epochs = 3
        .args(["--epochs", "1", "--batch-size", "8", "--threads", "1"])
        .args(["--device", "cpu", "--no-export"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&run.stderr).to_string() + &String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}");
    let exp = json(&out.join("experiment.json"));
    let cfg = &exp["config"];
    assert_eq!(cfg["settings"], serde_json::json!(["waveform", "channel"]));
    assert_eq!(
        (cfg["epochs"].as_u64(), cfg["runs"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(cfg["valid_folds"], serde_json::json!([2]));
    assert_eq!(cfg["features"]["spectrogram"]["mel"]["n_mels"], 32);
    assert_eq!(cfg["features"]["seconds"], 1.0);
    // Two runs of fold 2, each on [32, 81] mel features.
    for key in ["waveform_f2_s0", "channel_f2_s0"] {
        let r = json(&out.join(format!("runs/{key}.json")));
        assert_eq!(r["epochs"].as_array().unwrap().len(), 1, "{key}");
    }
    // The report states the front end in words.
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        md.contains("each clip padded or trimmed to 1 s")
            && md.contains("32 HTK mel bands from 0 Hz to 8 kHz"),
        "{md}"
    );
    let results = json(&out.join("results.json"));
    let d = &results["distributions"];
    assert_eq!(d["channels"]["frequency_hz"].as_array().unwrap().len(), 32);
    // The statistics the channel run normalized with have one mean per mel band.
    let (_, meta) = specnorm_train::Model::load(
        &out.join("checkpoints/channel_f2_s0.safetensors"),
        tch::Device::Cpu,
    )
    .unwrap();
    let norm: serde_json::Value = serde_json::from_str(&meta["specnorm.normalizer"]).unwrap();
    assert_eq!(norm["mean"].as_array().unwrap().len(), 32);

    // A file key the experiment does not know is an error naming the file and the key.
    std::fs::write(&toml, "[experiment]\nepoch = 3\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_specnorm"))
        .arg("experiment")
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("out2"))
        .arg("--config")
        .arg(&toml)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        err.contains("specnorm.toml") && err.contains("epoch"),
        "{err}"
    );
}
