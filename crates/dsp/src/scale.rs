//! Amplitude scaling: dB (torchaudio `AmplitudeToDB`) and natural log, with a
//! fast vectorizable f32 logarithm and exact f64 reference paths.

use serde::{Deserialize, Serialize};

/// Output scaling of a spectrogram.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Scale {
    /// Raw `|X|^power` (or mel-weighted sums of it).
    Power,
    /// torchaudio `AmplitudeToDB`: `m * log10(max(x, 1e-10))` with `m = 10` for
    /// `power == 2` (stype "power") and `m = 20` for `power == 1` (stype
    /// "magnitude"); in general `m = 20 / power`. With `top_db`, values are
    /// clamped below to `max - top_db`, the max taken over the whole `[F, T]` output.
    Db {
        /// Dynamic range limit in dB (>= 0), or `None` for no clamping.
        top_db: Option<f32>,
    },
    /// Natural log `ln(max(x, eps))`.
    Ln {
        /// Floor applied before the log (finite, >= `f32::MIN_POSITIVE`).
        eps: f32,
    },
}

impl Default for Scale {
    /// `Db { top_db: None }` (torchaudio `AmplitudeToDB()` default).
    fn default() -> Self {
        Scale::Db { top_db: None }
    }
}

/// `amin` of torchaudio's `AmplitudeToDB`.
pub const DB_AMIN: f32 = 1e-10;

/// Precomputed constants for `a * ln(x)`, with `a * ln 2` split so that
/// `k * c_hi` is exact for every binary exponent `k`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogScale {
    c_hi: f32,
    c_lo: f32,
    a: f32,
}

impl LogScale {
    /// Constants for `a * ln(x)`.
    pub(crate) fn new(a: f64) -> Self {
        let c = a * std::f64::consts::LN_2;
        // Keep 12 significant bits: |k| < 2^8, so k * c_hi fits in 20 bits (exact).
        let c_hi = f32::from_bits((c as f32).to_bits() & 0xffff_f000);
        let c_lo = (c - c_hi as f64) as f32;
        Self {
            c_hi,
            c_lo,
            a: a as f32,
        }
    }

    /// `multiplier * log10(x)`.
    pub(crate) fn log10(multiplier: f32) -> Self {
        Self::new(multiplier as f64 / std::f64::consts::LN_10)
    }

    /// `a * ln(x)` for a *normal, positive, finite* `x` (callers clamp first).
    ///
    /// Argument reduction as in musl `logf`: `x = 2^k * m`, `m` in
    /// `[sqrt(1/2), sqrt(2))`, `ln(m)` from an odd polynomial in
    /// `s = (m - 1) / (m + 1)`. Branch-free so that loops over slices vectorize.
    #[inline(always)]
    pub(crate) fn eval(&self, x: f32) -> f32 {
        const LG1: f32 = 0.666_666_6; // 0xaaaaaa.0p-24
        const LG2: f32 = 0.400_009_72; // 0xccce13.0p-25
        const LG3: f32 = 0.284_987_87; // 0x91e9ee.0p-25
        const LG4: f32 = 0.242_790_79; // 0xf89e26.0p-26
        let ix = x.to_bits().wrapping_add(0x3f80_0000 - 0x3f35_04f3);
        let k = (ix >> 23) as i32 - 0x7f;
        let m = f32::from_bits((ix & 0x007f_ffff) + 0x3f35_04f3);
        let f = m - 1.0;
        let s = f / (2.0 + f);
        let z = s * s;
        let w = z * z;
        let t1 = w * (LG2 + w * LG4);
        let t2 = z * (LG1 + w * LG3);
        let r = t2 + t1;
        let hfsq = 0.5 * f * f;
        let ln_m = f - hfsq + s * (hfsq + r);
        let dk = k as f32;
        dk * self.c_hi + (dk * self.c_lo + ln_m * self.a)
    }

    /// In place `a * ln(clamp(v, lo, f32::MAX))`; `lo` must be a normal positive float.
    /// NaN inputs map to `lo`, `+inf` to `f32::MAX`. Returns the maximum output.
    ///
    /// Dispatches at run time to an AVX2 build of the same loop when available
    /// (identical results: no FMA contraction, same operations).
    #[inline]
    pub(crate) fn apply(&self, values: &mut [f32], lo: f32) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.apply_avx2(values, lo) };
            }
        }
        self.apply_generic(values, lo)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_avx2(&self, values: &mut [f32], lo: f32) -> f32 {
        self.apply_generic(values, lo)
    }

    /// [`Self::apply`] compiled into the caller (for callers that are
    /// themselves built for a wider instruction set).
    // Not `clamp`: `f32::clamp` propagates NaN, `max` maps it to `lo`.
    #[inline(always)]
    pub(crate) fn apply_generic(&self, values: &mut [f32], lo: f32) -> f32 {
        self.apply_lanes::<8>(values, lo)
    }

    /// [`Self::apply_generic`] in chunks of `L` values (16 fills a `zmm`
    /// register in an AVX-512 build, where chunks of 8 stayed in `ymm`).
    /// Identical results for every `L`: each value is computed alone and the
    /// maximum is exact.
    #[allow(clippy::manual_clamp)]
    #[inline(always)]
    pub(crate) fn apply_lanes<const L: usize>(&self, values: &mut [f32], lo: f32) -> f32 {
        // Lane-wise max accumulators: a scalar max reduction would keep LLVM from
        // vectorizing the loop (float reductions are not reassociated).
        let mut acc = [f32::NEG_INFINITY; L];
        let mut chunks = values.chunks_exact_mut(L);
        for c in &mut chunks {
            for (v, a) in c.iter_mut().zip(acc.iter_mut()) {
                let y = self.eval(v.max(lo).min(f32::MAX));
                *v = y;
                *a = if y > *a { y } else { *a };
            }
        }
        for v in chunks.into_remainder() {
            let y = self.eval(v.max(lo).min(f32::MAX));
            *v = y;
            acc[0] = acc[0].max(y);
        }
        acc.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }
}

/// Clamps every value below to `max - top_db` (torchaudio `top_db`).
pub(crate) fn clamp_top_db(values: &mut [f32], max: f32, top_db: f32) {
    let floor = max - top_db;
    for v in values.iter_mut() {
        *v = v.max(floor);
    }
}

/// In-place dB conversion, torchaudio `AmplitudeToDB` semantics:
/// `v = multiplier * log10(max(v, 1e-10))`, then (with `top_db`) `v = max(v, max(v) - top_db)`.
///
/// Use `multiplier = 10` for power spectrograms and `20` for magnitudes. Uses a fast f32
/// logarithm whose absolute error versus f64 `log10` is below 1e-4 dB (tested over the
/// whole clamped range `[1e-10, f32::MAX]` for multipliers 10 and 20). NaN inputs are treated
/// as 0 (→ -100 dB for multiplier 10), `+inf` as `f32::MAX`. See [`power_to_db_exact`].
///
/// ```
/// let mut v = [1.0f32, 100.0, 1e-20];
/// specnorm_dsp::power_to_db(&mut v, 10.0, None);
/// assert!((v[0] - 0.0).abs() < 1e-4 && (v[1] - 20.0).abs() < 1e-4 && (v[2] + 100.0).abs() < 1e-4);
/// ```
pub fn power_to_db(values: &mut [f32], multiplier: f32, top_db: Option<f32>) {
    let mx = LogScale::log10(multiplier).apply(values, DB_AMIN);
    if let Some(t) = top_db {
        clamp_top_db(values, mx, t);
    }
}

/// Reference version of [`power_to_db`] computing each log10 in f64 (slower; same semantics).
#[allow(clippy::manual_clamp)] // NaN must map to the floor, not propagate
pub fn power_to_db_exact(values: &mut [f32], multiplier: f32, top_db: Option<f32>) {
    let mut mx = f32::NEG_INFINITY;
    for v in values.iter_mut() {
        let x = v.max(DB_AMIN).min(f32::MAX) as f64;
        *v = (multiplier as f64 * x.log10()) as f32;
        mx = mx.max(*v);
    }
    if let Some(t) = top_db {
        clamp_top_db(values, mx, t);
    }
}

/// In-place natural log `v = ln(max(v, eps))` (fast f32 path, same accuracy as
/// [`power_to_db`]). `eps` below `f32::MIN_POSITIVE` (or NaN) is raised to it.
///
/// ```
/// let mut v = [1.0f32, 0.0];
/// specnorm_dsp::power_to_ln(&mut v, 1e-6);
/// assert!(v[0].abs() < 1e-6 && (v[1] - (1e-6f32).ln()).abs() < 1e-5);
/// ```
pub fn power_to_ln(values: &mut [f32], eps: f32) {
    LogScale::new(1.0).apply(values, eps.max(f32::MIN_POSITIVE));
}

/// Reference version of [`power_to_ln`] computing each log in f64.
#[allow(clippy::manual_clamp)] // NaN must map to the floor, not propagate
pub fn power_to_ln_exact(values: &mut [f32], eps: f32) {
    let eps = eps.max(f32::MIN_POSITIVE);
    for v in values.iter_mut() {
        *v = (v.max(eps).min(f32::MAX) as f64).ln() as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::LogScale;

    /// The AVX2 build and the portable build of the log loop give identical bits.
    #[test]
    fn dispatch_matches_generic() {
        let xs: Vec<f32> = (0x2edb_e6ffu32..0x7f7f_ffff)
            .step_by(100_003)
            .map(f32::from_bits)
            .collect();
        for log in [
            LogScale::log10(10.0),
            LogScale::log10(20.0),
            LogScale::new(1.0),
        ] {
            let mut a = xs.clone();
            let mut b = xs.clone();
            let ma = log.apply(&mut a, 1e-10);
            let mb = log.apply_generic(&mut b, 1e-10);
            assert_eq!(ma.to_bits(), mb.to_bits());
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }
}
