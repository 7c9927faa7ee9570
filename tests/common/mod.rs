//! Helpers shared by the bad-input test targets: generated signals, files in
//! a tempdir and error-message assertions.
#![allow(dead_code)]

use std::fmt::Display;
use std::path::{Path, PathBuf};

/// A `freq` Hz sine of amplitude `amp`, `n` samples at `sr`.
pub fn sine(freq: f64, sr: u32, n: usize, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / f64::from(sr)).sin()) as f32)
        .collect()
}

/// The same signal repeated on `channels` interleaved channels.
pub fn interleave(mono: &[f32], channels: u16) -> Vec<f32> {
    mono.iter()
        .flat_map(|&x| std::iter::repeat_n(x, usize::from(channels)))
        .collect()
}

/// Write `bytes` to `dir/name` and return the path.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The error's message names `name` and contains `reason` (case-insensitive).
#[track_caller]
pub fn assert_msg(err: &dyn Display, name: &str, reason: &str) {
    let msg = err.to_string();
    assert!(msg.contains(name), "message does not name {name:?}: {msg}");
    assert!(
        msg.to_lowercase().contains(&reason.to_lowercase()),
        "message lacks reason {reason:?}: {msg}"
    );
}

/// Unwraps the error of a result, failing with the Ok value's description otherwise.
#[track_caller]
pub fn err<T: std::fmt::Debug, E>(r: Result<T, E>) -> E {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Every value finite.
#[track_caller]
pub fn assert_finite<'a>(it: impl IntoIterator<Item = &'a f32>) {
    for (i, v) in it.into_iter().enumerate() {
        assert!(v.is_finite(), "value {i} is {v}");
    }
}

/// Deterministic pseudo-random bytes (64-bit LCG, high bits).
pub fn lcg_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}
