//! The accumulator's exact state: bit-for-bit serde round trip, validation on load, and the
//! derived (collapsed) statistics.

use ndarray::Array4;
use proptest::prelude::*;
use specnorm_stats::StatsAccumulator;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any finite means and non-negative M2 (subnormals, huge, negative zero) come back as the
    /// same bits, and the loaded accumulator continues exactly like the original.
    #[test]
    fn json_round_trip_is_bit_for_bit(
        mean_bits in proptest::collection::vec(any::<u64>(), 1..6),
        m2_bits in proptest::collection::vec(any::<u64>(), 6),
        count in 2u64..1_000_000,
    ) {
        let mean: Vec<f64> = mean_bits.iter().map(|&b| {
            let v = f64::from_bits(b);
            if v.is_finite() { v } else { f64::from_bits(b & 0x000f_ffff_ffff_ffff) }
        }).collect();
        let g = mean.len();
        let m2: Vec<f64> = m2_bits[..g].iter().map(|&b| {
            let v = f64::from_bits(b & 0x7fff_ffff_ffff_ffff);
            if v.is_finite() { v } else { 1.5 }
        }).collect();
        let acc = StatsAccumulator::from_moments(&[0, 1, 3], &[1, 1, g, 1], count, mean.clone(), m2.clone()).unwrap();
        let back = StatsAccumulator::from_json(&acc.to_json().unwrap()).unwrap();
        prop_assert_eq!(bits(back.means()), bits(&mean));
        prop_assert_eq!(bits(back.m2s()), bits(&m2));
        prop_assert_eq!(back.count(), count);
        prop_assert_eq!(&back, &acc);
    }
}

#[test]
fn a_loaded_accumulator_continues_exactly() {
    let a = Array4::from_shape_fn((3, 1, 7, 11), |(b, _, f, t)| {
        ((b * 131 + f * 17 + t * 7) % 29) as f32 * 0.37 - 41.3
    });
    let b = Array4::from_shape_fn((2, 1, 7, 5), |(b, _, f, t)| (b + f * t) as f32 * -1.1);
    let mut acc = StatsAccumulator::per_channel();
    acc.update(a.view()).unwrap();
    let mut loaded = StatsAccumulator::from_json(&acc.to_json().unwrap()).unwrap();
    acc.update(b.view()).unwrap();
    loaded.update(b.view()).unwrap();
    assert_eq!(loaded, acc);
    assert_eq!(bits(loaded.means()), bits(acc.means()));
}

#[test]
fn corrupt_states_are_refused_with_a_reason() {
    let good = StatsAccumulator::from_moments(
        &[0, 1, 3],
        &[1, 1, 2, 1],
        4,
        vec![1.0, -2.0],
        vec![3.0, 0.5],
    )
    .unwrap()
    .to_json()
    .unwrap();
    let cases = [
        (
            good.replace("\"m2\":[3.0,0.5]", "\"m2\":[-3.0,0.5]"),
            "not a finite value >= 0",
        ),
        (
            good.replace("\"mean\":[1.0,-2.0]", "\"mean\":[1.0]"),
            "needs 2",
        ),
        (
            good.replace("[1,1,2,1]", "[2,1,2,1]"),
            "reduced axis 0 has size 2",
        ),
        (
            good.replace("\"axes\":[0,1,3]", "\"axes\":[0,0,3]"),
            "more than once",
        ),
        (
            good.replace("\"axes\":[0,1,3]", "\"axes\":[0,1,7]"),
            "out of range",
        ),
        (good.replace("\"count\":4", "\"count\":1"), "has M2 = 0"),
        (good.replace("\"count\":4", "\"count\":0"), "M2 = 0"),
        (good.replace("\"count\":4", "\"count\":-4"), "invalid value"),
        (
            good.replace("\"mean\":[1.0,-2.0]", "\"mean\":[1e999,-2.0]"),
            "number out of range",
        ),
        (
            good.replace("\"count\":4", "\"count\":4,\"extra\":1"),
            "unknown field",
        ),
    ];
    for (doc, reason) in cases {
        assert_ne!(doc, good, "the case must change the document ({reason})");
        let e = StatsAccumulator::from_json(&doc).unwrap_err().to_string();
        assert!(e.contains(reason), "{reason}: {e}\n{doc}");
    }
    assert!(StatsAccumulator::from_moments(
        &[0, 1, 3],
        &[1, 1, 2, 1],
        0,
        vec![0.0; 2],
        vec![0.0; 2]
    )
    .is_ok());
    let e = StatsAccumulator::from_moments(&[0, 1, 3], &[1, 1, 1, 1], 0, vec![2.0], vec![0.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds no elements"), "{e}");
}

/// Exact reference for integer-valued data: sums in i128, one rounding at the end.
fn exact(values: &[i64]) -> (f64, f64) {
    let n = values.len() as i128;
    let s: i128 = values.iter().map(|&v| v as i128).sum();
    let q: i128 = values.iter().map(|&v| (v as i128) * (v as i128)).sum();
    let mean = s as f64 / n as f64;
    // population variance = (n q - s^2) / n^2, the numerator exact in i128
    let var = (n * q - s * s) as f64 / (n * n) as f64;
    (mean, var)
}

#[test]
fn global_from_channel_groups_equals_a_global_accumulator() {
    // [B, 1, F, T] batches of integer dB-like values with a large offset (stresses cancellation).
    let batches: Vec<Array4<f32>> = (0..4)
        .map(|k| {
            Array4::from_shape_fn((2 + k % 2, 1, 13, 17 + 3 * k), |(b, _, f, t)| {
                (-5000 + ((b * 7919 + f * 104_729 + t * 31 + k * 13) % 211) as i64 - f as i64 * 9)
                    as f32
            })
        })
        .collect();
    let mut one = StatsAccumulator::new(&[0, 3]);
    let mut global = StatsAccumulator::global();
    let mut channel = StatsAccumulator::per_channel();
    for b in &batches {
        one.update(b.view()).unwrap();
        global.update(b.view()).unwrap();
        channel.update(b.view()).unwrap();
    }
    // per channel: a size-1 axis more reduced is the same state, bit for bit
    assert_eq!(one.collapse(&[0, 1, 3]).unwrap(), channel);
    let derived = one.collapse(&[0, 2, 3]).unwrap();
    assert_eq!(derived.axes(), global.axes());
    assert_eq!(derived.shape(), global.shape());
    assert_eq!(derived.count(), global.count());
    let (d, g) = (derived.finalize().unwrap(), global.finalize().unwrap());
    let all: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.iter().map(|&v| v as i64))
        .collect();
    let (mean, var) = exact(&all);
    for s in [&d, &g] {
        let m = s.mean[[0, 0, 0, 0]];
        let v = s.std[[0, 0, 0, 0]].powi(2);
        assert!((m - mean).abs() <= 1e-14 * mean.abs(), "{m} vs {mean}");
        assert!((v - var).abs() <= 1e-12 * var, "{v} vs {var}");
    }
    let rel = (d.mean[[0, 0, 0, 0]] - g.mean[[0, 0, 0, 0]]).abs() / g.mean[[0, 0, 0, 0]].abs();
    assert!(rel <= 1e-14, "{rel}");
    // and a further collapse of the global state is the identity
    let again = derived.collapse(&[0, 1, 2, 3]).unwrap();
    assert_eq!(bits(again.means()), bits(derived.means()));
    assert_eq!(bits(again.m2s()), bits(derived.m2s()));
    // axes that un-reduce are refused
    assert!(one.collapse(&[0]).is_err());
    assert!(global.collapse(&[0, 1, 3]).is_err());
    assert!(StatsAccumulator::new(&[0, 3])
        .collapse(&[0, 2, 3])
        .unwrap()
        .is_empty());
}
