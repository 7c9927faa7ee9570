//! The experiment on clips kept at their own lengths (`features.seconds = None`): a dataset of
//! clips of 0.3 to 1 s trains every kind of setting, in memory and from the feature cache with
//! the same runs bit for bit; the cache records each clip's frames; the report states the
//! padding policy; the exported ONNX model takes a clip of any length.
#![cfg(feature = "train")]

use std::path::Path;
use std::sync::Mutex;

use specnorm_experiment::report::OWN_LENGTHS;
use specnorm_experiment::results::RunRecord;
use specnorm_experiment::runner::{run_experiment, ExperimentConfig};
use specnorm_experiment::synth::{generate, SynthConfig};
use specnorm_train::ModelKind;

/// libtorch's random generator is per process: experiments of one binary run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn dataset(root: &Path) {
    let synth = SynthConfig {
        n_classes: 3,
        clips_per_class: 5,
        n_folds: 5,
        duration_s: 1.0,
        shortest_s: Some(0.3),
        sample_rate: 16_000,
        ..SynthConfig::default()
    };
    generate(root, &synth).unwrap();
}

fn config(data: &Path, out: &Path, cache: Option<&Path>) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::new(data, out);
    cfg.settings = ["waveform", "global", "instance", "pcen", "pcen-learned"]
        .map(String::from)
        .to_vec();
    cfg.runs = 1;
    cfg.valid_folds = vec![1];
    cfg.model = ModelKind::Small;
    cfg.epochs = 2;
    cfg.batch_size = 4;
    cfg.lr = 1e-2;
    cfg.device = "cpu".into();
    cfg.threads = Some(1);
    cfg.features.seconds = None;
    cfg.save_checkpoints = false;
    cfg.export_onnx = false;
    cfg.feature_cache = cache.map(Path::to_path_buf);
    cfg
}

/// The runs of `cfg` without timings and checkpoint paths, and how many ONNX exports succeeded.
fn runs(cfg: &ExperimentConfig) -> (Vec<RunRecord>, usize) {
    let outcome = run_experiment(cfg, &|_| {}).unwrap();
    assert_eq!(outcome.failed_exports().count(), 0);
    let exported = outcome.exports.len();
    let runs = outcome
        .results
        .runs
        .into_iter()
        .map(|mut r| {
            r.wall_time_s = 0.0;
            r.checkpoint = None;
            r.epochs.iter_mut().for_each(|e| e.seconds = 0.0);
            r
        })
        .collect();
    (runs, exported)
}

#[test]
fn clips_of_their_own_lengths_train_in_memory_and_from_the_cache_alike() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data);
    let cache = dir.path().join("cache");
    let mut exported = config(&data, &dir.path().join("mem"), None);
    exported.export_onnx = true;
    exported.save_checkpoints = true;
    let (memory, onnx) = runs(&exported);
    assert_eq!(memory.len(), 5);
    assert_eq!(onnx, 5, "every setting's best run exports");
    for r in &memory {
        assert!(
            r.epochs.iter().all(|e| e.valid_loss.is_finite()),
            "{}: {:?}",
            r.setting,
            r.epochs
        );
    }
    let (cached, _) = runs(&config(&data, &dir.path().join("c1"), Some(&cache)));
    assert_eq!(cached, memory, "the same runs, bit for bit");
    // The cache holds each clip's frames: 0.3 to 1 s at 16 kHz, hop 200, centred.
    let mut lens = Vec::new();
    for entry in std::fs::read_dir(&cache).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let n = u64::from_le_bytes(bytes[bytes.len() - 16..bytes.len() - 8].try_into().unwrap());
        let json = &bytes[bytes.len() - 16 - n as usize..bytes.len() - 16];
        let header: serde_json::Value = serde_json::from_slice(json).unwrap();
        let frames: Vec<u64> = header["frames"]
            .as_array()
            .expect("per-row frames")
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(frames.len(), 15);
        assert!(frames.iter().all(|&t| (25..=81).contains(&t)), "{frames:?}");
        assert_eq!(header["shape"][1].as_u64(), frames.iter().max().copied());
        lens.push(frames);
    }
    assert!(!lens.is_empty() && lens.windows(2).all(|w| w[0] == w[1]));
    let (lo, hi) = (lens[0].iter().min().unwrap(), lens[0].iter().max().unwrap());
    assert!(hi - lo > 20, "{lo}..{hi}");

    let md = std::fs::read_to_string(dir.path().join("mem/results.md")).unwrap();
    assert!(md.contains("each clip kept at its own length"), "{md}");
    assert!(md.contains(OWN_LENGTHS), "{md}");
}
