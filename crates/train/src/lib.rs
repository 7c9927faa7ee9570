//! specnorm-train: trains fastai's xresnet18 (and a small CNN) on in-memory spectrograms
//! with libtorch (tch), reproducing fastai's `fit_one_cycle`.
#![deny(missing_docs)]

mod model;
mod optim;
mod train;

pub use model::{LayerDesc, Model, ModelKind, ModelSpec, BN_EPS, BN_MOMENTUM};
pub use optim::{AdamW, OneCycle};
pub use train::{
    evaluate, fit_one_cycle, lr_find, valley, EpochMetrics, History, InMemoryData, LrFind,
    TrainConfig,
};

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
    /// Loss became non-finite (learning rate too high?).
    #[error("training diverged: {0}")]
    Diverged(String),
}

/// `Cuda(0)` when CUDA is available, else `Cpu`.
pub fn default_device() -> tch::Device {
    tch::Device::cuda_if_available()
}
