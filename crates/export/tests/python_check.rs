//! Python's `onnx` checker and `onnxruntime` on exported models (issue 13's parity, checked a
//! second way). The test writes the models and their inputs, then runs
//! `crates/export/tests/check_onnxruntime.py` with the interpreter in `SPECNORM_PYTHON`
//! (`cargo xtask test` sets it to `.venv/bin/python`, which has onnx and onnxruntime); without
//! it the Python half is skipped and says so. By hand:
//!
//! ```sh
//! SPECNORM_PYTHON=.venv/bin/python SPECNORM_CHECK_DIR=target/onnx-check \
//!     cargo nextest run -p specnorm-export --test python_check --no-capture
//! ```
//!
//! * `small.onnx`, `xresnet18.onnx`: randomly initialized feature-input models (non-trivial BN
//!   statistics, per-channel normalization), on random dB input `spectrogram.f32`;
//! * `{channel,instance,pcen}_{dft,conv}.onnx`: waveform-input models (the whole front end in the
//!   graph, `--frontend`) on `waveform.f32`, two 5 s clips at 16 kHz, and `pcen_features.onnx`,
//!   PCEN in the graph of a feature-input model, on their power spectrograms `power.f32`.
//!
//! `reference.json` holds, per model, its input file, the input shape and the tch logits of the
//! same network on features from `specnorm-features` normalized by `specnorm-norm`: the parity
//! the Python side checks (max |diff| <= 1e-4, identical argmax).

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use specnorm_export::{export_model, ModelInput, ModelMetadata, StftImpl};
use specnorm_features::{FeatureConfig, FeatureExtractor};
use specnorm_norm::{NormSpec, Normalizer, PcenConfig};
use specnorm_train::{Model, ModelKind, ModelSpec};
use tch::{Device, Tensor};

const F: i64 = 201;
const T: i64 = 401;
const N: i64 = 2;
const CLASSES: i64 = 10;
const SR: usize = 16_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn write_f32(path: &Path, x: &[f32]) -> Result<()> {
    std::fs::write(
        path,
        x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )?;
    Ok(())
}

/// Eval-mode logits of `model` on `x` (`[N, 1, F, T]`), flattened.
fn logits(model: &Model, x: &[f32], f: i64, t: i64) -> Result<Vec<f32>> {
    let xt = Tensor::from_slice(x).reshape([N, 1, f, t]);
    let out = tch::no_grad(|| model.forward_t(&xt, false));
    Ok(Vec::try_from(out.flatten(0, -1))?)
}

/// A model whose BatchNorm layers hold non-trivial weights and running statistics (from
/// training-mode passes over `warm`, normalized inputs `[B, 1, F, T]`).
fn model(kind: ModelKind, rng: &mut ChaCha8Rng, seed: u64, warm: &[Tensor]) -> Result<Model> {
    let spec = ModelSpec {
        kind,
        in_channels: 1,
        n_classes: CLASSES,
    };
    let model = Model::new(spec, Device::Cpu, seed)?;
    tch::no_grad(|| {
        for (name, t) in model.named_tensors() {
            if t.dim() == 1 && name.ends_with(".1.weight") {
                let lo = if name.ends_with("convpath.1.1.weight") {
                    0.05
                } else {
                    0.5
                };
                let v: Vec<f32> = (0..t.numel())
                    .map(|_| rng.gen_range(lo..lo + 0.5))
                    .collect();
                t.shallow_clone().copy_(&Tensor::from_slice(&v));
            }
        }
        for b in warm {
            let _ = model.forward_t(b, true);
        }
    });
    Ok(model)
}

fn meta(
    cfg: &FeatureConfig,
    norm: &Normalizer,
    kind: ModelKind,
    input: ModelInput,
) -> Result<ModelMetadata> {
    Ok(ModelMetadata::new(
        (0..CLASSES).map(|i| format!("class{i}")).collect(),
        cfg.clone(),
        NormSpec::from(norm.clone()),
        kind.as_str(),
        input,
    )?)
}

/// Two 5 s clips at the model rate: tones, a chirp and noise at gains 20 dB apart.
fn clips(rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    (0..N)
        .map(|c| {
            let gain = 10f32.powf(-(c as f32));
            let f0 = rng.gen_range(100.0..3000.0f32);
            let f1 = rng.gen_range(200.0..7000.0f32);
            (0..5 * SR)
                .map(|i| {
                    let t = i as f32 / SR as f32;
                    let tau = std::f32::consts::TAU;
                    let chirp = (tau * (f1 * t + 300.0 * t * t)).sin();
                    let tone = (tau * f0 * t).sin();
                    gain * (0.5 * tone + 0.3 * chirp + 0.05 * rng.gen_range(-1.0..1.0f32))
                })
                .collect()
        })
        .collect()
}

/// `[N, F, T]` features of `clips` (no resampling: they are at the model rate).
fn features(cfg: &FeatureConfig, clips: &[Vec<f32>]) -> Result<Vec<f32>> {
    let fx = FeatureExtractor::new(cfg.clone())?;
    let mut out = Vec::new();
    for c in clips {
        out.extend(fx.extract_samples(c, SR as u32)?.iter().copied());
    }
    Ok(out)
}

/// `x` (`[N, 1, F, T]`) normalized by `norm`, as the graph's prelude does.
fn normalized(norm: &Normalizer, x: &[f32]) -> Result<Vec<f32>> {
    let mut a =
        ndarray::Array4::from_shape_vec((N as usize, 1, F as usize, T as usize), x.to_vec())?;
    norm.encode(a.view_mut())?;
    Ok(a.iter().copied().collect())
}

/// Writes the models, their inputs and `reference.json` into `dir`.
fn write_models(dir: &Path) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut reference = serde_json::Map::new();
    let mut record = |name: &str, input: &str, shape: Vec<i64>, logits: Vec<f32>| {
        reference.insert(
            name.to_string(),
            serde_json::json!({"input": input, "shape": shape, "logits": logits}),
        );
    };

    // Feature-input models on random dB values.
    let mean: Vec<f32> = (0..F).map(|f| -55.0 + 0.05 * f as f32).collect();
    let std: Vec<f32> = (0..F).map(|f| 18.0 - 0.01 * f as f32).collect();
    let m_t = Tensor::from_slice(&mean).reshape([1, 1, F, 1]);
    let s_t = Tensor::from_slice(&std).reshape([1, 1, F, 1]);
    let norm = Normalizer::PerChannel { mean, std };
    let x: Vec<f32> = (0..N * F * T).map(|_| rng.gen_range(-100.0..0.0)).collect();
    write_f32(&dir.join("spectrogram.f32"), &x)?;
    let db = FeatureConfig::default();
    for kind in [ModelKind::Small, ModelKind::XResNet18] {
        let warm = (0..3)
            .map(|_| {
                let b: Vec<f32> = (0..4 * F * 64)
                    .map(|_| rng.gen_range(-100.0..0.0))
                    .collect();
                let b = Tensor::from_slice(&b).reshape([4, 1, F, 64]);
                (b - &m_t) / &s_t
            })
            .collect::<Vec<_>>();
        let m = model(kind, &mut rng, 5, &warm)?;
        export_model(
            &m,
            &meta(&db, &norm, kind, ModelInput::Spectrogram)?,
            &dir.join(format!("{}.onnx", kind.as_str())),
        )?;
        record(
            kind.as_str(),
            "spectrogram.f32",
            vec![N, 1, F, T],
            logits(&m, &normalized(&norm, &x)?, F, T)?,
        );
    }

    // Waveform-input models (front end in the graph) and PCEN, on real-length clips.
    let c = clips(&mut rng);
    let wave: Vec<f32> = c.iter().flatten().copied().collect();
    write_f32(&dir.join("waveform.f32"), &wave)?;
    let db_feats = features(&db, &c)?;
    let mut pcen_cfg = FeatureConfig::default();
    pcen_cfg.spectrogram.scale = specnorm_dsp::Scale::Power;
    let power = features(&pcen_cfg, &c)?;
    write_f32(&dir.join("power.f32"), &power)?;
    let channel = {
        let a = ndarray::Array3::from_shape_vec(
            (N as usize, F as usize, T as usize),
            db_feats.clone(),
        )?;
        let mean = (0..F as usize)
            .map(|i| a.index_axis(ndarray::Axis(1), i).mean().unwrap_or(0.0))
            .collect();
        let std = (0..F as usize)
            .map(|i| a.index_axis(ndarray::Axis(1), i).std(0.0).max(1e-3))
            .collect();
        Normalizer::PerChannel { mean, std }
    };
    let pcen = Normalizer::Pcen(PcenConfig {
        sample_rate: pcen_cfg.sample_rate,
        hop_length: pcen_cfg.spectrogram.stft.hop_length,
        ..PcenConfig::default()
    });
    let cases = [
        ("channel", db.clone(), channel, db_feats.clone()),
        (
            "instance",
            db.clone(),
            Normalizer::PerInstance { eps: 1e-6 },
            db_feats,
        ),
        ("pcen", pcen_cfg, pcen, power),
    ];
    for (i, (name, cfg, norm, feats)) in cases.into_iter().enumerate() {
        let warm_x = normalized(&norm, &feats)?;
        let warm = [Tensor::from_slice(&warm_x).reshape([N, 1, F, T])];
        let m = model(ModelKind::Small, &mut rng, 20 + i as u64, &warm)?;
        let want = logits(&m, &warm_x, F, T)?;
        for stft in [StftImpl::Dft, StftImpl::Conv] {
            let file = format!("{name}_{}", stft.as_str());
            let input = ModelInput::Waveform { stft };
            export_model(
                &m,
                &meta(&cfg, &norm, ModelKind::Small, input)?,
                &dir.join(format!("{file}.onnx")),
            )?;
            record(&file, "waveform.f32", vec![N, 5 * SR as i64], want.clone());
        }
        if name == "pcen" {
            export_model(
                &m,
                &meta(&cfg, &norm, ModelKind::Small, ModelInput::Spectrogram)?,
                &dir.join("pcen_features.onnx"),
            )?;
            record("pcen_features", "power.f32", vec![N, 1, F, T], want.clone());
        }
    }
    std::fs::write(
        dir.join("reference.json"),
        serde_json::to_string(&serde_json::Value::Object(reference))?,
    )?;
    Ok(())
}

#[test]
fn python_onnx_checker_and_onnxruntime_agree_with_tch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("SPECNORM_CHECK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    write_models(&dir).unwrap();
    let n_models = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "onnx"))
        })
        .count();
    assert_eq!(n_models, 9);
    let Some(python) = std::env::var_os("SPECNORM_PYTHON") else {
        println!("SPECNORM_PYTHON is not set: the Python onnx/onnxruntime check is skipped");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check_onnxruntime.py");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ALL OK (9 models)"), "{text}");
}
