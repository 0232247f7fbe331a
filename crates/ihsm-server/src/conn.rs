//! One client connection: its thread reads frames and serves fast requests itself; slow ones
//! go to the pool, each answered when done, so several requests can be in flight and
//! responses may come back in another order than the requests (the request id pairs them).
//!
//! Bounds: a frame's length is checked before any memory is taken for it, and its buffer
//! grows as its bytes arrive, within the tenant's share of the frame budget (as a request's
//! reply is: room for the largest before it is served, else `Busy` unserved, and a reply
//! over 4 KiB's own bytes while it is sent); a frame must
//! arrive whole within the frame timeout; a connection has at most `max_in_flight` requests
//! in the pool (its reader waits beyond that), and its queued ones are dropped, unanswered,
//! when it closes; its tenant runs at most so many fast requests at once; a connection that
//! holds no login (and has nothing in flight) closes once it has been without one for the
//! idle timeout, whatever it sends meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ihsm_device::{Connection, Device, Reply, Socket};
use ihsm_proto::{Limits, Opcode, Request, Response, Status};

pub use crate::channel::{Channel, FrameBuffer, Received, UnixChannel};
use crate::server::{log_connection, Shared};
use crate::tenants::FrameBudget;

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

/// Serves one connection until it closes; runs on the connection's own thread.
pub(crate) fn serve(
    shared: &Arc<Shared>,
    channel: Arc<dyn Channel>,
    conn: Arc<Connection>,
    id: u64,
    peer: Peer,
) {
    let label = match conn.socket() {
        Socket::Admin => "admin".to_string(),
        Socket::Partition(name) => format!("partition {}", name.as_str()),
    };
    log_connection(&format!(
        "connection {id}: {label}, peer uid {} pid {}",
        peer.uid, peer.pid
    ));
    shared.device.warm_thread(Some(&conn));
    let tenant = match conn.socket() {
        Socket::Admin => crate::pool::ADMIN_TENANT.to_string(),
        Socket::Partition(name) => name.as_str().to_string(),
    };
    let in_flight = Arc::new(InFlight::default());
    // Set when the connection ends: its jobs still queued are dropped, not run.
    let closed = Arc::new(AtomicBool::new(false));
    let limits = Limits::default();
    // One buffer for the connection's frames, wiped after each decode.
    let mut body = FrameBuffer::new(shared.frames.clone(), &tenant);
    // Since when the connection holds no login: a connection may stay without one for the
    // idle timeout, however many frames it sends meanwhile (so a client pinging `GetStatus`
    // cannot hold a connection it never logs in on).
    let mut without_login_since = Some(Instant::now());
    let reason = loop {
        if conn.is_authenticated() {
            without_login_since = None;
        } else {
            let since = *without_login_since.get_or_insert_with(Instant::now);
            if since.elapsed() > shared.config.idle_timeout && in_flight.is_empty() {
                break "no login within the idle timeout";
            }
        }
        match channel.receive(&mut body, &limits, TICK) {
            Received::Frame => {}
            Received::Idle => {
                if shared.is_shutting_down() {
                    break "shutting down";
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
        let decoded = Request::decode(body.body());
        // The decoded request holds as much as its frame did: counted until it is served.
        let held = body.finish_held();
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
        let request_id = request.request_id;
        if !is_slow(opcode) {
            let sent = match ReplyRoom::take(&shared.frames, &tenant) {
                Some(room) => {
                    let reply = {
                        let _turn = shared.turns.take(&tenant);
                        shared.device.reply(&conn, Ok(request))
                    };
                    drop(held);
                    room.send(&*channel, &reply)
                }
                None => channel.send(&Device::refusal(request_id, Status::Busy).frame),
            };
            if !sent {
                break "peer gone";
            }
            continue;
        }
        in_flight.acquire(shared.config.max_in_flight);
        let job = {
            let (shared, conn, channel, in_flight, closed, tenant) = (
                shared.clone(),
                conn.clone(),
                channel.clone(),
                in_flight.clone(),
                closed.clone(),
                tenant.clone(),
            );
            Box::new(move || {
                // Released however the job ends, a panic included, so the connection's
                // thread never waits for it forever.
                let _slot = Released(&in_flight);
                // Counted until the job ends, or is dropped unrun.
                let _held = held;
                if closed.load(Ordering::Acquire) {
                    // No one is waiting for the answer: a flood's backlog ends with it.
                    return;
                }
                let Some(room) = ReplyRoom::take(&shared.frames, &tenant) else {
                    channel.send(&Device::refusal(request_id, Status::Busy).frame);
                    return;
                };
                let reply = shared.device.reply(&conn, Ok(request));
                if matches!(
                    opcode,
                    Opcode::CreatePartition | Opcode::DeletePartition | Opcode::ResetPartition
                ) {
                    shared.reconcile_sockets();
                    shared.close_defunct();
                }
                room.send(&*channel, &reply);
            })
        };
        if shared.pool.submit(&tenant, job).is_err() {
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
    body.finish();
    // A job already running finishes before the connection's logins end. Queued ones are
    // dropped unrun when the peer is gone; when the daemon is stopping they still answer.
    if !shared.is_shutting_down() {
        closed.store(true, Ordering::Release);
    }
    in_flight.wait_empty();
    drop(conn);
    log_connection(&format!("connection {id}: ended ({reason})"));
}

/// Replies this large are sent without counting: a connection holds at most one reply
/// being sent by its own thread and one per request it has in the pool.
const UNCOUNTED_REPLY: usize = 4096;
/// How long a request waits for room for its reply before it is answered `Busy`, unserved.
const REPLY_ROOM_WAIT: Duration = Duration::from_secs(1);

/// Room in the tenant's share of the frame budget for one request's reply: the largest
/// frame, taken before the request is served (so a request that finds none is answered
/// `Busy` without being served, and may be sent again), then only the reply's own bytes
/// while it is being sent (a peer that does not read holds them until the send timeout).
/// Without it, a tenant's connections asking for a megabyte of random bytes each and
/// never reading it held a megabyte of the daemon's memory each (120 of them took it from
/// 16 to 159 MB).
struct ReplyRoom<'a> {
    frames: &'a FrameBudget,
    tenant: &'a str,
    held: usize,
}

impl<'a> ReplyRoom<'a> {
    fn take(frames: &'a FrameBudget, tenant: &'a str) -> Option<Self> {
        // The largest frame, with its length prefix.
        let largest = ihsm_proto::DEFAULT_MAX_FRAME_LEN as usize + 4;
        // Built only once the room is taken: its drop gives the room back.
        frames
            .take(tenant, largest, Instant::now() + REPLY_ROOM_WAIT)
            .then(|| ReplyRoom {
                frames,
                tenant,
                held: largest,
            })
    }

    /// Sends `reply`, holding room for its bytes (none for a small one) until it is sent.
    fn send(mut self, channel: &dyn Channel, reply: &Reply) -> bool {
        let len = reply.frame.len();
        let keep = if len > UNCOUNTED_REPLY {
            len.min(self.held)
        } else {
            0
        };
        self.frames.give(self.tenant, self.held - keep);
        self.held = keep;
        channel.send(&reply.frame)
    }
}

impl Drop for ReplyRoom<'_> {
    fn drop(&mut self) {
        self.frames.give(self.tenant, self.held);
    }
}

fn refusal_without_id(status: Status) -> Reply {
    let frame = Response::error(None, status)
        .encode_frame(&Limits::default())
        .unwrap_or_default();
    Reply { frame, close: true }
}
