//! Keyword arguments <-> [`FeatureConfig`]: a thin adapter over
//! [`specnorm_features::FeatureKeys`], which defines the flat, torchaudio-style keys
//! (`n_fft=`, `hop=`, `n_mels=`, `top_db=` ...) and maps them onto the nested serde type that
//! the CLI, the statistics' provenance, checkpoints and ONNX files store. This file only turns
//! Python values into serde values and back; [`to_dict`] inverts [`from_kwargs`] exactly.
//! Python spells "off" as `None` where the keys write 0: `seconds` (each clip's own length)
//! and `n_mels` (no mel filterbank).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use serde_json::Value;
use specnorm_features::{FeatureConfig, FeatureKeyError, FeatureKeys};

use crate::errors::ConfigError;

/// The keys whose 0 means "off", which Python writes as `None`.
const NONE_IS_ZERO: [&str; 2] = ["seconds", "n_mels"];

fn bad(msg: String) -> PyErr {
    ConfigError::new_err(msg)
}

fn key_err(e: FeatureKeyError) -> PyErr {
    match e {
        FeatureKeyError::Unknown { .. } => PyTypeError::new_err(e.to_string()),
        FeatureKeyError::Invalid(f) => crate::errors::feature(f),
        other => ConfigError::new_err(other.to_string()),
    }
}

/// A Python value as the serde value [`FeatureKeys::set`] reads.
fn to_value(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(if NONE_IS_ZERO.contains(&key) {
            Value::from(0)
        } else {
            Value::Null
        });
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Value::from(i));
        }
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(Value::from(v.extract::<f64>()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(Value::String(v.extract::<String>()?.to_lowercase()));
    }
    // numpy scalars and other numbers: an integer if it has __index__, else a float.
    if let Ok(i) = v.extract::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(Value::from(f));
    }
    Err(ConfigError::new_err(format!(
        "{key}={} has the wrong type",
        v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
    )))
}

/// Builds a [`FeatureConfig`] from keyword arguments through [`FeatureKeys`]: missing keys
/// (and `None`) take the Rust defaults, `win_length` defaults to `n_fft` (as in torchaudio).
/// Unknown keys raise `TypeError`, bad values and invalid configurations `ConfigError`.
pub fn from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<FeatureConfig> {
    let mut keys = FeatureKeys::default();
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            let value = to_value(&key, &v)?;
            keys.set(&key, value).map_err(key_err)?;
        }
    }
    keys.resolve().map_err(key_err)
}

/// A serde value of a key as a Python object.
fn to_py<'py>(py: Python<'py>, key: &str, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    let none = || py.None().into_bound(py);
    Ok(match v {
        Value::Null => none(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) if NONE_IS_ZERO.contains(&key) && n.as_f64() == Some(0.0) => none(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        other => PyString::new(py, &other.to_string()).into_any(),
    })
}

/// The keyword arguments that rebuild `cfg` (`FeatureExtractor(**to_dict(cfg))`), every key
/// in [`FeatureKeys::KEYS`] order (`None` where a key does not apply).
pub fn to_dict<'py>(py: Python<'py>, cfg: &FeatureConfig) -> PyResult<Bound<'py, PyDict>> {
    let keys = serde_json::to_value(FeatureKeys::from(cfg))
        .map_err(|e| ConfigError::new_err(format!("feature keys: {e}")))?;
    let d = PyDict::new(py);
    for k in FeatureKeys::KEYS {
        d.set_item(k, to_py(py, k, keys.get(k).unwrap_or(&Value::Null))?)?;
    }
    Ok(d)
}

/// The serde JSON of a configuration (the form stats.json's provenance and `from_json` use).
pub fn to_json(cfg: &FeatureConfig) -> String {
    // A FeatureConfig has only plain fields: serialization cannot fail.
    serde_json::to_string_pretty(cfg).unwrap_or_default()
}

/// Parses a configuration from JSON text: either a `FeatureConfig` document or a specnorm
/// stats file (its `provenance.features`). `source` names the text in errors.
pub fn from_json(text: &str, source: &str) -> PyResult<FeatureConfig> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("{source}: not valid JSON: {e}")))?;
    let features =
        if value.get("format").and_then(|f| f.as_str()) == Some(specnorm_stats::FORMAT_NAME) {
            value
                .get("provenance")
                .and_then(|p| p.get("features"))
                .filter(|f| !f.is_null())
                .cloned()
                .ok_or_else(|| {
                    bad(format!(
                        "{source}: stats file records no feature configuration"
                    ))
                })?
        } else {
            value
        };
    // FeatureConfig fills missing fields with defaults; refuse documents that are not one.
    let known = ["sample_rate", "seconds", "waveform_norm", "spectrogram"];
    match features.as_object() {
        Some(obj) => {
            if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(bad(format!(
                    "{source}: not a feature configuration (unknown key {k:?}; expected {known:?})"
                )));
            }
        }
        None => {
            return Err(bad(format!(
                "{source}: not a feature configuration (not an object)"
            )))
        }
    }
    serde_json::from_value(features)
        .map_err(|e| bad(format!("{source}: not a feature configuration: {e}")))
}
