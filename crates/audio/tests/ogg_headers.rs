//! Hostile Ogg Vorbis header packets (issue 15: symphonia 0.5 allocated the
//! lengths declared in comment packets and the `entries * dimensions` of
//! codebooks unchecked). With symphonia 0.6 a comment packet whose lengths run
//! past its end is skipped (the audio decodes unchanged) and an oversized
//! codebook is refused before its table is built: an error naming the file.
//!
//! Checked against 0.5.5: the codebook test fails there (0.5 goes on reading
//! 16 million code lengths until "unexpected end of bitstream"); the comment
//! test passes there too, since in a plain process the 4 GiB zeroed buffer is
//! never touched (only libFuzzer's malloc limit flags it), so it pins 0.6's
//! behaviour rather than telling the versions apart.

mod common;

use std::path::Path;

use common::fixture;
use specnorm_audio::{decode, AudioError};

/// Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, MSB first, initial 0,
/// over the page with its checksum field zeroed.
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for (i, &b) in page.iter().enumerate() {
        let b = if (22..26).contains(&i) { 0 } else { b };
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// (start, end) of every page in `ogg`.
fn pages(ogg: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 27 <= ogg.len() && &ogg[off..off + 4] == b"OggS" {
        let n = usize::from(ogg[off + 26]);
        let body: usize = ogg[off + 27..off + 27 + n]
            .iter()
            .map(|&s| usize::from(s))
            .sum();
        out.push((off, off + 27 + n + body));
        off += 27 + n + body;
    }
    out
}

/// `ogg` with `patch` applied at the first occurrence of `marker` (offset
/// `at` from it), and the checksum of the page holding it recomputed.
fn patched(ogg: &[u8], marker: &[u8], at: usize, patch: &[u8]) -> Vec<u8> {
    let pos = ogg
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("marker present")
        + at;
    let mut out = ogg.to_vec();
    out[pos..pos + patch.len()].copy_from_slice(patch);
    let (start, end) = pages(&out)
        .into_iter()
        .find(|&(s, e)| s <= pos && pos + patch.len() <= e)
        .expect("patch inside one page");
    let crc = ogg_crc(&out[start..end]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn the_checksum_helper_reproduces_the_encoder_s_checksums() {
    let ogg = std::fs::read(fixture("codec.ogg")).unwrap();
    let ps = pages(&ogg);
    assert_eq!(ps.last().unwrap().1, ogg.len());
    for (s, e) in ps {
        let stored = u32::from_le_bytes(ogg[s + 22..s + 26].try_into().unwrap());
        assert_eq!(ogg_crc(&ogg[s..e]), stored);
    }
}

#[test]
fn a_comment_packet_declaring_4_gib_is_skipped() {
    let ogg = std::fs::read(fixture("codec.ogg")).unwrap();
    let clean = decode(&ogg, Path::new("clean.ogg")).unwrap();
    // The comment header: 0x03 "vorbis", the vendor string's length (u32 LE)
    // and string, the comment count, then each comment's length and text.
    let marker = b"\x03vorbis";
    let pos = ogg.windows(7).position(|w| w == marker).unwrap() + 7;
    let le32 = |at: usize| u32::from_le_bytes(ogg[pos + at..pos + at + 4].try_into().unwrap());
    let count_at = 4 + le32(0) as usize;
    assert!(le32(count_at) > 0, "the fixture has a comment");
    for at in [0, count_at + 4] {
        let bomb = patched(&ogg, marker, 7 + at, &0xFFFF_FFF0u32.to_le_bytes());
        assert_ne!(bomb, ogg);
        let a = decode(&bomb, Path::new("bomb.ogg")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, clean, "length field at {at}");
    }
}

#[test]
fn a_codebook_with_16_million_entries_is_an_error_naming_the_file() {
    let ogg = std::fs::read(fixture("codec.ogg")).unwrap();
    // The setup header: 0x05 "vorbis", codebook count - 1 (8 bits), then the
    // first codebook: sync "BCV", dimensions (16 bits), entries (24 bits).
    let setup = b"\x05vorbis";
    let pos = ogg.windows(7).position(|w| w == setup).unwrap();
    assert_eq!(&ogg[pos + 8..pos + 11], b"BCV");
    let mut patch = 32u16.to_le_bytes().to_vec(); // 32 dimensions
    patch.extend_from_slice(&[0xFF, 0xFF, 0xFF]); // 2^24 - 1 entries: a 2 GiB table
    let bomb = patched(&ogg, setup, 11, &patch);
    let e = decode(&bomb, Path::new("codebook.ogg")).unwrap_err();
    assert!(matches!(e, AudioError::Malformed { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with("codebook.ogg: "), "{msg}");
    assert!(msg.contains("codebook entries too large"), "{msg}");
}
