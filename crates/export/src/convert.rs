//! Translation of a [`specnorm_train::Model`]'s structural description
//! ([`specnorm_train::LayerDesc`]) into ONNX nodes.

use std::collections::HashMap;

use specnorm_train::{LayerDesc, Model};
use tch::{Device, Kind, Tensor};

use crate::graph::{fold_batch_norm, GraphBuilder};
use crate::ExportError;

/// The model kind string recorded in the metadata.
pub(crate) fn model_kind(model: &Model) -> String {
    model.spec.kind.as_str().to_string()
}

/// A parameter copied out of libtorch as f32, with its shape.
struct Param {
    dims: Vec<i64>,
    data: Vec<f32>,
}

struct Ctx<'m> {
    tensors: HashMap<String, Tensor>,
    _model: &'m Model,
}

impl Ctx<'_> {
    fn param(&self, name: &str) -> Result<Param, ExportError> {
        let t = self.tensors.get(name).ok_or_else(|| {
            ExportError::Unsupported(format!("the model has no tensor named {name}"))
        })?;
        let err = |source| ExportError::Tensor {
            name: name.to_string(),
            source,
        };
        let t = t
            .f_to_device(Device::Cpu)
            .and_then(|t| t.f_to_kind(Kind::Float))
            .and_then(|t| t.f_contiguous())
            .map_err(err)?;
        let dims = t.size();
        let n = t.numel();
        let mut data = vec![0f32; n];
        t.f_copy_data(&mut data, n).map_err(err)?;
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(ExportError::Unsupported(format!(
                "tensor {name} has a non-finite value at flat index {i}"
            )));
        }
        Ok(Param { dims, data })
    }

    fn expect_dims(&self, name: &str, p: &Param, want: &[i64]) -> Result<(), ExportError> {
        if p.dims == want {
            Ok(())
        } else {
            Err(ExportError::Shape {
                what: name.to_string(),
                detail: format!(
                    "tensor is {:?}, the layer description says {want:?}",
                    p.dims
                ),
            })
        }
    }

    fn bn_params(&self, prefix: &str, channels: i64) -> Result<[Vec<f32>; 4], ExportError> {
        let mut out: [Vec<f32>; 4] = Default::default();
        for (slot, suffix) in out
            .iter_mut()
            .zip(["weight", "bias", "running_mean", "running_var"])
        {
            let name = format!("{prefix}.{suffix}");
            let p = self.param(&name)?;
            self.expect_dims(&name, &p, &[channels])?;
            *slot = p.data;
        }
        Ok(out)
    }
}

/// Prefix of a tensor name without its last component (`"0.0.weight"` → `"0.0"`).
fn prefix_of(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(p, _)| p)
}

/// The per-channel parameters of a [`LayerDesc::LearnedPcen`] layer, from its stored form
/// (`ln α`, `ln δ`, `ln r`, `logit s`, computed back in f64).
fn learned_pcen_params(
    ctx: &Ctx<'_>,
    prefix: &str,
    n_freq: i64,
    eps: f64,
) -> Result<crate::pcen::PcenParams, ExportError> {
    let read = |suffix: &str| -> Result<Vec<f32>, ExportError> {
        let name = format!("{prefix}.{suffix}");
        let p = ctx.param(&name)?;
        ctx.expect_dims(&name, &p, &[n_freq])?;
        Ok(p.data)
    };
    let v = specnorm_train::LearnedPcenValues::from_stored(
        &read("log_gain")?,
        &read("log_bias")?,
        &read("log_power")?,
        &read("logit_smoothing")?,
    );
    let params = crate::pcen::PcenParams {
        gain: v.gain,
        bias: v.bias,
        power: v.power,
        smoothing: v.smoothing,
        eps,
    };
    let all = [&params.gain, &params.bias, &params.power, &params.smoothing];
    if let Some(v) = all
        .iter()
        .flat_map(|v| v.iter())
        .find(|v| !(v.is_finite() && **v > 0.0))
    {
        return Err(ExportError::Unsupported(format!(
            "learned PCEN {prefix}: parameter value {v} is not finite and > 0"
        )));
    }
    Ok(params)
}

/// Appends the network after value `x`; returns `(logits, n_outputs)`.
pub(crate) fn append_network(
    g: &mut GraphBuilder,
    model: &Model,
    x: &str,
) -> Result<(String, usize), ExportError> {
    let ctx = Ctx {
        tensors: model.named_tensors().into_iter().collect(),
        _model: model,
    };
    let (y, width) = append_layers(
        g,
        &ctx,
        model.layers(),
        x,
        Width::Channels(model.spec.in_channels),
    )?;
    match width {
        Width::Features(n) => {
            let n =
                usize::try_from(n).map_err(|_| ExportError::Unsupported(format!("{n} outputs")))?;
            Ok((y, n))
        }
        Width::Channels(_) => Err(ExportError::Unsupported(
            "the model does not end in a Linear layer".into(),
        )),
    }
}

/// What the current value is: a 4-D map with C channels or a 2-D feature matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Width {
    Channels(i64),
    Features(i64),
}

fn want_channels(w: Width, c: i64, what: &str) -> Result<(), ExportError> {
    if w == Width::Channels(c) {
        Ok(())
    } else {
        Err(ExportError::Shape {
            what: what.to_string(),
            detail: format!("expects {c} input channels, the previous layer gives {w:?}"),
        })
    }
}

fn append_layers(
    g: &mut GraphBuilder,
    ctx: &Ctx<'_>,
    layers: &[LayerDesc],
    x: &str,
    mut width: Width,
) -> Result<(String, Width), ExportError> {
    let mut cur = x.to_string();
    let mut i = 0;
    while i < layers.len() {
        match &layers[i] {
            LayerDesc::Conv2d {
                weight,
                bias,
                in_ch,
                out_ch,
                kernel,
                stride,
                padding,
            } => {
                want_channels(width, *in_ch, weight)?;
                let w = ctx.param(weight)?;
                ctx.expect_dims(weight, &w, &[*out_ch, *in_ch, *kernel, *kernel])?;
                let b = match bias {
                    Some(name) => {
                        let p = ctx.param(name)?;
                        ctx.expect_dims(name, &p, &[*out_ch])?;
                        Some(p.data)
                    }
                    None => None,
                };
                let c_out = usize::try_from(*out_ch).map_err(|_| ExportError::Shape {
                    what: weight.clone(),
                    detail: format!("out_ch {out_ch}"),
                })?;
                // Fold a directly following BatchNorm2d into this conv.
                let (w_data, b_data) = match layers.get(i + 1) {
                    Some(LayerDesc::BatchNorm2d {
                        prefix,
                        channels,
                        eps,
                        ..
                    }) if channels == out_ch => {
                        let [gamma, beta, mean, var] = ctx.bn_params(prefix, *channels)?;
                        i += 1;
                        let (w2, b2) = fold_batch_norm(
                            &w.data,
                            c_out,
                            b.as_deref(),
                            &gamma,
                            &beta,
                            &mean,
                            &var,
                            *eps,
                        )?;
                        (w2, Some(b2))
                    }
                    _ => (w.data, b),
                };
                let base = prefix_of(weight);
                let w_name = g.initializer_f32(&format!("{base}.weight"), &w.dims, &w_data)?;
                let b_name = match &b_data {
                    Some(b) => Some(g.initializer_f32(&format!("{base}.bias"), &[*out_ch], b)?),
                    None => None,
                };
                cur = g.conv(
                    &cur,
                    &w_name,
                    b_name.as_deref(),
                    [*kernel, *kernel],
                    [*stride, *stride],
                    [*padding, *padding],
                    [1, 1],
                    1,
                    base,
                );
                width = Width::Channels(*out_ch);
            }
            LayerDesc::BatchNorm2d {
                prefix,
                channels,
                eps,
                ..
            } => {
                // A batch norm not preceded by a conv: emit it as an affine map
                // (folded to scale/shift in f64) via BatchNormalization.
                want_channels(width, *channels, prefix)?;
                let [gamma, beta, mean, var] = ctx.bn_params(prefix, *channels)?;
                let c = [*channels];
                let names = [
                    g.initializer_f32(&format!("{prefix}.weight"), &c, &gamma)?,
                    g.initializer_f32(&format!("{prefix}.bias"), &c, &beta)?,
                    g.initializer_f32(&format!("{prefix}.running_mean"), &c, &mean)?,
                    g.initializer_f32(&format!("{prefix}.running_var"), &c, &var)?,
                ];
                let inputs = [
                    cur.as_str(),
                    names[0].as_str(),
                    names[1].as_str(),
                    names[2].as_str(),
                    names[3].as_str(),
                ];
                cur = g.node(
                    "BatchNormalization",
                    &inputs,
                    prefix,
                    vec![crate::graph::attr_float("epsilon", *eps as f32)],
                );
            }
            LayerDesc::Relu => cur = g.relu(&cur),
            LayerDesc::MaxPool2d {
                kernel,
                stride,
                padding,
                ceil_mode,
            } => {
                cur = g.max_pool(
                    &cur,
                    [*kernel, *kernel],
                    [*stride, *stride],
                    [*padding, *padding],
                    *ceil_mode,
                    &format!("{cur}_maxpool"),
                );
            }
            LayerDesc::AvgPool2d {
                kernel,
                stride,
                padding,
                ceil_mode,
                count_include_pad,
            } => {
                // PyTorch divides a window by its extent clipped to the
                // padded input; with no padding that is the in-bounds count,
                // i.e. ONNX count_include_pad = 0 (which also handles the
                // partial windows that ceil_mode adds). With padding and
                // ceil_mode the two conventions differ at the far border.
                let include = if *padding == 0 {
                    false
                } else if *ceil_mode && *count_include_pad {
                    return Err(ExportError::Unsupported(
                        "AvgPool2d with padding, ceil_mode and count_include_pad".into(),
                    ));
                } else {
                    *count_include_pad
                };
                cur = g.average_pool(
                    &cur,
                    [*kernel, *kernel],
                    [*stride, *stride],
                    [*padding, *padding],
                    *ceil_mode,
                    include,
                    &format!("{cur}_avgpool"),
                );
            }
            LayerDesc::GlobalAvgPool => cur = g.global_average_pool(&cur, "pooled"),
            LayerDesc::Flatten => {
                let Width::Channels(c) = width else {
                    return Err(ExportError::Unsupported("Flatten of a 2-D value".into()));
                };
                cur = g.flatten(&cur, 1, "flat");
                width = Width::Features(c);
            }
            LayerDesc::Linear {
                weight,
                bias,
                in_features,
                out_features,
            } => {
                if width != Width::Features(*in_features) {
                    return Err(ExportError::Shape {
                        what: weight.clone(),
                        detail: format!(
                            "Linear expects {in_features} features, the previous layer gives {width:?}"
                        ),
                    });
                }
                let w = ctx.param(weight)?;
                ctx.expect_dims(weight, &w, &[*out_features, *in_features])?;
                let b = ctx.param(bias)?;
                ctx.expect_dims(bias, &b, &[*out_features])?;
                let w_name = g.initializer_f32(weight, &w.dims, &w.data)?;
                let b_name = g.initializer_f32(bias, &b.dims, &b.data)?;
                cur = g.gemm_trans_b(&cur, &w_name, &b_name);
                width = Width::Features(*out_features);
            }
            LayerDesc::LearnedPcen {
                prefix,
                n_freq,
                eps,
            } => {
                let Width::Channels(_) = width else {
                    return Err(ExportError::Unsupported("PCEN of a 2-D value".into()));
                };
                cur = crate::pcen::append_pcen_params(
                    g,
                    &learned_pcen_params(ctx, prefix, *n_freq, *eps)?,
                    &cur,
                )?;
            }
            LayerDesc::Residual { path, shortcut } => {
                let (a, wa) = append_layers(g, ctx, path, &cur, width)?;
                let (b, wb) = if shortcut.is_empty() {
                    (cur.clone(), width)
                } else {
                    append_layers(g, ctx, shortcut, &cur, width)?
                };
                if wa != wb {
                    return Err(ExportError::Shape {
                        what: "residual".into(),
                        detail: format!("path gives {wa:?}, shortcut gives {wb:?}"),
                    });
                }
                cur = g.add(&a, &b, &format!("{a}_res"));
                width = wa;
            }
        }
        i += 1;
    }
    Ok((cur, width))
}
