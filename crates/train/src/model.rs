//! Model definitions: fastai's xresnet18 and a small CNN, both described by a
//! [`LayerDesc`] tree that is *interpreted* by [`Model::forward_t`], so that the
//! description handed to the ONNX exporter is, by construction, the forward pass.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::{Init, VarStore};
use tch::{Device, Kind, Tensor};

use crate::TrainError;

/// Which architecture to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    /// Small CNN: four `ConvLayer(3x3) + MaxPool(2)` blocks with 16/32/64/128
    /// channels (the first conv has stride 2), global average pooling and a linear head.
    Small,
    /// fastai's `xresnet18` (see the crate docs for the exact structure).
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

/// One node of the structural description of a model, in execution order.
///
/// Tensor names are the full VarStore / checkpoint / [`Model::named_tensors`] names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerDesc {
    /// `y = conv2d(x, weight, bias, stride, padding)` (square kernel, dilation 1, groups 1).
    Conv2d {
        /// Weight tensor name, shape `[out_ch, in_ch, kernel, kernel]`.
        weight: String,
        /// Bias tensor name (always `None` in these models: convs are followed by BN).
        bias: Option<String>,
        /// Input channels.
        in_ch: i64,
        /// Output channels.
        out_ch: i64,
        /// Kernel size.
        kernel: i64,
        /// Stride (both axes).
        stride: i64,
        /// Zero padding (both axes, both sides).
        padding: i64,
    },
    /// `BatchNorm2d`: `y = (x - running_mean) / sqrt(running_var + eps) * weight + bias` at inference.
    /// Tensors are `{prefix}.weight`, `{prefix}.bias`, `{prefix}.running_mean`, `{prefix}.running_var`.
    BatchNorm2d {
        /// Name prefix (e.g. `"0.1"`).
        prefix: String,
        /// Number of channels.
        channels: i64,
        /// Epsilon ([`BN_EPS`]).
        eps: f64,
        /// Running-stat momentum ([`BN_MOMENTUM`]; irrelevant at inference).
        momentum: f64,
    },
    /// Element-wise `max(x, 0)`.
    Relu,
    /// `MaxPool2d(kernel, stride, padding)`, dilation 1; padding is -inf padding.
    MaxPool2d {
        /// Kernel size.
        kernel: i64,
        /// Stride.
        stride: i64,
        /// Padding.
        padding: i64,
        /// ceil_mode.
        ceil_mode: bool,
    },
    /// `AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad)`.
    /// With `padding == 0` and `ceil_mode`, partial windows at the border are averaged over
    /// the in-bounds elements only (PyTorch semantics).
    AvgPool2d {
        /// Kernel size.
        kernel: i64,
        /// Stride.
        stride: i64,
        /// Padding.
        padding: i64,
        /// ceil_mode.
        ceil_mode: bool,
        /// count_include_pad.
        count_include_pad: bool,
    },
    /// `AdaptiveAvgPool2d(1)`: mean over the two spatial axes, keeps `[N, C, 1, 1]`.
    GlobalAvgPool,
    /// `[N, C, 1, 1] -> [N, C]` (flatten from axis 1).
    Flatten,
    /// `y = x @ weight^T + bias`.
    Linear {
        /// Weight tensor name, shape `[out_features, in_features]`.
        weight: String,
        /// Bias tensor name, shape `[out_features]`.
        bias: String,
        /// Input features.
        in_features: i64,
        /// Output features.
        out_features: i64,
    },
    /// `y = path(x) + shortcut(x)`; an empty `shortcut` is the identity. (The ReLU after
    /// the add is a separate, following [`LayerDesc::Relu`].)
    Residual {
        /// Main (conv) path.
        path: Vec<LayerDesc>,
        /// Identity path (possibly empty).
        shortcut: Vec<LayerDesc>,
    },
}

/// A model: VarStore + structural description.
pub struct Model {
    /// Architecture / sizes.
    pub spec: ModelSpec,
    /// All variables (trainable parameters and BN running statistics).
    pub vs: VarStore,
    layers: Vec<LayerDesc>,
    /// Handles (sharing storage with `vs`) by full name.
    tensors: HashMap<String, Tensor>,
    /// Names in creation order.
    order: Vec<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("spec", &self.spec)
            .field("device", &self.vs.device())
            .field("n_tensors", &self.order.len())
            .finish()
    }
}

/// What follows the conv of a fastai ConvLayer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// BN (weight 1) + ReLU.
    Relu,
    /// BN (weight 1), no activation.
    NoAct,
    /// BN with zero-initialized weight (`NormType.BatchZero`), no activation.
    ZeroBn,
}

/// Builder that creates variables under a path and records the description.
struct Builder<'a> {
    root: tch::nn::Path<'a>,
    tensors: HashMap<String, Tensor>,
    order: Vec<String>,
}

fn kaiming_normal() -> Init {
    // std = sqrt(2 / fan_in), fan_in = in_ch * k * k (PyTorch's kaiming_normal_ defaults).
    Init::Kaiming {
        dist: tch::nn::init::NormalOrUniform::Normal,
        fan: tch::nn::init::FanInOut::FanIn,
        non_linearity: tch::nn::init::NonLinearity::ReLU,
    }
}

impl<'a> Builder<'a> {
    fn path(&self, name: &str) -> tch::nn::Path<'a> {
        let mut p = self.root.clone();
        for part in name.split('.') {
            p = p.sub(part);
        }
        p
    }

    fn record(&mut self, full: String, t: Tensor) {
        self.order.push(full.clone());
        self.tensors.insert(full, t);
    }

    fn var(&mut self, prefix: &str, name: &str, dims: &[i64], init: Init) -> String {
        let t = self.path(prefix).var(name, dims, init);
        let full = format!("{prefix}.{name}");
        self.record(full.clone(), t);
        full
    }

    fn buffer(&mut self, prefix: &str, name: &str, dims: &[i64], one: bool) -> String {
        let p = self.path(prefix);
        let t = if one {
            p.ones_no_train(name, dims)
        } else {
            p.zeros_no_train(name, dims)
        };
        let full = format!("{prefix}.{name}");
        self.record(full.clone(), t);
        full
    }

    /// fastai `ConvLayer(ni, nf, ks, stride)` = Sequential(conv (no bias), BN, [ReLU]) at `prefix`:
    /// conv is `{prefix}.0`, BN is `{prefix}.1`.
    fn conv_layer(
        &mut self,
        prefix: &str,
        ni: i64,
        nf: i64,
        ks: i64,
        stride: i64,
        tail: Tail,
    ) -> Vec<LayerDesc> {
        let zero_bn = tail == Tail::ZeroBn;
        let act = tail == Tail::Relu;
        let cp = format!("{prefix}.0");
        let weight = self.var(&cp, "weight", &[nf, ni, ks, ks], kaiming_normal());
        let bp = format!("{prefix}.1");
        self.var(
            &bp,
            "weight",
            &[nf],
            Init::Const(if zero_bn { 0.0 } else { 1.0 }),
        );
        self.var(&bp, "bias", &[nf], Init::Const(1e-3));
        self.buffer(&bp, "running_mean", &[nf], false);
        self.buffer(&bp, "running_var", &[nf], true);
        let mut out = vec![
            LayerDesc::Conv2d {
                weight,
                bias: None,
                in_ch: ni,
                out_ch: nf,
                kernel: ks,
                stride,
                padding: (ks - 1) / 2,
            },
            LayerDesc::BatchNorm2d {
                prefix: bp,
                channels: nf,
                eps: BN_EPS,
                momentum: BN_MOMENTUM,
            },
        ];
        if act {
            out.push(LayerDesc::Relu);
        }
        out
    }

    fn linear(&mut self, prefix: &str, ni: i64, nf: i64) -> LayerDesc {
        let weight = self.var(prefix, "weight", &[nf, ni], kaiming_normal());
        let bias = self.var(prefix, "bias", &[nf], Init::Const(0.0));
        LayerDesc::Linear {
            weight,
            bias,
            in_features: ni,
            out_features: nf,
        }
    }

    /// fastai `ResBlock(expansion=1, ni, nf, stride)` at `prefix`.
    fn res_block(&mut self, prefix: &str, ni: i64, nf: i64, stride: i64) -> Vec<LayerDesc> {
        let mut path = self.conv_layer(
            &format!("{prefix}.convpath.0"),
            ni,
            nf,
            3,
            stride,
            Tail::Relu,
        );
        path.extend(self.conv_layer(&format!("{prefix}.convpath.1"), nf, nf, 3, 1, Tail::ZeroBn));
        let mut shortcut = Vec::new();
        // fastai: idpath = [AvgPool(stride, ceil_mode=True)] (index 0, pool_first) + [ConvLayer(ni, nf, 1, act=None)].
        let conv_idx = if stride != 1 {
            shortcut.push(LayerDesc::AvgPool2d {
                kernel: stride,
                stride,
                padding: 0,
                ceil_mode: true,
                count_include_pad: true,
            });
            1
        } else {
            0
        };
        if ni != nf {
            shortcut.extend(self.conv_layer(
                &format!("{prefix}.idpath.{conv_idx}"),
                ni,
                nf,
                1,
                1,
                Tail::NoAct,
            ));
        }
        vec![LayerDesc::Residual { path, shortcut }, LayerDesc::Relu]
    }
}

fn build(spec: &ModelSpec, b: &mut Builder<'_>) -> Vec<LayerDesc> {
    let mut layers = Vec::new();
    let n = spec.n_classes;
    match spec.kind {
        ModelKind::XResNet18 => {
            // nn.Sequential indices as in fastai's XResNet.
            let stem = [spec.in_channels, 32, 32, 64];
            for i in 0..3 {
                let stride = if i == 0 { 2 } else { 1 };
                layers.extend(b.conv_layer(
                    &i.to_string(),
                    stem[i],
                    stem[i + 1],
                    3,
                    stride,
                    Tail::Relu,
                ));
            }
            layers.push(LayerDesc::MaxPool2d {
                kernel: 3,
                stride: 2,
                padding: 1,
                ceil_mode: false,
            });
            let szs = [64, 64, 128, 256, 512];
            for stage in 0..4 {
                for blk in 0..2 {
                    let ni = if blk == 0 { szs[stage] } else { szs[stage + 1] };
                    let stride = if stage > 0 && blk == 0 { 2 } else { 1 };
                    let prefix = format!("{}.{}", 4 + stage, blk);
                    layers.extend(b.res_block(&prefix, ni, szs[stage + 1], stride));
                }
            }
            layers.push(LayerDesc::GlobalAvgPool);
            layers.push(LayerDesc::Flatten);
            // index 10 is nn.Dropout(p=0.0): identity, omitted.
            layers.push(b.linear("11", 512, n));
        }
        ModelKind::Small => {
            let chans = [spec.in_channels, 16, 32, 64, 128];
            for i in 0..4 {
                layers.extend(b.conv_layer(
                    &(2 * i).to_string(),
                    chans[i],
                    chans[i + 1],
                    3,
                    if i == 0 { 2 } else { 1 },
                    Tail::Relu,
                ));
                layers.push(LayerDesc::MaxPool2d {
                    kernel: 2,
                    stride: 2,
                    padding: 0,
                    ceil_mode: false,
                });
            }
            layers.push(LayerDesc::GlobalAvgPool);
            layers.push(LayerDesc::Flatten);
            layers.push(b.linear("10", 128, n));
        }
    }
    layers
}

fn run_layers(
    layers: &[LayerDesc],
    t: &HashMap<String, Tensor>,
    x: &Tensor,
    train: bool,
) -> Tensor {
    // Names were all created by `build`, so lookups cannot fail.
    let get = |name: &str| -> &Tensor { &t[name] };
    let mut cur = x.shallow_clone();
    for layer in layers {
        cur = match layer {
            LayerDesc::Conv2d {
                weight,
                bias,
                stride,
                padding,
                ..
            } => cur.conv2d(
                get(weight),
                bias.as_deref().map(get),
                [*stride, *stride],
                [*padding, *padding],
                [1, 1],
                1,
            ),
            LayerDesc::BatchNorm2d {
                prefix,
                eps,
                momentum,
                ..
            } => Tensor::batch_norm(
                &cur,
                Some(get(&format!("{prefix}.weight"))),
                Some(get(&format!("{prefix}.bias"))),
                Some(get(&format!("{prefix}.running_mean"))),
                Some(get(&format!("{prefix}.running_var"))),
                train,
                *momentum,
                *eps,
                true,
            ),
            LayerDesc::Relu => cur.relu_(),
            LayerDesc::MaxPool2d {
                kernel,
                stride,
                padding,
                ceil_mode,
            } => cur.max_pool2d(
                [*kernel, *kernel],
                [*stride, *stride],
                [*padding, *padding],
                [1, 1],
                *ceil_mode,
            ),
            LayerDesc::AvgPool2d {
                kernel,
                stride,
                padding,
                ceil_mode,
                count_include_pad,
            } => cur.avg_pool2d(
                [*kernel, *kernel],
                [*stride, *stride],
                [*padding, *padding],
                *ceil_mode,
                *count_include_pad,
                None,
            ),
            LayerDesc::GlobalAvgPool => cur.adaptive_avg_pool2d([1, 1]),
            LayerDesc::Flatten => cur.flatten(1, -1),
            LayerDesc::Linear { weight, bias, .. } => cur.linear(get(weight), Some(get(bias))),
            LayerDesc::Residual { path, shortcut } => {
                let a = run_layers(path, t, &cur, train);
                let b = if shortcut.is_empty() {
                    cur
                } else {
                    run_layers(shortcut, t, &cur, train)
                };
                a + b
            }
        };
    }
    cur
}

const META_KIND: &str = "specnorm.model.kind";
const META_IN: &str = "specnorm.model.in_channels";
const META_N: &str = "specnorm.model.n_classes";

impl Model {
    /// Builds a freshly initialized model (fastai init, see crate docs) on `device`.
    ///
    /// Initialization calls `tch::manual_seed(seed)` and always draws on the CPU, then moves
    /// the variables to `device`, so a seed gives the same initial weights on every device.
    pub fn new(spec: ModelSpec, device: Device, seed: u64) -> Result<Model, TrainError> {
        if spec.in_channels < 1 || spec.n_classes < 1 {
            return Err(TrainError::InvalidConfig(format!(
                "in_channels and n_classes must be >= 1, got {spec:?}"
            )));
        }
        tch::manual_seed(seed as i64);
        let mut vs = VarStore::new(Device::Cpu);
        let (layers, tensors, order) = {
            let mut b = Builder {
                root: vs.root(),
                tensors: HashMap::new(),
                order: Vec::new(),
            };
            let layers = build(&spec, &mut b);
            (layers, b.tensors, b.order)
        };
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

    /// Trainable parameters with their names, in creation order.
    pub(crate) fn trainable(&self) -> Vec<(String, Tensor)> {
        self.order
            .iter()
            .filter(|k| self.tensors[*k].requires_grad())
            .map(|k| (k.clone(), self.tensors[k].shallow_clone()))
            .collect()
    }

    /// Saves all tensors as f32 safetensors, atomically ([`specnorm_atomic::write`]: a
    /// temporary sibling, synced, then renamed). The metadata holds the caller's entries plus
    /// `specnorm.model.kind`, `specnorm.model.in_channels`, `specnorm.model.n_classes` (these
    /// win on key clashes).
    pub fn save(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), TrainError> {
        let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(self.order.len());
        for name in &self.order {
            let t = self.tensors[name]
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous();
            let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
            let n = t.numel();
            let mut v = vec![0f32; n];
            t.f_copy_data(&mut v, n)?;
            let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
            owned.push((name.clone(), shape, bytes));
        }
        let mut views = Vec::with_capacity(owned.len());
        for (name, shape, bytes) in &owned {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
            views.push((name.clone(), view));
        }
        let mut meta: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        meta.insert(META_KIND.into(), self.spec.kind.as_str().into());
        meta.insert(META_IN.into(), self.spec.in_channels.to_string());
        meta.insert(META_N.into(), self.spec.n_classes.to_string());
        let buf = safetensors::serialize(views, Some(meta))
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        if path.file_name().is_none() {
            return Err(TrainError::Checkpoint(format!(
                "not a file path: {}",
                path.display()
            )));
        }
        specnorm_atomic::write(path, &buf).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Loads a checkpoint written by [`Model::save`] onto `device`; returns the model and the
    /// full metadata map.
    pub fn load(
        path: &Path,
        device: Device,
    ) -> Result<(Model, BTreeMap<String, String>), TrainError> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let ck = |e: safetensors::SafeTensorError| TrainError::Checkpoint(e.to_string());
        let (_, md) = safetensors::SafeTensors::read_metadata(&bytes).map_err(ck)?;
        let meta: BTreeMap<String, String> = md
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let field = |k: &str| {
            meta.get(k)
                .ok_or_else(|| TrainError::Checkpoint(format!("metadata key {k} missing")))
        };
        let kind = ModelKind::parse(field(META_KIND)?)?;
        let parse_i = |k: &str| -> Result<i64, TrainError> {
            field(k)?
                .parse::<i64>()
                .map_err(|e| TrainError::Checkpoint(format!("{k}: {e}")))
        };
        let spec = ModelSpec {
            kind,
            in_channels: parse_i(META_IN)?,
            n_classes: parse_i(META_N)?,
        };
        let model = Model::new(spec, device, 0)?;
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(ck)?;
        for name in &model.order {
            let view = st.tensor(name).map_err(ck)?;
            let dst = &model.tensors[name];
            let want: Vec<usize> = dst.size().iter().map(|&d| d as usize).collect();
            if view.dtype() != safetensors::Dtype::F32 || view.shape() != want.as_slice() {
                return Err(TrainError::Checkpoint(format!(
                    "tensor {name}: expected f32 {want:?}, found {:?} {:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            let vals: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let src = Tensor::from_slice(&vals)
                .reshape(dst.size())
                .to_device(device);
            let mut d = dst.shallow_clone();
            tch::no_grad(|| d.f_copy_(&src))?;
        }
        if st.names().len() != model.order.len() {
            return Err(TrainError::Checkpoint(format!(
                "checkpoint has {} tensors, model {} expects {}",
                st.names().len(),
                spec.kind.as_str(),
                model.order.len()
            )));
        }
        Ok((model, meta))
    }
}
