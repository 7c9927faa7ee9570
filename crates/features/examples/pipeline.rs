//! The in-memory front end on ESC-50-shaped clips (5 s of 16-bit mono WAV at
//! 44.1 kHz, encoded in memory): decode -> resample -> normalize -> pad -> STFT -> dB.
//!
//! `cargo run --release -p specnorm-features --example pipeline -- [CLIPS] [PASSES]` prints
//! the time per clip on one core, the best of `PASSES` passes of `CLIPS` clips (default: 200
//! clips, one pass). With more than one pass it also prints the per-stage breakdown, timed
//! through `FeatureExtractor::extract_file_observed` on the clip written to a temporary file:
//! the best-of-passes mean, and the median and minimum over single clips (the minimum is what
//! a loaded machine disturbs least).
//!
//! It is also the profiling driver of docs/BENCH.md:
//! `valgrind --tool=callgrind target/release/examples/pipeline 20` counts the
//! instructions of each stage, which machine load does not change.

use std::path::Path;
use std::time::Instant;

use specnorm_audio::{encode_wav, WavFormat};
use specnorm_features::{FeatureConfig, FeatureExtractor, Stage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let clips: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let passes: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1);
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
    let mut best = f64::INFINITY;
    let mut checksum = 0.0f64;
    for _ in 0..passes.max(1) {
        let t0 = Instant::now();
        checksum = 0.0;
        for _ in 0..clips {
            let spec = fx.extract_bytes(&wav, source)?;
            checksum += f64::from(spec[[25, 200]]);
        }
        best = best.min(t0.elapsed().as_secs_f64());
    }
    let per_clip = best / clips.max(1) as f64;
    println!(
        "{clips} clips of {:?}: {:.3} ms per clip on one core, best of {} (checksum {checksum:.3})",
        first.dim(),
        per_clip * 1e3,
        passes.max(1)
    );
    if passes > 1 {
        stages(&fx, &wav, clips, passes)?;
    }
    Ok(())
}

/// Milliseconds of each stage, per clip: the best-of-`passes` mean over the clips, and the
/// median and minimum over every single clip of every pass (on a loaded machine the minimum
/// is the least disturbed by other processes). The clip is read from a temporary file.
fn stages(
    fx: &FeatureExtractor,
    wav: &[u8],
    clips: usize,
    passes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    const ORDER: [Stage; 5] = [
        Stage::Read,
        Stage::Decode,
        Stage::Resample,
        Stage::Normalize,
        Stage::Spectrogram,
    ];
    let path = std::env::temp_dir().join(format!("specnorm-pipeline-{}.wav", std::process::id()));
    std::fs::write(&path, wav)?;
    let mut best = [f64::INFINITY; 5];
    let mut each: [Vec<f64>; 6] = Default::default();
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        for _ in 0..passes {
            let mut sums = [0.0f64; 5];
            for _ in 0..clips {
                let mut clip = [0.0f64; 5];
                let mut last = Instant::now();
                let spec = fx.extract_file_observed(&path, &mut |stage| {
                    let now = Instant::now();
                    if let Some(i) = ORDER.iter().position(|s| *s == stage) {
                        clip[i] += (now - last).as_secs_f64();
                    }
                    last = now;
                })?;
                std::hint::black_box(spec);
                for (i, &c) in clip.iter().enumerate() {
                    sums[i] += c;
                    each[i].push(c);
                }
                each[5].push(clip[1..].iter().sum());
            }
            for (b, s) in best.iter_mut().zip(sums) {
                *b = b.min(s);
            }
        }
        Ok(())
    })();
    std::fs::remove_file(&path)?;
    result?;
    let mean = best.map(|s| 1e3 * s / clips.max(1) as f64);
    let order = |v: &mut Vec<f64>| v.sort_by(f64::total_cmp);
    each.iter_mut().for_each(order);
    let pick = |q: f64| -> Vec<f64> {
        each.iter()
            .map(|v| 1e3 * v[((v.len() - 1) as f64 * q) as usize])
            .collect()
    };
    let show = |name: &str, ms: &[f64], total: f64| {
        println!(
            "{name:>6}, ms per clip: read {:.3}, decode {:.3}, resample {:.3}, normalize+pad \
             {:.3}, stft+dB {:.3} (in-memory {:.3})",
            ms[0], ms[1], ms[2], ms[3], ms[4], total
        );
    };
    show("mean", &mean, mean[1..].iter().sum());
    let median = pick(0.5);
    show("median", &median, median[5]);
    let min = pick(0.0);
    show("min", &min, min[5]);
    Ok(())
}
