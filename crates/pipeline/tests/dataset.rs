//! The dataset pass, shards, partial files and the merge on a generated ESC-50-layout dataset.

use std::path::{Path, PathBuf};

use specnorm_audio::{write_wav, WavFormat};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_folds::{Dataset, Item};
use specnorm_pipeline::{
    dataset_stats, merge, merge_files, write_outputs, Axes, DatasetStats, PipelineError, Sample,
    Shard, SpectrogramStats, StatsPlan, StatsRequest,
};

/// 3 folds x 4 clips, 0.3-0.9 s, at 16 kHz and 22.05 kHz, different tones.
fn dataset(root: &Path) -> Dataset {
    std::fs::create_dir_all(root.join("meta")).unwrap();
    std::fs::create_dir_all(root.join("audio")).unwrap();
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for fold in 1..=3u32 {
        for k in 0..4u32 {
            let name = format!("{fold}-{k}-A-{}.wav", k % 2);
            let sr = if k % 2 == 0 { 16_000 } else { 22_050 };
            let n = (sr as f64 * (0.3 + 0.2 * k as f64)) as usize;
            let freq = 300.0 * (1 + k + fold) as f64;
            let tone: Vec<f32> = (0..n)
                .map(|i| {
                    let t = i as f64 / sr as f64;
                    (0.3 * (std::f64::consts::TAU * freq * t).sin()
                        + 0.01 * ((i * 7919) % 13) as f64) as f32
                })
                .collect();
            write_wav(
                &root.join("audio").join(&name),
                &tone,
                sr,
                1,
                WavFormat::Pcm16,
            )
            .unwrap();
            csv += &format!("{name},{fold},{},c{},False,s{fold}{k},A\n", k % 2, k % 2);
        }
    }
    std::fs::write(root.join("meta/esc50.csv"), csv).unwrap();
    Dataset::open(root).unwrap()
}

fn short_features() -> FeatureConfig {
    FeatureConfig {
        seconds: Some(1.0),
        ..FeatureConfig::default()
    }
}

fn request(shard: Shard) -> StatsRequest {
    StatsRequest {
        shard,
        features: short_features(),
        ..StatsRequest::default()
    }
}

fn rel_max(a: &ndarray::ArrayD<f64>, b: &ndarray::ArrayD<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-300))
        .fold(0.0, f64::max)
}

#[test]
fn the_file_pass_is_the_core_on_the_same_clips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path());
    // clips of different lengths too (no padding)
    for features in [
        short_features(),
        FeatureConfig {
            seconds: None,
            ..short_features()
        },
    ] {
        let req = StatsRequest {
            features: features.clone(),
            ..StatsRequest::default()
        };
        let run = dataset_stats(&ds, &req, &|| {}).unwrap();
        let one_by_one = dataset_stats(
            &ds,
            &StatsRequest {
                batch_size: 1,
                ..req.clone()
            },
            &|| {},
        )
        .unwrap();
        assert_eq!(run, one_by_one, "batch size changes nothing");
        let fx = FeatureExtractor::new(features).unwrap();
        let plan = StatsPlan::new(&ds, &req).unwrap();
        assert_eq!(plan.clips.len(), 8);
        let specs: Vec<_> = plan
            .clips
            .iter()
            .map(|i| fx.extract_file(&i.path).unwrap())
            .collect();
        let mut core = SpectrogramStats::new();
        core.extend(specs.iter().map(|s| s.view())).unwrap();
        assert_eq!(run.spectrogram, core);
        let out = run.finish(false).unwrap();
        assert_eq!(out.stats, out.channel, "default axes are per channel");
        assert_eq!(out.stats.provenance.folds, vec![2, 3]);
        assert_eq!(out.stats.provenance.clips, 8);
        assert_eq!(out.stats.provenance.shards, None);
    }
}

#[test]
fn shards_merge_to_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(&dir.path().join("esc"));
    for axes in [Axes::Channel, Axes::Global] {
        let single = dataset_stats(
            &ds,
            &StatsRequest {
                axes,
                ..request(Shard::FULL)
            },
            &|| {},
        )
        .unwrap()
        .finish(false)
        .unwrap();
        let mut files = Vec::new();
        let mut sizes = Vec::new();
        for k in 1..=3 {
            let part = dataset_stats(
                &ds,
                &StatsRequest {
                    axes,
                    ..request(Shard::new(k, 3).unwrap())
                },
                &|| {},
            )
            .unwrap();
            sizes.push(part.spectrogram.clips());
            let p = dir.path().join(format!("part-{k}.json"));
            part.save(&p).unwrap();
            assert_eq!(
                DatasetStats::load(&p).unwrap(),
                part,
                "partial files round-trip exactly"
            );
            files.push(p);
        }
        assert_eq!(
            sizes,
            vec![3, 3, 2],
            "round robin: sizes differ by at most one"
        );
        let forward = merge_files(&files, false).unwrap();
        files.reverse();
        let backward = merge_files(&files, false).unwrap();
        assert_eq!(
            forward, backward,
            "the merge order is fixed: bit-for-bit reproducible"
        );
        let merged = forward.finish(false).unwrap();
        assert_eq!(merged.stats.shape, single.stats.shape);
        assert_eq!(merged.stats.count, single.stats.count);
        assert!(rel_max(&merged.stats.mean, &single.stats.mean) <= 1e-12);
        assert!(rel_max(&merged.stats.std, &single.stats.std) <= 1e-12);
        assert!(rel_max(&merged.channel.std, &single.channel.std) <= 1e-12);
        let shards = merged.stats.provenance.shards.clone().unwrap();
        assert_eq!(
            (shards.count, shards.merged.clone(), shards.missing.len()),
            (3, vec![1, 2, 3], 0)
        );
        let mut without = merged.stats.provenance.clone();
        without.shards = None;
        assert_eq!(
            without, single.stats.provenance,
            "otherwise the same provenance"
        );
        // the same outputs as a single run
        let paths = write_outputs(
            &dir.path().join("out/stats.json"),
            &merged,
            &short_features(),
        )
        .unwrap();
        for p in [&paths.json, &paths.mean_npy, &paths.std_npy, &paths.png] {
            assert!(p.is_file(), "{}", p.display());
        }
    }
}

fn err_text(r: Result<DatasetStats, PipelineError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn merge_refuses_what_does_not_belong_together() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(&dir.path().join("esc"));
    let save = |name: &str, req: StatsRequest, ds: &Dataset| -> PathBuf {
        let p = dir.path().join(name);
        dataset_stats(ds, &req, &|| {}).unwrap().save(&p).unwrap();
        p
    };
    let s = |k| Shard::new(k, 2).unwrap();
    let a = save("a.json", request(s(1)), &ds);
    let b = save("b.json", request(s(2)), &ds);
    let mut mel_features = short_features();
    mel_features.spectrogram.mel = Some(Default::default());
    let mel = save(
        "mel.json",
        StatsRequest {
            features: mel_features,
            ..request(s(2))
        },
        &ds,
    );
    let fold = save(
        "fold.json",
        StatsRequest {
            valid_fold: 2,
            ..request(s(2))
        },
        &ds,
    );
    let axes = save(
        "axes.json",
        StatsRequest {
            axes: Axes::Global,
            ..request(s(2))
        },
        &ds,
    );
    let sample = save(
        "sample.json",
        StatsRequest {
            sample: Some(Sample {
                fraction: 0.5,
                seed: 1,
            }),
            ..request(s(2))
        },
        &ds,
    );
    let three = save("three.json", request(Shard::new(2, 3).unwrap()), &ds);
    let cases: [(&PathBuf, &str); 5] = [
        (&mel, "different feature configurations"),
        (&fold, "different validation folds"),
        (&axes, "different axes"),
        (&sample, "different sampling"),
        (&three, "a shard of 2 but"),
    ];
    for (other, reason) in cases {
        let e = err_text(merge_files(&[a.clone(), other.clone()], false));
        assert!(e.contains(reason), "{reason}: {e}");
        assert!(
            e.contains("a.json") && e.contains(&*other.display().to_string()),
            "{e}"
        );
    }
    // a shard given twice
    let e = err_text(merge_files(&[a.clone(), b.clone(), a.clone()], false));
    assert!(
        e.contains("shard 1/2 is given twice") && e.contains("a.json"),
        "{e}"
    );
    // a missing shard, then accepted and recorded
    let e = err_text(merge_files(std::slice::from_ref(&a), false));
    assert!(
        e.contains("[2] of 2 are missing from") && e.contains("a.json"),
        "{e}"
    );
    assert!(e.contains("--allow-partial"), "{e}");
    let partial = merge_files(std::slice::from_ref(&a), true).unwrap();
    assert!(partial.finish(false).is_err());
    let f = partial.finish(true).unwrap();
    let shards = f.stats.provenance.shards.unwrap();
    assert_eq!((shards.merged, shards.missing), (vec![1], vec![2]));
    assert!(f.stats.provenance.note.unwrap().contains("--allow-partial"));
    // another dataset: one clip rewritten with a different length
    let other_root = dir.path().join("esc2");
    let ds2 = dataset(&other_root);
    let item: &Item = &ds2.items()[0];
    write_wav(&item.path, &vec![0.1f32; 4000], 16_000, 1, WavFormat::Pcm16).unwrap();
    let changed = save(
        "changed.json",
        request(s(2)),
        &Dataset::open(&other_root).unwrap(),
    );
    let e = err_text(merge_files(&[a.clone(), changed], false));
    assert!(e.contains("different datasets"), "{e}");
    // the same dataset mounted elsewhere merges fine
    let elsewhere = save(
        "elsewhere.json",
        request(s(2)),
        &dataset(&dir.path().join("copy")),
    );
    merge_files(&[a.clone(), elsewhere], false).unwrap();
    // in-memory merges are labelled by the caller
    let e = merge(&[]).unwrap_err().to_string();
    assert!(e.contains("nothing to merge"), "{e}");
}

#[test]
fn partial_files_are_validated_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(&dir.path().join("esc"));
    let part = dataset_stats(&ds, &request(Shard::new(1, 2).unwrap()), &|| {}).unwrap();
    let good = part.to_json().unwrap();
    assert_eq!(DatasetStats::from_json(&good, None).unwrap(), part);
    let cases = [
        (
            good.replacen("specnorm-stats-partial", "specnorm-stats", 1),
            "format is",
        ),
        (
            good.replacen("\"version\": 1", "\"version\": 2", 1),
            "unsupported version 2",
        ),
        (
            good.replacen("\"shard\": 1,", "\"shard\": 3,", 1),
            "outside 1..=2",
        ),
        (
            good.replacen("\"shard_count\": 2", "\"shard_count\": 0", 1),
            "shard_count is 0",
        ),
        (
            good.replacen("\"clips\": 4,", "\"clips\": 5,", 1),
            "the shards list 5 clips",
        ),
        (negative_m2(&good), "not a finite value >= 0"),
        (
            good.replacen("\"axes\": \"channel\"", "\"axes\": \"diagonal\"", 1),
            "unknown variant",
        ),
        (good[..good.len() / 2].to_string(), "EOF"),
    ];
    for (doc, reason) in cases {
        assert_ne!(doc, good, "{reason}");
        let p = dir.path().join("bad.json");
        std::fs::write(&p, &doc).unwrap();
        let e = DatasetStats::load(&p).unwrap_err().to_string();
        assert!(
            e.contains(reason) && e.contains("bad.json"),
            "{reason}: {e}"
        );
    }
}

#[test]
fn sampling_is_seeded_and_sized_and_bad_clips_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(&dir.path().join("esc"));
    let items: Vec<Item> = ds.items().to_vec();
    let pick = |fraction, seed| {
        Sample { fraction, seed }
            .choose(items.clone())
            .map(|v| v.iter().map(|i| i.filename.clone()).collect::<Vec<_>>())
    };
    assert_eq!(pick(0.25, 7).unwrap().len(), 3);
    assert_eq!(pick(0.25, 7).unwrap(), pick(0.25, 7).unwrap());
    assert_ne!(pick(0.5, 7).unwrap(), pick(0.5, 8).unwrap());
    assert!(pick(0.0, 1).is_err() && pick(1.5, 1).is_err() && pick(f64::NAN, 1).is_err());

    let victim = &ds.items().iter().find(|i| i.fold == 3).unwrap().path;
    std::fs::write(victim, b"not audio").unwrap();
    let e = dataset_stats(&ds, &request(Shard::FULL), &|| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1 file(s)") && e.contains(&*victim.display().to_string()),
        "{e}"
    );
    let run = dataset_stats(
        &ds,
        &StatsRequest {
            skip_bad: true,
            ..request(Shard::FULL)
        },
        &|| {},
    )
    .unwrap();
    assert_eq!(
        (run.spectrogram.clips(), run.bad.len(), run.parts[0].bad),
        (7, 1, 1)
    );
    let note = run.finish(false).unwrap().stats.provenance.note.unwrap();
    assert!(note.contains("1 bad files skipped"), "{note}");
}

fn negative_m2(doc: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(doc).unwrap();
    let m2 = &mut v["partial"]["spectrogram"]["accumulator"]["state"]["m2"][0];
    *m2 = serde_json::json!(-1.0 - m2.as_f64().unwrap());
    serde_json::to_string(&v).unwrap()
}
