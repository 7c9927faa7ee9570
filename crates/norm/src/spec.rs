//! [`NormSpec`]: the one serializable description of a normalization, stored in checkpoints,
//! read by the exporter and carried in ONNX metadata.

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use specnorm_stats::{Provenance, Stats};

use crate::{NormError, Normalizer};

/// A normalization and where its statistics came from.
///
/// JSON: the [`Normalizer`]'s tagged fields plus an optional `provenance` object, e.g.
/// `{"kind":"global","mean":-45.0,"std":17.0}` or
/// `{"kind":"per_channel","mean":[..],"std":[..],"provenance":{"folds":[2,3,4,5],..}}`.
/// Unknown fields are ignored, so files written by older versions (which added a `formula`
/// to `per_instance`) still load.
///
/// ```
/// use specnorm_norm::{NormSpec, Normalizer};
/// let spec = NormSpec::from_json(r#"{"kind":"global","mean":-45.0,"std":17.0}"#)?;
/// assert_eq!(spec.normalizer, Normalizer::Global { mean: -45.0, std: 17.0 });
/// assert_eq!(spec.to_json(), r#"{"kind":"global","mean":-45.0,"std":17.0}"#);
/// // validation happens on parsing: a zero std is refused
/// assert!(NormSpec::from_json(r#"{"kind":"global","mean":0.0,"std":0.0}"#).is_err());
/// # Ok::<(), specnorm_norm::NormError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormSpec {
    /// The transform (kind, statistics, eps, PCEN parameters).
    #[serde(flatten)]
    pub normalizer: Normalizer,
    /// Provenance of the statistics (global / per-channel), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

impl From<Normalizer> for NormSpec {
    fn from(normalizer: Normalizer) -> Self {
        Self {
            normalizer,
            provenance: None,
        }
    }
}

impl NormSpec {
    /// [`Normalizer::for_validation_fold`] (the leakage guard), keeping the statistics'
    /// provenance.
    pub fn for_validation_fold(stats: &Stats, valid_fold: u32) -> Result<Self, NormError> {
        Ok(Self {
            normalizer: Normalizer::for_validation_fold(stats, valid_fold)?,
            provenance: Some(stats.provenance.clone()),
        })
    }

    /// Parses and validates ([`Normalizer::validate`]) a JSON spec.
    pub fn from_json(json: &str) -> Result<Self, NormError> {
        let spec: Self = serde_json::from_str(json)?;
        spec.normalizer.validate()?;
        Ok(spec)
    }

    /// The JSON form (compact).
    pub fn to_json(&self) -> String {
        // Serializing plain numbers, strings and arrays cannot fail; NaN becomes null, which
        // `from_json` then refuses.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Short name of the normalization kind (`none`, `global`, `per_channel`, ...).
    pub fn kind(&self) -> &str {
        self.normalizer.name()
    }
}

/// serde of an `ArrayD<f32>` as `{"shape": [..], "data": [..]}` (row-major).
pub(crate) mod array_json {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Flat {
        shape: Vec<usize>,
        data: Vec<f32>,
    }

    pub(crate) fn serialize<S: Serializer>(a: &ArrayD<f32>, s: S) -> Result<S::Ok, S::Error> {
        Flat {
            shape: a.shape().to_vec(),
            data: a.iter().copied().collect(),
        }
        .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ArrayD<f32>, D::Error> {
        let f = Flat::deserialize(d)?;
        ArrayD::from_shape_vec(IxDyn(&f.shape), f.data).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PcenConfig;

    #[test]
    fn every_kind_round_trips() {
        let kinds = [
            Normalizer::None,
            Normalizer::Global {
                mean: -40.0,
                std: 12.5,
            },
            Normalizer::PerChannel {
                mean: vec![1.0, 2.0],
                std: vec![3.0, 4.0],
            },
            Normalizer::PerInstance { eps: 1e-6 },
            Normalizer::Fixed {
                mean: ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![1.0, 2.0]).unwrap(),
                std: ArrayD::from_elem(IxDyn(&[1]), 3.0),
            },
            Normalizer::Pcen(PcenConfig::default()),
        ];
        for n in kinds {
            let spec = NormSpec::from(n.clone());
            let back = NormSpec::from_json(&spec.to_json()).unwrap();
            assert_eq!(back, spec);
            assert_eq!(back.kind(), n.name());
        }
    }

    #[test]
    fn json_layout_is_stable() {
        // The layout of files already written (checkpoints, ONNX metadata).
        assert_eq!(
            NormSpec::from(Normalizer::None).to_json(),
            r#"{"kind":"none"}"#
        );
        let p = NormSpec::from(Normalizer::Pcen(PcenConfig {
            sample_rate: 16000,
            hop_length: 200,
            ..PcenConfig::default()
        }));
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["kind"], "pcen");
        assert_eq!(v["hop_length"], 200);
        assert_eq!(v["gain"].as_f64().unwrap() as f32, 0.98);
        // older per_instance JSON carried a formula string
        let old = r#"{"kind":"per_instance","eps":1e-6,"formula":"(x - mean) / sqrt(var + eps)"}"#;
        assert_eq!(
            NormSpec::from_json(old).unwrap().normalizer,
            Normalizer::PerInstance { eps: 1e-6 }
        );
    }

    #[test]
    fn parsing_validates() {
        for bad in [
            r#"{"kind":"per_channel","mean":[0.0,1.0],"std":[1.0]}"#,
            r#"{"kind":"per_instance","eps":-1.0}"#,
            r#"{"kind":"pcen","sample_rate":0,"hop_length":200,"gain":0.98,"bias":2.0,"power":0.5,"time_constant":0.4,"eps":1e-6}"#,
            r#"{"kind":"global","mean":null,"std":1.0}"#,
            r#"{"kind":"bogus"}"#,
        ] {
            assert!(NormSpec::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn provenance_is_kept() {
        let mut acc = specnorm_stats::StatsAccumulator::global();
        let x = ndarray::Array4::from_shape_fn((2, 1, 3, 4), |(b, _, f, t)| (b + f + t) as f32);
        acc.update(x.view()).unwrap();
        let stats = acc.finalize().unwrap().with_provenance(Provenance {
            folds: vec![2, 3],
            ..Default::default()
        });
        let spec = NormSpec::for_validation_fold(&stats, 1).unwrap();
        let back = NormSpec::from_json(&spec.to_json()).unwrap();
        assert_eq!(back.provenance.unwrap().folds, vec![2, 3]);
        assert!(NormSpec::for_validation_fold(&stats, 2).is_err());
        assert!(Normalizer::PerChannel {
            mean: vec![0.0; 3],
            std: vec![1.0; 3]
        }
        .check_n_freq(4)
        .is_err());
    }
}
