//! `specnorm export CHECKPOINT --out model.onnx [--frontend --stft dft|conv]` (feature
//! `train`): turn a checkpoint written by the experiment into one self-contained ONNX file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use specnorm_export::{export_checkpoint, ExportOptions, ModelInput, StftImpl};

/// STFT inside a `--frontend` graph.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stft {
    /// The ONNX `STFT` operator (opset 17).
    Dft,
    /// `Conv` with windowed DFT kernels (runs on every execution provider).
    Conv,
}

/// Arguments of `specnorm export`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  specnorm export runs/experiment/checkpoints/channel_f1_s0.safetensors --out channel.onnx\n  specnorm export CKPT --frontend --stft conv --out waveform_model.onnx"
)]
pub struct Args {
    /// A `.safetensors` checkpoint from `specnorm experiment` (its metadata must
    /// hold the setting's normalizer, feature config and class names).
    pub checkpoint: PathBuf,
    /// Where to write the ONNX model.
    #[arg(long)]
    pub out: PathBuf,
    /// Put the front end in the graph: the input is the mono waveform `[N, S]` at the model's
    /// sample rate (resampling stays outside) instead of the spectrogram.
    #[arg(long)]
    pub frontend: bool,
    /// STFT implementation of a `--frontend` graph.
    #[arg(long, value_enum, default_value_t = Stft::Dft, requires = "frontend")]
    pub stft: Stft,
}

pub fn run(a: Args) -> Result<()> {
    let input = if a.frontend {
        ModelInput::Waveform {
            stft: match a.stft {
                Stft::Dft => StftImpl::Dft,
                Stft::Conv => StftImpl::Conv,
            },
        }
    } else {
        ModelInput::Spectrogram
    };
    let summary = export_checkpoint(&a.checkpoint, &a.out, &ExportOptions { input })
        .with_context(|| format!("exporting {}", a.checkpoint.display()))?;
    println!("{summary}");
    Ok(())
}
