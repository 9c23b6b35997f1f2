//! Segment files: appending validated batches and scanning what is on disk.
//!
//! A segment is a plain concatenation of v2 batches. Appends go through pwrite at an
//! explicit position (the control plane tracks the end), so the descriptor's own file
//! position is never relied on. Scans read large chunks with pread, because recovery
//! and index building walk whole segments and small reads per header would cost a
//! syscall per batch.

use std::os::fd::RawFd;

use crate::batch::{self, AppendStamp, BatchFacts, Defect, HEADER_LEN};
use crate::sys::{self, OsError};

/// Default read size for scans; grows when a single batch is bigger (up to the max batch).
pub const SCAN_CHUNK: usize = 1 << 20;

#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The packed array does not describe `buf` (a caller bug, reported as EINVAL).
    BadBatches(String),
    Os(OsError),
}

/// Rewrites the batches in place as `stamp` says (offsets, leader epoch, LogAppendTime: see
/// `batch::assign_offsets`) and writes the whole buffer at `file_position`. Returns the next
/// offset. On an I/O error part of the buffer may already be in the file past `file_position`;
/// the caller owns the logical end of the segment and must truncate back to it (or rescan)
/// before appending again.
pub fn append(
    fd: RawFd,
    file_position: u64,
    buf: &mut [u8],
    packed: &mut [f64],
    stamp: AppendStamp,
) -> Result<i64, AppendError> {
    let next = batch::assign_offsets(buf, packed, stamp).map_err(AppendError::BadBatches)?;
    sys::pwrite_all(fd, buf, file_position).map_err(AppendError::Os)?;
    Ok(next)
}

pub struct ScanOutcome {
    pub batches: Vec<BatchFacts>,
    /// Position just after the last good batch.
    pub valid_end: u64,
    /// None when the scan reached `end` cleanly.
    pub stop: Option<Defect>,
}

/// Holds a window of the file in memory so that consecutive batches are parsed from one
/// big read. The allocation is reused across refills.
struct ChunkReader {
    fd: RawFd,
    end: u64,
    chunk: usize,
    buf: Vec<u8>,
    /// File position of buf[0].
    at: u64,
    /// Valid bytes in buf.
    filled: usize,
}

impl ChunkReader {
    /// Returns the bytes from `pos` on, at least `need` of them unless the file (or
    /// `end`) ends first, in which case the slice is shorter.
    fn window(&mut self, pos: u64, need: usize) -> Result<&[u8], OsError> {
        let buffered_end = self.at + self.filled as u64;
        let hit = pos >= self.at && pos + need as u64 <= buffered_end;
        if !hit {
            // Read at least a chunk (so small batches after this one come for free),
            // more if this batch is bigger, never past `end`.
            let want = sys::at_most(self.end.saturating_sub(pos), self.chunk.max(need));
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            self.at = pos;
            self.filled = 0;
            self.filled = sys::pread_full(self.fd, &mut self.buf[..want], pos)?;
        }
        // On a hit pos - at <= filled; after a refill it is 0.
        let from = sys::at_most(pos - self.at, self.filled);
        Ok(self.buf.get(from..self.filled).unwrap_or(&[]))
    }
}

/// Walks the batches of a segment from `start` to `end` and stops at the first one that
/// is incomplete or malformed; with `verify_crc` each batch is read whole and its
/// CRC-32C checked (crash recovery), without it only headers are needed (index building
/// over segments that were already verified).
pub fn scan(
    fd: RawFd,
    start: u64,
    end: u64,
    verify_crc: bool,
    max_batch_bytes: u64,
) -> Result<ScanOutcome, OsError> {
    let mut reader = ChunkReader { fd, end, chunk: SCAN_CHUNK, buf: Vec::new(), at: 0, filled: 0 };
    let mut batches = Vec::new();
    let mut pos = start;
    let stop = loop {
        if pos >= end {
            break None;
        }
        let remaining = end - pos;
        let head_need = sys::at_most(remaining, HEADER_LEN);
        let window = reader.window(pos, head_need)?;
        // A window shorter than asked means the file is shorter than `end` said:
        // inspect_header sees it as a truncated batch.
        let facts = match batch::inspect_header(window, remaining, pos, max_batch_bytes) {
            Ok(f) => f,
            Err(defect) => break Some(defect),
        };
        if verify_crc {
            let size = facts.size as usize;
            let whole = reader.window(pos, size)?;
            let Some(bytes) = whole.get(..size) else {
                break Some(Defect::Truncated);
            };
            if !batch::crc_matches(bytes) {
                break Some(Defect::BadCrc);
            }
        }
        batches.push(facts);
        pos += u64::from(facts.size);
    };
    Ok(ScanOutcome { batches, valid_end: pos.max(start), stop })
}

#[cfg(test)]
// Test segments are small: these casts are exact.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
mod tests {
    use super::*;
    use crate::batch::tests::make_batch;
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    fn temp_file(name: &str, content: &[u8]) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("franz-native-{}-{name}", std::process::id()));
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(content).unwrap();
        let _ = std::fs::remove_file(&path);
        f
    }

    fn segment(n: usize, payload: usize) -> (Vec<u8>, Vec<u64>) {
        let mut seg = Vec::new();
        let mut starts = Vec::new();
        for i in 0..n {
            starts.push(seg.len() as u64);
            seg.extend(make_batch(i as i64 * 10, 10, &vec![i as u8; payload + i]));
        }
        (seg, starts)
    }

    #[test]
    fn scans_clean_segment_both_modes() {
        let (seg, starts) = segment(50, 300);
        let f = temp_file("clean", &seg);
        for verify in [true, false] {
            let out = scan(f.as_raw_fd(), 0, seg.len() as u64, verify, 1 << 20).unwrap();
            assert_eq!(out.stop, None);
            assert_eq!(out.valid_end, seg.len() as u64);
            let pos: Vec<u64> = out.batches.iter().map(|b| b.position).collect();
            assert_eq!(pos, starts);
        }
        // Starting mid-file at a batch boundary.
        let out = scan(f.as_raw_fd(), starts[10], seg.len() as u64, true, 1 << 20).unwrap();
        assert_eq!(out.batches.len(), 40);
        assert_eq!(out.batches[0].base_offset, 100);
    }

    #[test]
    fn stops_at_torn_tail_and_bit_flip() {
        let (seg, starts) = segment(5, 100);
        let torn = &seg[..seg.len() - 7];
        let f = temp_file("torn", torn);
        let out = scan(f.as_raw_fd(), 0, torn.len() as u64, true, 1 << 20).unwrap();
        assert_eq!(out.stop, Some(Defect::Truncated));
        assert_eq!(out.valid_end, starts[4]);
        assert_eq!(out.batches.len(), 4);

        let mut flipped = seg.clone();
        flipped[starts[2] as usize + 80] ^= 0x01;
        let f = temp_file("flip", &flipped);
        let out = scan(f.as_raw_fd(), 0, flipped.len() as u64, true, 1 << 20).unwrap();
        assert_eq!(out.stop, Some(Defect::BadCrc));
        assert_eq!(out.valid_end, starts[2]);
        // Without CRC verification the flip in the records is invisible.
        let out = scan(f.as_raw_fd(), 0, flipped.len() as u64, false, 1 << 20).unwrap();
        assert_eq!(out.stop, None);
    }

    #[test]
    fn end_beyond_file_is_truncation() {
        let (seg, starts) = segment(3, 10);
        let f = temp_file("short", &seg);
        let out = scan(f.as_raw_fd(), 0, seg.len() as u64 + 100, true, 1 << 20).unwrap();
        assert_eq!(out.stop, Some(Defect::Truncated));
        assert_eq!(out.valid_end, seg.len() as u64);
        assert_eq!(out.batches.len(), starts.len());
    }

    #[test]
    fn batches_bigger_than_the_chunk_grow_the_buffer() {
        let mut seg = make_batch(0, 1, &vec![7u8; SCAN_CHUNK * 2 + 5]);
        seg.extend(make_batch(1, 1, b"small"));
        let f = temp_file("big", &seg);
        let out = scan(f.as_raw_fd(), 0, seg.len() as u64, true, 8 << 20).unwrap();
        assert_eq!(out.stop, None);
        assert_eq!(out.batches.len(), 2);
        let out = scan(f.as_raw_fd(), 0, seg.len() as u64, true, 1 << 20).unwrap();
        assert_eq!(out.stop, Some(Defect::TooLarge));
        assert_eq!(out.valid_end, 0);
    }

    fn at(first_offset: i64, leader_epoch: i32) -> AppendStamp {
        AppendStamp { first_offset, leader_epoch, log_append_time: None }
    }

    #[test]
    fn append_writes_patched_batches() {
        let mut buf = make_batch(0, 2, b"ab");
        buf.extend(make_batch(0, 3, b"cde"));
        let mut packed = batch::pack_all(&batch::validate(&buf, 1 << 20).unwrap());
        let f = temp_file("append", b"");
        let next = append(f.as_raw_fd(), 0, &mut buf, &mut packed, at(40, 3)).unwrap();
        assert_eq!(next, 45);
        let out = scan(f.as_raw_fd(), 0, buf.len() as u64, true, 1 << 20).unwrap();
        assert_eq!(out.stop, None);
        assert_eq!(out.batches[1].base_offset, 42);
    }

    #[test]
    fn append_with_log_append_time_stores_stamped_batches_that_recover() {
        let mut buf = make_batch(0, 2, b"ab");
        buf.extend(make_batch(0, 3, b"cde"));
        let mut packed = batch::pack_all(&batch::validate(&buf, 1 << 20).unwrap());
        let f = temp_file("append-lat", b"");
        let stamp = AppendStamp { first_offset: 7, leader_epoch: 1, log_append_time: Some(1_234) };
        assert_eq!(append(f.as_raw_fd(), 0, &mut buf, &mut packed, stamp), Ok(12));
        // A crash-recovery scan (CRCs verified) accepts what was written.
        let out = scan(f.as_raw_fd(), 0, buf.len() as u64, true, 1 << 20).unwrap();
        assert_eq!(out.stop, None);
        assert_eq!(out.batches.len(), 2);
        for b in &out.batches {
            assert_eq!(b.max_timestamp, 1_234);
            assert_eq!(b.attributes & batch::ATTR_LOG_APPEND_TIME, batch::ATTR_LOG_APPEND_TIME);
        }
    }

    #[test]
    fn append_to_bad_fd_reports_ebadf() {
        let mut buf = make_batch(0, 1, b"a");
        let mut packed = batch::pack_all(&batch::validate(&buf, 1 << 20).unwrap());
        match append(-1, 0, &mut buf, &mut packed, at(0, 0)) {
            Err(AppendError::Os(e)) => assert!(e.to_string().starts_with("EBADF: ")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
