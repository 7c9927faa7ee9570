//! The resampler's builds ([`Kernel`], detected at run time) and the lane vectors they compute
//! on ([`Lane`]: a portable array, AVX2 + FMA `__m256`, AVX-512F `__m512`).
//!
//! Every vector operation is, per lane, one IEEE-754 f32 fused multiply-add (one rounding), a
//! load, a store or a broadcast, so the vector types give bit-identical results for the same
//! sequence of operations; the portable one uses `f32::mul_add`, which is correctly rounded on
//! every target. On an x86 CPU without FMA that is a library call per product (~90x slower
//! here), so there the portable loop multiplies and adds separately instead ([`Unfused`]):
//! a few ulps from the others, not bit-identical.
//!
//! # Safety model
//! A value of [`F32x8`] or [`F32x16`] only comes from [`Lane::zero`], [`Lane::splat`] or
//! [`Lane::load`], all `unsafe` with the contract that the CPU supports the type's instruction
//! set. Holding a value is therefore proof of support, which is why `mul_add` is safe.

/// Which build of the resampler's inner loop runs (tests pin one to compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kernel {
    /// The portable loop (`f32::mul_add` on 8-float arrays): every target but x86 without FMA,
    /// and the reference the others are tested against.
    Portable,
    /// The portable loop with a separate multiply and add: x86 CPUs without FMA.
    #[cfg_attr(
        not(any(target_arch = "x86", target_arch = "x86_64")),
        allow(dead_code)
    )]
    Unfused,
    /// AVX2 + FMA, 8 lanes per register.
    Avx2,
    /// AVX-512F, 16 lanes per register.
    Avx512,
}

impl Kernel {
    /// The widest build this CPU supports.
    pub(super) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernel::Avx2;
            }
        }
        if cfg!(any(target_arch = "x86", target_arch = "x86_64")) && !cfg!(target_feature = "fma") {
            return Kernel::Unfused;
        }
        Kernel::Portable
    }
}

/// `W` f32 lanes with a lane-wise fused multiply-add.
pub(super) trait Lane: Copy {
    /// Lanes per vector.
    const W: usize;

    /// Every lane `0.0`.
    ///
    /// # Safety
    /// The CPU must support the type's instruction set (always true for [`Arr`]).
    unsafe fn zero() -> Self;

    /// Every lane `v`.
    ///
    /// # Safety
    /// The CPU must support the type's instruction set.
    unsafe fn splat(v: f32) -> Self;

    /// Loads `W` floats from `p` (no alignment needed).
    ///
    /// # Safety
    /// `p..p + W` must be readable, and the CPU must support the type's instruction set.
    unsafe fn load(p: *const f32) -> Self;

    /// Stores the `W` lanes at `p` (no alignment needed).
    ///
    /// # Safety
    /// `p..p + W` must be writable.
    unsafe fn store(self, p: *mut f32);

    /// Lane-wise `a * b + self`, with a single rounding (but [`Unfused`]'s).
    fn mul_add(self, a: Self, b: Self) -> Self;

    /// The scalar `a * b + c` rounded as `mul_add` rounds it.
    #[inline(always)]
    fn mul_add1(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    /// Transposes a `W x W` block: `dst[c * dst_stride + i] = src[i * src_stride + c]` for
    /// `i, c < W`. (A plain copy: the vector types only reorder bits.)
    ///
    /// # Safety
    /// Those `src` floats must be readable and those `dst` floats writable, the two regions
    /// must not overlap, and the CPU must support the type's instruction set.
    #[inline(always)]
    unsafe fn transpose(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
        for i in 0..Self::W {
            for c in 0..Self::W {
                // SAFETY: the caller guarantees both addresses are valid.
                unsafe { *dst.add(c * dst_stride + i) = *src.add(i * src_stride + c) };
            }
        }
    }
}

/// The portable vector: 8 floats in an array; LLVM vectorizes it as it can.
#[derive(Clone, Copy)]
pub(super) struct Arr(pub(super) [f32; 8]);

/// [`Arr`] with `a * b + c` rounded twice (vectorizable without FMA).
#[derive(Clone, Copy)]
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64")),
    allow(dead_code)
)]
pub(super) struct Unfused(pub(super) [f32; 8]);

impl Lane for Unfused {
    const W: usize = 8;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Self([0.0; 8])
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        Self([v; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p..p + 8` is readable.
        Self(unsafe { std::ptr::read_unaligned(p.cast::<[f32; 8]>()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p..p + 8` is writable.
        unsafe { std::ptr::write_unaligned(p.cast::<[f32; 8]>(), self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Self(std::array::from_fn(|l| a.0[l] * b.0[l] + self.0[l]))
    }
    #[inline(always)]
    fn mul_add1(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

impl Lane for Arr {
    const W: usize = 8;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Self([0.0; 8])
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        Self([v; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p..p + 8` is readable.
        Self(unsafe { std::ptr::read_unaligned(p.cast::<[f32; 8]>()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p..p + 8` is writable.
        unsafe { std::ptr::write_unaligned(p.cast::<[f32; 8]>(), self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Self(std::array::from_fn(|l| a.0[l].mul_add(b.0[l], self.0[l])))
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{F32x16, F32x8};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Lane;

    /// 8 lanes in one `ymm` register (AVX2 + FMA).
    #[derive(Clone, Copy)]
    pub(in super::super) struct F32x8(__m256);

    /// 16 lanes in one `zmm` register (AVX-512F).
    #[derive(Clone, Copy)]
    pub(in super::super) struct F32x16(__m512);

    // These functions are `#[inline(always)]` and only reached from the resampler's
    // `#[target_feature]` entry points, so the intrinsics inline there.
    impl Lane for F32x8 {
        const W: usize = 8;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the caller guarantees AVX.
            Self(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: the caller guarantees AVX.
            Self(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees AVX and 8 readable floats at `p`.
            Self(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: AVX (self exists); the caller guarantees 8 writable floats.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: a value exists, so the CPU has AVX2 and FMA (module safety model).
            Self(unsafe { _mm256_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        unsafe fn transpose(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
            // SAFETY: the caller guarantees AVX, 8 readable rows of 8 floats at `src` and 8
            // writable rows of 8 at `dst`.
            unsafe {
                // (Loops, not closures, so everything inlines into the AVX2 caller.)
                let mut r = [_mm256_setzero_ps(); 8];
                for (i, v) in r.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(src.add(i * src_stride));
                }
                // Within each 128-bit half: pairs of rows interleaved.
                let mut t = [_mm256_setzero_ps(); 8];
                for i in 0..4 {
                    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
                }
                // s[4g + c]: column c (and c + 4 in the upper half) of rows 4g..4g + 4.
                let mut s = [_mm256_setzero_ps(); 8];
                for g in 0..2 {
                    for h in 0..2 {
                        let (a, b) = (t[4 * g + h], t[4 * g + 2 + h]);
                        s[4 * g + 2 * h] = _mm256_shuffle_ps::<0x44>(a, b);
                        s[4 * g + 2 * h + 1] = _mm256_shuffle_ps::<0xEE>(a, b);
                    }
                }
                for c in 0..4 {
                    let lo = _mm256_permute2f128_ps::<0x20>(s[c], s[4 + c]);
                    let hi = _mm256_permute2f128_ps::<0x31>(s[c], s[4 + c]);
                    _mm256_storeu_ps(dst.add(c * dst_stride), lo);
                    _mm256_storeu_ps(dst.add((c + 4) * dst_stride), hi);
                }
            }
        }
    }

    impl Lane for F32x16 {
        const W: usize = 16;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the caller guarantees AVX-512F.
            Self(unsafe { _mm512_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: the caller guarantees AVX-512F.
            Self(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees AVX-512F and 16 readable floats at `p`.
            Self(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: AVX-512F (self exists); the caller guarantees 16 writable floats.
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: a value exists, so the CPU has AVX-512F (module safety model).
            Self(unsafe { _mm512_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        unsafe fn transpose(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
            // SAFETY: the caller guarantees AVX-512F, 16 readable rows of 16 floats at `src`
            // and 16 writable rows of 16 at `dst`.
            unsafe {
                // (Loops, not closures, so everything inlines into the AVX-512 caller.)
                let mut r = [_mm512_setzero_ps(); 16];
                for (i, v) in r.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(src.add(i * src_stride));
                }
                // Per 128-bit lane L: t[2i] = rows 2i, 2i+1 interleaved (columns 4L, 4L + 1),
                // t[2i + 1] the same for columns 4L + 2, 4L + 3.
                let mut t = [_mm512_setzero_pd(); 16];
                for i in 0..8 {
                    t[2 * i] = _mm512_castps_pd(_mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]));
                    t[2 * i + 1] = _mm512_castps_pd(_mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]));
                }
                // u[4g + c], lane L: column 4L + c of rows 4g..4g + 4.
                let mut u = [_mm512_setzero_ps(); 16];
                for g in 0..4 {
                    for h in 0..2 {
                        let (a, b) = (t[4 * g + h], t[4 * g + 2 + h]);
                        u[4 * g + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
                        u[4 * g + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
                    }
                }
                for c in 0..4 {
                    // w0 = lanes 0, 1 of row groups 0, 1; w1 = lanes 2, 3 of them;
                    // w2, w3 the same for row groups 2, 3.
                    let w0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
                    let w1 = _mm512_shuffle_f32x4::<0xEE>(u[c], u[4 + c]);
                    let w2 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
                    let w3 = _mm512_shuffle_f32x4::<0xEE>(u[8 + c], u[12 + c]);
                    // Column 4L + c of all 16 rows.
                    let col = [
                        _mm512_shuffle_f32x4::<0x88>(w0, w2),
                        _mm512_shuffle_f32x4::<0xDD>(w0, w2),
                        _mm512_shuffle_f32x4::<0x88>(w1, w3),
                        _mm512_shuffle_f32x4::<0xDD>(w1, w3),
                    ];
                    for (l, v) in col.into_iter().enumerate() {
                        _mm512_storeu_ps(dst.add((4 * l + c) * dst_stride), v);
                    }
                }
            }
        }
    }
}
