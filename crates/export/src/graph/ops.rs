//! The operators the specnorm models need, as [`GraphBuilder`] methods, and
//! the batch-norm fold applied to convolution weights before they become
//! initializers.

use super::{attr_float, attr_int, attr_ints, GraphBuilder};
use crate::ExportError;

impl GraphBuilder {
    /// `Conv` with weight `w` `[C_out, C_in/groups, kh, kw]` and bias `b`
    /// (both already initializers), symmetric `pads` `[ph, pw]`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        x: &str,
        w: &str,
        b: Option<&str>,
        kernel: [i64; 2],
        stride: [i64; 2],
        pads: [i64; 2],
        dilation: [i64; 2],
        groups: i64,
        out_hint: &str,
    ) -> String {
        let mut inputs = vec![x, w];
        if let Some(b) = b {
            inputs.push(b);
        }
        let attrs = vec![
            attr_ints("dilations", &dilation),
            attr_int("group", groups),
            attr_ints("kernel_shape", &kernel),
            attr_ints("pads", &[pads[0], pads[1], pads[0], pads[1]]),
            attr_ints("strides", &stride),
        ];
        self.node("Conv", &inputs, out_hint, attrs)
    }

    /// `Relu`.
    pub fn relu(&mut self, x: &str) -> String {
        self.node("Relu", &[x], &format!("{x}_relu"), Vec::new())
    }

    /// `MaxPool` (2-D, symmetric padding).
    pub fn max_pool(
        &mut self,
        x: &str,
        kernel: [i64; 2],
        stride: [i64; 2],
        pads: [i64; 2],
        ceil_mode: bool,
        out_hint: &str,
    ) -> String {
        let attrs = vec![
            attr_int("ceil_mode", i64::from(ceil_mode)),
            attr_ints("kernel_shape", &kernel),
            attr_ints("pads", &[pads[0], pads[1], pads[0], pads[1]]),
            attr_ints("strides", &stride),
        ];
        self.node("MaxPool", &[x], out_hint, attrs)
    }

    /// `AveragePool` (2-D, symmetric padding). With `count_include_pad =
    /// false` the divisor is the number of in-bounds elements of each window,
    /// which is what PyTorch's `AvgPool2d(ceil_mode=True)` does for windows
    /// that overhang the input edge when there is no padding.
    #[allow(clippy::too_many_arguments)]
    pub fn average_pool(
        &mut self,
        x: &str,
        kernel: [i64; 2],
        stride: [i64; 2],
        pads: [i64; 2],
        ceil_mode: bool,
        count_include_pad: bool,
        out_hint: &str,
    ) -> String {
        let attrs = vec![
            attr_int("ceil_mode", i64::from(ceil_mode)),
            attr_int("count_include_pad", i64::from(count_include_pad)),
            attr_ints("kernel_shape", &kernel),
            attr_ints("pads", &[pads[0], pads[1], pads[0], pads[1]]),
            attr_ints("strides", &stride),
        ];
        self.node("AveragePool", &[x], out_hint, attrs)
    }

    /// `GlobalAveragePool` (`[N,C,H,W]` to `[N,C,1,1]`).
    pub fn global_average_pool(&mut self, x: &str, out_hint: &str) -> String {
        self.node("GlobalAveragePool", &[x], out_hint, Vec::new())
    }

    /// `GlobalMaxPool` (`[N,C,H,W]` to `[N,C,1,1]`).
    pub fn global_max_pool(&mut self, x: &str, out_hint: &str) -> String {
        self.node("GlobalMaxPool", &[x], out_hint, Vec::new())
    }

    /// Element-wise `Add` (with broadcasting).
    pub fn add(&mut self, a: &str, b: &str, out_hint: &str) -> String {
        self.node("Add", &[a, b], out_hint, Vec::new())
    }

    /// Element-wise `Sub` (with broadcasting).
    pub fn sub(&mut self, a: &str, b: &str, out_hint: &str) -> String {
        self.node("Sub", &[a, b], out_hint, Vec::new())
    }

    /// Element-wise `Div` (with broadcasting).
    pub fn div(&mut self, a: &str, b: &str, out_hint: &str) -> String {
        self.node("Div", &[a, b], out_hint, Vec::new())
    }

    /// `Flatten` at `axis` (`[N,C,1,1]` to `[N,C]` with `axis = 1`).
    pub fn flatten(&mut self, x: &str, axis: i64, out_hint: &str) -> String {
        self.node("Flatten", &[x], out_hint, vec![attr_int("axis", axis)])
    }

    /// `Gemm` computing `x · wᵀ + b` (PyTorch `Linear` layout: `w` is `[out, in]`).
    pub fn gemm_trans_b(&mut self, x: &str, w: &str, b: &str) -> String {
        let attrs = vec![
            attr_float("alpha", 1.0),
            attr_float("beta", 1.0),
            attr_int("transB", 1),
        ];
        self.node("Gemm", &[x, w, b], &format!("{x}_gemm"), attrs)
    }

    /// Element-wise `Mul` (with broadcasting).
    pub fn mul(&mut self, a: &str, b: &str, out_hint: &str) -> String {
        self.node("Mul", &[a, b], out_hint, Vec::new())
    }

    /// A float scalar constant (an initializer of shape `[]`).
    pub fn scalar_f32(&mut self, name: &str, v: f32) -> Result<String, ExportError> {
        self.initializer_f32(name, &[], &[v])
    }

    /// An int64 vector constant (shape `[len]`), e.g. axes or a shape.
    pub fn ints(&mut self, name: &str, v: &[i64]) -> Result<String, ExportError> {
        self.initializer_i64(name, &[v.len() as i64], v)
    }

    /// `InstanceNormalization` with per-channel `scale` and `bias` initializers.
    pub fn instance_norm(
        &mut self,
        x: &str,
        scale: &str,
        bias: &str,
        epsilon: f32,
        out_hint: &str,
    ) -> String {
        self.node(
            "InstanceNormalization",
            &[x, scale, bias],
            out_hint,
            vec![attr_float("epsilon", epsilon)],
        )
    }
}

/// Folds an eval-mode `BatchNorm2d` into the preceding convolution, in f64:
/// `w' = w·γ/√(var+eps)` per output channel and `b' = (b − mean)·γ/√(var+eps) + β`.
/// `w` is `[C_out, ...]` row-major with `c_out` output channels; returns `(w', b')` in f32.
#[allow(clippy::too_many_arguments)]
pub fn fold_batch_norm(
    w: &[f32],
    c_out: usize,
    bias: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f64,
) -> Result<(Vec<f32>, Vec<f32>), ExportError> {
    let bad = |what: &str, n: usize| ExportError::Shape {
        what: "batch norm fold".into(),
        detail: format!("{what} has {n} values, conv has {c_out} output channels"),
    };
    if c_out == 0 || !w.len().is_multiple_of(c_out) {
        return Err(bad("weight", w.len()));
    }
    for (what, v) in [
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ] {
        if v.len() != c_out {
            return Err(bad(what, v.len()));
        }
    }
    if let Some(b) = bias {
        if b.len() != c_out {
            return Err(bad("bias", b.len()));
        }
    }
    let per = w.len() / c_out;
    let mut w_out = Vec::with_capacity(w.len());
    let mut b_out = Vec::with_capacity(c_out);
    for c in 0..c_out {
        let scale = f64::from(gamma[c]) / (f64::from(running_var[c]) + eps).sqrt();
        for &v in &w[c * per..(c + 1) * per] {
            w_out.push((f64::from(v) * scale) as f32);
        }
        let b0 = bias.map_or(0.0, |b| f64::from(b[c]));
        b_out.push(((b0 - f64::from(running_mean[c])) * scale + f64::from(beta[c])) as f32);
    }
    Ok((w_out, b_out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_batch_norm_matches_hand_values() {
        // One output channel, weights [1, 2], bias 0.5; gamma 2, beta 1,
        // mean 0.25, var 3 with eps 1: scale = 2/sqrt(4) = 1.
        let (w, b) = fold_batch_norm(
            &[1.0, 2.0],
            1,
            Some(&[0.5]),
            &[2.0],
            &[1.0],
            &[0.25],
            &[3.0],
            1.0,
        )
        .unwrap();
        assert_eq!(w, vec![1.0, 2.0]);
        assert_eq!(b, vec![1.25]);
        // Two channels, no bias: scale_c = gamma_c / sqrt(var_c + eps).
        let (w, b) = fold_batch_norm(
            &[1.0, -1.0, 3.0, 4.0],
            2,
            None,
            &[1.0, 3.0],
            &[0.0, -2.0],
            &[1.0, 2.0],
            &[0.0, 8.0],
            1.0,
        )
        .unwrap();
        assert_eq!(w, vec![1.0, -1.0, 3.0, 4.0]);
        assert_eq!(b, vec![-1.0, -4.0]);
        assert!(fold_batch_norm(
            &[1.0; 3], 2, None, &[1.0; 2], &[0.0; 2], &[0.0; 2], &[1.0; 2], 1e-5
        )
        .is_err());
        assert!(fold_batch_norm(
            &[1.0; 4], 2, None, &[1.0; 1], &[0.0; 2], &[0.0; 2], &[1.0; 2], 1e-5
        )
        .is_err());
    }
}
