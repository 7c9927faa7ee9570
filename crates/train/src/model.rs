//! [`Model`]: fastai's xresnet18 or a small CNN, a VarStore plus the [`LayerDesc`] tree that
//! [`Model::forward_t`] interprets (built in `build`, saved and loaded in `checkpoint`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::layers::{run_layers, run_layers_observed, LayerDesc};
use crate::layout;
use crate::pcen::LearnedPcenConfig;
use crate::TrainError;

/// Which architecture to build (`clap::ValueEnum` with the feature `clap`: `--help` lists the
/// names of [`ModelKind::as_str`] with these descriptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ModelKind {
    /// Small CNN: four `ConvLayer(3x3) + MaxPool(2)` blocks with 16/32/64/128
    /// channels (the first conv has stride 2), global average pooling and a linear head.
    #[cfg_attr(feature = "clap", value(name = "small"))]
    Small,
    /// fastai's `xresnet18` (see the crate docs for the exact structure).
    #[cfg_attr(feature = "clap", value(name = "xresnet18"))]
    XResNet18,
}

impl ModelKind {
    /// Stable lowercase name, used in checkpoint metadata (`"small"`, `"xresnet18"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelKind::Small => "small",
            ModelKind::XResNet18 => "xresnet18",
        }
    }

    /// Inverse of [`ModelKind::as_str`].
    pub fn parse(s: &str) -> Result<ModelKind, TrainError> {
        match s {
            "small" => Ok(ModelKind::Small),
            "xresnet18" => Ok(ModelKind::XResNet18),
            other => Err(TrainError::Checkpoint(format!(
                "unknown model kind {other:?}"
            ))),
        }
    }
}

/// Architecture + input/output sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Architecture.
    pub kind: ModelKind,
    /// Number of input channels (1 for spectrograms).
    pub in_channels: i64,
    /// Number of output classes (logits).
    pub n_classes: i64,
}

/// BatchNorm epsilon (PyTorch / fastai default).
pub const BN_EPS: f64 = 1e-5;
/// BatchNorm running-stat momentum (PyTorch / fastai default).
pub const BN_MOMENTUM: f64 = 0.1;

/// A model: VarStore + structural description.
pub struct Model {
    /// Architecture / sizes.
    pub spec: ModelSpec,
    /// The trainable PCEN front layer in front of the network, if any (its size and initial
    /// values; the learned values are the `pcen.*` tensors).
    pub front: Option<LearnedPcenConfig>,
    /// All variables (trainable parameters and BN running statistics).
    pub vs: VarStore,
    pub(crate) layers: Vec<LayerDesc>,
    /// Handles (sharing storage with `vs`) by full name.
    pub(crate) tensors: HashMap<String, Tensor>,
    /// Names in creation order.
    pub(crate) order: Vec<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("spec", &self.spec)
            .field("front", &self.front)
            .field("device", &self.vs.device())
            .field("n_tensors", &self.order.len())
            .finish()
    }
}

impl Model {
    /// Builds a freshly initialized model (fastai init, see crate docs) on `device`.
    ///
    /// Initialization calls `tch::manual_seed(seed)` and always draws on the CPU, then moves
    /// the variables to `device`, so a seed gives the same initial weights on every device.
    pub fn new(spec: ModelSpec, device: Device, seed: u64) -> Result<Model, TrainError> {
        Model::with_front(spec, None, device, seed)
    }

    /// [`Model::new`] with a trainable PCEN layer ([`LayerDesc::LearnedPcen`]) in front of the
    /// network when `front` is given: the model then takes power spectrograms
    /// `[N, in_channels, front.n_freq, T]`. The network's initial weights are those of
    /// [`Model::new`] with the same seed.
    pub fn with_front(
        spec: ModelSpec,
        front: Option<LearnedPcenConfig>,
        device: Device,
        seed: u64,
    ) -> Result<Model, TrainError> {
        if spec.in_channels < 1 || spec.n_classes < 1 {
            return Err(TrainError::InvalidConfig(format!(
                "in_channels and n_classes must be >= 1, got {spec:?}"
            )));
        }
        if let Some(f) = &front {
            f.validate()?;
        }
        tch::manual_seed(seed as i64);
        let mut vs = VarStore::new(Device::Cpu);
        let (layers, tensors, order) = crate::build::build_model(&spec, front.as_ref(), vs.root());
        if device != Device::Cpu {
            vs.set_device(device);
        }
        // `set_device` swaps the data of the stored variables in place; our handles are
        // shallow clones of the same tensors, so they follow. Re-fetch anyway to be safe.
        let vars = vs.variables();
        let tensors = tensors
            .into_keys()
            .map(|k| {
                let t = vars.get(&k).map(|t| t.shallow_clone()).ok_or_else(|| {
                    TrainError::InvalidConfig(format!("internal: variable {k} missing"))
                })?;
                Ok((k, t))
            })
            .collect::<Result<HashMap<_, _>, TrainError>>()?;
        Ok(Model {
            spec,
            front,
            vs,
            layers,
            tensors,
            order,
        })
    }

    /// Logits `[N, n_classes]` for input `[N, in_channels, H, W]` (already on the model's
    /// device). `train = true` uses batch statistics in BN and updates the running stats.
    ///
    /// Panics (inside libtorch) if the input has the wrong rank/channels; the training
    /// functions of this crate validate shapes before calling it.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        run_layers(&self.layers, &self.tensors, x, train)
    }

    /// [`Model::forward_t`], calling `seen(layer, output)` after every layer.
    pub(crate) fn forward_observed(
        &self,
        x: &Tensor,
        train: bool,
        seen: &mut dyn FnMut(&LayerDesc, &Tensor),
    ) -> Tensor {
        run_layers_observed(&self.layers, &self.tensors, x, train, seen)
    }

    /// The output of the PCEN front layer alone (what the network sees) for the power
    /// spectrogram `x`, or `None` for a model without one.
    pub fn front_output(&self, x: &Tensor) -> Option<Tensor> {
        match self.layers.first() {
            Some(first @ LayerDesc::LearnedPcen { .. }) => Some(run_layers(
                std::slice::from_ref(first),
                &self.tensors,
                x,
                false,
            )),
            _ => None,
        }
    }

    /// The learned values of the PCEN front layer's parameters (α, δ, r, s per channel), or
    /// `None` for a model without one.
    pub fn front_values(&self) -> Result<Option<crate::LearnedPcenValues>, TrainError> {
        let Some(LayerDesc::LearnedPcen { prefix, .. }) = self.layers.first() else {
            return Ok(None);
        };
        let mut v: Vec<Vec<f32>> = Vec::with_capacity(4);
        for name in crate::pcen::param_names(prefix) {
            let t = self.tensors[&name]
                .detach()
                .f_to_device(Device::Cpu)?
                .f_to_kind(tch::Kind::Float)?;
            v.push(Vec::<f32>::try_from(&t)?);
        }
        Ok(Some(crate::LearnedPcenValues::from_stored(
            &v[0], &v[1], &v[2], &v[3],
        )))
    }

    /// Device the variables live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Structural description of `forward_t`, in execution order (see [`LayerDesc`]).
    /// `forward_t` is implemented by interpreting exactly this list.
    pub fn layers(&self) -> &[LayerDesc] {
        &self.layers
    }

    /// All tensors (parameters and BN running stats) with their names, in creation order
    /// (shallow clones sharing storage with the model).
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.order
            .iter()
            .map(|k| (k.clone(), self.tensors[k].shallow_clone()))
            .collect()
    }

    /// Number of trainable scalars (excludes BN running statistics).
    pub fn num_parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    /// Stores every 4-D tensor (the conv weights) in channels-last memory format (`on`) or
    /// the standard contiguous format, in place: the handles, the VarStore and later
    /// gradients follow (libtorch keeps a gradient in its parameter's layout). Values do not
    /// change. Call it before creating an optimizer (its moments copy the parameters' layout).
    ///
    /// Every 4-D tensor gets the exact strides of the format, those of size-1 axes included
    /// (the first conv's `[16, 1, 3, 3]`, 1x1 kernels), as PyTorch's
    /// `model.to(memory_format=torch.channels_last)` does: libtorch picks a convolution's
    /// kernels from those strides (see the `layout` module).
    pub fn set_channels_last(&mut self, on: bool) -> Result<(), TrainError> {
        tch::no_grad(|| {
            for t in self.tensors.values() {
                if t.dim() != 4 {
                    continue;
                }
                let data = if on {
                    if layout::is_channels_last(t) {
                        continue;
                    }
                    layout::channels_last_copy(t)?
                } else {
                    if layout::is_standard(t) {
                        continue;
                    }
                    layout::standard_copy(t)?
                };
                t.shallow_clone().f_set_data(&data)?;
            }
            Ok(())
        })
    }

    /// Whether every 4-D tensor (the conv weights) has the exact channels-last strides
    /// ([`Model::set_channels_last`]).
    pub fn is_channels_last(&self) -> bool {
        self.tensors
            .values()
            .filter(|t| t.dim() == 4)
            .all(layout::is_channels_last)
    }

    /// Trainable parameters with their names, in creation order.
    pub(crate) fn trainable(&self) -> Vec<(String, Tensor)> {
        self.order
            .iter()
            .filter(|k| self.tensors[*k].requires_grad())
            .map(|k| (k.clone(), self.tensors[k].shallow_clone()))
            .collect()
    }
}
