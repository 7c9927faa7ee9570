//! Construction of the two architectures (fastai's `ConvLayer`, `ResBlock`, `XResNet` and the
//! small CNN): creates the variables with fastai's initialization and records the
//! [`LayerDesc`] tree.

use std::collections::HashMap;

use tch::nn::Init;
use tch::Tensor;

use crate::layers::LayerDesc;
use crate::model::{ModelKind, ModelSpec, BN_EPS, BN_MOMENTUM};
use crate::pcen::LearnedPcenConfig;

/// Name prefix of the learned PCEN front layer's tensors.
pub(crate) const PCEN_PREFIX: &str = "pcen";

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

/// Creates the variables of `spec` (after those of the `front` layer, if any) under `root`
/// (in creation order); returns the layer tree, the tensor handles by full name and the names
/// in creation order. The front layer's constant initialization draws no random numbers, so
/// a seed gives the network the same initial weights with or without it.
pub(crate) fn build_model(
    spec: &ModelSpec,
    front: Option<&LearnedPcenConfig>,
    root: tch::nn::Path<'_>,
) -> (Vec<LayerDesc>, HashMap<String, Tensor>, Vec<String>) {
    let mut b = Builder {
        root,
        tensors: HashMap::new(),
        order: Vec::new(),
    };
    let mut layers = Vec::new();
    if let Some(p) = front {
        let names = crate::pcen::param_names(PCEN_PREFIX);
        for (full, init) in names.iter().zip(p.stored_init()) {
            let name = &full[PCEN_PREFIX.len() + 1..];
            b.var(PCEN_PREFIX, name, &[p.n_freq], Init::Const(init));
        }
        layers.push(LayerDesc::LearnedPcen {
            prefix: PCEN_PREFIX.to_string(),
            n_freq: p.n_freq,
            eps: p.eps,
        });
    }
    layers.extend(build(spec, &mut b));
    (layers, b.tensors, b.order)
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
