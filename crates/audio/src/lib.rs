//! Audio input for specnorm: decode WAV / FLAC / OGG Vorbis / MP3 to a mono
//! `f32` waveform, resample it exactly like `torchaudio.functional.resample`,
//! and normalize it like the blog's `(x - x.mean()) / x.std()`.
//!
//! * [`load`] / [`decode`] / [`decode_into`]: plain PCM and float WAV files (8/16/24/32-bit
//!   integer, 32/64-bit float, `WAVE_FORMAT_EXTENSIBLE` included) are parsed
//!   by a direct fast path; everything else goes through symphonia. Channels
//!   are averaged to mono. Integers are scaled like torchaudio/soundfile:
//!   `i16 / 32768`, `(u8 - 128) / 128`, `i24 / 8388608`, `i32 / 2147483648`.
//! * [`Resampler`] / [`resample`]: polyphase, torchaudio-exact (see its docs).
//!
//! Speed (5 s 44.1 kHz clip, one core): the 16-bit WAV fast path takes
//! ~35 us (symphonia 0.5 ~0.9 ms, not re-measured on 0.6); 44.1 -> 16 kHz
//! resampling ~0.06 ms with AVX-512, ~0.1 ms with AVX2 (AMD EPYC Zen 5; the
//! previous loop took ~0.14 ms there, ~0.17 ms on an Intel Xeon; rubato's
//! FftFixedIn ~1.1 ms, torchaudio ~1.3 ms).
//! See `benches/resample.rs`.
//! * [`normalize_waveform`], [`pad_or_trim`]: waveform utilities.
//! * [`encode_wav`] / [`write_wav`]: write test/dataset WAV files in any
//!   [`WavFormat`].
//!
//! # Example
//!
//! ```
//! use specnorm_audio::{decode, encode_wav, normalize_waveform, Resampler, WavFormat};
//! use std::path::Path;
//!
//! // One second of a 440 Hz tone at 44.1 kHz, stereo, as a 16-bit WAV in memory.
//! let rate = 44_100;
//! let mut interleaved = Vec::new();
//! for i in 0..rate {
//!     let x = 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin();
//!     interleaved.extend([x, x]);
//! }
//! let wav = encode_wav(&interleaved, rate, 2, WavFormat::Pcm16);
//!
//! let audio = decode(&wav, Path::new("tone.wav"))?;
//! assert_eq!(audio.info.sample_rate, 44_100);
//! assert_eq!(audio.info.channels, 2);
//! assert_eq!(audio.info.frames, 44_100);
//! assert_eq!(audio.samples.len(), 44_100); // mono mix
//! assert!((audio.info.duration_secs() - 1.0).abs() < 1e-12);
//!
//! // Plan once, run many times.
//! let resampler = Resampler::new(44_100, 16_000)?;
//! let mut x = resampler.process(&audio.samples);
//! assert_eq!(x.len(), 16_000);
//!
//! let stats = normalize_waveform(&mut x);
//! assert!(!stats.degenerate);
//! assert!((stats.std - 0.5 / 2f64.sqrt()).abs() < 1e-3); // RMS of a 0.5 sine
//! let mean: f64 = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
//! assert!(mean.abs() < 1e-6);
//! # Ok::<(), specnorm_audio::AudioError>(())
//! ```
#![deny(missing_docs)]

mod error;
mod ogg;
mod resample;
mod sym;
mod wav;

use std::path::Path;

pub use error::AudioError;
pub use resample::{resample, Resampler};
pub use wav::{encode_wav, write_wav, WavFormat};

/// Stream properties of a decoded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioInfo {
    /// Sample rate in Hz (never 0).
    pub sample_rate: u32,
    /// Channels in the file before mixing to mono (never 0).
    pub channels: u16,
    /// Frames (samples per channel) decoded.
    pub frames: u64,
    /// Codec, e.g. `pcm_s16le`, `pcm_f32le`, `flac`, `vorbis`, `mp3`, `pcm_mulaw`.
    pub codec: String,
    /// `Some` when the file is truncated and was accepted anyway
    /// ([`DecodeOptions::allow_truncated`]): what the header declared and what was present.
    pub truncated: Option<Truncation>,
}

/// What the lengths of a [`Truncation`] count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthUnit {
    /// Bytes of a WAV `data` chunk.
    Bytes,
    /// Sample frames (samples per channel), for FLAC, Ogg and MP3.
    Frames,
}

impl std::fmt::Display for LengthUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LengthUnit::Bytes => "bytes",
            LengthUnit::Frames => "sample frames",
        })
    }
}

/// A clip whose header declares more audio data than the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Truncation {
    /// The length the header states.
    pub declared: u64,
    /// The length present in the file.
    pub present: u64,
    /// What both count.
    pub unit: LengthUnit,
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "header declares {} {}, file holds {}",
            self.declared, self.unit, self.present
        )
    }
}

/// Options of [`decode_with`] / [`load_with`] / [`decode_into_with`]. `Default` is the strict
/// policy of [`decode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DecodeOptions {
    /// Accept a truncated clip (header declares more data than the file holds): decode the whole
    /// frames present and report the [`Truncation`] in [`AudioInfo::truncated`] instead of
    /// failing with [`AudioError::Truncated`].
    pub allow_truncated: bool,
}

/// Largest magnitude a float sample may have: 2^20 (about +120 dBFS, a million times full
/// scale). Float WAVs may legitimately exceed 1.0, but not by this much; beyond it the
/// spectrogram's `f32` power (up to `(n_fft * |x|)^2`) would overflow, so such a file is
/// [`AudioError::OutOfRange`]. Integer formats cannot exceed 1.0.
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1_048_576.0;

impl AudioError {
    pub(crate) fn truncated(path: &Path, t: Truncation) -> AudioError {
        AudioError::Truncated {
            path: path.to_path_buf(),
            declared: t.declared,
            present: t.present,
            unit: t.unit,
        }
    }
}

/// The range policy for one sample: finite and within ±[`MAX_SAMPLE_MAGNITUDE`].
pub(crate) fn in_range(x: f64) -> bool {
    x.is_finite() && x.abs() <= f64::from(MAX_SAMPLE_MAGNITUDE)
}

/// The error for a float sample that breaks the range policy: NaN or infinite
/// is [`AudioError::NonFinite`], too large is [`AudioError::OutOfRange`].
pub(crate) fn sample_error(path: &Path, index: u64, value: f64) -> AudioError {
    if value.is_finite() {
        AudioError::OutOfRange {
            path: path.to_path_buf(),
            index,
            value,
            limit: MAX_SAMPLE_MAGNITUDE,
        }
    } else {
        AudioError::NonFinite {
            path: path.to_path_buf(),
            index,
        }
    }
}

/// The range policy of [`decode`] for samples already in memory: the first
/// sample that is NaN or infinite is [`AudioError::NonFinite`], the first
/// whose magnitude exceeds [`MAX_SAMPLE_MAGNITUDE`] is
/// [`AudioError::OutOfRange`]; `source` names them.
pub fn check_samples(samples: &[f32], source: &Path) -> Result<(), AudioError> {
    match samples.iter().position(|&x| !in_range(f64::from(x))) {
        None => Ok(()),
        Some(i) => Err(sample_error(source, i as u64, f64::from(samples[i]))),
    }
}

/// Apply the truncation policy: `Ok(None)` for a complete file, `Ok(Some(t))` for an accepted
/// truncated one, [`AudioError::Truncated`] otherwise.
pub(crate) fn truncation_policy(
    t: Option<Truncation>,
    opts: DecodeOptions,
    path: &Path,
) -> Result<Option<Truncation>, AudioError> {
    match t {
        Some(t) if !opts.allow_truncated => Err(AudioError::truncated(path, t)),
        other => Ok(other),
    }
}

impl AudioInfo {
    /// Duration in seconds (`frames / sample_rate`).
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.frames as f64 / f64::from(self.sample_rate)
    }
}

/// A decoded file: the mono mix and the stream properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono mix (mean over channels), `info.frames` samples, all finite.
    pub samples: Vec<f32>,
    /// Stream properties.
    pub info: AudioInfo,
}

/// Read `path` and [`decode`] it.
///
/// Errors: [`AudioError::NotFound`], [`AudioError::IsDirectory`],
/// [`AudioError::Io`], plus everything [`decode`] reports.
pub fn load(path: &Path) -> Result<Audio, AudioError> {
    load_with(path, DecodeOptions::default())
}

/// [`load`] with [`DecodeOptions`].
pub fn load_with(path: &Path, opts: DecodeOptions) -> Result<Audio, AudioError> {
    let mut bytes = Vec::new();
    read_file_into(path, &mut bytes)?;
    decode_with(&bytes, path, opts)
}

/// Read the whole file at `path` into `bytes` (cleared first; its allocation
/// is reused), with [`load`]'s errors: [`AudioError::NotFound`],
/// [`AudioError::IsDirectory`], [`AudioError::Io`].
pub fn read_file_into(path: &Path, bytes: &mut Vec<u8>) -> Result<(), AudioError> {
    use std::io::Read;
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => AudioError::NotFound {
            path: path.to_path_buf(),
        },
        _ => AudioError::Io {
            path: path.to_path_buf(),
            source,
        },
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(AudioError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    bytes.clear();
    bytes.reserve(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(bytes).map_err(io)?;
    Ok(())
}

/// Decode an in-memory file and mix it to mono. `source` is only used in
/// error messages and never opened.
///
/// The format is recognized from the content (not the extension): RIFF/WAVE
/// (fast path for PCM and float; A-law/mu-law via symphonia), `fLaC`, `OggS`,
/// MP3 (ID3 tag or two consecutive MPEG layer III frame headers).
///
/// Truncation policy (strict; [`decode_with`] can relax it): a clip whose
/// header declares more audio data than the file holds is
/// [`AudioError::Truncated`], naming the file, the declared and the present
/// length. That is a WAV whose `data` chunk size exceeds the bytes after it
/// (except the "length unknown" markers of streamed WAVs, 0 and 0xFFFFFFFF,
/// which read to the end of the file), a FLAC stream that decodes fewer
/// frames than its STREAMINFO total, an MP3 that decodes fewer than its
/// Xing/Info header's frame count, and an Ogg stream that decodes fewer than
/// the granule position of its last page. Streams that state no length (an
/// MP3 without Xing/Info, a FLAC with total 0) keep the packets decoded
/// before a cut. With [`DecodeOptions::allow_truncated`] the whole frames
/// present are decoded and [`AudioInfo::truncated`] says so. A header cut
/// short is [`AudioError::TruncatedHeader`].
///
/// Range policy: float samples that are NaN or infinite give
/// [`AudioError::NonFinite`], float samples whose magnitude exceeds
/// [`MAX_SAMPLE_MAGNITUDE`] give [`AudioError::OutOfRange`], each with the
/// first bad sample's index.
///
/// Never panics on arbitrary bytes.
pub fn decode(bytes: &[u8], source: &Path) -> Result<Audio, AudioError> {
    decode_with(bytes, source, DecodeOptions::default())
}

/// [`decode`] with [`DecodeOptions`].
pub fn decode_with(bytes: &[u8], source: &Path, opts: DecodeOptions) -> Result<Audio, AudioError> {
    let mut samples = Vec::new();
    let info = decode_into_with(bytes, source, &mut samples, opts)?;
    Ok(Audio { samples, info })
}

/// [`decode`] into a caller-owned buffer: `out` is cleared and receives the
/// mono mix; its allocation is reused. In a loop over many files this avoids
/// allocating (and page-faulting) a fresh multi-megabyte buffer per file,
/// which costs more than the PCM conversion itself. On error `out` holds
/// unspecified contents.
pub fn decode_into(
    bytes: &[u8],
    source: &Path,
    out: &mut Vec<f32>,
) -> Result<AudioInfo, AudioError> {
    decode_into_with(bytes, source, out, DecodeOptions::default())
}

/// [`decode_into`] with [`DecodeOptions`].
pub fn decode_into_with(
    bytes: &[u8],
    source: &Path,
    out: &mut Vec<f32>,
    opts: DecodeOptions,
) -> Result<AudioInfo, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty {
            path: source.to_path_buf(),
        });
    }
    if wav::looks_like_wav(bytes) {
        let layout = wav::locate(bytes, source)?;
        let truncated = truncation_policy(layout.truncation(), opts, source)?;
        let info = match wav::decode_fast(bytes, &layout, source, out)? {
            Some(info) => info,
            None => {
                // A-law / mu-law: symphonia, on a copy whose data size is what is present.
                let audio =
                    sym::decode(&layout.consistent(bytes), source, sym::Container::Wav, opts)?;
                out.clear();
                out.extend_from_slice(&audio.samples);
                audio.info
            }
        };
        return Ok(AudioInfo { truncated, ..info });
    }
    let Some(container) = sym::sniff(bytes) else {
        return Err(AudioError::NotAudio {
            path: source.to_path_buf(),
            reason: if bytes.starts_with(b"RF64") {
                "RF64 (64-bit WAV) is not supported".to_string()
            } else {
                "no WAV, FLAC, OGG or MP3 signature".to_string()
            },
        });
    };
    let audio = sym::decode(bytes, source, container, opts)?;
    out.clear();
    out.extend_from_slice(&audio.samples);
    Ok(audio.info)
}

/// Decode through symphonia only, bypassing the WAV fast path (for WAV,
/// symphonia handles PCM u8/16/24/32 and float32, not float64).
///
/// This is the slow reference path: [`decode`] gives identical samples for
/// the PCM formats both support (tested); it exists for benchmarks and
/// cross-checks.
///
/// The truncation policy is [`decode`]'s (strict); for WAV the header is
/// checked by the fast path's parser and symphonia reads a copy whose data
/// size is the one present.
pub fn decode_symphonia(bytes: &[u8], source: &Path) -> Result<Audio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty {
            path: source.to_path_buf(),
        });
    }
    let opts = DecodeOptions::default();
    if wav::looks_like_wav(bytes) {
        let layout = wav::locate(bytes, source)?;
        truncation_policy(layout.truncation(), opts, source)?;
        return sym::decode(&layout.consistent(bytes), source, sym::Container::Wav, opts);
    }
    let container = sym::sniff(bytes).ok_or_else(|| AudioError::NotAudio {
        path: source.to_path_buf(),
        reason: "no WAV, FLAC, OGG or MP3 signature".to_string(),
    })?;
    sym::decode(bytes, source, container, opts)
}

/// Zero-pad `samples` at the end, or cut it, to exactly `len` samples.
pub fn pad_or_trim(samples: &mut Vec<f32>, len: usize) {
    samples.resize(len, 0.0);
}

/// Statistics used by [`normalize_waveform`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaveStats {
    /// Mean that was subtracted (0 for an empty clip).
    pub mean: f64,
    /// Divisor that was used: the Bessel-corrected standard deviation, or 1
    /// when `degenerate`.
    pub std: f64,
    /// True when the standard deviation is undefined or zero (empty, one
    /// sample, constant/silent clip, or non-finite statistics); the clip was
    /// then only mean-centred.
    pub degenerate: bool,
}

/// Normalize in place to zero mean and unit standard deviation:
/// `x = (x - mean) / std`.
///
/// Mean and standard deviation are computed in f64 (two passes). The std is
/// Bessel-corrected (divides by `n - 1`) to match torch's `x.std()` as used
/// by the blog's `(x - x.mean()) / x.std()`. Where torch would produce NaN
/// or Inf (empty, one sample, silent or constant clip) this instead
/// subtracts the mean and divides by 1, and reports `degenerate = true`:
/// the output never contains NaN or Inf that was not in the input.
pub fn normalize_waveform(samples: &mut [f32]) -> WaveStats {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { normalize_avx512(samples) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { normalize_avx2(samples) };
        }
    }
    normalize_generic(samples)
}

/// [`normalize_waveform`] built for AVX-512F (the eight f64 accumulators in one
/// `zmm` register, 16 samples per conversion): the same operations, so the same
/// results (tested bit for bit against the portable build).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn normalize_avx512(samples: &mut [f32]) -> WaveStats {
    normalize_generic(samples)
}

/// [`normalize_waveform`] built for AVX2 (4-lane f64): the same operations, so
/// the same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn normalize_avx2(samples: &mut [f32]) -> WaveStats {
    normalize_generic(samples)
}

#[inline(always)]
fn normalize_generic(samples: &mut [f32]) -> WaveStats {
    let n = samples.len();
    if n == 0 {
        return WaveStats {
            mean: 0.0,
            std: 1.0,
            degenerate: true,
        };
    }
    let mean = lane_sum(samples, |x| x) / n as f64;
    if !mean.is_finite() {
        return WaveStats {
            mean: 0.0,
            std: 1.0,
            degenerate: true,
        };
    }
    let std = if n > 1 {
        let ss = lane_sum(samples, |x| {
            let d = x - mean;
            d * d
        });
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let degenerate = !(std.is_finite() && std > 0.0);
    let std = if degenerate { 1.0 } else { std };
    let inv = 1.0 / std;
    for x in samples.iter_mut() {
        *x = ((f64::from(*x) - mean) * inv) as f32;
    }
    WaveStats {
        mean,
        std,
        degenerate,
    }
}

/// `sum(f(x))` in f64 with eight independent accumulators: a single running
/// sum is a chain of dependent adds that cannot vectorize (float addition is
/// not reassociated), which made the two statistics passes of
/// [`normalize_waveform`] cost more than the resampler's pass.
#[inline(always)]
fn lane_sum(xs: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    const L: usize = 8;
    let mut acc = [0.0f64; L];
    let mut chunks = xs.chunks_exact(L);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(f64::from(x));
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&x| f(f64::from(x))).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every build of the normalization gives the portable build's bits (the
    /// accumulators are the same eight f64 lanes whatever the vector width).
    /// Builds this CPU lacks are skipped, and said so.
    #[test]
    fn normalize_builds_are_bit_identical() {
        let x: Vec<f32> = (0..80_003u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0 - 0.3) * 0.7)
            .collect();
        let mut want = x.clone();
        let want_stats = normalize_generic(&mut want);
        assert!(!want_stats.degenerate && (want_stats.mean - 0.2 * 0.7).abs() < 0.01);
        #[cfg(target_arch = "x86_64")]
        {
            type Build = fn(&mut [f32]) -> WaveStats;
            let avx512: Build = |v| unsafe { normalize_avx512(v) };
            let avx2: Build = |v| unsafe { normalize_avx2(v) };
            for (name, feature, build) in [
                (
                    "AVX-512F",
                    std::arch::is_x86_feature_detected!("avx512f"),
                    avx512,
                ),
                ("AVX2", std::arch::is_x86_feature_detected!("avx2"), avx2),
            ] {
                if !feature {
                    eprintln!("skipped: this CPU has no {name}");
                    continue;
                }
                let mut got = x.clone();
                // SAFETY (in `build`): the feature was detected just above.
                let stats = build(&mut got);
                assert_eq!(stats, want_stats, "{name}");
                assert!(
                    got.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{name} differs from the portable build"
                );
            }
        }
    }

    #[test]
    fn resampler_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Resampler>();
    }
}
