//! The crate's error type.

use std::path::PathBuf;

use crate::LengthUnit;

/// Everything that can go wrong while loading, decoding or resampling audio.
///
/// Every decoding variant carries the path of the file (for [`crate::decode`]
/// the `source` path given by the caller) and its `Display` message names
/// the file and the reason. [`AudioError::InvalidResampleRate`] is the only
/// variant without a file: resampling is not tied to one.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum AudioError {
    /// The path does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The path is a directory.
    #[error("{}: is a directory, not an audio file", path.display())]
    IsDirectory {
        /// The file.
        path: PathBuf,
    },
    /// Any other I/O error while reading or writing the file.
    #[error("{}: I/O error: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file has 0 bytes.
    #[error("{}: file is empty (0 bytes)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The container header ends before it is complete.
    #[error("{}: truncated header: {detail}", path.display())]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// What was missing.
        detail: String,
    },
    /// The header declares more audio data than the file holds (a download or
    /// copy cut off): `declared` and `present` count [`LengthUnit::Bytes`] of
    /// the WAV data chunk, or [`LengthUnit::Frames`] for FLAC (STREAMINFO
    /// total), MP3 (Xing/Info frame count) and Ogg (granule position of the
    /// last page). [`crate::DecodeOptions::allow_truncated`] accepts the part
    /// present instead.
    #[error(
        "{}: truncated: the header declares {declared} {unit} of audio data but the file holds \
         {present} (pass --allow-truncated to decode the part present)",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The length the header states.
        declared: u64,
        /// The length the file holds.
        present: u64,
        /// What `declared` and `present` count.
        unit: LengthUnit,
    },
    /// A float sample whose magnitude exceeds [`crate::MAX_SAMPLE_MAGNITUDE`]
    /// (2^20, about +120 dBFS): far beyond any recording, and large enough to
    /// overflow the spectrogram's `f32` power. `index` is interleaved, like
    /// [`AudioError::NonFinite`]'s.
    #[error(
        "{}: sample value {value:e} at interleaved sample index {index} is out of range: float \
         samples must lie within ±{limit} (2^20, about +120 dBFS)",
        path.display()
    )]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// Interleaved index of the first such sample.
        index: u64,
        /// The sample's value.
        value: f64,
        /// [`crate::MAX_SAMPLE_MAGNITUDE`].
        limit: f32,
    },
    /// The bytes are not a recognized audio container (WAV, FLAC, OGG, MP3).
    #[error("{}: not a recognized audio file ({reason})", path.display())]
    NotAudio {
        /// The file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// A recognized container holding a codec or sample format we cannot decode.
    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// Description of the codec (e.g. `WAV format tag 0x0055 (MPEG layer 3)`).
        codec: String,
    },
    /// The container or stream is inconsistent or the decoder failed.
    #[error("{}: malformed audio data: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file decodes to zero frames.
    #[error("{}: contains no audio samples (0 frames)", path.display())]
    ZeroSamples {
        /// The file.
        path: PathBuf,
    },
    /// A float sample is NaN or infinite.
    ///
    /// `index` is the index of the first bad sample in the file's
    /// interleaved sample order (`frame * channels + channel`).
    #[error("{}: non-finite sample (NaN or infinity) at interleaved sample index {index}", path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Interleaved index of the first non-finite sample.
        index: u64,
    },
    /// The header declares a sample rate of 0 Hz.
    #[error("{}: invalid sample rate 0 Hz", path.display())]
    ZeroSampleRate {
        /// The file.
        path: PathBuf,
    },
    /// The header declares 0 channels.
    #[error("{}: invalid channel count 0", path.display())]
    ZeroChannels {
        /// The file.
        path: PathBuf,
    },
    /// A resampler cannot be built for these rates (0 Hz, or a ratio whose
    /// reduced form needs an unreasonably large filter table).
    #[error("cannot resample {from_hz} Hz -> {to_hz} Hz: {reason}")]
    InvalidResampleRate {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
        /// Why.
        reason: String,
    },
}
