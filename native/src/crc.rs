//! CRC-32C (Castagnoli), the checksum Kafka puts in record batch v2 headers.
//!
//! The `crc32c` crate picks the SSE4.2 / ARMv8 CRC instruction at run time and falls back
//! to a table implementation, so one binary is fast on modern CPUs and still correct on
//! old ones.

/// CRC-32C of `data` (initial value 0, final xor applied: the standard check value of
/// b"123456789" is 0xE3069283).
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(crc32c(&[]), 0);
    }
}
