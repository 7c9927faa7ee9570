//! Bad statistics files and statistics that do not fit the features.

mod common;

use common::*;
use ndarray::{Array4, ArrayD, IxDyn};
use specnorm_dsp::MelConfig;
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_norm::Normalizer;
use specnorm_stats::{Provenance, Stats, StatsAccumulator};

/// Per-channel statistics of 201 linear-frequency bins, as `specnorm stats` writes them.
fn stats_201() -> Stats {
    let batch = Array4::from_shape_fn((2, 1, 201, 10), |(b, _, f, t)| {
        -50.0 + f as f32 * 0.1 + (b * 10 + t) as f32
    });
    let mut acc = StatsAccumulator::per_channel();
    acc.update(batch.view()).unwrap();
    acc.finalize().unwrap().with_provenance(Provenance {
        folds: vec![2, 3],
        ..Provenance::default()
    })
}

#[test]
fn round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stats.json");
    let s = stats_201();
    s.save_json(&p).unwrap();
    assert_eq!(Stats::load_json(&p).unwrap(), s);
}

#[test]
fn corrupt_json_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = stats_201().to_json().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.json", vec![], "stats json"),
        ("garbage.json", b"\x00\x01not json".to_vec(), "stats json"),
        (
            "cut.json",
            good.as_bytes()[..good.len() / 2].to_vec(),
            "stats json",
        ),
        ("array.json", b"[1, 2, 3]".to_vec(), "stats json"),
        (
            "nonutf8.json",
            b"{\"format\": \"\xff\"}".to_vec(),
            "i/o error",
        ),
        (
            "wrongformat.json",
            good.replacen("specnorm-stats", "other", 1).into_bytes(),
            "format is \"other\"",
        ),
        (
            "negstd.json",
            good.replacen("\"std\": [\n    ", "\"std\": [\n    -", 1)
                .into_bytes(),
            "is not a finite value >= 0",
        ),
        (
            "badshape.json",
            good.replacen("201", "202", 1).into_bytes(),
            "needs 202",
        ),
    ];
    for (name, bytes, reason) in cases {
        let p = put(dir.path(), name, &bytes);
        assert_msg(&err(Stats::load_json(&p)), name, reason);
    }
    assert_msg(
        &err(Stats::load_json(&dir.path().join("none.json"))),
        "none.json",
        "i/o error",
    );
}

#[test]
fn absurd_shapes_are_errors_not_panics() {
    // A shape whose element count overflows usize must not panic (multiply overflow).
    let dir = tempfile::tempdir().unwrap();
    for shape in [
        "[4294967296, 4294967296, 4294967296, 1]",
        "[18446744073709551615, 2, 1, 1]",
        "[0, 1, 1, 1]",
    ] {
        let doc = format!(
            "{{\"format\":\"specnorm-stats\",\"version\":1,\"axes\":[3],\"shape\":{shape},\
             \"count\":[],\"mean\":[],\"std\":[],\"sample_std\":[]}}"
        );
        let p = put(dir.path(), "shape.json", doc.as_bytes());
        match Stats::load_json(&p) {
            Err(e) => assert_msg(&e, "shape.json", "shape"),
            // an empty shape product with empty arrays is self-consistent
            Ok(s) => assert_eq!(s.groups(), 0),
        }
    }
}

#[test]
fn channel_stats_on_mel_features_name_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stats.json");
    stats_201().save_json(&p).unwrap();
    let norm = Normalizer::for_validation_fold(&Stats::load_json(&p).unwrap(), 1).unwrap();
    // 128-bin mel features of a 1 kHz tone
    let fx = FeatureExtractor::new(FeatureConfig {
        spectrogram: specnorm_dsp::SpectrogramConfig {
            mel: Some(MelConfig::default()),
            ..Default::default()
        },
        ..FeatureConfig::default()
    })
    .unwrap();
    let spec = fx
        .extract_samples(&sine(1000.0, 16_000, 16_000, 0.5), 16_000)
        .unwrap();
    assert_eq!(spec.dim(), (128, 401));
    let mut batch = spec
        .insert_axis(ndarray::Axis(0))
        .insert_axis(ndarray::Axis(0));
    let before = batch.clone();
    let e = err(norm.encode(batch.view_mut()));
    let msg = e.to_string();
    assert!(
        msg.contains("[201, 1]") && msg.contains("[1, 1, 128, 401]"),
        "{msg}"
    );
    assert!(
        msg.contains("201") && msg.contains("128 frequency bins"),
        "{msg}"
    );
    assert_eq!(batch, before, "a failed encode must not touch the batch");
    // The accumulator refuses a batch of another shape, naming both.
    let mut acc = StatsAccumulator::per_channel();
    acc.update(Array4::<f32>::zeros((1, 1, 201, 5)).view())
        .unwrap();
    let e = err(acc.update(batch.view()));
    let msg = e.to_string();
    assert!(
        msg.contains("[1, 1, 201, 1]") && msg.contains("[1, 1, 128, 401]"),
        "{msg}"
    );
}

#[test]
fn non_finite_batches_and_degenerate_stats() {
    let mut acc = StatsAccumulator::global();
    let mut b = Array4::<f32>::zeros((1, 1, 4, 4));
    b[[0, 0, 2, 3]] = f32::NAN;
    let e = err(acc.update(b.view()));
    assert!(e.to_string().contains("index 11"), "{e}");
    assert!(
        acc.is_empty(),
        "a failed update leaves the accumulator unchanged"
    );
    assert!(acc.finalize().is_err());
    // Constant features: std 0 cannot normalize.
    acc.update(Array4::<f32>::from_elem((2, 1, 4, 4), -100.0).view())
        .unwrap();
    let s = acc.finalize().unwrap();
    assert_eq!(s.std[[0, 0, 0, 0]], 0.0);
    assert_msg(&err(Normalizer::from_stats(&s)), "std 0", "need finite");
    // Fixed arrays that do not broadcast.
    let n = Normalizer::Fixed {
        mean: ArrayD::zeros(IxDyn(&[3, 1])),
        std: ArrayD::ones(IxDyn(&[3, 1])),
    };
    let mut x = Array4::<f32>::zeros((1, 1, 4, 4));
    assert_msg(&err(n.encode(x.view_mut())), "[3, 1]", "broadcast");
}
