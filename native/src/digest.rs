//! MD5 of many keys in one call, for the log cleaner's key map (Kafka's cleaner keeps a key as
//! its MD5 too). From JavaScript each digest cost about 1.5 us of call overhead (crypto.hash), most
//! of a clean's time; here a batch's keys go in one call.

use md5::{Digest, Md5};

/// Writes the MD5 of `data[at..at + len]` for each `(at, len)` pair of `spans` (native-endian
/// u32 pairs, as a Uint32Array holds them) into `out`, 16 bytes per key. Returns the number of
/// keys, or an error naming the first span outside `data` (nothing is written past `out`).
pub fn md5_spans(data: &[u8], spans: &[u8], out: &mut [u8]) -> Result<usize, String> {
    if !spans.len().is_multiple_of(8) {
        return Err(format!("spans hold {} bytes, not whole (at, len) pairs", spans.len()));
    }
    let n = spans.len() / 8;
    if out.len() < n * 16 {
        return Err(format!("{n} keys need {} bytes of digests, out has {}", n * 16, out.len()));
    }
    for (i, pair) in spans.chunks_exact(8).enumerate() {
        let at = u32::from_ne_bytes([pair[0], pair[1], pair[2], pair[3]]) as usize;
        let len = u32::from_ne_bytes([pair[4], pair[5], pair[6], pair[7]]) as usize;
        let key = at.checked_add(len).and_then(|end| data.get(at..end)).ok_or_else(|| {
            format!("key {i} at {at}+{len} is outside the {} bytes given", data.len())
        })?;
        out[i * 16..i * 16 + 16].copy_from_slice(&Md5::digest(key));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(pairs: &[(u32, u32)]) -> Vec<u8> {
        pairs
            .iter()
            .flat_map(|&(a, l)| a.to_ne_bytes().into_iter().chain(l.to_ne_bytes()))
            .collect()
    }

    #[test]
    fn digests_match_md5_and_spans_are_checked() {
        let data = b"abcmessage digest";
        let mut out = [0u8; 32];
        assert_eq!(md5_spans(data, &spans(&[(0, 3), (3, 14)]), &mut out), Ok(2));
        // RFC 1321's test vectors.
        assert_eq!(
            out[..16],
            [
                0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1,
                0x7f, 0x72
            ]
        );
        assert_eq!(
            out[16..],
            [
                0xf9, 0x6b, 0x69, 0x7d, 0x7c, 0xb7, 0x93, 0x8d, 0x52, 0x5a, 0x2f, 0x31, 0xaa, 0xf1,
                0x61, 0xd0
            ]
        );
        assert!(md5_spans(data, &spans(&[(10, 10)]), &mut out).is_err());
        assert!(md5_spans(data, &spans(&[(0, 1), (0, 1), (0, 1)]), &mut out).is_err());
    }
}
