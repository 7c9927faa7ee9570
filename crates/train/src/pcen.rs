//! A trainable PCEN front layer (Wang et al. 2017, "Trainable frontend for robust and far-field
//! keyword spotting"): `librosa.pcen` with per-frequency-channel parameters that are learned
//! with the network. Each parameter is stored through a transform that keeps it in its range:
//!
//! | parameter | stored as | range |
//! |---|---|---|
//! | gain α | `log_gain = ln α` | α > 0 |
//! | bias δ | `log_bias = ln δ` | δ > 0 |
//! | power r | `log_power = ln r` | r > 0 |
//! | smoothing s | `logit_smoothing = ln(s / (1 - s))` | 0 < s < 1 (a stable smoother) |
//!
//! On a power spectrogram `E` (`[N, C, F, T]`, time last) the layer computes, per channel `f`,
//!
//! ```text
//! M[t] = (1 - s) M[t-1] + s E[t],  M[-1] = 1          (librosa's initial state zi = 1 - s)
//! G    = exp(-α (ln eps + ln1p(M / eps)))             (= (eps + M)^-α)
//! out  = δ^r expm1(r ln1p(E G / δ))                   (= (E G + δ)^r - δ^r)
//! ```
//!
//! which is `specnorm_norm::pcen` (the `power > 0, bias > 0` branch) when every channel has the
//! same parameters; initialized from a `PcenConfig` it equals the fixed PCEN (tested). The
//! smoother is computed in blocks of frames (`smooth`), differentiable in `s`.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::TrainError;

/// Size and initial values of a [`crate::LayerDesc::LearnedPcen`] layer (librosa's defaults are
/// gain 0.98, bias 2, power 0.5, eps 1e-6 and the smoothing of a 0.4 s time constant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedPcenConfig {
    /// Frequency channels F (the input's axis 2); every parameter has F values.
    pub n_freq: i64,
    /// Initial gain exponent α (> 0).
    pub gain: f64,
    /// Initial bias δ (> 0).
    pub bias: f64,
    /// Initial compression exponent r (> 0).
    pub power: f64,
    /// Initial smoothing coefficient s of the IIR smoother (0 < s < 1).
    pub smoothing: f64,
    /// Floor added to the smoothed energy (> 0; fixed, not learned).
    pub eps: f64,
}

impl LearnedPcenConfig {
    /// Checks the ranges (the transforms of the module table need them).
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what: &str, v: f64| {
            Err(TrainError::InvalidConfig(format!(
                "learned PCEN: {what} = {v} is out of range"
            )))
        };
        if self.n_freq < 1 {
            return bad("n_freq", self.n_freq as f64);
        }
        for (name, v) in [
            ("gain", self.gain),
            ("bias", self.bias),
            ("power", self.power),
            ("eps", self.eps),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, v);
            }
        }
        if !(self.smoothing > 0.0 && self.smoothing < 1.0) {
            return bad("smoothing", self.smoothing);
        }
        Ok(())
    }

    /// The initial stored values `[ln α, ln δ, ln r, logit s]`.
    pub(crate) fn stored_init(&self) -> [f64; 4] {
        let s = self.smoothing;
        [
            self.gain.ln(),
            self.bias.ln(),
            self.power.ln(),
            (s / (1.0 - s)).ln(),
        ]
    }
}

/// Frames per block of [`smooth`].
const BLOCK: i64 = 32;

/// The smoother `M[t] = (1 - s) M[t-1] + s E[t]`, `M[-1] = 1`, of `x` `[N, C, F, T]` along
/// time with per-channel `s` `[F]`, exactly (up to the order of the additions), in blocks of
/// [`BLOCK`] frames: inside a block `M[t0 + j] = a^(j+1) M[t0 - 1] + Σ_{k<=j} s a^(j-k) E[t0 + k]`
/// (`a = 1 - s`), one `einsum` with an `[F, L, L]` lower-triangular kernel for all blocks at
/// once, then a loop over the blocks carries `M[t0 - 1]` (T / 32 steps instead of T: the
/// frame-by-frame loop of `lerp`s cost 0.72 s per forward + backward of a `[64, 1, 201, 401]`
/// batch on 2 cores, see `examples/pcen_layer.rs`). Differentiable in `s` and `x`.
fn smooth(x: &Tensor, s: &Tensor) -> Tensor {
    let size = x.size();
    let (n, c, f, t) = (size[0], size[1], size[2], size[3]);
    let l = BLOCK.min(t.max(1));
    let blocks = (t + l - 1) / l;
    let e = x
        .constant_pad_nd([0, blocks * l - t])
        .view([n, c, f, blocks, l]);
    let opts = (x.kind(), x.device());
    let log_a = s.neg().log1p(); // ln(1 - s), [F]
    let j = Tensor::arange(l, opts);
    let lag = j.view([l, 1]) - j.view([1, l]); // j - k
    let lower = lag.ge(0.0).to_kind(x.kind());
    // kernel[f, j, k] = s a^(j-k) for k <= j, else 0
    let kernel = (log_a.view([f, 1, 1]) * lag.clamp_min(0.0).view([1, l, l])).exp()
        * s.view([f, 1, 1])
        * lower.view([1, l, l]);
    let inner = Tensor::einsum("ncfbk,fjk->ncfbj", &[&e, &kernel], None::<i64>);
    // the previous block's last value decays as a^(j+1)
    let decay = (log_a.view([f, 1]) * (j + 1.0).view([1, l]))
        .exp()
        .view([1, 1, f, l]);
    let mut prev = Tensor::ones([n, c, f, 1], opts);
    let mut out = Vec::with_capacity(blocks as usize);
    for b in 0..blocks {
        let m = inner.select(3, b) + &decay * &prev;
        prev = m.narrow(3, l - 1, 1);
        out.push(m);
    }
    Tensor::cat(&out, 3).narrow(3, 0, t)
}

/// A layer's parameters in their natural form, one value per frequency channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedPcenValues {
    /// Gain exponents α.
    pub gain: Vec<f64>,
    /// Biases δ.
    pub bias: Vec<f64>,
    /// Compression exponents r.
    pub power: Vec<f64>,
    /// Smoothing coefficients s.
    pub smoothing: Vec<f64>,
}

impl LearnedPcenValues {
    /// The values from the stored tensors (`ln α`, `ln δ`, `ln r`, `logit s`), in f64: the
    /// inverse transforms of the module table.
    pub fn from_stored(
        log_gain: &[f32],
        log_bias: &[f32],
        log_power: &[f32],
        logit_smoothing: &[f32],
    ) -> Self {
        let exp = |v: &[f32]| v.iter().map(|&x| f64::from(x).exp()).collect();
        Self {
            gain: exp(log_gain),
            bias: exp(log_bias),
            power: exp(log_power),
            smoothing: logit_smoothing
                .iter()
                .map(|&z| 1.0 / (1.0 + (-f64::from(z)).exp()))
                .collect(),
        }
    }
}

/// The names of the four parameter tensors of a layer at `prefix`, in the order of the module
/// table (gain, bias, power, smoothing).
pub(crate) fn param_names(prefix: &str) -> [String; 4] {
    ["log_gain", "log_bias", "log_power", "logit_smoothing"].map(|n| format!("{prefix}.{n}"))
}

/// The layer's forward pass on the power spectrogram `x` `[N, C, F, T]` with the stored
/// parameters (each `[F]`, any float kind matching `x`): the formula of the module docs, the
/// smoother blocked as in [`smooth`]. Panics (inside libtorch) when the shapes disagree.
pub fn learned_pcen(
    x: &Tensor,
    log_gain: &Tensor,
    log_bias: &Tensor,
    log_power: &Tensor,
    logit_smoothing: &Tensor,
    eps: f64,
) -> Tensor {
    let f = log_gain.size()[0];
    let col = |p: &Tensor| p.view([1, 1, f, 1]);
    let m = smooth(x, &logit_smoothing.sigmoid());
    let gain = ((&m / eps).log1p() + eps.ln()) * col(log_gain).exp().neg();
    let eg = x * gain.exp();
    let r = col(log_power).exp();
    let compressed = (&r * (eg / col(log_bias).exp()).log1p()).expm1();
    compressed * (r * col(log_bias)).exp()
}
