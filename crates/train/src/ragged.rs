//! [`RaggedData`]: samples of their own lengths held in memory (already normalized), each
//! batch padded to its longest sample.

use crate::source::{check_fill_frames, pad_frames_in_place, BatchSource};
use crate::TrainError;

/// In-memory samples `[C, F, T_i]` of their own lengths `T_i` (row-major, one after the
/// other, already normalized) and labels. A batch holds its samples padded with zeros after
/// their last frame to the batch's longest ([`BatchSource::fill_frames`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RaggedData {
    x: Vec<f32>,
    /// `C*F`.
    rows: [usize; 2],
    frames: Vec<usize>,
    /// Start of each sample in `x`.
    starts: Vec<usize>,
    y: Vec<i64>,
    longest: usize,
}

impl RaggedData {
    /// Samples of `channels` x `n_freq` rows and `frames[i]` frames each, their values
    /// concatenated in `x` (`sum(frames) * channels * n_freq` of them), with labels `y`. A
    /// sample of no frames, or sizes that do not add up, are errors.
    pub fn new(
        x: Vec<f32>,
        channels: usize,
        n_freq: usize,
        frames: Vec<usize>,
        y: Vec<i64>,
    ) -> Result<RaggedData, TrainError> {
        let bad = |m: String| Err(TrainError::InvalidData(m));
        if y.len() != frames.len() {
            return bad(format!("{} labels for {} samples", y.len(), frames.len()));
        }
        if let Some(i) = frames.iter().position(|&t| t == 0) {
            return bad(format!("sample {i} has no frames"));
        }
        let rows = channels.checked_mul(n_freq);
        let mut starts = Vec::with_capacity(frames.len());
        let mut end = Some(0usize);
        for &t in &frames {
            starts.push(end.unwrap_or(0));
            end = end
                .zip(rows)
                .and_then(|(e, r)| r.checked_mul(t).and_then(|n| e.checked_add(n)));
        }
        if end != Some(x.len()) {
            return bad(format!(
                "x has {} values, {} samples of {channels}x{n_freq} and {} frames in all need \
                 {}",
                x.len(),
                frames.len(),
                frames.iter().fold(0usize, |a, &t| a.saturating_add(t)),
                end.map_or("more than usize".into(), |e| e.to_string())
            ));
        }
        Ok(RaggedData {
            x,
            rows: [channels, n_freq],
            longest: frames.iter().copied().max().unwrap_or(0),
            frames,
            starts,
            y,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The values of sample `i` (`[C, F, T_i]`, row-major).
    pub fn sample(&self, i: usize) -> Option<&[f32]> {
        let start = *self.starts.get(i)?;
        let n = self.rows[0] * self.rows[1] * self.frames[i];
        self.x.get(start..start + n)
    }
}

impl BatchSource for RaggedData {
    fn len(&self) -> usize {
        self.frames.len()
    }

    fn sample_shape(&self) -> [usize; 3] {
        [self.rows[0], self.rows[1], self.longest]
    }

    fn frames(&self, i: usize) -> usize {
        self.frames.get(i).copied().unwrap_or(0)
    }

    fn labels(&self) -> &[i64] {
        &self.y
    }

    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
        self.fill_frames(idx, self.longest, out)
    }

    fn fill_frames(&self, idx: &[usize], t: usize, out: &mut [f32]) -> Result<(), TrainError> {
        let rows = self.rows[0] * self.rows[1];
        check_fill_frames(self, idx, t, out.len())?;
        for (&i, block) in idx.iter().zip(out.chunks_exact_mut((rows * t).max(1))) {
            let values = self
                .sample(i)
                .ok_or_else(|| TrainError::InvalidData(format!("sample {i} of {}", self.len())))?;
            block[..values.len()].copy_from_slice(values);
            pad_frames_in_place(block, rows, self.frames[i]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample `i` of 2x2 rows and `t` frames: value `100 i + 10 row + frame + 1`.
    fn sample(i: usize, t: usize) -> Vec<f32> {
        (0..4)
            .flat_map(|r| (0..t).map(move |c| (100 * i + 10 * r + c + 1) as f32))
            .collect()
    }

    fn data(frames: &[usize]) -> RaggedData {
        let x = frames
            .iter()
            .enumerate()
            .flat_map(|(i, &t)| sample(i, t))
            .collect();
        let y = (0..frames.len() as i64).collect();
        RaggedData::new(x, 2, 2, frames.to_vec(), y).unwrap()
    }

    /// Each block is its sample, every row padded with zeros after its last frame.
    #[test]
    fn batches_are_padded_to_the_frames_asked() {
        let d = data(&[3, 1, 5]);
        assert_eq!(d.sample_shape(), [2, 2, 5]);
        assert_eq!((0..3).map(|i| d.frames(i)).collect::<Vec<_>>(), [3, 1, 5]);
        let mut out = vec![f32::NAN; 2 * 4 * 3];
        d.fill_frames(&[1, 0], 3, &mut out).unwrap();
        #[rustfmt::skip]
        let want = [
            101.0, 0.0, 0.0, 111.0, 0.0, 0.0, 121.0, 0.0, 0.0, 131.0, 0.0, 0.0,
            1.0, 2.0, 3.0, 11.0, 12.0, 13.0, 21.0, 22.0, 23.0, 31.0, 32.0, 33.0,
        ];
        assert_eq!(out, want);
        let mut full = vec![f32::NAN; 4 * 5];
        d.fill(&[2], &mut full).unwrap();
        assert_eq!(full, sample(2, 5));
        // Too short a batch, a wrong buffer, an index out of range.
        assert!(d.fill_frames(&[2], 3, &mut out[..12]).is_err());
        assert!(d.fill_frames(&[0], 3, &mut out).is_err());
        assert!(d.fill_frames(&[3], 3, &mut out[..12]).is_err());
    }

    #[test]
    fn sizes_are_checked() {
        assert!(RaggedData::new(vec![0.0; 8], 2, 2, vec![1, 1], vec![0, 1]).is_ok());
        assert!(RaggedData::new(vec![0.0; 9], 2, 2, vec![1, 1], vec![0, 1]).is_err());
        assert!(RaggedData::new(vec![0.0; 8], 2, 2, vec![2, 0], vec![0, 1]).is_err());
        assert!(RaggedData::new(vec![0.0; 8], 2, 2, vec![1, 1], vec![0]).is_err());
        assert!(RaggedData::new(vec![], 2, 2, vec![usize::MAX, 2], vec![0, 1]).is_err());
    }

    /// The trait's default `fill_frames` (for a source that only implements `fill` at the
    /// longest length) keeps the first `t` frames of each row, and refuses a `t` shorter than
    /// a sample of the batch.
    #[test]
    fn the_default_fill_frames_keeps_the_first_frames() {
        struct FillOnly(RaggedData);
        impl BatchSource for FillOnly {
            fn len(&self) -> usize {
                self.0.len()
            }
            fn sample_shape(&self) -> [usize; 3] {
                self.0.sample_shape()
            }
            fn frames(&self, i: usize) -> usize {
                self.0.frames(i)
            }
            fn labels(&self) -> &[i64] {
                self.0.labels()
            }
            fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError> {
                self.0.fill(idx, out)
            }
        }
        let d = data(&[3, 1, 5]);
        let f = FillOnly(d.clone());
        for (idx, t) in [(vec![1, 0], 3), (vec![0], 4), (vec![2, 1], 5)] {
            let (mut a, mut b) = (
                vec![f32::NAN; idx.len() * 4 * t],
                vec![0.0; idx.len() * 4 * t],
            );
            f.fill_frames(&idx, t, &mut a).unwrap();
            d.fill_frames(&idx, t, &mut b).unwrap();
            assert_eq!(a, b, "{idx:?} at {t}");
        }
        assert!(f.fill_frames(&[0], 2, &mut [0.0; 8]).is_err());
        assert!(f.fill_frames(&[0], 6, &mut [0.0; 24]).is_err());
        // A set of one length asks for its length only.
        let m = crate::InMemoryData::new(vec![0.0; 12], [2, 1, 2, 3], vec![0, 1]).unwrap();
        assert!(m.fill_frames(&[0, 1], 3, &mut [0.0; 12]).is_ok());
        assert!(m.fill_frames(&[0], 2, &mut [0.0; 4]).is_err());
    }
}
