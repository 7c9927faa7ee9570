//! End to end: generate a tiny dataset, run two settings, check the outputs,
//! then re-run and check that every finished run is skipped.
#![cfg(feature = "train")]

use std::sync::Mutex;

use specnorm_experiment::runner::{run_experiment, ExperimentConfig, ExperimentError, Progress};
use specnorm_experiment::synth::{generate, GenerateOutcome, SynthConfig};
use specnorm_train::ModelKind;

#[test]
fn tiny_experiment_runs_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = SynthConfig {
        n_classes: 3,
        clips_per_class: 10,
        n_folds: 5,
        duration_s: 1.0,
        sample_rate: 16_000,
        ..SynthConfig::default()
    };
    assert_eq!(
        generate(&data, &synth).unwrap(),
        GenerateOutcome::Created(30)
    );

    let out = dir.path().join("out");
    let mut cfg = ExperimentConfig::new(&data, &out);
    cfg.settings = vec!["waveform".into(), "channel".into()];
    cfg.runs = 1;
    assert_eq!(
        specnorm_experiment::runner::dataset_folds(&cfg).unwrap(),
        [1, 2, 3, 4, 5]
    );
    cfg.valid_folds = vec![1];
    cfg.model = ModelKind::Small;
    cfg.epochs = 3;
    cfg.batch_size = 8;
    cfg.lr = 1e-2;
    cfg.device = "cpu".into();
    cfg.threads = Some(2);
    cfg.features.seconds = Some(1.0);

    let lines = Mutex::new(Vec::<String>::new());
    let events = Mutex::new(Vec::<String>::new());
    let cb = |p: Progress<'_>| match p {
        Progress::Line(l) => lines.lock().unwrap().push(l.to_string()),
        Progress::RunStarted { key, .. } => events.lock().unwrap().push(format!("start {key}")),
        Progress::RunSkipped { key, .. } => events.lock().unwrap().push(format!("skip {key}")),
        Progress::RunFinished { record, .. } => events
            .lock()
            .unwrap()
            .push(format!("done {}", record.key())),
        _ => {}
    };
    let outcome = run_experiment(&cfg, &cb).unwrap();
    assert_eq!((outcome.trained, outcome.skipped), (2, 0));
    assert_eq!(
        *events.lock().unwrap(),
        [
            "start waveform_f1_s0",
            "done waveform_f1_s0",
            "start channel_f1_s0",
            "done channel_f1_s0"
        ]
    );
    // Header + 3 epoch rows per run, fastai style.
    let l = lines.lock().unwrap().clone();
    assert_eq!(l.iter().filter(|x| x.starts_with("epoch ")).count(), 2);
    assert!(l.iter().any(|x| x.starts_with("2       ")), "{l:?}");

    for f in [
        "experiment.json",
        "runs/waveform_f1_s0.json",
        "runs/channel_f1_s0.json",
        "checkpoints/waveform_f1_s0.safetensors",
        "checkpoints/channel_f1_s0.safetensors",
        "results.json",
        "results.md",
        "best_runs.json",
        "accuracy.png",
        "valid_loss.png",
        "accuracy_curves.png",
        "channel_stats.png",
        "spectrograms/waveform_before.png",
        "spectrograms/channel_after.png",
        "onnx/waveform.onnx",
        "onnx/channel.onnx",
        "exports.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("| waveform | 1 |"), "{md}");
    assert!(md.contains("| channel | 1 |"), "{md}");
    assert!(md.contains("| waveform | channel | 1 |"), "{md}");
    let doc = &outcome.results;
    assert_eq!(doc.runs.len(), 2);
    for r in &doc.runs {
        assert_eq!(r.epochs.len(), 3);
        assert!((0.0..=1.0).contains(&r.final_accuracy));
        assert!(r
            .epochs
            .iter()
            .all(|e| e.train_loss.is_finite() && e.valid_loss.is_finite()));
    }
    assert_eq!(outcome.best.len(), 2);
    // The library exports the best run of each setting and says so in the report.
    assert_eq!(outcome.exports.len(), 2);
    assert_eq!(outcome.failed_exports().count(), 0);
    assert!(md.contains("## ONNX export"), "{md}");
    let (best, path) = &outcome.best["channel"];
    assert_eq!(best.key, "channel_f1_s0");
    assert!(path.as_ref().unwrap().is_file());
    // The checkpoint carries what inference needs.
    let (_, meta) = specnorm_train::Model::load(path.as_ref().unwrap(), tch::Device::Cpu).unwrap();
    assert_eq!(meta["specnorm.setting"], "channel");
    let norm: serde_json::Value = serde_json::from_str(&meta["specnorm.normalizer"]).unwrap();
    assert_eq!(norm["kind"], "per_channel");
    assert_eq!(norm["mean"].as_array().unwrap().len(), 201);
    // The statistics' provenance travels with the normalization: training folds only.
    assert_eq!(norm["provenance"]["folds"], serde_json::json!([2, 3, 4, 5]));
    assert_eq!(
        meta["specnorm.classes"],
        r#"["steady_tone","chirp_up","chirp_down"]"#
    );

    // Resume: nothing is retrained; the report is identical in content.
    events.lock().unwrap().clear();
    let again = run_experiment(&cfg, &cb).unwrap();
    assert_eq!((again.trained, again.skipped), (0, 2));
    assert_eq!(
        *events.lock().unwrap(),
        ["skip waveform_f1_s0", "skip channel_f1_s0"]
    );
    assert_eq!(again.results, outcome.results);

    // Two shards in their own folders train one run each (job i goes to shard i % 2 + 1), export
    // nothing, and merged give the runs of the single folder.
    let mut shard_dirs = Vec::new();
    for (k, only) in [(1, "waveform_f1_s0"), (2, "channel_f1_s0")] {
        let mut c = cfg.clone();
        c.out_dir = dir.path().join(format!("shard{k}"));
        c.shard = Some(specnorm_pipeline::Shard::new(k, 2).unwrap());
        events.lock().unwrap().clear();
        let o = run_experiment(&c, &cb).unwrap();
        assert_eq!((o.trained, o.skipped, o.exports.len()), (1, 0, 0));
        assert_eq!(
            *events.lock().unwrap(),
            [format!("start {only}"), format!("done {only}")]
        );
        shard_dirs.push(c.out_dir);
    }
    let merged =
        specnorm_experiment::report::write_merged_report(&shard_dirs, &dir.path().join("merged"))
            .unwrap();
    // The dataset plots come from the shards' folders (the same configuration, the same plots).
    assert!(merged.carried.missing.is_empty(), "{:?}", merged.carried);
    for name in specnorm_experiment::report::carry::DATASET_PLOTS {
        assert!(dir.path().join("merged").join(name).exists(), "{name}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("merged/channel_stats.png")).unwrap(),
        std::fs::read(shard_dirs[0].join("channel_stats.png")).unwrap()
    );
    let merged = merged.doc;
    let accs = |d: &specnorm_experiment::report::ResultsDoc| -> Vec<(String, f64)> {
        d.runs.iter().map(|r| (r.key(), r.final_accuracy)).collect()
    };
    let mut single = accs(&outcome.results);
    single.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(accs(&merged), single);
    assert!(dir.path().join("merged/results.md").is_file());

    // lr_find on the training folds of fold 1: a sweep from 1e-7 towards 10, fastai's valley
    // inside it, the plot written, and the second call read from the cache.
    let mut lf = cfg.clone();
    lf.out_dir = dir.path().join("lr");
    let r = specnorm_experiment::runner::find_lr(&lf, "channel", &cb).unwrap();
    assert_eq!((r.setting.as_str(), r.fold), ("channel", 1));
    assert!(!r.lrs.is_empty() && r.lrs.len() <= 100 && r.lrs.len() == r.losses.len());
    assert!(r.lrs.windows(2).all(|w| w[0] < w[1]));
    assert!(r.suggested >= r.lrs[0] && r.suggested <= *r.lrs.last().unwrap());
    assert!(lf.out_dir.join("lr_find/channel.png").is_file());
    assert_eq!(
        specnorm_experiment::runner::find_lr(&lf, "channel", &cb).unwrap(),
        r
    );

    // A different configuration in the same output directory is refused.
    let mut other = cfg.clone();
    other.epochs = 4;
    match run_experiment(&other, &cb) {
        Err(ExperimentError::ConfigMismatch { .. }) => {}
        other => panic!("expected a config mismatch, got {other:?}"),
    }
}
