//! Rational-ratio polyphase resampler reproducing `torchaudio.functional.resample`.

use crate::AudioError;

mod kernel;

use kernel::{Fused, Kernel, Mac, Plain};

/// torchaudio's default `lowpass_filter_width`.
const LOWPASS_FILTER_WIDTH: f64 = 6.0;
/// torchaudio's default `rolloff`.
const ROLLOFF: f64 = 0.99;
/// Taps per phase are padded to a multiple of this (SIMD-friendly dot products).
const LANES: usize = 8;
/// Largest filter table (phases x taps) we agree to build.
const MAX_TABLE: usize = 1 << 26;

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
/// inside the kernel's support are stored (about 34, padded to 40) — the
/// others are exactly 0 in f32. Kernels are built in f64 and stored in f32;
/// accumulation is in f32, so results agree with torchaudio to a few f32 ulps.
///
/// Frequency response (torchaudio's): flat to `0.99 * min(from, to) / 2`,
/// a transition band up to about 1.25x the lower Nyquist, then at least
/// 40 dB of attenuation (44.1 kHz -> 16 kHz: 9 kHz is only -16.8 dB,
/// 10 kHz and above <= -44 dB).
///
/// On x86_64 with AVX2+FMA (detected at run time) the dot products use
/// 256-bit FMA; elsewhere a portable loop. The two agree to ~1e-7.
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
    /// Stored taps per phase (multiple of `LANES`); 0 for the identity.
    taps: usize,
    /// `new * taps` coefficients, phase-major.
    kernel: Vec<f32>,
    /// Per phase: input index of the first stored tap relative to `block * orig`.
    offsets: Vec<isize>,
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
        let taps = max_len.div_ceil(LANES) * LANES;
        let mut kernel = vec![0.0f32; new * taps];
        let mut offsets = Vec::with_capacity(new);
        for (j, (off, row)) in rows.into_iter().enumerate() {
            kernel[j * taps..j * taps + row.len()].copy_from_slice(&row);
            offsets.push(off);
        }
        Ok(Resampler {
            from_hz,
            to_hz,
            orig,
            new,
            taps,
            kernel,
            offsets,
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

    /// Stored (non-zero, padded) filter taps per output sample; 0 for the identity.
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
    /// portable one when this CPU lacks it.
    ///
    /// There is no AVX-512 build: one (16 outputs per group, each in a `zmm`
    /// accumulator, a 16-way transpose-add, aligned 16-tap kernel rows) was
    /// measured on an AVX-512 Xeon no faster than this AVX2 one (0.186 vs
    /// 0.182 ms per 5 s clip, docs/BENCH.md), so it was not kept.
    fn run_kernel(&self, want: Kernel, input: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if want == Kernel::Avx2
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above),
                // which is all `run_avx2_fma` requires.
                unsafe { self.run_avx2_fma(input, out) };
                return;
            }
        }
        let _ = want;
        self.run::<Plain>(input, out);
    }

    /// AVX2 + FMA: eight consecutive outputs at a time, each accumulated in
    /// its own 8-lane register, then reduced together by a transpose-add
    /// (6 `hadd` + 2 lane permutes for 8 outputs instead of a horizontal sum
    /// each). Groups that touch the zero padding go through [`Resampler::run_n`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2_fma(&self, input: &[f32], out: &mut [f32]) {
        // A compile-time vector count unrolls the dot products.
        match self.taps / LANES {
            1 => self.run_groups::<1>(input, out),
            2 => self.run_groups::<2>(input, out),
            3 => self.run_groups::<3>(input, out),
            4 => self.run_groups::<4>(input, out),
            5 => self.run_groups::<5>(input, out),
            6 => self.run_groups::<6>(input, out),
            7 => self.run_groups::<7>(input, out),
            8 => self.run_groups::<8>(input, out),
            _ => self.run_groups::<0>(input, out),
        }
    }

    /// [`Resampler::run_avx2_fma`] for `V` vectors of taps per output (`V == 0`: any).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_groups<const V: usize>(&self, input: &[f32], out: &mut [f32]) {
        use std::arch::x86_64::*;
        const G: usize = 8;
        let taps = if V == 0 { self.taps } else { V * LANES };
        let vecs = taps / LANES;
        let len = input.len() as isize;
        let inside = |start: isize| start >= 0 && start + taps as isize <= len;
        let lowest = self.offsets.iter().copied().min().unwrap_or(0);
        let highest = self.offsets.iter().copied().max().unwrap_or(0);
        for (block, chunk) in out.chunks_mut(self.new).enumerate() {
            let base = (block * self.orig) as isize;
            // Every output of an interior block reads only real input.
            let interior = inside(base + lowest) && inside(base + highest);
            let mut j = 0;
            while j < chunk.len() {
                let g = G.min(chunk.len() - j);
                let offs = &self.offsets[j..j + g];
                if g < G || !(interior || offs.iter().all(|&o| inside(base + o))) {
                    // Edge or tail group: one output at a time.
                    self.run_range::<Fused>(input, chunk, block, j, j + g);
                    j += g;
                    continue;
                }
                let mut acc = [_mm256_setzero_ps(); G];
                for (i, a) in acc.iter_mut().enumerate() {
                    // SAFETY: `inside` holds for this output, so its `taps`
                    // inputs are in bounds; the kernel row has `taps` values.
                    let x = input.as_ptr().offset(base + offs[i]);
                    let k = self.kernel.as_ptr().add((j + i) * taps);
                    for t in 0..vecs {
                        *a = _mm256_fmadd_ps(
                            _mm256_loadu_ps(k.add(t * LANES)),
                            _mm256_loadu_ps(x.add(t * LANES)),
                            *a,
                        );
                    }
                }
                let t0 = _mm256_hadd_ps(acc[0], acc[1]);
                let t1 = _mm256_hadd_ps(acc[2], acc[3]);
                let t2 = _mm256_hadd_ps(acc[4], acc[5]);
                let t3 = _mm256_hadd_ps(acc[6], acc[7]);
                let u0 = _mm256_hadd_ps(t0, t1);
                let u1 = _mm256_hadd_ps(t2, t3);
                let sums = _mm256_add_ps(
                    _mm256_permute2f128_ps::<0x20>(u0, u1),
                    _mm256_permute2f128_ps::<0x31>(u0, u1),
                );
                // SAFETY: g == G, so chunk[j..j + 8] exists.
                _mm256_storeu_ps(chunk.as_mut_ptr().add(j), sums);
                j += G;
            }
        }
    }

    /// Outputs `lo..hi` of `block` (its `chunk` of `out`), one at a time.
    #[inline(always)]
    fn run_range<M: Mac>(
        &self,
        input: &[f32],
        chunk: &mut [f32],
        block: usize,
        lo: usize,
        hi: usize,
    ) {
        let taps = self.taps;
        let len = input.len() as isize;
        let base = (block * self.orig) as isize;
        for (j, o) in chunk.iter_mut().enumerate().take(hi).skip(lo) {
            let k = &self.kernel[j * taps..(j + 1) * taps];
            let start = base + self.offsets[j];
            *o = if start >= 0 && start + taps as isize <= len {
                let s = start as usize;
                M::dot(k, &input[s..s + taps])
            } else {
                dot_edge(k, input, start)
            };
        }
    }

    /// Fill `out` (already `output_len` long): output `n = block * new + j`
    /// is the phase-`j` kernel applied at input `block * orig + offsets[j]`.
    /// Common tap counts get a compile-time length so the dot product is
    /// fully unrolled with its accumulators in registers.
    #[inline(always)]
    fn run<M: Mac>(&self, input: &[f32], out: &mut [f32]) {
        match self.taps {
            8 => self.run_n::<M, 8>(input, out),
            16 => self.run_n::<M, 16>(input, out),
            24 => self.run_n::<M, 24>(input, out),
            32 => self.run_n::<M, 32>(input, out),
            40 => self.run_n::<M, 40>(input, out),
            48 => self.run_n::<M, 48>(input, out),
            56 => self.run_n::<M, 56>(input, out),
            64 => self.run_n::<M, 64>(input, out),
            80 => self.run_n::<M, 80>(input, out),
            _ => self.run_n::<M, 0>(input, out),
        }
    }

    /// [`Resampler::run`] for `N` taps (`N == 0`: any `self.taps`).
    #[inline(always)]
    fn run_n<M: Mac, const N: usize>(&self, input: &[f32], out: &mut [f32]) {
        let taps = if N == 0 { self.taps } else { N };
        let len = input.len() as isize;
        for (block, chunk) in out.chunks_mut(self.new).enumerate() {
            let base = (block * self.orig) as isize;
            for ((o, &off), k) in chunk
                .iter_mut()
                .zip(&self.offsets)
                .zip(self.kernel.chunks_exact(taps))
            {
                let start = base + off;
                *o = if start >= 0 && start + taps as isize <= len {
                    let s = start as usize;
                    let x = &input[s..s + taps];
                    if N == 0 {
                        M::dot(k, x)
                    } else {
                        // Fixed-size views: lengths known at compile time.
                        match (<&[f32; N]>::try_from(k), <&[f32; N]>::try_from(x)) {
                            (Ok(k), Ok(x)) => M::dot(k, x),
                            _ => M::dot(k, &input[s..s + taps]),
                        }
                    }
                } else {
                    dot_edge(k, input, start)
                };
            }
        }
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

/// Dot product where part of the window falls outside the input (zero padding).
fn dot_edge(k: &[f32], input: &[f32], start: isize) -> f32 {
    let mut acc = 0.0f32;
    for (t, &c) in k.iter().enumerate() {
        let i = start + t as isize;
        if i >= 0 && (i as usize) < input.len() {
            acc += c * input[i as usize];
        }
    }
    acc
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
mod tests {
    use super::*;

    /// The AVX2 + FMA build agrees with the portable one (what machines without
    /// AVX2 run) to f32 rounding, on interior groups, block tails and the
    /// zero-padded edges, and writes every output; the dispatched one is checked
    /// against torchaudio golden data in tests/resample.rs. Skipped, and said
    /// so, on a CPU without AVX2 + FMA.
    #[test]
    fn avx2_build_matches_the_portable_path() {
        if Kernel::detect() != Kernel::Avx2 {
            eprintln!("skipped: this CPU lacks AVX2 + FMA; only the portable build runs here");
            return;
        }
        for (from, to) in [
            (44_100, 16_000),
            (8_000, 16_000),
            (96_000, 16_000),
            (16_000, 22_050),
            (48_000, 44_100),
        ] {
            let r = Resampler::new(from, to).unwrap();
            let x: Vec<f32> = (0..5_000)
                .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.8)
                .collect();
            let n = r.output_len(x.len());
            let mut plain = vec![0.0; n];
            r.run_kernel(Kernel::Portable, &x, &mut plain);
            assert!(plain.iter().any(|v| v.abs() > 0.1), "{from}->{to}: silent");
            let mut fast = vec![f32::NAN; n];
            r.run_kernel(Kernel::Avx2, &x, &mut fast);
            let err = fast
                .iter()
                .zip(&plain)
                .map(|(a, b)| (a - b).abs())
                // A NaN (an output left unwritten) counts as infinitely wrong.
                .fold(0.0f32, |m, e| {
                    m.max(if e.is_nan() { f32::INFINITY } else { e })
                });
            assert!(err < 1e-6, "{from}->{to}: {err}");
            assert_eq!(r.process(&x), fast, "{from}->{to}: dispatch");
        }
    }

    #[test]
    fn gcd_reduces() {
        assert_eq!(gcd(44_100, 16_000), 100);
        assert_eq!(gcd(8_000, 16_000), 8_000);
        let r = Resampler::new(44_100, 16_000).unwrap();
        assert_eq!((r.orig, r.new), (441, 160));
    }
}
