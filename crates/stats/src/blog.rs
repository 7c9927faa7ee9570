//! A faithful reproduction of the fastai blog's `StatsRecorder`, kept for comparison only.
//!
//! The blog ("How to normalize spectrograms", `StatsRecorder`) updates its running statistics per
//! mini-batch with
//!
//! ```text
//! m = clips seen so far, n = data.shape[0]          # CLIP counts, not element counts
//! newmean, newstd = data.mean(red_dims), data.std(red_dims)   # torch std: Bessel-corrected
//! mean = m/(m+n)*mean + n/(m+n)*newmean
//! std  = sqrt(m/(m+n)*std² + n/(m+n)*newstd² + m*n/(m+n)²*(mean_old-newmean)²)
//! ```
//!
//! This is only exact when every batch has the same number of elements per clip and the per-batch
//! std is a population std. It deviates when
//! * batches hold clips of different lengths `T`: a clip is weighted the same whatever its length
//!   (mean off by ~4.5 on a ~1022 mean, std +3-6 % in the test fixture);
//! * batches differ in size: each batch's variance is inflated by its own `N/(N-1)` (Bessel), so
//!   even with equal `T` the std is too large (+0.08-0.3 % in the fixture; the mean stays exact).
//!
//! The difference against [`StatsAccumulator`] is measured in this crate's
//! tests against golden numbers produced by running the blog's Python class
//! (`data/fixtures/gen_stats.py`).
//!
//! Deviations from the Python class: computation is in `f64`; batch shapes are checked on all kept
//! axes (the blog checks only axis 1); a batch with fewer than two elements per group is an error
//! (torch would produce NaN).

use crate::{check_axes, keep_dims_shape, Element, StatsAccumulator, StatsError};
use ndarray::{ArrayD, ArrayView, Dimension, Zip};

/// The blog's clip-weighted recorder (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct BlogStatsRecorder {
    red_dims: Vec<usize>,
    nobservations: u64,
    mean: Option<ArrayD<f64>>,
    std: Option<ArrayD<f64>>,
}

impl BlogStatsRecorder {
    /// Recorder reducing over `red_dims` (the blog's default is `(0, 2, 3)`).
    pub fn new(red_dims: &[usize]) -> Self {
        Self {
            red_dims: red_dims.to_vec(),
            nobservations: 0,
            mean: None,
            std: None,
        }
    }

    /// Number of clips (size of axis 0, summed over batches) seen so far.
    pub fn nobservations(&self) -> u64 {
        self.nobservations
    }

    /// Running mean (keep-dims shape), `None` before the first batch.
    pub fn mean(&self) -> Option<&ArrayD<f64>> {
        self.mean.as_ref()
    }

    /// Running "std" as the blog computes it, `None` before the first batch.
    pub fn std(&self) -> Option<&ArrayD<f64>> {
        self.std.as_ref()
    }

    /// Adds a batch exactly as the blog's `StatsRecorder.update` does (in `f64`).
    pub fn update<A: Element, D: Dimension>(
        &mut self,
        data: ArrayView<'_, A, D>,
    ) -> Result<(), StatsError> {
        let shape = data.shape().to_vec();
        let axes = check_axes(&self.red_dims, Some(&shape))?;
        if let Some(m) = &self.mean {
            let kd = keep_dims_shape(&shape, &axes);
            if m.shape() != kd.as_slice() {
                return Err(StatsError::ShapeMismatch {
                    expected: m.shape().to_vec(),
                    got: shape,
                    axes,
                });
            }
        }
        let per_group: usize = axes.iter().map(|&a| shape[a]).product();
        if per_group < 2 {
            return Err(StatsError::TooFewElements {
                count: per_group,
                shape,
            });
        }
        let mut acc = StatsAccumulator::new(&axes);
        acc.update(data)?;
        let batch = acc.finalize()?;
        let (newmean, newstd) = (batch.mean, batch.sample_std);
        let n = shape.first().copied().unwrap_or(1) as u64;
        match (&mut self.mean, &mut self.std) {
            (Some(mean), Some(std)) => {
                let m = self.nobservations as f64;
                let nf = n as f64;
                let t = m + nf;
                Zip::from(mean)
                    .and(std)
                    .and(&newmean)
                    .and(&newstd)
                    .for_each(|mu, sd, &nm, &ns| {
                        let tmp = *mu;
                        *mu = m / t * tmp + nf / t * nm;
                        *sd = (m / t * *sd * *sd
                            + nf / t * ns * ns
                            + m * nf / (t * t) * (tmp - nm) * (tmp - nm))
                            .sqrt();
                    });
            }
            _ => {
                self.mean = Some(newmean);
                self.std = Some(newstd);
            }
        }
        self.nobservations += n;
        Ok(())
    }
}
