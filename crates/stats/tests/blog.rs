//! The blog's StatsRecorder (reproduced in `specnorm_stats::blog`) vs the exact accumulator,
//! against golden numbers from running the blog's Python class (data/fixtures/gen_stats.py).

use ndarray::Array4;
use serde_json::Value;
use specnorm_stats::blog::BlogStatsRecorder;
use specnorm_stats::StatsAccumulator;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/fixtures/stats/blog_golden.json"
);

/// Same integer formula as gen_stats.py (exact in f32).
fn batch(j: usize, b: usize, f: usize, t: usize) -> Array4<f32> {
    let mut k = 0usize;
    Array4::from_shape_fn((b, 1, f, t), |(_, _, fi, _)| {
        let v =
            1000.0 + 10.0 * j as f64 + 2.0 * fi as f64 + ((k * 7919 + 13 * j) % 1000) as f64 / 64.0;
        k += 1;
        v as f32
    })
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * y.abs(), "{what}: {x} vs {y}");
    }
}

#[test]
fn blog_recorder_matches_python_and_differs_from_exact() {
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    let f = golden["F"].as_u64().unwrap() as usize;
    let mut checked = 0;
    for (scenario, sc) in golden["scenarios"].as_object().unwrap() {
        let batches: Vec<Array4<f32>> = sc["batches"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(j, bt)| {
                let b = bt[0].as_u64().unwrap() as usize;
                let t = bt[1].as_u64().unwrap() as usize;
                batch(j, b, f, t)
            })
            .collect();
        for preset in ["global", "per_channel"] {
            let g = &sc[preset];
            let dims: Vec<usize> = floats(&g["red_dims"]).iter().map(|&d| d as usize).collect();
            let mut blog = BlogStatsRecorder::new(&dims);
            let mut exact = StatsAccumulator::new(&dims);
            for b in &batches {
                blog.update(b.view()).unwrap();
                exact.update(b.view()).unwrap();
            }
            let what = format!("{scenario}/{preset}");
            let bm: Vec<f64> = blog.mean().unwrap().iter().copied().collect();
            let bs: Vec<f64> = blog.std().unwrap().iter().copied().collect();
            // Our f64 port of the blog reproduces the Python class run in float64.
            close(
                &bm,
                &floats(&g["blog_mean_f64"]),
                1e-12,
                &format!("{what} blog mean"),
            );
            close(
                &bs,
                &floats(&g["blog_std_f64"]),
                1e-12,
                &format!("{what} blog std"),
            );
            // ... and the torch float32 run to float32 precision.
            close(
                &bm,
                &floats(&g["blog_mean_torch_f32"]),
                1e-6,
                &format!("{what} blog f32 mean"),
            );
            close(
                &bs,
                &floats(&g["blog_std_torch_f32"]),
                1e-5,
                &format!("{what} blog f32 std"),
            );

            let s = exact.finalize().unwrap();
            let em: Vec<f64> = s.mean.iter().copied().collect();
            let es: Vec<f64> = s.std.iter().copied().collect();
            close(
                &em,
                &floats(&g["exact_mean"]),
                1e-12,
                &format!("{what} exact mean"),
            );
            close(
                &es,
                &floats(&g["exact_std"]),
                1e-12,
                &format!("{what} exact std"),
            );

            // The size of the blog's error, asserted numerically.
            let dmean: Vec<f64> = bm.iter().zip(&em).map(|(a, b)| a - b).collect();
            let dstd: Vec<f64> = bs.iter().zip(&es).map(|(a, b)| a - b).collect();
            let max_rel_std = dstd
                .iter()
                .zip(&es)
                .map(|(d, e)| (d / e).abs())
                .fold(0.0, f64::max);
            println!(
                "{what}: blog-exact mean {dmean:?}, std {dstd:?} (max rel std {max_rel_std:.3e})"
            );
            match scenario.as_str() {
                // unequal clip lengths: clip weighting shifts the mean by ~4.5 (of ~1022), std +2-6 %
                "unequal_t" => {
                    assert!(
                        dmean.iter().all(|d| (4.3..4.8).contains(d)),
                        "{what} {dmean:?}"
                    );
                    assert!(
                        dstd.iter().all(|d| (0.2..0.7).contains(d)),
                        "{what} {dstd:?}"
                    );
                }
                // equal T, short last batch: mean exact, std inflated by the Bessel-corrected batches
                "short_last" => {
                    assert!(dmean.iter().all(|d| d.abs() < 1e-9), "{what} {dmean:?}");
                    assert!(
                        dstd.iter().all(|d| (0.005..0.03).contains(d)),
                        "{what} {dstd:?}"
                    );
                }
                other => panic!("unknown scenario {other}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[test]
fn blog_recorder_rejects_degenerate_batches() {
    let mut r = BlogStatsRecorder::new(&[0, 2, 3]);
    assert!(r.update(Array4::<f32>::zeros((1, 1, 1, 1)).view()).is_err());
    r.update(Array4::<f32>::zeros((2, 1, 3, 4)).view()).unwrap();
    assert!(r.update(Array4::<f32>::zeros((2, 2, 3, 4)).view()).is_err());
    assert_eq!(r.nobservations(), 2);
}
