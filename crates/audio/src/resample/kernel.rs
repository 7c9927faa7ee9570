//! The resampler's inner dot products: which build runs ([`Kernel`], detected at run time) and
//! the multiply-accumulate flavours ([`Mac`]: portable, AVX2 + FMA).

use super::LANES;

/// Which build of the resampler's inner loop runs (tests pin one to compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kernel {
    /// The portable loop.
    Portable,
    /// AVX2 + FMA, 8 outputs at a time.
    Avx2,
}

impl Kernel {
    /// The widest build this CPU supports.
    pub(super) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }
}

/// Multiply-accumulate flavour of the inner dot product.
pub(super) trait Mac {
    /// Dot product of equal-length slices whose length is a multiple of
    /// `LANES`, with independent accumulators so LLVM vectorizes it.
    fn dot(k: &[f32], x: &[f32]) -> f32;
}

/// Separate multiply and add (portable; what LLVM vectorizes with SSE2).
pub(super) struct Plain;
/// AVX2 + FMA intrinsics; only used inside `run_avx2_fma`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) struct Fused;

impl Mac for Plain {
    #[inline(always)]
    fn dot(k: &[f32], x: &[f32]) -> f32 {
        let mut acc = [0.0f32; LANES];
        for (kc, xc) in k.chunks_exact(LANES).zip(x.chunks_exact(LANES)) {
            for l in 0..LANES {
                acc[l] += kc[l] * xc[l];
            }
        }
        hsum(acc)
    }
}

impl Mac for Fused {
    #[inline(always)]
    fn dot(k: &[f32], x: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `Fused` is only used from `run_avx2_fma`, which runs
            // after AVX2 and FMA support was detected at runtime.
            unsafe { dot_avx2_fma(k, x) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Plain::dot(k, x)
        }
    }
}

/// 8-lane FMA dot product with two accumulators (LLVM's auto-vectorizer
/// only used 128-bit registers for the portable version).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn dot_avx2_fma(k: &[f32], x: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = k.len().min(x.len()) / LANES;
    let (kp, xp) = (k.as_ptr(), x.as_ptr());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY (all loads): i * 8 + 8 <= n * 8 <= len of both slices.
    while i + 2 <= n {
        acc0 = _mm256_fmadd_ps(
            _mm256_loadu_ps(kp.add(i * LANES)),
            _mm256_loadu_ps(xp.add(i * LANES)),
            acc0,
        );
        acc1 = _mm256_fmadd_ps(
            _mm256_loadu_ps(kp.add(i * LANES + LANES)),
            _mm256_loadu_ps(xp.add(i * LANES + LANES)),
            acc1,
        );
        i += 2;
    }
    if i < n {
        acc0 = _mm256_fmadd_ps(
            _mm256_loadu_ps(kp.add(i * LANES)),
            _mm256_loadu_ps(xp.add(i * LANES)),
            acc0,
        );
    }
    let acc = _mm256_add_ps(acc0, acc1);
    let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

#[inline(always)]
fn hsum(acc: [f32; LANES]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}
