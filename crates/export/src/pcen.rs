//! PCEN (`librosa.pcen`, see [`specnorm_norm::pcen`]) as ONNX nodes, exactly: the IIR
//! smoother `M[t] = b E[t] + (1 - b) M[t-1]` (with `M[-1] = 1`, librosa's initial state) is a
//! `Scan` over the time axis, then the gain and compression are element-wise:
//!
//! ```text
//! G   = (M + eps)^(-gain)                 (= exp(-gain (ln eps + ln1p(M / eps))))
//! out = (E G + bias)^power - bias^power   (power > 0, bias > 0)
//!     = ln(1 + E G)                       (power = 0)
//!     = (E G)^power                       (bias = 0)
//! ```
//!
//! The same nodes serve the trainable PCEN layer of `specnorm-train`
//! ([`specnorm_train::LayerDesc::LearnedPcen`]), whose parameters are per frequency channel:
//! its constants are `[1, 1, F, 1]` (`[1, F]` in the smoother) instead of scalars.

use specnorm_norm::PcenConfig;

use crate::graph::{
    attr_graph, attr_int, attr_ints, attr_scalar_tensor, GraphBuilder, TensorShape,
};
use crate::ExportError;

/// PCEN parameters for the graph: one value for every channel (length 1, scalar constants) or
/// one per frequency channel (length F).
pub(crate) struct PcenParams {
    /// Gain exponents α.
    pub gain: Vec<f64>,
    /// Biases δ.
    pub bias: Vec<f64>,
    /// Compression exponents r.
    pub power: Vec<f64>,
    /// Smoothing coefficients s.
    pub smoothing: Vec<f64>,
    /// Floor added to the smoothed energy.
    pub eps: f64,
}

impl PcenParams {
    fn scalar(cfg: &PcenConfig) -> Self {
        Self {
            gain: vec![cfg.gain.into()],
            bias: vec![cfg.bias.into()],
            power: vec![cfg.power.into()],
            smoothing: vec![cfg.smoothing_coefficient()],
            eps: cfg.eps.into(),
        }
    }

    /// Channels (1 for scalar parameters); every vector must have that length.
    fn channels(&self) -> Result<usize, ExportError> {
        let n = self.gain.len();
        if n == 0
            || [&self.bias, &self.power, &self.smoothing]
                .iter()
                .any(|v| v.len() != n)
        {
            return Err(ExportError::Shape {
                what: "pcen".into(),
                detail: format!(
                    "parameter lengths {} {} {} {} differ",
                    n,
                    self.bias.len(),
                    self.power.len(),
                    self.smoothing.len()
                ),
            });
        }
        Ok(n)
    }
}

/// A constant of `vals` (f32): a scalar for one value, else shaped `dims(len)`.
fn constant(
    g: &mut GraphBuilder,
    name: &str,
    vals: &[f64],
    dims: impl Fn(i64) -> Vec<i64>,
) -> Result<String, ExportError> {
    let v: Vec<f32> = vals.iter().map(|&x| x as f32).collect();
    if v.len() == 1 {
        g.scalar_f32(name, v[0])
    } else {
        g.initializer_f32(name, &dims(v.len() as i64), &v)
    }
}

/// The `Scan` body: state `m [N, 1, F]`, slice `e [N, 1, F]` -> new state, output slice.
fn smoother_body(b: &[f64]) -> Result<crate::onnx::GraphProto, ExportError> {
    let mut g = GraphBuilder::new("pcen_smoother");
    let shape = || TensorShape::named(&[None, Some(1), None], &["N", "", "F"]);
    let m = g.input_f32("pcen_body_m_prev", shape());
    let e = g.input_f32("pcen_body_e", shape());
    let row = |f| vec![1, f];
    let kb = constant(&mut g, "pcen_body_b", b, row)?;
    let one_minus: Vec<f64> = b.iter().map(|b| 1.0 - b).collect();
    let k1b = constant(&mut g, "pcen_body_1mb", &one_minus, row)?;
    let be = g.mul(&e, &kb, "pcen_body_be");
    let dm = g.mul(&m, &k1b, "pcen_body_decay");
    let next = g.add(&be, &dm, "pcen_body_m");
    g.output_f32(&next, &next.clone(), shape());
    g.output_f32(&next, "pcen_body_m_out", shape());
    Ok(g.finish())
}

/// Appends PCEN of the power spectrogram `x` (`[N, 1, F, T]`) and returns its name.
pub(crate) fn append_pcen(
    g: &mut GraphBuilder,
    cfg: &PcenConfig,
    x: &str,
) -> Result<String, ExportError> {
    cfg.validate()?;
    append_pcen_params(g, &PcenParams::scalar(cfg), x)
}

/// Appends PCEN with `p` (scalar or per-channel parameters) of the power spectrogram `x`
/// (`[N, C, F, T]`; per-channel parameters need F = their length) and returns its name.
pub(crate) fn append_pcen_params(
    g: &mut GraphBuilder,
    p: &PcenParams,
    x: &str,
) -> Result<String, ExportError> {
    let n = p.channels()?;
    let col = |f| vec![1, 1, f, 1];
    // initial state: ones of shape [N, C, F]
    let shape = g.node(
        "Shape",
        &[x],
        "pcen_state_shape",
        vec![attr_int("start", 0), attr_int("end", 3)],
    );
    let init = g.node(
        "ConstantOfShape",
        &[&shape],
        "pcen_m_init",
        vec![attr_scalar_tensor("value", 1.0)],
    );
    // Scan has two outputs (final state, stacked M); GraphBuilder nodes have one, so the
    // node is written by hand.
    let m_final = g.unique("pcen_m_final");
    let m = g.unique("pcen_smoothed");
    g.push_node_multi(
        "Scan",
        &[&init, x],
        &[&m_final, &m],
        vec![
            attr_graph("body", smoother_body(&p.smoothing)?),
            attr_int("num_scan_inputs", 1),
            attr_ints("scan_input_axes", &[3]),
            attr_ints("scan_output_axes", &[3]),
        ],
    );
    let eps = g.scalar_f32("pcen_eps", p.eps as f32)?;
    let me = g.add(&m, &eps, "pcen_m_eps");
    let neg_gain: Vec<f64> = p.gain.iter().map(|a| -a).collect();
    let ng = constant(g, "pcen_neg_gain", &neg_gain, col)?;
    let gain = g.node("Pow", &[&me, &ng], "pcen_gain", vec![]);
    let eg = g.mul(x, &gain, "pcen_eg");
    let scalar = n == 1;
    Ok(if scalar && p.power[0] == 0.0 {
        let one = g.scalar_f32("pcen_one", 1.0)?;
        let p1 = g.add(&eg, &one, "pcen_eg1");
        g.node("Log", &[&p1], "pcen", vec![])
    } else if scalar && p.bias[0] == 0.0 {
        let r = g.scalar_f32("pcen_power", p.power[0] as f32)?;
        g.node("Pow", &[&eg, &r], "pcen", vec![])
    } else {
        let bias = constant(g, "pcen_bias", &p.bias, col)?;
        let r = constant(g, "pcen_power", &p.power, col)?;
        let shifted = g.add(&eg, &bias, "pcen_shifted");
        let c = g.node("Pow", &[&shifted, &r], "pcen_compressed", vec![]);
        let bp: Vec<f64> = p
            .bias
            .iter()
            .zip(&p.power)
            .map(|(b, r)| b.powf(*r))
            .collect();
        let bp = constant(g, "pcen_bias_pow", &bp, col)?;
        g.sub(&c, &bp, "pcen")
    })
}
