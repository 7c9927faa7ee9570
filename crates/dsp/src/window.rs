//! Periodic analysis windows (torch `*_window(periodic=True)` semantics).

use serde::{Deserialize, Serialize};

/// Analysis window shape. All windows are *periodic* (DFT-even), like
/// `torch.hann_window(n, periodic=True)` / `scipy.signal.get_window(.., fftbins=True)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum WindowKind {
    /// `0.5 - 0.5 cos(2 pi n / N)` (torchaudio default).
    #[default]
    Hann,
    /// `0.54 - 0.46 cos(2 pi n / N)` (`torch.hamming_window` defaults).
    Hamming,
    /// All ones (`torch.ones`).
    Rectangular,
}

/// Periodic window of length `len`, computed in f64 and rounded to f32.
///
/// Like torch, a window of length 1 is `[1.0]` and length 0 is empty.
///
/// ```
/// let w = specnorm_dsp::window(specnorm_dsp::WindowKind::Hann, 4);
/// assert_eq!(w, vec![0.0, 0.5, 1.0, 0.5]);
/// ```
pub fn window(kind: WindowKind, len: usize) -> Vec<f32> {
    if len == 1 {
        return vec![1.0];
    }
    let n = len as f64;
    (0..len)
        .map(|i| {
            let c = (2.0 * std::f64::consts::PI * i as f64 / n).cos();
            let v = match kind {
                WindowKind::Hann => 0.5 - 0.5 * c,
                WindowKind::Hamming => 0.54 - 0.46 * c,
                WindowKind::Rectangular => 1.0,
            };
            v as f32
        })
        .collect()
}

/// Window of length `win_length` zero-padded (centered) to `n_fft`, exactly as
/// `torch.stft` does: `left = (n_fft - win_length) / 2` zeros first.
pub(crate) fn padded_window(kind: WindowKind, win_length: usize, n_fft: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n_fft];
    let left = (n_fft - win_length) / 2;
    out[left..left + win_length].copy_from_slice(&window(kind, win_length));
    out
}
