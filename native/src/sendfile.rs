//! Writing a Fetch response to a socket: small protocol headers from memory, record data
//! straight from segment files with sendfile(2) so it never passes through user space.
//!
//! This runs on a libuv pool thread. It only ever touches descriptors it owns (duplicates
//! made on the JS thread before the work was queued), so Node closing its own descriptors
//! meanwhile cannot make us write into a reused fd number.

use std::os::fd::OwnedFd;
use std::time::Duration;

use crate::sys::{self, OsError, Progress, SendfileProgress};

/// One piece of the response, in order.
pub enum Chunk {
    /// Bytes copied from a JS Buffer (so JS may reuse the Buffer at once).
    Bytes(Vec<u8>),
    /// `length` bytes of `file` from `position`.
    Region { file: OwnedFd, position: u64, length: u64 },
}

/// Largest count passed to one sendfile call; Linux caps a call at 0x7ffff000 anyway and
/// a smaller slice keeps each call's latency bounded.
const SENDFILE_MAX: usize = 1 << 30;
/// Copy size when sendfile is not supported for a descriptor pair.
const FALLBACK_BUF: usize = 256 * 1024;

/// Writes every chunk to `sock` in order and returns the number of bytes written.
/// `timeout` bounds each wait for the socket to drain (an idle timeout, not a deadline
/// for the whole transfer: a slow but progressing consumer is not cut off).
pub fn send_all(sock: &OwnedFd, chunks: &[Chunk], timeout: Duration) -> Result<u64, OsError> {
    // Uncorked, with TCP_NODELAY on (connection.ts sets it), every header piece between two
    // partitions' records left as a segment of its own, some of only tens of bytes. A
    // receiver with a small fixed SO_RCVBUF (the Java consumer's receive.buffer.bytes is
    // 64 KiB) counts each segment's whole buffer against it, ran out, and dropped segments
    // ("TCPRcvQDrop", "RcvPruned" in nstat); each drop held the consumer until the sender's
    // retransmit timer (200 ms) fired. Corked, a response leaves in full segments.
    let _cork = Cork::new(sock);
    let mut total = 0u64;
    for chunk in chunks {
        total += match chunk {
            Chunk::Bytes(data) => send_bytes(sock, data, timeout)?,
            Chunk::Region { file, position, length } => {
                send_region(sock, file, *position, *length, timeout)?
            }
        };
    }
    Ok(total)
}

/// TCP_CORK for the length of one response; dropping it (also on an error) uncorks, which
/// sends the response's last partial segment.
struct Cork<'a> {
    sock: &'a OwnedFd,
    on: bool,
}

impl<'a> Cork<'a> {
    fn new(sock: &'a OwnedFd) -> Self {
        Cork { sock, on: sys::set_cork(sock, true) }
    }
}

impl Drop for Cork<'_> {
    fn drop(&mut self) {
        if self.on {
            sys::set_cork(self.sock, false);
        }
    }
}

fn send_bytes(sock: &OwnedFd, mut data: &[u8], timeout: Duration) -> Result<u64, OsError> {
    let len = data.len() as u64;
    while !data.is_empty() {
        match sys::send_some(sock, data)? {
            Progress::Wrote(n) => data = &data[n.min(data.len())..],
            Progress::WouldBlock => sys::wait_writable(sock, timeout)?,
        }
    }
    Ok(len)
}

fn send_region(
    sock: &OwnedFd,
    file: &OwnedFd,
    position: u64,
    length: u64,
    timeout: Duration,
) -> Result<u64, OsError> {
    let mut sent = 0u64;
    while sent < length {
        let count = sys::at_most(length - sent, SENDFILE_MAX);
        match sys::sendfile_some(sock, file, position + sent, count)? {
            SendfileProgress::Wrote(n) => sent += n as u64,
            SendfileProgress::WouldBlock => sys::wait_writable(sock, timeout)?,
            SendfileProgress::Eof => return Err(file_ended(position, length, sent)),
            SendfileProgress::Unsupported => {
                copy_region(sock, file, position + sent, length - sent, timeout)?;
                sent = length;
            }
        }
    }
    Ok(length)
}

/// pread + send loop for descriptor pairs sendfile refuses (EINVAL/ENOSYS), e.g. a file
/// on a filesystem without splice support.
fn copy_region(
    sock: &OwnedFd,
    file: &OwnedFd,
    position: u64,
    length: u64,
    timeout: Duration,
) -> Result<(), OsError> {
    use std::os::fd::AsRawFd;
    let mut buf = vec![0u8; sys::at_most(length, FALLBACK_BUF)];
    let mut done = 0u64;
    while done < length {
        let want = sys::at_most(length - done, buf.len());
        let n = sys::pread_full(file.as_raw_fd(), &mut buf[..want], position + done)?;
        if n == 0 {
            return Err(file_ended(position, length, done));
        }
        send_bytes(sock, &buf[..n], timeout)?;
        done += n as u64;
    }
    Ok(())
}

/// The file is shorter than the region the control plane asked for (a segment truncated
/// under us): report it as an I/O error, the stream is now out of sync.
fn file_ended(position: u64, length: u64, sent: u64) -> OsError {
    OsError::new(
        libc::EIO,
        format!("file ended after {sent} of {length} bytes of region at {position}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    #[test]
    fn sends_bytes_and_region_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();

        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let path = std::env::temp_dir().join(format!("franz-native-sf-{}", std::process::id()));
        std::fs::File::create(&path).unwrap().write_all(&content).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);

        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            server.read_to_end(&mut got).unwrap();
            got
        });
        let sock = client.as_fd().try_clone_to_owned().unwrap();
        let chunks = vec![
            Chunk::Bytes(b"HEAD".to_vec()),
            Chunk::Region {
                file: file.as_fd().try_clone_to_owned().unwrap(),
                position: 10,
                length: 2_999_000,
            },
            Chunk::Bytes(b"TAIL".to_vec()),
        ];
        let n = send_all(&sock, &chunks, Duration::from_secs(10)).unwrap();
        assert_eq!(n, 4 + 2_999_000 + 4);
        // Left corked, the response's last partial segment would wait for the kernel's
        // 200 ms cork timer.
        assert!(!sys::corked(&sock));
        drop(sock);
        drop(client);
        let got = reader.join().unwrap();
        assert_eq!(&got[..4], b"HEAD");
        assert_eq!(&got[4..4 + 2_999_000], &content[10..10 + 2_999_000]);
        assert_eq!(&got[got.len() - 4..], b"TAIL");
    }

    #[test]
    fn region_past_end_of_file_is_eio() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let path = std::env::temp_dir().join(format!("franz-native-sf2-{}", std::process::id()));
        std::fs::File::create(&path).unwrap().write_all(b"0123456789").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let sock = client.as_fd().try_clone_to_owned().unwrap();
        let chunks = vec![Chunk::Region {
            file: file.as_fd().try_clone_to_owned().unwrap(),
            position: 5,
            length: 10,
        }];
        let err = send_all(&sock, &chunks, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.errno, libc::EIO);
    }
}
