//! Repeatedly computes one spectrogram of a 5 s / 16 kHz clip, for profiling with
//! `perf stat` / `perf record` on a busy machine (CPU time is what matters there):
//!
//! `cargo run --release -p specnorm-dsp --example profile_clip -- stft_db 2000`
//! then divide `task-clock` by the iteration count. Cases: stft_power, stft_db,
//! stft_db_top80, mel128_db.

use specnorm_dsp::{MelConfig, Scale, SpectrogramConfig, SpectrogramPlan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "stft_db".into());
    let iters: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let (mel, scale) = match case.as_str() {
        "stft_power" => (None, Scale::Power),
        "stft_db" => (None, Scale::Db { top_db: None }),
        "stft_db_top80" => (None, Scale::Db { top_db: Some(80.0) }),
        "mel128_db" => (Some(MelConfig::default()), Scale::Db { top_db: None }),
        other => return Err(format!("unknown case {other}").into()),
    };
    let plan = SpectrogramPlan::new(
        &SpectrogramConfig {
            mel,
            scale,
            ..Default::default()
        },
        16_000,
    )?;
    let x: Vec<f32> = (0..80_000)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            0.5 * (2.0 * std::f32::consts::PI * (200.0 + 300.0 * t) * t).sin()
                + 0.01 * ((i * 7919) % 1000) as f32 / 1000.0
        })
        .collect();
    let mut out = ndarray::Array2::zeros(plan.output_shape(x.len()));
    let start = std::time::Instant::now();
    for _ in 0..iters {
        plan.compute_into(std::hint::black_box(&x), out.view_mut())?;
    }
    let wall = start.elapsed().as_secs_f64() / iters as f64 * 1e3;
    println!("{case}: {wall:.4} ms/clip wall (checksum {})", out.sum());
    Ok(())
}
