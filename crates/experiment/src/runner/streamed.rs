//! The training or validation clips of one (setting, fold) as a [`BatchSource`] that reads
//! each batch's rows from the features (the memory-mapped cache, with `--cache`) and applies
//! the fold's normalization to them, clip by clip, as `training::build_data` does to its
//! in-memory copy: the same values, bit for bit, without a normalized copy of the set.

use ndarray::ArrayViewMut2;
use specnorm_norm::Normalizer;
use specnorm_train::{BatchSource, TrainError};

use super::dataset::DataIndex;
use super::error::ExperimentError;
use super::features::FeatureSet;

/// Clips `rows` of `feats`, normalized by `normalizer` when read.
pub(crate) struct NormalizedClips<'a> {
    feats: &'a FeatureSet,
    index: &'a DataIndex,
    /// Dataset index of each sample.
    rows: Vec<usize>,
    labels: Vec<i64>,
    normalizer: Normalizer,
    /// `[F, T]` of every clip.
    dim: (usize, usize),
}

impl<'a> NormalizedClips<'a> {
    /// The clips `rows` of `index` (features `feats`), normalized by `normalizer`; every clip
    /// must have the first one's `[F, T]` (an error names the clip that does not).
    pub fn new(
        feats: &'a FeatureSet,
        index: &'a DataIndex,
        rows: &[usize],
        normalizer: Normalizer,
    ) -> Result<Self, ExperimentError> {
        let dim = match rows.first() {
            Some(&k) => feats.dim(k)?,
            None => (0, 0),
        };
        let mut labels = Vec::with_capacity(rows.len());
        for &k in rows {
            let clip = index.clips.get(k).ok_or_else(|| {
                ExperimentError::Config(format!("internal: clip {k} of {}", index.clips.len()))
            })?;
            if feats.dim(k)? != dim {
                return Err(ExperimentError::Dataset {
                    root: clip.path.clone(),
                    detail: format!(
                        "feature shape {:?} differs from {dim:?}; set a fixed clip duration",
                        feats.dim(k)?
                    ),
                });
            }
            labels.push(clip.target as i64);
        }
        Ok(Self {
            feats,
            index,
            rows: rows.to_vec(),
            labels,
            normalizer,
            dim,
        })
    }

    /// Sample `i` into `out` (`F*T` values), normalized.
    fn fill_one(&self, i: usize, out: &mut [f32]) -> Result<(), ExperimentError> {
        let k = *self.rows.get(i).ok_or_else(|| {
            ExperimentError::Config(format!("internal: sample {i} of {}", self.rows.len()))
        })?;
        self.feats.read_into(k, out)?;
        let view = ArrayViewMut2::from_shape(self.dim, out)
            .map_err(|e| ExperimentError::Config(format!("internal: {e}")))?;
        self.normalizer
            .encode(view)
            .map_err(crate::settings::SettingsError::from)?;
        Ok(())
    }
}

impl BatchSource for NormalizedClips<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn sample_shape(&self) -> [usize; 3] {
        [1, self.dim.0, self.dim.1]
    }

    fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// Reads and normalizes the clips `idx` into `out`, then drops the pages read from a
    /// mapped set from the resident set (they stay in the page cache), so the process holds
    /// the batch, not the part of the file read so far.
    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
        let sl = self.dim.0 * self.dim.1;
        if out.len() != idx.len() * sl {
            return Err(TrainError::InvalidData(format!(
                "a buffer of {} values for {} samples of {sl}",
                out.len(),
                idx.len()
            )));
        }
        let r = idx
            .iter()
            .zip(out.chunks_exact_mut(sl.max(1)))
            .try_for_each(|(&i, o)| {
                self.fill_one(i, o).map_err(|e| TrainError::Source {
                    sample: self.sample_name(i),
                    source: Box::new(e),
                })
            });
        self.feats.release();
        r
    }

    fn sample_name(&self, i: usize) -> String {
        match self.rows.get(i).and_then(|&k| self.index.clips.get(k)) {
            Some(clip) => clip.path.display().to_string(),
            None => format!("sample {i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use specnorm_train::InMemoryData;

    use super::*;
    use crate::runner::dataset::Clip;
    use crate::settings::apply;

    fn data_index(n: usize) -> DataIndex {
        DataIndex {
            clips: (0..n)
                .map(|i| Clip {
                    path: format!("clip{i}.wav").into(),
                    fold: 1 + i as u32 % 3,
                    target: i % 2,
                })
                .collect(),
            classes: vec!["a".into(), "b".into()],
            folds: vec![1, 2, 3],
            fingerprint: String::new(),
            skipped: Vec::new(),
            truncated: Vec::new(),
        }
    }

    fn clip(i: usize, (f, t): (usize, usize)) -> Array2<f32> {
        Array2::from_shape_fn((f, t), |(r, c)| {
            ((r * 7 + c * 3 + i * 11) % 17) as f32 * 0.37 + 0.01
        })
    }

    /// The rows a batch reads equal the in-memory copy's (`settings::apply` per clip, as
    /// `build_data` stacks them), bit for bit, for a per-clip and a per-channel normalization.
    #[test]
    fn batches_equal_the_normalized_copy() {
        let (f, t) = (4, 5);
        let feats = FeatureSet::Memory((0..6).map(|i| clip(i, (f, t))).collect());
        let index = data_index(6);
        let rows = [5, 1, 3, 0];
        for norm in [
            Normalizer::PerInstance { eps: 1e-5 },
            Normalizer::PerChannel {
                mean: vec![0.5, 1.0, 1.5, 2.0],
                std: vec![1.5, 2.0, 0.25, 3.0],
            },
        ] {
            let src = NormalizedClips::new(&feats, &index, &rows, norm.clone()).unwrap();
            let mut x = Vec::new();
            for &k in &rows {
                let FeatureSet::Memory(v) = &feats else {
                    unreachable!()
                };
                x.extend(apply(&norm, &v[k]).unwrap().iter().copied());
            }
            let y: Vec<i64> = rows.iter().map(|&k| (k % 2) as i64).collect();
            let copy = InMemoryData::new(x, [rows.len(), 1, f, t], y).unwrap();
            assert_eq!(src.labels(), copy.labels());
            assert_eq!(src.sample_shape(), copy.sample_shape());
            let idx = [3, 0, 2];
            let (mut a, mut b) = (vec![0.0; 3 * f * t], vec![0.0; 3 * f * t]);
            src.fill(&idx, &mut a).unwrap();
            copy.fill(&idx, &mut b).unwrap();
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            assert!(src.fill(&[9], &mut a[..f * t]).is_err());
            assert!(src.fill(&[0], &mut a).is_err(), "buffer of the wrong size");
        }
    }

    /// A clip with a non-finite value fails the validation pass with its name; a clip of
    /// another shape is refused when the source is built.
    #[test]
    fn bad_clips_are_named() {
        let (f, t) = (4, 5);
        let mut clips: Vec<Array2<f32>> = (0..40).map(|i| clip(i, (f, t))).collect();
        clips[37][(2, 3)] = f32::NAN;
        let feats = FeatureSet::Memory(clips);
        let index = data_index(40);
        let rows: Vec<usize> = (0..40).collect();
        let src = NormalizedClips::new(&feats, &index, &rows, Normalizer::None).unwrap();
        let e = src.check_values(false).unwrap_err().to_string();
        assert!(e.contains("clip37.wav") && e.contains("not finite"), "{e}");
        let negative = Normalizer::Global {
            mean: 10.0,
            std: 1.0,
        };
        let src = NormalizedClips::new(&feats, &index, &rows[..30], negative).unwrap();
        assert!(src.check_values(false).is_ok());
        let e = src.check_values(true).unwrap_err().to_string();
        assert!(e.contains("clip0.wav") && e.contains("negative"), "{e}");

        let mut clips: Vec<Array2<f32>> = (0..3).map(|i| clip(i, (f, t))).collect();
        clips[2] = clip(2, (f, t + 1));
        let feats = FeatureSet::Memory(clips);
        let index = data_index(3);
        let e = NormalizedClips::new(&feats, &index, &[0, 1, 2], Normalizer::None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("clip2.wav"), "{e}");
    }
}
