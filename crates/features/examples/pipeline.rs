//! The in-memory front end on ESC-50-shaped clips (5 s of 16-bit mono WAV at
//! 44.1 kHz, encoded in memory): decode -> resample -> normalize -> pad -> STFT -> dB.
//!
//! `cargo run --release -p specnorm-features --example pipeline -- [CLIPS]` prints the
//! time per clip on one core. It is also the profiling driver of docs/BENCH.md:
//! `valgrind --tool=callgrind target/release/examples/pipeline 20` counts the
//! instructions of each stage, which machine load does not change.

use std::path::Path;
use std::time::Instant;

use specnorm_audio::{encode_wav, WavFormat};
use specnorm_features::{FeatureConfig, FeatureExtractor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clips: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200);
    let sr = 44_100u32;
    // A chirp with a little deterministic noise, as a recorded clip would have.
    let mut state = 1u32;
    let samples: Vec<f32> = (0..sr as usize * 5)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = i as f32 / sr as f32;
            0.4 * (std::f32::consts::TAU * (300.0 + 400.0 * t) * t).sin() + 0.02 * noise
        })
        .collect();
    let wav = encode_wav(&samples, sr, 1, WavFormat::Pcm16);
    let fx = FeatureExtractor::new(FeatureConfig::default())?;
    let source = Path::new("<chirp>");
    let first = fx.extract_bytes(&wav, source)?; // plans the resampler, sizes the buffers
    let t0 = Instant::now();
    let mut checksum = 0.0f64;
    for _ in 0..clips {
        let spec = fx.extract_bytes(&wav, source)?;
        checksum += f64::from(spec[[25, 200]]);
    }
    let per_clip = t0.elapsed().as_secs_f64() / clips.max(1) as f64;
    println!(
        "{clips} clips of {:?}: {:.3} ms per clip on one core (checksum {checksum:.3})",
        first.dim(),
        per_clip * 1e3
    );
    Ok(())
}
