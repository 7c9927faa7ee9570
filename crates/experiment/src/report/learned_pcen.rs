//! The learned parameters of a `pcen-learned` run: `pcen_learned.json` and one plot per
//! parameter across frequency (`pcen_learned/{gain,bias,power,smoothing}.png`), each with the
//! initial (librosa default) value for reference.

use std::path::Path;

use serde::{Deserialize, Serialize};
use specnorm_features::FeatureConfig;

use super::plots::row_axis;
use super::{io_err, write_text, ReportError};

/// The folder of the plots, relative to the output folder.
pub const LEARNED_PCEN_DIR: &str = "pcen_learned";
/// The JSON file of the values, relative to the output folder.
pub const LEARNED_PCEN_JSON: &str = "pcen_learned.json";

/// One run's learned per-channel PCEN parameters (one value per frequency row) and the values
/// they started from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedPcenParams {
    /// The run (`{setting}_f{fold}_s{seed}`).
    pub run: String,
    /// Gain exponents α.
    pub gain: Vec<f64>,
    /// Biases δ.
    pub bias: Vec<f64>,
    /// Compression exponents r.
    pub power: Vec<f64>,
    /// Smoothing coefficients s of the IIR smoother.
    pub smoothing: Vec<f64>,
    /// Initial `[α, δ, r, s]` (the same for every channel).
    pub initial: [f64; 4],
}

/// Writes `pcen_learned.json` and the four plots of `p` (features computed with `features`:
/// the x axis is each row's frequency in kHz) under `out_dir`.
pub fn write_learned_pcen(
    out_dir: &Path,
    p: &LearnedPcenParams,
    features: &FeatureConfig,
) -> Result<(), ReportError> {
    let json_path = out_dir.join(LEARNED_PCEN_JSON);
    let json = serde_json::to_string_pretty(p).map_err(|source| ReportError::Json {
        path: json_path.clone(),
        source,
    })?;
    write_text(&json_path, &json)?;
    let dir = out_dir.join(LEARNED_PCEN_DIR);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let plots = [
        ("gain", "gain alpha", &p.gain, p.initial[0]),
        ("bias", "bias delta", &p.bias, p.initial[1]),
        ("power", "compression exponent r", &p.power, p.initial[2]),
        (
            "smoothing",
            "smoothing coefficient s",
            &p.smoothing,
            p.initial[3],
        ),
    ];
    for (file, what, values, init) in plots {
        let (x, x_label) = row_axis(features, values.len());
        let series = [
            specnorm_plot::Series {
                name: "learned".into(),
                x: x.clone(),
                y: values.to_vec(),
                band: None,
            },
            specnorm_plot::Series {
                name: format!("initial {init:.4}"),
                y: vec![init; x.len()],
                x,
                band: None,
            },
        ];
        let opts = specnorm_plot::LinesOpts {
            title: format!("Learned PCEN {what} per channel ({})", p.run),
            x_label,
            y_label: what.into(),
            log_x: false,
        };
        specnorm_plot::lines(&dir.join(format!("{file}.png")), &opts, &series)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_values_and_four_plots() {
        let dir = tempfile::tempdir().unwrap();
        let features = FeatureConfig::default();
        let f = features.row_frequencies().len();
        let ramp = |a: f64, b: f64| -> Vec<f64> {
            (0..f).map(|i| a + (b - a) * i as f64 / f as f64).collect()
        };
        let p = LearnedPcenParams {
            run: "pcen-learned_f1_s0".into(),
            gain: ramp(0.9, 1.0),
            bias: ramp(1.5, 2.5),
            power: ramp(0.4, 0.6),
            smoothing: ramp(0.02, 0.05),
            initial: [0.98, 2.0, 0.5, 0.03],
        };
        write_learned_pcen(dir.path(), &p, &features).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LEARNED_PCEN_JSON)).unwrap();
        let back: LearnedPcenParams = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        for name in ["gain", "bias", "power", "smoothing"] {
            let png = dir
                .path()
                .join(LEARNED_PCEN_DIR)
                .join(format!("{name}.png"));
            let bytes = std::fs::read(&png).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{}", png.display());
        }
    }
}
