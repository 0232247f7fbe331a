//! The accept loop: one thread polls every listening socket, admits each new connection
//! within its limits, and gives it a thread of its own.
//!
//! Admission: the admin socket's connections are counted apart from the partitions', so
//! partitions holding all theirs never leave the admin without room; every partition
//! connection counts against the daemon's total and against its partition's quota (which
//! the device enforces when the connection is made). A connection refused is answered
//! `ConnectionLimit` (request id 0) and closed, without a thread. The listeners take turns:
//! each round accepts at most a few connections from each (the admin's first), so a flood
//! of connections on one partition's socket delays the others' by one round, never more.
//! When the process is out of descriptors (or memory) the loop backs off instead of spinning
//! on a socket that stays readable, and established connections are served meanwhile.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use ihsm_device::Socket;
use ihsm_proto::{Limits, Response, Status};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::channel::{Channel, UnixChannel};
use crate::conn::{self, Peer};
use crate::server::{log, Listener, Live, Shared};

/// How long the loop pauses when accepting fails for want of a resource.
const BACKOFF: Duration = Duration::from_millis(50);
/// Connections accepted from one listener per round, before the next listener's turn.
const PER_TURN: usize = 8;

pub(crate) fn accept_loop(shared: &Arc<Shared>, stop: &AtomicBool) {
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut starved_since: Option<Instant> = None;
    // Some listener still had connections waiting after its turn: poll again at once.
    let mut more = false;
    while !stop.load(Ordering::Acquire) {
        let listeners: Vec<Arc<Listener>> = shared
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut fds: Vec<PollFd<'_>> = listeners
            .iter()
            .map(|l| PollFd::new(&l.listener, PollFlags::IN))
            .collect();
        if poll(&mut fds, Some(if more { &now } else { &tick })).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        drop(fds);
        let (mut starved, mut waiting) = (false, false);
        // The admin's listener sorts first (its key is empty): it has the first turn.
        for (listener, ready) in listeners.iter().zip(ready) {
            if ready {
                let turn = accept_some(shared, listener);
                starved |= turn.starved;
                waiting |= turn.more;
            }
        }
        more = waiting && !starved;
        if starved {
            if starved_since.is_none() {
                log("accepting paused: out of file descriptors or memory; established connections are served meanwhile");
            }
            starved_since.get_or_insert_with(Instant::now);
            std::thread::sleep(BACKOFF);
        } else if let Some(since) = starved_since.take() {
            log(&format!(
                "accepting again after {} ms",
                since.elapsed().as_millis()
            ));
        }
    }
}

/// What one listener's turn did.
struct Turn {
    /// Accepting failed for want of a descriptor or memory (the caller backs off).
    starved: bool,
    /// Connections may still be waiting.
    more: bool,
}

/// Accepts up to [`PER_TURN`] connections waiting on `listener`.
fn accept_some(shared: &Arc<Shared>, listener: &Listener) -> Turn {
    for _ in 0..PER_TURN {
        let stream = match rustix::net::accept(&listener.listener) {
            Ok(fd) => UnixStream::from(fd),
            Err(Errno::AGAIN | Errno::INTR) => {
                return Turn {
                    starved: false,
                    more: false,
                }
            }
            Err(Errno::MFILE | Errno::NFILE | Errno::NOMEM | Errno::NOBUFS) => {
                return Turn {
                    starved: true,
                    more: true,
                }
            }
            // The peer gave up before it was accepted, or the like: the next one.
            Err(_) => continue,
        };
        admit(shared, listener, stream);
    }
    Turn {
        starved: false,
        more: true,
    }
}

fn admit(shared: &Arc<Shared>, listener: &Listener, stream: UnixStream) {
    let admin = listener.socket == Socket::Admin;
    let (count, max) = if admin {
        (&shared.admin_active, shared.config.max_admin_connections)
    } else {
        (&shared.active, shared.config.max_connections)
    };
    if count.load(Ordering::Acquire) >= max {
        refuse(&stream, Status::ConnectionLimit);
        return;
    }
    let connection = match shared.device.connect(listener.socket.clone()) {
        Ok(connection) => Arc::new(connection),
        Err(status) => {
            refuse(&stream, status);
            return;
        }
    };
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let peer = rustix::net::sockopt::socket_peercred(stream.as_fd())
        .map(|cred| Peer {
            uid: cred.uid.as_raw(),
            pid: cred.pid.as_raw_nonzero().get(),
        })
        .unwrap_or(Peer {
            uid: u32::MAX,
            pid: 0,
        });
    let channel: Arc<dyn Channel> = match UnixChannel::new(
        stream,
        shared.config.frame_timeout,
        shared.config.send_timeout,
    ) {
        Ok(channel) => Arc::new(channel),
        Err(_) => return,
    };
    let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    count.fetch_add(1, Ordering::AcqRel);
    shared
        .channels
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            id,
            Live {
                channel: channel.clone(),
                connection: Arc::downgrade(&connection),
                admin,
            },
        );
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("conn-{id}"))
        .spawn(move || {
            // Forgotten however the thread ends, a panic included.
            let _forget = Forget(&thread_shared, id);
            conn::serve(&thread_shared, channel, connection, id, peer);
        });
    if spawned.is_err() {
        shared.forget(id);
        log("connection refused: no thread for it");
    }
}

/// Answers a connection that is not admitted (request id 0, so the client knows nothing
/// follows), without waiting for it to read, and closes it.
fn refuse(stream: &UnixStream, status: Status) {
    let _ = stream.set_nonblocking(true);
    if let Ok(frame) = Response::error(None, status).encode_frame(&Limits::default()) {
        let _ = rustix::io::write(stream, &frame);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Forgets a connection when its thread ends.
struct Forget<'a>(&'a Shared, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}
