//! Where batches come from: the whole set uploaded to the device once per run (when it is held
//! in memory and fits, see [`DataPlacement`]) and each batch gathered there with
//! `index_select`, or each batch filled by its [`BatchSource`] into one reused host buffer and
//! copied to the device.
//!
//! Resident sets copy nothing per batch: the epoch's shuffled order is uploaded once per epoch
//! (`N` indices), and a batch is a slice of it.

use std::cell::RefCell;

use tch::{Device, Tensor};

use crate::layout;
use crate::source::{batch_frames, sample_len, BatchSource};
use crate::TrainError;

/// Where [`fit_one_cycle`](crate::fit_one_cycle) and [`evaluate`](crate::evaluate) keep the
/// data while they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataPlacement {
    /// [`Resident`](DataPlacement::Resident) when the set is held in memory
    /// ([`BatchSource::contiguous`]) and its features take at most
    /// [`AUTO_RESIDENT_MAX_BYTES`], else [`PerBatch`](DataPlacement::PerBatch).
    #[default]
    Auto,
    /// Upload the whole set to the device once per run; batches are gathered on the device.
    /// A source not held in memory is uploaded in pieces of [`UPLOAD_CHUNK`] samples.
    Resident,
    /// Fill each batch on the host (one reused buffer) and copy it to the device.
    PerBatch,
}

/// The largest set (bytes of f32 features) that [`DataPlacement::Auto`] uploads whole: 2 GiB.
pub const AUTO_RESIDENT_MAX_BYTES: usize = 2 << 30;

/// Samples per piece when [`DataPlacement::Resident`] uploads a source not held in memory.
pub const UPLOAD_CHUNK: usize = 64;

impl DataPlacement {
    /// Whether a set held in memory, of `bytes` bytes of features, is uploaded whole (a set
    /// not held in memory is only with [`DataPlacement::Resident`]).
    pub fn is_resident(self, bytes: usize) -> bool {
        match self {
            DataPlacement::Auto => bytes <= AUTO_RESIDENT_MAX_BYTES,
            DataPlacement::Resident => true,
            DataPlacement::PerBatch => false,
        }
    }
}

/// A data set as the training loop sees it. A batch of samples of their own lengths has
/// the frames of its longest sample, at least `min_frames` (the model's minimum).
pub(crate) enum DeviceSet<'a> {
    /// Features `[N, C, F, T]` (samples padded to the longest, `T`) and labels `[N]` on the
    /// device; batches get channels-last strides when `channels_last` (`index_select` returns
    /// standard strides) and are cut to their own frames.
    Resident {
        data: &'a dyn BatchSource,
        x: Tensor,
        y: Tensor,
        channels_last: bool,
        min_frames: usize,
    },
    /// Filled on the host per batch.
    Host {
        data: &'a dyn BatchSource,
        device: Device,
        channels_last: bool,
        min_frames: usize,
        /// The host buffer every batch is filled into (grown to the largest batch, reused).
        buf: RefCell<Vec<f32>>,
    },
}

impl<'a> DeviceSet<'a> {
    /// Uploads `data` to `device` when `placement` says so (channels-last strides when
    /// `channels_last`); batches have at least `min_frames` frames.
    pub(crate) fn new(
        data: &'a dyn BatchSource,
        device: Device,
        placement: DataPlacement,
        channels_last: bool,
        min_frames: usize,
    ) -> Result<DeviceSet<'a>, TrainError> {
        let shape = data.sample_shape();
        let sl = sample_len(shape)?;
        let n = data.len();
        let bytes = n
            .saturating_mul(sl)
            .saturating_mul(std::mem::size_of::<f32>());
        let dims = [n, shape[0], shape[1], shape[2]].map(|d| d as i64);
        let x = match data.contiguous() {
            Some(values) if placement.is_resident(bytes) => Tensor::f_from_slice(values)?
                .f_view(dims)?
                .f_to_device(device)?,
            None if placement == DataPlacement::Resident => {
                upload_in_pieces(data, sl, device)?.f_view(dims)?
            }
            _ => {
                return Ok(DeviceSet::Host {
                    data,
                    device,
                    channels_last,
                    min_frames,
                    buf: RefCell::new(Vec::new()),
                })
            }
        };
        let x = if channels_last {
            layout::channels_last(&x)?
        } else {
            x
        };
        let y = Tensor::f_from_slice(data.labels())?.f_to_device(device)?;
        Ok(DeviceSet::Resident {
            data,
            x,
            y,
            channels_last,
            min_frames,
        })
    }

    /// Whether the set lives on the device.
    pub(crate) fn is_resident(&self) -> bool {
        matches!(self, DeviceSet::Resident { .. })
    }

    /// The batches of one pass (`batches`: sample indices per batch). For a resident set the
    /// whole order is uploaded here, once.
    pub(crate) fn pass(&self, batches: Vec<Vec<usize>>) -> Result<Pass<'_, 'a>, TrainError> {
        let order = match self {
            DeviceSet::Resident { x, .. } => {
                let flat: Vec<i64> = batches.iter().flatten().map(|&i| i as i64).collect();
                Some(Tensor::f_from_slice(&flat)?.f_to_device(x.device())?)
            }
            DeviceSet::Host { .. } => None,
        };
        Ok(Pass {
            set: self,
            batches,
            order,
        })
    }
}

/// The values of `data` as one flat tensor on `device`, filled and uploaded
/// [`UPLOAD_CHUNK`] samples at a time through one host buffer.
fn upload_in_pieces(
    data: &dyn BatchSource,
    sl: usize,
    device: Device,
) -> Result<Tensor, TrainError> {
    let all: Vec<usize> = (0..data.len()).collect();
    let mut buf = vec![0.0f32; UPLOAD_CHUNK.min(all.len()) * sl];
    let mut pieces = Vec::with_capacity(all.len().div_ceil(UPLOAD_CHUNK));
    for chunk in all.chunks(UPLOAD_CHUNK) {
        let out = &mut buf[..chunk.len() * sl];
        data.fill(chunk, out)?;
        pieces.push(Tensor::f_from_slice(out)?.f_to_device(device)?);
    }
    if pieces.is_empty() {
        return Ok(Tensor::f_from_slice::<f32>(&[])?.f_to_device(device)?);
    }
    Ok(Tensor::f_cat(&pieces, 0)?)
}

/// The batches of one epoch (or one evaluation pass) over a [`DeviceSet`].
pub(crate) struct Pass<'s, 'a> {
    set: &'s DeviceSet<'a>,
    batches: Vec<Vec<usize>>,
    /// All indices of the pass, on the device (resident sets).
    order: Option<Tensor>,
}

impl Pass<'_, '_> {
    /// Sample indices per batch.
    pub(crate) fn batches(&self) -> &[Vec<usize>] {
        &self.batches
    }

    /// Batch `k` as `(x [B,C,F,T] f32, y [B] i64)` on the device.
    pub(crate) fn batch(&self, k: usize) -> Result<(Tensor, Tensor), TrainError> {
        let idx = self.batches.get(k).ok_or_else(|| {
            TrainError::InvalidConfig(format!(
                "internal: batch {k} of a pass of {}",
                self.batches.len()
            ))
        })?;
        match (self.set, &self.order) {
            (
                DeviceSet::Resident {
                    data,
                    x,
                    y,
                    channels_last,
                    min_frames,
                },
                Some(order),
            ) => {
                let start: usize = self.batches[..k].iter().map(Vec::len).sum();
                let sel = order.f_narrow(0, start as i64, idx.len() as i64)?;
                let xb = x.f_index_select(0, &sel)?;
                let t = batch_frames(*data, idx, *min_frames);
                let xb = if t < data.sample_shape()[2] {
                    xb.f_narrow(3, 0, t as i64)?.f_contiguous()?
                } else {
                    xb
                };
                let xb = if *channels_last {
                    layout::channels_last(&xb)?
                } else {
                    xb
                };
                Ok((xb, y.f_index_select(0, &sel)?))
            }
            (
                DeviceSet::Host {
                    data,
                    device,
                    channels_last,
                    min_frames,
                    buf,
                },
                _,
            ) => {
                let x = host_batch(*data, idx, *min_frames, &mut buf.borrow_mut(), *device)?;
                let x = if *channels_last {
                    layout::channels_last(&x)?
                } else {
                    x
                };
                let labels = data.labels();
                let ys = idx
                    .iter()
                    .map(|&i| {
                        labels.get(i).copied().ok_or_else(|| {
                            TrainError::InvalidData(format!("sample {i} of {}", labels.len()))
                        })
                    })
                    .collect::<Result<Vec<i64>, TrainError>>()?;
                let y = Tensor::f_from_slice(&ys)?.f_to_device(*device)?;
                Ok((x, y))
            }
            (DeviceSet::Resident { .. }, None) => Err(TrainError::InvalidConfig(
                "internal: resident pass without an order".into(),
            )),
        }
    }
}

/// The samples `idx` of `data` as `[B, C, F, t]` on `device` (`t`: [`batch_frames`]), filled
/// into `buf` (grown when this batch is the largest so far, otherwise reused as it is).
fn host_batch(
    data: &dyn BatchSource,
    idx: &[usize],
    min_frames: usize,
    buf: &mut Vec<f32>,
    device: Device,
) -> Result<Tensor, TrainError> {
    let [c, f, _] = data.sample_shape();
    let t = batch_frames(data, idx, min_frames);
    let n = idx.len() * sample_len([c, f, t])?;
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
    let out = &mut buf[..n];
    data.fill_frames(idx, t, out)?;
    let dims = [idx.len(), c, f, t].map(|d| d as i64);
    Ok(Tensor::f_from_slice(out)?
        .f_view(dims)?
        .f_to_device(device)?)
}
