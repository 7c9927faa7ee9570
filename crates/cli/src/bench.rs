//! `specnorm bench`: throughput of [`FeatureExtractor`] itself on generated
//! ESC-50-shaped clips (5 s, 44.1 kHz, 16-bit mono WAV, laid out as an ESC-50
//! dataset so `specnorm stats` runs on the same clips), on one core and on all
//! cores, plus a one-core breakdown by [`Stage`] of the same pipeline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use specnorm_audio::WavFormat;
use specnorm_features::{FeatureConfig, FeatureExtractor, Stage};

/// Arguments of `specnorm bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset folder for the generated clips (`audio/`, `meta/esc50.csv`; reused when there).
    #[arg(long, default_value = "target/bench-clips")]
    pub dir: PathBuf,
    /// Number of clips.
    #[arg(long, default_value_t = 400)]
    pub clips: usize,
    /// Timed passes of each measurement (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub passes: usize,
    /// Clips of the one-core stage breakdown and in-memory measurement.
    #[arg(long, default_value_t = 50)]
    pub sample: usize,
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

/// Write (or reuse) `n` clips under `dir/audio` and an ESC-50 `meta/esc50.csv`
/// (fold `i % 5 + 1`, 50 classes), returning the clip paths in order.
fn ensure_dataset(dir: &Path, n: usize) -> Result<Vec<PathBuf>> {
    let audio = dir.join("audio");
    let meta = dir.join("meta");
    for d in [&audio, &meta] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let names: Vec<String> = (0..n).map(|i| format!("clip{i:05}.wav")).collect();
    let paths = names
        .par_iter()
        .enumerate()
        .map(|(i, name)| {
            let p = audio.join(name);
            if !p.exists() {
                specnorm_audio::write_wav(&p, &clip(i as u64), SR, 1, WavFormat::Pcm16)?;
            }
            Ok(p)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for (i, name) in names.iter().enumerate() {
        let target = i % 50;
        csv += &format!("{name},{},{target},class{target},False,{i},A\n", i % 5 + 1);
    }
    crate::common::write_atomic(&meta.join("esc50.csv"), csv.as_bytes())?;
    Ok(paths)
}

/// Shortest wall time of `passes` runs of `f`.
fn best_of(passes: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..passes.max(1) {
        let t0 = Instant::now();
        f()?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Seconds per stage, summed over clips, in [`Stage`] order.
const STAGES: [(Stage, &str); 5] = [
    (Stage::Read, "read"),
    (Stage::Decode, "decode"),
    (Stage::Resample, "resample"),
    (Stage::Normalize, "normalize_pad"),
    (Stage::Spectrogram, "stft_db"),
];

/// One-core stage times of `paths` through [`FeatureExtractor::extract_file_observed`].
fn stage_seconds(fx: &FeatureExtractor, paths: &[PathBuf]) -> Result<[f64; 5]> {
    let mut sums = [0.0; 5];
    for p in paths {
        let mut last = Instant::now();
        let spec = fx.extract_file_observed(p, &mut |stage| {
            let now = Instant::now();
            if let Some(i) = STAGES.iter().position(|(s, _)| *s == stage) {
                sums[i] += (now - last).as_secs_f64();
            }
            last = now;
        })?;
        std::hint::black_box(spec);
    }
    Ok(sums)
}

pub fn run(a: Args) -> Result<()> {
    ensure!(a.clips > 0, "--clips must be > 0");
    let paths = ensure_dataset(&a.dir, a.clips)?;
    let fx = FeatureExtractor::new(FeatureConfig::default())?;
    // Warm the page cache, the resampler plan and every thread's buffers.
    for p in &paths {
        std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    }
    paths
        .par_iter()
        .try_for_each(|p| fx.extract_file(p).map(drop))?;
    let threads = rayon::current_num_threads();
    let n = paths.len() as f64;

    let one_core = best_of(a.passes, || {
        for p in &paths {
            std::hint::black_box(fx.extract_file(p)?);
        }
        Ok(())
    })?;
    let all_cores = best_of(a.passes, || {
        paths
            .par_iter()
            .try_for_each(|p| fx.extract_file(p).map(|s| drop(std::hint::black_box(s))))?;
        Ok(())
    })?;

    let sample = &paths[..paths.len().min(a.sample.max(1))];
    let bytes = sample
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let in_memory = best_of(a.passes, || {
        for (b, p) in bytes.iter().zip(sample) {
            std::hint::black_box(fx.extract_bytes(b, p)?);
        }
        Ok(())
    })?;
    drop(bytes);
    let mut stages = [f64::INFINITY; 5];
    for _ in 0..a.passes.max(1) {
        for (best, s) in stages.iter_mut().zip(stage_seconds(&fx, sample)?) {
            *best = best.min(s);
        }
    }

    let ms = |secs: f64| 1e3 * secs / sample.len() as f64;
    println!(
        "specnorm, {} clips, best of {}: one core {:.0} clips/s; {threads} threads {:.0} clips/s",
        paths.len(),
        a.passes.max(1),
        n / one_core,
        n / all_cores
    );
    println!(
        "in-memory pipeline (decode to dB), one core: {:.3} ms per clip",
        ms(in_memory)
    );
    let breakdown: Vec<String> = STAGES
        .iter()
        .zip(stages)
        .map(|((_, name), s)| format!("{name} {:.3} ms", ms(s)))
        .collect();
    println!("per clip on one core: {}", breakdown.join(", "));
    if let Some(j) = &a.json {
        let per_clip: serde_json::Map<String, serde_json::Value> = STAGES
            .iter()
            .zip(stages)
            .map(|((_, name), s)| (name.to_string(), ms(s).into()))
            .collect();
        let v = serde_json::json!({
            "tool": "specnorm",
            "clips": paths.len(),
            "passes": a.passes.max(1),
            "threads": threads,
            "one_core": {"seconds": one_core, "clips_per_sec": n / one_core},
            "all_cores": {"seconds": all_cores, "clips_per_sec": n / all_cores},
            "in_memory_ms_per_clip": ms(in_memory),
            "per_clip_ms": per_clip,
        });
        crate::common::ensure_parent(j)?;
        crate::common::write_atomic(j, serde_json::to_string_pretty(&v)?.as_bytes())?;
    }
    Ok(())
}
