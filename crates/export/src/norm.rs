//! The spectrogram normalization the exporter bakes into the graph.

use serde::{Deserialize, Serialize};

use crate::graph::GraphBuilder;
use crate::ExportError;

/// How the dB spectrogram input is normalized before the network, as the
/// first nodes of the exported graph. The input is `[N, 1, F, T]`.
///
/// Serialized (serde, JSON) with an internal `"kind"` tag, e.g.
/// `{"kind":"global","mean":-40.0,"std":12.0}`; that JSON is also stored in
/// the model's `normalization` metadata property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportNorm {
    /// No normalization: the network sees the dB values as they are.
    None,
    /// `(x − mean) / std` with one scalar pair for the whole input.
    Global {
        /// Mean subtracted from every value.
        mean: f32,
        /// Standard deviation every value is divided by (must be > 0).
        std: f32,
    },
    /// `(x − mean[f]) / std[f]` per frequency bin `f` (constants of shape
    /// `[1, 1, F, 1]`).
    PerChannel {
        /// One mean per frequency bin (length F).
        mean: Vec<f32>,
        /// One standard deviation per frequency bin (length F, all > 0).
        std: Vec<f32>,
    },
    /// Each example normalized by its own statistics over `(C, F, T)`:
    /// `(x − mean) / sqrt(var + eps)` with the population variance (ONNX
    /// `InstanceNormalization` with scale 1 and bias 0; `C = 1`).
    PerInstance {
        /// Added to the variance before the square root.
        eps: f32,
    },
}

impl ExportNorm {
    /// A short name for the variant (`none`, `global`, `per_channel`, `per_instance`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Global { .. } => "global",
            Self::PerChannel { .. } => "per_channel",
            Self::PerInstance { .. } => "per_instance",
        }
    }

    /// Checks that the statistics are finite, stds positive, and per-channel
    /// vectors have `n_freq` entries.
    pub fn validate(&self, n_freq: usize) -> Result<(), ExportError> {
        let bad = |detail: String| Err(ExportError::Norm(detail));
        match self {
            Self::None => Ok(()),
            Self::Global { mean, std } => {
                if !mean.is_finite() || !std.is_finite() || *std <= 0.0 {
                    return bad(format!(
                        "global mean {mean} / std {std}: need finite, std > 0"
                    ));
                }
                Ok(())
            }
            Self::PerChannel { mean, std } => {
                if mean.len() != n_freq || std.len() != n_freq {
                    return bad(format!(
                        "per-channel stats have {} means and {} stds, the input has {n_freq} frequency bins",
                        mean.len(),
                        std.len()
                    ));
                }
                if let Some(i) = mean.iter().position(|m| !m.is_finite()) {
                    return bad(format!("per-channel mean[{i}] is not finite"));
                }
                if let Some(i) = std.iter().position(|s| !s.is_finite() || *s <= 0.0) {
                    return bad(format!("per-channel std[{i}] = {} is not > 0", std[i]));
                }
                Ok(())
            }
            Self::PerInstance { eps } => {
                if !eps.is_finite() || *eps < 0.0 {
                    return bad(format!("per-instance eps {eps}: need finite, >= 0"));
                }
                Ok(())
            }
        }
    }

    /// Appends the normalization nodes after value `x` (`[N, 1, n_freq, T]`)
    /// and returns the normalized value's name.
    pub fn append(
        &self,
        g: &mut GraphBuilder,
        x: &str,
        n_freq: usize,
    ) -> Result<String, ExportError> {
        self.validate(n_freq)?;
        let f = i64::try_from(n_freq).map_err(|_| ExportError::Norm("F too large".into()))?;
        Ok(match self {
            Self::None => x.to_string(),
            Self::Global { mean, std } => {
                let m = g.initializer_f32("norm_mean", &[], &[*mean])?;
                let s = g.initializer_f32("norm_std", &[], &[*std])?;
                let c = g.sub(x, &m, "norm_centered");
                g.div(&c, &s, "normalized")
            }
            Self::PerChannel { mean, std } => {
                let m = g.initializer_f32("norm_mean", &[1, 1, f, 1], mean)?;
                let s = g.initializer_f32("norm_std", &[1, 1, f, 1], std)?;
                let c = g.sub(x, &m, "norm_centered");
                g.div(&c, &s, "normalized")
            }
            Self::PerInstance { eps } => {
                let scale = g.initializer_f32("norm_scale", &[1], &[1.0])?;
                let bias = g.initializer_f32("norm_bias", &[1], &[0.0])?;
                g.instance_norm(x, &scale, &bias, *eps, "normalized")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_and_tag() {
        let n = ExportNorm::Global {
            mean: -40.0,
            std: 12.5,
        };
        let s = serde_json::to_string(&n).unwrap();
        assert_eq!(s, r#"{"kind":"global","mean":-40.0,"std":12.5}"#);
        assert_eq!(serde_json::from_str::<ExportNorm>(&s).unwrap(), n);
        let p = ExportNorm::PerChannel {
            mean: vec![1.0, 2.0],
            std: vec![3.0, 4.0],
        };
        let s = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<ExportNorm>(&s).unwrap(), p);
        assert_eq!(
            serde_json::to_string(&ExportNorm::None).unwrap(),
            r#"{"kind":"none"}"#
        );
    }

    #[test]
    fn validate_rejects_bad_stats() {
        assert!(ExportNorm::Global {
            mean: 0.0,
            std: 0.0
        }
        .validate(3)
        .is_err());
        assert!(ExportNorm::Global {
            mean: f32::NAN,
            std: 1.0
        }
        .validate(3)
        .is_err());
        let pc = |m: Vec<f32>, s: Vec<f32>| ExportNorm::PerChannel { mean: m, std: s };
        assert!(pc(vec![0.0; 2], vec![1.0; 2]).validate(3).is_err());
        assert!(pc(vec![0.0; 3], vec![1.0, -1.0, 1.0]).validate(3).is_err());
        assert!(pc(vec![0.0; 3], vec![1.0; 3]).validate(3).is_ok());
        assert!(ExportNorm::PerInstance { eps: -1.0 }.validate(3).is_err());
        assert!(ExportNorm::PerInstance { eps: 1e-5 }.validate(3).is_ok());
    }
}
