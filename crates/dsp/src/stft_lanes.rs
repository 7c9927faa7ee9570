//! The block STFT: `W` frames per block through [`LaneFft`], power, mel and log
//! fused on the block while it is in L1, each bin's `W` frames written as one
//! contiguous run of the freq-major output. Dispatched at run time to an
//! AVX-512 build (16 lanes in `zmm` registers) or an AVX2 build (8 lanes in
//! `ymm`) of the same code, or a portable 8-lane build; all builds give
//! bit-identical output (no FMA contraction, same operations: see [`crate::simd`]).

use ndarray::ArrayViewMut2;

use crate::lanes::LaneFft;
use crate::mel::SparseMel;
use crate::plan::{ScaleOp, SpectrogramPlan};
use crate::simd::{Arr, Lane};

/// Per-thread buffers of the block STFT, sized for 16 lanes.
#[derive(Default)]
pub(crate) struct LaneScratch {
    bufs: [Vec<f32>; 4],
    spec: [Vec<f32>; 2],
    frame: Vec<f32>,
    power: Vec<f32>,
    mel: Vec<f32>,
}

/// Which build of the block STFT runs (tests pin one to compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LaneBuild {
    /// The portable 8-lane build.
    Portable,
    /// AVX2, 8 lanes (x86_64 only; falls back to portable without AVX2).
    Avx2,
    /// AVX-512F, 16 lanes (x86_64 only; falls back to AVX2/portable without it).
    Avx512,
}

impl LaneBuild {
    /// The widest build this CPU supports.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return LaneBuild::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return LaneBuild::Avx2;
            }
        }
        LaneBuild::Portable
    }
}

impl SpectrogramPlan {
    /// Block STFT of `samples` into `out` (shape already checked); returns the
    /// largest scaled value (for `top_db`).
    pub(crate) fn run_lanes(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        self.run_lanes_with(LaneBuild::detect(), fft, samples, out, s)
    }

    /// [`Self::run_lanes`] with the build `want`, or the widest one below it
    /// that this CPU supports.
    pub(crate) fn run_lanes_with(
        &self,
        want: LaneBuild,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            if want == LaneBuild::Avx512 && std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                return unsafe { self.run_avx512(fft, samples, out, s) };
            }
            if want != LaneBuild::Portable && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.run_avx2(fft, samples, out, s) };
            }
        }
        let _ = want;
        // SAFETY: the portable vector needs no CPU feature.
        unsafe { self.run_w::<Arr<8>>(fft, samples, out, s) }
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        // SAFETY: AVX-512F is this function's precondition; the vectors of
        // `F32x16` need nothing else.
        unsafe { self.run_w::<crate::simd::F32x16>(fft, samples, out, s) }
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        // SAFETY: AVX2 (this function's precondition) implies the AVX of `F32x8`.
        unsafe { self.run_w::<crate::simd::F32x8>(fft, samples, out, s) }
    }

    /// The block STFT on `L`'s lanes.
    ///
    /// # Safety
    /// The CPU must support `L`'s instruction set.
    #[inline(always)]
    unsafe fn run_w<L: Lane>(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        let w = L::W;
        let stft = &self.cfg.stft;
        let (n_fft, n_freqs, n_bins) = (stft.n_fft, self.n_freqs, self.n_bins());
        let n_frames = out.ncols();
        let power = stft.power;
        for b in &mut s.bufs {
            b.resize(fft.buf_len(w), 0.0);
        }
        for b in &mut s.spec {
            b.resize(n_freqs * w, 0.0);
        }
        s.frame.resize(n_fft, 0.0);
        s.power.resize(n_freqs * w, 0.0);
        s.mel.resize(n_bins * w, 0.0);
        let pad = stft.pad() as isize;
        // Gathers only in the 16-lane (AVX-512) build, where they were measured
        // faster than the scalar lane fill (0.34 -> 0.29 ms of STFT per clip);
        // AVX2 gathers are slow on some CPUs (AMD Zen 2), unmeasured here.
        let gather_ok = w == 16 && i32::try_from((w - 1) * stft.hop_length).is_ok();
        let mut global_max = f32::NEG_INFINITY;
        let mut t0 = 0;
        while t0 < n_frames {
            let b = w.min(n_frames - t0);
            let [re, im, re2, im2] = &mut s.bufs;
            let half = n_fft / 2;
            let (re_in, im_in) = (&mut re[..half * w], &mut im[..half * w]);
            let start0 = (t0 * stft.hop_length) as isize - pad;
            let last = start0 + ((w - 1) * stft.hop_length + n_fft) as isize;
            if b == w && start0 >= 0 && last <= samples.len() as isize && gather_ok {
                // A full block of frames inside the signal: lane `l` of pair `j` is
                // sample `start0 + l hop + 2 j` (and `+ 1`), times the window, as
                // `fill_frame` computes it, gathered straight into the lane layout.
                let win = self.window();
                let src = &samples[start0 as usize..last as usize];
                for (j, (r, i)) in re_in
                    .chunks_exact_mut(w)
                    .zip(im_in.chunks_exact_mut(w))
                    .enumerate()
                {
                    // SAFETY: lane l reads src[l hop + 2 j (+ 1)] <= (w - 1) hop +
                    // n_fft - 1 < src.len(); `gather_ok` checked that (w - 1) hop
                    // fits an i32; `r`, `i` hold `w` floats; CPU support of `L` is
                    // this function's contract.
                    unsafe {
                        let p = src.as_ptr().add(2 * j);
                        L::gather(p, stft.hop_length)
                            .scale(win[2 * j])
                            .store(r.as_mut_ptr());
                        L::gather(p.add(1), stft.hop_length)
                            .scale(win[2 * j + 1])
                            .store(i.as_mut_ptr());
                    }
                }
            } else {
                self.fill_lanes(samples, t0, b, w, re_in, im_in, &mut s.frame);
            }
            let [sr, si] = &mut s.spec;
            // SAFETY: CPU support of `L` is this function's contract.
            unsafe { fft.run::<L>([re, im, re2, im2], sr, si) };
            power_lanes(power, sr, si, &mut s.power);
            let block = match &self.mel {
                Some(mel) => {
                    // SAFETY: CPU support of `L` is this function's contract.
                    unsafe { mel_lanes::<L>(mel, &s.power, &mut s.mel) };
                    &mut s.mel[..]
                }
                None => &mut s.power[..],
            };
            if let ScaleOp::Log { log, floor, .. } = self.scale {
                // `L::W` is a constant: this picks one build at compile time.
                let m = if w == 16 {
                    log.apply_lanes::<16>(block, floor)
                } else {
                    log.apply_lanes::<8>(block, floor)
                };
                global_max = global_max.max(m);
            }
            write_block(block, w, b, t0, out);
            t0 += b;
        }
        global_max
    }
}

impl SpectrogramPlan {
    /// The packed frames `t0..t0 + b` in lane layout (`re[j w + l]`, `im[j w + l]`:
    /// windowed samples `2 j` and `2 j + 1` of frame `t0 + l`), one frame at a time
    /// through [`Self::fill_frame`] (padding and reflection at the edges); lanes
    /// `b..w` are zero.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn fill_lanes(
        &self,
        samples: &[f32],
        t0: usize,
        b: usize,
        w: usize,
        re_in: &mut [f32],
        im_in: &mut [f32],
        frame: &mut [f32],
    ) {
        let stft = &self.cfg.stft;
        let pad = stft.pad() as isize;
        for l in 0..w {
            let lanes = re_in.chunks_exact_mut(w).zip(im_in.chunks_exact_mut(w));
            if l < b {
                let start = ((t0 + l) * stft.hop_length) as isize - pad;
                self.fill_frame(samples, start, frame);
                for ((r, i), pair) in lanes.zip(frame.chunks_exact(2)) {
                    r[l] = pair[0];
                    i[l] = pair[1];
                }
            } else {
                // Lanes past the last frame are silent: they scale to the
                // floor, which never raises the maximum, and are not written.
                for (r, i) in lanes {
                    r[l] = 0.0;
                    i[l] = 0.0;
                }
            }
        }
    }
}

/// `|X|^power` of every value of the block spectrum.
#[inline(always)]
fn power_lanes(power: f32, re: &[f32], im: &[f32], out: &mut [f32]) {
    let sq = re.iter().zip(im).map(|(r, i)| r * r + i * i);
    let out = out.iter_mut();
    if power == 2.0 {
        out.zip(sq).for_each(|(o, v)| *o = v);
    } else if power == 1.0 {
        out.zip(sq).for_each(|(o, v)| *o = v.sqrt());
    } else {
        out.zip(sq).for_each(|(o, v)| *o = v.powf(power / 2.0));
    }
}

/// `out[m, l] = sum_k fb[k, m] * power[k, l]` (the sums of `SparseMel::apply`, lane-wise).
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
unsafe fn mel_lanes<L: Lane>(mel: &SparseMel, power: &[f32], out: &mut [f32]) {
    let w = L::W;
    for (m, (start, wts)) in mel.bands().enumerate() {
        let p = &power[start * w..(start + wts.len()) * w];
        let o = &mut out[m * w..(m + 1) * w];
        // SAFETY: `p` holds `wts.len()` runs of `w` floats and `o` one (sliced
        // above, so in bounds); CPU support of `L` is the caller's contract.
        unsafe {
            let mut acc = L::splat(0.0);
            for (i, &wk) in wts.iter().enumerate() {
                acc = acc.add(L::load(p.as_ptr().add(i * w)).scale(wk));
            }
            acc.store(o.as_mut_ptr());
        }
    }
}

/// `out[k, t0 + l] = block[k * w + l]` for `l < b`.
#[inline(always)]
fn write_block(block: &[f32], w: usize, b: usize, t0: usize, out: &mut ArrayViewMut2<f32>) {
    let n_frames = out.ncols();
    if let Some(dst) = out.as_slice_mut() {
        if b == w {
            // A full block: `w` is a compile-time constant here, so each row's
            // copy is one or two vector moves instead of a `memcpy` call.
            for (row, src) in dst.chunks_exact_mut(n_frames).zip(block.chunks_exact(w)) {
                row[t0..t0 + w].copy_from_slice(src);
            }
        } else {
            for (row, src) in dst.chunks_exact_mut(n_frames).zip(block.chunks_exact(w)) {
                row[t0..t0 + b].copy_from_slice(&src[..b]);
            }
        }
    } else {
        for (k, src) in block.chunks_exact(w).enumerate() {
            for (l, &v) in src[..b].iter().enumerate() {
                out[[k, t0 + l]] = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::{MelConfig, Scale, SpectrogramConfig};

    /// Every build of the block STFT gives the same bits as the portable one, for
    /// the default dB spectrogram (a partial last block: 401 frames), a mel one
    /// and a magnitude one. Builds the CPU lacks are skipped, and said so.
    #[test]
    fn every_build_is_bit_identical_to_the_portable_one() {
        let x: Vec<f32> = (0..80_000u32)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                (std::f32::consts::TAU * (300.0 + 900.0 * t) * t).sin() * 0.5
                    + ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0 - 0.5) * 0.01
            })
            .collect();
        let mel = SpectrogramConfig {
            mel: Some(MelConfig::default()),
            ..SpectrogramConfig::default()
        };
        let mut magnitude = SpectrogramConfig::default();
        magnitude.stft.power = 1.0;
        magnitude.scale = Scale::Db { top_db: Some(80.0) };
        let run = |plan: &SpectrogramPlan, build: LaneBuild| {
            let fft = plan.lane_fft().expect("n_fft 400 has a block FFT");
            let mut out = Array2::<f32>::zeros((plan.n_bins(), plan.n_frames(x.len())));
            let max = plan.run_lanes_with(
                build,
                fft,
                &x,
                &mut out.view_mut(),
                &mut LaneScratch::default(),
            );
            (out, max)
        };
        let best = LaneBuild::detect();
        for build in [LaneBuild::Avx2, LaneBuild::Avx512] {
            let supported = matches!(
                (build, best),
                (LaneBuild::Avx512, LaneBuild::Avx512)
                    | (LaneBuild::Avx2, LaneBuild::Avx2 | LaneBuild::Avx512)
            );
            if !supported {
                eprintln!(
                    "skipped: this CPU has no {build:?}; only the builds it runs are compared"
                );
                continue;
            }
            for cfg in [SpectrogramConfig::default(), mel.clone(), magnitude.clone()] {
                let plan = SpectrogramPlan::new(&cfg, 16_000).unwrap();
                let (want, want_max) = run(&plan, LaneBuild::Portable);
                let (got, got_max) = run(&plan, build);
                assert_eq!(got_max.to_bits(), want_max.to_bits(), "{build:?} {cfg:?}");
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{build:?} differs from the portable build for {cfg:?}"
                );
                // Not a vacuous comparison: the output is a real spectrogram.
                assert!(want.iter().any(|&v| v > 0.0) && want.iter().any(|&v| v < -20.0));
            }
        }
    }
}
