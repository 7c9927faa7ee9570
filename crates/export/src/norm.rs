//! The spectrogram normalization the exporter bakes into the graph.

use specnorm_norm::Normalizer;

use crate::graph::GraphBuilder;
use crate::ExportError;

/// Appends the nodes of `norm` after value `x` (`[N, 1, n_freq, T]`, dB features; power
/// features for PCEN) and returns the normalized value's name. The normalization is checked
/// first ([`Normalizer::check_n_freq`]: the one validation of the norm crate).
///
/// | kind | nodes |
/// |---|---|
/// | `none` | (none) |
/// | `global`, `per_channel`, `fixed` | `Sub`, `Div` with constants broadcast against the input |
/// | `per_instance` | `InstanceNormalization` (scale 1, bias 0): `(x − mean) / sqrt(var + eps)` |
/// | `pcen` | see the `pcen` module: an exact `Scan` smoother, then the gain and compression |
pub fn append_normalization(
    g: &mut GraphBuilder,
    norm: &Normalizer,
    x: &str,
    n_freq: usize,
) -> Result<String, ExportError> {
    norm.check_n_freq(n_freq)?;
    let f = i64::try_from(n_freq).map_err(|_| ExportError::Meta("F too large".into()))?;
    let affine =
        |g: &mut GraphBuilder, dims: Vec<i64>, mean: &[f32], std: &[f32], sdims: Vec<i64>| {
            let m = g.initializer_f32("norm_mean", &dims, mean)?;
            let s = g.initializer_f32("norm_std", &sdims, std)?;
            let c = g.sub(x, &m, "norm_centered");
            Ok::<_, ExportError>(g.div(&c, &s, "normalized"))
        };
    Ok(match norm {
        Normalizer::None => x.to_string(),
        Normalizer::Global { mean, std } => affine(g, vec![], &[*mean], &[*std], vec![])?,
        Normalizer::PerChannel { mean, std } => {
            affine(g, vec![1, 1, f, 1], mean, std, vec![1, 1, f, 1])?
        }
        Normalizer::Fixed { mean, std } => {
            let dims = |a: &ndarray::ArrayD<f32>| a.shape().iter().map(|&d| d as i64).collect();
            let (m, s): (Vec<f32>, Vec<f32>) = (
                mean.iter().copied().collect(),
                std.iter().copied().collect(),
            );
            affine(g, dims(mean), &m, &s, dims(std))?
        }
        Normalizer::PerInstance { eps } => {
            let scale = g.initializer_f32("norm_scale", &[1], &[1.0])?;
            let bias = g.initializer_f32("norm_bias", &[1], &[0.0])?;
            g.instance_norm(x, &scale, &bias, *eps, "normalized")
        }
        Normalizer::Pcen(cfg) => crate::pcen::append_pcen(g, cfg, x)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::TensorShape;

    fn ops(norm: &Normalizer, f: usize) -> Result<Vec<String>, ExportError> {
        let mut g = GraphBuilder::new("t");
        let x = g.input_f32(
            "x",
            TensorShape::symbolic(&[None, Some(1), Some(f as i64), None]),
        );
        append_normalization(&mut g, norm, &x, f)?;
        Ok(g.finish()
            .node
            .iter()
            .map(|n| n.op_type.clone().unwrap())
            .collect())
    }

    #[test]
    fn nodes_per_kind_and_validation() {
        assert!(ops(&Normalizer::None, 3).unwrap().is_empty());
        let g = Normalizer::Global {
            mean: -40.0,
            std: 12.5,
        };
        assert_eq!(ops(&g, 3).unwrap(), ["Sub", "Div"]);
        let pi = Normalizer::PerInstance { eps: 1e-5 };
        assert_eq!(ops(&pi, 3).unwrap(), ["InstanceNormalization"]);
        let bad = [
            Normalizer::Global {
                mean: 0.0,
                std: 0.0,
            },
            Normalizer::Global {
                mean: f32::NAN,
                std: 1.0,
            },
            Normalizer::PerChannel {
                mean: vec![0.0; 2],
                std: vec![1.0; 2],
            },
            Normalizer::PerChannel {
                mean: vec![0.0; 3],
                std: vec![1.0, -1.0, 1.0],
            },
            Normalizer::PerInstance { eps: -1.0 },
        ];
        for b in bad {
            assert!(matches!(ops(&b, 3), Err(ExportError::Norm(_))), "{b:?}");
        }
    }
}
