//! specnorm-analysis against scipy, statsmodels and numpy: the values in
//! `tests/reference/values.json`, written by `tests/reference/make_reference.py`.

use serde_json::Value;
use specnorm_analysis::distribution::{histogram, quantiles, summarize, Reservoir};
use specnorm_analysis::power::{detectable_effect, noncentral_t_cdf, paired_power, runs_needed};

fn reference() -> Value {
    serde_json::from_str(include_str!("reference/values.json")).expect("reference JSON")
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn n(v: &Value, k: &str) -> usize {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")) as usize
}

/// The fixture of make_reference.py.
fn fixture() -> Vec<f64> {
    (0..201)
        .map(|i| (2.0 * (0.7 * i as f64).sin()).exp() + 0.3 * (i % 7) as f64 - 1.0)
        .collect()
}

#[test]
fn noncentral_t_cdf_matches_scipy() {
    let r = reference();
    let rows = r["nct_cdf"].as_array().unwrap();
    assert_eq!(rows.len(), 175);
    for row in rows {
        let got = noncentral_t_cdf(f(row, "t"), f(row, "df"), f(row, "ncp"));
        let want = f(row, "cdf");
        assert!((got - want).abs() < 1e-10, "{row}: {got}");
    }
}

#[test]
fn paired_power_matches_statsmodels() {
    for row in reference()["paired_power"].as_array().unwrap() {
        let got = paired_power(f(row, "effect"), n(row, "n"), f(row, "alpha")).unwrap();
        assert!((got - f(row, "power")).abs() < 1e-9, "{row}: {got}");
    }
}

#[test]
fn detectable_effect_matches_the_root_of_scipys_power() {
    for row in reference()["detectable_effect"].as_array().unwrap() {
        let got = detectable_effect(n(row, "n"), f(row, "alpha"), f(row, "power")).unwrap();
        assert!((got / f(row, "effect") - 1.0).abs() < 1e-9, "{row}: {got}");
    }
}

#[test]
fn runs_needed_matches_statsmodels_rounded_up() {
    for row in reference()["runs_needed"].as_array().unwrap() {
        let got = runs_needed(f(row, "effect"), f(row, "alpha"), f(row, "power"), 10_000).unwrap();
        assert_eq!(got, Some(n(row, "n")), "{row}");
    }
}

#[test]
fn summary_matches_numpy_and_scipy() {
    let r = reference();
    let d = &r["distribution"];
    let x = fixture();
    let qs: Vec<f64> = d["quantiles"]["q"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let s = summarize(&x, &qs, 12).unwrap();
    assert_eq!(s.count, n(d, "n"));
    let close = |a: f64, b: f64, what: &str| {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        )
    };
    close(s.mean, f(d, "mean"), "mean");
    close(s.std, f(d, "std"), "std");
    close(s.skewness, f(d, "skewness"), "skewness");
    close(
        s.excess_kurtosis,
        f(d, "excess_kurtosis"),
        "excess kurtosis",
    );
    for ((q, got), want) in s
        .quantiles
        .iter()
        .zip(d["quantiles"]["value"].as_array().unwrap())
    {
        close(*got, want.as_f64().unwrap(), &format!("quantile {q}"));
    }
    let h = &d["histogram"];
    let counts: Vec<u64> = h["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(s.histogram.counts, counts);
    for (got, want) in s.histogram.edges.iter().zip(h["edges"].as_array().unwrap()) {
        close(*got, want.as_f64().unwrap(), "edge");
    }
}

#[test]
fn histogram_closes_the_last_bin_and_handles_constant_samples() {
    let h = histogram(&[0.0, 1.0, 2.0, 3.0], 3).unwrap();
    assert_eq!(h.counts, vec![1, 1, 2]); // numpy: [1, 1, 2]
    let c = histogram(&[5.0; 4], 2).unwrap();
    assert_eq!(
        (c.edges.clone(), c.counts.clone()),
        (vec![4.5, 5.0, 5.5], vec![0, 4])
    );
}

/// A spectrogram sample is mostly one value where the audio is silent (the dB floor). The
/// quickselect of ndarray-stats' `quantiles_mut` overflowed the stack on this (it recursed once
/// per equal value); `quantiles` sorts instead. Reference: numpy 2,
/// `np.quantile(x, [0.01, 0.5, 0.99, 0.9995])` with x = 300000 x -100 and x[7 i] = i for
/// i < 1000: [-100, -100, -100, 849.0005].
#[test]
fn quantiles_of_a_sample_with_many_equal_values() {
    let mut x = vec![-100.0; 300_000];
    for i in 0..1000 {
        x[7 * i] = i as f64;
    }
    let q = quantiles(&x, &[0.01, 0.5, 0.99, 0.9995]).unwrap();
    assert_eq!(&q[..3], [-100.0, -100.0, -100.0]);
    assert!((q[3] - 849.0005).abs() < 1e-9, "{}", q[3]);
}

#[test]
fn invalid_samples_are_refused() {
    assert!(quantiles(&[], &[0.5]).is_err());
    assert!(quantiles(&[1.0, f64::NAN], &[0.5]).is_err());
    assert!(quantiles(&[1.0, 2.0], &[1.5]).is_err());
    assert!(summarize(&[1.0, 1.0, 1.0], &[0.5], 4).is_err());
    assert!(histogram(&[1.0, f64::INFINITY], 4).is_err());
}

#[test]
fn reservoir_is_reproducible_and_uniform() {
    let mut a = Reservoir::new(10, 7);
    let mut b = Reservoir::new(10, 7);
    a.extend((0..1000).map(f64::from));
    b.extend((0..1000).map(f64::from));
    assert_eq!(a.values(), b.values());
    assert_eq!(a.seen(), 1000);
    let mut short = Reservoir::new(10, 1);
    short.extend([3.0, 1.0, 2.0]);
    assert_eq!(short.values(), &[3.0, 1.0, 2.0]);
    // Each of 20 positions is kept with probability 5/20 = 1/4: over 4000 seeds the counts
    // are Binomial(4000, 1/4), mean 1000, sd 27.4; a chi-square over the 20 cells with 19
    // degrees of freedom stays below 43.8 (p = 0.001) for a uniform sampler.
    let mut hits = [0u32; 20];
    for seed in 0..4000 {
        let mut r = Reservoir::new(5, seed);
        r.extend((0..20).map(f64::from));
        for &v in r.values() {
            hits[v as usize] += 1;
        }
    }
    let chi2: f64 = hits
        .iter()
        .map(|&h| (h as f64 - 1000.0).powi(2) / 1000.0)
        .sum();
    assert!(chi2 < 43.8, "chi-square {chi2} over {hits:?}");
}
