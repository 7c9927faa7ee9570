//! The resampler's loops: a transposed, tiled one (no horizontal sums) and a direct one.
//!
//! Output `b * new + p` (block `b`, phase `p`) is `sum_t k[p][t] * x[b * orig + off_p + t]`.
//! For a fixed phase and tap, consecutive blocks read the input at stride `orig`. So a tile of
//! blocks `b0..b0 + S` is first transposed into rows `T[j][b] = x[(b0 + b) * orig + rmin + j]`
//! (`j < span`, zero outside the input, which is torchaudio's zero padding); then each (phase,
//! tap) is one broadcast coefficient times contiguous vectors of `T[off_p - rmin + t]`, added
//! into one accumulator lane per block, and each phase's accumulators are written back to its
//! outputs, `new` apart.
//!
//! Every output is therefore the same sequence of fused multiply-adds, `acc = k[p][t] * x + acc`
//! for `t = 0, 1, ..` from `acc = 0` (with `x = 0` outside the input), whichever lane vector
//! computes it, and [`run_direct`] computes exactly that one output at a time: all builds agree
//! bit for bit (but `Unfused`, which rounds products separately: see `kernel`).

use super::kernel::Lane;
use super::Resampler;

/// Lane vectors (accumulators) per phase in a full tile: a tile has `VECS * L::W` blocks
/// (128 with AVX-512, 64 with AVX2 and the portable build). Eight independent FMA chains keep
/// two FMA units busy at a 4-cycle latency; a phase's rows in flight stay in L1.
const VECS: usize = 8;

/// Tiles are used while a tile's rows (`span`) are at most this many; a larger reduced input
/// rate (a rare rate pair, e.g. 44100 -> 44099) would need a multi-megabyte tile for few
/// blocks, so it goes through [`run_direct`].
const MAX_SPAN: usize = 4096;

/// The polyphase filter as the tiles see it: `blocks` of `orig` inputs and `new` outputs,
/// possibly several of the reduced rates' blocks in one (see [`Tiles::plan`]).
#[derive(Debug, Clone, Default)]
pub(super) struct Tiles {
    /// Input samples per block.
    orig: usize,
    /// Outputs (phases) per block.
    new: usize,
    /// Taps per phase.
    taps: usize,
    /// `new * taps` coefficients, phase-major.
    kernel: Vec<f32>,
    /// The smallest phase offset: a tile's row 0 is input `block * orig + rmin`.
    rmin: isize,
    /// Per phase: `offset - rmin`, the tile row of its first tap.
    rows: Vec<usize>,
    /// Rows of a transposed tile: `max(offset) + taps - rmin`.
    pub(super) span: usize,
}

impl Tiles {
    /// Tiles for the reduced rates `orig`/`new` and their per-phase `taps`-long `kernel` rows
    /// and input `offsets`. With fewer than 16 phases (e.g. 48 -> 16 kHz: 3 inputs, 1 output
    /// per block), `m` consecutive blocks are taken as one, so that a block has a multiple of
    /// 16 phases (whole output transposes) and at least 16 rows: phase `i * new + j` of the
    /// merged block is phase `j` of block `i`, at offset `i * orig + offset_j`. Each output
    /// keeps its taps, so the results are the same bits.
    pub(super) fn plan(
        orig: usize,
        new: usize,
        taps: usize,
        kernel: &[f32],
        offsets: &[isize],
    ) -> Tiles {
        // `new` came from a u32 rate.
        let merge = if new < 16 {
            16 / super::gcd(new as u32, 16) as usize
        } else {
            1
        };
        let spans = |m: usize| {
            let lo = offsets.iter().min().copied().unwrap_or(0);
            let hi = offsets.iter().max().copied().unwrap_or(0);
            ((m - 1) * orig) as isize + hi + taps as isize - lo
        };
        // Merging more blocks than that would only make the tiles bigger.
        let m = if spans(merge) as usize <= 1024 {
            merge
        } else {
            1
        };
        let offs: Vec<isize> = (0..m)
            .flat_map(|i| offsets.iter().map(move |&o| (i * orig) as isize + o))
            .collect();
        let rmin = offs.iter().copied().min().unwrap_or(0);
        Tiles {
            orig: m * orig,
            new: m * new,
            taps,
            kernel: kernel.repeat(m),
            rmin,
            rows: offs.iter().map(|&o| (o - rmin) as usize).collect(),
            span: spans(m) as usize,
        }
    }
}

/// Fill `out` (torchaudio's output length for `input`) by tiles, or directly for an unusually
/// large reduced input rate. `scratch` holds the transposed tile, 64-byte aligned, and a
/// zero-padded copy of the input under one group of `L::W` edge blocks (grown as needed,
/// reused).
///
/// # Safety
/// The CPU must support the instruction set of `L` (nothing for the portable type).
#[inline(always)]
pub(super) unsafe fn run<L: Lane>(
    r: &Resampler,
    input: &[f32],
    out: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    if r.tiles.span > MAX_SPAN {
        run_direct::<L>(r, input, out);
        return;
    }
    let r = &r.tiles;
    let blocks = out.len().div_ceil(r.new);
    let full = VECS * L::W;
    let tile_len = r.span * full.min(blocks.div_ceil(L::W) * L::W);
    let pad_len = (L::W - 1) * r.orig + r.span;
    // 16 floats of slack to start the tile on a 64-byte boundary (no split vector loads).
    let need = 16 + tile_len + pad_len;
    if scratch.len() < need {
        scratch.resize(need, 0.0);
    }
    let align = scratch.as_ptr().align_offset(64).min(16);
    let (t, pad) = scratch[align..].split_at_mut(tile_len);
    let pad = &mut pad[..pad_len];
    let mut b0 = 0;
    while b0 < blocks {
        // The last tile has only as many vectors as its blocks need.
        let vecs = (blocks - b0).div_ceil(L::W).min(VECS);
        // SAFETY (each arm): CPU support for `L` is this function's contract.
        unsafe {
            match vecs {
                1 => tile::<L, 1>(r, input, out, t, pad, b0),
                2 => tile::<L, 2>(r, input, out, t, pad, b0),
                3 => tile::<L, 3>(r, input, out, t, pad, b0),
                4 => tile::<L, 4>(r, input, out, t, pad, b0),
                5 => tile::<L, 5>(r, input, out, t, pad, b0),
                6 => tile::<L, 6>(r, input, out, t, pad, b0),
                7 => tile::<L, 7>(r, input, out, t, pad, b0),
                _ => tile::<L, VECS>(r, input, out, t, pad, b0),
            }
        }
        b0 += vecs * L::W;
    }
}

/// One tile: blocks `b0..b0 + V * L::W` (those past the output are computed and dropped).
///
/// # Safety
/// The CPU must support the instruction set of `L`.
#[inline(always)]
unsafe fn tile<L: Lane, const V: usize>(
    r: &Tiles,
    input: &[f32],
    out: &mut [f32],
    t: &mut [f32],
    pad: &mut [f32],
    b0: usize,
) {
    let (w, stride, taps) = (L::W, V * L::W, r.taps);
    let t = &mut t[..r.span * stride];
    // SAFETY: CPU support for `L` is this function's contract.
    unsafe { transpose_in::<L>(r, input, t, pad, stride, b0) };
    // The accumulators of `w` consecutive phases, phase-major: `w x w` blocks of it are
    // transposed into the output, where a block's `w` phases are contiguous.
    let mut buf = Aligned([0.0f32; 16 * VECS * 16]);
    let buf = &mut buf.0;
    assert!(w <= 16 && w * stride <= buf.len());
    let mut p0 = 0;
    while p0 < r.new {
        let group = w.min(r.new - p0);
        for (g, (k, &row)) in r.kernel[p0 * taps..(p0 + group) * taps]
            .chunks_exact(taps)
            .zip(&r.rows[p0..])
            .enumerate()
        {
            // `row + taps <= span` by construction, so this slice is in bounds.
            let rows = &t[row * stride..(row + taps) * stride];
            // SAFETY: CPU support for `L` is this function's contract.
            let mut acc = [unsafe { L::zero() }; V];
            for (i, &c) in k.iter().enumerate() {
                // SAFETY: as above.
                let c = unsafe { L::splat(c) };
                for (v, a) in acc.iter_mut().enumerate() {
                    // SAFETY: i < taps and (v + 1) * w <= stride, so the w floats read lie
                    // inside `rows` (taps * stride floats); CPU support as above.
                    *a = a.mul_add(c, unsafe { L::load(rows.as_ptr().add(i * stride + v * w)) });
                }
            }
            for (v, a) in acc.iter().enumerate() {
                // SAFETY: g * stride + (v + 1) * w <= w * stride <= buf.len() (asserted).
                unsafe { a.store(buf.as_mut_ptr().add(g * stride + v * w)) };
            }
        }
        for bg in (0..stride).step_by(w) {
            // Block b's phase p output is out[b * new + p].
            let first = (b0 + bg) * r.new + p0;
            if group == w && first + (w - 1) * r.new + w <= out.len() {
                // SAFETY: reads buf[c * stride + bg + i] and writes out[first + i * new + c]
                // for i, c < w: inside `buf` (w * stride floats) and, by the test just
                // above, inside `out`; CPU support as above.
                unsafe {
                    L::transpose(
                        buf.as_ptr().add(bg),
                        stride,
                        out.as_mut_ptr().add(first),
                        r.new,
                    )
                };
                continue;
            }
            for i in 0..w {
                for g in 0..group {
                    if let Some(o) = out.get_mut(first + i * r.new + g) {
                        *o = buf[g * stride + bg + i];
                    }
                }
            }
        }
        p0 += group;
    }
}

/// 64-byte aligned floats (whole-register stores of the accumulators).
#[repr(align(64))]
struct Aligned<const N: usize>([f32; N]);

/// `t[j * stride + b] = input[(b0 + b) * orig + rmin + j]` for `j < span`, `b < stride`, and 0
/// where that index is outside the input, by `w x w` transposes of the input or, for a group
/// of `w` blocks that reaches outside it, of a zero-padded copy in `pad`.
///
/// # Safety
/// The CPU must support the instruction set of `L`.
#[inline(always)]
unsafe fn transpose_in<L: Lane>(
    r: &Tiles,
    input: &[f32],
    t: &mut [f32],
    pad: &mut [f32],
    stride: usize,
    b0: usize,
) {
    let (w, span, len) = (L::W, r.span, input.len() as isize);
    for bg in (0..stride).step_by(w) {
        let first = ((b0 + bg) * r.orig) as isize + r.rmin;
        let last = first + ((w - 1) * r.orig) as isize;
        if span >= w {
            let src: &[f32] = if first >= 0 && last + span as isize <= len {
                &input[first as usize..(last as usize + span)]
            } else {
                // pad[i] = input[first + i], zero outside the input.
                let lo = (-first).clamp(0, pad.len() as isize) as usize;
                let hi = (len - first).clamp(lo as isize, pad.len() as isize) as usize;
                pad[..lo].fill(0.0);
                pad[hi..].fill(0.0);
                let from = (first + lo as isize) as usize;
                pad[lo..hi].copy_from_slice(&input[from..from + (hi - lo)]);
                pad
            };
            assert_eq!(src.len(), (w - 1) * r.orig + span);
            // Rows j..j + w; the last block of rows overlaps the one before it instead of
            // leaving a partial one (the overlap is written twice with the same values).
            for j in (0..span - w).step_by(w).chain([span - w]) {
                // SAFETY: reads src[i * orig + j + c] and writes t[(j + c) * stride + bg + i]
                // for i, c < w: j + c < span, so the first is at most `last - first + span - 1`
                // (inside `src`) and the second below `span * stride` (inside `t`); CPU
                // support for `L` is this function's contract.
                unsafe {
                    L::transpose(
                        src.as_ptr().add(j),
                        r.orig,
                        t.as_mut_ptr().add(j * stride + bg),
                        stride,
                    )
                };
            }
            continue;
        }
        for b in bg..bg + w {
            let start = first + ((b - bg) * r.orig) as isize;
            for (j, row) in t.chunks_exact_mut(stride).enumerate() {
                let i = start + j as isize;
                row[b] = if i >= 0 && i < len {
                    input[i as usize]
                } else {
                    0.0
                };
            }
        }
    }
}

/// One output at a time, the same multiply-adds (`L::mul_add1`: fused but for `Unfused`) in
/// the same order as the tiles (zero outside the input): with the portable `Arr`, the
/// definition the tiled builds are tested against bit for bit; also the loop for a reduced
/// input rate too large for tiles.
#[inline(always)]
pub(super) fn run_direct<L: Lane>(r: &Resampler, input: &[f32], out: &mut [f32]) {
    let taps = r.taps;
    let len = input.len() as isize;
    for (block, chunk) in out.chunks_mut(r.new).enumerate() {
        let base = (block * r.orig) as isize;
        for ((o, &off), k) in chunk
            .iter_mut()
            .zip(&r.offsets)
            .zip(r.kernel.chunks_exact(taps))
        {
            let start = base + off;
            let mut acc = 0.0f32;
            if start >= 0 && start + taps as isize <= len {
                let x = &input[start as usize..start as usize + taps];
                for (&c, &v) in k.iter().zip(x) {
                    acc = L::mul_add1(c, v, acc);
                }
            } else {
                for (j, &c) in k.iter().enumerate() {
                    let i = start + j as isize;
                    let v = if i >= 0 && i < len {
                        input[i as usize]
                    } else {
                        0.0
                    };
                    acc = L::mul_add1(c, v, acc);
                }
            }
            *o = acc;
        }
    }
}
