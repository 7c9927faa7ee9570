//! The block STFT: `W` frames per block through [`LaneFft`], power, mel and log
//! fused on the block while it is in L1, each bin's `W` frames written as one
//! contiguous run of the freq-major output. Dispatched at run time to an
//! AVX-512 build (16 lanes) or an AVX2 build (8 lanes) of the same code; all
//! builds give bit-identical output (no FMA contraction, same operations).

use ndarray::ArrayViewMut2;

use crate::lanes::LaneFft;
use crate::mel::SparseMel;
use crate::plan::{ScaleOp, SpectrogramPlan};

/// Per-thread buffers of the block STFT, sized for 16 lanes.
#[derive(Default)]
pub(crate) struct LaneScratch {
    bufs: [Vec<f32>; 4],
    spec: [Vec<f32>; 2],
    frame: Vec<f32>,
    power: Vec<f32>,
    mel: Vec<f32>,
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
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                return unsafe { self.run_avx512(fft, samples, out, s) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.run_avx2(fft, samples, out, s) };
            }
        }
        self.run_w::<8>(fft, samples, out, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn run_avx512(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        self.run_w::<16>(fft, samples, out, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        self.run_w::<8>(fft, samples, out, s)
    }

    #[inline(always)]
    pub(crate) fn run_w<const W: usize>(
        &self,
        fft: &LaneFft,
        samples: &[f32],
        out: &mut ArrayViewMut2<f32>,
        s: &mut LaneScratch,
    ) -> f32 {
        let stft = &self.cfg.stft;
        let (n_fft, n_freqs, n_bins) = (stft.n_fft, self.n_freqs, self.n_bins());
        let n_frames = out.ncols();
        let power = stft.power;
        for b in &mut s.bufs {
            b.resize(fft.buf_len(W), 0.0);
        }
        for b in &mut s.spec {
            b.resize(n_freqs * W, 0.0);
        }
        s.frame.resize(n_fft, 0.0);
        s.power.resize(n_freqs * W, 0.0);
        s.mel.resize(n_bins * W, 0.0);
        let pad = stft.pad() as isize;
        let mut global_max = f32::NEG_INFINITY;
        let mut t0 = 0;
        while t0 < n_frames {
            let b = W.min(n_frames - t0);
            let [re, im, re2, im2] = &mut s.bufs;
            let half = n_fft / 2;
            let (re_in, im_in) = (&mut re[..half * W], &mut im[..half * W]);
            for l in 0..W {
                let lanes = re_in.chunks_exact_mut(W).zip(im_in.chunks_exact_mut(W));
                if l < b {
                    let start = ((t0 + l) * stft.hop_length) as isize - pad;
                    self.fill_frame(samples, start, &mut s.frame);
                    for ((r, i), pair) in lanes.zip(s.frame.chunks_exact(2)) {
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
            let [sr, si] = &mut s.spec;
            fft.run::<W>([re, im, re2, im2], sr, si);
            power_lanes(power, sr, si, &mut s.power);
            let block = match &self.mel {
                Some(mel) => {
                    mel_lanes::<W>(mel, &s.power, &mut s.mel);
                    &mut s.mel[..]
                }
                None => &mut s.power[..],
            };
            if let ScaleOp::Log { log, floor, .. } = self.scale {
                global_max = global_max.max(log.apply_generic(block, floor));
            }
            write_block::<W>(block, b, t0, out);
            t0 += b;
        }
        global_max
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
#[inline(always)]
fn mel_lanes<const W: usize>(mel: &SparseMel, power: &[f32], out: &mut [f32]) {
    for (m, (start, w)) in mel.bands().enumerate() {
        let mut acc = [0.0f32; W];
        for (i, &wk) in w.iter().enumerate() {
            let p = &power[(start + i) * W..(start + i + 1) * W];
            for l in 0..W {
                acc[l] += wk * p[l];
            }
        }
        out[m * W..(m + 1) * W].copy_from_slice(&acc);
    }
}

/// `out[k, t0 + l] = block[k * W + l]` for `l < b`.
#[inline(always)]
fn write_block<const W: usize>(block: &[f32], b: usize, t0: usize, out: &mut ArrayViewMut2<f32>) {
    let n_frames = out.ncols();
    if let Some(dst) = out.as_slice_mut() {
        for (row, src) in dst.chunks_exact_mut(n_frames).zip(block.chunks_exact(W)) {
            row[t0..t0 + b].copy_from_slice(&src[..b]);
        }
    } else {
        for (k, src) in block.chunks_exact(W).enumerate() {
            for (l, &v) in src[..b].iter().enumerate() {
                out[[k, t0 + l]] = v;
            }
        }
    }
}
