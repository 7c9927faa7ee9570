//! A batched real FFT: `W` frames at once, one frame per SIMD lane.
//!
//! Every value of the transform is a vector of `W` lanes (`[f32; W]`), so each
//! butterfly is straight-line vector code with no shuffles, and the result of
//! bin `k` for the `W` frames of a block is the contiguous run
//! `out[k, t0..t0 + W]` of the freq-major output: no transpose either.
//!
//! The real transform of even length `n` packs `z[j] = x[2j] + i x[2j + 1]`,
//! runs a complex Stockham autosort FFT of length `m = n / 2` (radix 4, 2, 3, 5
//! and a direct DFT for other primes up to 31), then splits the spectrum:
//! `X[k] = (Z[k] + Z*[m-k]) / 2 - i/2 e^(-2 pi i k / n) (Z[k] - Z*[m-k])`.
//! Twiddles are computed in f64 and rounded once to f32; arithmetic is plain
//! f32 with no FMA contraction on the lane vectors of [`crate::simd`], so every
//! lane width and instruction set gives bit-identical results.

use std::f64::consts::PI;

use crate::simd::Lane;

/// Largest prime factor of `n / 2` handled by the direct DFT pass.
const MAX_PRIME: usize = 31;

/// One Stockham pass: sub-transforms of length `len` split by `radix`.
struct Pass {
    radix: usize,
    len: usize,
    stride: usize,
    /// `e^(-2 pi i j p / len)` for `p < len / radix`, `1 <= j < radix` (p-major).
    tw: Vec<(f32, f32)>,
    /// `e^(-2 pi i t / radix)` for `t < radix` (direct DFT of prime radices > 5).
    roots: Vec<(f32, f32)>,
}

/// A planned lane-parallel real FFT of length `n`.
pub(crate) struct LaneFft {
    m: usize,
    passes: Vec<Pass>,
    /// `(cos, sin)(2 pi k / n) / 2` for `k <= m`.
    split: Vec<(f32, f32)>,
}

fn root(num: usize, den: usize) -> (f32, f32) {
    let a = -2.0 * PI * num as f64 / den as f64;
    (a.cos() as f32, a.sin() as f32)
}

/// Radices of `m`, largest powers of 4 first; `None` if a prime factor exceeds [`MAX_PRIME`].
fn radices(mut m: usize) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    while m.is_multiple_of(4) {
        out.push(4);
        m /= 4;
    }
    let mut p = 2;
    while m > 1 {
        if p > MAX_PRIME {
            return None;
        }
        while m.is_multiple_of(p) {
            out.push(p);
            m /= p;
        }
        p += 1;
    }
    Some(out)
}

impl LaneFft {
    /// Plans length `n`; `None` when `n` is odd, below 4, or `n / 2` has a prime factor > 31
    /// (callers keep the scalar FFT for those).
    pub(crate) fn new(n: usize) -> Option<Self> {
        if n < 4 || !n.is_multiple_of(2) {
            return None;
        }
        let m = n / 2;
        let mut passes = Vec::new();
        let (mut len, mut stride) = (m, 1);
        for radix in radices(m)? {
            let tw = (0..len / radix)
                .flat_map(|p| (1..radix).map(move |j| root(j * p, len)))
                .collect();
            let roots = (0..radix).map(|t| root(t, radix)).collect();
            passes.push(Pass {
                radix,
                len,
                stride,
                tw,
                roots,
            });
            len /= radix;
            stride *= radix;
        }
        let split = (0..=m)
            .map(|k| {
                let a = 2.0 * PI * k as f64 / n as f64;
                ((0.5 * a.cos()) as f32, (0.5 * a.sin()) as f32)
            })
            .collect();
        Some(Self { m, passes, split })
    }

    /// Floats of each of the four work buffers for `w` lanes.
    pub(crate) fn buf_len(&self, w: usize) -> usize {
        self.m * w
    }

    /// Transforms the packed frames in `bufs[0..2]` (`z[j]` of lane `l` at
    /// `j * W + l`, `m * W` floats each, `W = L::W`), using the other two as the
    /// ping-pong pair, and writes `X[k]` for `k <= m` into `(spec_re, spec_im)`
    /// at `k * W + l`.
    ///
    /// # Safety
    /// The CPU must support `L`'s instruction set (see [`Lane`]).
    #[inline(always)]
    pub(crate) unsafe fn run<L: Lane>(
        &self,
        bufs: [&mut [f32]; 4],
        spec_re: &mut [f32],
        spec_im: &mut [f32],
    ) {
        let w = L::W;
        let [mut xr, mut xi, mut yr, mut yi] = bufs;
        for p in &self.passes {
            // SAFETY: forwarded contract (CPU support of `L`).
            unsafe { pass::<L>(p, xr, xi, yr, yi) };
            std::mem::swap(&mut xr, &mut yr);
            std::mem::swap(&mut xi, &mut yi);
        }
        let m = self.m;
        let (xr, xi) = (&xr[..m * w], &xi[..m * w]);
        let (sr, si) = (&mut spec_re[..(m + 1) * w], &mut spec_im[..(m + 1) * w]);
        for l in 0..w {
            let (z0r, z0i) = (xr[l], xi[l]);
            (sr[l], si[l]) = (z0r + z0i, 0.0);
            (sr[m * w + l], si[m * w + l]) = (z0r - z0i, 0.0);
        }
        assert!(self.split.len() > m.saturating_sub(1));
        let (xr, xi) = (xr.as_ptr(), xi.as_ptr());
        let (sr, si) = (sr.as_mut_ptr(), si.as_mut_ptr());
        for k in 1..m {
            let (c, s) = self.split[k];
            // SAFETY: k and m - k are in 1..m, so every run k W..k W + W is inside
            // the m W floats of x and the (m + 1) W floats of spec (sliced above);
            // CPU support of `L` is the caller's contract.
            unsafe {
                let a = C::<L>::read(xr, xi, k * w);
                let b = C::<L>::read(xr, xi, (m - k) * w);
                // a = Z[k], b = Z[m-k]: E = (a + conj b) / 2, O = (a - conj b) / 2,
                // X = E - i e^(-i theta) O with the halves folded into (c, s).
                let (er, ei) = (a.re.add(b.re), a.im.sub(b.im));
                let (dr, di) = (a.re.sub(b.re), a.im.add(b.im));
                let or = er.scale(0.5).add(di.scale(c).sub(dr.scale(s)));
                let oi = ei.scale(0.5).sub(di.scale(s).add(dr.scale(c)));
                or.store(sr.add(k * w));
                oi.store(si.add(k * w));
            }
        }
    }
}

/// `W` lanes of complex numbers.
#[derive(Clone, Copy)]
struct C<L: Lane> {
    re: L,
    im: L,
}

impl<L: Lane> C<L> {
    /// # Safety
    /// `at + W` must not exceed the length of either buffer; the CPU must support `L`.
    #[inline(always)]
    unsafe fn read(xr: *const f32, xi: *const f32, at: usize) -> Self {
        // SAFETY: forwarded to the caller.
        unsafe {
            Self {
                re: L::load(xr.add(at)),
                im: L::load(xi.add(at)),
            }
        }
    }

    /// # Safety
    /// `at + W` must not exceed the length of either buffer.
    #[inline(always)]
    unsafe fn write(&self, yr: *mut f32, yi: *mut f32, at: usize) {
        // SAFETY: forwarded to the caller.
        unsafe {
            self.re.store(yr.add(at));
            self.im.store(yi.add(at));
        }
    }

    #[inline(always)]
    fn add(&self, o: &Self) -> Self {
        Self {
            re: self.re.add(o.re),
            im: self.im.add(o.im),
        }
    }

    #[inline(always)]
    fn sub(&self, o: &Self) -> Self {
        Self {
            re: self.re.sub(o.re),
            im: self.im.sub(o.im),
        }
    }

    /// `self * (c + i s)`.
    #[inline(always)]
    fn mul(&self, (c, s): (f32, f32)) -> Self {
        Self {
            re: self.re.scale(c).sub(self.im.scale(s)),
            im: self.re.scale(s).add(self.im.scale(c)),
        }
    }

    /// `self * r` for a real `r`.
    #[inline(always)]
    fn scale(&self, r: f32) -> Self {
        Self {
            re: self.re.scale(r),
            im: self.im.scale(r),
        }
    }

    /// `-i * self`.
    #[inline(always)]
    fn neg_i(&self) -> Self {
        Self {
            re: self.im,
            im: self.re.neg(),
        }
    }
}

/// One Stockham pass (decimation in frequency): for each `p < len / radix` and
/// `q < stride`, the radix-point DFT of `x[q + stride (p + k len / radix)]`,
/// twiddled by `e^(-2 pi i j p / len)`, goes to `y[q + stride (radix p + j)]`.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
unsafe fn pass<L: Lane>(p: &Pass, xr: &[f32], xi: &[f32], yr: &mut [f32], yi: &mut [f32]) {
    let io = (xr, xi, yr, yi);
    // SAFETY: forwarded contract (CPU support of `L`).
    unsafe {
        match p.radix {
            2 => pass_r::<L, 2>(p, io),
            3 => pass_r::<L, 3>(p, io),
            4 => pass_r::<L, 4>(p, io),
            5 => pass_r::<L, 5>(p, io),
            _ => pass_dft::<L>(p, io),
        }
    }
}

#[inline(always)]
fn bfly2<L: Lane>(a: &mut [C<L>; 2]) {
    let [a0, a1] = *a;
    *a = [a0.add(&a1), a0.sub(&a1)];
}

#[inline(always)]
fn bfly3<L: Lane>(a: &mut [C<L>; 3]) {
    let [a0, a1, a2] = *a;
    let t1 = a1.add(&a2);
    let t2 = a0.sub(&t1.scale(0.5));
    let t3 = a1.sub(&a2).scale(SIN_60).neg_i();
    *a = [a0.add(&t1), t2.add(&t3), t2.sub(&t3)];
}

#[inline(always)]
fn bfly4<L: Lane>(a: &mut [C<L>; 4]) {
    let [a0, a1, a2, a3] = *a;
    let (t0, t1) = (a0.add(&a2), a0.sub(&a2));
    let (t2, t3) = (a1.add(&a3), a1.sub(&a3).neg_i());
    *a = [t0.add(&t2), t1.add(&t3), t0.sub(&t2), t1.sub(&t3)];
}

#[inline(always)]
fn bfly5<L: Lane>(a: &mut [C<L>; 5]) {
    let [a0, a1, a2, a3, a4] = *a;
    let (t1, t2) = (a1.add(&a4), a2.add(&a3));
    let (t3, t4) = (a1.sub(&a4), a2.sub(&a3));
    let m1 = a0.add(&t1.scale(COS_72)).add(&t2.scale(COS_144));
    let m2 = a0.add(&t1.scale(COS_144)).add(&t2.scale(COS_72));
    let n1 = t3.scale(SIN_72).add(&t4.scale(SIN_144)).neg_i();
    let n2 = t3.scale(SIN_144).sub(&t4.scale(SIN_72)).neg_i();
    *a = [
        a0.add(&t1).add(&t2),
        m1.add(&n1),
        m2.add(&n2),
        m2.sub(&n2),
        m1.sub(&n1),
    ];
}

/// The butterfly of radix `R` on an array of that length.
#[inline(always)]
fn bfly<L: Lane, const R: usize>(a: &mut [C<L>; R]) {
    // The `try_into`s are the identity for the matching `R` (resolved at compile time).
    if let Ok(a) = <&mut [C<L>; 2]>::try_from(&mut a[..]) {
        bfly2(a);
    } else if let Ok(a) = <&mut [C<L>; 3]>::try_from(&mut a[..]) {
        bfly3(a);
    } else if let Ok(a) = <&mut [C<L>; 4]>::try_from(&mut a[..]) {
        bfly4(a);
    } else if let Ok(a) = <&mut [C<L>; 5]>::try_from(&mut a[..]) {
        bfly5(a);
    }
}

type Io<'a> = (&'a [f32], &'a [f32], &'a mut [f32], &'a mut [f32]);

/// A pass of radix `R` (2, 3, 4 or 5). For fixed `p`, input `k` and output `j`
/// are contiguous runs of `stride` lane vectors.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
unsafe fn pass_r<L: Lane, const R: usize>(p: &Pass, (xr, xi, yr, yi): Io<'_>) {
    let w = L::W;
    let s = p.stride;
    let mm = p.len / R;
    let run = s * w;
    let total = p.len * s * w;
    // Every index below is < len * stride * W (= m * W): check once, then
    // load and store without per-access bounds checks.
    assert!(xr.len() >= total && xi.len() >= total && yr.len() >= total && yi.len() >= total);
    assert!(p.tw.len() >= mm * (R - 1));
    let (xr, xi) = (xr.as_ptr(), xi.as_ptr());
    let (yr, yi) = (yr.as_mut_ptr(), yi.as_mut_ptr());
    for pp in 0..mm {
        let tw = &p.tw[pp * (R - 1)..(pp + 1) * (R - 1)];
        let i0 = s * pp * w;
        let step = s * mm * w;
        let o0 = s * R * pp * w;
        for q in 0..s {
            // SAFETY: i0 + k step + q W + W <= (s pp + (R-1) s mm + s) W <= total;
            // CPU support of `L` is the caller's contract.
            let mut a: [C<L>; R] =
                std::array::from_fn(|k| unsafe { C::read(xr, xi, i0 + k * step + q * w) });
            bfly(&mut a);
            for (j, v) in a.iter().enumerate() {
                let v = if j == 0 { *v } else { v.mul(tw[j - 1]) };
                // SAFETY: o0 + j run + q W + W <= (s R pp + (R-1) s + s) W <= total.
                unsafe { v.write(yr, yi, o0 + j * run + q * w) };
            }
        }
    }
}

/// A pass of a prime radix above 5: the direct `radix^2` DFT.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
unsafe fn pass_dft<L: Lane>(p: &Pass, (xr, xi, yr, yi): Io<'_>) {
    let w = L::W;
    let (r, s) = (p.radix, p.stride);
    let mm = p.len / r;
    let step = s * mm * w;
    let total = p.len * s * w;
    assert!(xr.len() >= total && xi.len() >= total && yr.len() >= total && yi.len() >= total);
    let (xr, xi) = (xr.as_ptr(), xi.as_ptr());
    let (yr, yi) = (yr.as_mut_ptr(), yi.as_mut_ptr());
    for pp in 0..mm {
        let tw = &p.tw[pp * (r - 1)..(pp + 1) * (r - 1)];
        for q in 0..s {
            let i0 = (q + s * pp) * w;
            let o0 = (q + s * r * pp) * w;
            for j in 0..r {
                // SAFETY: i0 + k step + W <= total and o0 + j s W + W <= total as in
                // `pass_r` (checked above); CPU support of `L` is the caller's contract.
                unsafe {
                    let mut acc = C::<L>::read(xr, xi, i0);
                    for k in 1..r {
                        let a = C::<L>::read(xr, xi, i0 + k * step);
                        acc = acc.add(&a.mul(p.roots[(j * k) % r]));
                    }
                    let v = if j == 0 { acc } else { acc.mul(tw[j - 1]) };
                    v.write(yr, yi, o0 + j * s * w);
                }
            }
        }
    }
}

// Butterfly constants, rounded once from f64 like the twiddles.
const SIN_60: f32 = 0.866_025_403_784_438_6_f64 as f32; // sin(pi / 3)
const COS_72: f32 = 0.309_016_994_374_947_45_f64 as f32; // cos(2 pi / 5)
const COS_144: f32 = -0.809_016_994_374_947_5_f64 as f32; // cos(4 pi / 5)
const SIN_72: f32 = 0.951_056_516_295_153_5_f64 as f32; // sin(2 pi / 5)
const SIN_144: f32 = 0.587_785_252_292_473_1_f64 as f32; // sin(4 pi / 5)

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Arr;

    /// The lane FFT against an f64 DFT, for lengths exercising every radix.
    #[test]
    fn matches_an_f64_dft() {
        const W: usize = 4;
        for n in [
            4usize, 6, 8, 10, 12, 14, 18, 22, 30, 50, 62, 64, 96, 400, 512,
        ] {
            let fft = LaneFft::new(n).unwrap();
            let frames: Vec<Vec<f64>> = (0..W)
                .map(|l| {
                    (0..n)
                        .map(|i| ((i * 7919 + l * 104_729) % 1000) as f64 / 500.0 - 1.0)
                        .collect()
                })
                .collect();
            let len = fft.buf_len(W);
            let (mut a, mut b, mut c, mut d) = (
                vec![0.0; len],
                vec![0.0; len],
                vec![0.0; len],
                vec![0.0; len],
            );
            for (l, f) in frames.iter().enumerate() {
                for j in 0..n / 2 {
                    a[j * W + l] = f[2 * j] as f32;
                    b[j * W + l] = f[2 * j + 1] as f32;
                }
            }
            let (mut sr, mut si) = (vec![0.0; (n / 2 + 1) * W], vec![0.0; (n / 2 + 1) * W]);
            // SAFETY: the portable vector needs no CPU feature.
            unsafe { fft.run::<Arr<W>>([&mut a, &mut b, &mut c, &mut d], &mut sr, &mut si) };
            let got: Vec<(f32, f32)> = sr.iter().copied().zip(si.iter().copied()).collect();
            for (l, f) in frames.iter().enumerate() {
                for k in 0..=n / 2 {
                    let (mut er, mut ei) = (0.0, 0.0);
                    for (i, &x) in f.iter().enumerate() {
                        let a = -2.0 * PI * (k * i) as f64 / n as f64;
                        er += x * a.cos();
                        ei += x * a.sin();
                    }
                    let (gr, gi) = got[k * W + l];
                    let err = (gr as f64 - er).hypot(gi as f64 - ei);
                    assert!(err < 2e-5 * n as f64, "n {n} lane {l} bin {k}: {err}");
                }
            }
        }
        assert!(LaneFft::new(2 * 37).is_none());
        assert!(LaneFft::new(9).is_none());
    }
}
