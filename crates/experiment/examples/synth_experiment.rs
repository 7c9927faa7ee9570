//! Generates the synthetic dataset and runs the experiment on it, printing the
//! epoch table: a quick way to try settings without the CLI.
//!
//! ```text
//! cargo run --release -p specnorm-experiment --example synth_experiment -- \
//!     <work_dir> [settings=none,waveform,channel] [epochs=5] [runs=1] [model=small] [seconds=5] \
//!     [clips_per_class=40] [feature_seconds=seconds] [shortest=seconds]
//! ```
//!
//! `seconds` is the clips' length (the longest, with `shortest`: lengths are then drawn from
//! `[shortest, seconds]`); `feature_seconds` the length the features pad or trim them to (0: each
//! clip keeps its own, batches are padded to their longest clip). The last line prints the mean
//! seconds per training epoch.
use std::path::PathBuf;

use specnorm_experiment::runner::{run_experiment, ExperimentConfig, Progress};
use specnorm_experiment::synth::{generate, SynthConfig};
use specnorm_train::ModelKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let work = PathBuf::from(
        args.first()
            .map(String::as_str)
            .unwrap_or("target/synth_experiment"),
    );
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let seconds: f32 = arg(5, "5").parse()?;
    let feature_seconds: f32 = arg(7, &seconds.to_string()).parse()?;
    let shortest: f32 = arg(8, &seconds.to_string()).parse()?;
    let synth = SynthConfig {
        duration_s: f64::from(seconds),
        shortest_s: (shortest < seconds).then_some(f64::from(shortest)),
        clips_per_class: arg(6, "40").parse()?,
        ..SynthConfig::default()
    };
    let data = work.join(format!(
        "data_{shortest}-{seconds}s_{}",
        synth.clips_per_class
    ));
    let t0 = std::time::Instant::now();
    println!(
        "dataset: {:?} ({:?}, {:.1} s)",
        data,
        generate(&data, &synth)?,
        t0.elapsed().as_secs_f64()
    );
    let mut cfg = ExperimentConfig::new(&data, work.join("out"));
    cfg.settings = arg(1, "none,waveform,channel")
        .split(',')
        .map(str::to_string)
        .collect();
    cfg.epochs = arg(2, "5").parse()?;
    cfg.runs = arg(3, "1").parse()?;
    cfg.model = match arg(4, "small").as_str() {
        "xresnet18" => ModelKind::XResNet18,
        _ => ModelKind::Small,
    };
    cfg.features.seconds = (feature_seconds > 0.0).then_some(feature_seconds);
    cfg.out_dir = work.join(format!(
        "out_{}_{}e_{shortest}-{seconds}s_f{feature_seconds}_{}",
        cfg.model.as_str(),
        cfg.epochs,
        synth.clips_per_class
    ));
    let outcome = run_experiment(&cfg, &|p| match p {
        Progress::Line(l) => println!("{l}"),
        Progress::Stage(s) => println!("== {s} ({:.1} s)", t0.elapsed().as_secs_f64()),
        _ => {}
    })?;
    println!("{}", outcome.results.summary.conclusion);
    println!(
        "report: {} (total {:.1} s)",
        outcome.results_md.display(),
        t0.elapsed().as_secs_f64()
    );
    let epochs: Vec<f64> = outcome
        .results
        .runs
        .iter()
        .flat_map(|r| r.epochs.iter().map(|e| e.seconds))
        .collect();
    println!(
        "mean seconds per epoch (training and validation): {:.3} over {} epochs",
        epochs.iter().sum::<f64>() / epochs.len().max(1) as f64,
        epochs.len()
    );
    Ok(())
}
