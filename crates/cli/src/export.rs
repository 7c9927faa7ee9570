//! `specnorm export CHECKPOINT --out model.onnx` (feature `train`): turn a
//! checkpoint written by the experiment into one self-contained ONNX file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use specnorm_export::{export_model, ExportMeta, ExportNorm};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_train::Model;

/// Arguments of `specnorm export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A `.safetensors` checkpoint from `specnorm experiment` (its metadata must
    /// hold the setting's normalizer, feature config and class names).
    pub checkpoint: PathBuf,
    /// Where to write the ONNX model.
    #[arg(long)]
    pub out: PathBuf,
}

fn meta_field<'a>(
    meta: &'a std::collections::BTreeMap<String, String>,
    key: &str,
    ckpt: &Path,
) -> Result<&'a str> {
    meta.get(key).map(String::as_str).with_context(|| {
        format!(
            "{}: checkpoint metadata has no '{key}' (not written by `specnorm experiment`?)",
            ckpt.display()
        )
    })
}

/// The normalization recorded in a checkpoint, as the exporter's graph prelude.
fn export_norm(json: &str, ckpt: &Path) -> Result<ExportNorm> {
    let v: serde_json::Value = serde_json::from_str(json)
        .with_context(|| format!("{}: bad normalizer metadata", ckpt.display()))?;
    match v.get("kind").and_then(|k| k.as_str()) {
        Some("pcen") => bail!(
            "{}: PCEN models cannot be exported: PCEN is a recurrent filter over the power spectrogram, \
             and the ONNX graph takes dB spectrograms",
            ckpt.display()
        ),
        Some("fixed") => bail!("{}: models trained with fixed (user-given) statistics cannot be exported yet", ckpt.display()),
        _ => serde_json::from_value(v).with_context(|| format!("{}: unsupported normalizer {json}", ckpt.display())),
    }
}

/// Export `ckpt` to `out`; returns a one-line description.
pub fn export_checkpoint(ckpt: &Path, out: &Path) -> Result<String> {
    let (model, meta) = Model::load(ckpt, tch::Device::Cpu)
        .with_context(|| format!("loading {}", ckpt.display()))?;
    let norm = export_norm(meta_field(&meta, "specnorm.normalizer", ckpt)?, ckpt)?;
    let features_json = meta_field(&meta, "specnorm.features", ckpt)?;
    let features: FeatureConfig = serde_json::from_str(features_json)
        .with_context(|| format!("{}: bad feature config metadata", ckpt.display()))?;
    let n_freq = FeatureExtractor::new(features.clone())?.n_bins();
    let class_names: Vec<String> =
        serde_json::from_str(meta_field(&meta, "specnorm.classes", ckpt)?)
            .with_context(|| format!("{}: bad class list metadata", ckpt.display()))?;
    let export_meta = ExportMeta {
        class_names,
        sample_rate: features.sample_rate,
        n_freq,
        feature_config_json: features_json.to_string(),
        norm,
    };
    crate::common::ensure_parent(out)?;
    export_model(&model, &export_meta, out)
        .with_context(|| format!("exporting {}", ckpt.display()))?;
    Ok(format!(
        "{} ({}, {} classes, F = {n_freq}) -> {}",
        ckpt.display(),
        model.spec.kind.as_str(),
        export_meta.class_names.len(),
        out.display()
    ))
}

pub fn run(a: Args) -> Result<()> {
    println!("{}", export_checkpoint(&a.checkpoint, &a.out)?);
    Ok(())
}
