//! The experiment with the on-disk feature cache (`ExperimentConfig::feature_cache`): the same
//! runs as in memory, bit for bit; the cache is reused across runs and settings, and
//! recomputed when a clip, the metadata or the feature configuration changes or a file is
//! damaged; bad clips are recorded in it and treated exactly as without it.
#![cfg(feature = "train")]

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use specnorm_experiment::report::OWN_LENGTHS;
use specnorm_experiment::results::RunRecord;
use specnorm_experiment::runner::{run_experiment, ExperimentConfig, ExperimentError, Progress};
use specnorm_experiment::synth::{generate, SynthConfig};
use specnorm_train::ModelKind;

/// libtorch's random generator is per process: two experiments training at once in one test
/// binary would interleave its draws, and runs that should be equal bit for bit would not be.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn dataset(root: &Path) {
    dataset_of_lengths(root, None);
}

/// 3 classes x 5 clips of 1 s at 16 kHz, or with `shortest` of `shortest..1` s.
fn dataset_of_lengths(root: &Path, shortest: Option<f64>) {
    let synth = SynthConfig {
        n_classes: 3,
        clips_per_class: 5,
        n_folds: 5,
        duration_s: 1.0,
        shortest_s: shortest,
        sample_rate: 16_000,
        ..SynthConfig::default()
    };
    generate(root, &synth).unwrap();
}

fn config(data: &Path, out: &Path, cache: Option<&Path>) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::new(data, out);
    cfg.settings = vec!["waveform".into(), "global".into(), "pcen".into()];
    cfg.runs = 1;
    cfg.valid_folds = vec![1];
    cfg.model = ModelKind::Small;
    cfg.epochs = 2;
    cfg.batch_size = 4;
    cfg.lr = 1e-2;
    cfg.device = "cpu".into();
    cfg.threads = Some(1);
    cfg.features.seconds = Some(1.0);
    cfg.save_checkpoints = false;
    cfg.export_onnx = false;
    cfg.feature_cache = cache.map(Path::to_path_buf);
    cfg
}

/// Runs `cfg`, returning the outcome's runs (without timings and checkpoint paths) and the
/// stage messages; every ONNX export it makes must succeed.
fn run(cfg: &ExperimentConfig) -> Result<(Vec<RunRecord>, Vec<String>), ExperimentError> {
    let stages = Mutex::new(Vec::new());
    let outcome = run_experiment(cfg, &|p| {
        if let Progress::Stage(s) = p {
            stages.lock().unwrap().push(s.to_string());
        }
    })?;
    assert_eq!(outcome.failed_exports().count(), 0);
    let runs = outcome
        .results
        .runs
        .into_iter()
        .map(|mut r| {
            r.wall_time_s = 0.0;
            r.checkpoint = None;
            for e in &mut r.epochs {
                e.seconds = 0.0;
            }
            r
        })
        .collect();
    Ok((runs, stages.into_inner().unwrap()))
}

fn count(stages: &[String], pat: &str) -> usize {
    stages.iter().filter(|s| s.contains(pat)).count()
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn hash(out: &Path) -> String {
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("experiment.json")).unwrap())
            .unwrap();
    j["config_hash"].as_str().unwrap().to_string()
}

#[test]
fn cached_runs_equal_in_memory_runs_and_the_cache_is_invalidated() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data);
    let cache = dir.path().join("cache");

    let (memory, _) = run(&config(&data, &dir.path().join("mem"), None)).unwrap();
    assert_eq!(memory.len(), 3);
    let (cached, stages) = run(&config(&data, &dir.path().join("c1"), Some(&cache))).unwrap();
    assert_eq!(cached, memory, "the same runs, bit for bit");
    assert_eq!(hash(&dir.path().join("c1")), hash(&dir.path().join("mem")));
    // waveform and global share wavenorm+db (also the report's), pcen reads wavenorm+power.
    assert_eq!(
        count(&stages, "no feature cache yet; computing"),
        2,
        "{stages:?}"
    );
    let files = cache_files(&cache);
    assert_eq!(files.len(), 2, "{files:?}");
    // The plots and distributions were made from the mapped features too.
    assert!(dir.path().join("c1/spectrograms/pcen_after.png").is_file());
    assert!(dir.path().join("c1/distributions.json").is_file());

    // Another run (another output folder) reuses both files.
    let (again, stages) = run(&config(&data, &dir.path().join("c2"), Some(&cache))).unwrap();
    assert_eq!(again, memory);
    assert_eq!(count(&stages, "feature cache: reusing"), 2, "{stages:?}");
    assert_eq!(count(&stages, "computing"), 0, "{stages:?}");

    // A clip's mtime changes: both files are stale and recomputed in place.
    let clip = data.join("audio").join(first_clip(&data));
    let f = std::fs::File::options().write(true).open(&clip).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(f);
    let (after_touch, stages) = run(&config(&data, &dir.path().join("c3"), Some(&cache))).unwrap();
    assert_eq!(after_touch, memory, "same audio, same features");
    assert_eq!(
        count(&stages, "stale feature cache: audio files changed"),
        2,
        "{stages:?}"
    );
    assert_eq!(cache_files(&cache), files, "overwritten, not added");

    // A damaged file is recomputed, never read.
    let bytes = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).unwrap();
    let (after_cut, stages) = run(&config(&data, &dir.path().join("c4"), Some(&cache))).unwrap();
    assert_eq!(after_cut, memory);
    assert_eq!(count(&stages, "corrupt feature cache"), 1, "{stages:?}");
    assert_eq!(count(&stages, "feature cache: reusing"), 1, "{stages:?}");

    // Another feature configuration: other files, the old ones stay valid.
    let mut other = config(&data, &dir.path().join("c5"), Some(&cache));
    other.features.spectrogram.stft.hop_length = 160;
    let (_, stages) = run(&other).unwrap();
    assert_eq!(
        count(&stages, "no feature cache yet; computing"),
        2,
        "{stages:?}"
    );
    assert_eq!(cache_files(&cache).len(), 4);
    let (_, stages) = run(&config(&data, &dir.path().join("c6"), Some(&cache))).unwrap();
    assert_eq!(count(&stages, "feature cache: reusing"), 2, "{stages:?}");

    // The metadata changes (a clip moves to another fold): stale.
    let csv = data.join("meta/esc50.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cols: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cols[1] = if cols[1] == "1" { "2" } else { "1" }.into();
    lines[1] = cols.join(",");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let (_, stages) = run(&config(&data, &dir.path().join("c7"), Some(&cache))).unwrap();
    assert_eq!(
        count(&stages, "stale feature cache: the metadata files changed"),
        2,
        "{stages:?}"
    );
}

/// Settings the first test does not train (a per-clip normalization, and the learned PCEN
/// layer, whose input is checked to be non-negative), with MixUp and lr_find (whose sweep reads
/// the streamed training folds too): the same runs, learning rates and sweeps from the cache as
/// in memory.
#[test]
fn every_setting_and_lr_find_stream_from_the_cache_as_in_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data);
    let cache = dir.path().join("cache");
    let with = |out: &str, cache: Option<&Path>| {
        let mut cfg = config(&data, &dir.path().join(out), cache);
        cfg.settings = vec!["instance".into(), "pcen-learned".into()];
        cfg.epochs = 1;
        cfg.mixup = Some(0.4);
        cfg.lr_find = true;
        cfg
    };
    let (memory, _) = run(&with("mem", None)).unwrap();
    assert_eq!(memory.len(), 2);
    let (cached, _) = run(&with("c1", Some(&cache))).unwrap();
    assert_eq!(cached, memory, "the same runs, bit for bit");
    for s in ["instance", "pcen-learned"] {
        let read = |out: &str| {
            std::fs::read_to_string(dir.path().join(out).join(format!("lr_find/{s}.json"))).unwrap()
        };
        assert_eq!(read("c1"), read("mem"), "{s}: the same lr_find sweep");
    }
}

fn first_clip(data: &Path) -> String {
    let text = std::fs::read_to_string(data.join("meta/esc50.csv")).unwrap();
    text.lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn bad_clips_are_recorded_in_the_cache_and_handled_as_in_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data);
    let cache = dir.path().join("cache");
    let bad = data.join("audio").join(first_clip(&data));
    std::fs::write(&bad, b"not audio").unwrap();

    // Without skip_bad: the same error as in memory, naming the clip.
    match run(&config(&data, &dir.path().join("c0"), Some(&cache))) {
        Err(ExperimentError::BadClips {
            bad: list, total, ..
        }) => {
            assert_eq!((list.len(), total), (1, 15));
            assert_eq!(list[0].path, bad);
        }
        other => panic!("expected BadClips, got {other:?}"),
    }
    // The cache was written anyway (with the bad clip recorded): skip_bad reuses it.
    let mut with_skip = config(&data, &dir.path().join("c1"), Some(&cache));
    with_skip.skip_bad = true;
    let (cached, stages) = run(&with_skip).unwrap();
    assert_eq!(count(&stages, "feature cache: reusing"), 2, "{stages:?}");
    let mut memory = config(&data, &dir.path().join("mem"), None);
    memory.skip_bad = true;
    let (in_memory, _) = run(&memory).unwrap();
    assert_eq!(cached, in_memory);
    assert_eq!(hash(&dir.path().join("c1")), hash(&dir.path().join("mem")));
}

/// Clips kept at their own lengths (`features.seconds = None`, clips of 0.3 to 1 s): every kind
/// of setting trains, in memory and from the cache with the same runs bit for bit; the cache
/// records each clip's frames; the report states the padding policy; every setting exports.
#[test]
fn clips_of_their_own_lengths_train_in_memory_and_from_the_cache_alike() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset_of_lengths(&data, Some(0.3));
    let cache = dir.path().join("cache");
    let own = |out: &str, cache: Option<&Path>| {
        let mut cfg = config(&data, &dir.path().join(out), cache);
        cfg.settings = ["waveform", "global", "instance", "pcen", "pcen-learned"]
            .map(String::from)
            .to_vec();
        cfg.features.seconds = None;
        cfg
    };
    let mut exported = own("mem", None);
    exported.export_onnx = true;
    exported.save_checkpoints = true;
    let (memory, _) = run(&exported).unwrap();
    assert_eq!(memory.len(), 5);
    let onnx = std::fs::read_dir(dir.path().join("mem/onnx"))
        .unwrap()
        .count();
    assert_eq!(onnx, 5, "every setting's best run exports");
    for r in &memory {
        assert!(
            r.epochs.iter().all(|e| e.valid_loss.is_finite()),
            "{}: {:?}",
            r.setting,
            r.epochs
        );
    }
    let (cached, _) = run(&own("c1", Some(&cache))).unwrap();
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
