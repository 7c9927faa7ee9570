//! `specnorm`: a thin command line over the specnorm crates.
//!
//! * `spec`: one file to a dB spectrogram (.npy and/or .png)
//! * `stats`: normalization statistics of a dataset's training folds
//! * `features`: the on-disk feature cache of a dataset (what `experiment --cache` reads)
//! * `bench`: feature-pipeline throughput on generated ESC-50-shaped clips
//! * `report`: one experiment report from several output folders (shards)
//! * `config --print`: the feature configuration that defaults, `--config FILE` and flags
//!   resolve to
//! * `experiment`, `export` (feature `train`, libtorch) and `infer` (feature
//!   `infer`, onnxruntime)

mod bench;
mod common;
mod config;
mod dataset;
#[cfg(feature = "train")]
mod experiment;
#[cfg(feature = "train")]
mod export;
mod features;
#[cfg(feature = "infer")]
mod infer;
#[cfg(feature = "train")]
mod lr_find;
mod report;
mod spec;
mod stats;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Correctly normalized spectrograms for neural networks.
#[derive(Parser, Debug)]
#[command(name = "specnorm", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Compute the dB spectrogram of one audio file.
    Spec(spec::Args),
    /// Stream a dataset's training folds and compute mean/std statistics.
    Stats(Box<stats::Args>),
    /// Write the on-disk feature cache of a dataset (memory-mapped by `experiment --cache`).
    Features(Box<features::Args>),
    /// Measure the feature pipeline (decode, resample, normalize, STFT, dB) in clips/s.
    Bench(bench::Args),
    /// Print the resolved configuration (defaults < --config FILE < flags) as TOML.
    Config(config::Args),
    /// Run the normalization experiment (train every setting, report, export).
    #[cfg(feature = "train")]
    Experiment(Box<experiment::Args>),
    /// Merge the runs of several experiment output folders (e.g. shards) into one report.
    Report(report::Args),
    /// fastai's learning-rate finder for one setting on the training folds (plot + suggestion).
    #[cfg(feature = "train")]
    LrFind(Box<lr_find::Args>),
    /// Export a trained checkpoint to ONNX, normalization included.
    #[cfg(feature = "train")]
    Export(export::Args),
    /// Classify audio files with an exported ONNX model (ONNX Runtime).
    #[cfg(feature = "infer")]
    Infer(infer::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Spec(a) => spec::run(a),
        Cmd::Stats(a) => stats::run(*a),
        Cmd::Features(a) => features::run(*a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Report(a) => report::run(a),
        Cmd::Config(a) => config::run(a),
        #[cfg(feature = "train")]
        Cmd::Experiment(a) => experiment::run(*a),
        #[cfg(feature = "train")]
        Cmd::LrFind(a) => lr_find::run(*a),
        #[cfg(feature = "train")]
        Cmd::Export(a) => export::run(a),
        #[cfg(feature = "infer")]
        Cmd::Infer(a) => infer::run(a),
    }
}
