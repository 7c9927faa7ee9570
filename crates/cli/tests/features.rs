//! `specnorm features`: writes the cache files of the experiment's variants, reuses them, and
//! recomputes them when a clip changes; the rows are the library's features.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use specnorm_cache::{CacheFile, CacheKey, DatasetFingerprint, Dtype, Verify};
use specnorm_experiment::synth::{generate, SynthConfig};
use specnorm_features::{FeatureConfig, FeatureExtractor};

fn features(data: &Path, cache: &Path) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_specnorm"))
        .args([
            "features",
            "--seconds",
            "1",
            "--settings",
            "global,pcen",
            "--data",
        ])
        .arg(data)
        .arg("--out")
        .arg(cache)
        .output()
        .expect("the specnorm binary runs");
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn features_writes_reuses_and_invalidates_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = SynthConfig {
        n_classes: 2,
        clips_per_class: 5,
        n_folds: 5,
        duration_s: 1.0,
        sample_rate: 16_000,
        ..SynthConfig::default()
    };
    generate(&data, &synth).unwrap();
    let cache = dir.path().join("cache");

    let out = stdout(&features(&data, &cache));
    assert_eq!(out.matches("computed").count(), 2, "{out}");
    assert!(out.contains("wavenorm+db"), "{out}");
    assert!(out.contains("wavenorm+power"), "{out}");
    assert!(out.contains("10 clips of [201, 81]"), "{out}");

    let out = stdout(&features(&data, &cache));
    assert_eq!(out.matches("reused").count(), 2, "{out}");

    // Row 0 of the dB file is the library's features of the first clip.
    let csv = std::fs::read_to_string(data.join("meta/esc50.csv")).unwrap();
    let names: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let clips: Vec<(String, std::path::PathBuf)> = names
        .iter()
        .map(|n| (n.clone(), data.join("audio").join(n)))
        .collect();
    let root = std::fs::canonicalize(&data).unwrap();
    let fp = DatasetFingerprint::of(
        &root.display().to_string(),
        &[
            data.join("meta/esc50.csv"),
            data.join(specnorm_experiment::synth::MARKER_FILE),
        ],
        &clips,
    )
    .unwrap();
    let cfg = FeatureConfig {
        seconds: Some(1.0),
        ..FeatureConfig::default()
    };
    let key = CacheKey::new(serde_json::to_value(&cfg).unwrap(), Dtype::F32, fp, names);
    let file = CacheFile::open(&cache.join(key.file_name()), &key, Verify::Checksum).unwrap();
    let direct = FeatureExtractor::new(cfg)
        .unwrap()
        .extract_file(&clips[0].1)
        .unwrap();
    assert_eq!(file.view(0).unwrap(), direct.view());

    // A clip changes (mtime): both files are computed again.
    let f = std::fs::File::options()
        .write(true)
        .open(&clips[3].1)
        .unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(f);
    let o = features(&data, &cache);
    let (out, err) = (stdout(&o), String::from_utf8_lossy(&o.stderr).into_owned());
    assert_eq!(out.matches("computed").count(), 2, "{out}");
    assert_eq!(
        err.matches("stale feature cache: audio files changed")
            .count(),
        2,
        "{err}"
    );
}
