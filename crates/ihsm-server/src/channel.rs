//! A connection's frames as its thread sees them: the server's side of the transport.
//!
//! The Unix socket is the one built; the shared-memory queues of the design will be another
//! [`Channel`], and the serving loop will not change. A frame's body is received into a
//! [`FrameBuffer`], which grows as bytes arrive (never to the size a prefix announces before
//! they do) and takes every byte it holds from the daemon's [`FrameBudget`] first.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ihsm_proto::frame::{parse_prefix, PREFIX_LEN};
use ihsm_proto::Limits;
use zeroize::Zeroize;

use crate::tenants::FrameBudget;

/// What a connection's thread reads next.
pub enum Received {
    /// A whole frame body is in the buffer.
    Frame,
    /// No frame began within the tick: the thread checks its timeouts and the shutdown.
    Idle,
    /// The peer closed, or reading was shut down.
    Closed,
    /// The prefix announced more than the frame limit.
    TooLarge,
    /// A frame began but did not arrive whole within the frame timeout (or found no room in
    /// the frame budget by then).
    Stalled,
}

/// A connection's frames: see the module documentation.
pub trait Channel: Send + Sync {
    /// Waits up to `tick` for a frame to begin; then reads it whole into `body` (within the
    /// frame timeout), refusing a length over `limits` before taking any memory for it.
    fn receive(&self, body: &mut FrameBuffer, limits: &Limits, tick: Duration) -> Received;

    /// Sends one whole response frame; false if the peer is gone.
    fn send(&self, frame: &[u8]) -> bool;

    /// Stops reading (the daemon is stopping): the next `receive` returns `Closed`, while
    /// answers to requests already read can still be sent.
    fn close_reading(&self);

    /// Ends the connection both ways (a peer that stopped reading, a partition gone, or the
    /// drain deadline).
    fn close(&self);
}

/// Bytes a connection keeps between frames without counting them against the budget; a
/// larger buffer is freed after its frame.
const KEPT: usize = 4096;
/// The least a buffer grows by: a frame's first read, and the size it then doubles from.
const STEP: usize = KEPT;

/// One connection's frame body: grown as bytes arrive, each byte taken from the budget for
/// its tenant before the buffer holds it, wiped after every frame and whenever it moves.
pub struct FrameBuffer {
    bytes: Vec<u8>,
    budget: Arc<FrameBudget>,
    tenant: String,
    /// Bytes taken from the budget now.
    charged: usize,
}

impl FrameBuffer {
    /// An empty buffer of `tenant`'s.
    #[must_use]
    pub fn new(budget: Arc<FrameBudget>, tenant: &str) -> Self {
        Self {
            bytes: Vec::new(),
            budget,
            tenant: tenant.to_string(),
            charged: 0,
        }
    }

    /// The frame body received.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.bytes
    }

    /// Makes room for at least `want` bytes of a frame of `total`, growing geometrically
    /// (so a large frame is copied a bounded number of times) but never past `total`;
    /// false if the budget had no room by `deadline`.
    fn room(&mut self, want: usize, total: usize, deadline: Instant) -> bool {
        let capacity = self.bytes.capacity();
        if want <= capacity {
            return true;
        }
        let grown = want.max(capacity.saturating_mul(2)).max(STEP).min(total);
        let extra = grown.saturating_sub(self.charged);
        if extra > 0 {
            if !self.budget.take(&self.tenant, extra, deadline) {
                return false;
            }
            self.charged += extra;
        }
        // Moved by hand so the old allocation is wiped, not freed holding part of a frame.
        let mut fresh = Vec::with_capacity(grown);
        fresh.extend_from_slice(&self.bytes);
        self.bytes.zeroize();
        self.bytes = fresh;
        true
    }

    /// Wipes the body after its frame was decoded, and gives its memory back (a small
    /// buffer is kept for the next frame).
    pub fn finish(&mut self) {
        drop(self.finish_held());
    }

    /// As [`finish`](Self::finish), but the budget the frame took stays taken until the
    /// returned [`Held`] drops: the request decoded from the frame holds as many bytes as
    /// the frame did (a megabyte of data to digest), until it is served.
    pub fn finish_held(&mut self) -> Held {
        self.bytes.zeroize();
        if self.bytes.capacity() > KEPT {
            self.bytes = Vec::new();
        }
        Held {
            budget: self.budget.clone(),
            tenant: self.tenant.clone(),
            bytes: std::mem::take(&mut self.charged),
        }
    }
}

/// Bytes of the frame budget a decoded request holds, given back when dropped.
pub struct Held {
    budget: Arc<FrameBudget>,
    tenant: String,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.give(&self.tenant, self.bytes);
    }
}

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A Unix stream socket as a [`Channel`]: one descriptor for reading, writing and shutting
/// down (the read and write timeouts are separate socket options).
pub struct UnixChannel {
    stream: UnixStream,
    reading: Mutex<()>,
    writing: Mutex<()>,
    frame_timeout: Duration,
}

impl UnixChannel {
    /// Wraps an accepted stream. A response that cannot be written within `send_timeout`
    /// (the peer stopped reading) closes the connection.
    pub fn new(
        stream: UnixStream,
        frame_timeout: Duration,
        send_timeout: Duration,
    ) -> std::io::Result<Self> {
        stream.set_write_timeout(Some(send_timeout))?;
        Ok(Self {
            stream,
            reading: Mutex::new(()),
            writing: Mutex::new(()),
            frame_timeout,
        })
    }
}

impl Channel for UnixChannel {
    fn receive(&self, body: &mut FrameBuffer, limits: &Limits, tick: Duration) -> Received {
        let _reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stream = &self.stream;
        let _ = stream.set_read_timeout(Some(tick));
        let mut prefix = [0u8; PREFIX_LEN];
        let mut got = 0;
        let mut started: Option<Instant> = None;
        while got < PREFIX_LEN {
            match stream.read(prefix.get_mut(got..).unwrap_or_default()) {
                Ok(0) => return Received::Closed,
                Ok(n) => {
                    got += n;
                    started.get_or_insert_with(Instant::now);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    match started {
                        None => return Received::Idle,
                        Some(at) if at.elapsed() > self.frame_timeout => return Received::Stalled,
                        Some(_) => {}
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Received::Closed,
            }
        }
        let deadline = started.unwrap_or_else(Instant::now) + self.frame_timeout;
        let Ok(len) = parse_prefix(prefix, limits) else {
            return Received::TooLarge;
        };
        body.bytes.clear();
        while body.bytes.len() < len {
            let have = body.bytes.len();
            // Read at most as much again as arrived so far: the buffer doubles with the
            // bytes, never ahead of them.
            let want = (len - have).min(have.max(STEP));
            // Room is taken before the bytes are read: until then they wait in the socket.
            if !body.room(have + want, len, deadline) {
                return Received::Stalled;
            }
            body.bytes.resize(have + want, 0);
            let read = stream.read(body.bytes.get_mut(have..).unwrap_or_default());
            body.bytes.truncate(have + read.as_ref().map_or(0, |n| *n));
            match read {
                Ok(0) => return Received::Closed,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() > deadline {
                        return Received::Stalled;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Received::Closed,
            }
        }
        Received::Frame
    }

    fn send(&self, frame: &[u8]) -> bool {
        if frame.is_empty() {
            return false;
        }
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = (&self.stream).write_all(frame).is_ok();
        if !sent {
            // A partial frame may be on the wire, or the peer stopped reading: the
            // connection cannot go on.
            self.close();
        }
        sent
    }

    fn close_reading(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Read);
    }

    fn close(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}
