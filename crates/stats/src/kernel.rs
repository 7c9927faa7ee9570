//! Numerical kernels: per-slice moments (chunked two-pass in f64) and Chan et al.'s merge.

/// Element types the accumulators accept (`f32`, `f64`); conversion to `f64` is exact.
pub trait Element: Copy + Send + Sync + 'static {
    /// Exact widening conversion to `f64`.
    fn to_f64(self) -> f64;
}

impl Element for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Element for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// (count, mean, M2) of a group of values, all in f64 except the count.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// Chan, Golub & LeVeque's pairwise combination: `self <- self ∪ other`.
    #[inline]
    pub(crate) fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let frac_b = other.n as f64 / n as f64;
        self.mean += delta * frac_b;
        self.m2 += other.m2 + delta * delta * (self.n as f64) * frac_b;
        self.n = n;
    }
}

/// Chunk length for the in-cache two-pass (fits comfortably in L1 for f32 and f64).
const CHUNK: usize = 2048;
/// Independent accumulators so the f64 reductions vectorize without reassociation.
const LANES: usize = 8;

#[inline(always)]
fn lane_sum(acc: &[f64; LANES]) -> f64 {
    // pairwise
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Offset of the first non-finite value in `x` (called only when one exists).
#[cold]
fn first_non_finite<A: Element>(x: &[A]) -> usize {
    x.iter()
        .position(|v| !v.to_f64().is_finite())
        // Callers only get here after a non-finite sum, which needs a non-finite input.
        .unwrap_or(0)
}

/// Corrected two-pass moments of a non-empty slice of at most a few thousand values.
///
/// Pass 1: f64 sum in 8 lanes -> mean. Pass 2 (the data is now in L1): sums of `d = x - mean`
/// and `d²`; the corrected mean is `mean + Σd/n` and `M2 = Σd² - (Σd)²/n` (Björck's correction).
/// Returns `Err(offset)` of the first non-finite element.
#[inline]
fn chunk_moments<A: Element>(x: &[A]) -> Result<Moments, usize> {
    let n = x.len() as f64;
    let mut acc = [0.0f64; LANES];
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        for i in 0..LANES {
            acc[i] += c[i].to_f64();
        }
    }
    let mut s = lane_sum(&acc);
    for v in it.remainder() {
        s += v.to_f64();
    }
    // A sum of finite f32/f64 values of this length cannot overflow f64 for f32 input; for f64
    // input an overflow is reported as the first "non-finite" hit only if an element is non-finite.
    if !s.is_finite() {
        let off = first_non_finite(x);
        if !x[off].to_f64().is_finite() {
            return Err(off);
        }
        // Finite f64 values whose sum overflows: fall back to a scaled mean.
        s = x.iter().map(|v| v.to_f64() / n).sum::<f64>() * n;
    }
    let mean = s / n;
    let mut a1 = [0.0f64; LANES];
    let mut a2 = [0.0f64; LANES];
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        for i in 0..LANES {
            let d = c[i].to_f64() - mean;
            a1[i] += d;
            a2[i] += d * d;
        }
    }
    let mut s1 = lane_sum(&a1);
    let mut s2 = lane_sum(&a2);
    for v in it.remainder() {
        let d = v.to_f64() - mean;
        s1 += d;
        s2 += d * d;
    }
    let m2 = (s2 - s1 * s1 / n).max(0.0);
    Ok(Moments {
        n: x.len() as u64,
        mean: mean + s1 / n,
        m2,
    })
}

/// Moments of a contiguous slice of any length (chunked two-pass, chunks Chan-merged).
/// `Err(offset)` names the first non-finite element.
pub(crate) fn slice_moments<A: Element>(x: &[A]) -> Result<Moments, usize> {
    let mut total = Moments::default();
    for (k, c) in x.chunks(CHUNK).enumerate() {
        let m = chunk_moments(c).map_err(|off| k * CHUNK + off)?;
        total.merge(&m);
    }
    Ok(total)
}
