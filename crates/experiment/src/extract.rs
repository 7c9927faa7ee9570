//! The feature variants of one clip: one power spectrogram per waveform-normalization flag
//! (the STFT differs: normalization is not linear in the padded clip); a dB (or otherwise
//! log-scaled) variant is *derived* from that power spectrogram with the same scaling the
//! front end applies, so it is bit-identical to extracting it directly (tested below) at the
//! cost of one log pass. Shared by the experiment's in-memory features and the on-disk cache
//! ([`crate::feature_cache`]).

use std::collections::BTreeSet;

use ndarray::Array2;
use specnorm_dsp::{Scale, SpectrogramConfig};
use specnorm_features::{FeatureConfig, FeatureError, FeatureExtractor};

use crate::settings::FeatureVariant;

/// One power-spectrogram extractor per waveform-normalization flag of `variants`.
pub(crate) fn power_extractors(
    variants: &BTreeSet<FeatureVariant>,
    base: &FeatureConfig,
) -> Result<Vec<(bool, FeatureExtractor)>, FeatureError> {
    let flags: BTreeSet<bool> = variants.iter().map(|v| v.waveform_norm).collect();
    flags
        .into_iter()
        .map(|waveform_norm| {
            let power = FeatureVariant {
                waveform_norm,
                power: true,
            };
            Ok((
                waveform_norm,
                FeatureExtractor::new(power.feature_config(base))?,
            ))
        })
        .collect()
}

/// The loader of the decoded waveforms the variants are computed from: decode, mix to mono
/// and resample to the feature rate (neither normalized nor padded).
pub(crate) fn waveform_loader(base: &FeatureConfig) -> Result<FeatureExtractor, FeatureError> {
    FeatureExtractor::new(FeatureConfig {
        waveform_norm: false,
        seconds: None,
        ..base.clone()
    })
}

/// The requested variants of one clip: one power spectrogram per
/// waveform-normalization flag, the log-scaled variants derived from it.
pub(crate) fn clip_variants(
    wave: &[f32],
    base: &FeatureConfig,
    extractors: &[(bool, FeatureExtractor)],
    variants: &BTreeSet<FeatureVariant>,
) -> Result<Vec<(FeatureVariant, Array2<f32>)>, FeatureError> {
    let mut out = Vec::with_capacity(variants.len());
    for (flag, fx) in extractors {
        let power = fx.extract_samples(wave, base.sample_rate)?;
        for v in variants.iter().filter(|v| v.waveform_norm == *flag) {
            let mut a = power.clone();
            if !v.power {
                scale_power(&mut a, &v.feature_config(base).spectrogram);
            }
            out.push((*v, a));
        }
    }
    Ok(out)
}

/// Applies the scale of `spec` to a power spectrogram computed with the same
/// STFT and mel settings (what the front end does after the power stage).
fn scale_power(a: &mut Array2<f32>, spec: &SpectrogramConfig) {
    let values = match a.as_slice_memory_order_mut() {
        Some(v) => v,
        None => return,
    };
    match spec.scale {
        Scale::Power => {}
        Scale::Db { top_db } => specnorm_dsp::power_to_db(values, 20.0 / spec.stft.power, top_db),
        Scale::Ln { eps } => specnorm_dsp::power_to_ln(values, eps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(n: usize, sr: f32, gain: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / sr;
                gain * (std::f32::consts::TAU * (200.0 + 900.0 * t) * t).sin() + 0.01
            })
            .collect()
    }

    /// A derived variant equals the one the front end extracts directly, to
    /// the bit, for dB (with and without top_db), ln and mel.
    #[test]
    fn derived_variants_equal_direct_extraction() {
        let mut mel = FeatureConfig {
            seconds: Some(1.0),
            ..FeatureConfig::default()
        };
        mel.spectrogram.mel = Some(specnorm_dsp::MelConfig {
            n_mels: 40,
            ..specnorm_dsp::MelConfig::default()
        });
        let mut top = FeatureConfig {
            seconds: Some(1.0),
            ..FeatureConfig::default()
        };
        top.spectrogram.scale = Scale::Db { top_db: Some(60.0) };
        let mut ln = top.clone();
        ln.spectrogram.scale = Scale::Ln { eps: 1e-6 };
        let wave = chirp(12_000, 16_000.0, 0.3);
        for base in [mel, top, ln] {
            let all: BTreeSet<FeatureVariant> = [false, true]
                .into_iter()
                .flat_map(|w| {
                    [false, true].map(|power| FeatureVariant {
                        waveform_norm: w,
                        power,
                    })
                })
                .collect();
            let fxs: Vec<(bool, FeatureExtractor)> = [false, true]
                .map(|w| {
                    let v = FeatureVariant {
                        waveform_norm: w,
                        power: true,
                    };
                    (w, FeatureExtractor::new(v.feature_config(&base)).unwrap())
                })
                .into();
            let got = clip_variants(&wave, &base, &fxs, &all).unwrap();
            assert_eq!(got.len(), 4);
            for (v, a) in got {
                let direct = FeatureExtractor::new(v.feature_config(&base))
                    .unwrap()
                    .extract_samples(&wave, 16_000)
                    .unwrap();
                assert_eq!(a, direct, "{} of {:?}", v.label(), base.spectrogram.scale);
            }
        }
    }
}
