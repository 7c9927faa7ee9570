//! Data shared by the train crate's integration tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_train::{InMemoryData, ModelKind, ModelSpec, RaggedData};

/// The small CNN with 3 classes on one input channel.
pub const SPEC: ModelSpec = ModelSpec {
    kind: ModelKind::Small,
    in_channels: 1,
    n_classes: 3,
};

/// `n` samples of 3 classes of [1, 32, 32] "spectrograms": sample i has class i % 3, whose rows
/// 10k..10k+10 are bright (1.0), plus uniform noise drawn from `noise` (seeded by `seed`).
#[allow(dead_code)] // not every test file uses it
pub fn synthetic(n: usize, seed: u64, noise: std::ops::Range<f32>) -> InMemoryData {
    let (x, y) = values(&vec![32; n], seed, noise);
    InMemoryData::new(x, [n, 1, 32, 32], y).expect("consistent synthetic data")
}

/// Samples as [`synthetic`]'s, sample i of `frames[i]` frames (noise in [0, 0.5)).
#[allow(dead_code)] // not every test file uses it
pub fn ragged(frames: &[usize], seed: u64) -> RaggedData {
    let (x, y) = values(frames, seed, 0.0..0.5);
    RaggedData::new(x, 1, 32, frames.to_vec(), y).expect("consistent synthetic data")
}

fn values(frames: &[usize], seed: u64, noise: std::ops::Range<f32>) -> (Vec<f32>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let h = 32usize;
    let mut x = Vec::with_capacity(frames.iter().sum::<usize>() * h);
    let mut y = Vec::with_capacity(frames.len());
    for (i, &w) in frames.iter().enumerate() {
        let k = i % 3;
        for r in 0..h {
            let bright = if r >= 10 * k && r < 10 * k + 10 {
                1.0
            } else {
                0.0
            };
            for _ in 0..w {
                x.push(bright + rng.gen_range(noise.clone()));
            }
        }
        y.push(k as i64);
    }
    (x, y)
}
