//! `export_model` / `to_onnx_bytes`: file writing, metadata, graph shape,
//! and errors.

use prost::Message;
use specnorm_export::onnx::{
    tensor_shape_proto::dimension::Value as Dim, type_proto, ModelProto, ValueInfoProto,
};
use specnorm_export::{export_model, to_onnx_bytes, ExportError, ExportMeta, ExportNorm};
use specnorm_train::{Model, ModelKind, ModelSpec};
use tch::Device;

fn small(n_classes: i64) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Small,
        in_channels: 1,
        n_classes,
    };
    Model::new(spec, Device::Cpu, 3).unwrap()
}

fn meta(n: usize) -> ExportMeta {
    ExportMeta {
        class_names: (0..n).map(|i| format!("c{i}")).collect(),
        sample_rate: 16000,
        n_freq: 201,
        feature_config_json: r#"{"n_fft":400}"#.into(),
        norm: ExportNorm::Global {
            mean: -45.0,
            std: 17.0,
        },
    }
}

fn dims(v: &ValueInfoProto) -> Vec<String> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().unwrap().value.as_ref() else {
        panic!("not a tensor type");
    };
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            Dim::DimValue(n) => n.to_string(),
            Dim::DimParam(s) => s.clone(),
        })
        .collect()
}

#[test]
fn export_writes_a_complete_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    let model = small(4);
    export_model(&model, &meta(4), &path).unwrap();
    // Only the final file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["m.onnx"]);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, to_onnx_bytes(&model, &meta(4)).unwrap());
    let m = ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(m.ir_version, Some(8));
    assert_eq!(m.opset_import[0].version, Some(17));
    let g = m.graph.unwrap();
    assert_eq!(dims(&g.input[0]), ["N", "1", "201", "T"]);
    assert_eq!(g.input[0].name.as_deref(), Some("spectrogram"));
    assert_eq!(dims(&g.output[0]), ["N", "4"]);
    assert_eq!(g.output[0].name.as_deref(), Some("logits"));
    let ops: Vec<&str> = g
        .node
        .iter()
        .map(|n| n.op_type.as_deref().unwrap())
        .collect();
    // Normalization, 4 x (Conv with folded BN, Relu, MaxPool), head.
    let mut want = vec!["Sub", "Div"];
    for _ in 0..4 {
        want.extend(["Conv", "Relu", "MaxPool"]);
    }
    want.extend(["GlobalAveragePool", "Flatten", "Gemm", "Identity"]);
    assert_eq!(ops, want);
    // Folded: every conv has a bias, no BatchNormalization nodes remain.
    assert!(g
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("Conv"))
        .all(|n| n.input.len() == 3));
    let props: std::collections::HashMap<_, _> = m
        .metadata_props
        .iter()
        .map(|p| (p.key.clone().unwrap(), p.value.clone().unwrap()))
        .collect();
    assert_eq!(props["class_names"], r#"["c0","c1","c2","c3"]"#);
    assert_eq!(props["sample_rate"], "16000");
    assert_eq!(props["n_freq"], "201");
    assert_eq!(props["feature_config"], r#"{"n_fft":400}"#);
    assert_eq!(props["model_kind"], "small");
    assert_eq!(
        serde_json::from_str::<ExportNorm>(&props["normalization"]).unwrap(),
        meta(4).norm
    );
    assert_eq!(props["specnorm_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn xresnet_graph_has_residual_adds_and_ceil_avgpool() {
    let spec = ModelSpec {
        kind: ModelKind::XResNet18,
        in_channels: 1,
        n_classes: 3,
    };
    let model = Model::new(spec, Device::Cpu, 1).unwrap();
    let m = ModelProto::decode(to_onnx_bytes(&model, &meta(3)).unwrap().as_slice()).unwrap();
    let g = m.graph.unwrap();
    let count = |op: &str| {
        g.node
            .iter()
            .filter(|n| n.op_type.as_deref() == Some(op))
            .count()
    };
    // 3 stem convs + 8 blocks x 2 + 3 shortcut 1x1 convs.
    assert_eq!(count("Conv"), 3 + 16 + 3);
    assert_eq!(count("Add"), 8);
    assert_eq!(count("AveragePool"), 3);
    assert_eq!(count("MaxPool"), 1);
    assert_eq!(count("BatchNormalization"), 0);
    let ap = g
        .node
        .iter()
        .find(|n| n.op_type.as_deref() == Some("AveragePool"))
        .unwrap();
    let attr = |name: &str| {
        ap.attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .unwrap()
    };
    assert_eq!(attr("ceil_mode").i, Some(1));
    assert_eq!(attr("count_include_pad").i, Some(0));
    assert_eq!(attr("kernel_shape").ints, [2, 2]);
}

#[test]
fn errors_are_typed() {
    let model = small(4);
    // Class count differs from the model's outputs.
    assert!(matches!(
        to_onnx_bytes(&model, &meta(3)),
        Err(ExportError::Meta(m)) if m.contains("4 outputs")
    ));
    let mut bad = meta(4);
    bad.feature_config_json = "not json".into();
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Meta(_))
    ));
    let mut bad = meta(4);
    bad.norm = ExportNorm::PerChannel {
        mean: vec![0.0; 200],
        std: vec![1.0; 200],
    };
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Norm(_))
    ));
    let mut bad = meta(4);
    bad.class_names.clear();
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Meta(_))
    ));
    // Unwritable destination: the error names the path; nothing is created.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing_dir").join("m.onnx");
    let err = export_model(&model, &meta(4), &path).unwrap_err();
    assert!(matches!(&err, ExportError::Io { path: p, .. } if p.contains("missing_dir")));
}

/// The metadata keys are a contract between the exporter and specnorm-infer, which
/// must not depend on this crate (it would pull in libtorch) and so spells them out
/// again. This keeps the two lists identical.
#[test]
fn metadata_keys_agree_with_infer() {
    use specnorm_export::meta_keys as e;
    use specnorm_infer::meta_keys as i;
    assert_eq!(
        [
            e::CLASS_NAMES,
            e::SAMPLE_RATE,
            e::FEATURE_CONFIG,
            e::N_FREQ,
            e::NORMALIZATION,
            e::MODEL_KIND,
            e::SPECNORM_VERSION
        ],
        [
            i::CLASS_NAMES,
            i::SAMPLE_RATE,
            i::FEATURE_CONFIG,
            i::N_FREQ,
            i::NORMALIZATION,
            i::MODEL_KIND,
            i::SPECNORM_VERSION
        ]
    );
}
