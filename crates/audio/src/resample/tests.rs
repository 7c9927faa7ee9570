//! The resampler's builds against each other and against the previous implementation.

use super::kernel::{self, Kernel};
use super::*;

/// Rate pairs of the comparisons: downsampling by common ratios, upsampling, and pairs
/// whose reduced rates are larger than 44.1 kHz -> 16 kHz's 441 / 160.
const PAIRS: [(u32, u32); 10] = [
    (44_100, 16_000),
    (48_000, 16_000),
    (22_050, 16_000),
    (8_000, 16_000),
    (16_000, 8_000),
    (96_000, 16_000),
    (16_000, 22_050),
    (48_000, 44_100),
    (44_100, 48_000),
    (11_025, 16_000),
];

/// Input lengths: shorter than the kernel, around one block of 441, not multiples of it, and
/// one of more than 5 s at 44.1 kHz (full tiles).
const LENGTHS: [usize; 15] = [
    1,
    2,
    5,
    17,
    34,
    40,
    100,
    440,
    441,
    442,
    1000,
    4410,
    5_003,
    22_050 + 7,
    220_500 + 13,
];

/// The integration tests' helpers (their xorshift `noise`), shared rather than copied.
#[path = "../../tests/common/mod.rs"]
mod common;

/// Deterministic pseudo-random samples in [-1, 1] (xorshift).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    common::noise(n, 1.0, seed)
}

fn with_build(r: &Resampler, want: Kernel, x: &[f32]) -> Vec<f32> {
    let mut out = vec![f32::NAN; r.output_len(x.len())];
    r.run_kernel(want, x, &mut out);
    out
}

/// The builds this CPU can run (the portable one always).
fn builds() -> Vec<Kernel> {
    let mut b = vec![Kernel::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            b.push(Kernel::Avx2);
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            b.push(Kernel::Avx512);
        }
    }
    b
}

/// The implementation before the tiled loop (its portable build): 8 interleaved accumulators
/// over the taps, then a pairwise sum; where the window leaves the input, one accumulator over
/// the taps inside it.
fn previous(r: &Resampler, x: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; r.output_len(x.len())];
    let len = x.len() as isize;
    for (n, o) in out.iter_mut().enumerate() {
        let (block, p) = (n / r.new, n % r.new);
        let k = &r.kernel[p * r.taps..(p + 1) * r.taps];
        let start = (block * r.orig) as isize + r.offsets[p];
        *o = if start >= 0 && start + r.taps as isize <= len {
            let mut acc = [0.0f32; 8];
            for (t, (&c, &v)) in k.iter().zip(&x[start as usize..]).enumerate() {
                acc[t % 8] += c * v;
            }
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
        } else {
            let mut acc = 0.0f32;
            for (t, &c) in k.iter().enumerate() {
                let i = start + t as isize;
                if i >= 0 && i < len {
                    acc += c * x[i as usize];
                }
            }
            acc
        };
    }
    out
}

/// Every output's exact value `sum_t k_t x_t` (f64, of the f32 kernel and input) and its scale
/// `sum_t |k_t x_t|`, which bounds the rounding error of any order of f32 additions.
fn exact(r: &Resampler, x: &[f32]) -> Vec<(f64, f64)> {
    (0..r.output_len(x.len()))
        .map(|n| {
            let (block, p) = (n / r.new, n % r.new);
            let start = (block * r.orig) as isize + r.offsets[p];
            (0..r.taps)
                .filter_map(|t| {
                    let i = usize::try_from(start + t as isize).ok()?;
                    Some(f64::from(r.kernel[p * r.taps + t]) * f64::from(*x.get(i)?))
                })
                .fold((0.0, 0.0), |(s, m), v| (s + v, m + v.abs()))
        })
        .collect()
}

/// Every fused build (portable, AVX2 + FMA, AVX-512F: those this CPU has) gives the same bits
/// as the one-output-at-a-time definition, for every rate pair and input length (shorter than
/// the kernel, not multiples of a block), and writes every output; dispatch picks one of them
/// (but on an x86 CPU without FMA, whose unfused build is checked in the next test).
#[test]
fn every_build_is_bit_identical_to_the_direct_loop() {
    let builds = builds();
    eprintln!("builds compared: {builds:?}");
    for (from, to) in PAIRS {
        let r = Resampler::new(from, to).unwrap();
        for (i, &n) in LENGTHS.iter().enumerate() {
            let x = noise(n, i as u64 + 1);
            let mut direct = vec![f32::NAN; r.output_len(n)];
            tiled::run_direct::<kernel::Arr>(&r, &x, &mut direct);
            assert!(direct.iter().all(|v| v.is_finite()), "{from}->{to} n={n}");
            for &b in &builds {
                let y = with_build(&r, b, &x);
                let same = y
                    .iter()
                    .zip(&direct)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{from}->{to} n={n} {b:?}: not bit-identical");
            }
            if Kernel::detect() != Kernel::Unfused {
                let got: Vec<u32> = r.process(&x).iter().map(|v| v.to_bits()).collect();
                let want: Vec<u32> = direct.iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want, "{from}->{to} n={n}: dispatch");
            }
        }
    }
}

/// Each output is within 4 f32 ulps of its scale (`sum |k_t x_t|`) of the exact sum, and
/// within 6 of the previous implementation's (which was within 2): only the order and fusing of
/// the roundings changed. The unfused portable build (x86 without FMA) is within 5 of exact. (Against torchaudio the sequential order is the closer one: the
/// golden tests in tests/resample.rs measure 2.4e-7 of the peak for 44.1 kHz, was 3.2e-7.)
#[test]
fn agrees_with_the_exact_sum_and_the_previous_implementation() {
    let (mut worst_new, mut worst_old, mut worst_diff) = (0.0f64, 0.0f64, 0.0f64);
    let mut worst_unfused = 0.0f64;
    for (from, to) in PAIRS {
        let r = Resampler::new(from, to).unwrap();
        for (i, &n) in LENGTHS.iter().enumerate() {
            let x = noise(n, 100 + i as u64);
            let new = with_build(&r, Kernel::Portable, &x);
            let old = previous(&r, &x);
            let unfused = with_build(&r, Kernel::Unfused, &x);
            assert_eq!(new.len(), old.len());
            for (j, ((&a, &b), (e, s))) in new.iter().zip(&old).zip(exact(&r, &x)).enumerate() {
                let du = (f64::from(unfused[j]) - e).abs();
                let ulp = s * f64::from(f32::EPSILON);
                let (a, b) = (f64::from(a), f64::from(b));
                let (dn, dold, d) = ((a - e).abs(), (b - e).abs(), (a - b).abs());
                let at = format!("{from}->{to} n={n} output {j}: {a} vs {b}, exact {e}");
                assert!(dn <= 4.0 * ulp, "{at}: {} ulps from exact", dn / ulp);
                assert!(
                    dold <= 2.0 * ulp,
                    "{at}: previous {} ulps from exact",
                    dold / ulp
                );
                assert!(d <= 6.0 * ulp, "{at}: {} ulps from the previous", d / ulp);
                assert!(
                    du <= 5.0 * ulp,
                    "{at}: unfused {} ulps from exact",
                    du / ulp
                );
                if s > 0.0 {
                    worst_new = worst_new.max(dn / ulp);
                    worst_old = worst_old.max(dold / ulp);
                    worst_diff = worst_diff.max(d / ulp);
                    worst_unfused = worst_unfused.max(du / ulp);
                }
            }
        }
    }
    eprintln!(
        "largest error, in ulps of sum |k x|: {worst_new:.2} (previous {worst_old:.2}, \
         unfused {worst_unfused:.2}); largest difference {worst_diff:.2}"
    );
}

/// The AVX2 + FMA build (what CPUs without AVX-512 run) gives the same bits as the portable
/// one (what machines without AVX2 run), on interior groups, block tails and the zero-padded
/// edges, and writes every output. Skipped, and said so, on a CPU without AVX2 + FMA.
#[test]
fn avx2_build_matches_the_portable_path() {
    if !builds().contains(&Kernel::Avx2) {
        eprintln!("skipped: this CPU lacks AVX2 + FMA; only the portable build runs here");
        return;
    }
    for (from, to) in PAIRS {
        let r = Resampler::new(from, to).unwrap();
        let x: Vec<f32> = (0..5_000)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.8)
            .collect();
        let plain = with_build(&r, Kernel::Portable, &x);
        assert!(plain.iter().any(|v| v.abs() > 0.1), "{from}->{to}: silent");
        let fast = with_build(&r, Kernel::Avx2, &x);
        // A NaN (an output left unwritten) never compares equal.
        let same = fast
            .iter()
            .zip(&plain)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same && fast.iter().all(|v| !v.is_nan()), "{from}->{to}");
    }
}

/// A reduced input rate too large for tiles (44100 -> 44099: 44100 input samples per block)
/// goes through the direct loop and still matches the previous implementation.
#[test]
fn large_reduced_rates_use_the_direct_loop() {
    let r = Resampler::new(44_100, 44_099).unwrap();
    assert!(r.tiles.span > 4096, "{}", r.tiles.span);
    let x = noise(3_000, 5);
    let new = r.process(&x);
    let old = previous(&r, &x);
    for ((&a, &b), (_, s)) in new.iter().zip(&old).zip(exact(&r, &x)) {
        let d = (f64::from(a) - f64::from(b)).abs();
        assert!(d <= 6.0 * s * f64::from(f32::EPSILON), "{a} vs {b}");
    }
    assert!(new.iter().any(|v| v.abs() > 0.1));
}

#[test]
fn gcd_reduces() {
    assert_eq!(gcd(44_100, 16_000), 100);
    assert_eq!(gcd(8_000, 16_000), 8_000);
    let r = Resampler::new(44_100, 16_000).unwrap();
    assert_eq!((r.orig, r.new), (441, 160));
}
