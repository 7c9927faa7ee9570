//! What `specnorm infer` reads from a (possibly hostile) ONNX model's metadata:
//! `ModelMetadata::from_props` on arbitrary key/value pairs (the input is
//! `key\0value\0key\0value...`), then the front end that `Classifier::load` plans
//! from the stored feature configuration. Never panics or aborts (a feature
//! configuration that would allocate without bound must be an error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use specnorm_contract::ModelMetadata;
use specnorm_features::FeatureExtractor;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let fields: Vec<&str> = text.split('\0').collect();
    let props: HashMap<String, String> = fields
        .chunks(2)
        .filter(|kv| kv.len() == 2)
        .map(|kv| (kv[0].to_string(), kv[1].to_string()))
        .collect();
    let Ok(meta) = ModelMetadata::from_props(|k| props.get(k).cloned()) else {
        return;
    };
    let again: HashMap<String, String> = meta.to_props().into_iter().collect();
    let back = ModelMetadata::from_props(|k| again.get(k).cloned()).expect("to_props loads back");
    assert_eq!(back.class_names, meta.class_names);
    if let Ok(fx) = FeatureExtractor::new(meta.feature_config.clone()) {
        assert!(fx.n_bins() > 0);
    }
});
