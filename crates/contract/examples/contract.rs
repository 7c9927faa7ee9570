//! Prints the ONNX metadata a default-feature, per-instance model would carry.
//! `cargo run -p specnorm-contract --example contract`
use specnorm_contract::{ModelInput, ModelMetadata, StftImpl};
use specnorm_features::FeatureConfig;
use specnorm_norm::{NormSpec, Normalizer};

fn main() -> Result<(), specnorm_contract::ContractError> {
    let meta = ModelMetadata::new(
        vec!["dog".into(), "rain".into()],
        FeatureConfig::default(),
        NormSpec::from(Normalizer::PerInstance { eps: 1e-6 }),
        "small",
        ModelInput::Waveform {
            stft: StftImpl::Conv,
        },
    )?;
    for (k, v) in meta.to_props() {
        println!("{k} = {v}");
    }
    Ok(())
}
