//! The sender thread: writes every Fetch response (sendfile.rs's `SendJob`s) without ever
//! waiting for one consumer. Each job is advanced until its socket is full, then parked in an
//! epoll set and resumed when the socket is writable again, so any number of slow or stopped
//! consumers cost no thread: before this, each in-flight response held a libuv pool thread while
//! its consumer drained, and a few stalled consumers held every pool thread, which the broker's
//! group-commit fdatasync also needs (a durable produce then waited on a stopped consumer).
//!
//! One thread, started on first use, lives as long as the process. Jobs arrive through a
//! channel and an eventfd that wakes the epoll wait. A job whose socket makes no progress for
//! its timeout fails with ETIMEDOUT; a peer that goes away fails it with the write's errno.
//! Completion callbacks run on this thread: they must only hand the result over (napi's
//! threadsafe deferreds do), never block.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender as ChannelSender};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::sendfile::{SendJob, Step};
use crate::sys::{self, OsError};

/// What a job's owner is told when it ends: bytes written, or why it failed.
pub type Completion = Box<dyn FnOnce(Result<u64, OsError>) + Send>;

struct Submission {
    job: SendJob,
    timeout: Duration,
    done: Completion,
}

struct Parked {
    job: SendJob,
    timeout: Duration,
    /// When the job fails unless its socket has taken more bytes by then.
    deadline: Instant,
    /// Its socket is in the epoll set (added on the first block, re-armed after).
    registered: bool,
    done: Completion,
}

struct Sender {
    jobs: Mutex<ChannelSender<Submission>>,
    wake: OwnedFd,
}

/// The epoll token of the wake-up eventfd; jobs get 1, 2, ...
const WAKE: u64 = 0;
const EVENTS: usize = 256;

static SENDER: OnceLock<Result<Sender, OsError>> = OnceLock::new();

/// Hands `job` to the sender thread (started on first use). `done` is called exactly once, on
/// that thread, with the total written or the error that ended the job.
pub fn submit(job: SendJob, timeout: Duration, done: Completion) -> Result<(), OsError> {
    let sender = SENDER.get_or_init(start).as_ref().map_err(Clone::clone)?;
    let channel = sender.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    channel
        .send(Submission { job, timeout, done })
        .map_err(|_| OsError::new(libc::EPIPE, "the sender thread has stopped"))?;
    drop(channel);
    sys::eventfd_signal(&sender.wake);
    Ok(())
}

fn start() -> Result<Sender, OsError> {
    let epoll = sys::epoll_new()?;
    let wake = sys::eventfd_new()?;
    let wake_for_thread = wake
        .try_clone()
        .map_err(|e| OsError::new(e.raw_os_error().unwrap_or(libc::EIO), "dup eventfd"))?;
    sys::epoll_set(&epoll, &wake_for_thread, epoll_in(), WAKE, true)?;
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("franz-sender".into())
        .spawn(move || run(&epoll, &wake_for_thread, &rx))
        .map_err(|e| {
            OsError::new(e.raw_os_error().unwrap_or(libc::EAGAIN), "spawn the sender thread")
        })?;
    Ok(Sender { jobs: Mutex::new(tx), wake })
}

fn epoll_in() -> u32 {
    u32::try_from(libc::EPOLLIN).unwrap_or_default()
}

/// Writable, once: a parked job is re-armed each time it blocks again.
fn epoll_out_once() -> u32 {
    u32::try_from(libc::EPOLLOUT | libc::EPOLLONESHOT).unwrap_or_default()
}

fn run(epoll: &OwnedFd, wake: &OwnedFd, submissions: &Receiver<Submission>) {
    let mut parked: HashMap<u64, Parked> = HashMap::new();
    let mut next_token = WAKE + 1;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS];
    loop {
        let now = Instant::now();
        let wait = parked.values().map(|p| p.deadline.saturating_duration_since(now)).min();
        // On an error there is nothing sensible to do but keep the jobs' timeouts running.
        let ready = sys::epoll_wait(epoll, &mut events, wait).unwrap_or_else(|_| {
            thread::sleep(Duration::from_millis(10));
            0
        });
        for ev in &events[..ready] {
            let token = ev.u64;
            if token == WAKE {
                sys::eventfd_drain(wake);
            } else if let Some(p) = parked.remove(&token) {
                resume(epoll, token, p, &mut parked);
            }
        }
        while let Ok(s) = submissions.try_recv() {
            let token = next_token;
            next_token += 1;
            let p = Parked {
                job: s.job,
                timeout: s.timeout,
                deadline: Instant::now() + s.timeout,
                registered: false,
                done: s.done,
            };
            resume(epoll, token, p, &mut parked);
        }
        let now = Instant::now();
        let expired: Vec<u64> =
            parked.iter().filter(|(_, p)| p.deadline <= now).map(|(t, _)| *t).collect();
        for token in expired {
            if let Some(p) = parked.remove(&token) {
                sys::epoll_remove(epoll, p.job.socket());
                let ms = p.timeout.as_millis();
                finish(
                    p.done,
                    Err(OsError::new(
                        libc::ETIMEDOUT,
                        format!("socket not writable within {ms} ms"),
                    )),
                );
            }
        }
    }
}

/// Advances a job as far as its socket takes it now; parks it again (re-armed) when blocked,
/// or ends it.
fn resume(epoll: &OwnedFd, token: u64, mut p: Parked, parked: &mut HashMap<u64, Parked>) {
    let before = p.job.written();
    let step = catch_unwind(AssertUnwindSafe(|| p.job.advance()))
        .unwrap_or_else(|_| Err(OsError::new(libc::EFAULT, "panic while sending a response")));
    match step {
        Ok(Step::Blocked) => {
            if p.job.written() > before {
                p.deadline = Instant::now() + p.timeout;
            }
            // A job's socket is added on its first block and re-armed (EPOLLONESHOT) after.
            match sys::epoll_set(epoll, p.job.socket(), epoll_out_once(), token, !p.registered) {
                Ok(()) => {
                    p.registered = true;
                    parked.insert(token, p);
                }
                Err(e) => finish(p.done, Err(e)),
            }
        }
        Ok(Step::Done(n)) => {
            if p.registered {
                sys::epoll_remove(epoll, p.job.socket());
            }
            drop(p.job);
            finish(p.done, Ok(n));
        }
        Err(e) => {
            if p.registered {
                sys::epoll_remove(epoll, p.job.socket());
            }
            drop(p.job);
            finish(p.done, Err(e));
        }
    }
}

fn finish(done: Completion, result: Result<u64, OsError>) {
    // A callback that panics must not take the thread (and every other response) with it.
    let _ = catch_unwind(AssertUnwindSafe(|| done(result)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sendfile::Chunk;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::sync::mpsc::channel;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (server, client)
    }

    #[test]
    fn a_stalled_reader_does_not_hold_up_another() {
        // Stalled: a 4 MiB response to a peer that never reads.
        let (stalled_sock, _stalled_peer) = pair();
        let (tx, rx) = channel();
        let tx2 = tx.clone();
        let big = SendJob::new(
            stalled_sock.as_fd().try_clone_to_owned().unwrap(),
            vec![Chunk::Bytes(vec![7u8; 4 << 20])],
        );
        submit(
            big,
            Duration::from_millis(400),
            Box::new(move |r| tx.send(("stalled", r)).unwrap()),
        )
        .unwrap();

        // Served: a small response to a peer that reads, submitted after the stalled one.
        let (served_sock, mut served_peer) = pair();
        let small = SendJob::new(
            served_sock.as_fd().try_clone_to_owned().unwrap(),
            vec![Chunk::Bytes(b"hello".to_vec())],
        );
        submit(small, Duration::from_secs(5), Box::new(move |r| tx2.send(("served", r)).unwrap()))
            .unwrap();
        let mut got = [0u8; 5];
        served_peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");

        let (first, r) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(first, "served");
        assert_eq!(r.unwrap(), 5);
        // The stalled one times out (no progress within its 400 ms), it is not lost.
        let (second, r) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(second, "stalled");
        assert_eq!(r.unwrap_err().errno, libc::ETIMEDOUT);
    }

    #[test]
    fn a_slow_reader_gets_everything_in_order() {
        let (sock, mut peer) = pair();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let (tx, rx) = channel();
        let job = SendJob::new(
            sock.as_fd().try_clone_to_owned().unwrap(),
            vec![Chunk::Bytes(data.clone()), Chunk::Bytes(b"END".to_vec())],
        );
        submit(job, Duration::from_secs(5), Box::new(move |r| tx.send(r).unwrap())).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < data.len() + 3 {
            let n = peer.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            if got.len() % (64 * 4096) < 4096 {
                thread::sleep(Duration::from_millis(2));
            }
        }
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap(),
            data.len() as u64 + 3
        );
        assert_eq!(&got[..data.len()], &data[..]);
        assert_eq!(&got[data.len()..], b"END");
    }

    #[test]
    fn a_peer_that_goes_away_fails_the_job() {
        let (sock, peer) = pair();
        let (tx, rx) = channel();
        let job = SendJob::new(
            sock.as_fd().try_clone_to_owned().unwrap(),
            vec![Chunk::Bytes(vec![1u8; 8 << 20])],
        );
        submit(job, Duration::from_secs(10), Box::new(move |r| tx.send(r).unwrap())).unwrap();
        thread::sleep(Duration::from_millis(50));
        drop(peer);
        let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let errno = r.unwrap_err().errno;
        assert!(errno == libc::EPIPE || errno == libc::ECONNRESET, "errno {errno}");
    }
}
