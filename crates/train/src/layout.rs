//! Memory formats of 4-D tensors `[N, C, H, W]`: the standard (NCHW) strides
//! `[CHW, HW, W, 1]` and the channels-last (NHWC) strides `[HWC, 1, WC, C]`.
//!
//! libtorch picks a convolution's kernels from the strides of its input and weight
//! (`suggest_memory_format`: channels-last when either of them suggests it), and that check
//! reads every stride, those of size-1 axes included. A tensor with one channel (the first
//! conv's weight `[16, 1, 3, 3]`, a spectrogram batch `[B, 1, F, T]`) or a 1x1 kernel has
//! its elements in the same order in both formats, so `is_contiguous(ChannelsLast)` is true
//! for its standard strides, yet libtorch suggests the standard format for it. Such a tensor
//! must get the exact channels-last strides (PyTorch's `Module.to(memory_format=
//! torch.channels_last)` gives them), or the layer runs its NCHW kernels and the next one
//! converts.

use tch::{TchError, Tensor};

/// The channels-last strides of a tensor of size `s` (`[N, C, H, W]`): `[HWC, 1, WC, C]`.
fn channels_last_strides(s: &[i64]) -> [i64; 4] {
    [s[1] * s[2] * s[3], 1, s[1] * s[3], s[1]]
}

/// The standard (row-major) strides of a tensor of size `s` (`[N, C, H, W]`).
fn contiguous_strides(s: &[i64]) -> [i64; 4] {
    [s[1] * s[2] * s[3], s[2] * s[3], s[3], 1]
}

/// Whether `t` is 4-D with exactly the channels-last strides `[HWC, 1, WC, C]` (size-1
/// axes included): what libtorch's kernels then run in.
pub(crate) fn is_channels_last(t: &Tensor) -> bool {
    let s = t.size();
    s.len() == 4 && t.stride() == channels_last_strides(&s)
}

/// Whether `t` is 4-D with exactly the standard strides `[CHW, HW, W, 1]`.
pub(crate) fn is_standard(t: &Tensor) -> bool {
    let s = t.size();
    s.len() == 4 && t.stride() == contiguous_strides(&s)
}

/// Whether the elements of the 4-D tensor `t` lie in memory in NHWC order without gaps
/// (strides of size-1 axes ignored, as in libtorch's `is_contiguous(ChannelsLast)`).
fn is_nhwc_ordered(t: &Tensor) -> bool {
    let (s, st) = (t.size(), t.stride());
    if s.len() != 4 {
        return false;
    }
    let mut expect = 1;
    for d in [1, 3, 2, 0] {
        if s[d] != 1 && st[d] != expect {
            return false;
        }
        expect *= s[d];
    }
    true
}

/// `t` (`[N, C, H, W]`) with the channels-last strides, same values: `t` itself when it has
/// them, a view with those strides when its elements are already in NHWC order (one
/// channel, 1x1 spatial size: no copy), else a channels-last copy. Not for parameters
/// (see [`channels_last_copy`]).
pub(crate) fn channels_last(t: &Tensor) -> Result<Tensor, TchError> {
    if is_channels_last(t) {
        Ok(t.shallow_clone())
    } else if is_nhwc_ordered(t) {
        let s = t.size();
        t.f_as_strided(s.as_slice(), channels_last_strides(&s), t.storage_offset())
    } else {
        channels_last_copy(t)
    }
}

/// A fresh tensor with the values of the 4-D `t` and the channels-last strides.
pub(crate) fn channels_last_copy(t: &Tensor) -> Result<Tensor, TchError> {
    let s = t.size();
    let mut d = Tensor::f_empty_strided(
        s.as_slice(),
        channels_last_strides(&s),
        (t.kind(), t.device()),
    )?;
    d.f_copy_(t)?;
    Ok(d)
}

/// A fresh tensor with the values of the 4-D `t` and the standard strides (`contiguous()`
/// would keep the strides of size-1 axes).
pub(crate) fn standard_copy(t: &Tensor) -> Result<Tensor, TchError> {
    let s = t.size();
    let mut d =
        Tensor::f_empty_strided(s.as_slice(), contiguous_strides(&s), (t.kind(), t.device()))?;
    d.f_copy_(t)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn one_channel_and_1x1_get_exact_channels_last_strides() {
        for size in [[16i64, 1, 3, 3], [64, 32, 1, 1], [2, 3, 4, 5], [2, 1, 5, 7]] {
            let t = Tensor::randn(size, (Kind::Float, Device::Cpu));
            assert!(is_standard(&t), "{size:?}");
            let c = channels_last(&t).expect("channels-last");
            assert!(is_channels_last(&c), "{size:?}: {:?}", c.stride());
            assert_eq!(c.stride(), channels_last_strides(&size));
            assert!(c.equal(&t), "{size:?}: values");
            let p = channels_last_copy(&t).expect("copy");
            assert!(is_channels_last(&p) && p.equal(&t), "{size:?}");
            let b = standard_copy(&c).expect("back");
            assert!(is_standard(&b) && b.equal(&t), "{size:?}");
        }
        // [16, 1, 3, 3]: the element order is NHWC already, yet the strides differ at the
        // size-1 axis: a view, no copy
        let t = Tensor::randn([16, 1, 3, 3], (Kind::Float, Device::Cpu));
        assert_eq!(t.stride(), [9, 9, 3, 1]);
        let v = channels_last(&t).expect("view");
        assert_eq!(v.stride(), [9, 1, 3, 1]);
        assert_eq!(v.data_ptr(), t.data_ptr());
    }

    /// The number of 4-D activations (spatial size > 1) of one forward pass, and those of
    /// them that do not have the exact channels-last strides.
    fn standard_activations(
        f: impl FnOnce(&mut dyn FnMut(&crate::LayerDesc, &Tensor)),
    ) -> (usize, Vec<String>) {
        let (mut n, mut bad) = (0, Vec::new());
        f(&mut |layer, out| {
            // a [N, C, 1, 1] activation is stored alike in both formats; libtorch gives
            // it either's strides
            if out.dim() == 4 && out.size()[2] * out.size()[3] > 1 {
                n += 1;
                if !is_channels_last(out) {
                    let name = format!("{layer:?}");
                    bad.push(format!(
                        "{} {:?}",
                        &name[..name.len().min(60)],
                        out.stride()
                    ));
                }
            }
        });
        (n, bad)
    }

    /// Diagnostic: with `channels_last`, a training step (MixUp included) keeps every conv
    /// weight, input batch, 4-D activation, gradient and Adam moment in channels-last
    /// strides, as PyTorch's `model.to(memory_format=torch.channels_last)` does (its forward
    /// hooks show channels-last from the first conv on). Before the fix the first conv's
    /// `[16, 1, 3, 3]` weight kept its standard strides, so the first block ran in NCHW.
    #[test]
    fn a_channels_last_step_stays_channels_last() {
        use crate::batches::{DataPlacement, DeviceSet};
        use crate::model::{ModelKind, ModelSpec};
        use crate::train::Stepper;
        use crate::{InMemoryData, Model, TrainConfig};

        let (n, h, w) = (4usize, 48usize, 48usize);
        let x: Vec<f32> = (0..n * h * w)
            .map(|i| ((i * 7919) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let data = InMemoryData::new(x, [n, 1, h, w], vec![0, 1, 2, 1]).expect("data");
        for (kind, mixup) in [(ModelKind::Small, None), (ModelKind::XResNet18, Some(0.4))] {
            let spec = ModelSpec {
                kind,
                in_channels: 1,
                n_classes: 3,
            };
            let mut model = Model::new(spec, Device::Cpu, 0).expect("model");
            model.set_channels_last(true).expect("channels-last");
            assert!(model.is_channels_last(), "{kind:?}: weights");
            let cfg = TrainConfig {
                device: Device::Cpu,
                threads: Some(1),
                mixup,
                channels_last: true,
                ..TrainConfig::default()
            };
            let set =
                DeviceSet::new(&data, Device::Cpu, DataPlacement::Resident, true, 1).expect("set");
            let pass = set.pass(vec![vec![2, 0, 3, 1]]).expect("pass");
            let (xb, yb) = pass.batch(0).expect("batch");
            assert!(
                is_channels_last(&xb),
                "{kind:?}: batch strides {:?}",
                xb.stride()
            );
            let mut st = Stepper::new(&model, &cfg).expect("stepper");
            let (count, bad) = standard_activations(|seen| {
                st.step_observed(&model, &xb, &yb, 1e-3, 0.9, seen);
            });
            assert!(count >= 8, "{kind:?}: {count} activations seen");
            assert!(bad.is_empty(), "{kind:?}: not channels-last: {bad:#?}");
            for (name, p) in model.trainable() {
                if p.dim() == 4 {
                    assert!(is_channels_last(&p), "{kind:?} {name}: {:?}", p.stride());
                    let g = p.grad();
                    assert!(
                        is_channels_last(&g),
                        "{kind:?} {name} grad: {:?}",
                        g.stride()
                    );
                }
            }
            for (m, v) in st.optimizer().moments().filter(|(m, _)| m.dim() == 4) {
                assert!(
                    is_channels_last(m) && is_channels_last(v),
                    "{kind:?} moments"
                );
            }
            let (_, bad) = standard_activations(|seen| {
                let _ = tch::no_grad(|| model.forward_observed(&xb, false, seen));
            });
            assert!(bad.is_empty(), "{kind:?} eval: not channels-last: {bad:#?}");
        }
    }
}
