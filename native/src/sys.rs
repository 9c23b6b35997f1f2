//! The only module that calls libc directly. Every syscall wrapper here turns the C
//! convention (-1 + errno) into `OsError`, retries EINTR where retrying is always right,
//! and keeps the `unsafe` needed for raw pointers and fd numbers in one reviewable place.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// A failed syscall: the errno plus what we were doing, so the message that reaches
/// TypeScript reads "ENOSPC: pwrite to segment: No space left on device (os error 28)"
/// and the control plane can map the leading errno name to a Kafka error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsError {
    pub errno: i32,
    pub context: String,
}

impl OsError {
    pub fn new(errno: i32, context: impl Into<String>) -> Self {
        OsError { errno, context: context.into() }
    }

    /// Captures errno right after a failed call.
    fn last(context: &str) -> Self {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
        OsError::new(errno, context)
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            errno_name(self.errno),
            self.context,
            io::Error::from_raw_os_error(self.errno)
        )
    }
}

/// Symbolic names for the errnos the data path can plausibly see. Written out by hand
/// because libc has no portable errno -> name function (strerrorname_np is glibc >= 2.32 only).
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENETRESET => "ENETRESET",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOTCONN => "ENOTCONN",
        libc::ESHUTDOWN => "ESHUTDOWN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EDQUOT => "EDQUOT",
        _ => "EUNKNOWN",
    }
}

/// Writes all of `data` at `offset`, looping on short writes and EINTR: a regular file
/// may accept fewer bytes than asked (signal, RLIMIT_FSIZE, quota edge), and a partial
/// batch on disk would be torn.
pub fn pwrite_all(fd: RawFd, mut data: &[u8], mut offset: u64) -> Result<(), OsError> {
    while !data.is_empty() {
        let off = to_off_t(offset, "pwrite offset")?;
        // SAFETY: the pointer/length pair comes from a live slice that outlives the call;
        // the kernel only reads `data.len()` bytes from it. A stale or foreign `fd` cannot
        // cause memory unsafety here, only an error or a write to the wrong file, which is
        // the caller's contract (the fd is used synchronously while JS holds it open).
        let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), off) };
        // Negative: -1 and errno.
        let Ok(n) = usize::try_from(n) else {
            let err = OsError::last("pwrite to segment");
            if err.errno == libc::EINTR {
                continue;
            }
            return Err(err);
        };
        if n == 0 {
            // pwrite(2) returning 0 for a non-empty buffer means no progress is possible.
            return Err(OsError::new(libc::EIO, "pwrite to segment wrote 0 bytes"));
        }
        data = &data[n.min(data.len())..];
        offset += n as u64;
    }
    Ok(())
}

/// Reads up to `buf.len()` bytes at `offset`, looping until the buffer is full or EOF.
/// Returns how many bytes were read (less than asked only at end of file).
pub fn pread_full(fd: RawFd, buf: &mut [u8], offset: u64) -> Result<usize, OsError> {
    let mut done = 0usize;
    while done < buf.len() {
        let off = to_off_t(offset + done as u64, "pread offset")?;
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a live, exclusively borrowed slice; the kernel writes at most
        // `rest.len()` bytes into it.
        let n = unsafe { libc::pread(fd, rest.as_mut_ptr().cast(), rest.len(), off) };
        // Negative: -1 and errno.
        let Ok(n) = usize::try_from(n) else {
            let err = OsError::last("pread from segment");
            if err.errno == libc::EINTR {
                continue;
            }
            return Err(err);
        };
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Duplicates a descriptor that JavaScript owns into one that we own (close-on-exec, so a
/// child process spawned meanwhile does not inherit it). Work handed to another thread
/// uses only such duplicates: JS may close its number at any time and the kernel may
/// reuse that number for an unrelated file, but our duplicate keeps pointing at the
/// original open file description until we close it.
pub fn dup_cloexec(fd: RawFd, what: &str) -> Result<OwnedFd, OsError> {
    if fd < 0 {
        return Err(OsError::new(libc::EBADF, format!("dup {what}: negative fd {fd}")));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) takes an int argument and does not touch memory; an
    // invalid `fd` yields EBADF, which we report.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        return Err(OsError::last(&format!("dup {what}")));
    }
    // SAFETY: `dup` was just returned by the kernel as a new descriptor that nothing else
    // knows about, so handing its ownership to OwnedFd (which closes it once) is sound.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

/// The size of a c_int, as socket option calls take it.
#[allow(clippy::cast_possible_truncation)] // 4 fits any socklen_t
const C_INT_LEN: libc::socklen_t = std::mem::size_of::<libc::c_int>() as libc::socklen_t;

/// Sets or clears TCP_CORK on `sock`. Corked, the kernel sends only full segments, so a
/// response's small header pieces travel in the same segments as the record data around
/// them; clearing it sends what is left at once. Returns false where the option does not
/// apply (not a TCP socket, e.g. a pipe): callers then send uncorked, as before.
pub fn set_cork(sock: &OwnedFd, on: bool) -> bool {
    let v: libc::c_int = on.into();
    // SAFETY: `v` is a live c_int and the length passed is its size; `sock` is a descriptor
    // we own.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            (&raw const v).cast(),
            C_INT_LEN,
        )
    };
    r == 0
}

/// Sets one integer socket option; `what` names it in the error ("setsockopt TCP_MAXSEG").
fn set_int_option(
    sock: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
    what: &str,
) -> Result<(), OsError> {
    // SAFETY: `value` is a live c_int and the length passed is its size; a bad descriptor
    // number only makes the call fail with EBADF/ENOTSOCK.
    let r = unsafe { libc::setsockopt(sock, level, name, (&raw const value).cast(), C_INT_LEN) };
    if r == 0 {
        Ok(())
    } else {
        Err(OsError::last(what))
    }
}

/// Reads one integer socket option back.
fn int_option(
    sock: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    what: &str,
) -> Result<libc::c_int, OsError> {
    let mut v: libc::c_int = 0;
    let mut len = C_INT_LEN;
    // SAFETY: `v` and `len` are live locals of the sizes the call expects.
    let r = unsafe { libc::getsockopt(sock, level, name, (&raw mut v).cast(), &raw mut len) };
    if r == 0 {
        Ok(v)
    } else {
        Err(OsError::last(what))
    }
}

fn c_int_of(bytes: u32, what: &str) -> Result<libc::c_int, OsError> {
    libc::c_int::try_from(bytes)
        .map_err(|_| OsError::new(libc::EINVAL, format!("{what} out of range")))
}

/// Caps the TCP maximum segment size of connections a listening socket accepts from now on
/// (TCP_MAXSEG on the listener: the kernel takes the smaller of it and the peer's MSS when the
/// SYN arrives, and advertises it in the SYN-ACK, so both directions use it). Set on an
/// established socket it would change nothing that is already negotiated.
pub fn set_listener_max_segment(listener: RawFd, bytes: u32) -> Result<(), OsError> {
    let v = c_int_of(bytes, "TCP_MAXSEG")?;
    set_int_option(listener, libc::IPPROTO_TCP, libc::TCP_MAXSEG, v, "setsockopt TCP_MAXSEG")
}

/// The maximum segment size the kernel uses for sending on `sock` (TCP_MAXSEG read back).
pub fn max_segment(sock: RawFd) -> Result<u32, OsError> {
    int_option(sock, libc::IPPROTO_TCP, libc::TCP_MAXSEG, "getsockopt TCP_MAXSEG")
        .map(|v| u32::try_from(v).unwrap_or(0))
}

/// Fixes the kernel send (SO_SNDBUF) or receive (SO_RCVBUF) buffer of `sock`; on a listening
/// socket, of every connection it accepts from now on (they inherit both). Linux doubles the
/// value for its own bookkeeping, caps it at net.core.wmem_max / rmem_max, and stops
/// autotuning that buffer.
pub fn set_buffer_size(sock: RawFd, send: bool, bytes: u32) -> Result<(), OsError> {
    let (name, what) =
        if send { (libc::SO_SNDBUF, "SO_SNDBUF") } else { (libc::SO_RCVBUF, "SO_RCVBUF") };
    let v = c_int_of(bytes, what)?;
    set_int_option(sock, libc::SOL_SOCKET, name, v, &format!("setsockopt {what}"))
}

/// The kernel send (SO_SNDBUF) or receive (SO_RCVBUF) buffer size of `sock`, as Linux reports it
/// (twice what was set).
pub fn buffer_size(sock: RawFd, send: bool) -> Result<u32, OsError> {
    let (name, what) = if send {
        (libc::SO_SNDBUF, "getsockopt SO_SNDBUF")
    } else {
        (libc::SO_RCVBUF, "getsockopt SO_RCVBUF")
    };
    int_option(sock, libc::SOL_SOCKET, name, what).map(|v| u32::try_from(v).unwrap_or(0))
}

/// Whether TCP_CORK is set on `sock` (for tests).
#[cfg(test)]
pub fn corked(sock: &OwnedFd) -> bool {
    let mut v: libc::c_int = 0;
    let mut len = C_INT_LEN;
    // SAFETY: `v` and `len` are live locals of the sizes the call expects.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            (&raw mut v).cast(),
            &raw mut len,
        )
    };
    r == 0 && v != 0
}

/// What a non-blocking write attempt achieved.
pub enum Progress {
    Wrote(usize),
    WouldBlock,
}

/// One non-blocking send of `data` to `sock`. MSG_NOSIGNAL keeps a closed peer from
/// raising SIGPIPE (Node ignores SIGPIPE anyway, but a host embedding us might not);
/// a non-socket (a pipe, used by some tests and tools) falls back to write(2).
pub fn send_some(sock: &OwnedFd, data: &[u8]) -> Result<Progress, OsError> {
    loop {
        // SAFETY: `data` is a live slice the kernel only reads; `sock` is a descriptor we
        // own, so it cannot have been closed or reused underneath us.
        let n = unsafe {
            libc::send(sock.as_raw_fd(), data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL)
        };
        if let Ok(n) = usize::try_from(n) {
            return Ok(Progress::Wrote(n));
        }
        let err = OsError::last("send to socket");
        match err.errno {
            libc::EINTR => {}
            e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => return Ok(Progress::WouldBlock),
            libc::ENOTSOCK => return write_some(sock, data),
            _ => return Err(err),
        }
    }
}

fn write_some(fd: &OwnedFd, data: &[u8]) -> Result<Progress, OsError> {
    loop {
        // SAFETY: as in `send_some`: live slice, descriptor we own.
        let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if let Ok(n) = usize::try_from(n) {
            return Ok(Progress::Wrote(n));
        }
        let err = OsError::last("write to socket");
        match err.errno {
            libc::EINTR => {}
            e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => return Ok(Progress::WouldBlock),
            _ => return Err(err),
        }
    }
}

/// The result of one sendfile(2) attempt.
pub enum SendfileProgress {
    Wrote(usize),
    WouldBlock,
    /// The file ended before the requested range did.
    Eof,
    /// This pair of descriptors cannot use sendfile (EINVAL/ENOSYS): copy by hand instead.
    Unsupported,
}

/// One sendfile(2) call from `file` at `offset` to `sock`, at most `count` bytes. The
/// explicit offset means the file's own position (shared with Node's descriptor) is
/// never moved. Unlike send(), sendfile has no MSG_NOSIGNAL: writing to a reset peer raises
/// SIGPIPE, which is harmless only because Node sets SIGPIPE to SIG_IGN at startup (seen in
/// the tests: the call returns EPIPE and the process lives on).
pub fn sendfile_some(
    sock: &OwnedFd,
    file: &OwnedFd,
    offset: u64,
    count: usize,
) -> Result<SendfileProgress, OsError> {
    let mut off = to_off_t(offset, "sendfile offset")?;
    loop {
        // SAFETY: both descriptors are owned by us (so still open and not reused); `off`
        // is a live local the kernel updates in place.
        let n = unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &raw mut off, count) };
        match usize::try_from(n) {
            Ok(0) => return Ok(SendfileProgress::Eof),
            Ok(n) => return Ok(SendfileProgress::Wrote(n)),
            Err(_) => {} // -1 and errno
        }
        let err = OsError::last("sendfile to socket");
        match err.errno {
            libc::EINTR => {}
            e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => {
                return Ok(SendfileProgress::WouldBlock)
            }
            libc::EINVAL | libc::ENOSYS => return Ok(SendfileProgress::Unsupported),
            _ => return Err(err),
        }
    }
}

/// Waits until `sock` is writable or `timeout` passes (ETIMEDOUT). EINTR restarts the wait
/// with whatever time is left. An error/hangup condition returns Ok so that the next write
/// attempt reports the precise errno (EPIPE, ECONNRESET...).
pub fn wait_writable(sock: &OwnedFd, timeout: Duration) -> Result<(), OsError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        let mut pfd = libc::pollfd { fd: sock.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
        // SAFETY: `pfd` is a live local array of exactly one pollfd, matching nfds = 1.
        let n = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if n < 0 {
            let err = OsError::last("poll socket for writing");
            if err.errno == libc::EINTR {
                continue;
            }
            return Err(err);
        }
        if n == 0 {
            return Err(OsError::new(
                libc::ETIMEDOUT,
                format!("socket not writable within {} ms", timeout.as_millis()),
            ));
        }
        if pfd.revents & libc::POLLNVAL != 0 {
            return Err(OsError::new(libc::EBADF, "poll socket for writing"));
        }
        return Ok(());
    }
}

/// A new epoll instance (close-on-exec).
pub fn epoll_new() -> Result<OwnedFd, OsError> {
    // SAFETY: epoll_create1 takes a flags int and touches no memory of ours.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(OsError::last("epoll_create1"));
    }
    // SAFETY: `fd` was just returned by the kernel as a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds (`add`) or re-arms `fd` in `epoll` for `events`, tagged with `token`.
pub fn epoll_set(
    epoll: &OwnedFd,
    fd: &OwnedFd,
    events: u32,
    token: u64,
    add: bool,
) -> Result<(), OsError> {
    let mut ev = libc::epoll_event { events, u64: token };
    let op = if add { libc::EPOLL_CTL_ADD } else { libc::EPOLL_CTL_MOD };
    // SAFETY: `ev` is a live local epoll_event; both descriptors are owned by the caller, so
    // they are open and are the ones it means.
    let r = unsafe { libc::epoll_ctl(epoll.as_raw_fd(), op, fd.as_raw_fd(), &raw mut ev) };
    if r < 0 {
        return Err(OsError::last("epoll_ctl"));
    }
    Ok(())
}

/// Removes `fd` from `epoll` (before the descriptor is closed; closing would too, but only once
/// every duplicate of it is closed).
pub fn epoll_remove(epoll: &OwnedFd, fd: &OwnedFd) {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: as in `epoll_set`; `ev` is ignored by EPOLL_CTL_DEL on kernels since 2.6.9. A
    // failure (the descriptor was never added) needs no handling.
    unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd.as_raw_fd(), &raw mut ev) };
}

/// Waits for events on `epoll` for at most `timeout` (forever for None); fills `events` from
/// the start and returns how many. EINTR returns 0.
pub fn epoll_wait(
    epoll: &OwnedFd,
    events: &mut [libc::epoll_event],
    timeout: Option<Duration>,
) -> Result<usize, OsError> {
    let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis().max(1)).unwrap_or(i32::MAX));
    let max = i32::try_from(events.len()).unwrap_or(i32::MAX);
    // SAFETY: `events` is a live, exclusively borrowed slice of at least `max` entries that
    // the kernel fills; `epoll` is a descriptor the caller owns.
    let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), max, ms) };
    if let Ok(n) = usize::try_from(n) {
        return Ok(n);
    }
    let err = OsError::last("epoll_wait");
    if err.errno == libc::EINTR {
        return Ok(0);
    }
    Err(err)
}

/// A new eventfd (non-blocking, close-on-exec), for waking a thread that waits in epoll.
pub fn eventfd_new() -> Result<OwnedFd, OsError> {
    // SAFETY: eventfd takes an initial count and flags and touches no memory of ours.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(OsError::last("eventfd"));
    }
    // SAFETY: `fd` was just returned by the kernel as a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd's count, making it readable. A full count (EAGAIN) is readable already.
pub fn eventfd_signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: an eventfd write takes exactly one u64; `one` is a live local of that size.
    unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), std::mem::size_of::<u64>()) };
}

/// Resets an eventfd's count to zero.
pub fn eventfd_drain(fd: &OwnedFd) {
    let mut count: u64 = 0;
    // SAFETY: an eventfd read fills exactly one u64; `count` is a live local of that size. A
    // failure (EAGAIN: already zero) needs no handling.
    unsafe { libc::read(fd.as_raw_fd(), (&raw mut count).cast(), std::mem::size_of::<u64>()) };
}

/// `v` as a usize, at most `cap` (a length to read or send that is also bounded by a buffer).
pub fn at_most(v: u64, cap: usize) -> usize {
    usize::try_from(v).map_or(cap, |v| v.min(cap))
}

fn to_off_t(offset: u64, what: &str) -> Result<libc::off_t, OsError> {
    libc::off_t::try_from(offset)
        .map_err(|_| OsError::new(libc::EOVERFLOW, format!("{what} {offset} too large")))
}
