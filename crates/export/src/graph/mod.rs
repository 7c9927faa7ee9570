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
    type_proto, AttributeProto, DataType, GraphProto, NodeProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};
use crate::ExportError;

mod attrs;
mod ops;

pub use attrs::{attr_float, attr_graph, attr_int, attr_ints, attr_scalar_tensor, attr_string};
pub use ops::fold_batch_norm;

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
}
