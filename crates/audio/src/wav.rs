//! RIFF/WAVE parsing (the fast PCM path) and WAV encoding.

use std::path::Path;

use crate::{AudioError, AudioInfo, LengthUnit, Truncation};

const TAG_PCM: u16 = 0x0001;
const TAG_ADPCM: u16 = 0x0002;
const TAG_FLOAT: u16 = 0x0003;
const TAG_ALAW: u16 = 0x0006;
const TAG_MULAW: u16 = 0x0007;
const TAG_IMA_ADPCM: u16 = 0x0011;
const TAG_MP3: u16 = 0x0055;
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// Sample format for [`encode_wav`] / [`write_wav`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WavFormat {
    /// Signed 16-bit PCM.
    Pcm16,
    /// Signed 24-bit PCM.
    Pcm24,
    /// Signed 32-bit PCM.
    Pcm32,
    /// Unsigned 8-bit PCM (offset 128).
    U8,
    /// IEEE float, 32 bit.
    F32,
    /// IEEE float, 64 bit.
    F64,
}

impl WavFormat {
    /// Bytes per sample.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            WavFormat::U8 => 1,
            WavFormat::Pcm16 => 2,
            WavFormat::Pcm24 => 3,
            WavFormat::Pcm32 | WavFormat::F32 => 4,
            WavFormat::F64 => 8,
        }
    }
}

fn tag_name(tag: u16) -> &'static str {
    match tag {
        TAG_ADPCM => "Microsoft ADPCM",
        TAG_ALAW => "A-law",
        TAG_MULAW => "mu-law",
        TAG_IMA_ADPCM => "IMA ADPCM",
        TAG_MP3 => "MPEG layer 3",
        0x0050 => "MPEG",
        0x0031 => "GSM 6.10",
        _ => "unknown",
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// True when the bytes start like a RIFF/WAVE file (or a prefix of one).
pub(crate) fn looks_like_wav(bytes: &[u8]) -> bool {
    let n = bytes.len().min(4);
    if bytes[..n] != b"RIFF"[..n] {
        return false;
    }
    if bytes.len() >= 12 {
        &bytes[8..12] == b"WAVE"
    } else {
        let m = bytes.len().saturating_sub(8);
        bytes.len() <= 8 || bytes[8..8 + m] == b"WAVE"[..m]
    }
}

struct Fmt {
    tag: u16,
    channels: u16,
    sample_rate: u32,
    bits: u16,
}

/// Where a WAV file's format and audio data are, as [`locate`] found them.
pub(crate) struct WavLayout {
    fmt: Fmt,
    /// Offset of the `data` chunk's size field.
    size_at: usize,
    /// Offset of the first data byte.
    body: usize,
    /// The size the `data` chunk header declares.
    declared: u32,
    /// The data bytes that are used: the declared size, or what is present for
    /// a truncated chunk and for the streaming markers 0 and 0xFFFFFFFF.
    data_len: usize,
}

impl WavLayout {
    /// `Some` when the declared data size exceeds what the file holds (the
    /// streaming markers 0 and 0xFFFFFFFF are "length unknown", not truncation).
    pub(crate) fn truncation(&self) -> Option<Truncation> {
        let declared = u64::from(self.declared);
        (!is_streaming_marker(self.declared) && declared > self.data_len as u64).then_some(
            Truncation {
                declared,
                present: self.data_len as u64,
                unit: LengthUnit::Bytes,
            },
        )
    }

    /// A copy of the file whose `data` size field says the length used, so
    /// that symphonia reads exactly the data the fast path would.
    pub(crate) fn consistent(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes[..self.body + self.data_len].to_vec();
        let len = u32::try_from(self.data_len).unwrap_or(u32::MAX);
        out[self.size_at..self.size_at + 4].copy_from_slice(&len.to_le_bytes());
        out
    }
}

/// The `data` sizes a streaming writer leaves when it does not know the
/// length: read to the end of the file.
fn is_streaming_marker(size: u32) -> bool {
    size == 0 || size == u32::MAX
}

/// Find the `fmt ` and `data` chunks of a RIFF/WAVE file. The caller checked
/// [`looks_like_wav`].
pub(crate) fn locate(bytes: &[u8], path: &Path) -> Result<WavLayout, AudioError> {
    let p = || path.to_path_buf();
    let trunc = |detail: &str| AudioError::TruncatedHeader {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    if bytes.len() < 12 {
        return Err(trunc("RIFF/WAVE header shorter than 12 bytes"));
    }
    let mut off = 12usize;
    let mut fmt: Option<Fmt> = None;
    loop {
        if bytes.len() < off + 8 {
            return Err(trunc(if fmt.is_none() {
                "no 'fmt ' chunk before end of file"
            } else {
                "no 'data' chunk before end of file"
            }));
        }
        let id = &bytes[off..off + 4];
        let size = u32_at(bytes, off + 4) as usize;
        let body = off + 8;
        if id == b"fmt " {
            if size < 16 {
                return Err(AudioError::Malformed {
                    path: p(),
                    reason: format!("'fmt ' chunk is {size} bytes, at least 16 needed"),
                });
            }
            if bytes.len() < body + 16 {
                return Err(trunc("'fmt ' chunk cut off"));
            }
            let mut tag = u16_at(bytes, body);
            let channels = u16_at(bytes, body + 2);
            let sample_rate = u32_at(bytes, body + 4);
            let bits = u16_at(bytes, body + 14);
            if tag == TAG_EXTENSIBLE {
                // cbSize(2) validBits(2) channelMask(4) subFormat GUID(16): the
                // first two GUID bytes are the real format tag.
                if size < 40 {
                    return Err(AudioError::Malformed {
                        path: p(),
                        reason: format!(
                            "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is {size} bytes, 40 needed"
                        ),
                    });
                }
                if bytes.len() < body + 40 {
                    return Err(trunc("WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk cut off"));
                }
                tag = u16_at(bytes, body + 24);
            }
            fmt = Some(Fmt {
                tag,
                channels,
                sample_rate,
                bits,
            });
        } else if id == b"data" {
            let Some(fmt) = fmt else {
                return Err(AudioError::Malformed {
                    path: p(),
                    reason: "'data' chunk before 'fmt ' chunk".into(),
                });
            };
            let declared = u32_at(bytes, off + 4);
            let avail = bytes.len() - body;
            let data_len = if is_streaming_marker(declared) {
                avail
            } else {
                size.min(avail)
            };
            return Ok(WavLayout {
                fmt,
                size_at: off + 4,
                body,
                declared,
                data_len,
            });
        }
        // Chunks are padded to an even size.
        off = match body.checked_add(size).and_then(|e| e.checked_add(size & 1)) {
            Some(o) => o,
            None => return Err(trunc("chunk size runs past end of file")),
        };
    }
}

/// Decode the located data with the fast path: `Ok(None)` for a valid WAV
/// whose codec symphonia handles (A-law / mu-law). A trailing partial frame
/// is dropped.
pub(crate) fn decode_fast(
    bytes: &[u8],
    layout: &WavLayout,
    path: &Path,
    out: &mut Vec<f32>,
) -> Result<Option<AudioInfo>, AudioError> {
    let f = &layout.fmt;
    let data = &bytes[layout.body..layout.body + layout.data_len];
    let p = || path.to_path_buf();
    if f.channels == 0 {
        return Err(AudioError::ZeroChannels { path: p() });
    }
    if f.sample_rate == 0 {
        return Err(AudioError::ZeroSampleRate { path: p() });
    }
    let bytes_per = usize::from(f.bits).div_ceil(8);
    let (kind, codec) = match (f.tag, bytes_per) {
        (TAG_PCM, 1) => (Kind::U8, "pcm_u8"),
        (TAG_PCM, 2) => (Kind::I16, "pcm_s16le"),
        (TAG_PCM, 3) => (Kind::I24, "pcm_s24le"),
        (TAG_PCM, 4) => (Kind::I32, "pcm_s32le"),
        (TAG_FLOAT, 4) => (Kind::F32, "pcm_f32le"),
        (TAG_FLOAT, 8) => (Kind::F64, "pcm_f64le"),
        (TAG_ALAW | TAG_MULAW, _) => return Ok(None),
        (TAG_PCM | TAG_FLOAT, _) => {
            return Err(AudioError::UnsupportedCodec {
                path: p(),
                codec: format!(
                    "WAV {} with {}-bit samples",
                    if f.tag == TAG_PCM { "PCM" } else { "float" },
                    f.bits
                ),
            })
        }
        (tag, _) => {
            return Err(AudioError::UnsupportedCodec {
                path: p(),
                codec: format!("WAV format tag 0x{tag:04x} ({})", tag_name(tag)),
            })
        }
    };
    let ch = usize::from(f.channels);
    let frame_bytes = bytes_per * ch;
    let frames = data.len() / frame_bytes;
    if frames == 0 {
        return Err(AudioError::ZeroSamples { path: p() });
    }
    let data = &data[..frames * frame_bytes];
    out.clear();
    convert(kind, data, ch, path, out)?;
    Ok(Some(AudioInfo {
        sample_rate: f.sample_rate,
        channels: f.channels,
        frames: frames as u64,
        codec: codec.to_string(),
        truncated: None,
    }))
}

#[derive(Clone, Copy)]
enum Kind {
    U8,
    I16,
    I24,
    I32,
    F32,
    F64,
}

/// Append the mono f32 mix of interleaved little-endian samples to `out`.
fn convert(
    kind: Kind,
    data: &[u8],
    ch: usize,
    path: &Path,
    out: &mut Vec<f32>,
) -> Result<(), AudioError> {
    match kind {
        Kind::U8 => mix::<1>(data, ch, out, |b| (f32::from(b[0]) - 128.0) * (1.0 / 128.0)),
        Kind::I16 => mix16(data, ch, out),
        Kind::I24 => mix::<3>(data, ch, out, |b| {
            // Sign-extend by placing the 3 bytes in the top of an i32.
            (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 * (1.0 / 8_388_608.0)
        }),
        Kind::I32 => mix::<4>(data, ch, out, |b| {
            // f64 then f32: one rounding, like soundfile's int32 -> float.
            (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) * (1.0 / 2_147_483_648.0))
                as f32
        }),
        Kind::F32 => {
            let f = |b: &[u8]| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            check_range::<4>(data, path, f)?;
            mix_f64::<4>(data, ch, out, f);
        }
        Kind::F64 => {
            let f = |b: &[u8]| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            check_range::<8>(data, path, f)?;
            mix_f64::<8>(data, ch, out, f);
        }
    }
    Ok(())
}

/// The hot path: 16-bit PCM, specialised for mono and stereo.
fn mix16(data: &[u8], ch: usize, out: &mut Vec<f32>) {
    const S: f32 = 1.0 / 32768.0;
    match ch {
        1 => extend_map(out, data, 2, |b| {
            f32::from(i16::from_le_bytes([b[0], b[1]])) * S
        }),
        2 => extend_map(out, data, 4, |b| {
            let l = f32::from(i16::from_le_bytes([b[0], b[1]]));
            let r = f32::from(i16::from_le_bytes([b[2], b[3]]));
            // l + r is exact in f32 (|l + r| < 2^16), so this equals the
            // mean of the two scaled samples.
            (l + r) * (0.5 * S)
        }),
        _ => mix::<2>(data, ch, out, |b| {
            f32::from(i16::from_le_bytes([b[0], b[1]])) * S
        }),
    }
}

/// Append `f(frame)` for every `frame_bytes`-sized frame of `data`.
///
/// Converted block-wise into a stack buffer and appended with a memcpy,
/// rather than with `Vec::extend` over an iterator, which
/// went through a non-inlined generic helper that LLVM did not vectorize
/// (5x slower on the 16-bit hot path).
#[inline(always)]
fn extend_map(out: &mut Vec<f32>, data: &[u8], frame_bytes: usize, f: impl Fn(&[u8]) -> f32) {
    const BLOCK: usize = 2048;
    out.reserve(data.len() / frame_bytes);
    let mut buf = [0.0f32; BLOCK];
    for block in data.chunks(BLOCK * frame_bytes) {
        let mut n = 0;
        for (o, b) in buf.iter_mut().zip(block.chunks_exact(frame_bytes)) {
            *o = f(b);
            n += 1;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[inline(always)]
fn mix<const B: usize>(data: &[u8], ch: usize, out: &mut Vec<f32>, f: impl Fn(&[u8]) -> f32) {
    if ch == 1 {
        extend_map(out, data, B, f);
        return;
    }
    let inv = 1.0 / ch as f32;
    extend_map(out, data, B * ch, |frame| {
        frame.chunks_exact(B).map(&f).sum::<f32>() * inv
    });
}

fn mix_f64<const B: usize>(data: &[u8], ch: usize, out: &mut Vec<f32>, f: impl Fn(&[u8]) -> f64) {
    let inv = 1.0 / ch as f64;
    extend_map(out, data, B * ch, |frame| {
        (frame.chunks_exact(B).map(&f).sum::<f64>() * inv) as f32
    });
}

/// The range policy for float samples: the first one that is not finite is
/// [`AudioError::NonFinite`], the first whose magnitude exceeds
/// [`MAX_SAMPLE_MAGNITUDE`] is [`AudioError::OutOfRange`]. Bounded samples
/// also mix and convert to `f32` without overflow.
fn check_range<const B: usize>(
    data: &[u8],
    path: &Path,
    value: impl Fn(&[u8]) -> f64,
) -> Result<(), AudioError> {
    match data
        .chunks_exact(B)
        .position(|b| !crate::in_range(value(b)))
    {
        None => Ok(()),
        Some(i) => Err(crate::sample_error(path, i as u64, value(&data[i * B..]))),
    }
}

/// Encode interleaved samples (nominal range [-1, 1]) as a WAV file in memory.
///
/// Integer formats scale by 2^(bits-1) (u8: `x * 128 + 128`), round to
/// nearest and saturate, so that decoding gives back exactly any input that
/// lies on the format's grid (`k / 32768` for [`WavFormat::Pcm16`]); NaN
/// becomes 0. Float formats store the value as is. `channels` of 0 is
/// treated as 1; a trailing partial frame is dropped. A plain 16-byte
/// `fmt ` chunk (tag 1 or 3) is written, which every reader accepts.
pub fn encode_wav(samples: &[f32], sample_rate: u32, channels: u16, format: WavFormat) -> Vec<u8> {
    let ch = channels.max(1);
    let bps = format.bytes_per_sample();
    let n = samples.len() - samples.len() % usize::from(ch);
    let data_len = n * bps;
    let mut out = Vec::with_capacity(44 + data_len + 1);
    let tag = match format {
        WavFormat::F32 | WavFormat::F64 => TAG_FLOAT,
        _ => TAG_PCM,
    };
    let block = u32::from(ch) * bps as u32;
    let sat = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&sat(36 + data_len + (data_len & 1)).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&ch.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&sample_rate.saturating_mul(block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&((bps * 8) as u16).to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&sat(data_len).to_le_bytes());
    let q = |x: f32, scale: f64| (f64::from(x) * scale).round();
    for &x in &samples[..n] {
        match format {
            WavFormat::U8 => out.push((q(x, 128.0) + 128.0).clamp(0.0, 255.0) as u8),
            WavFormat::Pcm16 => out.extend_from_slice(&(q(x, 32768.0) as i16).to_le_bytes()),
            WavFormat::Pcm24 => {
                let v = q(x, 8_388_608.0).clamp(-8_388_608.0, 8_388_607.0) as i32;
                out.extend_from_slice(&v.to_le_bytes()[..3]);
            }
            WavFormat::Pcm32 => {
                out.extend_from_slice(&(q(x, 2_147_483_648.0) as i32).to_le_bytes())
            }
            WavFormat::F32 => out.extend_from_slice(&x.to_le_bytes()),
            WavFormat::F64 => out.extend_from_slice(&f64::from(x).to_le_bytes()),
        }
    }
    if data_len & 1 == 1 {
        out.push(0);
    }
    out
}

/// Write [`encode_wav`]'s output to `path` atomically (through
/// [`specnorm_atomic::write`]: a temporary file in the same directory, synced,
/// then renamed over `path`), so no reader ever sees a half-written file.
pub fn write_wav(
    path: &Path,
    samples: &[f32],
    sample_rate: u32,
    channels: u16,
    format: WavFormat,
) -> Result<(), AudioError> {
    let bytes = encode_wav(samples, sample_rate, channels, format);
    specnorm_atomic::write(path, &bytes).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })
}
