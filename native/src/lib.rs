//! N-API surface of franz's data path. This file only converts between JS values and the
//! Rust modules that do the work; src/native/index.ts is the only JS code that calls it.
//!
//! Every export is `catch_unwind`: a Rust panic becomes a thrown JS Error instead of
//! unwinding into Node (which would abort the process). The async send additionally
//! catches panics itself, because its compute step runs outside any napi-generated guard.

pub mod batch;
pub mod crc;
pub mod digest;
pub mod segment;
pub mod sender;
pub mod sendfile;
pub mod snappy;
pub mod sys;
pub mod zstd;

use std::time::Duration;

use napi::bindgen_prelude::{
    BufferSlice, Either, Float64Array, Float64ArraySlice, Object, Uint8ArraySlice,
};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::sys::OsError;

/// A failed syscall becomes a JS Error whose message starts with the errno name.
impl From<OsError> for Error {
    fn from(e: OsError) -> Self {
        Error::new(Status::GenericFailure, e.to_string())
    }
}

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("EINVAL: {msg}"))
}

fn non_negative(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| invalid(format_args!("{what} must be >= 0, got {v}")))
}

/// Whether two memory ranges share a byte (an empty range shares none).
fn overlap<A, B>(a: std::ops::Range<*const A>, b: std::ops::Range<*const B>) -> bool {
    let (a, b) = (a.start.addr()..a.end.addr(), b.start.addr()..b.end.addr());
    !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
}

#[napi(object, object_from_js = false)]
pub struct ScanResult {
    pub valid_end: i64,
    pub batches: Float64Array,
    /// Null when the scan reached `end`; otherwise batch::Defect::as_str().
    pub stop_reason: Option<String>,
}

/// A file range to send; `fd` is only read synchronously (it is duplicated at once).
#[napi(object)]
pub struct FileRegion {
    pub fd: i32,
    pub position: i64,
    pub length: i64,
}

/// Where each fact of a batch sits in a packed array: `stride` numbers per batch, the fact at
/// `row + index`. src/native/index.ts takes its indices from here when it loads the addon.
#[napi(object, object_from_js = false)]
pub struct BatchLayout {
    pub stride: u32,
    /// Start of the batch: in the validated buffer, or in the file for scans.
    pub position: u32,
    /// Whole batch size in bytes (12 + batchLength).
    pub size: u32,
    pub base_offset: u32,
    pub last_offset_delta: u32,
    /// The batch's baseTimestamp.
    pub first_timestamp: u32,
    pub max_timestamp: u32,
    pub producer_id: u32,
    pub producer_epoch: u32,
    pub base_sequence: u32,
    pub attributes: u32,
    pub record_count: u32,
}

/// The packed-facts layout (batch::STRIDE and the batch::B_* indices), the one definition of it.
#[napi(catch_unwind)]
pub fn batch_layout() -> BatchLayout {
    // The indices are below STRIDE (11), so the conversion never saturates.
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    BatchLayout {
        stride: index(batch::STRIDE),
        position: index(batch::B_POSITION),
        size: index(batch::B_SIZE),
        base_offset: index(batch::B_BASE_OFFSET),
        last_offset_delta: index(batch::B_LAST_OFFSET_DELTA),
        first_timestamp: index(batch::B_FIRST_TIMESTAMP),
        max_timestamp: index(batch::B_MAX_TIMESTAMP),
        producer_id: index(batch::B_PRODUCER_ID),
        producer_epoch: index(batch::B_PRODUCER_EPOCH),
        base_sequence: index(batch::B_BASE_SEQUENCE),
        attributes: index(batch::B_ATTRIBUTES),
        record_count: index(batch::B_RECORD_COUNT),
    }
}

/// Compresses `data` as one zstd frame at `level` (Kafka's compression.zstd.level).
///
/// The result is copied into a buffer the engine allocates (napi_create_buffer_copy) and the
/// Rust vector freed at once: a buffer wrapping Rust memory is invisible to V8's heap accounting,
/// so thousands of them piled up between collections (hundreds of MiB in a recompressing worker).
#[napi(catch_unwind)]
pub fn zstd_compress<'env>(env: &'env Env, data: &[u8], level: i32) -> Result<BufferSlice<'env>> {
    let out = zstd::compress(data, level)
        .map_err(|e| Error::new(Status::GenericFailure, format!("zstd: {e}")))?;
    BufferSlice::copy_from(env, out)
}

/// Decompresses zstd frames, refusing more than `max_bytes` of output: the error message starts
/// with "zstd: decompressed size exceeds" for that, "zstd: corrupt frame" for bad input.
/// The output is an engine-owned copy, as for zstd_compress.
#[napi(catch_unwind)]
pub fn zstd_decompress<'env>(
    env: &'env Env,
    data: &[u8],
    max_bytes: u32,
) -> Result<BufferSlice<'env>> {
    let out = zstd::decompress(data, max_bytes as usize)
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    BufferSlice::copy_from(env, out)
}

/// One raw snappy block of `data` (an engine-owned copy, as for zstd_compress).
#[napi(catch_unwind)]
pub fn snappy_compress<'env>(env: &'env Env, data: &[u8]) -> Result<BufferSlice<'env>> {
    let out =
        snappy::compress(data).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    BufferSlice::copy_from(env, out)
}

/// The bytes of a raw snappy block, refusing more than `max_bytes`: the error message starts with
/// "snappy: decompressed size exceeds" for that, "snappy: corrupt block" for bad input.
#[napi(catch_unwind)]
pub fn snappy_decompress<'env>(
    env: &'env Env,
    data: &[u8],
    max_bytes: u32,
) -> Result<BufferSlice<'env>> {
    let out = snappy::decompress(data, max_bytes as usize)
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    BufferSlice::copy_from(env, out)
}

/// MD5 of each key `spans` names in `data` (native-endian u32 pairs: position, length) into
/// `out`, 16 bytes a key; returns the number of keys. EINVAL for a span outside `data` or an
/// `out` too small.
#[napi(catch_unwind)]
pub fn md5_keys(data: &[u8], spans: &[u8], mut out: Uint8ArraySlice<'_>) -> Result<u32> {
    // SAFETY: a synchronous call on the JS thread (or the worker's own thread): no JS runs while
    // the slice is borrowed, and it does not outlive the call.
    let out = unsafe { out.as_mut() };
    let n = digest::md5_spans(data, spans, out).map_err(invalid)?;
    u32::try_from(n).map_err(invalid)
}

#[napi(catch_unwind, js_name = "crc32c")]
pub fn crc32c(buf: &[u8]) -> u32 {
    crc::crc32c(buf)
}

/// Validates a produce payload (sizes, magic, CRC-32C, each batch within `max_batch_bytes`) and
/// writes each batch's packed facts into `out` (batch::STRIDE numbers per batch) as far as whole
/// rows fit. The caller keeps one `out` for every call: a new typed array and result object per
/// partition payload cost more than the validation of a small batch. Returns the number of
/// batches, which exceeds what `out` holds when it is too small (the caller grows it and calls
/// again), or minus the Kafka error code: -2 CORRUPT_MESSAGE, -10 MESSAGE_TOO_LARGE,
/// -43 UNSUPPORTED_FOR_MESSAGE_FORMAT. An empty payload is CORRUPT_MESSAGE, so 0 never returns.
#[napi(catch_unwind)]
pub fn validate_batches_into(
    buf: &[u8],
    max_batch_bytes: u32,
    mut out: Float64ArraySlice<'_>,
) -> i64 {
    match batch::validate(buf, u64::from(max_batch_bytes)) {
        Ok(facts) => {
            // SAFETY: as in append_batches: a synchronous call on the JS thread, so no JS can touch
            // the array meanwhile, and the slice does not outlive the call.
            batch::pack_into(&facts, unsafe { out.as_mut() });
            i64::try_from(facts.len()).unwrap_or(i64::MAX)
        }
        Err(defect) => -i64::from(defect.kafka_error_code()),
    }
}

/// Appends a validated produce payload to a segment file in one pass and one write: gives the
/// batches of `buf` consecutive offsets from `first_offset` and the leader epoch, in place; with
/// `log_append_time` >= 0 (message.timestamp.type=LogAppendTime) also sets each batch's
/// timestamp-type bit and maxTimestamp and recomputes its CRC-32C (-1 leaves the timestamps as
/// sent); then pwrites the whole buffer at `file_position` of `fd`. `batches` holds the packed
/// facts validate_batches_into wrote for this same buffer: they are re-checked against the
/// bytes (EINVAL on a mismatch), and their attributes and maxTimestamp are updated to what was
/// stored. Returns the next offset.
///
/// `buf` and `batches` are mutated in place; the JS thread is blocked for the duration of the
/// call, so nothing else can observe or modify them meanwhile (unless they live in a
/// SharedArrayBuffer shared with a worker, which the control plane never does).
#[napi(catch_unwind)]
pub fn append_batches(
    fd: i32,
    file_position: i64,
    mut buf: Uint8ArraySlice<'_>,
    mut batches: Float64ArraySlice<'_>,
    first_offset: i64,
    leader_epoch: i32,
    log_append_time: i64,
) -> Result<i64> {
    let file_position = non_negative(file_position, "filePosition")?;
    let log_append_time = match log_append_time {
        -1 => None,
        t if t >= 0 => Some(t),
        t => return Err(invalid(format_args!("logAppendTime must be -1 or >= 0, got {t}"))),
    };
    if overlap(buf.as_ptr_range(), batches.as_ptr_range()) {
        return Err(invalid("buf and batches are views of the same memory"));
    }
    // SAFETY: napi hands out the views' memory only through `unsafe` because JS could
    // mutate it concurrently. It cannot here: this call is synchronous on the JS thread,
    // so no JS runs until we return, and the slices do not outlive the call. The two
    // exclusive borrows do not alias: the ranges were just checked to be disjoint.
    let buf = unsafe { buf.as_mut() };
    // SAFETY: as for `buf` just above.
    let batches = unsafe { batches.as_mut() };
    let stamp = batch::AppendStamp { first_offset, leader_epoch, log_append_time };
    segment::append(fd, file_position, buf, batches, stamp).map_err(|e| match e {
        segment::AppendError::BadBatches(msg) => invalid(msg),
        segment::AppendError::Os(e) => Error::from(e),
    })
}

#[napi(catch_unwind)]
pub fn scan_segment(
    fd: i32,
    start: i64,
    end: i64,
    verify_crc: bool,
    max_batch_bytes: u32,
) -> Result<ScanResult> {
    let start = non_negative(start, "start")?;
    let end = non_negative(end, "end")?;
    let out = segment::scan(fd, start, end, verify_crc, u64::from(max_batch_bytes))
        .map_err(Error::from)?;
    Ok(ScanResult {
        valid_end: i64::try_from(out.valid_end).map_err(invalid)?,
        batches: Float64Array::new(batch::pack_all(&out.batches)),
        stop_reason: out.stop.map(|d| d.as_str().to_owned()),
    })
}

/// A new descriptor (close-on-exec) for the same open socket, owned by the caller from
/// then on. The broker hands an accepted connection to a `net.Socket` that reads straight
/// into its request buffers (Node offers that only for sockets it wraps from a descriptor)
/// and closes the original handle.
#[napi(catch_unwind)]
pub fn dup_descriptor(fd: i32) -> Result<i32> {
    use std::os::fd::IntoRawFd;
    sys::dup_cloexec(fd, "descriptor").map(IntoRawFd::into_raw_fd).map_err(Error::from)
}

/// Caps the maximum segment size of the connections a listening socket accepts from now on
/// (TCP_MAXSEG); Broker.capSegmentSize (src/broker.ts) says why.
#[napi(catch_unwind)]
pub fn set_listener_max_segment(fd: i32, bytes: u32) -> Result<()> {
    sys::set_listener_max_segment(fd, bytes).map_err(Error::from)
}

/// The maximum segment size a connected TCP socket sends with (TCP_MAXSEG read back).
#[napi(catch_unwind)]
pub fn max_segment(fd: i32) -> Result<u32> {
    sys::max_segment(fd).map_err(Error::from)
}

/// Fixes the kernel send or receive buffer of a socket (SO_SNDBUF / SO_RCVBUF); on a listening
/// socket, of the connections it accepts from now on. Broker.setBufferSizes (src/broker.ts)
/// says why.
#[napi(catch_unwind)]
pub fn set_socket_buffer_size(fd: i32, send: bool, bytes: u32) -> Result<()> {
    sys::set_buffer_size(fd, send, bytes).map_err(Error::from)
}

/// A socket's kernel send or receive buffer size as Linux reports it (twice the value set).
#[napi(catch_unwind)]
pub fn socket_buffer_size(fd: i32, send: bool) -> Result<u32> {
    sys::buffer_size(fd, send).map_err(Error::from)
}

/// Duplicates every descriptor and copies every Buffer synchronously, then hands the writing to
/// the sender thread (sender.rs), which never waits for one consumer. The promise settles with
/// the bytes written, or rejects with the errno-prefixed error that ended the send. If any
/// duplication fails, the ones already made are closed (they are OwnedFds in locals) and the
/// call throws.
#[napi(catch_unwind, ts_return_type = "Promise<number>")]
pub fn send_chunks<'env>(
    env: &'env Env,
    socket_fd: i32,
    chunks: Vec<Either<&[u8], FileRegion>>,
    timeout_ms: u32,
) -> Result<Object<'env>> {
    let mut owned = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.into_iter().enumerate() {
        owned.push(match chunk {
            Either::A(bytes) => sendfile::Chunk::Bytes(bytes.to_vec()),
            Either::B(region) => {
                let position = non_negative(region.position, "region position")?;
                let length = non_negative(region.length, "region length")?;
                let file = sys::dup_cloexec(region.fd, &format!("file fd of chunk {i}"))
                    .map_err(Error::from)?;
                sendfile::Chunk::Region { file, position, length }
            }
        });
    }
    let socket = sys::dup_cloexec(socket_fd, "socket fd").map_err(Error::from)?;
    let (deferred, promise) = env.create_deferred::<i64, SendResolver>()?;
    let done: sender::Completion = Box::new(move |result| match result {
        Ok(n) => match i64::try_from(n) {
            Ok(n) => deferred.resolve(Box::new(move |_| Ok(n))),
            Err(e) => deferred.reject(invalid(e)),
        },
        Err(e) => deferred.reject(Error::from(e)),
    });
    let job = sendfile::SendJob::new(socket, owned);
    sender::submit(job, Duration::from_millis(u64::from(timeout_ms)), done).map_err(Error::from)?;
    Ok(promise)
}

/// What resolves a sendChunks promise on the JS thread: the byte count.
type SendResolver = Box<dyn FnOnce(Env) -> Result<i64>>;
