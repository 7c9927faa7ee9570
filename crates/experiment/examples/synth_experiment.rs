//! Generates the synthetic dataset and runs the experiment on it, printing the
//! epoch table: a quick way to try settings without the CLI.
//!
//! ```text
//! cargo run --release -p specnorm-experiment --example synth_experiment -- \
//!     <work_dir> [settings=none,waveform,channel] [epochs=5] [runs=1] [model=small] [seconds=5] [clips_per_class=40]
//! ```
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
    let synth = SynthConfig {
        duration_s: f64::from(seconds),
        clips_per_class: arg(6, "40").parse()?,
        ..SynthConfig::default()
    };
    let data = work.join(format!("data_{}s_{}", seconds, synth.clips_per_class));
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
    cfg.features.seconds = Some(seconds);
    cfg.out_dir = work.join(format!(
        "out_{}_{}e_{}s_{}",
        cfg.model.as_str(),
        cfg.epochs,
        seconds,
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
    Ok(())
}
