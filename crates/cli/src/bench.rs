//! `specnorm bench`: feature-pipeline throughput on generated ESC-50-shaped
//! clips (5 s, 44.1 kHz, 16-bit mono WAV), with a one-core stage breakdown.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use specnorm_audio::WavFormat;
use specnorm_features::{FeatureConfig, FeatureExtractor};

/// Arguments of `specnorm bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder for the generated clips (reused when already there).
    #[arg(long, default_value = "target/bench-clips")]
    pub dir: PathBuf,
    /// Number of clips.
    #[arg(long, default_value_t = 400)]
    pub clips: usize,
    /// Timed passes over all clips (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub passes: usize,
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

const SR: u32 = 44_100;

/// One ESC-50-shaped clip: a few partials with vibrato, noise and a gain ramp.
fn clip(seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = SR as usize * 5;
    let f0: f32 = rng.gen_range(80.0..2000.0);
    let noise: f32 = rng.gen_range(0.001..0.05);
    let gain: f32 = rng.gen_range(0.05..0.8);
    (0..n)
        .map(|i| {
            let t = i as f32 / SR as f32;
            let vib = 1.0 + 0.01 * (t * 5.0 * std::f32::consts::TAU).sin();
            let tone: f32 = (1..4)
                .map(|h| (t * f0 * h as f32 * vib * std::f32::consts::TAU).sin() / h as f32)
                .sum();
            let env = (t * 1.3).sin().abs();
            gain * (0.5 * tone * env + noise * rng.gen_range(-1.0f32..1.0))
        })
        .collect()
}

fn ensure_clips(dir: &Path, n: usize) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let p = dir.join(format!("clip{i:05}.wav"));
            if !p.exists() {
                specnorm_audio::write_wav(&p, &clip(i as u64), SR, 1, WavFormat::Pcm16)?;
            }
            Ok(p)
        })
        .collect()
}

pub fn run(a: Args) -> Result<()> {
    let paths = ensure_clips(&a.dir, a.clips)?;
    let fx = FeatureExtractor::new(FeatureConfig::default())?;
    // Warm the page cache and the resampler plan.
    for p in &paths {
        std::fs::read(p)?;
    }
    fx.extract_file(&paths[0])?;

    let mut best = f64::INFINITY;
    for _ in 0..a.passes.max(1) {
        let t0 = Instant::now();
        let n_ok = paths
            .par_iter()
            .map(|p| fx.extract_file(p).map(|_| 1usize))
            .sum::<Result<usize, _>>()?;
        let dt = t0.elapsed().as_secs_f64();
        anyhow::ensure!(n_ok == paths.len());
        best = best.min(dt);
    }
    let rate = paths.len() as f64 / best;

    // One-core stage breakdown on a sample of clips.
    let sample = &paths[..paths.len().min(50)];
    let (mut read, mut dec, mut rs, mut norm, mut stft) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let resampler = specnorm_audio::Resampler::new(SR, 16_000)?;
    let plan = specnorm_dsp::SpectrogramPlan::new(&FeatureConfig::default().spectrogram, 16_000)?;
    for p in sample {
        let t = Instant::now();
        let bytes = std::fs::read(p)?;
        read += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let audio = specnorm_audio::decode(&bytes, p)?;
        dec += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut w = resampler.process(&audio.samples);
        rs += t.elapsed().as_secs_f64();
        let t = Instant::now();
        specnorm_audio::normalize_waveform(&mut w);
        specnorm_audio::pad_or_trim(&mut w, 80_000);
        norm += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let s = plan.compute(&w)?;
        stft += t.elapsed().as_secs_f64();
        std::hint::black_box(s);
    }
    let ms = |x: f64| 1e3 * x / sample.len() as f64;
    let threads = rayon::current_num_threads();
    println!(
        "specnorm: {} clips in {best:.3} s = {rate:.0} clips/s on {threads} threads",
        paths.len()
    );
    println!(
        "per clip on one core: read {:.3} ms, decode {:.3} ms, resample {:.3} ms, normalize+pad {:.3} ms, STFT+dB {:.3} ms",
        ms(read),
        ms(dec),
        ms(rs),
        ms(norm),
        ms(stft)
    );
    if let Some(j) = &a.json {
        let v = serde_json::json!({
            "tool": "specnorm",
            "clips": paths.len(),
            "seconds": best,
            "clips_per_sec": rate,
            "threads": threads,
            "per_clip_ms": {"read": ms(read), "decode": ms(dec), "resample": ms(rs), "normalize": ms(norm), "stft_db": ms(stft)},
        });
        crate::common::write_atomic(j, serde_json::to_string_pretty(&v)?.as_bytes())?;
    }
    Ok(())
}
