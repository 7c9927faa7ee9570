//! Rational-ratio polyphase resampler reproducing `torchaudio.functional.resample`.

use std::cell::Cell;

use crate::AudioError;

mod kernel;
mod tiled;

use kernel::{Arr, Kernel, Unfused};

/// torchaudio's default `lowpass_filter_width`.
const LOWPASS_FILTER_WIDTH: f64 = 6.0;
/// torchaudio's default `rolloff`.
const ROLLOFF: f64 = 0.99;
/// Largest filter table (phases x taps) we agree to build.
const MAX_TABLE: usize = 1 << 26;

thread_local! {
    /// Each thread's transposed input tile (see `tiled`), reused across calls.
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// A planned resampler from `from_hz` to `to_hz`.
///
/// It computes exactly what `torchaudio.functional.resample(x, from_hz, to_hz)`
/// computes with its defaults (`resampling_method="sinc_interp_hann"`,
/// `lowpass_filter_width=6`, `rolloff=0.99`): the rates are reduced by their
/// gcd to `orig`/`new`, the Hann-windowed sinc kernel of torchaudio is built
/// for each of the `new` output phases, the input is implicitly zero-padded
/// by `width` samples on the left and `width + orig` on the right, and the
/// output has torchaudio's length (see [`Resampler::output_len`]).
///
/// Unlike torchaudio, which convolves every phase with all
/// `2 * width + orig` kernel taps (475 for 44.1 kHz -> 16 kHz), only the taps
/// inside the kernel's support are stored (34 for 44.1 kHz -> 16 kHz, every
/// phase padded with zeros to the longest) — the others are exactly 0 in f32.
/// Kernels are built in f64 and stored in f32; each output accumulates its
/// taps in order with f32 fused multiply-adds, so results agree with
/// torchaudio to a few f32 ulps.
///
/// Frequency response (torchaudio's): flat to `0.99 * min(from, to) / 2`,
/// a transition band up to about 1.25x the lower Nyquist, then at least
/// 40 dB of attenuation (44.1 kHz -> 16 kHz: 9 kHz is only -16.8 dB,
/// 10 kHz and above <= -44 dB).
///
/// The loop is transposed: for each phase and tap, one coefficient times a
/// vector of consecutive blocks' inputs (`orig` apart in the input, contiguous
/// after the input is transposed tile by tile), so there are no horizontal
/// sums. On x86_64 it runs with AVX-512F (16 blocks per register) or
/// AVX2 + FMA (8), detected at run time; elsewhere a portable loop on
/// `f32::mul_add`. All three do the same operations in the same order and
/// give bit-identical results. (An x86 CPU without FMA runs the portable loop
/// with a separate multiply and add instead, a few ulps from the others.)
/// Each thread keeps its transposed tile between calls: about 270 KB for
/// 44.1 kHz -> 16 kHz with AVX-512 (half that with AVX2).
///
/// Planning is done once; the resampler is `Send + Sync` and [`Resampler::process`]
/// can be called from many threads. Equal rates give the identity.
#[derive(Debug, Clone)]
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    /// Reduced input rate (input samples per block).
    orig: usize,
    /// Reduced output rate (output samples = phases per block).
    new: usize,
    /// Stored taps per phase (the longest support; shorter ones padded with 0);
    /// 0 for the identity.
    taps: usize,
    /// `new * taps` coefficients, phase-major.
    kernel: Vec<f32>,
    /// Per phase: input index of the first stored tap relative to `block * orig`.
    offsets: Vec<isize>,
    /// The same filter laid out for the tiled loop.
    tiles: tiled::Tiles,
}

impl Resampler {
    /// Plan a resampler. Errors if a rate is 0 or the reduced ratio would
    /// need a filter table of more than 2^26 coefficients.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Resampler, AudioError> {
        let err = |reason: &str| AudioError::InvalidResampleRate {
            from_hz,
            to_hz,
            reason: reason.to_string(),
        };
        if from_hz == 0 || to_hz == 0 {
            return Err(err("sample rates must be positive"));
        }
        let g = gcd(from_hz, to_hz);
        let orig = (from_hz / g) as usize;
        let new = (to_hz / g) as usize;
        if from_hz == to_hz {
            return Ok(Resampler {
                from_hz,
                to_hz,
                orig,
                new,
                taps: 0,
                kernel: Vec::new(),
                offsets: Vec::new(),
                tiles: tiled::Tiles::default(),
            });
        }
        let lpw = LOWPASS_FILTER_WIDTH;
        let base = orig.min(new) as f64 * ROLLOFF;
        // torchaudio: width = ceil(lowpass_filter_width * orig / base_freq)
        let width = (lpw * orig as f64 / base).ceil() as isize;
        let full = 2 * width + orig as isize; // torchaudio's kernel length
                                              // Support of one phase is ~ 2 * lpw * orig / base taps.
        let est = (2.0 * lpw * orig as f64 / base).ceil() as usize + 4;
        if est.saturating_mul(new) > MAX_TABLE {
            return Err(err("the reduced rate ratio needs too large a filter table"));
        }
        let mut rows: Vec<(isize, Vec<f32>)> = Vec::with_capacity(new);
        let mut max_len = 1usize;
        for j in 0..new {
            let shift = j as f64 / new as f64;
            // k - width in (orig * (shift - lpw/base), orig * (shift + lpw/base)); add a margin.
            let lo = ((orig as f64 * (shift - lpw / base)).floor() as isize - 2 + width).max(0);
            let hi =
                ((orig as f64 * (shift + lpw / base)).ceil() as isize + 2 + width).min(full - 1);
            let mut row: Vec<f32> = (lo..=hi)
                .map(|k| tap(k - width, j, orig, new, base))
                .collect();
            let first = row.iter().position(|&v| v != 0.0).unwrap_or(0);
            let last = row.iter().rposition(|&v| v != 0.0).unwrap_or(first);
            row.truncate(last + 1);
            row.drain(..first);
            if row.is_empty() {
                row.push(0.0);
            }
            max_len = max_len.max(row.len());
            rows.push((lo + first as isize - width, row));
        }
        let taps = max_len;
        let mut kernel = vec![0.0f32; new * taps];
        let mut offsets = Vec::with_capacity(new);
        for (j, (off, row)) in rows.into_iter().enumerate() {
            kernel[j * taps..j * taps + row.len()].copy_from_slice(&row);
            offsets.push(off);
        }
        let tiles = tiled::Tiles::plan(orig, new, taps, &kernel, &offsets);
        Ok(Resampler {
            from_hz,
            to_hz,
            orig,
            new,
            taps,
            kernel,
            offsets,
            tiles,
        })
    }

    /// Input rate in Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// Output rate in Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Stored filter taps per output sample (the longest phase's non-zero
    /// support; the others are padded with zeros to it); 0 for the identity.
    pub fn taps_per_output(&self) -> usize {
        self.taps
    }

    /// Output length for `input_len` input samples, exactly as torchaudio:
    /// `ceil(new * len / orig)` with `orig`/`new` the gcd-reduced rates,
    /// where torchaudio evaluates the quotient as a float32 tensor
    /// (`torch.as_tensor(new * length / orig)`), so for long inputs the
    /// result can be one less than the exact ceiling (e.g. 44.1 kHz -> 16 kHz
    /// of 200101 samples gives 72599, not 72600). That quirk is reproduced.
    /// Equal rates return `input_len`; an empty input gives 0.
    pub fn output_len(&self, input_len: usize) -> usize {
        if self.from_hz == self.to_hz || input_len == 0 {
            return input_len;
        }
        let q = (self.new as f64 * input_len as f64) / self.orig as f64;
        let target = (q as f32).ceil() as usize;
        // The strided convolution yields (floor(len / orig) + 1) * new samples.
        target.min((input_len / self.orig + 1) * self.new)
    }

    /// Resample `input` into a new vector.
    pub fn process(&self, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        self.process_into(input, &mut out);
        out
    }

    /// Resample `input` into `out` (cleared first; its allocation is reused).
    pub fn process_into(&self, input: &[f32], out: &mut Vec<f32>) {
        out.clear();
        if self.from_hz == self.to_hz {
            out.extend_from_slice(input);
            return;
        }
        let n_out = self.output_len(input.len());
        out.resize(n_out, 0.0);
        self.run_kernel(Kernel::detect(), input, out);
    }

    /// Fill `out` (already `output_len` long) with the build `want`, or the
    /// next narrower one this CPU has (the fused portable one in the end).
    fn run_kernel(&self, want: Kernel, input: &[f32], out: &mut [f32]) {
        if out.is_empty() {
            return;
        }
        let mut scratch = SCRATCH.with(Cell::take);
        self.dispatch(want, input, out, &mut scratch);
        SCRATCH.with(|s| s.set(scratch));
    }

    /// [`Resampler::run_kernel`] with the thread's tile buffer.
    fn dispatch(&self, want: Kernel, input: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) {
        #[cfg(target_arch = "x86_64")]
        {
            if want == Kernel::Avx512 && std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above), which is all
                // `run_avx512` requires.
                unsafe { self.run_avx512(input, out, scratch) };
                return;
            }
            if matches!(want, Kernel::Avx2 | Kernel::Avx512)
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above), which is all
                // `run_avx2_fma` requires.
                unsafe { self.run_avx2_fma(input, out, scratch) };
                return;
            }
        }
        if want == Kernel::Unfused {
            // SAFETY: the portable vectors need no particular CPU.
            unsafe { tiled::run::<Unfused>(self, input, out, scratch) }
        } else {
            // SAFETY: as above.
            unsafe { tiled::run::<Arr>(self, input, out, scratch) }
        }
    }

    /// The tiled loop with 16-lane `zmm` vectors (128 blocks per tile).
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, input: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) {
        // SAFETY: AVX-512F is this function's contract.
        unsafe { tiled::run::<kernel::F32x16>(self, input, out, scratch) }
    }

    /// The tiled loop with 8-lane `ymm` vectors and FMA (64 blocks per tile).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2_fma(&self, input: &[f32], out: &mut [f32], scratch: &mut Vec<f32>) {
        // SAFETY: AVX2 and FMA are this function's contract.
        unsafe { tiled::run::<kernel::F32x8>(self, input, out, scratch) }
    }
}

/// One kernel coefficient of torchaudio's `_get_sinc_resample_kernel` for
/// phase `j` and tap offset `m = k - width`.
///
/// `resample()` passes the waveform dtype (float32) to the kernel builder, so
/// torchaudio computes the time grid `t = (-j/new + m/orig) * base_freq` in
/// float32. Its rounding (up to ~1e-5 after the multiplication by
/// `base_freq`) is the largest difference from an ideal f64 kernel, so we
/// replay exactly those float32 operations for `t`, then evaluate window and
/// sinc in f64 and round once to f32.
fn tap(m: isize, j: usize, orig: usize, new: usize, base: f64) -> f32 {
    let lpw = LOWPASS_FILTER_WIDTH as f32;
    let idx = m as f32 / orig as f32;
    let t = (-(j as f32) / new as f32 + idx) * base as f32;
    if t.is_nan() || t.abs() >= lpw {
        // torchaudio clamps t to +-lpw there; the Hann window is then ~0 and
        // the coefficient is below 1e-20 (exactly 0 for an exact pi). We drop
        // those taps: this is what keeps ~34 taps per output instead of 475.
        return 0.0;
    }
    let pi = std::f32::consts::PI;
    let w_arg = t * pi / lpw / 2.0;
    let c = f64::from(w_arg).cos();
    let window = c * c;
    let tp = t * pi;
    let sinc = if tp == 0.0 {
        1.0
    } else {
        f64::from(tp).sin() / f64::from(tp)
    };
    let scale = base / orig as f64;
    (sinc * (window * scale)) as f32
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One-shot convenience: plan a [`Resampler`] and run it once.
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AudioError> {
    Ok(Resampler::new(from_hz, to_hz)?.process(input))
}

#[cfg(test)]
mod tests;
