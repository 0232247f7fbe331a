//! The accept loop: one thread polls every listening socket, admits each new connection
//! within its limits, and gives it a thread of its own (one kept from an ended connection to
//! the same socket where one waits: see `threads.rs`).
//!
//! Admission: the admin socket's connections are counted apart from the partitions', so
//! partitions holding all theirs never leave the admin without room; every partition
//! connection counts against the daemon's total and against its partition's quota (which
//! the device enforces when the connection is made). A connection refused is answered
//! `ConnectionLimit` (request id 0) and closed, without a thread. The listeners take turns:
//! each round accepts at most a few connections from each (the admin's first), so a flood
//! of connections on one partition's socket delays the others' by one round, never more;
//! and a partition's socket has at most so many new connections a second (`Rate`), the rest
//! waiting in its backlog, so a tenant opening and closing connections in a loop takes only
//! so much of the daemon's time. When the process is out of descriptors (or memory) the
//! loop backs off instead of spinning on a socket that stays readable, and established
//! connections are served meanwhile.

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
    let tick = Duration::from_millis(200);
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
        let now = Instant::now();
        // A partition socket out of allowance is not polled until its next connection is
        // due (its connections wait in the socket's backlog); the admin's always is.
        let mut wait = if more { Duration::ZERO } else { tick };
        let mut polled = Vec::with_capacity(listeners.len());
        for listener in &listeners {
            let allowed = match &listener.rate {
                None => PER_TURN,
                Some(rate) => {
                    let mut rate = rate.lock().unwrap_or_else(PoisonError::into_inner);
                    let allowed = rate.allowed(now);
                    if allowed == 0 {
                        wait = wait.min(rate.next_due());
                    }
                    allowed
                }
            };
            if allowed > 0 {
                polled.push((listener, allowed));
            }
        }
        let mut fds: Vec<PollFd<'_>> = polled
            .iter()
            .map(|(l, _)| PollFd::new(&l.listener, PollFlags::IN))
            .collect();
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: i64::try_from(wait.as_nanos()).unwrap_or(200_000_000),
        };
        if poll(&mut fds, Some(&timeout)).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        drop(fds);
        let (mut starved, mut waiting) = (false, false);
        // The admin's listener sorts first (its key is empty): it has the first turn.
        for ((listener, allowed), ready) in polled.iter().zip(ready) {
            if ready {
                let turn = accept_some(shared, listener, *allowed);
                // Waiting connections of a socket out of allowance wait for its next due
                // time, not for the next round.
                let allowance_left = listener.rate.as_ref().is_none_or(|rate| {
                    let mut rate = rate.lock().unwrap_or_else(PoisonError::into_inner);
                    rate.take(turn.accepted);
                    rate.has_allowance()
                });
                starved |= turn.starved;
                waiting |= turn.more && allowance_left;
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

/// A partition socket's allowance of new connections: one each [`INTERVAL`], up to
/// [`BURST`] at once. Each connection costs the daemon a little work whether it is used or
/// not (an accept, an admission, a thread handed over, a close): without a bound, one tenant
/// opening and closing connections as fast as it could took a core's worth of it, and
/// others' requests waited for the CPU.
pub(crate) struct Rate {
    /// Time saved up, one connection per interval of it.
    credit: Duration,
    at: Instant,
}

/// A partition socket's new connections come at most one per this, on average (a thousand a
/// second).
const INTERVAL: Duration = Duration::from_millis(1);
/// New connections a partition socket may have at once (as many as a partition's default
/// connection quota).
const BURST: u32 = 128;

impl Rate {
    pub(crate) fn new(now: Instant) -> Self {
        Rate {
            credit: INTERVAL * BURST,
            at: now,
        }
    }

    /// Connections that may be accepted now (at most a turn's).
    fn allowed(&mut self, now: Instant) -> usize {
        self.credit = (self.credit + now.saturating_duration_since(self.at)).min(INTERVAL * BURST);
        self.at = now;
        usize::try_from(self.credit.as_nanos() / INTERVAL.as_nanos())
            .unwrap_or(PER_TURN)
            .min(PER_TURN)
    }

    /// Whether one more connection is allowed now.
    fn has_allowance(&self) -> bool {
        self.credit >= INTERVAL
    }

    /// How long until one more connection is allowed.
    fn next_due(&self) -> Duration {
        INTERVAL.saturating_sub(self.credit)
    }

    fn take(&mut self, accepted: usize) {
        let spent = INTERVAL.saturating_mul(u32::try_from(accepted).unwrap_or(u32::MAX));
        self.credit = self.credit.saturating_sub(spent);
    }
}

/// What one listener's turn did.
struct Turn {
    /// Connections accepted (admitted or refused).
    accepted: usize,
    /// Accepting failed for want of a descriptor or memory (the caller backs off).
    starved: bool,
    /// Connections may still be waiting.
    more: bool,
}

/// Accepts up to `allowed` connections waiting on `listener`.
fn accept_some(shared: &Arc<Shared>, listener: &Listener, allowed: usize) -> Turn {
    let mut accepted = 0;
    while accepted < allowed {
        let stream = match rustix::net::accept(&listener.listener) {
            Ok(fd) => UnixStream::from(fd),
            Err(Errno::AGAIN | Errno::INTR) => {
                return Turn {
                    accepted,
                    starved: false,
                    more: false,
                }
            }
            Err(Errno::MFILE | Errno::NFILE | Errno::NOMEM | Errno::NOBUFS) => {
                return Turn {
                    accepted,
                    starved: true,
                    more: true,
                }
            }
            // The peer gave up before it was accepted, or the like: the next one.
            Err(_) => {
                accepted += 1;
                continue;
            }
        };
        accepted += 1;
        admit(shared, listener, stream);
    }
    Turn {
        accepted,
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
    let tenant = match &listener.socket {
        Socket::Admin => crate::pool::ADMIN_TENANT,
        Socket::Partition(name) => name.as_str(),
    };
    let spawned = shared.threads.run(
        tenant,
        Box::new(move || {
            // Forgotten however the connection ends, a panic included.
            let _forget = Forget(&thread_shared, id);
            conn::serve(&thread_shared, channel, connection, id, peer);
        }),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_socket_has_a_burst_then_its_rate() {
        let start = Instant::now();
        let mut rate = Rate::new(start);
        let mut accepted = 0;
        loop {
            let allowed = rate.allowed(start);
            if allowed == 0 {
                break;
            }
            rate.take(allowed);
            accepted += allowed;
        }
        assert_eq!(accepted, 128, "the burst");
        let due = rate.next_due();
        assert!(
            due > Duration::ZERO && due <= Duration::from_millis(1),
            "{due:?}"
        );
        // A second later: a second's worth, a turn at a time, never more than the burst.
        let later = start + Duration::from_secs(1);
        assert_eq!(rate.allowed(later), PER_TURN);
        assert_eq!(rate.credit, INTERVAL * BURST, "capped at the burst");
        let soon = start + Duration::from_millis(5);
        let mut fresh = Rate::new(start);
        fresh.take(128);
        assert_eq!(fresh.allowed(soon), 5, "5 ms at a thousand a second");
    }
}
