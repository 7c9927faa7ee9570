//! Focused timing of the resampler alone: one 5 s 44.1 kHz mono clip resampled to 16 kHz on one
//! thread, many times.
//!
//! `cargo run --release -p specnorm-audio --example resample_clip -- [REPEATS] [FROM] [TO]`
//! (defaults: 2000 repeats, 44100 -> 16000) prints the minimum and the median time per clip and a
//! checksum of the output. The minimum is what a shared, noisy machine disturbs least. The
//! example only uses the public API, so the same file builds against an older revision of the
//! crate for a before/after comparison in back-to-back runs (docs/BENCH.md).

use std::hint::black_box;
use std::time::Instant;

use specnorm_audio::Resampler;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let repeats: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let from: u32 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(44_100);
    let to: u32 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(16_000);
    // 5 s of a chirp with a little deterministic noise (as crates/features/examples/pipeline.rs).
    let mut state = 1u32;
    let x: Vec<f32> = (0..from as usize * 5)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let t = i as f32 / from as f32;
            0.4 * (std::f32::consts::TAU * (300.0 + 400.0 * t) * t).sin() + 0.02 * noise
        })
        .collect();
    let r = Resampler::new(from, to)?;
    let mut out = Vec::new();
    r.process_into(&x, &mut out); // warm-up: sizes the buffers
    let mut times = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        let t0 = Instant::now();
        r.process_into(black_box(&x), &mut out);
        black_box(&out);
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let checksum: f64 = out.iter().map(|&v| f64::from(v)).sum();
    println!(
        "resample {from} -> {to}, 5 s clip ({} -> {} samples), {} repeats: min {:.4} ms, median {:.4} ms per clip (checksum {checksum:.6})",
        x.len(),
        out.len(),
        times.len(),
        times[0],
        times[times.len() / 2]
    );
    Ok(())
}
