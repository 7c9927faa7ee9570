//! `specnorm infer --model model.onnx FILE_OR_DIR...` (feature `infer`): classify
//! audio files with an exported model on ONNX Runtime. No libtorch involved.

use std::path::PathBuf;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use specnorm_infer::{Classifier, ModelInput};

/// Arguments of `specnorm infer`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  specnorm infer --model runs/experiment/onnx/channel.onnx clip.wav\n  \
    specnorm infer --model model.onnx --json --top-k 3 recordings/ > predictions.jsonl"
)]
pub struct Args {
    /// The exported model (from `specnorm export` or `cargo xtask experiment`).
    #[arg(long)]
    pub model: PathBuf,
    /// Audio files and/or folders (searched recursively for audio files).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// How many classes to print per file.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Files per batch (progress is reported per batch).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Files that cannot be classified are still listed on stderr, but the
    /// command succeeds (exit 0) and says how many were skipped. Without it,
    /// any such file makes the exit status non-zero.
    #[arg(long)]
    pub skip_bad: bool,
    #[command(flatten)]
    pub decode: crate::common::DecodeArgs,
}

pub fn run(a: Args) -> Result<()> {
    let clf = Classifier::load(&a.model)?
        .with_top_k(a.top_k.max(1))
        .with_decode_options(a.decode.options());
    let kind = match clf.input_kind() {
        ModelInput::Spectrogram => "feature-input model (front end: specnorm-features)".to_string(),
        ModelInput::Waveform { stft } => format!(
            "waveform-input model (front end inside ONNX Runtime, {} STFT; decoding and \
             resampling to {} Hz here)",
            stft.as_str(),
            clf.sample_rate()
        ),
    };
    eprintln!(
        "loaded {}: {} {}, {} classes, {} normalization",
        a.model.display(),
        clf.model_kind(),
        kind,
        clf.class_names().len(),
        clf.metadata().normalization.kind()
    );
    let files = specnorm_infer::audio_files(&a.inputs)?;
    if files.is_empty() {
        bail!("no audio files found in {:?}", a.inputs);
    }
    let pb = if files.len() > a.batch_size && !a.json {
        let pb = ProgressBar::new(files.len() as u64);
        pb.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut failed = 0usize;
    for chunk in files.chunks(a.batch_size.max(1)) {
        for r in clf.predict_files(chunk) {
            match r {
                Ok(p) => {
                    let line = if a.json {
                        let top: Vec<_> = p
                            .top
                            .iter()
                            .map(|(c, prob)| serde_json::json!({"class": c, "prob": prob}))
                            .collect();
                        serde_json::json!({"file": p.path.display().to_string(), "top": top})
                            .to_string()
                    } else {
                        let top: Vec<String> = p
                            .top
                            .iter()
                            .map(|(c, prob)| format!("{c} {prob:.3}"))
                            .collect();
                        format!("{}\t{}", p.path.display(), top.join("\t"))
                    };
                    pb.suspend(|| println!("{line}"));
                }
                Err(e) => {
                    failed += 1;
                    let tag = if a.skip_bad { "skipped" } else { "error" };
                    pb.suspend(|| eprintln!("{tag}: {e}"));
                }
            }
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let truncated: Vec<String> = clf.take_truncated().iter().map(|t| t.to_string()).collect();
    crate::common::warn_truncated(&truncated);
    if failed > 0 && !a.skip_bad {
        bail!(
            "{failed} of {} file(s) could not be classified (see above)",
            files.len()
        );
    }
    if failed > 0 && failed == files.len() {
        // --skip-bad leaves bad files out, but a run that classified nothing
        // is still a failure.
        bail!("none of the {failed} file(s) could be classified (see above)");
    }
    if failed > 0 {
        eprintln!(
            "skipped {failed} of {} file(s) that could not be classified (--skip-bad)",
            files.len()
        );
    }
    Ok(())
}
