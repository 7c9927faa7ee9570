//! The reusable spectrogram plan.

use std::cell::RefCell;
use std::sync::Arc;

use ndarray::{Array2, ArrayViewMut2};
use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::lanes::LaneFft;
use crate::mel::{try_mel_filterbank, SparseMel};
use crate::scale::{clamp_top_db, LogScale, DB_AMIN};
use crate::stft_lanes::LaneScratch;
use crate::window::padded_window;
use crate::{DspError, PadMode, Scale, SpectrogramConfig};

/// Frames processed per block: spectra are written frame-major into a small
/// block buffer (L1-resident), scaled there, then transposed into the
/// freq-major output, one 64-byte run per output row.
const BLOCK: usize = 16;

/// Per-thread scratch buffers, resized on demand and reused across calls.
#[derive(Default)]
struct Scratch {
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft: Vec<Complex<f32>>,
    power: Vec<f32>,
    mel: Vec<f32>,
    lanes: LaneScratch,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum ScaleOp {
    Power,
    Log {
        log: LogScale,
        floor: f32,
        top_db: Option<f32>,
    },
}

/// A spectrogram computer for one [`SpectrogramConfig`] and sample rate.
///
/// Building it plans the FFT, the (zero-padded) window and the mel filterbank
/// once; it is `Send + Sync` and meant to be shared (e.g. in an `Arc`) across
/// threads. Scratch memory is kept per thread.
///
/// Computation is in **f32** (like torchaudio): the FFT, the power, the mel
/// weighting and a fast f32 log. When `n_fft` is even and `n_fft / 2` has no
/// prime factor above 31 (400 = 2 x 200 does), frames go through a block FFT
/// that transforms 8 or 16 frames at once, one per SIMD lane (AVX-512 or AVX2
/// chosen at run time, bit-identical results), with power, mel and log fused
/// on the block; other sizes use realfft/rustfft frame by frame. Results match
/// torchaudio to 1.1e-3 dB on every bin within 80 dB of the peak.
#[derive(Clone)]
pub struct SpectrogramPlan {
    pub(crate) cfg: SpectrogramConfig,
    sample_rate: u32,
    fft: Arc<dyn RealToComplex<f32>>,
    lanes: Option<Arc<LaneFft>>,
    window: Vec<f32>,
    pub(crate) n_freqs: usize,
    pub(crate) mel: Option<SparseMel>,
    pub(crate) scale: ScaleOp,
}

impl std::fmt::Debug for SpectrogramPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpectrogramPlan")
            .field("cfg", &self.cfg)
            .field("sample_rate", &self.sample_rate)
            .finish_non_exhaustive()
    }
}

impl SpectrogramPlan {
    /// Validates `cfg` and builds the plan.
    ///
    /// Errors with [`DspError::InvalidConfig`] for zero sizes, `win_length > n_fft`,
    /// non-positive power, bad mel band edges (`f_max > sample_rate / 2`, `f_min >= f_max`,
    /// `n_mels == 0`), negative `top_db` or an `Ln` `eps` that is not a normal positive float.
    pub fn new(cfg: &SpectrogramConfig, sample_rate: u32) -> Result<Self, DspError> {
        cfg.validate(sample_rate)?;
        let stft = &cfg.stft;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(stft.n_fft);
        let window = padded_window(stft.window, stft.win_length, stft.n_fft);
        let n_freqs = stft.n_freqs();
        let mel = match &cfg.mel {
            Some(m) => Some(SparseMel::from_dense(&try_mel_filterbank(
                n_freqs,
                sample_rate,
                m,
            )?)),
            None => None,
        };
        let scale = match cfg.scale {
            Scale::Power => ScaleOp::Power,
            Scale::Db { top_db } => ScaleOp::Log {
                log: LogScale::log10(20.0 / stft.power),
                floor: DB_AMIN,
                top_db,
            },
            Scale::Ln { eps } => ScaleOp::Log {
                log: LogScale::new(1.0),
                floor: eps,
                top_db: None,
            },
        };
        Ok(Self {
            cfg: cfg.clone(),
            sample_rate,
            fft,
            lanes: LaneFft::new(stft.n_fft).map(Arc::new),
            window,
            n_freqs,
            mel,
            scale,
        })
    }

    /// The block FFT, when this plan's `n_fft` has one (tests compare its builds).
    #[cfg(test)]
    pub(crate) fn lane_fft(&self) -> Option<&LaneFft> {
        self.lanes.as_deref()
    }

    /// The configuration this plan was built from.
    pub fn config(&self) -> &SpectrogramConfig {
        &self.cfg
    }

    /// The sample rate this plan was built for.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Number of output rows: `n_fft / 2 + 1` (201 by default), or `n_mels`.
    pub fn n_bins(&self) -> usize {
        self.mel.as_ref().map_or(self.n_freqs, SparseMel::n_mels)
    }

    /// Number of output frames for `n_samples` input samples (401 for 80000 by default);
    /// see [`crate::StftConfig::n_frames`].
    pub fn n_frames(&self, n_samples: usize) -> usize {
        self.cfg.stft.n_frames(n_samples)
    }

    /// Output shape `[n_bins, n_frames]` for `n_samples` input samples.
    pub fn output_shape(&self, n_samples: usize) -> [usize; 2] {
        [self.n_bins(), self.n_frames(n_samples)]
    }

    fn check_input(&self, samples: &[f32]) -> Result<(), DspError> {
        if samples.is_empty() {
            return Err(DspError::EmptyInput);
        }
        let (min, reason) = self.cfg.stft.min_input_len();
        if samples.len() < min {
            return Err(DspError::InputTooShort {
                len: samples.len(),
                min,
                reason,
            });
        }
        // Branch-free reduction (vectorizes); locate the culprit only on failure.
        if !samples.iter().fold(true, |ok, x| ok & x.is_finite()) {
            if let Some((index, &value)) = samples.iter().enumerate().find(|(_, x)| !x.is_finite())
            {
                return Err(DspError::NonFiniteInput { index, value });
            }
        }
        Ok(())
    }

    /// Spectrogram of `samples` as a new `[n_bins, n_frames]` array (freq-major, like torch).
    ///
    /// Errors: [`DspError::EmptyInput`], [`DspError::InputTooShort`] (reflect padding needs
    /// `len > n_fft / 2`; `center = false` needs `len >= n_fft`), [`DspError::NonFiniteInput`].
    pub fn compute(&self, samples: &[f32]) -> Result<Array2<f32>, DspError> {
        self.check_input(samples)?;
        let mut out = Array2::zeros((self.n_bins(), self.n_frames(samples.len())));
        self.compute_unchecked(samples, out.view_mut())?;
        Ok(out)
    }

    /// Like [`Self::compute`], writing into `out`, which must have shape
    /// `[n_bins, n_frames]` (any strides; standard layout is fastest).
    pub fn compute_into(&self, samples: &[f32], out: ArrayViewMut2<f32>) -> Result<(), DspError> {
        self.check_input(samples)?;
        let expected = self.output_shape(samples.len());
        let got = [out.nrows(), out.ncols()];
        if expected != got {
            return Err(DspError::ShapeMismatch { expected, got });
        }
        self.compute_unchecked(samples, out)
    }

    /// Computes many clips in parallel (rayon), each with its own result.
    pub fn compute_batch(&self, clips: &[&[f32]]) -> Vec<Result<Array2<f32>, DspError>> {
        clips.par_iter().map(|c| self.compute(c)).collect()
    }

    /// The window, zero-padded to `n_fft`.
    #[inline(always)]
    pub(crate) fn window(&self) -> &[f32] {
        &self.window
    }

    /// Fills `frame` with the windowed, padded frame starting at padded index `start`.
    #[inline(always)]
    pub(crate) fn fill_frame(&self, samples: &[f32], start: isize, frame: &mut [f32]) {
        let n = frame.len();
        let len = samples.len() as isize;
        if start >= 0 && start + n as isize <= len {
            let src = &samples[start as usize..start as usize + n];
            for ((f, &s), &w) in frame.iter_mut().zip(src).zip(&self.window) {
                *f = s * w;
            }
            return;
        }
        let reflect = self.cfg.stft.pad_mode == PadMode::Reflect;
        for (i, (f, &w)) in frame.iter_mut().zip(&self.window).enumerate() {
            let mut idx = start + i as isize;
            let s = if (0..len).contains(&idx) {
                samples[idx as usize]
            } else if reflect {
                // check_input guarantees pad < len, so one reflection lands inside.
                if idx < 0 {
                    idx = -idx;
                } else {
                    idx = 2 * (len - 1) - idx;
                }
                samples.get(idx as usize).copied().unwrap_or(0.0)
            } else {
                0.0
            };
            *f = s * w;
        }
    }

    fn compute_unchecked(&self, samples: &[f32], out: ArrayViewMut2<f32>) -> Result<(), DspError> {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => self.run(samples, out, &mut s),
            // Not reachable (no re-entrancy), but never panic: use fresh buffers.
            Err(_) => self.run(samples, out, &mut Scratch::default()),
        })
    }

    fn run(
        &self,
        samples: &[f32],
        mut out: ArrayViewMut2<f32>,
        s: &mut Scratch,
    ) -> Result<(), DspError> {
        let global_max = match &self.lanes {
            Some(fft) => self.run_lanes(fft, samples, &mut out, &mut s.lanes),
            None => self.run_frames(samples, &mut out, s)?,
        };
        if let ScaleOp::Log {
            top_db: Some(t), ..
        } = self.scale
        {
            match out.as_slice_memory_order_mut() {
                Some(all) => clamp_top_db(all, global_max, t),
                None => out.mapv_inplace(|v| v.max(global_max - t)),
            }
        }
        Ok(())
    }

    /// Frame-by-frame STFT through realfft (sizes the block FFT does not plan);
    /// returns the largest scaled value.
    fn run_frames(
        &self,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut Scratch,
    ) -> Result<f32, DspError> {
        let stft = &self.cfg.stft;
        let n_fft = stft.n_fft;
        let n_freqs = self.n_freqs;
        let n_bins = self.n_bins();
        let n_frames = self.n_frames(samples.len());
        let power = stft.power;
        s.frame.resize(n_fft, 0.0);
        s.spectrum.resize(n_freqs, Complex::new(0.0, 0.0));
        s.fft
            .resize(self.fft.get_scratch_len(), Complex::new(0.0, 0.0));
        s.power.resize(BLOCK * n_freqs, 0.0);
        s.mel.resize(BLOCK * n_bins, 0.0);
        let pad = stft.pad() as isize;
        let mut global_max = f32::NEG_INFINITY;
        let mut t0 = 0;
        while t0 < n_frames {
            let b = BLOCK.min(n_frames - t0);
            for j in 0..b {
                let start = ((t0 + j) * stft.hop_length) as isize - pad;
                self.fill_frame(samples, start, &mut s.frame);
                self.fft
                    .process_with_scratch(&mut s.frame, &mut s.spectrum, &mut s.fft)
                    .map_err(|e| DspError::Fft(e.to_string()))?;
                let row = &mut s.power[j * n_freqs..(j + 1) * n_freqs];
                if power == 2.0 {
                    for (p, c) in row.iter_mut().zip(&s.spectrum) {
                        *p = c.re * c.re + c.im * c.im;
                    }
                } else if power == 1.0 {
                    for (p, c) in row.iter_mut().zip(&s.spectrum) {
                        *p = (c.re * c.re + c.im * c.im).sqrt();
                    }
                } else {
                    let e = power / 2.0;
                    for (p, c) in row.iter_mut().zip(&s.spectrum) {
                        *p = (c.re * c.re + c.im * c.im).powf(e);
                    }
                }
                if let Some(mel) = &self.mel {
                    mel.apply(row, &mut s.mel[j * n_bins..(j + 1) * n_bins]);
                }
            }
            let block = match self.mel {
                Some(_) => &mut s.mel[..b * n_bins],
                None => &mut s.power[..b * n_freqs],
            };
            if let ScaleOp::Log { log, floor, .. } = self.scale {
                global_max = global_max.max(log.apply(block, floor));
            }
            write_transposed(block, n_bins, b, t0, out);
            t0 += b;
        }
        Ok(global_max)
    }
}

/// `out[f, t0 + j] = block[j * n_bins + f]` for `j < b`.
#[inline]
fn write_transposed(
    block: &[f32],
    n_bins: usize,
    b: usize,
    t0: usize,
    out: &mut ArrayViewMut2<f32>,
) {
    let n_frames = out.ncols();
    if let Some(dst) = out.as_slice_mut() {
        // Four frames at a time: each output row gets a contiguous 4-value write.
        let mut j = 0;
        while j + 4 <= b {
            let r0 = &block[j * n_bins..(j + 1) * n_bins];
            let r1 = &block[(j + 1) * n_bins..(j + 2) * n_bins];
            let r2 = &block[(j + 2) * n_bins..(j + 3) * n_bins];
            let r3 = &block[(j + 3) * n_bins..(j + 4) * n_bins];
            let c = t0 + j;
            for ((((row, &a), &b1), &b2), &b3) in dst
                .chunks_exact_mut(n_frames)
                .zip(r0)
                .zip(r1)
                .zip(r2)
                .zip(r3)
            {
                row[c..c + 4].copy_from_slice(&[a, b1, b2, b3]);
            }
            j += 4;
        }
        for j in j..b {
            let src = &block[j * n_bins..(j + 1) * n_bins];
            for (row, &v) in dst.chunks_exact_mut(n_frames).zip(src) {
                row[t0 + j] = v;
            }
        }
    } else {
        for j in 0..b {
            let src = &block[j * n_bins..(j + 1) * n_bins];
            for (d, &v) in out.column_mut(t0 + j).iter_mut().zip(src) {
                *d = v;
            }
        }
    }
}
