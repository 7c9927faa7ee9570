//! Arbitrary bytes -> decode -> features, with a fuzzer-chosen front end.
//!
//! The first 8 bytes choose the configuration (target rate, n_fft, hop,
//! window length, mel bins, centring/padding, fixed duration, waveform
//! normalization); the rest is the audio file. Both the full front end
//! (`FeatureExtractor::extract_bytes`) and a bare `SpectrogramPlan` on the
//! decoded samples must either fail with an error or return a finite array
//! of the announced shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specnorm_dsp::{MelConfig, PadMode, SpectrogramPlan};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use std::path::Path;

const RATES: [u32; 8] = [8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 96_000];

fn config(c: &[u8]) -> FeatureConfig {
    let mut cfg = FeatureConfig {
        sample_rate: RATES[usize::from(c[0] & 7)],
        // 0 = keep the clip's length, else 0.02 .. 0.2 s
        seconds: match c[1] % 11 {
            0 => None,
            k => Some(f32::from(k) * 0.02),
        },
        waveform_norm: c[2] & 1 == 1,
        ..FeatureConfig::default()
    };
    let n_fft = 2 + usize::from(u16::from_le_bytes([c[3], c[4]]) % 1023); // 2..=1024
    let stft = &mut cfg.spectrogram.stft;
    stft.n_fft = n_fft;
    stft.win_length = 1 + usize::from(c[5]) % n_fft;
    // hop in [n_fft / 8, n_fft]: at most 8x overlap keeps one run cheap
    let lo = (n_fft / 8).max(1);
    stft.hop_length = lo + usize::from(c[6]) % (n_fft - lo + 1);
    stft.center = c[2] & 2 == 0;
    stft.pad_mode = if c[2] & 4 == 0 {
        PadMode::Reflect
    } else {
        PadMode::Constant
    };
    stft.power = if c[2] & 8 == 0 { 2.0 } else { 1.0 };
    if c[7] & 0x80 != 0 {
        cfg.spectrogram.mel = Some(MelConfig {
            n_mels: 1 + usize::from(c[7] & 0x7f),
            ..MelConfig::default()
        });
    }
    cfg
}

fn check(spec: &ndarray::Array2<f32>, shape: (usize, usize)) {
    assert_eq!(spec.dim(), shape);
    assert!(spec.iter().all(|x| x.is_finite()));
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (c, file) = data.split_at(8);
    let cfg = config(c);
    let src = Path::new("fuzz-input.wav");
    let Ok(fx) = FeatureExtractor::new(cfg.clone()) else {
        return; // e.g. more mel bins than the FFT resolves
    };
    let Ok(audio) = specnorm_audio::decode(file, src) else {
        // decoding errors are the `decode` target's business; the front end
        // must report them too
        assert!(fx.extract_bytes(file, src).is_err());
        return;
    };
    // Sane bounds for speed: the file's own rate within 1 Hz .. 200 kHz (other
    // rates only cost resampler planning time; absurd expansions are refused
    // by FeatureExtractor, see tests/bad_input.rs) and, for free-length
    // configurations, at most 32 000 resampled samples.
    let rate = audio.info.sample_rate;
    let resampled = audio.info.frames * u64::from(cfg.sample_rate) / u64::from(rate);
    if rate > 200_000 || (cfg.seconds.is_none() && resampled > 32_000) {
        return;
    }
    match fx.extract_bytes(file, src) {
        Ok(spec) => {
            let frames = fx.n_frames().unwrap_or(spec.ncols());
            check(&spec, (fx.n_bins(), frames));
        }
        Err(e) => assert!(e.to_string().contains("fuzz-input.wav"), "{e}"),
    }
    // The bare plan at the file's own rate, on the decoded samples.
    if let Ok(plan) = SpectrogramPlan::new(&cfg.spectrogram, audio.info.sample_rate) {
        if let Ok(spec) = plan.compute(&audio.samples) {
            let [f, t] = plan.output_shape(audio.samples.len());
            check(&spec, (f, t));
        }
    }
});
