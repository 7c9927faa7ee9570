//! Keyword arguments <-> [`FeatureConfig`]: the flat, torchaudio-style names Python users
//! write (`n_fft=`, `hop=`, `n_mels=`, `top_db=` ...) and the nested serde type that the
//! CLI, the statistics' provenance, checkpoints and ONNX files store. This is the only
//! place that maps one onto the other; [`to_dict`] inverts [`from_kwargs`] exactly.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use specnorm_dsp::{MelConfig, MelNorm, MelScale, PadMode, Scale, WindowKind};
use specnorm_features::FeatureConfig;

use crate::errors::ConfigError;

/// Every accepted key, in the order `FeatureExtractor.config` lists them.
pub const KEYS: [&str; 18] = [
    "sample_rate",
    "seconds",
    "waveform_norm",
    "n_fft",
    "win_length",
    "hop",
    "window",
    "center",
    "pad_mode",
    "power",
    "n_mels",
    "f_min",
    "f_max",
    "mel_scale",
    "mel_norm",
    "scale",
    "top_db",
    "ln_eps",
];

/// Default floor of `scale="ln"`.
const DEFAULT_LN_EPS: f32 = 1e-6;

fn bad(msg: String) -> PyErr {
    ConfigError::new_err(msg)
}

fn pick<'a, T: Copy>(key: &str, value: &str, table: &'a [(&'a str, T)]) -> PyResult<T> {
    table
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            bad(format!("{key}={value:?} is not one of {names:?}"))
        })
}

const WINDOWS: [(&str, WindowKind); 3] = [
    ("hann", WindowKind::Hann),
    ("hamming", WindowKind::Hamming),
    ("rectangular", WindowKind::Rectangular),
];
const PADS: [(&str, PadMode); 2] = [
    ("reflect", PadMode::Reflect),
    ("constant", PadMode::Constant),
];
const MEL_SCALES: [(&str, MelScale); 2] = [("htk", MelScale::Htk), ("slaney", MelScale::Slaney)];
const MEL_NORMS: [(&str, MelNorm); 1] = [("slaney", MelNorm::Slaney)];

fn name_of<T: PartialEq + Copy>(table: &[(&'static str, T)], v: T) -> &'static str {
    table.iter().find(|(_, x)| *x == v).map_or("?", |(n, _)| n)
}

/// Builds a [`FeatureConfig`] from keyword arguments; missing keys take the Rust defaults
/// (`win_length` defaults to `n_fft`, as in torchaudio). Unknown keys raise `TypeError`,
/// bad values `ConfigError`. The configuration is validated by `FeatureExtractor::new`.
pub fn from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<FeatureConfig> {
    let mut cfg = FeatureConfig::default();
    let Some(kw) = kwargs else {
        return Ok(cfg);
    };
    for key in kw.keys() {
        let key: String = key.extract()?;
        if !KEYS.contains(&key.as_str()) {
            return Err(PyTypeError::new_err(format!(
                "unexpected feature configuration keyword {key:?}; accepted: {}",
                KEYS.join(", ")
            )));
        }
    }
    let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(kw.get_item(k)?.filter(|v| !v.is_none()))
    };
    let val = |k: &str, v: &Bound<'_, PyAny>| -> PyErr {
        bad(format!(
            "{k}={} has the wrong type",
            v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    };
    macro_rules! num {
        ($k:literal, $t:ty) => {
            match get($k)? {
                Some(v) => Some(v.extract::<$t>().map_err(|_| val($k, &v))?),
                None => None,
            }
        };
    }
    macro_rules! text {
        ($k:literal) => {
            match get($k)? {
                Some(v) => Some(
                    v.extract::<String>()
                        .map_err(|_| val($k, &v))?
                        .to_lowercase(),
                ),
                None => None,
            }
        };
    }
    if let Some(v) = num!("sample_rate", u32) {
        cfg.sample_rate = v;
    }
    // seconds=None (or 0) keeps every clip's own length, like the CLI's --seconds 0.
    cfg.seconds = match kw.get_item("seconds")? {
        None => cfg.seconds,
        Some(v) if v.is_none() => None,
        Some(v) => {
            let s: f32 = v.extract().map_err(|_| val("seconds", &v))?;
            (s != 0.0).then_some(s)
        }
    };
    if let Some(v) = num!("waveform_norm", bool) {
        cfg.waveform_norm = v;
    }
    let stft = &mut cfg.spectrogram.stft;
    if let Some(v) = num!("n_fft", usize) {
        stft.n_fft = v;
        stft.win_length = v;
    }
    if let Some(v) = num!("win_length", usize) {
        stft.win_length = v;
    }
    if let Some(v) = num!("hop", usize) {
        stft.hop_length = v;
    }
    if let Some(v) = text!("window") {
        stft.window = pick("window", &v, &WINDOWS)?;
    }
    if let Some(v) = num!("center", bool) {
        stft.center = v;
    }
    if let Some(v) = text!("pad_mode") {
        stft.pad_mode = pick("pad_mode", &v, &PADS)?;
    }
    if let Some(v) = num!("power", f32) {
        stft.power = v;
    }
    let mel_keys = ["f_min", "f_max", "mel_scale", "mel_norm"];
    match num!("n_mels", usize) {
        Some(n_mels) => {
            let mut mel = MelConfig {
                n_mels,
                ..MelConfig::default()
            };
            if let Some(v) = num!("f_min", f32) {
                mel.f_min = v;
            }
            mel.f_max = num!("f_max", f32);
            if let Some(v) = text!("mel_scale") {
                mel.scale = pick("mel_scale", &v, &MEL_SCALES)?;
            }
            if let Some(v) = text!("mel_norm") {
                mel.norm = pick("mel_norm", &v, &MEL_NORMS)?;
            }
            cfg.spectrogram.mel = Some(mel);
        }
        None => {
            for k in mel_keys {
                if get(k)?.is_some() {
                    return Err(bad(format!("{k} is a mel option: it needs n_mels")));
                }
            }
        }
    }
    let top_db = num!("top_db", f32);
    let ln_eps = num!("ln_eps", f32);
    let scale = text!("scale").unwrap_or_else(|| "db".into());
    cfg.spectrogram.scale = match scale.as_str() {
        "db" => Scale::Db { top_db },
        "power" | "ln" if top_db.is_some() => {
            return Err(bad(format!(
                "top_db applies to scale=\"db\", not {scale:?}"
            )))
        }
        "power" => Scale::Power,
        "ln" => Scale::Ln {
            eps: ln_eps.unwrap_or(DEFAULT_LN_EPS),
        },
        other => {
            return Err(bad(format!(
                "scale={other:?} is not one of [\"db\", \"power\", \"ln\"]"
            )))
        }
    };
    if ln_eps.is_some() && scale != "ln" {
        return Err(bad("ln_eps applies to scale=\"ln\" only".into()));
    }
    Ok(cfg)
}

/// The keyword arguments that rebuild `cfg` (`FeatureExtractor(**to_dict(cfg))`).
pub fn to_dict<'py>(py: Python<'py>, cfg: &FeatureConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let stft = &cfg.spectrogram.stft;
    d.set_item("sample_rate", cfg.sample_rate)?;
    d.set_item("seconds", cfg.seconds)?;
    d.set_item("waveform_norm", cfg.waveform_norm)?;
    d.set_item("n_fft", stft.n_fft)?;
    d.set_item("win_length", stft.win_length)?;
    d.set_item("hop", stft.hop_length)?;
    d.set_item("window", name_of(&WINDOWS, stft.window))?;
    d.set_item("center", stft.center)?;
    d.set_item("pad_mode", name_of(&PADS, stft.pad_mode))?;
    d.set_item("power", stft.power)?;
    let mel = cfg.spectrogram.mel.as_ref();
    d.set_item("n_mels", mel.map(|m| m.n_mels))?;
    d.set_item("f_min", mel.map(|m| m.f_min))?;
    d.set_item("f_max", mel.and_then(|m| m.f_max))?;
    d.set_item("mel_scale", mel.map(|m| name_of(&MEL_SCALES, m.scale)))?;
    d.set_item(
        "mel_norm",
        mel.and_then(|m| (m.norm != MelNorm::None).then(|| name_of(&MEL_NORMS, m.norm))),
    )?;
    let (scale, top_db, ln_eps) = match cfg.spectrogram.scale {
        Scale::Db { top_db } => ("db", top_db, None),
        Scale::Power => ("power", None, None),
        Scale::Ln { eps } => ("ln", None, Some(eps)),
    };
    d.set_item("scale", scale)?;
    d.set_item("top_db", top_db)?;
    d.set_item("ln_eps", ln_eps)?;
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
