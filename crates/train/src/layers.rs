//! [`LayerDesc`], the structural description of a model, and its interpreter: the forward
//! pass *is* a walk over this tree, so the description handed to the ONNX exporter is, by
//! construction, what `forward_t` computes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tch::Tensor;

/// One node of the structural description of a model, in execution order.
///
/// Tensor names are the full VarStore / checkpoint / [`Model::named_tensors`](crate::Model::named_tensors) names.
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
        /// Epsilon ([`BN_EPS`](crate::BN_EPS)).
        eps: f64,
        /// Running-stat momentum ([`BN_MOMENTUM`](crate::BN_MOMENTUM); irrelevant at inference).
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
    /// Trainable PCEN of a power spectrogram (see [`LearnedPcenConfig`](crate::LearnedPcenConfig)
    /// for the formula): shape-preserving, per-frequency parameters (axis 2). Tensors are
    /// `{prefix}.log_gain`, `{prefix}.log_bias`, `{prefix}.log_power` and
    /// `{prefix}.logit_smoothing`, `[n_freq]` each.
    LearnedPcen {
        /// Name prefix (`"pcen"`).
        prefix: String,
        /// Frequency channels F.
        n_freq: i64,
        /// Floor added to the smoothed energy.
        eps: f64,
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

pub(crate) fn run_layers(
    layers: &[LayerDesc],
    t: &HashMap<String, Tensor>,
    x: &Tensor,
    train: bool,
) -> Tensor {
    run_layers_observed(layers, t, x, train, &mut |_, _| {})
}

/// [`run_layers`], calling `seen(layer, output)` after every layer (inside residual blocks
/// too, then for the block itself): the memory-format diagnostics look at each activation.
pub(crate) fn run_layers_observed(
    layers: &[LayerDesc],
    t: &HashMap<String, Tensor>,
    x: &Tensor,
    train: bool,
    seen: &mut dyn FnMut(&LayerDesc, &Tensor),
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
            LayerDesc::LearnedPcen { prefix, eps, .. } => {
                let [g, b, p, s] = crate::pcen::param_names(prefix);
                crate::pcen::learned_pcen(&cur, get(&g), get(&b), get(&p), get(&s), *eps)
            }
            LayerDesc::Residual { path, shortcut } => {
                let a = run_layers_observed(path, t, &cur, train, seen);
                let b = if shortcut.is_empty() {
                    cur
                } else {
                    run_layers_observed(shortcut, t, &cur, train, seen)
                };
                a + b
            }
        };
        seen(layer, &cur);
    }
    cur
}
