//! Golden checks of the hand-derived ONNX protobuf messages and the graph
//! builder against `data/fixtures/export/golden_tiny.onnx`, written by the
//! official `onnx` Python package (crates/export/scripts/gen_golden.py, which
//! also validated it with `onnx.checker.check_model(full_check=True)`).

use prost::Message;
use specnorm_export::onnx::{self, ModelProto};
use specnorm_export::{assemble_model, ModelInput, ModelMetadata};
use specnorm_features::FeatureConfig;
use specnorm_norm::{NormSpec, Normalizer};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/fixtures/export/golden_tiny.onnx"
);
const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/fixtures/export/golden_tiny_expected.json"
);

/// The tiny network of gen_golden.py, built with this crate. Its metadata (n_fft 4, so
/// F = 3) is the contract's layout, checked in api.rs; the golden file keeps the layout it was
/// generated with, so the comparison replaces the metadata by the golden one.
fn rust_golden() -> ModelProto {
    let mut features = FeatureConfig::default();
    features.spectrogram.stft.n_fft = 4;
    features.spectrogram.stft.win_length = 4;
    features.spectrogram.stft.hop_length = 2;
    let meta = ModelMetadata::new(
        vec!["a".into(), "b".into()],
        features,
        NormSpec::from(Normalizer::Global {
            mean: -40.0,
            std: 10.0,
        }),
        "golden",
        ModelInput::Spectrogram,
    )
    .unwrap();
    let conv_w: Vec<f32> = (0..18).map(|i| (i as f32 - 8.0) * 0.125).collect();
    let mut m = assemble_model(&meta, |g, x| {
        let w = g.initializer_f32("conv.weight", &[2, 1, 3, 3], &conv_w)?;
        let b = g.initializer_f32("conv.bias", &[2], &[0.5, -0.5])?;
        let y = g.conv(x, &w, Some(&b), [3, 3], [1, 1], [1, 1], [1, 1], 1, "conv");
        let y = g.relu(&y);
        let y = g.max_pool(&y, [2, 2], [2, 2], [0, 0], false, "mp");
        let y = g.average_pool(&y, [2, 2], [2, 2], [0, 0], true, false, "ap");
        let y = g.global_average_pool(&y, "pooled");
        let y = g.flatten(&y, 1, "flat");
        let fw = g.initializer_f32("fc.weight", &[2, 2], &[0.5, -1.0, 2.0, 0.25])?;
        let fb = g.initializer_f32("fc.bias", &[2], &[0.125, -0.25])?;
        Ok((g.gemm_trans_b(&y, &fw, &fb), 2))
    })
    .unwrap();
    // The version strings are the crate version; the golden file says "golden".
    m.producer_version = Some("golden".into());
    let golden = onnx::decode_model(&std::fs::read(GOLDEN).unwrap()).unwrap();
    let keys = |m: &ModelProto| -> Vec<String> {
        m.metadata_props
            .iter()
            .map(|p| p.key.clone().unwrap())
            .collect()
    };
    // Every key of the golden file is still written.
    for k in keys(&golden) {
        assert!(keys(&m).contains(&k), "{k} missing");
    }
    m.metadata_props = golden.metadata_props;
    m
}

#[test]
fn decode_reencode_is_byte_identical() {
    let bytes = std::fs::read(GOLDEN).unwrap();
    let m = onnx::decode_model(&bytes).unwrap();
    assert_eq!(m.ir_version, Some(8));
    assert_eq!(m.opset_import.len(), 1);
    assert_eq!(m.opset_import[0].version, Some(17));
    let g = m.graph.as_ref().unwrap();
    assert_eq!(g.node.len(), 10);
    assert_eq!(g.initializer.len(), 6);
    let conv = &g.node[2];
    assert_eq!(conv.op_type.as_deref(), Some("Conv"));
    assert_eq!(conv.attribute[3].name.as_deref(), Some("pads"));
    assert_eq!(conv.attribute[3].ints, [1, 1, 1, 1]);
    assert_eq!(
        conv.attribute[3].r#type,
        Some(onnx::AttributeType::Ints as i32)
    );
    assert_eq!(g.initializer[2].dims, [2, 1, 3, 3]);
    assert_eq!(m.metadata_props[0].value.as_deref(), Some(r#"["a","b"]"#));
    // Every field of the file is modelled: nothing is dropped on re-encode.
    assert_eq!(m.encode_to_vec(), bytes);
}

#[test]
fn builder_output_matches_official_onnx_serialization() {
    let bytes = std::fs::read(GOLDEN).unwrap();
    let golden = onnx::decode_model(&bytes).unwrap();
    let ours = rust_golden();
    // Structural equality first (readable failure), then bytes.
    assert_eq!(ours.graph, golden.graph);
    assert_eq!(ours, golden);
    assert_eq!(ours.encode_to_vec(), bytes);
}

fn golden_input() -> (Vec<usize>, Vec<f32>) {
    let shape = vec![2usize, 1, 3, 9];
    let n: usize = shape.iter().product();
    let x = (0..n)
        .map(|i| (-40.0 + 20.0 * (0.37 * i as f64).sin()) as f32)
        .collect();
    (shape, x)
}

#[test]
fn ort_runs_golden_like_torch() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(EXPECTED).unwrap()).unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(expected["logits_torch"].clone()).unwrap();
    let bytes = rust_golden().encode_to_vec();
    let env = ort::init().with_name("golden").build().unwrap();
    let mut session = ort::session::Session::builder(&env)
        .unwrap()
        .commit_from_memory(&bytes)
        .unwrap();
    let (shape, x) = golden_input();
    let input = ort::value::Tensor::from_array((shape, x)).unwrap();
    let out = session.run(ort::inputs!["spectrogram" => input]).unwrap();
    let (oshape, got) = out["logits"].try_extract_tensor::<f32>().unwrap();
    assert_eq!(&oshape[..], &[2, 2]);
    for (g, w) in got.iter().zip(want.iter().flatten()) {
        assert!((f64::from(*g) - w).abs() < 1e-5, "{g} vs {w}");
    }
}
