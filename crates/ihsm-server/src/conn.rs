//! One client connection: its thread reads frames and serves fast requests itself; slow ones
//! go to the pool, each answered when done, so several requests can be in flight and
//! responses may come back in another order than the requests (the request id pairs them).
//!
//! Bounds: a frame's length is checked before its body is allocated; a frame must arrive
//! whole within the frame timeout; a connection has at most `max_in_flight` requests in the
//! pool (its reader waits beyond that); only a connection that holds no login and has nothing
//! in flight times out when idle.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ihsm_device::{Device, Reply, Socket};
use ihsm_proto::frame::{parse_prefix, PREFIX_LEN};
use ihsm_proto::{Limits, Opcode, Request, Response, Status};

use crate::server::{log, Shared};

/// How often a blocked read wakes to check timeouts and shutdown.
const TICK: Duration = Duration::from_millis(250);

/// Who is on the other end, from `SO_PEERCRED`.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The peer's user id.
    pub uid: u32,
    /// The peer's process id (0 if unknown).
    pub pid: i32,
}

/// Requests that run on the pool: key generation and PIN hashing (and the partition
/// operations, which do both), so they never hold up a connection's fast requests.
#[must_use]
pub fn is_slow(opcode: Opcode) -> bool {
    matches!(
        opcode,
        Opcode::InitializeAdmin
            | Opcode::RunSelfTests
            | Opcode::Login
            | Opcode::SetPin
            | Opcode::ChangePin
            | Opcode::CreatePartition
            | Opcode::DeletePartition
            | Opcode::ZeroizePartition
            | Opcode::InitializePartition
            | Opcode::ResetPartition
            | Opcode::GenerateKey
            | Opcode::GenerateKeyPair
            | Opcode::GetImportKey
    )
}

/// Gives an in-flight slot back when dropped.
struct Released<'a>(&'a InFlight);

impl Drop for Released<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The requests a connection has in the pool.
#[derive(Default)]
struct InFlight {
    count: Mutex<usize>,
    changed: Condvar,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot below `max`, then takes it.
    fn acquire(&self, max: usize) {
        let mut count = self.lock();
        while *count >= max {
            count = self
                .changed
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *count += 1;
    }

    fn release(&self) {
        let mut count = self.lock();
        *count = count.saturating_sub(1);
        self.changed.notify_all();
    }

    fn is_empty(&self) -> bool {
        *self.lock() == 0
    }

    fn wait_empty(&self) {
        let mut count = self.lock();
        while *count > 0 {
            count = self
                .changed
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

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
    /// A frame began but did not arrive whole within the frame timeout.
    Stalled,
}

/// A connection's frames as its thread sees them: the server's side of the transport. The
/// Unix socket is the one built; the shared-memory queues of DESIGN.md section 4 will be
/// another, and the serving loop (`serve`) will not change.
pub trait Channel: Send + Sync {
    /// Waits up to `tick` for a frame to begin; then reads it whole into `body` (within the
    /// frame timeout), refusing a length over `limits` before allocating anything.
    fn receive(&self, body: &mut Vec<u8>, limits: &Limits, tick: Duration) -> Received;

    /// Sends one whole response frame; false if the peer is gone.
    fn send(&self, frame: &[u8]) -> bool;

    /// Stops reading (the daemon is stopping): the next `receive` returns `Closed`, while
    /// answers to requests already read can still be sent.
    fn close_reading(&self);

    /// Ends the connection both ways (a peer that stopped reading, or the drain deadline).
    fn close(&self);
}

/// A Unix stream socket as a [`Channel`].
pub struct UnixChannel {
    reader: Mutex<UnixStream>,
    writer: Mutex<UnixStream>,
    /// For shutting the socket down without waiting for the reader or a writer.
    control: UnixStream,
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
        let writer = stream.try_clone()?;
        writer.set_write_timeout(Some(send_timeout))?;
        Ok(Self {
            writer: Mutex::new(writer),
            control: stream.try_clone()?,
            reader: Mutex::new(stream),
            frame_timeout,
        })
    }
}

impl Channel for UnixChannel {
    fn receive(&self, body: &mut Vec<u8>, limits: &Limits, tick: Duration) -> Received {
        let mut stream = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
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
        let started = started.unwrap_or_else(Instant::now);
        let Ok(len) = parse_prefix(prefix, limits) else {
            return Received::TooLarge;
        };
        body.clear();
        body.resize(len, 0);
        let mut filled = 0;
        while filled < len {
            match stream.read(body.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => return Received::Closed,
                Ok(n) => filled += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if started.elapsed() > self.frame_timeout {
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
        let mut stream = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = stream.write_all(frame).is_ok();
        if !sent {
            // A partial frame may be on the wire, or the peer stopped reading: the
            // connection cannot go on.
            self.close();
        }
        sent
    }

    fn close_reading(&self) {
        let _ = self.control.shutdown(std::net::Shutdown::Read);
    }

    fn close(&self) {
        let _ = self.control.shutdown(std::net::Shutdown::Both);
    }
}

/// Serves one connection until it closes; runs on the connection's own thread.
pub(crate) fn serve(
    shared: &Arc<Shared>,
    channel: Arc<dyn Channel>,
    socket: Socket,
    id: u64,
    peer: Peer,
) {
    let label = match &socket {
        Socket::Admin => "admin".to_string(),
        Socket::Partition(name) => format!("partition {}", name.as_str()),
    };
    log(&format!(
        "connection {id}: {label}, peer uid {} pid {}",
        peer.uid, peer.pid
    ));
    let conn = match shared.device.connect(socket) {
        Ok(conn) => Arc::new(conn),
        Err(status) => {
            channel.send(&refusal_without_id(status).frame);
            log(&format!("connection {id}: refused ({status})"));
            return;
        }
    };
    shared.register(id, &conn);
    let in_flight = Arc::new(InFlight::default());
    let limits = Limits::default();
    // One buffer for the connection's frames, wiped after each decode.
    let mut body = Vec::new();
    let mut idle_since = Instant::now();
    let reason = loop {
        match channel.receive(&mut body, &limits, TICK) {
            Received::Frame => idle_since = Instant::now(),
            Received::Idle => {
                if shared.is_shutting_down() {
                    break "shutting down";
                }
                if idle_since.elapsed() > shared.config.idle_timeout
                    && !conn.is_authenticated()
                    && in_flight.is_empty()
                {
                    break "idle without a login";
                }
                continue;
            }
            Received::Closed => break "closed",
            Received::Stalled => break "frame not completed in time",
            Received::TooLarge => {
                channel.send(&refusal_without_id(Status::FrameTooLarge).frame);
                break "frame over the limit";
            }
        }
        let decoded = Request::decode(&body);
        ihsm_proto::wipe(&mut body);
        let request = match decoded {
            Ok(request) => request,
            Err(error) => {
                let reply = shared.device.reply(&conn, Err(error));
                if !channel.send(&reply.frame) || reply.close {
                    break "undecodable header";
                }
                continue;
            }
        };
        let opcode = request.opcode();
        if !is_slow(opcode) {
            let reply = shared.device.reply(&conn, Ok(request));
            if !channel.send(&reply.frame) {
                break "peer gone";
            }
            continue;
        }
        let request_id = request.request_id;
        in_flight.acquire(shared.config.max_in_flight);
        let job = {
            let (shared, conn, channel, in_flight) = (
                shared.clone(),
                conn.clone(),
                channel.clone(),
                in_flight.clone(),
            );
            Box::new(move || {
                // Released however the job ends, a panic included, so the connection's
                // thread never waits for it forever.
                let _slot = Released(&in_flight);
                let reply = shared.device.reply(&conn, Ok(request));
                if matches!(
                    opcode,
                    Opcode::CreatePartition | Opcode::DeletePartition | Opcode::ResetPartition
                ) {
                    shared.reconcile_sockets();
                    shared.close_defunct();
                }
                channel.send(&reply.frame);
            })
        };
        if shared.pool.submit(job).is_err() {
            in_flight.release();
            let status = if shared.is_shutting_down() {
                Status::ShuttingDown
            } else {
                Status::Busy
            };
            if !channel.send(&Device::refusal(request_id, status).frame) {
                break "peer gone";
            }
        }
    };
    ihsm_proto::wipe(&mut body);
    // Pool jobs of this connection finish and answer before its logins end.
    in_flight.wait_empty();
    drop(conn);
    log(&format!("connection {id}: ended ({reason})"));
}

fn refusal_without_id(status: Status) -> Reply {
    let frame = Response::error(None, status)
        .encode_frame(&Limits::default())
        .unwrap_or_default();
    Reply { frame, close: true }
}
