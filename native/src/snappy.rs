//! Snappy raw blocks, Kafka's codec 2 (the records layer adds the xerial framing the Java client
//! writes and reads both). The npm package franz used first leaked about 20 KiB of native memory
//! on every call (7.4.3, with or without garbage collection: measured in docs/perf/), so the
//! codec lives here, on the `snap` crate. Decoding refuses a block that announces more than the
//! caller's bound before allocating anything.

/// Why a snappy block could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum SnappyError {
    Corrupt(String),
    TooLarge,
}

impl std::fmt::Display for SnappyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnappyError::Corrupt(why) => write!(f, "snappy: corrupt block: {why}"),
            SnappyError::TooLarge => write!(f, "snappy: decompressed size exceeds the bound"),
        }
    }
}

/// One raw snappy block of `data`.
pub fn compress(data: &[u8]) -> Result<Vec<u8>, SnappyError> {
    snap::raw::Encoder::new().compress_vec(data).map_err(|e| SnappyError::Corrupt(e.to_string()))
}

/// The bytes of a raw snappy block, refusing one that announces more than `max_bytes`.
pub fn decompress(data: &[u8], max_bytes: usize) -> Result<Vec<u8>, SnappyError> {
    let len = snap::raw::decompress_len(data).map_err(|e| SnappyError::Corrupt(e.to_string()))?;
    if len > max_bytes {
        return Err(SnappyError::TooLarge);
    }
    snap::raw::Decoder::new().decompress_vec(data).map_err(|e| SnappyError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bound() {
        let data: Vec<u8> = (0..200_000u32).map(|i| u8::try_from(i % 7).unwrap()).collect();
        let c = compress(&data).unwrap();
        assert!(c.len() < data.len() / 4);
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
        assert_eq!(decompress(&c, data.len() - 1), Err(SnappyError::TooLarge));
        assert!(decompress(b"\xff\xff\xff\xff\x0fnot snappy", 1 << 30).is_err());
    }
}
