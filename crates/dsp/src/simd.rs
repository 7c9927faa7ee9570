//! A minimal f32 lane vector for the block STFT: one portable array type and
//! the AVX (8-lane `__m256`) and AVX-512F (16-lane `__m512`) register types.
//!
//! The block FFT used to compute on `[f32; W]` arrays and leave the choice of
//! registers to LLVM; in the 16-lane build it kept the radix-5 butterflies'
//! arrays on the stack (spills and store-forwarding stalls took most of the
//! STFT's time on an AVX-512 CPU). These types pin every value to one register.
//!
//! Every operation is a single IEEE-754 f32 add, subtract or multiply per lane
//! (no FMA contraction, sign flips by xor), so the three types give
//! bit-identical results for the same sequence of operations.
//!
//! # Safety model
//! A value of [`F32x8`] or [`F32x16`] only comes from [`Lane::load`],
//! [`Lane::splat`] or [`Lane::gather`], all `unsafe` with the contract that the CPU supports the
//! type's instruction set. Holding a value is therefore proof of support, which
//! is why the arithmetic methods are safe.

/// `W` f32 lanes with lane-wise arithmetic.
pub(crate) trait Lane: Copy {
    /// Lanes per vector.
    const W: usize;

    /// Loads `W` floats from `p`.
    ///
    /// # Safety
    /// `p..p + W` must be readable, and the CPU must support the type's
    /// instruction set (always true for the portable [`Arr`]).
    unsafe fn load(p: *const f32) -> Self;

    /// Every lane `v`.
    ///
    /// # Safety
    /// The CPU must support the type's instruction set.
    unsafe fn splat(v: f32) -> Self;

    /// Lane `l` is `*p.add(l * stride)`.
    ///
    /// # Safety
    /// Every `p.add(l * stride)`, `l < W`, must be readable, `(W - 1) * stride`
    /// must fit in an `i32`, and the CPU must support the type's instruction set.
    #[inline(always)]
    unsafe fn gather(p: *const f32, stride: usize) -> Self {
        // Scalar loads into a stack array (W <= 16 for every type here); the
        // AVX-512 type overrides this with one gather instruction.
        assert!(Self::W <= 16, "a lane vector of more than 16 floats");
        let mut v = [0.0f32; 16];
        for (l, x) in v.iter_mut().enumerate().take(Self::W) {
            // SAFETY: the caller guarantees `p + l * stride` is readable.
            *x = unsafe { *p.add(l * stride) };
        }
        // SAFETY: `v` holds 16 >= W floats; CPU support is the caller's contract.
        unsafe { Self::load(v.as_ptr()) }
    }

    /// Stores the `W` lanes at `p`.
    ///
    /// # Safety
    /// `p..p + W` must be writable.
    unsafe fn store(self, p: *mut f32);

    /// Lane-wise `self + o`.
    fn add(self, o: Self) -> Self;
    /// Lane-wise `self - o`.
    fn sub(self, o: Self) -> Self;
    /// Lane-wise `self * o`.
    fn mul(self, o: Self) -> Self;
    /// Lane-wise `-self` (sign bit flipped, as scalar negation).
    fn neg(self) -> Self;
    /// `self * r` for a real `r`.
    #[inline(always)]
    fn scale(self, r: f32) -> Self {
        // SAFETY: `self` exists, so the CPU supports this type (module safety model).
        self.mul(unsafe { Self::splat(r) })
    }
}

/// The portable vector: a plain array; LLVM vectorizes it as it can.
#[derive(Clone, Copy)]
pub(crate) struct Arr<const N: usize>(pub(crate) [f32; N]);

impl<const N: usize> Lane for Arr<N> {
    const W: usize = N;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p..p + N` is readable.
        Self(unsafe { std::ptr::read_unaligned(p.cast::<[f32; N]>()) })
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        Self([v; N])
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p..p + N` is writable.
        unsafe { std::ptr::write_unaligned(p.cast::<[f32; N]>(), self.0) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] + o.0[l]))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] - o.0[l]))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] * o.0[l]))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        Self(self.0.map(|v| -v))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{F32x16, F32x8};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Lane;

    /// 8 lanes in one `ymm` register (AVX).
    #[derive(Clone, Copy)]
    pub(crate) struct F32x8(__m256);

    /// 16 lanes in one `zmm` register (AVX-512F).
    #[derive(Clone, Copy)]
    pub(crate) struct F32x16(__m512);

    // SAFETY (every `unsafe` block of the arithmetic below): a value of the type
    // exists, so the CPU supports AVX (F32x8) or AVX-512F (F32x16): see the
    // module's safety model. These functions are `#[inline(always)]` and only
    // reached from `#[target_feature]` functions, so the intrinsics inline.
    impl Lane for F32x8 {
        const W: usize = 8;

        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees AVX and 8 readable floats at `p`.
            Self(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: the caller guarantees AVX.
            Self(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: AVX (self exists); the caller guarantees 8 writable floats.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Self(unsafe { _mm256_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            Self(unsafe { _mm256_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            Self(unsafe { _mm256_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn neg(self) -> Self {
            Self(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
        }
    }

    impl Lane for F32x16 {
        const W: usize = 16;

        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees AVX-512F and 16 readable floats at `p`.
            Self(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: the caller guarantees AVX-512F.
            Self(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn gather(p: *const f32, stride: usize) -> Self {
            let st = stride as i32; // the caller guarantees 15 * stride fits
                                    // SAFETY: the caller guarantees AVX-512F and that every
                                    // `p + l * stride` is readable (the gather reads exactly those 16 floats).
            Self(unsafe {
                let idx = _mm512_mullo_epi32(
                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                    _mm512_set1_epi32(st),
                );
                _mm512_i32gather_ps::<4>(idx, p)
            })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: AVX-512F (self exists); the caller guarantees 16 writable floats.
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Self(unsafe { _mm512_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            Self(unsafe { _mm512_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            Self(unsafe { _mm512_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn neg(self) -> Self {
            // Integer xor of the sign bit: `_mm512_xor_ps` would need AVX-512DQ.
            Self(unsafe {
                _mm512_castsi512_ps(_mm512_xor_si512(
                    _mm512_castps_si512(self.0),
                    _mm512_set1_epi32(i32::MIN),
                ))
            })
        }
    }
}
