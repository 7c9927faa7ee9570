//! Where batches come from: the whole set uploaded to the device once per run (when it fits,
//! see [`DataPlacement`]) and each batch gathered there with `index_select`, or each batch
//! gathered on the host and copied to the device.
//!
//! Resident sets copy nothing per batch: the epoch's shuffled order is uploaded once per epoch
//! (`N` indices), and a batch is a slice of it.

use tch::{Device, Tensor};

use crate::data::InMemoryData;
use crate::layout;
use crate::TrainError;

/// Where [`fit_one_cycle`](crate::fit_one_cycle) and [`evaluate`](crate::evaluate) keep the
/// data while they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataPlacement {
    /// [`Resident`](DataPlacement::Resident) when the set's features take at most
    /// [`AUTO_RESIDENT_MAX_BYTES`], else [`PerBatch`](DataPlacement::PerBatch).
    #[default]
    Auto,
    /// Upload the whole set to the device once per run; batches are gathered on the device.
    Resident,
    /// Gather each batch on the host and copy it to the device.
    PerBatch,
}

/// The largest set (bytes of f32 features) that [`DataPlacement::Auto`] uploads whole: 2 GiB.
pub const AUTO_RESIDENT_MAX_BYTES: usize = 2 << 30;

impl DataPlacement {
    /// Whether a set of `bytes` bytes of features is uploaded whole.
    pub fn is_resident(self, bytes: usize) -> bool {
        match self {
            DataPlacement::Auto => bytes <= AUTO_RESIDENT_MAX_BYTES,
            DataPlacement::Resident => true,
            DataPlacement::PerBatch => false,
        }
    }
}

/// A data set as the training loop sees it.
pub(crate) enum DeviceSet<'a> {
    /// Features `[N, C, F, T]` and labels `[N]` on the device; batches get channels-last
    /// strides when `channels_last` (`index_select` returns standard strides).
    Resident {
        x: Tensor,
        y: Tensor,
        channels_last: bool,
    },
    /// Gathered from the host per batch.
    Host {
        data: &'a InMemoryData,
        device: Device,
        channels_last: bool,
    },
}

impl<'a> DeviceSet<'a> {
    /// Uploads `data` to `device` when `placement` says so (channels-last strides when
    /// `channels_last`).
    pub(crate) fn new(
        data: &'a InMemoryData,
        device: Device,
        placement: DataPlacement,
        channels_last: bool,
    ) -> Result<DeviceSet<'a>, TrainError> {
        let bytes = data.x.len().saturating_mul(std::mem::size_of::<f32>());
        if !placement.is_resident(bytes) {
            return Ok(DeviceSet::Host {
                data,
                device,
                channels_last,
            });
        }
        let x = Tensor::f_from_slice(&data.x)?
            .f_view(data.dims())?
            .f_to_device(device)?;
        let x = if channels_last {
            layout::channels_last(&x)?
        } else {
            x
        };
        let y = Tensor::f_from_slice(&data.y)?.f_to_device(device)?;
        Ok(DeviceSet::Resident {
            x,
            y,
            channels_last,
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
                    x,
                    y,
                    channels_last,
                },
                Some(order),
            ) => {
                let start: usize = self.batches[..k].iter().map(Vec::len).sum();
                let sel = order.f_narrow(0, start as i64, idx.len() as i64)?;
                let xb = x.f_index_select(0, &sel)?;
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
                },
                _,
            ) => {
                let (x, y) = data.batch(idx, *device)?;
                let x = if *channels_last {
                    layout::channels_last(&x)?
                } else {
                    x
                };
                Ok((x, y))
            }
            (DeviceSet::Resident { .. }, None) => Err(TrainError::InvalidConfig(
                "internal: resident pass without an order".into(),
            )),
        }
    }
}
