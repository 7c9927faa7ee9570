//! The streaming accumulator: per-group (count, mean, M2) state, batch updates, merges, and its
//! validated serde form.

use crate::kernel::{slice_moments, Moments};
use crate::{check_axes, check_keep_dims, keep_dims_shape, Element, Provenance, Stats, StatsError};
use ndarray::{ArrayView, Dimension};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    /// Keep-dims shape (reduced axes are 1); its length is the batch rank.
    shape: Vec<usize>,
    /// Elements per group (identical for all groups: every batch adds the same count to each).
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

/// Streaming, mergeable per-group count / mean / M2 accumulator (see the [crate docs](crate)).
///
/// Reduction axes are validated on the first [`update`](Self::update) (or by [`try_new`](Self::try_new)
/// for duplicates). The first batch fixes the rank and the sizes of the kept axes; later batches may
/// differ only in reduced axes (e.g. batch size and number of frames).
///
/// # Serialized form
///
/// With serde (e.g. [`to_json`](Self::to_json)) the accumulator is its exact state:
/// `{"axes": [..], "state": null | {"shape": [..], "count": n, "mean": [..], "m2": [..]}}`, one
/// `mean`/`m2` value per group in row-major order of the keep-dims `shape`, `count` elements per
/// group. Floats are written in the shortest form that parses back to the same `f64` and this crate
/// parses them exactly (serde_json `float_roundtrip`), so a save/load round trip is bit for bit and
/// a loaded accumulator continues (and merges) exactly as the original would. Loading validates the
/// state: distinct axes within the rank, reduced axes of size 1, one mean and M2 per group, finite
/// means, finite `M2 >= 0`, and `M2 = 0` (and `mean = 0` for an empty state) where `count <= 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedAccumulator")]
pub struct StatsAccumulator {
    axes: Vec<usize>,
    state: Option<State>,
}

/// The serialized form before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedAccumulator {
    axes: Vec<usize>,
    state: Option<State>,
}

impl TryFrom<UncheckedAccumulator> for StatsAccumulator {
    type Error = StatsError;

    fn try_from(u: UncheckedAccumulator) -> Result<Self, StatsError> {
        check_axes(&u.axes, None)?;
        if let Some(st) = &u.state {
            validate_state(&u.axes, st).map_err(|message| StatsError::Invalid {
                message: format!("accumulator state: {message}"),
                path: None,
            })?;
        }
        Ok(Self {
            axes: u.axes,
            state: u.state,
        })
    }
}

/// Checks that `st` is a state an accumulator reducing `axes` can reach.
fn validate_state(axes: &[usize], st: &State) -> Result<(), String> {
    let (_, groups) = check_keep_dims(axes, &st.shape, "groups")?;
    for (name, len) in [("mean", st.mean.len()), ("m2", st.m2.len())] {
        if len != groups {
            return Err(format!(
                "{name} has {len} values, shape {:?} needs {groups}",
                st.shape
            ));
        }
    }
    if st.count.checked_mul(groups as u64).is_none() {
        return Err(format!(
            "count {} x {groups} groups overflows a 64-bit element count",
            st.count
        ));
    }
    if let Some(i) = st.mean.iter().position(|v| !v.is_finite()) {
        return Err(format!("mean[{i}] = {} is not finite", st.mean[i]));
    }
    if let Some(i) = st.m2.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(format!("m2[{i}] = {} is not a finite value >= 0", st.m2[i]));
    }
    if st.count <= 1 {
        if let Some(i) = st.m2.iter().position(|&v| v != 0.0) {
            return Err(format!(
                "m2[{i}] = {} but a group of {} element(s) has M2 = 0",
                st.m2[i], st.count
            ));
        }
    }
    if st.count == 0 {
        if let Some(i) = st.mean.iter().position(|&v| v != 0.0) {
            return Err(format!(
                "mean[{i}] = {} but the state holds no elements",
                st.mean[i]
            ));
        }
    }
    Ok(())
}

impl StatsAccumulator {
    /// Accumulator reducing over `reduce_axes` (e.g. `[0, 2, 3]` for global statistics of
    /// `[B, C, F, T]` batches, `[0, 1, 3]` for per-frequency-bin statistics). Duplicate or
    /// out-of-range axes are reported by the first `update`; see [`try_new`](Self::try_new).
    pub fn new(reduce_axes: &[usize]) -> Self {
        Self {
            axes: reduce_axes.to_vec(),
            state: None,
        }
    }

    /// Like [`new`](Self::new) but rejects duplicate axes immediately.
    pub fn try_new(reduce_axes: &[usize]) -> Result<Self, StatsError> {
        check_axes(reduce_axes, None)?;
        Ok(Self::new(reduce_axes))
    }

    /// The blog's global ("grayscale") preset for `[B, 1, F, T]`: reduce `[0, 2, 3]` → shape `[1,1,1,1]`.
    pub fn global() -> Self {
        Self::new(&[0, 2, 3])
    }

    /// The blog's per-channel preset for `[B, 1, F, T]`: reduce `[0, 1, 3]` → shape `[1,1,F,1]`.
    pub fn per_channel() -> Self {
        Self::new(&[0, 1, 3])
    }

    /// An accumulator holding the given exact state: `count` elements in every group and, per group
    /// in row-major order of the keep-dims `shape`, its `mean` and sum of squared deviations `m2`.
    /// Validated like a deserialized accumulator (see [Serialized form](Self#serialized-form)).
    /// Used to import statistics collected elsewhere (see [`interop`](crate::interop)).
    pub fn from_moments(
        reduce_axes: &[usize],
        shape: &[usize],
        count: u64,
        mean: Vec<f64>,
        m2: Vec<f64>,
    ) -> Result<Self, StatsError> {
        StatsAccumulator::try_from(UncheckedAccumulator {
            axes: reduce_axes.to_vec(),
            state: Some(State {
                shape: shape.to_vec(),
                count,
                mean,
                m2,
            }),
        })
    }

    /// Per-group means of the exact state (row-major over the keep-dims shape; empty before the
    /// first batch).
    pub fn means(&self) -> &[f64] {
        self.state.as_ref().map_or(&[], |s| s.mean.as_slice())
    }

    /// Per-group sums of squared deviations from the mean (`M2`), like [`means`](Self::means).
    pub fn m2s(&self) -> &[f64] {
        self.state.as_ref().map_or(&[], |s| s.m2.as_slice())
    }

    /// The exact state as JSON (see [Serialized form](Self#serialized-form)).
    pub fn to_json(&self) -> Result<String, StatsError> {
        serde_json::to_string(self).map_err(|source| StatsError::Json { source, path: None })
    }

    /// Parses and validates [`to_json`](Self::to_json)'s output; the result is bit-for-bit the
    /// accumulator that was written.
    pub fn from_json(text: &str) -> Result<Self, StatsError> {
        serde_json::from_str(text).map_err(|source| StatsError::Json { source, path: None })
    }

    /// The same statistics with more axes reduced, derived exactly from this state by Chan-merging
    /// its groups along the newly reduced axes (in row-major group order, so the result is
    /// deterministic). `reduce_axes` must contain every axis this accumulator reduces.
    ///
    /// One accumulator that keeps the channel and frequency axes of `[B, 1, F, T]` batches (reduce
    /// `[0, 3]`) thus yields both the per-channel (`[0, 1, 3]`, bit-for-bit what a per-channel
    /// accumulator gives, since axis 1 has size 1) and the global (`[0, 2, 3]`) statistics.
    ///
    /// ```
    /// use ndarray::Array4;
    /// use specnorm_stats::StatsAccumulator;
    /// let x = Array4::from_shape_fn((2, 1, 3, 5), |(b, _, f, t)| (b * 7 + f * 3 + t) as f32);
    /// let mut cf = StatsAccumulator::new(&[0, 3]);
    /// cf.update(x.view())?;
    /// let mut direct = StatsAccumulator::per_channel();
    /// direct.update(x.view())?;
    /// assert_eq!(cf.collapse(&[0, 1, 3])?, direct);
    /// let g = cf.collapse(&[0, 2, 3])?.finalize()?;
    /// assert_eq!(g.count, vec![30]);
    /// # Ok::<(), specnorm_stats::StatsError>(())
    /// ```
    pub fn collapse(&self, reduce_axes: &[usize]) -> Result<StatsAccumulator, StatsError> {
        let new_axes = check_axes(reduce_axes, self.shape())?;
        let old_axes = check_axes(&self.axes, None)?;
        if old_axes.iter().any(|a| !new_axes.contains(a)) {
            return Err(StatsError::AxesMismatch {
                left: self.axes.clone(),
                right: reduce_axes.to_vec(),
            });
        }
        let Some(st) = &self.state else {
            return Ok(StatsAccumulator::new(reduce_axes));
        };
        let kd = keep_dims_shape(&st.shape, &new_axes);
        let groups: usize = kd.iter().product();
        let mut merged = vec![Moments::default(); groups];
        let mut coord = vec![0usize; st.shape.len()];
        for (mean, m2) in st.mean.iter().zip(&st.m2) {
            let g = coord
                .iter()
                .zip(&kd)
                .fold(0usize, |g, (&c, &d)| g * d + if d == 1 { 0 } else { c });
            merged[g].merge(&Moments {
                n: st.count,
                mean: *mean,
                m2: *m2,
            });
            for i in (0..coord.len()).rev() {
                coord[i] += 1;
                if coord[i] < st.shape[i] {
                    break;
                }
                coord[i] = 0;
            }
        }
        let count = merged.first().map_or(0, |m| m.n);
        Ok(StatsAccumulator {
            axes: reduce_axes.to_vec(),
            state: Some(State {
                shape: kd,
                count,
                mean: merged.iter().map(|m| m.mean).collect(),
                m2: merged.iter().map(|m| m.m2).collect(),
            }),
        })
    }

    /// Reduction axes as given to the constructor.
    pub fn axes(&self) -> &[usize] {
        &self.axes
    }

    /// Keep-dims shape of the statistics, once a batch has been seen.
    pub fn shape(&self) -> Option<&[usize]> {
        self.state.as_ref().map(|s| s.shape.as_slice())
    }

    /// Number of elements each group's statistics are based on (the same for every group; for the
    /// global preset this is the total number of values seen).
    pub fn count(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.count)
    }

    /// Per-group element counts, in row-major order of the keep-dims shape.
    pub fn group_counts(&self) -> Vec<u64> {
        self.state
            .as_ref()
            .map_or_else(Vec::new, |s| vec![s.count; s.mean.len()])
    }

    /// Total number of values seen (count × number of groups).
    pub fn total_count(&self) -> u64 {
        self.state
            .as_ref()
            .map_or(0, |s| s.count * s.mean.len() as u64)
    }

    /// True when no element has been accumulated.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Adds one batch (any rank, any memory layout; `f32` or `f64`).
    ///
    /// On error the accumulator is unchanged.
    pub fn update<A: Element, D: Dimension>(
        &mut self,
        batch: ArrayView<'_, A, D>,
    ) -> Result<(), StatsError> {
        let shape = batch.shape().to_vec();
        let axes = check_axes(&self.axes, Some(&shape))?;
        let kd = keep_dims_shape(&shape, &axes);
        if let Some(st) = &self.state {
            if st.shape != kd {
                return Err(StatsError::ShapeMismatch {
                    expected: st.shape.clone(),
                    got: shape,
                    axes,
                });
            }
        }
        let groups: usize = kd.iter().product();
        let batch = batch.as_standard_layout();
        // `as_standard_layout` guarantees a contiguous row-major buffer.
        let data = batch
            .as_slice()
            .expect("standard layout arrays are contiguous");
        let mut local = vec![Moments::default(); groups];
        if !data.is_empty() && groups > 0 {
            accumulate_rows(data, &shape, &axes, &kd, &mut local).map_err(|index| {
                StatsError::NonFinite {
                    index,
                    value: data[index].to_f64(),
                    shape: shape.clone(),
                }
            })?;
        }
        let per_group = data.len().checked_div(groups).unwrap_or(0) as u64;
        let st = self.state.get_or_insert_with(|| State {
            shape: kd,
            count: 0,
            mean: vec![0.0; groups],
            m2: vec![0.0; groups],
        });
        merge_into(st, per_group, &local);
        Ok(())
    }

    /// Merges another accumulator into this one (Chan et al.). Both must reduce over the same axes
    /// and, if both are non-empty, have the same keep-dims shape. An empty accumulator is an identity.
    pub fn merge(&mut self, other: &StatsAccumulator) -> Result<(), StatsError> {
        let a = check_axes(&self.axes, None)?;
        let b = check_axes(&other.axes, None)?;
        if a != b {
            return Err(StatsError::AxesMismatch {
                left: self.axes.clone(),
                right: other.axes.clone(),
            });
        }
        let Some(os) = &other.state else {
            return Ok(());
        };
        match &mut self.state {
            None => self.state = other.state.clone(),
            Some(st) => {
                if st.shape != os.shape {
                    return Err(StatsError::ShapeMismatch {
                        expected: st.shape.clone(),
                        got: os.shape.clone(),
                        axes: a,
                    });
                }
                let local: Vec<Moments> = os
                    .mean
                    .iter()
                    .zip(&os.m2)
                    .map(|(&mean, &m2)| Moments {
                        n: os.count,
                        mean,
                        m2,
                    })
                    .collect();
                merge_into(st, os.count, &local);
            }
        }
        Ok(())
    }

    /// Mean, population std and sample (n-1) std per group. Errors when empty.
    pub fn finalize(&self) -> Result<Stats, StatsError> {
        let st = match &self.state {
            Some(st) if st.count > 0 => st,
            _ => return Err(StatsError::Empty),
        };
        let axes = check_axes(&self.axes, Some(&st.shape))?;
        let n = st.count as f64;
        let std: Vec<f64> = st.m2.iter().map(|&m2| (m2 / n).sqrt()).collect();
        let sample_std: Vec<f64> = st
            .m2
            .iter()
            .map(|&m2| {
                if st.count > 1 {
                    (m2 / (n - 1.0)).sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let arr = |v: Vec<f64>| {
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&st.shape), v)
                // one value per group, groups = product of the keep-dims shape
                .expect("group count equals the product of the keep-dims shape")
        };
        Ok(Stats {
            mean: arr(st.mean.clone()),
            std: arr(std),
            sample_std: arr(sample_std),
            count: vec![st.count; st.mean.len()],
            axes,
            shape: st.shape.clone(),
            provenance: Provenance::default(),
        })
    }
}

fn merge_into(st: &mut State, per_group: u64, local: &[Moments]) {
    if per_group == 0 {
        return;
    }
    for (g, m) in local.iter().enumerate() {
        let mut acc = Moments {
            n: st.count,
            mean: st.mean[g],
            m2: st.m2[g],
        };
        acc.merge(m);
        st.mean[g] = acc.mean;
        st.m2[g] = acc.m2;
    }
    st.count += per_group;
}

/// Splits the row-major buffer into maximal contiguous rows that belong to one group (the trailing
/// run of reduced axes), computes each row's moments and merges them into its group.
/// Global preset: one row = the whole batch. Per-channel on `[B,C,F,T]`: rows of length `T`.
fn accumulate_rows<A: Element>(
    data: &[A],
    shape: &[usize],
    axes: &[usize],
    kd: &[usize],
    local: &mut [Moments],
) -> Result<(), usize> {
    let rank = shape.len();
    let last_kept = (0..rank).rev().find(|i| !axes.contains(i));
    let Some(last_kept) = last_kept else {
        // everything reduced: a single group, a single row
        local[0].merge(&slice_moments(data)?);
        return Ok(());
    };
    let inner: usize = shape[last_kept + 1..].iter().product();
    let outer = &shape[..=last_kept];
    // group strides (row-major over the keep-dims shape); 0 for reduced axes
    let mut gstride = vec![0usize; outer.len()];
    let mut s = 1usize;
    for i in (0..rank).rev() {
        if i < outer.len() && !axes.contains(&i) {
            gstride[i] = s;
        }
        s *= kd[i];
    }
    let mut coord = vec![0usize; outer.len()];
    let mut g = 0usize;
    for (r, row) in data.chunks_exact(inner).enumerate() {
        let m = slice_moments(row).map_err(|off| r * inner + off)?;
        local[g].merge(&m);
        // odometer increment over `outer`, keeping g in sync
        for i in (0..outer.len()).rev() {
            coord[i] += 1;
            g += gstride[i];
            if coord[i] < outer[i] {
                break;
            }
            g -= gstride[i] * coord[i];
            coord[i] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, ArrayD, IxDyn};

    fn naive(data: &ArrayD<f32>, axes: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let kd = keep_dims_shape(data.shape(), axes);
        let g: usize = kd.iter().product();
        let mut sums = vec![0.0; g];
        let mut cnt = vec![0usize; g];
        let gi = |idx: &[usize]| {
            let mut k = 0;
            for (i, &c) in idx.iter().enumerate() {
                k = k * kd[i] + if axes.contains(&i) { 0 } else { c };
            }
            k
        };
        for (idx, &v) in data.indexed_iter() {
            let k = gi(idx.slice());
            sums[k] += v as f64;
            cnt[k] += 1;
        }
        let means: Vec<f64> = sums.iter().zip(&cnt).map(|(s, &c)| s / c as f64).collect();
        let mut ss = vec![0.0; g];
        for (idx, &v) in data.indexed_iter() {
            let k = gi(idx.slice());
            ss[k] += (v as f64 - means[k]).powi(2);
        }
        let var = ss.iter().zip(&cnt).map(|(s, &c)| s / c as f64).collect();
        (means, var)
    }

    #[test]
    fn arbitrary_axes_match_naive() {
        let data = Array::from_shape_fn(IxDyn(&[3, 4, 5, 6]), |i| {
            ((i[0] * 131 + i[1] * 71 + i[2] * 37 + i[3] * 11) % 97) as f32 * 0.25 + i[1] as f32
        });
        for axes in [
            vec![],
            vec![0],
            vec![3],
            vec![1, 3],
            vec![0, 2],
            vec![0, 1, 2, 3],
            vec![2, 0],
        ] {
            let mut acc = StatsAccumulator::new(&axes);
            acc.update(data.view()).unwrap();
            let mut sorted = axes.clone();
            sorted.sort();
            let (m, v) = naive(&data, &sorted);
            let s = acc.finalize().unwrap();
            for (k, (&a, &b)) in s.mean.iter().zip(&m).enumerate() {
                assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{axes:?} {k}");
            }
            for (&a, &b) in s.std.iter().zip(&v) {
                assert!((a * a - b).abs() < 1e-11 * b.max(1.0), "{axes:?}");
            }
            // non-standard layout gives the same result
            let t = data.view().reversed_axes();
            let mut acc_t =
                StatsAccumulator::new(&sorted.iter().map(|&a| 3 - a).collect::<Vec<_>>());
            acc_t.update(t).unwrap();
            let st = acc_t.finalize().unwrap();
            let mut a: Vec<f64> = st.mean.iter().copied().collect();
            let mut b = m.clone();
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-12 * y.abs().max(1.0));
            }
        }
    }
}
