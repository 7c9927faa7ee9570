//! ESPnet `feats_stats.npz` and Kaldi CMVN text matrices: round trips, numpy-written fixtures, and
//! that an exported file gives our mean/std under the toolkits' own formulas.

use std::path::PathBuf;

use ndarray::Array4;
use specnorm_stats::interop::SumStats;
use specnorm_stats::StatsAccumulator;

const T: usize = 1000;
const D: usize = 5;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/fixtures/interop")
        .join(name)
}

/// The features of `data/fixtures/gen_interop.py`, as one `[1, 1, D, T]` batch.
fn features() -> Array4<f32> {
    Array4::from_shape_fn((1, 1, D, T), |(_, _, d, t)| {
        (-50.0 + d as f64 / 2.0 + ((t * 7 + d * 13) % 17) as f64 + ((t * 31 + d) % 8) as f64 / 8.0)
            as f32
    })
}

fn ours() -> StatsAccumulator {
    let mut acc = StatsAccumulator::per_channel();
    acc.update(features().view()).unwrap();
    acc
}

fn golden() -> (u64, Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(fixture("golden.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let list = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    (v["count"].as_u64().unwrap(), list("mean"), list("std"))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn numpy_written_espnet_stats_read_back_as_ours() {
    let (count, mean, std) = golden();
    let acc = ours();
    let s = acc.finalize().unwrap();
    for name in ["feats_stats.npz", "feats_stats_f32.npz"] {
        let e = SumStats::load_espnet_npz(&fixture(name)).unwrap();
        assert_eq!(e.count, count);
        assert_eq!(e.sum.len(), D);
        // float32 sums (what collect_stats gives for float32 features) lose the std to
        // cancellation in sum_square/n - mean²: 2.5e-4 relative here, measured with numpy
        let (tol_mean, tol_std) = if name.contains("f32") {
            (1e-6, 4e-4)
        } else {
            (1e-13, 1e-12)
        };
        let (m, sd) = e.mean_std();
        for d in 0..D {
            assert!(rel(m[d], mean[d]) < tol_mean, "{name} mean[{d}]");
            assert!(
                rel(sd[d], std[d]) < tol_std,
                "{name} std[{d}] {}",
                rel(sd[d], std[d])
            );
            // ... and numpy's numbers are ours
            assert!(rel(s.mean[[0, 0, d, 0]], mean[d]) < 1e-13, "ours mean[{d}]");
            assert!(rel(s.std[[0, 0, d, 0]], std[d]) < 1e-12, "ours std[{d}]");
        }
        // imported into an accumulator, the statistics are ours (within the format's precision)
        let imported = e
            .to_accumulator(&[0, 1, 3], &[1, 1, D, 1])
            .unwrap()
            .finalize()
            .unwrap();
        for d in 0..D {
            assert!(rel(imported.mean[[0, 0, d, 0]], mean[d]) < tol_mean);
            assert!(rel(imported.std[[0, 0, d, 0]], std[d]) < tol_std);
        }
    }
}

#[test]
fn exported_files_give_our_mean_and_std_and_round_trip() {
    let acc = ours();
    let s = acc.finalize().unwrap();
    let sums = SumStats::from_accumulator(&acc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("feats_stats.npz");
    let kaldi = dir.path().join("cmvn.txt");
    sums.save_espnet_npz(&npz).unwrap();
    sums.save_kaldi_text(&kaldi).unwrap();
    let from_npz = SumStats::load_espnet_npz(&npz).unwrap();
    let from_kaldi = SumStats::load_kaldi_text(&kaldi).unwrap();
    assert_eq!(from_npz, sums, "npz round trip is bit for bit");
    assert_eq!(from_kaldi, sums, "Kaldi text round trip is bit for bit");
    // the toolkits' formulas on the exported sums give our statistics
    let (m, sd) = from_npz.mean_std();
    for d in 0..D {
        assert!(rel(m[d], s.mean[[0, 0, d, 0]]) < 1e-14, "mean[{d}]");
        assert!(rel(sd[d], s.std[[0, 0, d, 0]]) < 1e-11, "std[{d}]");
    }
    // the Kaldi layout: 2 rows of D+1, count last in row 1, 0 last in row 2
    let text = std::fs::read_to_string(&kaldi).unwrap();
    let rows: Vec<Vec<f64>> = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].len(), D + 1);
    assert_eq!(rows[0][D], T as f64);
    assert_eq!(rows[1][D], 0.0);
    // import -> accumulator -> export again is stable
    let again = SumStats::from_accumulator(
        &from_kaldi
            .to_accumulator(&[0, 1, 3], &[1, 1, D, 1])
            .unwrap(),
    )
    .unwrap();
    for d in 0..D {
        assert!(rel(again.sum[d], sums.sum[d]) < 1e-15);
        assert!(rel(again.sum_square[d], sums.sum_square[d]) < 1e-13);
    }
}

#[test]
fn kaldi_text_as_kaldi_writes_it() {
    // copy-matrix --binary=false output of a global CMVN archive entry (6 significant digits).
    let text = "global  [\n  -415.645 -410.695 1000 \n  173167 169072 0 ]\n";
    let s = SumStats::from_kaldi_text(text, None).unwrap();
    assert_eq!(s.count, 1000);
    assert_eq!(s.sum, vec![-415.645, -410.695]);
    assert_eq!(s.sum_square, vec![173167.0, 169072.0]);
    let bad = [
        ("[ 1 2 3 ]", "2 rows"),
        ("[\n 1 2 \n 3 4 5 ]", "rows of 2 and 3"),
        ("[\n 1 2.5 \n 3 0 ]", "not a positive integer"),
        ("[\n 1 2 \n 3 1 ]", "expected 0"),
        ("[\n 1 2 \n -3 0 ]", "sum_square[0]"),
        ("[\n 1 x \n 3 0 ]", "\"x\" is not a number"),
        ("a b [\n 1 2 \n 3 0 ]", "before the matrix"),
        ("[\n 1 2 \n 3 0 ] [", "text after"),
        ("1 2 3", "no '['"),
        ("[\n 1 2 \n 3 0 ", "no ']'"),
    ];
    for (t, reason) in bad {
        let e = SumStats::from_kaldi_text(t, Some(std::path::Path::new("cmvn.ark")))
            .unwrap_err()
            .to_string();
        assert!(e.contains(reason) && e.contains("cmvn.ark"), "{t:?}: {e}");
    }
}

#[test]
fn bad_npz_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.npz");
    std::fs::write(&junk, b"not a zip").unwrap();
    let e = SumStats::load_espnet_npz(&junk).unwrap_err().to_string();
    assert!(e.contains("junk.npz"), "{e}");
    let e = SumStats::load_espnet_npz(&dir.path().join("none.npz"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.npz"), "{e}");
    assert!(SumStats::from_accumulator(&StatsAccumulator::global()).is_err());
}
