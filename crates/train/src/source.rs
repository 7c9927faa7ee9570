//! [`BatchSource`]: where training reads its samples from, batch by batch. [`InMemoryData`]
//! holds them all; other sources (a memory-mapped feature cache normalized on the fly) produce
//! each batch when asked, so that memory is bounded by the batch, not the set.
//!
//! [`InMemoryData`]: crate::InMemoryData

use crate::model::{Model, ModelKind, ModelSpec};
use crate::TrainError;

/// Samples `[C, F, T]` (f32, row-major) with class labels, read a batch at a time.
///
/// [`fit_one_cycle`](crate::fit_one_cycle), [`evaluate`](crate::evaluate) and
/// [`lr_find`](crate::lr_find) validate a source once before they use it
/// ([`BatchSource::check_values`] after the shape and label checks) and then call
/// [`BatchSource::fill`] with one reused host buffer per set.
pub trait BatchSource {
    /// Number of samples `N`.
    fn len(&self) -> usize;

    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[C, F, T]` of every sample; for samples of different lengths
    /// ([`BatchSource::frames`]), `T` is the longest.
    fn sample_shape(&self) -> [usize; 3];

    /// Frames (`T`) of sample `i`, at most `sample_shape()[2]`: `sample_shape()[2]` for every
    /// sample of a set of one length (the default). A set of clips of their own lengths
    /// reports each one's, and batches are padded to their longest sample
    /// ([`BatchSource::fill_frames`]).
    fn frames(&self, i: usize) -> usize {
        let _ = i;
        self.sample_shape()[2]
    }

    /// The `N` class indices.
    fn labels(&self) -> &[i64];

    /// Writes the samples `idx`, in that order, into `out`: `idx.len()` blocks of `C*F*T`
    /// values (`out` has exactly that length), a sample shorter than `T` padded with zeros
    /// after its last frame (as [`BatchSource::fill_frames`] with `t = T`). An index out of
    /// range is an error.
    fn fill(&self, idx: &[usize], out: &mut [f32]) -> Result<(), TrainError>;

    /// Writes the samples `idx`, in that order, each padded with zeros after its last frame
    /// to `t` frames: `idx.len()` blocks of `C*F*t` values (`out` has exactly that length).
    /// `t` is at least the [`BatchSource::frames`] of every sample of `idx` and at most `T`,
    /// the longest; zero is what the network sees of the padding (the normalized features'
    /// mean for a normalization with statistics, silence for a power spectrogram).
    ///
    /// The default fills the samples at `T` frames with [`BatchSource::fill`] and keeps the
    /// first `t` of each row (samples of their own lengths override it to fill `t` directly).
    fn fill_frames(&self, idx: &[usize], t: usize, out: &mut [f32]) -> Result<(), TrainError> {
        let [c, f, full] = self.sample_shape();
        if t == full {
            return self.fill(idx, out);
        }
        let rows = c * f;
        check_fill_frames(self, idx, t, out.len())?;
        if t > full {
            return Err(TrainError::InvalidData(format!(
                "{t} frames asked of samples of at most {full}"
            )));
        }
        let mut whole = vec![0.0f32; idx.len() * rows * full];
        self.fill(idx, &mut whole)?;
        for (src, dst) in whole
            .chunks_exact(full.max(1))
            .zip(out.chunks_exact_mut(t.max(1)))
        {
            dst.copy_from_slice(&src[..t]);
        }
        Ok(())
    }

    /// All `N*C*F*T` values, when the source holds them contiguously in memory (then
    /// [`DataPlacement::Auto`](crate::DataPlacement::Auto) may upload them whole); `None` for
    /// a source that produces its batches on demand.
    fn contiguous(&self) -> Option<&[f32]> {
        None
    }

    /// How an error names sample `i` (a source reading files names the file).
    fn sample_name(&self, i: usize) -> String {
        format!("sample {i}")
    }

    /// Checks every value: finite, and `>= 0` when `non_negative` (a model with a PCEN front
    /// layer). The default is one streaming pass through [`BatchSource::fill`], in chunks of
    /// [`CHECK_CHUNK`] samples through one buffer; an error names the sample
    /// ([`BatchSource::sample_name`]) and the value.
    fn check_values(&self, non_negative: bool) -> Result<(), TrainError> {
        check_values_streaming(self, non_negative)
    }
}

/// Samples per [`BatchSource::fill`] call of the default [`BatchSource::check_values`].
pub const CHECK_CHUNK: usize = 32;

/// The error of a [`BatchSource::fill`] (or [`BatchSource::fill_frames`]) whose buffer of
/// `len` values is not `samples` blocks of `per_sample`: the check every source makes first.
pub fn check_fill_buffer(len: usize, samples: usize, per_sample: usize) -> Result<(), TrainError> {
    if Some(len) == samples.checked_mul(per_sample) {
        return Ok(());
    }
    Err(TrainError::InvalidData(format!(
        "a buffer of {len} values for {samples} samples of {per_sample}"
    )))
}

/// The checks of a [`BatchSource::fill_frames`] call on `src`: a buffer of `len` values that
/// is `idx.len()` blocks of `C*F*t`, and every sample of `idx` at most `t` frames long (an
/// error names it).
pub fn check_fill_frames<S: BatchSource + ?Sized>(
    src: &S,
    idx: &[usize],
    t: usize,
    len: usize,
) -> Result<(), TrainError> {
    let [c, f, _] = src.sample_shape();
    check_fill_buffer(len, idx.len(), c * f * t)?;
    match idx.iter().find(|&&i| src.frames(i) > t) {
        Some(&i) => Err(TrainError::InvalidData(format!(
            "{}: {} frames do not fit a batch of {t}",
            src.sample_name(i),
            src.frames(i)
        ))),
        None => Ok(()),
    }
}

/// Spreads the `rows` rows of `frames` values at the start of `block` (row-major `[rows,
/// frames]`) to rows of `t = block.len() / rows` values, each padded with zeros after its
/// last frame, in place: a sample of its own length becomes one block of a batch of `t`
/// frames. `frames <= t`; `block.len()` is `rows * t`.
pub fn pad_frames_in_place(block: &mut [f32], rows: usize, frames: usize) {
    if rows == 0 {
        return;
    }
    let t = block.len() / rows;
    debug_assert!(frames <= t && rows * t == block.len());
    if frames == t {
        return;
    }
    // Last row first: each destination lies at or after its source, and after every source
    // not moved yet.
    for r in (0..rows).rev() {
        block.copy_within(r * frames..(r + 1) * frames, r * t);
        block[r * t + frames..(r + 1) * t].fill(0.0);
    }
}

/// The fewest frames (and frequency rows) `kind` takes: batches of shorter samples are
/// padded to it.
pub(crate) fn min_frames(kind: ModelKind) -> usize {
    match kind {
        ModelKind::Small => 32,
        ModelKind::XResNet18 => 1,
    }
}

/// Frames of the batch `idx` of `src`: its longest sample, at least `min` (the model's
/// [`min_frames`]) and at most `sample_shape()[2]`.
pub(crate) fn batch_frames(src: &dyn BatchSource, idx: &[usize], min: usize) -> usize {
    let full = src.sample_shape()[2];
    idx.iter()
        .map(|&i| src.frames(i))
        .max()
        .unwrap_or(full)
        .max(min)
        .min(full)
}

/// `C*F*T` of `shape`, or an error when it overflows.
pub(crate) fn sample_len(shape: [usize; 3]) -> Result<usize, TrainError> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| TrainError::InvalidData(format!("sample shape {shape:?} overflows")))
}

fn check_values_streaming<S: BatchSource + ?Sized>(
    src: &S,
    non_negative: bool,
) -> Result<(), TrainError> {
    let sl = sample_len(src.sample_shape())?;
    let n = src.len();
    let mut buf = vec![0.0f32; CHECK_CHUNK.min(n) * sl];
    let all: Vec<usize> = (0..n).collect();
    for chunk in all.chunks(CHECK_CHUNK) {
        let out = &mut buf[..chunk.len() * sl];
        src.fill(chunk, out)?;
        for (&i, values) in chunk.iter().zip(out.chunks_exact(sl)) {
            let bad = |what: &str, j: usize, v: f32| {
                Err(TrainError::InvalidData(format!(
                    "{}: value {v} at index {j} of the sample {what}",
                    src.sample_name(i)
                )))
            };
            if let Some(j) = values.iter().position(|v| !v.is_finite()) {
                return bad("is not finite", j, values[j]);
            }
            if non_negative {
                if let Some(j) = values.iter().position(|v| *v < 0.0) {
                    return bad(
                        "is negative; the PCEN front layer takes a power spectrogram",
                        j,
                        values[j],
                    );
                }
            }
        }
    }
    Ok(())
}

/// The checks every training entry point makes before it reads `src`: not empty, the
/// channels and minimum size of `spec`, labels in range, for a PCEN front layer of `front_freq`
/// channels the same F, then [`BatchSource::check_values`].
pub(crate) fn validate_source(
    src: &dyn BatchSource,
    spec: &ModelSpec,
    front_freq: Option<i64>,
) -> Result<(), TrainError> {
    let shape = src.sample_shape();
    sample_len(shape)?;
    if src.labels().len() != src.len() {
        return Err(TrainError::InvalidData(format!(
            "{} labels for {} samples",
            src.labels().len(),
            src.len()
        )));
    }
    if src.is_empty() {
        return Err(TrainError::InvalidData("dataset is empty".into()));
    }
    if shape[0] as i64 != spec.in_channels {
        return Err(TrainError::InvalidData(format!(
            "data has {} channels, model expects {}",
            shape[0], spec.in_channels
        )));
    }
    let min = min_frames(spec.kind);
    if shape[1] < min || shape[2] < min {
        return Err(TrainError::InvalidData(format!(
            "spatial size {}x{} below the minimum {min}x{min} of {:?}",
            shape[1], shape[2], spec.kind
        )));
    }
    if let Some(i) = (0..src.len()).find(|&i| !(1..=shape[2]).contains(&src.frames(i))) {
        return Err(TrainError::InvalidData(format!(
            "{}: {} frames, outside 1..={} (the longest sample)",
            src.sample_name(i),
            src.frames(i),
            shape[2]
        )));
    }
    if let Some(i) = src
        .labels()
        .iter()
        .position(|&c| c < 0 || c >= spec.n_classes)
    {
        return Err(TrainError::InvalidData(format!(
            "{}: label {} outside 0..{}",
            src.sample_name(i),
            src.labels()[i],
            spec.n_classes
        )));
    }
    if let Some(n_freq) = front_freq {
        if shape[1] as i64 != n_freq {
            return Err(TrainError::InvalidData(format!(
                "data has {} frequency bins, the PCEN front layer {n_freq}",
                shape[1]
            )));
        }
    }
    src.check_values(front_freq.is_some())
}

/// [`validate_source`] against `model` (its spec and PCEN front layer).
pub(crate) fn validate_for_model(src: &dyn BatchSource, model: &Model) -> Result<(), TrainError> {
    validate_source(src, &model.spec, model.front.as_ref().map(|f| f.n_freq))
}
