//! The process-wide ONNX Runtime environment.

use std::path::PathBuf;
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::{InferError, ORT_DYLIB_ENV};

/// The process-wide ONNX Runtime environment, loaded once from
/// `$ORT_DYLIB_PATH`.
pub fn runtime() -> Result<Environment, InferError> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = match std::env::var_os(ORT_DYLIB_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                return Err(format!(
                    "{ORT_DYLIB_ENV} is not set; it must name the ONNX Runtime shared library \
                     (libonnxruntime.so / .dylib / onnxruntime.dll, version >= 1.22). Run \
                     `cargo xtask setup`, which installs it, and export the {ORT_DYLIB_ENV} line it prints"
                ))
            }
        };
        if !path.is_file() {
            return Err(format!(
                "{ORT_DYLIB_ENV}={} does not name a file; run `cargo xtask setup`",
                path.display()
            ));
        }
        ort::init_from(&path)
            .map_err(|e| format!("loading {}: {e}", path.display()))?
            .with_name("specnorm-infer")
            .build()
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(InferError::Runtime)
}

pub(crate) fn ort_err<E: std::fmt::Display>(e: E) -> InferError {
    InferError::Ort(e.to_string())
}
