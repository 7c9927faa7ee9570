//! `export_model` / `to_onnx_bytes`: file writing, metadata, graph shape,
//! and errors.

use prost::Message;
use specnorm_export::onnx::{
    tensor_shape_proto::dimension::Value as Dim, type_proto, ModelProto, ValueInfoProto,
};
use specnorm_export::{export_model, to_onnx_bytes, ExportError, ModelInput, ModelMetadata};
use specnorm_features::FeatureConfig;
use specnorm_norm::{NormSpec, Normalizer};
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

fn meta(n: usize) -> ModelMetadata {
    ModelMetadata::new(
        (0..n).map(|i| format!("c{i}")).collect(),
        FeatureConfig::default(),
        NormSpec::from(Normalizer::Global {
            mean: -45.0,
            std: 17.0,
        }),
        "small",
        ModelInput::Spectrogram,
    )
    .unwrap()
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
    assert_eq!(
        serde_json::from_str::<FeatureConfig>(&props["feature_config"]).unwrap(),
        FeatureConfig::default()
    );
    assert_eq!(props["model_kind"], "small");
    assert_eq!(props["input"], "spectrogram");
    assert_eq!(
        NormSpec::from_json(&props["normalization"]).unwrap(),
        meta(4).normalization
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
    let mut xmeta = meta(3);
    xmeta.model_kind = "xresnet18".into();
    let m = ModelProto::decode(to_onnx_bytes(&model, &xmeta).unwrap().as_slice()).unwrap();
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
    bad.model_kind = "xresnet18".into();
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Meta(m)) if m.contains("model kind")
    ));
    let mut bad = meta(4);
    bad.n_freq = 200;
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Contract(_))
    ));
    let mut bad = meta(4);
    bad.normalization = NormSpec::from(Normalizer::PerChannel {
        mean: vec![0.0; 200],
        std: vec![1.0; 200],
    });
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Contract(_))
    ));
    let mut bad = meta(4);
    bad.class_names.clear();
    assert!(matches!(
        to_onnx_bytes(&model, &bad),
        Err(ExportError::Contract(_))
    ));
    // Unwritable destination: the error names the path; nothing is created.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing_dir").join("m.onnx");
    let err = export_model(&model, &meta(4), &path).unwrap_err();
    assert!(matches!(&err, ExportError::Io { path: p, .. } if p.contains("missing_dir")));
}

/// `export_checkpoint` reads the checkpoint's contract metadata and writes a model whose
/// metadata says the same; a checkpoint without it is refused with its path.
#[test]
fn export_checkpoint_uses_the_contract() {
    use specnorm_contract::{keys, CheckpointMeta};
    use specnorm_export::{export_checkpoint, ExportOptions};
    let dir = tempfile::tempdir().unwrap();
    let model = small(3);
    let ck = CheckpointMeta {
        setting: "channel".into(),
        normalization: NormSpec::from(Normalizer::PerChannel {
            mean: vec![-50.0; 201],
            std: vec![15.0; 201],
        }),
        features: FeatureConfig::default(),
        classes: vec!["a".into(), "b".into(), "c".into()],
        valid_fold: Some(1),
        seed: Some(0),
        config_hash: None,
        final_accuracy: None,
    };
    let ckpt = dir.path().join("c.safetensors");
    model.save(&ckpt, &ck.to_map()).unwrap();
    let out = dir.path().join("sub").join("c.onnx");
    let summary = export_checkpoint(&ckpt, &out, &ExportOptions::default()).unwrap();
    assert_eq!((summary.n_classes, summary.n_freq), (3, 201));
    assert_eq!(summary.normalization, "per_channel");
    let m = ModelProto::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
    let props: std::collections::HashMap<_, _> = m
        .metadata_props
        .iter()
        .map(|p| (p.key.clone().unwrap(), p.value.clone().unwrap()))
        .collect();
    let back = ModelMetadata::from_props(|k| props.get(k).cloned()).unwrap();
    assert_eq!(
        back,
        ck.model_metadata("small", ModelInput::Spectrogram).unwrap()
    );
    // Without the contract metadata the checkpoint cannot be exported.
    let mut no_norm = ck.to_map();
    no_norm.remove(keys::checkpoint::NORMALIZER);
    let bare = dir.path().join("bare.safetensors");
    model.save(&bare, &no_norm).unwrap();
    let err = export_checkpoint(&bare, &out, &ExportOptions::default()).unwrap_err();
    assert!(
        matches!(&err, ExportError::CheckpointMeta { path, .. } if path.contains("bare")),
        "{err}"
    );
    assert!(
        err.to_string().contains(keys::checkpoint::NORMALIZER),
        "{err}"
    );
}
