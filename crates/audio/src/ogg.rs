//! Ogg page framing: where a stream cut mid-page ends.

use crate::{LengthUnit, Truncation};

/// The length of the prefix of `bytes` made of complete Ogg pages, and the
/// truncation when a page header states more bytes than the file holds (a
/// cut-off download: symphonia would otherwise fail while probing, or read a
/// partial packet). Stops at the first byte that does not start a page, where
/// symphonia's own resynchronization takes over.
pub(crate) fn complete_pages(bytes: &[u8]) -> (usize, Option<Truncation>) {
    let mut off = 0usize;
    while bytes.len() >= off + 27 && &bytes[off..off + 4] == b"OggS" {
        let nsegs = usize::from(bytes[off + 26]);
        let table_end = off + 27 + nsegs;
        let Some(table) = bytes.get(off + 27..table_end) else {
            return cut(off, table_end, bytes.len());
        };
        let end = table_end + table.iter().map(|&s| usize::from(s)).sum::<usize>();
        if end > bytes.len() {
            return cut(off, end, bytes.len());
        }
        off = end;
    }
    (bytes.len(), None)
}

fn cut(complete: usize, declared: usize, present: usize) -> (usize, Option<Truncation>) {
    (
        complete,
        Some(Truncation {
            declared: declared as u64,
            present: present as u64,
            unit: LengthUnit::Bytes,
        }),
    )
}
