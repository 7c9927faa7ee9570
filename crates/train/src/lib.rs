//! specnorm-train: trains fastai's `xresnet18` (and a small CNN) on already normalized
//! spectrogram features with libtorch (tch), reproducing fastai's `Learner.fit_one_cycle`. It
//! never reads audio or computes features: it reads samples from a [`BatchSource`], either
//! [`InMemoryData`] (all in memory, one length), [`RaggedData`] (in memory, each sample its own
//! length) or a source that fills each batch on demand (the experiment's memory-mapped feature
//! cache, normalized per batch).
//!
//! # Samples of their own lengths
//!
//! A source whose samples differ in frames ([`BatchSource::frames`]) is trained on batches of
//! similar lengths (fastai's `SortedDL` order: pieces of [`SORTISH_BATCHES`] batches sorted by
//! length, the batches shuffled) padded to their longest sample (at least the model's minimum,
//! 32 frames for the small CNN),
//! with zeros after each sample's last frame: zero is the normalized features' mean for a
//! normalization with statistics, the clip's own mean after per-instance normalization, and
//! silence for a power spectrogram. Evaluation groups the samples by length, so that each
//! one's prediction is what it would be alone (padded only to the model's minimum), whatever
//! the batch size: the same prediction the exported ONNX model gives it.
//!
//! ```
//! use specnorm_train::{fit_one_cycle, InMemoryData, Model, ModelKind, ModelSpec, TrainConfig};
//! # fn main() -> Result<(), specnorm_train::TrainError> {
//! // 8 samples of [1, 32, 32]; class = whether the top half is brighter.
//! let (n, h, w) = (8, 32, 32);
//! let mut x = Vec::new();
//! let mut y = Vec::new();
//! for i in 0..n {
//!     let c = (i % 2) as i64;
//!     for r in 0..h {
//!         for _ in 0..w {
//!             x.push(if (r < h / 2) == (c == 1) { 1.0 } else { -1.0 });
//!         }
//!     }
//!     y.push(c);
//! }
//! let data = InMemoryData::new(x, [n, 1, h, w], y)?;
//! let spec = ModelSpec { kind: ModelKind::Small, in_channels: 1, n_classes: 2 };
//! let cfg = TrainConfig { epochs: 2, batch_size: 4, device: tch::Device::Cpu, threads: Some(1), ..TrainConfig::default() };
//! let mut model = Model::new(spec, cfg.device, cfg.seed)?;
//! let history = fit_one_cycle(&mut model, &data, &data, &cfg, &mut |m| println!("{m:?}"))?;
//! assert_eq!(history.epochs.len(), 2);
//! assert!(history.epochs.iter().all(|e| e.valid_loss.is_finite()));
//! # Ok(())
//! # }
//! ```
//!
//! # Models
//!
//! Both models are built from fastai v2 building blocks (`fastai.layers.ConvLayer`,
//! `ResBlock`, `fastai.vision.models.xresnet.XResNet`):
//!
//! * `ConvLayer(ni, nf, ks, stride)` = `Conv2d(ni, nf, ks, stride, padding=(ks-1)/2, bias=False)`
//!   → `BatchNorm2d(nf)` (eps 1e-5, momentum 0.1) → `ReLU` (optional).
//! * **xresnet18** (`ModelKind::XResNet18`): stem `ConvLayer(c_in,32,s2)`, `ConvLayer(32,32)`,
//!   `ConvLayer(32,64)`; `MaxPool2d(3, 2, padding 1)`; 4 stages × 2 `ResBlock`s with
//!   64/128/256/512 channels (first block of stages 2–4 has stride 2); `AdaptiveAvgPool2d(1)`,
//!   `Flatten`, (`Dropout(p=0)` = identity, omitted), `Linear(512, n_classes)`.
//!   `ResBlock(ni, nf, stride)`: `convpath` = `ConvLayer(ni,nf,3,stride)` →
//!   `ConvLayer(nf,nf,3, act=None, BN weight init 0)`; `idpath` = `AvgPool2d(2, ceil_mode=True)`
//!   (only when stride 2; pooled *before* the conv) → `ConvLayer(ni,nf,1, act=None)` (only when
//!   `ni != nf`); output `ReLU(convpath(x) + idpath(x))`.
//!   11,200,298 parameters for `c_in = 1, n_out = 10` (asserted in the tests).
//! * **small** (`ModelKind::Small`): 4 × [`ConvLayer(3x3)` → `MaxPool2d(2)`] with 16/32/64/128
//!   channels (the first ConvLayer has stride 2, to keep CPU training of [1, 201, 401] inputs
//!   within minutes), `AdaptiveAvgPool2d(1)`, `Flatten`, `Linear(128, n_classes)` (98,037 parameters
//!   for 5 classes). Needs inputs of at least 32×32.
//! * Init as fastai: `init_cnn` → kaiming-normal (fan-in, gain √2) for every conv and linear
//!   weight, biases 0; BatchNorm weight 1 (0 for the second BN of each ResBlock,
//!   `NormType.BatchZero`), **BatchNorm bias 1e-3** (fastai's `_get_norm`); running mean 0,
//!   running var 1. Initialization is drawn on the CPU after `tch::manual_seed(seed)`.
//!
//! Forward equivalence with a PyTorch rebuild of those fastai modules (same state-dict names) is
//! tested in eval and train mode on odd input sizes (`tests/golden.rs`,
//! `data/fixtures/gen_train.py`).
//!
//! # Tensor naming (for the ONNX exporter)
//!
//! Names are exactly PyTorch's `state_dict()` keys of the fastai `nn.Sequential` (minus
//! `num_batches_tracked`), so fastai weights map 1:1. Every ConvLayer at prefix `P` owns
//! `P.0.weight` (conv, `[nf, ni, k, k]`) and `P.1.{weight,bias,running_mean,running_var}` (BN,
//! `[nf]` each). Linear layers own `P.weight` `[out, in]` and `P.bias` `[out]`.
//!
//! * xresnet18: stem ConvLayers `0`, `1`, `2`; (`3` = MaxPool); stages `4`–`7`, blocks `S.0`,
//!   `S.1`; in block `B`: `B.convpath.0`, `B.convpath.1` (ConvLayers), shortcut ConvLayer
//!   `B.idpath.1` when the block has stride 2 (index 0 is the AvgPool) — i.e. `5.0.idpath.1`,
//!   `6.0.idpath.1`, `7.0.idpath.1`; no stage-1 block has an idpath conv. (`8` pool, `9` flatten,
//!   `10` dropout), head `11.weight`, `11.bias`.
//! * small: ConvLayers `0`, `2`, `4`, `6` (odd indices are the MaxPools), head `10.weight`,
//!   `10.bias`.
//!
//! [`Model::named_tensors`] lists all tensors (parameters and BN running stats) in that
//! state-dict order; [`Model::layers`] returns the [`LayerDesc`] tree (conv with
//! stride/padding, BN with eps, ReLU, max/avg pool with ceil_mode, global avg pool, flatten,
//! linear, residual add) **which `forward_t` interprets** — so an exporter that walks it
//! reproduces `forward_t` exactly. BN at inference uses the running statistics.
//!
//! # Training (fastai `fit_one_cycle`)
//!
//! * Schedule ([`OneCycle`]): fastai `combined_cos(0.25, lr/25, lr, lr/1e5)` for the learning
//!   rate and `combined_cos(0.25, 0.95, 0.85, 0.95)` for the momentum, evaluated at
//!   `step / total_steps` before each step (with fastai's float32 phase arithmetic).
//! * Optimizer ([`AdamW`]): fastai's `Adam` (β1 = scheduled momentum, β2 = 0.99, ε = 1e-5,
//!   dampened first moment, debias with the *current* β1) with decoupled ("true") weight decay
//!   `p *= 1 - lr·wd`, implemented over the trainable variables with no-grad tensor ops.
//!   As fastai v2's `Learner` default `wd_bn_bias=False`, BatchNorm weights/biases and all
//!   biases get no weight decay (fastai v1's `bn_wd=True` differed).
//! * Loss: cross-entropy, or fastai `LabelSmoothingCrossEntropy` when `label_smoothing > 0`.
//!   MixUp as fastai v2's `MixUp(alpha)`: one λ ~ Beta(α, α) *per sample*, λ = max(λ, 1−λ),
//!   partner = random permutation of the batch, `x = lerp(x_perm, x, λ)`,
//!   `loss = mean(lerp(loss(y_perm), loss(y), λ))`; validation is without mixup.
//! * Batches: per-epoch shuffle from a ChaCha8 RNG seeded with `seed` (also used for MixUp);
//!   the last incomplete training batch is dropped (fastai's `drop_last` for the training
//!   loader) unless the set is smaller than one batch. The training and validation sets are
//!   uploaded to the device once per run when they are held in memory and fit
//!   ([`DataPlacement`]; the epoch's shuffled order is uploaded once per epoch and batches are
//!   gathered on the device with `index_select`), else each batch is filled by the source into
//!   one reused host buffer and copied.
//! * Optional channels-last memory format ([`TrainConfig::channels_last`]): the conv weights
//!   and the inputs get NHWC strides, so libtorch (oneDNN on CPU, cuDNN on CUDA) runs its
//!   channels-last kernels; values are the same.
//! * Reported `train_loss` is fastai's smoothed loss (EMA β = 0.98, debiased), `valid_loss`
//!   the mean per-sample validation loss, `accuracy` the validation accuracy.
//! * Deterministic on CPU for a given seed and thread count (tested).
//!
//! # Deviations from fastai / the blog
//!
//! * The blog builds its learner with `cnn_learner(dls, xresnet18, config=cnn_config(n_in=1))`,
//!   which replaces the xresnet head with fastai's `create_head` (concat pooling, BN, dropout,
//!   two linear layers). Here the plain xresnet18 head (`AdaptiveAvgPool → Flatten → Linear`)
//!   is used, as specified for this project.
//! * Random streams differ from PyTorch's (shuffling and MixUp use ChaCha8, not torch's RNG), so
//!   runs are not bit-identical to a fastai run with the same seed.
//! * `lr_find` stops at the first non-finite smoothed loss instead of recording it; it
//!   returns the points fastai plots (first 10% and last 5 dropped) and the `valley` suggestion.
//! * fastai accumulates `pct_train += 1/total` in floating point; we use `step/total`
//!   (differences are below f32 resolution of the schedule position).
#![deny(missing_docs)]

mod batches;
mod build;
mod checkpoint;
mod config;
mod data;
mod eval;
mod layers;
mod layout;
mod lr_find;
mod model;
mod optim;
mod pcen;
mod ragged;
mod source;
mod train;

pub use batches::{DataPlacement, AUTO_RESIDENT_MAX_BYTES, UPLOAD_CHUNK};
pub use config::{EpochMetrics, History, TrainConfig};
pub use data::InMemoryData;
pub use eval::evaluate;
pub use layers::LayerDesc;
pub use lr_find::{lr_find, valley, LrFind};
pub use model::{Model, ModelKind, ModelSpec, BN_EPS, BN_MOMENTUM};
pub use optim::{AdamW, OneCycle};
pub use pcen::{learned_pcen, LearnedPcenConfig, LearnedPcenValues};
pub use ragged::RaggedData;
pub use source::{
    check_fill_buffer, check_fill_frames, pad_frames_in_place, BatchSource, CHECK_CHUNK,
};
pub use train::{fit_one_cycle, SORTISH_BATCHES};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Data does not match the model or is malformed.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// Invalid hyper-parameter / spec.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// Error reported by libtorch.
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
    /// File system error.
    #[error("io error on {path}: {source}")]
    Io {
        /// File concerned.
        path: std::path::PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Malformed / incompatible checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A [`BatchSource`] could not produce a sample (reading or normalizing it failed).
    #[error("{sample}: {source}")]
    Source {
        /// The sample ([`BatchSource::sample_name`]: a file, for a source reading files).
        sample: String,
        /// Underlying error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Loss became non-finite (learning rate too high?).
    #[error("training diverged: {0}")]
    Diverged(String),
}

/// `Cuda(0)` when CUDA is available, else `Cpu`.
pub fn default_device() -> tch::Device {
    tch::Device::cuda_if_available()
}
