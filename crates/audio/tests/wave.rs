//! normalize_waveform and pad_or_trim.

mod common;

use specnorm_audio::{normalize_waveform, pad_or_trim};

#[test]
fn normalize_matches_torch_bessel_std() {
    // torch: x = tensor([1., 2., 3., 4.]); (x - x.mean()) / x.std()
    //   -> [-1.1619, -0.3873, 0.3873, 1.1619]; x.std() = 1.2909944 (n - 1).
    let mut x = vec![1.0f32, 2.0, 3.0, 4.0];
    let s = normalize_waveform(&mut x);
    assert!(!s.degenerate);
    assert_eq!(s.mean, 2.5);
    assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15, "{}", s.std);
    let expect = [-1.161_895, -0.387_298_3, 0.387_298_3, 1.161_895];
    for (a, b) in x.iter().zip(expect) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn silence_is_degenerate_and_stays_zero() {
    let mut x = vec![0.0f32; 1000];
    let s = normalize_waveform(&mut x);
    assert!(s.degenerate);
    assert_eq!((s.mean, s.std), (0.0, 1.0));
    assert!(x.iter().all(|&v| v == 0.0));
}

#[test]
fn constant_is_mean_centred() {
    let mut x = vec![0.3f32; 17];
    let s = normalize_waveform(&mut x);
    assert!(s.degenerate);
    assert_eq!(s.std, 1.0);
    assert!((s.mean - 0.3).abs() < 1e-7);
    assert!(x.iter().all(|&v| v == 0.0), "{x:?}");
}

#[test]
fn single_sample_and_empty() {
    let mut x = vec![0.7f32];
    let s = normalize_waveform(&mut x);
    assert!(s.degenerate);
    assert_eq!(x, vec![0.0]);
    let mut e: Vec<f32> = Vec::new();
    let s = normalize_waveform(&mut e);
    assert!(s.degenerate);
    assert_eq!((s.mean, s.std), (0.0, 1.0));
}

#[test]
fn two_samples() {
    let mut x = vec![-1.0f32, 1.0];
    let s = normalize_waveform(&mut x);
    assert!(!s.degenerate);
    assert!((s.std - 2f64.sqrt()).abs() < 1e-15);
    assert!((x[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-7);
}

#[test]
fn pad_and_trim() {
    let mut x = vec![1.0f32, 2.0, 3.0];
    pad_or_trim(&mut x, 5);
    assert_eq!(x, vec![1.0, 2.0, 3.0, 0.0, 0.0]);
    pad_or_trim(&mut x, 2);
    assert_eq!(x, vec![1.0, 2.0]);
    pad_or_trim(&mut x, 2);
    assert_eq!(x, vec![1.0, 2.0]);
    pad_or_trim(&mut x, 0);
    assert!(x.is_empty());
    pad_or_trim(&mut x, 3);
    assert_eq!(x, vec![0.0; 3]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, failure_persistence: None, ..proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn normalized_has_zero_mean_unit_std(n in 2usize..3000, amp in 1e-3f32..10.0, off in -5.0f32..5.0, seed in 0u64..10_000) {
        let mut x: Vec<f32> = common::noise(n, amp, seed).iter().map(|v| v + off).collect();
        let s = normalize_waveform(&mut x);
        proptest::prop_assert!(!s.degenerate);
        let m = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        proptest::prop_assert!(m.abs() < 1e-5, "mean {}", m);
        proptest::prop_assert!((var.sqrt() - 1.0).abs() < 1e-5, "std {}", var.sqrt());
        proptest::prop_assert!(x.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn pad_or_trim_length_and_prefix(n in 0usize..100, len in 0usize..100) {
        let orig = common::noise(n, 1.0, 5);
        let mut x = orig.clone();
        pad_or_trim(&mut x, len);
        proptest::prop_assert_eq!(x.len(), len);
        let k = n.min(len);
        proptest::prop_assert_eq!(&x[..k], &orig[..k]);
        proptest::prop_assert!(x[k..].iter().all(|&v| v == 0.0));
    }
}
