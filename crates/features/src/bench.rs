//! Throughput of [`FeatureExtractor`] itself (feature `bench`; `specnorm bench`
//! prints what [`run`] measures).
//!
//! The clips are generated ESC-50-shaped audio (5 s, 44.1 kHz, 16-bit mono WAV: a few
//! partials with vibrato, noise and a gain ramp), laid out as an ESC-50 dataset
//! (`audio/`, `meta/esc50.csv`) so `specnorm stats` and the Python benchmark run on
//! the very same files. Measured, best of `passes` each: every clip on one core, every
//! clip on all of rayon's threads, the in-memory pipeline (decode to dB) on one core,
//! and the one-core time of each [`Stage`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use specnorm_audio::{AudioError, WavFormat};

use crate::{FeatureConfig, FeatureError, FeatureExtractor, Stage};

/// Sample rate of the generated clips (ESC-50's).
pub const CLIP_RATE: u32 = 44_100;
/// Seconds per generated clip (ESC-50's).
pub const CLIP_SECONDS: usize = 5;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Dataset folder of the generated clips (reused when the files are there).
    pub dir: PathBuf,
    /// Number of clips.
    pub clips: usize,
    /// Timed passes of each measurement; the shortest counts.
    pub passes: usize,
    /// Clips of the in-memory and per-stage measurements (the first ones).
    pub sample: usize,
    /// The front end measured.
    pub features: FeatureConfig,
}

impl BenchConfig {
    /// 400 clips under `dir`, 3 passes, a 50-clip sample, the default front end.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            clips: 400,
            passes: 3,
            sample: 50,
            features: FeatureConfig::default(),
        }
    }
}

/// One timed measurement over every clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    /// Shortest wall time of the passes.
    pub seconds: f64,
    /// Clips divided by `seconds`.
    pub clips_per_sec: f64,
}

/// Milliseconds per clip on one core, by [`Stage`] (named as in the JSON result).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageMs {
    /// Reading the file.
    pub read: f64,
    /// Decoding and mixing to mono.
    pub decode: f64,
    /// Resampling to the front end's rate.
    pub resample: f64,
    /// Waveform normalization and padding.
    pub normalize_pad: f64,
    /// STFT, power and dB.
    pub stft_db: f64,
}

/// Everything [`run`] measured; serializes to `specnorm bench --json`'s format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Always `"specnorm"` (the Python side writes `"torchaudio"`).
    pub tool: &'static str,
    /// Clips measured.
    pub clips: usize,
    /// Timed passes of each measurement.
    pub passes: usize,
    /// rayon threads of the all-cores measurement.
    pub threads: usize,
    /// Every clip, one after the other, on the calling thread.
    pub one_core: Throughput,
    /// Every clip spread over rayon's threads.
    pub all_cores: Throughput,
    /// In-memory pipeline (bytes already read, decode to dB), one core.
    pub in_memory_ms_per_clip: f64,
    /// Per-stage breakdown of the same sample, one core.
    pub per_clip_ms: StageMs,
}

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// `clips` or `sample` is zero.
    #[error("nothing to measure: {0} must be > 0")]
    Empty(&'static str),
    /// A generated file could not be written or read back.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A clip could not be written.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The front end failed on a clip.
    #[error(transparent)]
    Features(#[from] FeatureError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Generated clip number `seed`: partials at a random f0 with 5 Hz vibrato, an
/// envelope, noise and a gain, all drawn from a ChaCha8 stream seeded with `seed`.
pub fn clip(seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = CLIP_RATE as usize * CLIP_SECONDS;
    let f0: f32 = rng.gen_range(80.0..2000.0);
    let noise: f32 = rng.gen_range(0.001..0.05);
    let gain: f32 = rng.gen_range(0.05..0.8);
    let tau = std::f32::consts::TAU;
    (0..n)
        .map(|i| {
            let t = i as f32 / CLIP_RATE as f32;
            let vib = 1.0 + 0.01 * (t * 5.0 * tau).sin();
            let tone: f32 = (1..4)
                .map(|h| (t * f0 * h as f32 * vib * tau).sin() / h as f32)
                .sum();
            let env = (t * 1.3).sin().abs();
            gain * (0.5 * tone * env + noise * rng.gen_range(-1.0f32..1.0))
        })
        .collect()
}

/// Writes (or reuses) `n` clips as `dir/audio/clipNNNNN.wav` and an ESC-50
/// `dir/meta/esc50.csv` (fold `i % 5 + 1`, target `i % 50`); the clip paths in order.
pub fn ensure_dataset(dir: &Path, n: usize) -> Result<Vec<PathBuf>, BenchError> {
    let audio = dir.join("audio");
    let meta = dir.join("meta");
    for d in [&audio, &meta] {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let names: Vec<String> = (0..n).map(|i| format!("clip{i:05}.wav")).collect();
    let paths = names
        .par_iter()
        .enumerate()
        .map(|(i, name)| {
            let p = audio.join(name);
            if !p.exists() {
                specnorm_audio::write_wav(&p, &clip(i as u64), CLIP_RATE, 1, WavFormat::Pcm16)?;
            }
            Ok(p)
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    for (i, name) in names.iter().enumerate() {
        let target = i % 50;
        csv += &format!("{name},{},{target},class{target},False,{i},A\n", i % 5 + 1);
    }
    let csv_path = meta.join("esc50.csv");
    specnorm_atomic::write(&csv_path, csv.as_bytes()).map_err(io_err(&csv_path))?;
    Ok(paths)
}

/// Shortest wall time of `passes` (at least one) runs of `f`.
fn best_of(
    passes: usize,
    mut f: impl FnMut() -> Result<(), BenchError>,
) -> Result<f64, BenchError> {
    let mut best = f64::INFINITY;
    for _ in 0..passes.max(1) {
        let t0 = Instant::now();
        f()?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The stages in [`StageMs`] order.
const STAGES: [Stage; 5] = [
    Stage::Read,
    Stage::Decode,
    Stage::Resample,
    Stage::Normalize,
    Stage::Spectrogram,
];

/// One-core seconds per stage of `paths`, summed over clips, in [`STAGES`] order.
fn stage_seconds(fx: &FeatureExtractor, paths: &[PathBuf]) -> Result<[f64; 5], BenchError> {
    let mut sums = [0.0; 5];
    for p in paths {
        let mut last = Instant::now();
        let spec = fx.extract_file_observed(p, &mut |stage| {
            let now = Instant::now();
            if let Some(i) = STAGES.iter().position(|s| *s == stage) {
                sums[i] += (now - last).as_secs_f64();
            }
            last = now;
        })?;
        std::hint::black_box(spec);
    }
    Ok(sums)
}

/// Generates (or reuses) the clips, warms caches and buffers, and measures.
pub fn run(cfg: &BenchConfig) -> Result<BenchReport, BenchError> {
    if cfg.clips == 0 {
        return Err(BenchError::Empty("clips"));
    }
    if cfg.sample == 0 {
        return Err(BenchError::Empty("sample"));
    }
    let paths = ensure_dataset(&cfg.dir, cfg.clips)?;
    let fx = FeatureExtractor::new(cfg.features.clone())?;
    // Warm the page cache, the resampler plan and every thread's buffers.
    for p in &paths {
        std::fs::read(p).map_err(io_err(p))?;
    }
    paths
        .par_iter()
        .try_for_each(|p| fx.extract_file(p).map(drop))?;
    let n = paths.len() as f64;
    let throughput = |seconds: f64| Throughput {
        seconds,
        clips_per_sec: n / seconds,
    };

    let one_core = best_of(cfg.passes, || {
        for p in &paths {
            std::hint::black_box(fx.extract_file(p)?);
        }
        Ok(())
    })?;
    let all_cores = best_of(cfg.passes, || {
        paths
            .par_iter()
            .try_for_each(|p| fx.extract_file(p).map(|s| drop(std::hint::black_box(s))))?;
        Ok(())
    })?;

    let sample = &paths[..paths.len().min(cfg.sample)];
    let bytes = sample
        .iter()
        .map(|p| std::fs::read(p).map_err(io_err(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let in_memory = best_of(cfg.passes, || {
        for (b, p) in bytes.iter().zip(sample) {
            std::hint::black_box(fx.extract_bytes(b, p)?);
        }
        Ok(())
    })?;
    drop(bytes);
    let mut stages = [f64::INFINITY; 5];
    for _ in 0..cfg.passes.max(1) {
        for (best, s) in stages.iter_mut().zip(stage_seconds(&fx, sample)?) {
            *best = best.min(s);
        }
    }
    let ms = |secs: f64| 1e3 * secs / sample.len() as f64;
    Ok(BenchReport {
        tool: "specnorm",
        clips: paths.len(),
        passes: cfg.passes.max(1),
        threads: rayon::current_num_threads(),
        one_core: throughput(one_core),
        all_cores: throughput(all_cores),
        in_memory_ms_per_clip: ms(in_memory),
        per_clip_ms: StageMs {
            read: ms(stages[0]),
            decode: ms(stages[1]),
            resample: ms(stages[2]),
            normalize_pad: ms(stages[3]),
            stft_db: ms(stages[4]),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_are_deterministic_esc50_shaped_and_in_range() {
        let a = clip(7);
        assert_eq!(a.len(), 220_500);
        assert_eq!(a, clip(7));
        assert_ne!(a, clip(8));
        assert!(a.iter().all(|x| x.abs() < 1.0));
    }

    #[test]
    fn a_run_measures_every_clip_and_writes_an_esc50_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = BenchConfig::new(dir.path());
        cfg.clips = 3;
        cfg.passes = 1;
        cfg.sample = 2;
        let r = run(&cfg).unwrap();
        assert_eq!((r.clips, r.passes, r.tool), (3, 1, "specnorm"));
        assert!(r.one_core.seconds > 0.0 && r.all_cores.clips_per_sec > 0.0);
        let csv = std::fs::read_to_string(dir.path().join("meta/esc50.csv")).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.contains("clip00002.wav,3,2,class2"));
        cfg.sample = 0;
        assert!(matches!(run(&cfg), Err(BenchError::Empty("sample"))));
    }
}
