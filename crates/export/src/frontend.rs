//! The feature front end as ONNX nodes: a mono waveform `[N, S]` at the model's sample rate
//! in, the features `[N, 1, F, T]` of [`specnorm_features::FeatureExtractor`] out, in the same
//! order (waveform normalization on the clip's own samples, pad / trim to the fixed duration,
//! centered STFT, `|X|^power`, mel, dB / ln). Resampling stays outside the graph.
//!
//! Two STFTs ([`StftImpl`]): the ONNX `STFT` operator (opset 17), and `Conv` with windowed
//! cosine and sine kernels `[2F, 1, n_fft]` at stride `hop` (runs on every execution provider;
//! ONNX Runtime has no CUDA `STFT`/`DFT` kernel).

use specnorm_contract::StftImpl;
use specnorm_dsp::{try_mel_filterbank, window, PadMode, Scale, StftConfig, DB_AMIN};
use specnorm_features::FeatureConfig;

use crate::graph::{attr_int, attr_ints, attr_string, GraphBuilder, TensorShape};
use crate::onnx::{ModelProto, OperatorSetIdProto};
use crate::{ExportError, IR_VERSION, OPSET};

/// Name of the output of [`front_end_model`].
pub const FEATURES_OUTPUT: &str = "features";

fn i64_of(v: usize, what: &str) -> Result<i64, ExportError> {
    i64::try_from(v).map_err(|_| ExportError::Meta(format!("{what} = {v} is too large")))
}

/// `(x - mean) / std` per row of `[N, S]`, Bessel-corrected std; a row whose std is 0 is
/// divided by 1 (as `specnorm_audio::normalize_waveform`).
fn waveform_norm(g: &mut GraphBuilder, x: &str) -> Result<String, ExportError> {
    let mean = g.node(
        "ReduceMean",
        &[x],
        "wave_mean",
        vec![attr_ints("axes", &[1]), attr_int("keepdims", 1)],
    );
    let c = g.sub(x, &mean, "wave_centered");
    let ss = g.node(
        "ReduceSumSquare",
        &[&c],
        "wave_ss",
        vec![attr_ints("axes", &[1]), attr_int("keepdims", 1)],
    );
    let n = g.node(
        "Shape",
        &[x],
        "wave_len",
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let n = g.node("Cast", &[&n], "wave_len_f", vec![attr_int("to", 1)]);
    let one = g.scalar_f32("wave_one", 1.0)?;
    let n1 = g.sub(&n, &one, "wave_len_m1");
    let var = g.div(&ss, &n1, "wave_var");
    let std = g.node("Sqrt", &[&var], "wave_std", vec![]);
    let zero = g.scalar_f32("wave_zero", 0.0)?;
    let ok = g.node("Greater", &[&std, &zero], "wave_std_ok", vec![]);
    let std = g.node("Where", &[&ok, &std, &one], "wave_std_safe", vec![]);
    Ok(g.div(&c, &std, "wave_normalized"))
}

/// Zero-pads or trims `[N, S]` to `[N, len]` (at the end, as `specnorm_audio::pad_or_trim`).
fn pad_or_trim(g: &mut GraphBuilder, x: &str, len: i64) -> Result<String, ExportError> {
    let n = g.node(
        "Shape",
        &[x],
        "fixed_cur_len",
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let target = g.ints("fixed_len", &[len])?;
    let missing = g.sub(&target, &n, "fixed_missing");
    let zero = g.ints("fixed_zero", &[0])?;
    let missing = g.node("Max", &[&missing, &zero], "fixed_pad", vec![]);
    let head = g.ints("fixed_pads_head", &[0, 0, 0])?;
    let pads = g.node(
        "Concat",
        &[&head, &missing],
        "fixed_pads",
        vec![attr_int("axis", 0)],
    );
    let padded = g.node("Pad", &[x, &pads], "fixed_padded", vec![]);
    let starts = g.ints("fixed_starts", &[0])?;
    let axes = g.ints("fixed_axes", &[1])?;
    Ok(g.node(
        "Slice",
        &[&padded, &starts, &target, &axes],
        "fixed_waveform",
        vec![],
    ))
}

/// `n_fft / 2` samples of reflect (or zero) padding on both sides.
fn center(g: &mut GraphBuilder, x: &str, st: &StftConfig) -> Result<String, ExportError> {
    let p = i64_of(st.pad(), "n_fft / 2")?;
    let pads = g.ints("center_pads", &[0, p, 0, p])?;
    let mode = match st.pad_mode {
        PadMode::Reflect => "reflect",
        PadMode::Constant => "constant",
    };
    Ok(g.node(
        "Pad",
        &[x, &pads],
        "centered",
        vec![attr_string("mode", mode)],
    ))
}

/// The periodic window of `win_length`, centered in `n_fft` zeros (torch `stft`).
fn padded_window(st: &StftConfig) -> Vec<f32> {
    let mut w = vec![0.0f32; st.n_fft];
    let left = (st.n_fft - st.win_length) / 2;
    w[left..left + st.win_length].copy_from_slice(&window(st.window, st.win_length));
    w
}

/// `|X|^2` `[N, F, T]` with the ONNX `STFT` operator. The operator runs in float64: ONNX
/// Runtime's float32 kernel computes its twiddle factors from float32 angles (errors up to
/// ~1e-4 relative at n_fft 400, 0.2 dB on bins 80 dB below a frame's peak); in float64 the
/// result, rounded to float32, matches an FFT.
fn power_dft(g: &mut GraphBuilder, x: &str, st: &StftConfig) -> Result<String, ExportError> {
    let x64 = g.node("Cast", &[x], "stft_signal_f64", vec![attr_int("to", 11)]);
    let axes = g.ints("stft_signal_axes", &[2])?;
    let signal = g.node("Unsqueeze", &[&x64, &axes], "stft_signal", vec![]);
    let step = g.initializer_i64("stft_hop", &[], &[i64_of(st.hop_length, "hop_length")?])?;
    let w: Vec<f64> = padded_window(st).into_iter().map(f64::from).collect();
    let win = g.initializer_f64("stft_window", &[i64_of(st.n_fft, "n_fft")?], &w)?;
    let len = g.initializer_i64("stft_frame_length", &[], &[i64_of(st.n_fft, "n_fft")?])?;
    // [N, T, F, 2]
    let y = g.node(
        "STFT",
        &[&signal, &step, &win, &len],
        "stft",
        vec![attr_int("onesided", 1)],
    );
    let sq = g.mul(&y, &y, "stft_sq");
    let last = g.ints("stft_complex_axis", &[3])?;
    let p = g.node(
        "ReduceSum",
        &[&sq, &last],
        "stft_power_tf64",
        vec![attr_int("keepdims", 0)],
    );
    let p = g.node("Cast", &[&p], "stft_power_tf", vec![attr_int("to", 1)]);
    Ok(g.node(
        "Transpose",
        &[&p],
        "stft_power",
        vec![attr_ints("perm", &[0, 2, 1])],
    ))
}

/// The `Conv` kernels `[2F, 1, n_fft]`: `w[n] cos(2 pi k n / n_fft)` for `k < F`, then
/// `-w[n] sin(2 pi k n / n_fft)` (computed in f64).
pub fn dft_kernels(st: &StftConfig) -> Vec<f32> {
    let (n_fft, f) = (st.n_fft, st.n_freqs());
    let w = padded_window(st);
    let mut k = Vec::with_capacity(2 * f * n_fft);
    for part in 0..2 {
        for bin in 0..f {
            for (n, &wn) in w.iter().enumerate() {
                // reduce k n mod n_fft first so the angle stays exact
                let phase = ((bin * n) % n_fft) as f64 / n_fft as f64;
                let a = std::f64::consts::TAU * phase;
                let v = if part == 0 { a.cos() } else { -a.sin() };
                k.push((f64::from(wn) * v) as f32);
            }
        }
    }
    k
}

/// `|X|^2` `[N, F, T]` with `Conv` (windowed DFT kernels).
fn power_conv(g: &mut GraphBuilder, x: &str, st: &StftConfig) -> Result<String, ExportError> {
    let f = i64_of(st.n_freqs(), "n_freqs")?;
    let n_fft = i64_of(st.n_fft, "n_fft")?;
    let axes = g.ints("stft_channel_axis", &[1])?;
    let x3 = g.node("Unsqueeze", &[x, &axes], "stft_frames_in", vec![]);
    let w = g.initializer_f32("stft_kernels", &[2 * f, 1, n_fft], &dft_kernels(st))?;
    let y = g.node(
        "Conv",
        &[&x3, &w],
        "stft_conv",
        vec![
            attr_ints("dilations", &[1]),
            attr_int("group", 1),
            attr_ints("kernel_shape", &[n_fft]),
            attr_ints("pads", &[0, 0]),
            attr_ints("strides", &[i64_of(st.hop_length, "hop_length")?]),
        ],
    );
    let sq = g.mul(&y, &y, "stft_sq");
    let shape = g.ints("stft_split", &[0, 2, f, -1])?;
    let parts = g.node("Reshape", &[&sq, &shape], "stft_re_im", vec![]);
    Ok(g.node(
        "ReduceSum",
        &[&parts, &axes],
        "stft_power",
        vec![attr_int("keepdims", 0)],
    ))
}

/// Appends the front end of `cfg` after the waveform `x` (`[N, S]`, mono, at
/// `cfg.sample_rate`) and returns the features `[N, 1, F, T]`.
pub fn append_front_end(
    g: &mut GraphBuilder,
    cfg: &FeatureConfig,
    stft: StftImpl,
    x: &str,
) -> Result<String, ExportError> {
    let st = &cfg.spectrogram.stft;
    cfg.spectrogram
        .validate(cfg.sample_rate)
        .map_err(|e| ExportError::Meta(format!("feature config: {e}")))?;
    let mut cur = x.to_string();
    if cfg.waveform_norm {
        cur = waveform_norm(g, &cur)?;
    }
    if let Some(len) = cfg.target_len() {
        cur = pad_or_trim(g, &cur, i64_of(len, "clip length")?)?;
    }
    if st.center {
        cur = center(g, &cur, st)?;
    }
    let power = match stft {
        StftImpl::Dft => power_dft(g, &cur, st)?,
        StftImpl::Conv => power_conv(g, &cur, st)?,
    };
    // |X|^p = (|X|^2)^(p / 2)
    let mag = if st.power == 2.0 {
        power
    } else if st.power == 1.0 {
        g.node("Sqrt", &[&power], "stft_magnitude", vec![])
    } else {
        let e = g.scalar_f32("stft_exponent", st.power / 2.0)?;
        g.node("Pow", &[&power, &e], "stft_magnitude", vec![])
    };
    let axes = g.ints("spec_channel_axis", &[1])?;
    let mut spec = g.node("Unsqueeze", &[&mag, &axes], "spectrogram_power", vec![]);
    if let Some(mel) = &cfg.spectrogram.mel {
        let fb = try_mel_filterbank(st.n_freqs(), cfg.sample_rate, mel)
            .map_err(|e| ExportError::Meta(format!("mel filterbank: {e}")))?;
        // [F, M] -> [M, F], so MatMul(fb, [N, 1, F, T]) = [N, 1, M, T]
        let t = fb.t();
        let data: Vec<f32> = t.iter().copied().collect();
        let (m, f) = (i64_of(t.nrows(), "n_mels")?, i64_of(t.ncols(), "n_freqs")?);
        let fb = g.initializer_f32("mel_filterbank", &[m, f], &data)?;
        spec = g.node("MatMul", &[&fb, &spec], "mel", vec![]);
    }
    Ok(match cfg.spectrogram.scale {
        Scale::Power => spec,
        Scale::Db { top_db } => {
            let floor = g.scalar_f32("db_amin", DB_AMIN)?;
            let x = g.node("Max", &[&spec, &floor], "db_clamped", vec![]);
            let ln = g.node("Log", &[&x], "db_ln", vec![]);
            let m = (20.0 / f64::from(st.power)) / std::f64::consts::LN_10;
            let m = g.scalar_f32("db_multiplier", m as f32)?;
            let db = g.mul(&ln, &m, "db");
            match top_db {
                None => db,
                Some(t) => {
                    let mx = g.node(
                        "ReduceMax",
                        &[&db],
                        "db_max",
                        vec![attr_ints("axes", &[2, 3]), attr_int("keepdims", 1)],
                    );
                    let t = g.scalar_f32("db_top", t)?;
                    let lo = g.sub(&mx, &t, "db_floor");
                    g.node("Max", &[&db, &lo], "db_top_clamped", vec![])
                }
            }
        }
        Scale::Ln { eps } => {
            let floor = g.scalar_f32("ln_eps", eps)?;
            let x = g.node("Max", &[&spec, &floor], "ln_clamped", vec![]);
            g.node("Log", &[&x], "ln", vec![])
        }
    })
}

/// The front end alone as a model: input `waveform` `[N, S]`, output [`FEATURES_OUTPUT`]
/// `[N, 1, F, T]` (for parity checks, or to run the features in ONNX Runtime).
pub fn front_end_model(cfg: &FeatureConfig, stft: StftImpl) -> Result<ModelProto, ExportError> {
    let mut g = GraphBuilder::new("specnorm_front_end");
    let x = g.input_f32(
        specnorm_contract::keys::graph::WAVEFORM_INPUT,
        TensorShape::named(&[None, None], &["N", "S"]),
    );
    let y = append_front_end(&mut g, cfg, stft, &x)?;
    g.output_f32(
        &y,
        FEATURES_OUTPUT,
        TensorShape::named(&[None, Some(1), None, None], &["N", "", "F", "T"]),
    );
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("specnorm".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(g.finish()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        ..Default::default()
    })
}
