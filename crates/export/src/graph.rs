//! A small ONNX graph builder: initializers, nodes, unique value names, and
//! the handful of operators the specnorm models need (opset 17).
//!
//! Every method that adds a node returns the name of the node's (single)
//! output value, so layers chain naturally:
//!
//! ```
//! use specnorm_export::graph::{GraphBuilder, TensorShape};
//! let mut g = GraphBuilder::new("demo");
//! let x = g.input_f32("x", TensorShape::symbolic(&[Some(1), Some(3)]));
//! let w = g.initializer_f32("w", &[2, 3], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).unwrap();
//! let b = g.initializer_f32("b", &[2], &[0.5, -0.5]).unwrap();
//! let y = g.gemm_trans_b(&x, &w, &b);
//! let y = g.relu(&y);
//! g.output_f32(&y, "y", TensorShape::symbolic(&[Some(1), Some(2)]));
//! let graph = g.finish();
//! let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.clone().unwrap()).collect();
//! assert_eq!(ops, ["Gemm", "Relu", "Identity"]); // Identity names the output "y"
//! assert_eq!(graph.output[0].name.as_deref(), Some("y"));
//! ```

use std::collections::HashSet;

use crate::onnx::{
    tensor_shape_proto::{dimension, Dimension},
    type_proto, AttributeProto, AttributeType, DataType, GraphProto, NodeProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::ExportError;

/// The shape of a graph input or output: each dimension is fixed
/// (`Some(n)`) or symbolic (`None`, named from `names`).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorShape {
    dims: Vec<Dimension>,
}

impl TensorShape {
    /// A shape whose `None` dimensions get the symbolic names `d0`, `d1`, ...
    /// (by position).
    pub fn symbolic(dims: &[Option<i64>]) -> Self {
        let names: Vec<String> = (0..dims.len()).map(|i| format!("d{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Self::named(dims, &names)
    }

    /// A shape whose `None` dimension `i` is the symbolic dimension `names[i]`
    /// (for example `"N"` for the batch). Missing names fall back to `d<i>`.
    pub fn named(dims: &[Option<i64>], names: &[&str]) -> Self {
        let dims = dims
            .iter()
            .enumerate()
            .map(|(i, d)| Dimension {
                value: Some(match d {
                    Some(n) => dimension::Value::DimValue(*n),
                    None => dimension::Value::DimParam(
                        names
                            .get(i)
                            .map_or_else(|| format!("d{i}"), |s| (*s).to_string()),
                    ),
                }),
                denotation: None,
            })
            .collect();
        Self { dims }
    }
}

/// Builds a [`GraphProto`] node by node, keeping value and node names unique.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    name: String,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    used: HashSet<String>,
}

fn value_info_f32(name: &str, shape: TensorShape) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto { dim: shape.dims }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

/// An `INT` attribute.
pub fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

/// An `INTS` attribute.
pub fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A `FLOAT` attribute.
pub fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

/// A `STRING` attribute.
pub fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// A `GRAPH` attribute (the body of `Scan`, `Loop`, `If`).
pub fn attr_graph(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(AttributeType::Graph as i32),
        g: Some(Box::new(g)),
        ..Default::default()
    }
}

/// A `TENSOR` attribute holding one float (e.g. the `value` of `ConstantOfShape`).
pub fn attr_scalar_tensor(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(AttributeType::Tensor as i32),
        t: Some(TensorProto {
            dims: vec![1],
            data_type: Some(DataType::Float as i32),
            raw_data: Some(v.to_le_bytes().to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Checks that `data.len()` is the product of `dims` (all non-negative).
fn check_len(name: &str, dims: &[i64], len: usize) -> Result<(), ExportError> {
    let mut n: usize = 1;
    for &d in dims {
        let d = usize::try_from(d).map_err(|_| ExportError::Shape {
            what: name.to_string(),
            detail: format!("negative dimension in {dims:?}"),
        })?;
        n = n.saturating_mul(d);
    }
    if n == len {
        Ok(())
    } else {
        Err(ExportError::Shape {
            what: name.to_string(),
            detail: format!("dims {dims:?} need {n} values, got {len}"),
        })
    }
}

impl GraphBuilder {
    /// An empty graph called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// Returns `base` if no value or node uses it yet, else `base_1`,
    /// `base_2`, ...; the returned name is reserved.
    pub fn unique(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "v" } else { base };
        let mut candidate = base.to_string();
        let mut k = 0usize;
        while self.used.contains(&candidate) {
            k += 1;
            candidate = format!("{base}_{k}");
        }
        self.used.insert(candidate.clone());
        candidate
    }

    /// Declares a float graph input; returns its (unique) value name.
    pub fn input_f32(&mut self, name: &str, shape: TensorShape) -> String {
        let name = self.unique(name);
        self.inputs.push(value_info_f32(&name, shape));
        name
    }

    /// Declares `value` as a float graph output named `name` (an `Identity`
    /// node renames it when the names differ).
    pub fn output_f32(&mut self, value: &str, name: &str, shape: TensorShape) {
        let out = if value == name {
            value.to_string()
        } else {
            let out = self.unique(name);
            self.push_node("Identity", &[value], &out, Vec::new());
            out
        };
        self.outputs.push(value_info_f32(&out, shape));
    }

    /// Adds a float initializer (a constant) with shape `dims`, stored as
    /// little-endian `raw_data`; returns its unique name.
    pub fn initializer_f32(
        &mut self,
        name: &str,
        dims: &[i64],
        data: &[f32],
    ) -> Result<String, ExportError> {
        check_len(name, dims, data.len())?;
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok(self.push_initializer(name, dims, DataType::Float, raw))
    }

    /// Adds a float64 initializer with shape `dims`; returns its unique name.
    pub fn initializer_f64(
        &mut self,
        name: &str,
        dims: &[i64],
        data: &[f64],
    ) -> Result<String, ExportError> {
        check_len(name, dims, data.len())?;
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok(self.push_initializer(name, dims, DataType::Double, raw))
    }

    /// Adds an int64 initializer with shape `dims`; returns its unique name.
    pub fn initializer_i64(
        &mut self,
        name: &str,
        dims: &[i64],
        data: &[i64],
    ) -> Result<String, ExportError> {
        check_len(name, dims, data.len())?;
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok(self.push_initializer(name, dims, DataType::Int64, raw))
    }

    /// Stores a little-endian `raw_data` initializer under a unique name.
    fn push_initializer(&mut self, name: &str, dims: &[i64], ty: DataType, raw: Vec<u8>) -> String {
        let name = self.unique(name);
        self.initializers.push(TensorProto {
            dims: dims.to_vec(),
            data_type: Some(ty as i32),
            name: Some(name.clone()),
            raw_data: Some(raw),
            ..Default::default()
        });
        name
    }

    fn push_node(&mut self, op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) {
        self.push_node_multi(op, inputs, &[output], attrs);
    }

    /// Adds a node with several outputs, whose names the caller reserved with
    /// [`GraphBuilder::unique`].
    pub fn push_node_multi(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) {
        let first = outputs.first().copied().unwrap_or("v");
        let node_name = self.unique(&format!("{first}__{op}"));
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| (*s).to_string()).collect(),
            output: outputs.iter().map(|s| (*s).to_string()).collect(),
            name: Some(node_name),
            op_type: Some(op.to_string()),
            attribute: attrs,
            doc_string: None,
            domain: None,
        });
    }

    /// Adds a node of type `op` (default ONNX domain) with one output whose
    /// name is made unique from `out_hint`; returns the output name.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        out_hint: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.unique(out_hint);
        self.push_node(op, inputs, &out, attrs);
        out
    }

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

    /// The finished graph.
    pub fn finish(self) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: Some(self.name),
            initializer: self.initializers,
            doc_string: None,
            input: self.inputs,
            output: self.outputs,
            value_info: Vec::new(),
        }
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
    fn unique_names_get_suffixes() {
        let mut g = GraphBuilder::new("t");
        assert_eq!(g.unique("a"), "a");
        assert_eq!(g.unique("a"), "a_1");
        assert_eq!(g.unique("a"), "a_2");
        assert_eq!(g.unique(""), "v");
    }

    #[test]
    fn initializer_checks_length() {
        let mut g = GraphBuilder::new("t");
        assert!(matches!(
            g.initializer_f32("w", &[2, 2], &[1.0; 3]),
            Err(ExportError::Shape { .. })
        ));
        assert!(g.initializer_f32("w", &[-1], &[]).is_err());
        let n = g.initializer_f32("w", &[2, 2], &[1.0; 4]).unwrap();
        assert_eq!(n, "w");
        let graph = g.finish();
        assert_eq!(graph.initializer[0].raw_data.as_ref().unwrap().len(), 16);
    }

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
