//! Sharded statistics end to end, in one process: a single pass, then N shards written as partial
//! files and merged, with the wall times and the largest relative difference of mean and std.
//!
//! ```text
//! cargo run --release -p specnorm-pipeline --example shards -- [DIR] [CLIPS] [SHARDS]
//! ```
//!
//! `DIR` (default: a temporary folder) receives an ESC-50-shaped dataset of `CLIPS` (default 40)
//! generated clips if it has no `meta/esc50.csv` yet: 5 s, 44.1 kHz, mono 16-bit WAV, 5 folds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use specnorm_audio::{write_wav, WavFormat};
use specnorm_folds::Dataset;
use specnorm_pipeline::{dataset_stats, merge_files, Shard, StatsRequest};

/// Writes `clips` ESC-50-shaped clips (tones, chirps and noise) under `root` in ESC-50 layout.
fn generate(root: &Path, clips: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(root.join("audio"))?;
    let mut csv = String::from("filename,fold,target,category,esc10,src_file,take\n");
    let sr = 44_100u32;
    for i in 0..clips {
        let (fold, target) = (i % 5 + 1, i % 50);
        let name = format!("{fold}-{i:06}-A-{target}.wav");
        let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let samples: Vec<f32> = (0..5 * sr as usize)
            .map(|n| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let t = n as f32 / sr as f32;
                let f = 100.0 + 40.0 * target as f32 + 200.0 * t;
                0.3 * (std::f32::consts::TAU * f * t).sin() + 0.05 * (1 + fold) as f32 * noise
            })
            .collect();
        write_wav(
            &root.join("audio").join(&name),
            &samples,
            sr,
            1,
            WavFormat::Pcm16,
        )
        .map_err(std::io::Error::other)?;
        csv += &format!("{name},{fold},{target},class{target},False,{i},A\n");
    }
    std::fs::create_dir_all(root.join("meta"))?;
    std::fs::write(root.join("meta/esc50.csv"), csv)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tmp = tempfile::tempdir()?;
    let root = args
        .first()
        .map_or_else(|| tmp.path().join("esc"), PathBuf::from);
    let clips: usize = args.get(1).map_or(Ok(40), |s| s.parse())?;
    let shards: u32 = args.get(2).map_or(Ok(4), |s| s.parse())?;
    if !root.join("meta/esc50.csv").is_file() {
        println!("generating {clips} clips in {}", root.display());
        generate(&root, clips)?;
    }
    let ds = Dataset::open(&root)?;

    let t0 = Instant::now();
    let single = dataset_stats(&ds, &StatsRequest::default(), &|| {})?.finish(false)?;
    let t_single = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let mut files = Vec::new();
    for k in 1..=shards {
        let req = StatsRequest {
            shard: Shard::new(k, shards)?,
            ..StatsRequest::default()
        };
        let path = tmp.path().join(format!("part-{k}.json"));
        dataset_stats(&ds, &req, &|| {})?.save(&path)?;
        files.push(path);
    }
    let merged = merge_files(&files, false)?.finish(false)?;
    let t_sharded = t0.elapsed().as_secs_f64();

    let rel = |a: &ndarray::ArrayD<f64>, b: &ndarray::ArrayD<f64>| {
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y).abs() / y.abs())
            .fold(0.0, f64::max)
    };
    let (s, m) = (&single.stats, &merged.stats);
    println!("{} training clips, shape {:?}", s.provenance.clips, s.shape);
    println!("single pass:            {t_single:.2} s");
    println!("{shards} shards + merge:     {t_sharded:.2} s (shards run one after another here)");
    println!(
        "max relative difference: mean {:.2e}, std {:.2e}; bit-for-bit equal: {}",
        rel(&m.mean, &s.mean),
        rel(&m.std, &s.std),
        m.mean == s.mean && m.std == s.std
    );
    Ok(())
}
