//! The export stage: the best run of each setting becomes `onnx/<setting>.onnx`, through
//! [`specnorm_export::export_checkpoint`]. Every attempt is recorded (`exports.json` and an
//! "ONNX export" section of `results.md`); a failure does not stop the others, and
//! [`ExperimentOutcome::failed_exports`](crate::runner::ExperimentOutcome::failed_exports)
//! lets the caller turn it into a non-zero exit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specnorm_export::{export_checkpoint, ExportOptions};

use crate::report::BestRun;
use crate::runner::ExperimentError;

/// The outcome of exporting one setting's best run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// Setting name.
    pub setting: String,
    /// Key of the exported run.
    pub run: String,
    /// The ONNX file, relative to the output folder, when the export succeeded.
    pub onnx: Option<PathBuf>,
    /// Why the export failed.
    pub error: Option<String>,
}

/// Exports every best run with a checkpoint to `out/onnx/<setting>.onnx`, then writes
/// `out/exports.json` and appends the outcome to `out/results.md`.
pub fn export_best_runs(
    out: &Path,
    best: &BTreeMap<String, (BestRun, Option<PathBuf>)>,
) -> Result<Vec<ExportRecord>, ExperimentError> {
    let mut records = Vec::new();
    for (setting, (run, ckpt)) in best {
        let rel = PathBuf::from("onnx").join(format!("{setting}.onnx"));
        let result = match ckpt {
            Some(ckpt) => export_checkpoint(ckpt, &out.join(&rel), &ExportOptions::default())
                .map(|_| rel)
                .map_err(|e| e.to_string()),
            None => Err("no checkpoint was saved for this run".to_string()),
        };
        let (onnx, error) = match result {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        records.push(ExportRecord {
            setting: setting.clone(),
            run: run.key.clone(),
            onnx,
            error,
        });
    }
    let io = |path: PathBuf| move |source| ExperimentError::Io { path, source };
    let json_path = out.join("exports.json");
    let json = serde_json::to_string_pretty(&records).map_err(|source| ExperimentError::Json {
        path: json_path.clone(),
        source,
    })?;
    specnorm_atomic::write(&json_path, json.as_bytes()).map_err(io(json_path.clone()))?;
    let md_path = out.join("results.md");
    let mut md = std::fs::read_to_string(&md_path).unwrap_or_default();
    md.push_str(&markdown(&records));
    specnorm_atomic::write(&md_path, md.as_bytes()).map_err(io(md_path.clone()))?;
    Ok(records)
}

/// The "ONNX export" section of the report.
fn markdown(records: &[ExportRecord]) -> String {
    let mut s = String::from(
        "\n## ONNX export\n\nThe best run of each setting, exported with its normalization in \
         the graph (input: the spectrogram `[N, 1, F, T]`).\n\n| setting | run | ONNX |\n|---|---|---|\n",
    );
    for r in records {
        let cell = match (&r.onnx, &r.error) {
            (Some(p), _) => format!("`{}`", p.display()),
            (None, Some(e)) => format!(
                "**not exported**: {}",
                e.replace('|', "\\|").replace('\n', " ")
            ),
            (None, None) => "not exported".to_string(),
        };
        s.push_str(&format!("| {} | {} | {cell} |\n", r.setting, r.run));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_recorded_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("results.md"), "# results\n").unwrap();
        let run = |key: &str| BestRun {
            key: key.into(),
            fold: 1,
            seed: 0,
            final_accuracy: 0.5,
            checkpoint: None,
        };
        let mut best = BTreeMap::new();
        best.insert("a".to_string(), (run("a_f1_s0"), None));
        let missing = dir.path().join("missing.safetensors");
        best.insert("b".to_string(), (run("b_f1_s0"), Some(missing)));
        let records = export_best_runs(dir.path(), &best).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records
            .iter()
            .all(|r| r.onnx.is_none() && r.error.is_some()));
        assert!(records[1]
            .error
            .as_deref()
            .unwrap()
            .contains("missing.safetensors"));
        let md = std::fs::read_to_string(dir.path().join("results.md")).unwrap();
        assert!(md.starts_with("# results\n"));
        assert!(
            md.contains("| a | a_f1_s0 | **not exported**: no checkpoint"),
            "{md}"
        );
        let json: Vec<ExportRecord> = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("exports.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(json, records);
    }
}
