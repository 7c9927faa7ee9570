//! Shared test helpers: a tiny `.npy` reader (float32, C order) and dB comparisons.
#![allow(dead_code)]

use ndarray::{Array1, Array2, ArrayView2};

/// Path of a fixture in `data/fixtures/dsp/`.
pub fn fixture(name: &str) -> String {
    format!(
        "{}/../../data/fixtures/dsp/{name}.npy",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Reads a little-endian float32 C-order `.npy` file: (shape, data).
pub fn read_npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an npy file");
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).expect("ascii header");
    assert!(
        header.contains("'descr': '<f4'"),
        "{name}: expected <f4, header {header}"
    );
    assert!(
        header.contains("'fortran_order': False"),
        "{name}: expected C order"
    );
    let s = header.find("'shape': (").expect("shape") + "'shape': (".len();
    let e = s + header[s..].find(')').expect("shape end");
    let shape: Vec<usize> = header[s..e]
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().expect("dim"))
        .collect();
    let data: Vec<f32> = bytes[start + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>(), "{name}: size");
    (shape, data)
}

pub fn npy1(name: &str) -> Array1<f32> {
    let (shape, data) = read_npy(name);
    assert_eq!(shape.len(), 1);
    Array1::from(data)
}

pub fn npy2(name: &str) -> Array2<f32> {
    let (shape, data) = read_npy(name);
    assert_eq!(shape.len(), 2, "{name}: expected 2-d");
    Array2::from_shape_vec((shape[0], shape[1]), data).expect("shape")
}

/// Exact (f64) dB of a power/magnitude array.
pub fn to_db(a: &Array2<f32>, multiplier: f64) -> Array2<f32> {
    a.mapv(|v| (multiplier * (v.max(1e-10) as f64).log10()) as f32)
}

/// Max |ours - reference| over bins where the reference is within `range_db` of its peak.
/// Returns (max error, number of bins compared).
pub fn max_db_err(
    ours: ArrayView2<f32>,
    reference: ArrayView2<f32>,
    range_db: f32,
) -> (f32, usize) {
    assert_eq!(ours.shape(), reference.shape(), "shape");
    let peak = reference.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut worst = 0.0f32;
    let mut n = 0;
    for (&a, &b) in ours.iter().zip(reference.iter()) {
        assert!(a.is_finite(), "non-finite output");
        if b >= peak - range_db {
            worst = worst.max((a - b).abs());
            n += 1;
        }
    }
    (worst, n)
}

/// Asserts the parity criterion: within 80 dB of the peak, max abs error <= `tol` dB.
pub fn assert_db_close(what: &str, ours: ArrayView2<f32>, reference: ArrayView2<f32>, tol: f32) {
    let (err, n) = max_db_err(ours, reference, 80.0);
    eprintln!("{what}: max abs err {err:.2e} dB over {n} bins");
    assert!(
        n > reference.len() / 2,
        "{what}: too few bins compared ({n})"
    );
    assert!(err <= tol, "{what}: max abs err {err} dB > {tol} dB");
}
