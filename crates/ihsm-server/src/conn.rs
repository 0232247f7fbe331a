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

use ihsm_device::{Connection, Device, Reply, Socket};
use ihsm_proto::frame::{parse_prefix, PREFIX_LEN};
use ihsm_proto::{Limits, Opcode, Request, Response, Status};

use crate::server::Shared;

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
            | Opcode::GenerateKey
            | Opcode::GenerateKeyPair
            | Opcode::GetImportKey
    )
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

/// The write half, shared by the connection thread and its pool jobs: one frame at a time.
struct Writer {
    stream: Mutex<UnixStream>,
}

impl Writer {
    /// Sends a reply; false if the peer is gone.
    fn send(&self, reply: &Reply) -> bool {
        if reply.frame.is_empty() {
            return false;
        }
        let mut stream = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        stream.write_all(&reply.frame).is_ok()
    }
}

/// How a frame read ended.
enum Read_ {
    Frame(Vec<u8>),
    /// The peer closed, or the daemon is shutting down between frames.
    Closed,
    /// The prefix announced more than the frame limit.
    TooLarge,
    /// Idle without a login, or a frame that did not arrive in time.
    TimedOut(&'static str),
}

/// Serves one accepted connection until it closes; runs on the connection's own thread.
pub(crate) fn serve(shared: &Arc<Shared>, stream: UnixStream, socket: Socket, id: u64, peer: Peer) {
    let label = match &socket {
        Socket::Admin => "admin".to_string(),
        Socket::Partition(name) => format!("partition {}", name.as_str()),
    };
    shared.log(&format!(
        "connection {id}: {label}, peer uid {} pid {}",
        peer.uid, peer.pid
    ));
    let writer = match stream.try_clone() {
        Ok(clone) => Arc::new(Writer {
            stream: Mutex::new(clone),
        }),
        Err(_) => return,
    };
    let _ = stream.set_read_timeout(Some(TICK));
    let conn = Arc::new(shared.device.connect(socket));
    let in_flight = Arc::new(InFlight::default());
    let mut stream = stream;
    let reason = loop {
        let body = match read_frame(shared, &mut stream, &conn, &in_flight) {
            Read_::Frame(body) => body,
            Read_::Closed => break "closed",
            Read_::TooLarge => {
                let reply = refusal_without_id(Status::FrameTooLarge);
                writer.send(&reply);
                break "frame over the limit";
            }
            Read_::TimedOut(why) => break why,
        };
        let mut body = zeroize::Zeroizing::new(body);
        let decoded = Request::decode(&body);
        ihsm_proto::wipe(&mut body);
        let request = match decoded {
            Ok(request) => request,
            Err(error) => {
                let reply = shared.device.reply(&conn, Err(error));
                let sent = writer.send(&reply);
                if reply.close || !sent {
                    break "undecodable header";
                }
                continue;
            }
        };
        let opcode = request.opcode();
        if !is_slow(opcode) {
            let reply = shared.device.reply(&conn, Ok(request));
            let sent = writer.send(&reply);
            if !sent {
                break "peer gone";
            }
            continue;
        }
        let request_id = request.request_id;
        in_flight.acquire(shared.config.max_in_flight);
        let job = {
            let (shared, conn, writer, in_flight) = (
                shared.clone(),
                conn.clone(),
                writer.clone(),
                in_flight.clone(),
            );
            Box::new(move || {
                let reply = shared.device.reply(&conn, Ok(request));
                if matches!(opcode, Opcode::CreatePartition | Opcode::DeletePartition) {
                    shared.reconcile_sockets();
                }
                writer.send(&reply);
                in_flight.release();
            })
        };
        if shared.pool.submit(job).is_err() {
            in_flight.release();
            let status = if shared.is_shutting_down() {
                Status::ShuttingDown
            } else {
                Status::Busy
            };
            if !writer.send(&Device::refusal(request_id, status)) {
                break "peer gone";
            }
        }
    };
    // Pool jobs of this connection finish and answer before its logins end.
    in_flight.wait_empty();
    drop(conn);
    shared.log(&format!("connection {id}: ended ({reason})"));
}

fn refusal_without_id(status: Status) -> Reply {
    let frame = Response::error(None, status)
        .encode_frame(&Limits::default())
        .unwrap_or_default();
    Reply { frame, close: true }
}

/// Reads one frame, enforcing the limit, the frame timeout and the idle rule.
fn read_frame(
    shared: &Shared,
    stream: &mut UnixStream,
    conn: &Connection,
    in_flight: &InFlight,
) -> Read_ {
    let mut prefix = [0u8; PREFIX_LEN];
    let idle_since = Instant::now();
    let mut got = 0;
    let mut frame_started = None;
    while got < PREFIX_LEN {
        if got == 0 && shared.is_shutting_down() {
            return Read_::Closed;
        }
        match stream.read(prefix.get_mut(got..).unwrap_or_default()) {
            Ok(0) => return Read_::Closed,
            Ok(n) => {
                got += n;
                frame_started.get_or_insert_with(Instant::now);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                match frame_started {
                    Some(started) if started.elapsed() > shared.config.frame_timeout => {
                        return Read_::TimedOut("frame not completed in time")
                    }
                    None if idle_since.elapsed() > shared.config.idle_timeout
                        && !conn.is_authenticated()
                        && in_flight.is_empty() =>
                    {
                        return Read_::TimedOut("idle without a login")
                    }
                    _ => {}
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Read_::Closed,
        }
    }
    let started = frame_started.unwrap_or_else(Instant::now);
    let len = match parse_prefix(prefix, &Limits::default()) {
        Ok(len) => len,
        Err(_) => return Read_::TooLarge,
    };
    let mut body = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match stream.read(body.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => return Read_::Closed,
            Ok(n) => filled += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if started.elapsed() > shared.config.frame_timeout {
                    return Read_::TimedOut("frame not completed in time");
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Read_::Closed,
        }
    }
    Read_::Frame(body)
}
