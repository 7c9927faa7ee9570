//! The training or validation clips of one (setting, fold) as a [`BatchSource`] that reads
//! each batch's rows from the features (the memory-mapped cache, with `--cache`) and applies
//! the fold's normalization to them, clip by clip, as `training::build_data` does to its
//! in-memory copy: the same values, bit for bit, without a normalized copy of the set. Clips
//! kept at their own durations are normalized at their own length and then padded with zeros
//! to the batch's frames.

use ndarray::ArrayViewMut2;
use specnorm_norm::Normalizer;
use specnorm_train::{check_fill_frames, pad_frames_in_place, BatchSource, TrainError};

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
    /// Frames of each sample.
    frames: Vec<usize>,
    /// `F` of every clip and the longest `T`.
    dim: (usize, usize),
}

impl<'a> NormalizedClips<'a> {
    /// The clips `rows` of `index` (features `feats`), normalized by `normalizer`; every clip
    /// must have the first one's `F` (an error names the clip that does not), `T` may differ.
    pub fn new(
        feats: &'a FeatureSet,
        index: &'a DataIndex,
        rows: &[usize],
        normalizer: Normalizer,
    ) -> Result<Self, ExperimentError> {
        let (n_freq, frames) = feats.rows_and_frames(rows, index)?;
        let labels = rows
            .iter()
            .map(|&k| {
                index.clips.get(k).map(|c| c.target as i64).ok_or_else(|| {
                    ExperimentError::Config(format!("internal: clip {k} of {}", index.clips.len()))
                })
            })
            .collect::<Result<Vec<i64>, _>>()?;
        let longest = frames.iter().copied().max().unwrap_or(0);
        Ok(Self {
            feats,
            index,
            rows: rows.to_vec(),
            labels,
            normalizer,
            frames,
            dim: (n_freq, longest),
        })
    }

    /// Sample `i` into `out` (`F*t` values for a batch of `t` frames), normalized at its own
    /// length, then padded with zeros after its last frame.
    fn fill_one(&self, i: usize, out: &mut [f32]) -> Result<(), ExperimentError> {
        let k = *self.rows.get(i).ok_or_else(|| {
            ExperimentError::Config(format!("internal: sample {i} of {}", self.rows.len()))
        })?;
        let dim = (self.dim.0, self.frames[i]);
        let block = out.len();
        let own = out.get_mut(..dim.0 * dim.1).ok_or_else(|| {
            ExperimentError::Config(format!("internal: a block of {block} for {dim:?}"))
        })?;
        self.feats.read_into(k, own)?;
        let view = ArrayViewMut2::from_shape(dim, own)
            .map_err(|e| ExperimentError::Config(format!("internal: {e}")))?;
        self.normalizer
            .encode(view)
            .map_err(crate::settings::SettingsError::from)?;
        pad_frames_in_place(out, dim.0, dim.1);
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

    fn frames(&self, i: usize) -> usize {
        self.frames.get(i).copied().unwrap_or(0)
    }

    fn labels(&self) -> &[i64] {
        &self.labels
    }

    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
        self.fill_frames(idx, self.dim.1, out)
    }

    /// Reads and normalizes the clips `idx` into `out` (each padded to `t` frames), then
    /// drops the pages read from a mapped set from the resident set (they stay in the page
    /// cache), so the process holds the batch, not the part of the file read so far.
    fn fill_frames(&self, idx: &[usize], t: usize, out: &mut [f32]) -> Result<(), TrainError> {
        let sl = self.dim.0 * t;
        check_fill_frames(self, idx, t, out.len())?;
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

    /// Clips of their own lengths: each normalized at its own length (per-instance statistics
    /// over its real frames only), then zero-padded to the batch's frames; bit for bit the
    /// in-memory copy (`RaggedData` of the normalized clips).
    #[test]
    fn clips_of_their_own_lengths_equal_the_ragged_copy() {
        let f = 3;
        let frames = [5usize, 2, 7, 2, 4];
        let feats = FeatureSet::Memory(
            frames
                .iter()
                .enumerate()
                .map(|(i, &t)| clip(i, (f, t)))
                .collect(),
        );
        let index = data_index(frames.len());
        let rows = [4, 1, 2, 0];
        let norm = Normalizer::PerInstance { eps: 1e-5 };
        let src = NormalizedClips::new(&feats, &index, &rows, norm.clone()).unwrap();
        assert_eq!(src.sample_shape(), [1, f, 7]);
        let FeatureSet::Memory(v) = &feats else {
            unreachable!()
        };
        let x: Vec<f32> = rows
            .iter()
            .flat_map(|&k| apply(&norm, &v[k]).unwrap().into_iter())
            .collect();
        let y: Vec<i64> = rows.iter().map(|&k| (k % 2) as i64).collect();
        let lens: Vec<usize> = rows.iter().map(|&k| frames[k]).collect();
        let copy = specnorm_train::RaggedData::new(x, 1, f, lens.clone(), y).unwrap();
        assert_eq!((0..4).map(|i| src.frames(i)).collect::<Vec<_>>(), lens);
        for (idx, t) in [(vec![1, 3], 5), (vec![0, 1, 3], 7), (vec![3], 5)] {
            let (mut a, mut b) = (
                vec![f32::NAN; idx.len() * f * t],
                vec![0.0; idx.len() * f * t],
            );
            src.fill_frames(&idx, t, &mut a).unwrap();
            copy.fill_frames(&idx, t, &mut b).unwrap();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{idx:?} at {t}");
        }
        // Sample 1 (clip 1, 2 frames) in a batch of 5: its rows hold mean-0 values, then zeros.
        let mut one = vec![f32::NAN; f * 5];
        src.fill_frames(&[1], 5, &mut one).unwrap();
        let own: Vec<f32> = one.chunks(5).flat_map(|r| r[..2].to_vec()).collect();
        assert!(one.chunks(5).all(|r| r[2..].iter().all(|&v| v == 0.0)));
        assert!(own.iter().sum::<f32>().abs() < 1e-4, "{own:?}");
        assert!(
            src.fill_frames(&[2], 5, &mut vec![0.0; f * 5]).is_err(),
            "7 frames in 5"
        );
    }

    /// A clip with a non-finite value fails the validation pass with its name; a clip of
    /// another height is refused when the source is built.
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
        clips[2] = clip(2, (f + 1, t));
        let feats = FeatureSet::Memory(clips);
        let index = data_index(3);
        let e = NormalizedClips::new(&feats, &index, &[0, 1, 2], Normalizer::None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("clip2.wav"), "{e}");
    }
}
