//! The front end inside the graph (`--frontend`) against `specnorm-features`, and PCEN in the
//! graph against `specnorm-norm`, run by ONNX Runtime on real-length clips (5 s at 16 kHz,
//! plus clips that need padding and trimming), for both STFT implementations:
//!
//! - features: within [`DB_TOL`] dB on every bin within 80 dB of the clip's peak (PCEN:
//!   [`PCEN_TOL`] relative to the clip's largest PCEN value);
//! - logits of the waveform-input model vs the feature-input model fed with the Rust
//!   features (and vs tch for PCEN): within [`LOGIT_TOL`], identical argmax.
//!
//! The README quotes these tolerances; the maxima are printed (`--no-capture`).

use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_export::frontend::append_front_end;
use specnorm_export::graph::{GraphBuilder, TensorShape};
use specnorm_export::{append_normalization, to_onnx_bytes, ModelInput, ModelMetadata, StftImpl};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_norm::{NormSpec, Normalizer, PcenConfig};
use specnorm_train::{LearnedPcenConfig, Model, ModelKind, ModelSpec};

const SR: usize = 16_000;
/// dB parity claimed in the README (the issue asks for 0.01 dB; measured 5.3e-3).
const DB_TOL: f32 = 0.008;
/// Logit parity claimed in the README (the issue asks for 1e-4; measured 8.6e-6).
const LOGIT_TOL: f32 = 2e-5;
/// PCEN parity: max abs difference relative to the clip's max PCEN value (measured 2.4e-6).
const PCEN_TOL: f32 = 5e-6;

fn shared_env() -> ort::environment::Environment {
    use std::sync::OnceLock;
    static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
    ENV.get_or_init(|| ort::init().with_name("frontend").build().unwrap())
        .clone()
}

/// Runs a one-input, one-output model.
fn run(
    bytes: &[u8],
    input: &str,
    shape: Vec<usize>,
    x: Vec<f32>,
    output: &str,
) -> (Vec<i64>, Vec<f32>) {
    let env = shared_env();
    let mut s = ort::session::Session::builder(&env)
        .unwrap()
        .commit_from_memory(bytes)
        .unwrap();
    let t = ort::value::Tensor::from_array((shape, x)).unwrap();
    let out = s.run(ort::inputs![input => t]).unwrap();
    let (shape, data) = out[output].try_extract_tensor::<f32>().unwrap();
    (shape.to_vec(), data.to_vec())
}

/// ESC-50-like clips of `len` samples: tones, a chirp and noise bursts at gains spread over
/// 40 dB, with a silent stretch, so dB values cover a wide range.
fn clips(n: usize, len: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|c| {
            let gain = 10f32.powf(-2.0 * c as f32 / n.max(1) as f32);
            let f0 = rng.gen_range(100.0..3000.0f32);
            let f1 = rng.gen_range(200.0..7000.0f32);
            (0..len)
                .map(|i| {
                    let t = i as f32 / SR as f32;
                    let chirp = (std::f32::consts::TAU * (f1 * t + 300.0 * t * t)).sin();
                    let tone = (std::f32::consts::TAU * f0 * t).sin();
                    let noise: f32 = rng.gen_range(-1.0..1.0);
                    let silent = (i / 4000) % 7 == 3;
                    if silent {
                        0.0
                    } else {
                        gain * (0.5 * tone + 0.3 * chirp + 0.05 * noise)
                    }
                })
                .collect()
        })
        .collect()
}

/// A graph: waveform -> front end (-> normalization) -> output `y`.
fn features_graph(
    cfg: &FeatureConfig,
    stft: StftImpl,
    norm: Option<&Normalizer>,
    f: usize,
) -> Vec<u8> {
    let mut g = GraphBuilder::new("front_end");
    let x = g.input_f32("waveform", TensorShape::named(&[None, None], &["N", "S"]));
    let mut y = append_front_end(&mut g, cfg, stft, &x).unwrap();
    if let Some(n) = norm {
        y = append_normalization(&mut g, n, &y, f).unwrap();
    }
    g.output_f32(
        &y,
        "y",
        TensorShape::symbolic(&[None, Some(1), Some(f as i64), None]),
    );
    let model = specnorm_export::onnx::ModelProto {
        ir_version: Some(specnorm_export::IR_VERSION),
        graph: Some(g.finish()),
        opset_import: vec![specnorm_export::onnx::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(specnorm_export::OPSET),
        }],
        ..Default::default()
    };
    model.encode_to_vec()
}

/// Rust features of each clip (at the model rate: no resampling), stacked `[N, F, T]`.
fn rust_features(cfg: &FeatureConfig, clips: &[Vec<f32>]) -> (usize, usize, Vec<f32>) {
    let fx = FeatureExtractor::new(cfg.clone()).unwrap();
    let mut out = Vec::new();
    let (mut f, mut t) = (0, 0);
    for c in clips {
        let a = fx.extract_samples(c, SR as u32).unwrap();
        (f, t) = a.dim();
        out.extend(a.iter().copied());
    }
    (f, t, out)
}

/// Max |graph - rust| in dB over bins within 80 dB of each clip's peak.
fn db_parity(cfg: &FeatureConfig, stft: StftImpl, clips: &[Vec<f32>]) -> f32 {
    let (f, t, want) = rust_features(cfg, clips);
    let s = clips[0].len();
    let x: Vec<f32> = clips.iter().flatten().copied().collect();
    let (shape, got) = run(
        &features_graph(cfg, stft, None, f),
        "waveform",
        vec![clips.len(), s],
        x,
        "y",
    );
    assert_eq!(shape, [clips.len() as i64, 1, f as i64, t as i64]);
    let mut worst = 0f32;
    let mut at = (0, 0, 0.0, 0.0, 0.0);
    for (g, w) in got.chunks(f * t).zip(want.chunks(f * t)) {
        let peak = w.iter().copied().fold(f32::MIN, f32::max);
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            if *b >= peak - 80.0 && (a - b).abs() > worst {
                worst = (a - b).abs();
                at = (i / t, i % t, *a, *b, peak);
            }
        }
    }
    println!(
        "  worst at bin {} frame {}: graph {} rust {} peak {}",
        at.0, at.1, at.2, at.3, at.4
    );
    worst
}

fn mel_config() -> FeatureConfig {
    let mut cfg = FeatureConfig::default();
    cfg.spectrogram.mel = Some(specnorm_dsp::MelConfig {
        n_mels: 64,
        ..Default::default()
    });
    cfg.spectrogram.scale = specnorm_dsp::Scale::Db { top_db: Some(80.0) };
    cfg
}

#[test]
fn front_end_in_the_graph_matches_specnorm_features() {
    let default = FeatureConfig::default();
    for stft in [StftImpl::Dft, StftImpl::Conv] {
        // 5 s clips, shorter ones (zero-padded in the graph) and longer ones (trimmed)
        for (len, seed) in [(5 * SR, 1), (4 * SR + 1234, 2), (6 * SR, 3)] {
            let d = db_parity(&default, stft, &clips(3, len, seed));
            println!(
                "front end {} len {len}: max |dB diff| {d:.2e}",
                stft.as_str()
            );
            assert!(d <= DB_TOL, "{} len {len}: {d} dB", stft.as_str());
        }
        let d = db_parity(&mel_config(), stft, &clips(2, 5 * SR, 4));
        println!(
            "front end {} mel64 top_db 80: max |dB diff| {d:.2e}",
            stft.as_str()
        );
        assert!(d <= DB_TOL, "{} mel: {d} dB", stft.as_str());
    }
}

fn pcen_features() -> (FeatureConfig, PcenConfig) {
    let mut cfg = FeatureConfig::default();
    cfg.spectrogram.scale = specnorm_dsp::Scale::Power;
    let pcen = PcenConfig {
        sample_rate: cfg.sample_rate,
        hop_length: cfg.spectrogram.stft.hop_length,
        ..PcenConfig::default()
    };
    (cfg, pcen)
}

#[test]
fn pcen_in_the_graph_matches_specnorm_norm() {
    let (cfg, pcen) = pcen_features();
    let norm = Normalizer::Pcen(pcen.clone());
    let c = clips(3, 5 * SR, 5);
    let (f, t, power) = rust_features(&cfg, &c);
    let mut want = ndarray::Array3::from_shape_vec((c.len(), f, t), power.clone()).unwrap();
    norm.encode(want.view_mut()).unwrap();
    let rel = |got: &[f32]| {
        let mut worst = 0f32;
        for (g, w) in got
            .chunks(f * t)
            .zip(want.as_slice().unwrap().chunks(f * t))
        {
            let top = w.iter().copied().fold(0f32, f32::max);
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((a - b).abs() / top);
            }
        }
        worst
    };
    // Feature-input graph: power spectrogram in, PCEN out.
    let mut g = GraphBuilder::new("pcen");
    let x = g.input_f32(
        "spectrogram",
        TensorShape::symbolic(&[None, Some(1), Some(f as i64), None]),
    );
    let y = append_normalization(&mut g, &norm, &x, f).unwrap();
    g.output_f32(
        &y,
        "y",
        TensorShape::symbolic(&[None, Some(1), Some(f as i64), None]),
    );
    let bytes = specnorm_export::onnx::ModelProto {
        ir_version: Some(specnorm_export::IR_VERSION),
        graph: Some(g.finish()),
        opset_import: vec![specnorm_export::onnx::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(specnorm_export::OPSET),
        }],
        ..Default::default()
    }
    .encode_to_vec();
    let (_, got) = run(&bytes, "spectrogram", vec![c.len(), 1, f, t], power, "y");
    let d = rel(&got);
    println!("PCEN feature-input graph: max |diff| / max {d:.2e}");
    assert!(d <= PCEN_TOL, "{d}");
    // Waveform graph: front end + PCEN.
    for stft in [StftImpl::Dft, StftImpl::Conv] {
        let x: Vec<f32> = c.iter().flatten().copied().collect();
        let (_, got) = run(
            &features_graph(&cfg, stft, Some(&norm), f),
            "waveform",
            vec![c.len(), 5 * SR],
            x,
            "y",
        );
        let d = rel(&got);
        println!(
            "PCEN waveform graph ({}): max |diff| / max {d:.2e}",
            stft.as_str()
        );
        assert!(d <= PCEN_TOL, "{}: {d}", stft.as_str());
    }
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

fn model(n_classes: i64, seed: u64) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Small,
        in_channels: 1,
        n_classes,
    };
    Model::new(spec, tch::Device::Cpu, seed).unwrap()
}

/// Max |logit diff| between two runs, asserting equal argmax.
fn compare(a: &[f32], b: &[f32], k: usize, what: &str) -> f32 {
    let mut worst = 0f32;
    for (ra, rb) in a.chunks(k).zip(b.chunks(k)) {
        assert_eq!(
            argmax(ra),
            argmax(rb),
            "{what}: argmax differs: {ra:?} vs {rb:?}"
        );
        for (x, y) in ra.iter().zip(rb) {
            worst = worst.max((x - y).abs());
        }
    }
    worst
}

#[test]
fn waveform_models_match_feature_models() {
    let k = 5usize;
    let c = clips(4, 5 * SR, 6);
    let wave: Vec<f32> = c.iter().flatten().copied().collect();
    let db = FeatureConfig::default();
    let (f, t, feats) = rust_features(&db, &c);
    let per_channel = {
        let a = ndarray::Array3::from_shape_vec((c.len(), f, t), feats.clone()).unwrap();
        let mean: Vec<f32> = (0..f)
            .map(|i| a.index_axis(ndarray::Axis(1), i).mean().unwrap())
            .collect();
        let std: Vec<f32> = (0..f)
            .map(|i| a.index_axis(ndarray::Axis(1), i).std(0.0).max(1e-3))
            .collect();
        Normalizer::PerChannel { mean, std }
    };
    let (pcfg, pcen) = pcen_features();
    let (_, _, power) = rust_features(&pcfg, &c);
    let cases = [
        (db.clone(), per_channel, feats.clone()),
        (db.clone(), Normalizer::PerInstance { eps: 1e-6 }, feats),
        (pcfg, Normalizer::Pcen(pcen), power),
    ];
    for (i, (cfg, norm, x)) in cases.into_iter().enumerate() {
        let m = model(k as i64, 20 + i as u64);
        let meta = |input| {
            ModelMetadata::new(
                (0..k).map(|i| format!("c{i}")).collect(),
                cfg.clone(),
                NormSpec::from(norm.clone()),
                "small",
                input,
            )
            .unwrap()
        };
        let feature_model = to_onnx_bytes(&m, &meta(ModelInput::Spectrogram)).unwrap();
        let (_, want) = run(
            &feature_model,
            "spectrogram",
            vec![c.len(), 1, f, t],
            x.clone(),
            "logits",
        );
        if let Normalizer::Pcen(_) = &norm {
            // the feature-input PCEN model against tch on the Rust PCEN
            let mut a = ndarray::Array4::from_shape_vec((c.len(), 1, f, t), x.clone()).unwrap();
            norm.encode(a.view_mut()).unwrap();
            let xt = tch::Tensor::from_slice(a.as_slice().unwrap()).reshape([
                c.len() as i64,
                1,
                f as i64,
                t as i64,
            ]);
            let tl: Vec<f32> =
                Vec::try_from(tch::no_grad(|| m.forward_t(&xt, false)).flatten(0, -1)).unwrap();
            let d = compare(&want, &tl, k, "pcen feature model vs tch");
            println!("PCEN feature-input model vs tch: max |logit diff| {d:.2e}");
            assert!(d <= LOGIT_TOL, "{d}");
        }
        for stft in [StftImpl::Dft, StftImpl::Conv] {
            let wm = to_onnx_bytes(&m, &meta(ModelInput::Waveform { stft })).unwrap();
            let (shape, got) = run(
                &wm,
                "waveform",
                vec![c.len(), 5 * SR],
                wave.clone(),
                "logits",
            );
            assert_eq!(shape, [c.len() as i64, k as i64]);
            let what = format!("{} / {}", norm.name(), stft.as_str());
            let d = compare(&got, &want, k, &what);
            println!("waveform model {what}: max |logit diff| vs feature model {d:.2e}");
            assert!(d <= LOGIT_TOL, "{what}: {d}");
        }
    }
}

/// A model with the trainable PCEN front layer, its per-channel parameters moved away from
/// their (equal) initial values: the feature-input graph (power spectrogram in) against tch,
/// and the waveform graphs against the feature-input one.
#[test]
fn learned_pcen_models_match_tch() {
    let k = 4usize;
    let c = clips(3, 5 * SR, 8);
    let (cfg, pcen) = pcen_features();
    let (f, t, power) = rust_features(&cfg, &c);
    let front = LearnedPcenConfig {
        n_freq: f as i64,
        gain: pcen.gain.into(),
        bias: pcen.bias.into(),
        power: pcen.power.into(),
        smoothing: pcen.smoothing_coefficient(),
        eps: pcen.eps.into(),
    };
    let spec = ModelSpec {
        kind: ModelKind::Small,
        in_channels: 1,
        n_classes: k as i64,
    };
    let m = Model::with_front(spec, Some(front), tch::Device::Cpu, 31).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    tch::no_grad(|| {
        for (name, p) in m.named_tensors().into_iter().take(4) {
            assert!(name.starts_with("pcen."), "{name}");
            // ±0.5 in log / logit space: α, δ, r, s per channel within ~[0.6, 1.6]× the init
            let d: Vec<f32> = (0..f).map(|_| rng.gen_range(-0.5f32..0.5)).collect();
            let _ = p.shallow_clone().g_add_(&tch::Tensor::from_slice(&d));
        }
    });
    let meta = |input| {
        ModelMetadata::new(
            (0..k).map(|i| format!("c{i}")).collect(),
            cfg.clone(),
            NormSpec::from(Normalizer::None),
            "small",
            input,
        )
        .unwrap()
    };
    let feature_model = to_onnx_bytes(&m, &meta(ModelInput::Spectrogram)).unwrap();
    let shape = vec![c.len(), 1, f, t];
    let (_, want) = run(
        &feature_model,
        "spectrogram",
        shape,
        power.clone(),
        "logits",
    );
    let dims = [c.len() as i64, 1, f as i64, t as i64];
    let xt = tch::Tensor::from_slice(&power).reshape(dims);
    let tl: Vec<f32> =
        Vec::try_from(tch::no_grad(|| m.forward_t(&xt, false)).flatten(0, -1)).unwrap();
    let d = compare(&want, &tl, k, "learned PCEN feature model vs tch");
    println!("learned PCEN feature-input model vs tch: max |logit diff| {d:.2e}");
    assert!(d <= LOGIT_TOL, "{d}");
    let wave: Vec<f32> = c.iter().flatten().copied().collect();
    for stft in [StftImpl::Dft, StftImpl::Conv] {
        let wm = to_onnx_bytes(&m, &meta(ModelInput::Waveform { stft })).unwrap();
        let (_, got) = run(
            &wm,
            "waveform",
            vec![c.len(), 5 * SR],
            wave.clone(),
            "logits",
        );
        let d = compare(&got, &want, k, stft.as_str());
        println!(
            "learned PCEN waveform model {}: max |logit diff| {d:.2e}",
            stft.as_str()
        );
        assert!(d <= LOGIT_TOL, "{}: {d}", stft.as_str());
    }
    // Features of another size than the layer's channels are refused at export.
    let mut other = cfg.clone();
    other.spectrogram.stft.n_fft = 200;
    other.spectrogram.stft.win_length = 200;
    let bad = ModelMetadata::new(
        vec!["a".into(); k],
        other,
        NormSpec::from(Normalizer::None),
        "small",
        ModelInput::Spectrogram,
    )
    .unwrap();
    assert!(to_onnx_bytes(&m, &bad).is_err());
}

/// `specnorm-infer` runs a `--frontend` model on audio files (decode + resample outside, the
/// rest in the graph) and agrees with the feature-input model on the same files.
#[test]
fn infer_runs_waveform_models_on_files() {
    use specnorm_infer::Classifier;
    let dir = tempfile::tempdir().unwrap();
    // 44.1 kHz files: the resampling happens outside the graph, in specnorm-infer
    let paths: Vec<std::path::PathBuf> = (0..3)
        .map(|i| {
            let p = dir.path().join(format!("clip{i}.wav"));
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 44_100,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            for n in 0..(44_100 * 5) {
                let t = n as f32 / 44_100.0;
                let v = 0.4 * (std::f32::consts::TAU * (300.0 + 500.0 * i as f32) * t).sin();
                w.write_sample((v * 32767.0) as i16).unwrap();
            }
            w.finalize().unwrap();
            p
        })
        .collect();
    let m = model(4, 3);
    let load = |input, name: &str| {
        let meta = ModelMetadata::new(
            (0..4).map(|i| format!("c{i}")).collect(),
            FeatureConfig::default(),
            NormSpec::from(Normalizer::PerInstance { eps: 1e-6 }),
            "small",
            input,
        )
        .unwrap();
        let path = dir.path().join(name);
        specnorm_export::export_model(&m, &meta, &path).unwrap();
        Classifier::load(&path).unwrap().with_top_k(4)
    };
    let features = load(ModelInput::Spectrogram, "f.onnx");
    let wave = load(
        ModelInput::Waveform {
            stft: StftImpl::Conv,
        },
        "w.onnx",
    );
    assert_eq!(
        wave.input_kind(),
        ModelInput::Waveform {
            stft: StftImpl::Conv
        }
    );
    let a = features.predict_files(&paths);
    let b = wave.predict_files(&paths);
    for (a, b) in a.into_iter().zip(b) {
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.top[0].0, b.top[0].0);
        for ((ca, pa), (cb, pb)) in a.top.iter().zip(&b.top) {
            assert_eq!(ca, cb);
            assert!((pa - pb).abs() < 1e-4, "{pa} vs {pb}");
        }
    }
    // the feature-input entry point refuses a waveform model
    assert!(wave.logits_features(&[0.0; 201], [1, 1, 201, 1]).is_err());
}
