//! Normalizer behaviour, inverses (proptest), leakage guard, shape errors, PCEN parity with librosa.

use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
use ndarray_npy::read_npy;
use proptest::prelude::*;
use specnorm_norm::{pcen, NormError, Normalizer, PcenConfig};
use specnorm_stats::{Provenance, Stats, StatsAccumulator};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/fixtures/norm/");

fn stats_of(batch: &Array4<f32>, axes: &[usize], folds: Vec<u32>) -> Stats {
    let mut acc = StatsAccumulator::new(axes);
    acc.update(batch.view()).unwrap();
    acc.finalize().unwrap().with_provenance(Provenance {
        folds,
        ..Provenance::default()
    })
}

fn sample_batch() -> Array4<f32> {
    Array4::from_shape_fn((3, 1, 5, 7), |(b, _, f, t)| {
        -60.0 + 8.0 * f as f32 + ((b * 13 + t * 7 + f * 3) % 11) as f32
    })
}

#[test]
fn from_stats_picks_variant_and_standardizes() {
    let x = sample_batch();
    let g = Normalizer::from_stats(&stats_of(&x, &[0, 2, 3], vec![1])).unwrap();
    assert_eq!(g.name(), "global");
    let pc = Normalizer::from_stats(&stats_of(&x, &[0, 1, 3], vec![1])).unwrap();
    assert_eq!(pc.name(), "per_channel");
    let fx = Normalizer::from_stats(&stats_of(&x, &[0, 1, 2], vec![1])).unwrap();
    assert_eq!(fx.name(), "fixed"); // per-frame stats [1,1,1,T]

    for (norm, axes) in [
        (&g, vec![0usize, 2, 3]),
        (&pc, vec![0, 1, 3]),
        (&fx, vec![0, 1, 2]),
    ] {
        let mut y = x.clone();
        norm.encode(y.view_mut()).unwrap();
        let s = stats_of(&y, &axes, vec![]);
        assert!(
            s.mean.iter().all(|m| m.abs() < 1e-5),
            "{} {:?}",
            norm.name(),
            s.mean
        );
        assert!(
            s.std.iter().all(|v| (v - 1.0).abs() < 1e-5),
            "{} {:?}",
            norm.name(),
            s.std
        );
    }
    // global values by hand: mean/std of the whole batch
    if let Normalizer::Global { mean, std } = g {
        let v: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / v.len() as f64).sqrt();
        assert!((mean as f64 - m).abs() < 1e-5 && (std as f64 - sd).abs() < 1e-5);
    }
}

#[test]
fn leakage_guard() {
    let s = stats_of(&sample_batch(), &[0, 2, 3], vec![1, 2, 3, 4]);
    assert!(Normalizer::for_validation_fold(&s, 5).is_ok());
    let e = Normalizer::for_validation_fold(&s, 3).unwrap_err();
    assert!(matches!(e, NormError::Leakage(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("validation fold 3") && msg.contains("[1, 2, 3, 4]"),
        "{msg}"
    );
    let none = stats_of(&sample_batch(), &[0, 2, 3], vec![]);
    assert!(matches!(
        Normalizer::for_validation_fold(&none, 5),
        Err(NormError::Leakage(_))
    ));
}

#[test]
fn shape_mismatch_names_both_shapes() {
    let mut acc = StatsAccumulator::per_channel();
    acc.update(Array4::from_shape_fn((2, 1, 201, 4), |(b, _, f, t)| (b + f + t) as f32).view())
        .unwrap();
    let n = Normalizer::from_stats(&acc.finalize().unwrap()).unwrap();
    let mut mel = Array4::<f32>::zeros((8, 1, 128, 50));
    let e = n.encode(mel.view_mut()).unwrap_err().to_string();
    assert!(e.contains("201") && e.contains("[8, 1, 128, 50]"), "{e}");
    assert!(n.decode(mel.view_mut()).is_err());

    let fixed = Normalizer::Fixed {
        mean: ArrayD::zeros(IxDyn(&[1, 1, 201, 1])),
        std: ArrayD::ones(IxDyn(&[1, 1, 201, 1])),
    };
    let e = fixed.encode(mel.view_mut()).unwrap_err().to_string();
    assert!(
        e.contains("[1, 1, 201, 1]") && e.contains("[8, 1, 128, 50]"),
        "{e}"
    );
    // a 1-d batch cannot be per-channel
    let mut v = Array1::<f32>::zeros(201);
    assert!(matches!(
        n.encode(v.view_mut()),
        Err(NormError::RankTooLow { .. })
    ));
}

#[test]
fn invalid_parameters_are_errors() {
    let mut x = sample_batch();
    for n in [
        Normalizer::Global {
            mean: 0.0,
            std: 0.0,
        },
        Normalizer::Global {
            mean: f32::NAN,
            std: 1.0,
        },
        Normalizer::PerChannel {
            mean: vec![0.0; 5],
            std: vec![1.0; 4],
        },
        Normalizer::PerInstance { eps: -1.0 },
        Normalizer::Pcen(PcenConfig {
            time_constant: 0.0,
            ..PcenConfig::default()
        }),
    ] {
        let before = x.clone();
        assert!(n.encode(x.view_mut()).is_err(), "{n:?}");
        assert_eq!(x, before, "failed encode must not modify the batch");
    }
    // constant group -> zero std -> from_stats refuses
    let c = Array4::<f32>::from_elem((2, 1, 3, 4), 5.0);
    assert!(Normalizer::from_stats(&stats_of(&c, &[0, 2, 3], vec![1])).is_err());
    // PCEN of a dB spectrogram (negative values) is refused
    let e = Normalizer::Pcen(PcenConfig::default())
        .encode(x.view_mut())
        .unwrap_err();
    assert!(e.to_string().contains("negative"), "{e}");
}

#[test]
fn per_instance_is_stable_and_invertible_with_side_info() {
    let mut x = Array4::from_shape_fn((3, 1, 4, 6), |(b, _, f, t)| (b * 100 + f * 6 + t) as f32);
    x.slice_mut(ndarray::s![1, .., .., ..]).fill(-7.5); // constant spectrogram
    let orig = x.clone();
    for eps in [0.0f32, 1e-5] {
        let n = Normalizer::PerInstance { eps };
        let mut y = orig.clone();
        let info = n.encode_with_info(y.view_mut()).unwrap().unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        assert!(y
            .slice(ndarray::s![1, .., .., ..])
            .iter()
            .all(|&v| v == 0.0));
        // item 0: values 0..24, mean 11.5, population std sqrt((24²-1)/12)
        let sd = ((24.0f64 * 24.0 - 1.0) / 12.0).sqrt();
        assert_eq!(info.mean[0], 11.5);
        assert!((info.scale[0] as f64 - (sd + eps as f64)).abs() < 1e-5);
        assert!((y[[0, 0, 0, 0]] as f64 + 11.5 / (sd + eps as f64)).abs() < 1e-5);
        assert!(matches!(
            n.decode(y.view_mut()),
            Err(NormError::NotInvertible(..))
        ));
        n.decode_with(y.view_mut(), &info).unwrap();
        for (a, b) in y.iter().zip(orig.iter()) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}

fn config(v: &serde_json::Value) -> PcenConfig {
    let f = |k: &str| v[k].as_f64().unwrap();
    PcenConfig {
        sample_rate: f("sr") as u32,
        hop_length: f("hop_length") as usize,
        gain: f("gain") as f32,
        bias: f("bias") as f32,
        power: f("power") as f32,
        time_constant: f("time_constant") as f32,
        eps: f("eps") as f32,
    }
}

#[test]
fn pcen_matches_librosa() {
    let s: Array2<f32> = read_npy(format!("{FIX}pcen_input.npy")).unwrap();
    let cfgs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIX}pcen_configs.json")).unwrap())
            .unwrap();
    let cfgs = cfgs.as_object().unwrap();
    assert_eq!(cfgs.len(), 4);
    for (name, c) in cfgs {
        let cfg = config(c);
        let want: Array2<f32> = read_npy(format!("{FIX}pcen_{name}.npy")).unwrap();
        let got = pcen(s.view(), &cfg).unwrap();
        assert_eq!(got.shape(), want.shape());
        let err = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("pcen {name}: max abs error vs librosa {err:e}");
        assert!(err <= 1e-4, "{name}: {err}");
        // via the Normalizer on a [B, 1, F, T] batch
        let mut batch = s
            .clone()
            .into_shape_with_order((1, 1, s.nrows(), s.ncols()))
            .unwrap();
        Normalizer::Pcen(cfg).encode(batch.view_mut()).unwrap();
        assert_eq!(batch.into_shape_with_order(s.raw_dim()).unwrap(), got);
    }
    assert_eq!(PcenConfig::default(), config(&cfgs["default"]));
}

fn batch_strategy() -> impl Strategy<Value = (Array4<f32>, Vec<f32>, Vec<f32>)> {
    (1usize..4, 1usize..6, 1usize..9).prop_flat_map(|(b, f, t)| {
        (
            prop::collection::vec(-100.0f32..100.0, b * f * t)
                .prop_map(move |v| Array4::from_shape_vec((b, 1, f, t), v).unwrap()),
            prop::collection::vec(-80.0f32..20.0, f),
            prop::collection::vec(0.01f32..50.0, f),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn decode_inverts_encode((x, means, stds) in batch_strategy(), which in 0usize..3) {
        let f = means.len();
        let n = match which {
            0 => Normalizer::Global { mean: means[0], std: stds[0] },
            1 => Normalizer::PerChannel { mean: means.clone(), std: stds.clone() },
            _ => Normalizer::Fixed {
                mean: ArrayD::from_shape_vec(IxDyn(&[1, 1, f, 1]), means.clone()).unwrap(),
                std: ArrayD::from_shape_vec(IxDyn(&[f, 1]), stds.clone()).unwrap(),
            },
        };
        let mut y = x.clone();
        n.encode(y.view_mut()).unwrap();
        if which == 1 {
            for ((b, c, fi, t), &v) in y.indexed_iter() {
                let want = (x[[b, c, fi, t]] as f64 - means[fi] as f64) / stds[fi] as f64;
                prop_assert!((v as f64 - want).abs() <= 1e-6 * want.abs().max(1.0));
            }
        }
        n.decode(y.view_mut()).unwrap();
        for (a, b) in y.iter().zip(x.iter()) {
            prop_assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{} vs {}", a, b);
        }
    }
}

#[test]
fn per_instance_matches_instance_norm_formula() {
    // torch.nn.InstanceNorm2d / ONNX InstanceNormalization: (x - mean) / sqrt(var + eps),
    // the exact graph specnorm-export writes for this normalizer.
    let mut x = ndarray::Array4::<f32>::from_shape_vec((1, 1, 1, 2), vec![0.0, 2.0]).unwrap();
    let eps = 0.25f32;
    Normalizer::PerInstance { eps }
        .encode(x.view_mut().into_dyn())
        .unwrap();
    let want = -1.0 / (1.0f32 + eps).sqrt();
    assert!((x[[0, 0, 0, 0]] - want).abs() < 1e-6, "{x:?}");
    assert!((x[[0, 0, 0, 1]] + want).abs() < 1e-6, "{x:?}");
}

#[test]
fn subnormal_std_is_rejected_not_turned_into_inf() {
    let mut x = ndarray::Array4::<f32>::from_elem((1, 1, 2, 3), -30.0);
    let err = Normalizer::Global {
        mean: 0.0,
        std: 1e-40,
    }
    .encode(x.view_mut().into_dyn())
    .unwrap_err();
    assert!(err.to_string().contains("std >= 1.1754944e-38"), "{err}");
    assert!(x.iter().all(|v| *v == -30.0), "batch untouched on error");
}
