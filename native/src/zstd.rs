//! zstd, Kafka's compression codec 4: a batch's records section is one zstd frame. The frame may
//! omit its content size (librdkafka's streaming encoder does), so decoding streams into a buffer
//! that grows as output arrives and stops at a bound: a small batch that would inflate past it
//! (a compression bomb) is refused after producing at most `max_bytes + 1` bytes.

use std::cell::RefCell;
use std::io::Read;

thread_local! {
    /// One compression context per thread (the main thread and each worker), reused by every
    /// call: a fresh context per batch allocated and freed megabytes each time, which glibc's
    /// per-thread arenas kept as resident memory.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// Why a zstd frame could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum ZstdError {
    /// The frame is malformed or truncated (the library's message).
    Corrupt(String),
    /// The output would exceed the bound.
    TooLarge,
}

impl std::fmt::Display for ZstdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZstdError::Corrupt(why) => write!(f, "zstd: corrupt frame: {why}"),
            ZstdError::TooLarge => write!(f, "zstd: decompressed size exceeds the bound"),
        }
    }
}

/// Compresses `data` as one frame at `level` (zstd's own range; 0 means its default, 3).
pub fn compress(data: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => {
                c.set_compression_level(level)?;
                c
            }
            None => slot.insert(zstd::bulk::Compressor::new(level)?),
        };
        compressor.compress(data)
    })
}

/// Decodes every frame in `data`, refusing output past `max_bytes`.
pub fn decompress(data: &[u8], max_bytes: usize) -> Result<Vec<u8>, ZstdError> {
    let decoder = zstd::stream::read::Decoder::with_buffer(data)
        .map_err(|e| ZstdError::Corrupt(e.to_string()))?;
    // The first allocation is bounded by the input's size, not the caller's bound: the buffer
    // grows only as real output arrives.
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max_bytes));
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    decoder.take(limit).read_to_end(&mut out).map_err(|e| ZstdError::Corrupt(e.to_string()))?;
    if out.len() > max_bytes {
        return Err(ZstdError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let c = compress(&data, 3).unwrap();
        assert!(c.len() < data.len());
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn bound_refuses_a_bomb() {
        let zeros = vec![0u8; 10 << 20];
        let c = compress(&zeros, 3).unwrap();
        assert!(c.len() < 4096);
        assert_eq!(decompress(&c, 1 << 20), Err(ZstdError::TooLarge));
        assert_eq!(decompress(&c, 10 << 20).unwrap().len(), 10 << 20);
    }

    #[test]
    fn garbage_is_corrupt() {
        assert!(matches!(decompress(b"not a zstd frame at all", 1024), Err(ZstdError::Corrupt(_))));
        let c = compress(b"hello hello hello", 3).unwrap();
        assert!(matches!(decompress(&c[..c.len() - 3], 1024), Err(ZstdError::Corrupt(_))));
    }
}
