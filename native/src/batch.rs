//! Record batch v2 (magic 2): header parsing, validation of a Produce payload, offset
//! assignment, and the packed Float64Array form in which per-batch facts cross to JS.
//!
//! Layout (big endian), offsets from the start of the batch:
//! baseOffset i64 @0 | batchLength i32 @8 | partitionLeaderEpoch i32 @12 | magic i8 @16 |
//! crc u32 @17 | attributes i16 @21 | lastOffsetDelta i32 @23 | baseTimestamp i64 @27 |
//! maxTimestamp i64 @35 | producerId i64 @43 | producerEpoch i16 @51 | baseSequence i32 @53 |
//! recordCount i32 @57 | records @61.
//! The CRC covers attributes..end, so the broker may rewrite baseOffset and
//! partitionLeaderEpoch without recomputing it; stamping LogAppendTime (attributes and
//! maxTimestamp) needs a new CRC.

use crate::crc::crc32c;

pub const BASE_OFFSET_AT: usize = 0;
pub const BATCH_LENGTH_AT: usize = 8;
pub const LEADER_EPOCH_AT: usize = 12;
pub const MAGIC_AT: usize = 16;
pub const CRC_AT: usize = 17;
pub const ATTRIBUTES_AT: usize = 21;
pub const LAST_OFFSET_DELTA_AT: usize = 23;
pub const BASE_TIMESTAMP_AT: usize = 27;
pub const MAX_TIMESTAMP_AT: usize = 35;
pub const PRODUCER_ID_AT: usize = 43;
pub const PRODUCER_EPOCH_AT: usize = 51;
pub const BASE_SEQUENCE_AT: usize = 53;
pub const RECORD_COUNT_AT: usize = 57;
/// Bytes of fixed header; also the smallest possible batch (zero records).
pub const HEADER_LEN: usize = 61;
/// baseOffset + batchLength: the part of a batch not counted by batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// LOG_OVERHEAD for arithmetic on u32 batch sizes.
const LOG_OVERHEAD_U32: u32 = 12;
const _: () = assert!(LOG_OVERHEAD == 12);
/// The smallest batchLength: a header without records (HEADER_LEN - LOG_OVERHEAD).
pub const MIN_BATCH_LENGTH: i32 = 49;
const _: () = assert!(HEADER_LEN - LOG_OVERHEAD == 49);
pub const MAGIC_V2: i8 = 2;
/// Attributes bit 3: the batch's timestamps are the broker's append time (LogAppendTime).
pub const ATTR_LOG_APPEND_TIME: i16 = 0x08;

/// Packed facts: STRIDE f64s per batch, indices below. src/native/index.ts takes them from
/// `batchLayout()` when the addon loads, so this is the only place they are written down.
pub const STRIDE: usize = 11;
pub const B_POSITION: usize = 0;
pub const B_SIZE: usize = 1;
pub const B_BASE_OFFSET: usize = 2;
pub const B_LAST_OFFSET_DELTA: usize = 3;
pub const B_FIRST_TIMESTAMP: usize = 4;
pub const B_MAX_TIMESTAMP: usize = 5;
pub const B_PRODUCER_ID: usize = 6;
pub const B_PRODUCER_EPOCH: usize = 7;
pub const B_BASE_SEQUENCE: usize = 8;
pub const B_ATTRIBUTES: usize = 9;
pub const B_RECORD_COUNT: usize = 10;

/// Kafka error codes used by validation.
pub const CORRUPT_MESSAGE: u32 = 2;
pub const MESSAGE_TOO_LARGE: u32 = 10;
pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: u32 = 43;

/// Everything the control plane needs to know about one batch without reading it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFacts {
    /// Where the batch starts (in the buffer, or in the file for scans).
    pub position: u64,
    /// Whole batch size: LOG_OVERHEAD + batchLength.
    pub size: u32,
    pub base_offset: i64,
    pub last_offset_delta: i32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub attributes: i16,
    pub record_count: i32,
}

/// Why a batch was rejected (validation) or why a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// The buffer/file ends inside the batch (or the buffer is empty).
    Truncated,
    /// batchLength below the v2 minimum.
    BadLength,
    /// magic is not 2.
    BadMagic,
    /// The batch is bigger than the configured maximum.
    TooLarge,
    /// CRC-32C over attributes..end does not match the header.
    BadCrc,
    /// Negative recordCount.
    BadRecordCount,
    /// Negative lastOffsetDelta: offset assignment would go backwards.
    BadOffsetDelta,
}

impl Defect {
    pub fn kafka_error_code(self) -> u32 {
        match self {
            Defect::TooLarge => MESSAGE_TOO_LARGE,
            Defect::BadMagic => UNSUPPORTED_FOR_MESSAGE_FORMAT,
            Defect::Truncated
            | Defect::BadLength
            | Defect::BadCrc
            | Defect::BadRecordCount
            | Defect::BadOffsetDelta => CORRUPT_MESSAGE,
        }
    }

    /// The stopReason string scanSegment reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Defect::Truncated => "truncated",
            Defect::BadLength => "bad-length",
            Defect::BadMagic => "bad-magic",
            Defect::TooLarge => "too-large",
            Defect::BadCrc => "bad-crc",
            Defect::BadRecordCount => "bad-record-count",
            Defect::BadOffsetDelta => "bad-offset-delta",
        }
    }
}

// Field readers over the fixed-size header. Taking `&[u8; HEADER_LEN]` lets every index
// be checked against a constant bound at compile time, so none of them can panic.
fn be_i16(h: &[u8; HEADER_LEN], at: usize) -> i16 {
    i16::from_be_bytes([h[at], h[at + 1]])
}
fn be_i32(h: &[u8; HEADER_LEN], at: usize) -> i32 {
    i32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}
fn be_i64(h: &[u8; HEADER_LEN], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[at..at + 8]);
    i64::from_be_bytes(b)
}

/// Checks the header of the batch at the start of `window` and returns its facts.
///
/// `window` is what is in memory from the batch start (at least the header when
/// available, not necessarily the whole batch); `remaining` is how many bytes the
/// buffer/segment holds from the batch start, so a batch claiming more is Truncated.
/// The magic byte is checked before the length because older formats (v0/v1) put a
/// different structure after it: their "batchLength" means something else.
pub fn inspect_header(
    window: &[u8],
    remaining: u64,
    position: u64,
    max_batch_bytes: u64,
) -> Result<BatchFacts, Defect> {
    if window.len() <= MAGIC_AT {
        return Err(Defect::Truncated);
    }
    if window[MAGIC_AT].cast_signed() != MAGIC_V2 {
        return Err(Defect::BadMagic);
    }
    let h: &[u8; HEADER_LEN] = match window.get(..HEADER_LEN).and_then(|s| s.try_into().ok()) {
        Some(h) => h,
        None => return Err(Defect::Truncated),
    };
    let batch_length = be_i32(h, BATCH_LENGTH_AT);
    if batch_length < MIN_BATCH_LENGTH {
        return Err(Defect::BadLength);
    }
    // batch_length is in 49..=i32::MAX, so the whole size fits a u32.
    let size = LOG_OVERHEAD_U32 + batch_length.unsigned_abs();
    if u64::from(size) > max_batch_bytes {
        return Err(Defect::TooLarge);
    }
    if u64::from(size) > remaining {
        return Err(Defect::Truncated);
    }
    let facts = BatchFacts {
        position,
        size,
        base_offset: be_i64(h, BASE_OFFSET_AT),
        last_offset_delta: be_i32(h, LAST_OFFSET_DELTA_AT),
        first_timestamp: be_i64(h, BASE_TIMESTAMP_AT),
        max_timestamp: be_i64(h, MAX_TIMESTAMP_AT),
        producer_id: be_i64(h, PRODUCER_ID_AT),
        producer_epoch: be_i16(h, PRODUCER_EPOCH_AT),
        base_sequence: be_i32(h, BASE_SEQUENCE_AT),
        attributes: be_i16(h, ATTRIBUTES_AT),
        record_count: be_i32(h, RECORD_COUNT_AT),
    };
    if facts.record_count < 0 {
        return Err(Defect::BadRecordCount);
    }
    if facts.last_offset_delta < 0 {
        return Err(Defect::BadOffsetDelta);
    }
    Ok(facts)
}

/// True when the stored CRC matches `batch` (exactly one whole batch).
pub fn crc_matches(batch: &[u8]) -> bool {
    let (Some(stored), Some(covered)) = (batch.get(CRC_AT..CRC_AT + 4), batch.get(ATTRIBUTES_AT..))
    else {
        return false;
    };
    let stored = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
    crc32c(covered) == stored
}

/// Validates a Produce payload: one or more whole v2 batches and nothing else.
/// An empty payload is corrupt (Kafka rejects a produce with no batches).
pub fn validate(buf: &[u8], max_batch_bytes: u64) -> Result<Vec<BatchFacts>, Defect> {
    if buf.is_empty() {
        return Err(Defect::Truncated);
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let facts = inspect_header(rest, rest.len() as u64, pos as u64, max_batch_bytes)?;
        let size = facts.size as usize;
        // inspect_header guaranteed size <= rest.len().
        if !crc_matches(&rest[..size]) {
            return Err(Defect::BadCrc);
        }
        out.push(facts);
        pos += size;
    }
    Ok(out)
}

/// The packed form of `facts` (STRIDE numbers, see the B_* indices).
/// Every value is an integer below 2^53 in magnitude except possibly pathological
/// timestamps/producer ids, which f64 rounds; JS treats those as opaque anyway.
pub fn pack_row(facts: &BatchFacts) -> [f64; STRIDE] {
    let mut row = [0f64; STRIDE];
    row[B_POSITION] = packed_u64(facts.position);
    row[B_SIZE] = f64::from(facts.size);
    row[B_BASE_OFFSET] = packed_i64(facts.base_offset);
    row[B_LAST_OFFSET_DELTA] = f64::from(facts.last_offset_delta);
    row[B_FIRST_TIMESTAMP] = packed_i64(facts.first_timestamp);
    row[B_MAX_TIMESTAMP] = packed_i64(facts.max_timestamp);
    row[B_PRODUCER_ID] = packed_i64(facts.producer_id);
    row[B_PRODUCER_EPOCH] = f64::from(facts.producer_epoch);
    row[B_BASE_SEQUENCE] = f64::from(facts.base_sequence);
    row[B_ATTRIBUTES] = f64::from(facts.attributes);
    row[B_RECORD_COUNT] = f64::from(facts.record_count);
    row
}

/// A 64-bit header field as a packed number: exact below 2^53 in magnitude, rounded beyond
/// (only pathological timestamps or producer ids get there; see pack_row).
#[allow(clippy::cast_precision_loss)]
fn packed_i64(v: i64) -> f64 {
    v as f64
}

/// A file position as a packed number: exact, as files stay far below 2^53 bytes.
#[allow(clippy::cast_precision_loss)]
fn packed_u64(v: u64) -> f64 {
    v as f64
}

/// Appends the packed form of `facts` to `out` (see pack_row).
pub fn pack(facts: &BatchFacts, out: &mut Vec<f64>) {
    out.extend_from_slice(&pack_row(facts));
}

/// Packs as many of `facts` as fit whole into `out`, from its start.
pub fn pack_into(facts: &[BatchFacts], out: &mut [f64]) {
    for (f, row) in facts.iter().zip(out.chunks_exact_mut(STRIDE)) {
        row.copy_from_slice(&pack_row(f));
    }
}

pub fn pack_all(facts: &[BatchFacts]) -> Vec<f64> {
    let mut out = Vec::with_capacity(facts.len() * STRIDE);
    for f in facts {
        pack(f, &mut out);
    }
    out
}

/// 2^53: packed numbers up to here are exact integers.
const PACKED_EXACT_MAX: f64 = 9_007_199_254_740_992.0;

/// Converts a packed number that must be a non-negative integer index into usize.
// The cast below only sees integers in 0..=2^53, checked just before it.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn packed_index(v: f64) -> Option<usize> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= PACKED_EXACT_MAX {
        usize::try_from(v as u64).ok()
    } else {
        None
    }
}

/// What the broker writes into each batch as it appends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendStamp {
    /// baseOffset of the first batch; each next batch starts after the previous one's last offset.
    pub first_offset: i64,
    /// Written into every batch's partitionLeaderEpoch; -1 (a follower's append) keeps each batch's own.
    pub leader_epoch: i32,
    /// message.timestamp.type=LogAppendTime: the append time (ms) that becomes each batch's
    /// maxTimestamp, with the timestamp-type attribute bit set. `None` leaves the producer's
    /// timestamps and attributes alone.
    pub log_append_time: Option<i64>,
}

/// Rewrites each batch of `buf` in place as `stamp` says: consecutive offsets from
/// `stamp.first_offset` and the leader epoch (both outside the CRC'd range, so the CRC stays
/// valid) and, with a LogAppendTime, the timestamp-type bit and maxTimestamp, after which the
/// batch's CRC-32C is computed again. baseTimestamp and the records are left as sent, as Kafka
/// does for v2 batches: readers take every record's time from maxTimestamp when the bit is set.
/// The packed rows follow the bytes (attributes and maxTimestamp), so that the caller's facts
/// describe what is stored. Returns the next offset.
///
/// `packed` comes from `validate` on this same buffer, but it crossed through JS, so it is
/// re-checked (bounds, size agreement with the header) rather than trusted: a mismatch
/// returns Err instead of writing outside a batch. lastOffsetDelta is read from the buffer
/// itself, the bytes that will actually be stored.
pub fn assign_offsets(
    buf: &mut [u8],
    packed: &mut [f64],
    stamp: AppendStamp,
) -> Result<i64, String> {
    if !packed.len().is_multiple_of(STRIDE) {
        return Err(format!("batches array length {} is not a multiple of {STRIDE}", packed.len()));
    }
    let mut next = stamp.first_offset;
    for (i, row) in packed.chunks_exact_mut(STRIDE).enumerate() {
        let (Some(pos), Some(size)) = (packed_index(row[B_POSITION]), packed_index(row[B_SIZE]))
        else {
            return Err(format!("batch {i}: position/size are not valid integers"));
        };
        let Some(batch) = pos.checked_add(size).and_then(|end| buf.get_mut(pos..end)) else {
            return Err(format!(
                "batch {i}: {pos}+{size} is outside the {}-byte buffer",
                buf.len()
            ));
        };
        let Some(h) = batch.get(..HEADER_LEN).and_then(|s| <&[u8; HEADER_LEN]>::try_from(s).ok())
        else {
            return Err(format!("batch {i}: size {size} is smaller than a batch header"));
        };
        let batch_length = be_i32(h, BATCH_LENGTH_AT);
        if batch_length < MIN_BATCH_LENGTH || size_disagrees(batch_length, size) {
            return Err(format!("batch {i}: header length disagrees with size {size}"));
        }
        let delta = be_i32(h, LAST_OFFSET_DELTA_AT);
        if delta < 0 {
            return Err(format!("batch {i}: negative lastOffsetDelta"));
        }
        let attributes = be_i16(h, ATTRIBUTES_AT);
        batch[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&next.to_be_bytes());
        // A follower's append keeps the epoch each batch got from its leader (stamp -1).
        if stamp.leader_epoch >= 0 {
            batch[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4]
                .copy_from_slice(&stamp.leader_epoch.to_be_bytes());
        }
        if let Some(time) = stamp.log_append_time {
            let attributes = attributes | ATTR_LOG_APPEND_TIME;
            stamp_log_append_time(batch, attributes, time);
            row[B_ATTRIBUTES] = f64::from(attributes);
            row[B_MAX_TIMESTAMP] = packed_i64(time);
        }
        next = next
            .checked_add(i64::from(delta) + 1)
            .ok_or_else(|| format!("batch {i}: offset overflow"))?;
    }
    Ok(next)
}

/// Whether `size` differs from the whole-batch size that `batch_length` implies.
fn size_disagrees(batch_length: i32, size: usize) -> bool {
    usize::try_from(batch_length).map_or(true, |len| LOG_OVERHEAD + len != size)
}

/// Writes `attributes` and maxTimestamp = `time` into one whole batch (at least HEADER_LEN
/// bytes, checked by the caller) and then its new CRC-32C over attributes..end.
fn stamp_log_append_time(batch: &mut [u8], attributes: i16, time: i64) {
    batch[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&time.to_be_bytes());
    let crc = crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
// Test batches are small and built from exact values: these casts and comparisons are exact.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    clippy::float_cmp
)]
pub(crate) mod tests {
    use super::*;

    /// Builds a v2 batch by hand: opaque `records` bytes, CRC computed independently
    /// with the crc32c crate.
    pub(crate) fn make_batch(base_offset: i64, record_count: i32, records: &[u8]) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + records.len());
        b.extend_from_slice(&base_offset.to_be_bytes());
        b.extend_from_slice(&((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes()); // partitionLeaderEpoch
        b.push(2); // magic
        b.extend_from_slice(&0u32.to_be_bytes()); // crc placeholder
        b.extend_from_slice(&0x0010i16.to_be_bytes()); // attributes
        b.extend_from_slice(&(record_count - 1).max(0).to_be_bytes()); // lastOffsetDelta
        b.extend_from_slice(&1_700_000_000_000i64.to_be_bytes()); // baseTimestamp
        b.extend_from_slice(&1_700_000_000_555i64.to_be_bytes()); // maxTimestamp
        b.extend_from_slice(&4242i64.to_be_bytes()); // producerId
        b.extend_from_slice(&7i16.to_be_bytes()); // producerEpoch
        b.extend_from_slice(&100i32.to_be_bytes()); // baseSequence
        b.extend_from_slice(&record_count.to_be_bytes());
        b.extend_from_slice(records);
        let crc = ::crc32c::crc32c(&b[ATTRIBUTES_AT..]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }

    const MAX: u64 = 1 << 20;

    #[test]
    fn parses_a_valid_batch() {
        let b = make_batch(0, 3, b"opaque records");
        let facts = validate(&b, MAX).unwrap();
        assert_eq!(facts.len(), 1);
        let f = facts[0];
        assert_eq!(f.position, 0);
        assert_eq!(f.size as usize, b.len());
        assert_eq!(f.last_offset_delta, 2);
        assert_eq!(f.first_timestamp, 1_700_000_000_000);
        assert_eq!(f.max_timestamp, 1_700_000_000_555);
        assert_eq!(f.producer_id, 4242);
        assert_eq!(f.producer_epoch, 7);
        assert_eq!(f.base_sequence, 100);
        assert_eq!(f.attributes, 0x10);
        assert_eq!(f.record_count, 3);
    }

    #[test]
    fn parses_consecutive_batches() {
        let mut buf = make_batch(0, 2, b"aa");
        let first = buf.len();
        buf.extend(make_batch(0, 5, b"bbbbbbbb"));
        buf.extend(make_batch(0, 0, b""));
        let facts = validate(&buf, MAX).unwrap();
        assert_eq!(facts.len(), 3);
        assert_eq!(facts[1].position as usize, first);
        assert_eq!(facts[2].size as usize, HEADER_LEN);
        let packed = pack_all(&facts);
        assert_eq!(packed.len(), 3 * STRIDE);
        assert_eq!(packed[STRIDE + B_POSITION], first as f64);
        assert_eq!(packed[STRIDE + B_RECORD_COUNT], 5.0);
    }

    #[test]
    fn empty_buffer_is_corrupt() {
        assert_eq!(validate(&[], MAX), Err(Defect::Truncated));
        assert_eq!(Defect::Truncated.kafka_error_code(), CORRUPT_MESSAGE);
    }

    #[test]
    fn every_bit_flip_in_crc_range_is_caught() {
        let b = make_batch(0, 1, b"payload bytes");
        for i in ATTRIBUTES_AT..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x04;
            let r = validate(&c, MAX);
            // Flips in lastOffsetDelta/recordCount may be caught by the sanity checks
            // first; either way the batch must be rejected as corrupt.
            assert!(r.is_err(), "flip at {i} not detected");
            assert_eq!(r.unwrap_err().kafka_error_code(), CORRUPT_MESSAGE);
        }
    }

    #[test]
    fn flips_outside_crc_range_are_not_crc_errors() {
        // baseOffset and partitionLeaderEpoch are outside the CRC on purpose.
        let mut b = make_batch(0, 1, b"x");
        b[3] ^= 0xff;
        b[LEADER_EPOCH_AT] ^= 0xff;
        assert!(validate(&b, MAX).is_ok());
        b[CRC_AT] ^= 1;
        assert_eq!(validate(&b, MAX), Err(Defect::BadCrc));
    }

    #[test]
    fn truncation_is_corrupt_at_every_cut() {
        let mut buf = make_batch(0, 1, b"0123456789");
        let whole = buf.len();
        buf.extend(make_batch(0, 1, b"0123456789"));
        for cut in 1..buf.len() {
            if cut == whole {
                assert!(validate(&buf[..cut], MAX).is_ok());
                continue;
            }
            assert_eq!(validate(&buf[..cut], MAX), Err(Defect::Truncated), "cut at {cut}");
        }
    }

    #[test]
    fn bad_length_and_magic_and_size() {
        let b = make_batch(0, 1, b"abc");
        let mut short = b.clone();
        short[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&48i32.to_be_bytes());
        assert_eq!(validate(&short, MAX), Err(Defect::BadLength));
        let mut negative = b.clone();
        negative[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(validate(&negative, MAX), Err(Defect::BadLength));

        let mut v1 = b.clone();
        v1[MAGIC_AT] = 1;
        assert_eq!(validate(&v1, MAX), Err(Defect::BadMagic));
        assert_eq!(Defect::BadMagic.kafka_error_code(), 43);

        assert_eq!(validate(&b, b.len() as u64), Ok(validate(&b, MAX).unwrap()));
        assert_eq!(validate(&b, b.len() as u64 - 1), Err(Defect::TooLarge));
        assert_eq!(Defect::TooLarge.kafka_error_code(), 10);

        // A huge claimed length is "too large" before it is "truncated".
        let mut huge = b.clone();
        huge[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(validate(&huge, MAX), Err(Defect::TooLarge));
        assert_eq!(validate(&huge, u64::MAX), Err(Defect::Truncated));
    }

    #[test]
    fn negative_record_count_is_corrupt() {
        let b = make_batch(0, -1, b"");
        assert_eq!(validate(&b, MAX), Err(Defect::BadRecordCount));
    }

    /// Offsets and epoch only, timestamps as the producer sent them.
    fn at(first_offset: i64, leader_epoch: i32) -> AppendStamp {
        AppendStamp { first_offset, leader_epoch, log_append_time: None }
    }

    /// The same batch with other attributes (and a CRC that covers them).
    fn with_attributes(mut b: Vec<u8>, attributes: i16) -> Vec<u8> {
        b[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
        let crc = ::crc32c::crc32c(&b[ATTRIBUTES_AT..]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn assigns_offsets_and_epoch_keeping_crc() {
        let mut buf = make_batch(0, 3, b"abc");
        buf.extend(make_batch(0, 1, b"d"));
        buf.extend(make_batch(0, 10, b"efghijklmn"));
        let sent = buf.clone();
        let mut packed = pack_all(&validate(&buf, MAX).unwrap());
        let facts_before = packed.clone();
        let next = assign_offsets(&mut buf, &mut packed, at(1000, 17)).unwrap();
        assert_eq!(next, 1014);
        let facts = validate(&buf, MAX).unwrap();
        let bases: Vec<i64> = facts.iter().map(|f| f.base_offset).collect();
        assert_eq!(bases, vec![1000, 1003, 1004]);
        for f in &facts {
            let p = f.position as usize + LEADER_EPOCH_AT;
            assert_eq!(i32::from_be_bytes(buf[p..p + 4].try_into().unwrap()), 17);
            // Without a LogAppendTime nothing from the magic byte on changes, CRC included.
            let (from, to) =
                (f.position as usize + MAGIC_AT, (f.position + u64::from(f.size)) as usize);
            assert_eq!(buf[from..to], sent[from..to]);
        }
        assert_eq!(packed, facts_before, "the packed rows are left alone");
    }

    #[test]
    fn a_follower_stamp_keeps_each_batch_epoch() {
        let mut buf = make_batch(0, 2, b"ab");
        buf.extend(make_batch(0, 1, b"c"));
        let mut packed = pack_all(&validate(&buf, MAX).unwrap());
        assign_offsets(&mut buf, &mut packed, at(10, 4)).unwrap();
        let second = validate(&buf, MAX).unwrap()[1].position as usize + LEADER_EPOCH_AT;
        buf[second..second + 4].copy_from_slice(&9i32.to_be_bytes());
        let before = buf.clone();
        // The follower appends what its leader sent at the offsets it sent: nothing changes.
        assert_eq!(assign_offsets(&mut buf, &mut packed, at(10, -1)), Ok(13));
        assert_eq!(buf, before);
    }

    #[test]
    fn stamps_log_append_time_in_the_same_pass_with_a_new_crc() {
        const T: i64 = 1_800_000_000_123;
        let mut buf = make_batch(0, 3, b"abc");
        let second = buf.len();
        buf.extend(with_attributes(make_batch(0, 2, b"lz4-bytes"), 0x0003)); // lz4, not transactional
        buf.extend(with_attributes(make_batch(0, 1, b"x"), ATTR_LOG_APPEND_TIME)); // already flagged
        let sent = buf.clone();
        let mut packed = pack_all(&validate(&buf, MAX).unwrap());
        let stamp = AppendStamp { first_offset: 50, leader_epoch: 3, log_append_time: Some(T) };
        assert_eq!(assign_offsets(&mut buf, &mut packed, stamp), Ok(56));

        // Every CRC is valid again after the rewrite.
        let facts = validate(&buf, MAX).expect("stamped batches validate");
        assert_eq!(facts.iter().map(|f| f.base_offset).collect::<Vec<_>>(), vec![50, 53, 55]);
        assert_eq!(facts.iter().map(|f| f.max_timestamp).collect::<Vec<_>>(), vec![T; 3]);
        // The timestamp-type bit joins the bits that were there (compression, transactional).
        assert_eq!(facts.iter().map(|f| f.attributes).collect::<Vec<_>>(), vec![0x18, 0x0b, 0x08]);
        for f in &facts {
            assert_eq!(f.first_timestamp, 1_700_000_000_000, "baseTimestamp stays as sent");
            // Nothing else changes: producer fields, counts and the records themselves.
            let p = f.position as usize;
            assert_eq!(
                buf[p + PRODUCER_ID_AT..p + f.size as usize],
                sent[p + PRODUCER_ID_AT..p + f.size as usize]
            );
            assert_eq!(
                buf[p + LAST_OFFSET_DELTA_AT..p + MAX_TIMESTAMP_AT],
                sent[p + LAST_OFFSET_DELTA_AT..p + MAX_TIMESTAMP_AT]
            );
        }
        assert_ne!(
            buf[second + CRC_AT..second + CRC_AT + 4],
            sent[second + CRC_AT..second + CRC_AT + 4]
        );
        // The packed rows describe the stored bytes.
        for (row, f) in packed.chunks_exact(STRIDE).zip(&facts) {
            assert_eq!(row[B_MAX_TIMESTAMP], packed_i64(T));
            assert_eq!(row[B_ATTRIBUTES], f64::from(f.attributes));
        }
    }

    #[test]
    fn a_bad_row_stops_the_stamp_with_an_error() {
        let mut buf = make_batch(0, 1, b"a");
        let mut packed = pack_all(&validate(&buf, MAX).unwrap());
        packed[B_SIZE] += 1.0;
        let stamp = AppendStamp { first_offset: 0, leader_epoch: 0, log_append_time: Some(1) };
        assert!(assign_offsets(&mut buf, &mut packed, stamp).is_err());
    }

    #[test]
    fn assign_rejects_packed_arrays_that_do_not_match() {
        let mut buf = make_batch(0, 1, b"a");
        let good = pack_all(&validate(&buf, MAX).unwrap());
        let mut bad = good.clone();
        bad[B_POSITION] = 1.0;
        assert!(assign_offsets(&mut buf, &mut bad, at(0, 0)).is_err());
        let mut bad = good.clone();
        bad[B_SIZE] = 1e300;
        assert!(assign_offsets(&mut buf, &mut bad, at(0, 0)).is_err());
        let mut bad = good.clone();
        bad[B_POSITION] = f64::NAN;
        assert!(assign_offsets(&mut buf, &mut bad, at(0, 0)).is_err());
        assert!(assign_offsets(&mut buf, &mut good.clone()[..5], at(0, 0)).is_err());
        assert!(assign_offsets(&mut buf, &mut good.clone(), at(i64::MAX, 0)).is_err());
        assert_eq!(assign_offsets(&mut buf, &mut good.clone(), at(5, 0)), Ok(6));
    }
}
