//! Node attributes (`INT`, `INTS`, `FLOAT`, `STRING`, `GRAPH`, scalar `TENSOR`).

use crate::onnx::{AttributeProto, AttributeType, DataType, GraphProto, TensorProto};

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
