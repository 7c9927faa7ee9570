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

use specnorm_norm::PcenConfig;

use crate::graph::{
    attr_graph, attr_int, attr_ints, attr_scalar_tensor, GraphBuilder, TensorShape,
};
use crate::ExportError;

/// The `Scan` body: state `m [N, 1, F]`, slice `e [N, 1, F]` -> new state, output slice.
fn smoother_body(b: f64) -> Result<crate::onnx::GraphProto, ExportError> {
    let mut g = GraphBuilder::new("pcen_smoother");
    let shape = || TensorShape::named(&[None, Some(1), None], &["N", "", "F"]);
    let m = g.input_f32("pcen_body_m_prev", shape());
    let e = g.input_f32("pcen_body_e", shape());
    let kb = g.scalar_f32("pcen_body_b", b as f32)?;
    let k1b = g.scalar_f32("pcen_body_1mb", (1.0 - b) as f32)?;
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
    let b = cfg.smoothing_coefficient();
    // initial state: ones of shape [N, 1, F]
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
            attr_graph("body", smoother_body(b)?),
            attr_int("num_scan_inputs", 1),
            attr_ints("scan_input_axes", &[3]),
            attr_ints("scan_output_axes", &[3]),
        ],
    );
    let eps = g.scalar_f32("pcen_eps", cfg.eps)?;
    let me = g.add(&m, &eps, "pcen_m_eps");
    let ng = g.scalar_f32("pcen_neg_gain", -cfg.gain)?;
    let gain = g.node("Pow", &[&me, &ng], "pcen_gain", vec![]);
    let eg = g.mul(x, &gain, "pcen_eg");
    Ok(if cfg.power == 0.0 {
        let one = g.scalar_f32("pcen_one", 1.0)?;
        let p1 = g.add(&eg, &one, "pcen_eg1");
        g.node("Log", &[&p1], "pcen", vec![])
    } else if cfg.bias == 0.0 {
        let r = g.scalar_f32("pcen_power", cfg.power)?;
        g.node("Pow", &[&eg, &r], "pcen", vec![])
    } else {
        let bias = g.scalar_f32("pcen_bias", cfg.bias)?;
        let r = g.scalar_f32("pcen_power", cfg.power)?;
        let shifted = g.add(&eg, &bias, "pcen_shifted");
        let c = g.node("Pow", &[&shifted, &r], "pcen_compressed", vec![]);
        let bp = f64::from(cfg.bias).powf(f64::from(cfg.power));
        let bp = g.scalar_f32("pcen_bias_pow", bp as f32)?;
        g.sub(&c, &bp, "pcen")
    })
}
