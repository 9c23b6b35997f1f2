//! Writing a Fetch response to a socket: small protocol headers from memory, record data
//! straight from segment files with sendfile(2) so it never passes through user space.
//!
//! This runs on franz's sender thread (sender.rs), never blocking on a socket. It only ever
//! touches descriptors it owns (duplicates made on the JS thread before the work was handed
//! over), so Node closing its own descriptors meanwhile cannot make us write into a reused fd
//! number.

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

/// A response being written: the chunks, how far they have gone, and the socket. It advances
/// without ever blocking (`advance` returns `Blocked` when the socket is full), so one thread can
/// drive any number of them, each resumed when its socket becomes writable (sender.rs). The
/// socket is corked from the first write until the response is complete or the job is dropped.
pub struct SendJob {
    sock: OwnedFd,
    chunks: Vec<Chunk>,
    /// The chunk being written and how much of it has gone.
    index: usize,
    done_in_chunk: u64,
    total: u64,
    /// For a region sendfile refuses: bytes read from the file and not yet sent.
    copy: Option<CopyBuffer>,
    /// TCP_CORK set by this job and not yet cleared.
    corked: bool,
    started: bool,
}

struct CopyBuffer {
    buf: Vec<u8>,
    filled: usize,
    sent: usize,
}

/// What one `advance` achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Everything is written: the total bytes.
    Done(u64),
    /// The socket's buffer is full; call again once it is writable.
    Blocked,
}

impl SendJob {
    pub fn new(sock: OwnedFd, chunks: Vec<Chunk>) -> Self {
        SendJob {
            sock,
            chunks,
            index: 0,
            done_in_chunk: 0,
            total: 0,
            copy: None,
            corked: false,
            started: false,
        }
    }

    /// The socket this job writes to (for the sender's readiness polling).
    pub fn socket(&self) -> &OwnedFd {
        &self.sock
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.total
    }

    /// Writes as much as the socket takes now, never waiting.
    pub fn advance(&mut self) -> Result<Step, OsError> {
        if !self.started {
            self.started = true;
            // Uncorked, with TCP_NODELAY on (connection.ts sets it), every header piece between
            // two partitions' records left as a segment of its own, some of only tens of bytes. A
            // receiver with a small fixed SO_RCVBUF (the Java consumer's receive.buffer.bytes is
            // 64 KiB) counts each segment's whole buffer against it, runs out, and drops segments,
            // each drop holding the consumer until the sender's retransmit timer fires
            // (docs/perf/loopback-mss.md). Corked, a response leaves in full segments.
            self.corked = sys::set_cork(&self.sock, true);
        }
        while let Some(chunk) = self.chunks.get(self.index) {
            let progress = match chunk {
                Chunk::Bytes(data) => {
                    let from = sys::at_most(self.done_in_chunk, data.len());
                    if from >= data.len() {
                        self.next_chunk();
                        continue;
                    }
                    match sys::send_some(&self.sock, &data[from..])? {
                        Progress::Wrote(n) => n as u64,
                        Progress::WouldBlock => return Ok(Step::Blocked),
                    }
                }
                Chunk::Region { file, position, length } => {
                    let (position, length) = (*position, *length);
                    if self.done_in_chunk >= length {
                        self.next_chunk();
                        continue;
                    }
                    let at = position + self.done_in_chunk;
                    let left = length - self.done_in_chunk;
                    if let Some(copy) = self.copy.as_mut() {
                        match copy.step(&self.sock, file, at, left)? {
                            Some(n) => n,
                            None => return Ok(Step::Blocked),
                        }
                    } else {
                        match sys::sendfile_some(
                            &self.sock,
                            file,
                            at,
                            sys::at_most(left, SENDFILE_MAX),
                        )? {
                            SendfileProgress::Wrote(n) => n as u64,
                            SendfileProgress::WouldBlock => return Ok(Step::Blocked),
                            SendfileProgress::Eof => {
                                return Err(file_ended(position, length, self.done_in_chunk))
                            }
                            SendfileProgress::Unsupported => {
                                self.copy = Some(CopyBuffer::new(left));
                                continue;
                            }
                        }
                    }
                }
            };
            self.done_in_chunk += progress;
            self.total += progress;
        }
        self.uncork();
        Ok(Step::Done(self.total))
    }

    fn next_chunk(&mut self) {
        self.index += 1;
        self.done_in_chunk = 0;
        self.copy = None;
    }

    fn uncork(&mut self) {
        if self.corked {
            self.corked = false;
            sys::set_cork(&self.sock, false);
        }
    }
}

impl Drop for SendJob {
    /// An error or a cancellation uncorks too, which sends the last partial segment.
    fn drop(&mut self) {
        self.uncork();
    }
}

impl CopyBuffer {
    fn new(length: u64) -> Self {
        CopyBuffer { buf: vec![0u8; sys::at_most(length, FALLBACK_BUF)], filled: 0, sent: 0 }
    }

    /// pread + send for descriptor pairs sendfile refuses (EINVAL/ENOSYS), e.g. a file on a
    /// filesystem without splice support: bytes of the region sent now, or None when blocked.
    fn step(
        &mut self,
        sock: &OwnedFd,
        file: &OwnedFd,
        at: u64,
        left: u64,
    ) -> Result<Option<u64>, OsError> {
        use std::os::fd::AsRawFd;
        if self.sent == self.filled {
            let want = sys::at_most(left, self.buf.len());
            let n = sys::pread_full(file.as_raw_fd(), &mut self.buf[..want], at)?;
            if n == 0 {
                return Err(OsError::new(
                    libc::EIO,
                    format!("file ended with {left} bytes of a region left"),
                ));
            }
            self.filled = n;
            self.sent = 0;
        }
        match sys::send_some(sock, &self.buf[self.sent..self.filled])? {
            Progress::Wrote(n) => {
                self.sent += n;
                Ok(Some(n as u64))
            }
            Progress::WouldBlock => Ok(None),
        }
    }
}

/// Writes every chunk to `sock` in order, waiting (on this thread) whenever the socket is full,
/// and returns the number of bytes written. `timeout` bounds each wait (an idle timeout, not a
/// deadline for the whole transfer). The broker does not call this (sender.rs drives jobs
/// without blocking); it is the simple form for tests and tools.
pub fn send_all(sock: &OwnedFd, chunks: Vec<Chunk>, timeout: Duration) -> Result<u64, OsError> {
    let sock_for_wait = sock
        .try_clone()
        .map_err(|e| OsError::new(e.raw_os_error().unwrap_or(libc::EIO), "dup socket"))?;
    let mut job = SendJob::new(sock_for_wait, chunks);
    loop {
        match job.advance()? {
            Step::Done(n) => return Ok(n),
            Step::Blocked => sys::wait_writable(job.socket(), timeout)?,
        }
    }
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
        let n = send_all(&sock, chunks, Duration::from_secs(10)).unwrap();
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
        let err = send_all(&sock, chunks, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.errno, libc::EIO);
    }
}
