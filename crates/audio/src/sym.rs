//! Fallback decoding through symphonia (FLAC, OGG Vorbis, MP3, A-law/mu-law WAV).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use symphonia::core::codecs::audio::{AudioDecoderOptions, CODEC_ID_NULL_AUDIO};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::default::formats::{FlacReader, MpaReader, OggReader, WavReader};

use crate::{Audio, AudioError, AudioInfo, DecodeOptions, LengthUnit, Truncation};

/// Containers we let symphonia try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Wav,
    Flac,
    Ogg,
    Mp3,
}

impl Container {
    fn ext(self) -> &'static str {
        match self {
            Container::Wav => "wav",
            Container::Flac => "flac",
            Container::Ogg => "ogg",
            Container::Mp3 => "mp3",
        }
    }
}

/// Identify the container from magic bytes. Bare MP3 streams (no ID3 tag)
/// must start with two consecutive valid MPEG audio layer III frame headers,
/// so that random bytes are not mistaken for MP3.
pub(crate) fn sniff(bytes: &[u8]) -> Option<Container> {
    if bytes.starts_with(b"fLaC") {
        Some(Container::Flac)
    } else if bytes.starts_with(b"OggS") {
        Some(Container::Ogg)
    } else if bytes.starts_with(b"ID3") {
        Some(Container::Mp3)
    } else {
        let len = mp3_frame_len(bytes)?;
        match bytes.get(len..) {
            Some(rest) if rest.is_empty() || mp3_frame_len(rest).is_some() => Some(Container::Mp3),
            _ => None,
        }
    }
}

/// Length in bytes of the MPEG-1/2/2.5 layer III frame whose header starts `b`.
fn mp3_frame_len(b: &[u8]) -> Option<usize> {
    if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b[1] >> 3) & 3; // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer = (b[1] >> 1) & 3; // 1: layer III
    let br_idx = usize::from(b[2] >> 4);
    let sr_idx = usize::from((b[2] >> 2) & 3);
    let pad = usize::from((b[2] >> 1) & 1);
    if version == 1 || layer != 1 || br_idx == 0 || br_idx == 15 || sr_idx == 3 {
        return None;
    }
    const BR1: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const BR2: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const SR: [usize; 3] = [44100, 48000, 32000];
    let (br, sr, coef) = match version {
        3 => (BR1[br_idx], SR[sr_idx], 144),
        2 => (BR2[br_idx], SR[sr_idx] / 2, 72),
        _ => (BR2[br_idx], SR[sr_idx] / 4, 72),
    };
    Some(coef * br * 1000 / sr + pad)
}

/// Decode with symphonia, mixing to mono. Panics inside symphonia on hostile
/// input are caught and reported as [`AudioError::Malformed`]. A stream that
/// decodes to fewer frames than its container states (`Track::num_frames`: FLAC
/// STREAMINFO, MP3 Xing/Info, the Ogg granule position of the last page) is
/// truncated, under `opts`' policy. For WAV the caller has applied the policy
/// to the header and passes bytes whose data size is consistent.
pub(crate) fn decode(
    bytes: &[u8],
    path: &Path,
    container: Container,
    opts: DecodeOptions,
) -> Result<Audio, AudioError> {
    match catch_unwind(AssertUnwindSafe(|| {
        decode_inner(bytes, path, container, opts)
    })) {
        Ok(r) => r,
        Err(_) => Err(AudioError::Malformed {
            path: path.to_path_buf(),
            reason: format!("{} decoder failed on corrupt data", container.ext()),
        }),
    }
}

/// The bytes after any leading ID3v2 tags (their content is not needed).
fn skip_id3v2(mut b: &[u8]) -> &[u8] {
    while b.len() >= 10 && b.starts_with(b"ID3") {
        // 28-bit "syncsafe" size, plus a 10-byte footer when flagged.
        let size = b[6..10]
            .iter()
            .fold(0usize, |acc, &x| (acc << 7) | usize::from(x & 0x7f));
        let footer = if b[5] & 0x10 != 0 { 10 } else { 0 };
        b = b.get(10 + size + footer..).unwrap_or_default();
    }
    b
}

/// The FLAC file with every metadata block except STREAMINFO removed.
///
/// None of those blocks affect decoding. symphonia 0.5 allocated the lengths
/// declared inside VORBIS_COMMENT and PICTURE blocks before reading them (up
/// to 4 GiB per field), so a corrupt tag could abort the process; 0.6 reads
/// each block through a stream scoped to the block's length (at most 16 MiB),
/// but still fails the whole file on a malformed tag, picture or cue sheet.
fn flac_without_metadata(bytes: &[u8], path: &Path) -> Result<Vec<u8>, AudioError> {
    let trunc = |detail: &str| AudioError::TruncatedHeader {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut off = 4; // after "fLaC"
    loop {
        let Some(h) = bytes.get(off..off + 4) else {
            return Err(trunc("FLAC metadata block header cut off"));
        };
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        let end = off + 4 + len;
        if end > bytes.len() {
            return Err(trunc("FLAC metadata block runs past the end of the file"));
        }
        if h[0] & 0x7f == 0 {
            kept.push(&bytes[off..end]);
        }
        off = end;
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    if kept.is_empty() {
        // Without one, symphonia would parse the audio frames as metadata.
        return Err(AudioError::Malformed {
            path: path.to_path_buf(),
            reason: "FLAC stream has no STREAMINFO block".into(),
        });
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(b"fLaC");
    for (i, block) in kept.iter().enumerate() {
        let last = if i + 1 == kept.len() { 0x80 } else { 0 };
        out.push((block[0] & 0x7f) | last);
        out.extend_from_slice(&block[1..]);
    }
    out.extend_from_slice(&bytes[off..]);
    Ok(out)
}

fn decode_inner(
    bytes: &[u8],
    path: &Path,
    container: Container,
    opts: DecodeOptions,
) -> Result<Audio, AudioError> {
    let p = || path.to_path_buf();
    let malformed = |e: SymError| match e {
        SymError::Unsupported(what) => AudioError::UnsupportedCodec {
            path: p(),
            codec: format!("{} ({what})", container.ext()),
        },
        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::TruncatedHeader {
                path: p(),
                detail: format!("{} stream ends inside its header", container.ext()),
            }
        }
        other => AudioError::Malformed {
            path: p(),
            reason: format!("{}: {other}", container.ext()),
        },
    };
    // The sniffed container's reader is built directly, without symphonia's
    // probe: the probe scans past unrecognized bytes for *any* registered
    // marker, so e.g. an ID3 tag followed by "fLaC" would otherwise reach the
    // FLAC reader and its unsanitized metadata blocks.
    let mut page_cut = None;
    let owned = match container {
        Container::Flac => flac_without_metadata(bytes, path)?,
        Container::Ogg => {
            // A page cut off is truncation in bytes (the page header states its length);
            // allowed, symphonia reads the complete pages before it.
            let (complete, cut) = crate::ogg::complete_pages(bytes);
            page_cut = crate::truncation_policy(cut, opts, path)?;
            bytes[..complete].to_vec()
        }
        Container::Wav => bytes.to_vec(),
        Container::Mp3 => skip_id3v2(bytes).to_vec(),
    };
    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(owned)), Default::default());
    let format_opts = FormatOptions::default();
    let mut format: Box<dyn FormatReader> = match container {
        Container::Flac => Box::new(FlacReader::try_new(mss, format_opts).map_err(malformed)?),
        Container::Ogg => Box::new(OggReader::try_new(mss, format_opts).map_err(malformed)?),
        Container::Wav => Box::new(WavReader::try_new(mss, format_opts).map_err(malformed)?),
        Container::Mp3 => Box::new(MpaReader::try_new(mss, format_opts).map_err(malformed)?),
    };
    let no_track = || AudioError::NotAudio {
        path: p(),
        reason: format!("{} container has no audio track", container.ext()),
    };
    let (track_id, params, declared_frames) = format
        .tracks()
        .iter()
        .find_map(|t| {
            let a = t.codec_params.as_ref()?.audio()?;
            (a.codec != CODEC_ID_NULL_AUDIO).then(|| (t.id, a.clone(), t.num_frames))
        })
        .ok_or_else(no_track)?;
    if params.sample_rate == Some(0) {
        return Err(AudioError::ZeroSampleRate { path: p() });
    }
    if params.channels.as_ref().is_some_and(|c| c.count() == 0) {
        return Err(AudioError::ZeroChannels { path: p() });
    }
    let registry = symphonia::default::get_codecs();
    let codec_name = registry
        .get_audio_decoder(params.codec)
        .map(|d| d.codec.info.short_name.to_string())
        .unwrap_or_else(|| format!("{}", params.codec));
    // Gapless (the default): drop MP3 encoder delay/padding (LAME/Xing info)
    // and Vorbis pre-roll, so lengths match libsndfile/torchaudio.
    let mut decoder = registry
        .make_audio_decoder(&params, &AudioDecoderOptions::default().gapless(true))
        .map_err(malformed)?;

    let mut mono: Vec<f32> = Vec::new();
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
    let mut interleaved: Vec<f32> = Vec::new();
    let mut consecutive_errors = 0u32;
    let mut last_error: Option<String> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            // End of stream, or a stream cut off mid-packet: keep what we have.
            Ok(None) | Err(SymError::IoError(_)) | Err(SymError::ResetRequired) => break,
            Err(e) => {
                if mono.is_empty() {
                    return Err(malformed(e));
                }
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(e)) => {
                // Skip a corrupt packet (like ffmpeg), but give up on a
                // stream that is nothing but corrupt packets.
                consecutive_errors += 1;
                last_error = Some(e.to_string());
                if consecutive_errors > 64 {
                    break;
                }
                continue;
            }
            Err(SymError::IoError(_)) | Err(SymError::ResetRequired) => break,
            Err(e) => return Err(malformed(e)),
        };
        consecutive_errors = 0;
        let spec = decoded.spec();
        let ch = spec.channels().count();
        if ch == 0 {
            return Err(AudioError::ZeroChannels { path: p() });
        }
        if spec.rate() == 0 {
            return Err(AudioError::ZeroSampleRate { path: p() });
        }
        rate = spec.rate();
        channels = ch;
        decoded.copy_to_vec_interleaved(&mut interleaved);
        let inv = 1.0 / ch as f32;
        let start = mono.len() * ch;
        for (k, frame) in interleaved.chunks_exact(ch).enumerate() {
            if let Some(bad) = frame.iter().position(|&x| !crate::in_range(f64::from(x))) {
                let index = (start + k * ch + bad) as u64;
                return Err(crate::sample_error(path, index, f64::from(frame[bad])));
            }
            mono.push(frame.iter().sum::<f32>() * inv);
        }
    }
    // Fewer frames than the container states: cut off. (WAV: checked on the
    // header by the caller.)
    let declared = declared_frames.filter(|&n| n > 0 && container != Container::Wav);
    let truncated = match declared {
        Some(n) if (mono.len() as u64) < n => crate::truncation_policy(
            Some(Truncation {
                declared: n,
                present: mono.len() as u64,
                unit: LengthUnit::Frames,
            }),
            opts,
            path,
        )?,
        _ => page_cut,
    };
    // The Ogg granule position of the last page gives the true length; the
    // last Vorbis packet decodes past it (libvorbis trims it too).
    if container == Container::Ogg {
        if let Some(n) = declared_frames.and_then(|n| usize::try_from(n).ok()) {
            if n > 0 {
                mono.truncate(n);
            }
        }
    }
    if mono.is_empty() {
        if let Some(e) = last_error {
            return Err(AudioError::Malformed {
                path: p(),
                reason: format!("{}: no packet could be decoded ({e})", container.ext()),
            });
        }
        return Err(AudioError::ZeroSamples { path: p() });
    }
    if rate == 0 {
        return Err(AudioError::ZeroSampleRate { path: p() });
    }
    if channels == 0 {
        return Err(AudioError::ZeroChannels { path: p() });
    }
    let frames = mono.len() as u64;
    Ok(Audio {
        samples: mono,
        info: AudioInfo {
            sample_rate: rate,
            channels: u16::try_from(channels).unwrap_or(u16::MAX),
            frames,
            codec: codec_name,
            truncated,
        },
    })
}
