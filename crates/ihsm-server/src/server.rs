//! The daemon: start-up (hardening, fuses, engine, store, device), the sockets (one admin,
//! one per partition, kept in step with the device's partitions), the accept loop, and the
//! orderly shutdown on SIGTERM or SIGINT.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use ihsm_crypto::Engine;
use ihsm_device::{Connection, Device, DeviceConfig, Platform, Socket, SystemClock};
use ihsm_proto::layout;
use ihsm_store::{
    ChainSecret, OpenOptions, Record, SealedStore, Store, StoreError, StoreFiles,
    Write as StoreWrite,
};

use crate::accept;
use crate::channel::Channel;
use crate::fuses::{self, SECURITY_VERSION};
use crate::harden;
use crate::pool::{Pool, PoolLimits};
use crate::state_dir::{Place, SocketId, StateDir, ADMIN_SOCKET, COUNTER, STORE};
use crate::tenants::{FrameBudget, Turns};
use crate::threads::Threads;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The state directory.
    pub state_dir: PathBuf,
    /// A connection that holds no login (and has nothing in flight) closes once it has been
    /// without one this long, whatever it sends meanwhile.
    pub idle_timeout: Duration,
    /// A frame must arrive whole within this long of its first byte.
    pub frame_timeout: Duration,
    /// A response a peer does not read within this long closes its connection, so a client
    /// that stops reading cannot hold a pool thread (or the shutdown).
    pub send_timeout: Duration,
    /// Requests one connection may have in the slow pool at once.
    pub max_in_flight: usize,
    /// Connections to partition sockets open at once, all partitions together (each is
    /// also held to its own quota). Lowered at start to what the descriptor limit allows
    /// beside the admin's reserve.
    pub max_connections: usize,
    /// Connections to the admin socket open at once, kept apart from the partitions': the
    /// admin can always connect, however many connections the partitions hold.
    pub max_admin_connections: usize,
    /// The slow pool, shared fairly between tenants.
    pub pool: PoolLimits,
    /// Fast requests one tenant runs at once on connection threads.
    pub turns_per_tenant: usize,
    /// Bytes of frames being received and of large replies being sent, all connections
    /// together.
    pub frame_memory: usize,
    /// Bytes of frames being received and of large replies being sent by one tenant's
    /// connections.
    pub frame_memory_per_tenant: usize,
    /// How long shutdown waits for connections to finish their in-flight requests.
    pub drain_timeout: Duration,
}

impl ServerConfig {
    /// The defaults for a state directory.
    #[must_use]
    pub fn new(state_dir: PathBuf) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(1));
        Self {
            state_dir,
            idle_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(10),
            max_in_flight: 16,
            max_connections: 16_384,
            max_admin_connections: 64,
            pool: PoolLimits {
                min_workers: cores.max(2),
                max_workers: 64,
                per_tenant: cores.max(2),
                depth_per_tenant: 64,
            },
            turns_per_tenant: cores.max(2),
            frame_memory: 256 << 20,
            frame_memory_per_tenant: 64 << 20,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// The admin socket's key among the listeners (the admin's tenant key).
const ADMIN_KEY: &str = crate::pool::ADMIN_TENANT;

/// What every connection thread shares.
pub(crate) struct Shared {
    pub(crate) device: Device,
    pub(crate) pool: Pool,
    pub(crate) config: ServerConfig,
    /// The memory of frames being received and replies being sent, divided per tenant.
    pub(crate) frames: Arc<FrameBudget>,
    /// Fast requests running at once, per tenant.
    pub(crate) turns: Turns,
    dir: Arc<StateDir>,
    shutting_down: AtomicBool,
    pub(crate) listeners: Mutex<BTreeMap<String, Arc<Listener>>>,
    /// The live connections, to stop their reading at exit and to close those whose
    /// partition is gone.
    pub(crate) channels: Mutex<BTreeMap<u64, Live>>,
    /// Connections to partition sockets now.
    pub(crate) active: AtomicUsize,
    /// Connections to the admin socket now.
    pub(crate) admin_active: AtomicUsize,
    pub(crate) next_connection: AtomicU64,
    /// The connections' threads.
    pub(crate) threads: Arc<Threads>,
}

impl Shared {
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// A connection has ended: it no longer counts, and shutdown no longer waits for it.
    pub(crate) fn forget(&self, id: u64) {
        let live = self
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        match live {
            Some(live) if live.admin => self.admin_active.fetch_sub(1, Ordering::AcqRel),
            Some(_) => self.active.fetch_sub(1, Ordering::AcqRel),
            None => 0,
        };
    }

    /// Closes every connection whose partition was deleted or reset: none of them may
    /// reach anything any more, and no request of theirs waits for an answer.
    pub(crate) fn close_defunct(&self) {
        for live in self
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            let defunct = live
                .connection
                .upgrade()
                .is_some_and(|connection| connection.is_defunct());
            if defunct {
                live.channel.close();
            }
        }
    }

    /// Makes the partition sockets match the device's partitions: a socket for each new one,
    /// none for a deleted one. Called after partitions change, before the reply is sent, so a
    /// client that created a partition can connect to it at once.
    pub(crate) fn reconcile_sockets(&self) {
        if self.is_shutting_down() {
            return;
        }
        let names = self.device.partition_names();
        let mut listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        listeners.retain(|key, listener| {
            let keep = key == ADMIN_KEY || names.iter().any(|n| n.as_str() == key);
            if !keep {
                // Its file goes now, not when the accept loop lets go of the listener: a
                // partition made again at once under the same name binds a new socket.
                listener.remove_file();
            }
            keep
        });
        for name in names {
            if listeners.contains_key(name.as_str()) {
                continue;
            }
            let file = layout::partition_socket_name(&name);
            let socket = Socket::Partition(name.clone());
            match Listener::bind(&self.dir, Place::Partitions, &file, socket) {
                Ok(listener) => {
                    listeners.insert(name.as_str().to_string(), Arc::new(listener));
                }
                Err(e) => log(&format!("partition {}: no socket: {e}", name.as_str())),
            }
        }
    }
}

/// A live connection: its channel, and the device's view of it.
pub(crate) struct Live {
    pub(crate) channel: Arc<dyn Channel>,
    pub(crate) connection: Weak<Connection>,
    pub(crate) admin: bool,
}

/// A listening socket; its file is removed when it is dropped (if it is still the one bound).
pub(crate) struct Listener {
    pub(crate) socket: Socket,
    dir: Arc<StateDir>,
    place: Place,
    name: String,
    id: SocketId,
    pub(crate) listener: UnixListener,
    /// A partition socket's allowance of new connections (the admin's has none).
    pub(crate) rate: Option<Mutex<accept::Rate>>,
}

impl Listener {
    fn bind(dir: &Arc<StateDir>, place: Place, name: &str, socket: Socket) -> Result<Self, String> {
        let (listener, id) = dir.bind(place, name)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{}: {e}", dir.display(place, name).display()))?;
        let rate = (socket != Socket::Admin).then(|| Mutex::new(accept::Rate::new(Instant::now())));
        Ok(Self {
            socket,
            dir: dir.clone(),
            place,
            name: name.to_string(),
            id,
            listener,
            rate,
        })
    }
}

impl Listener {
    /// Removes the socket's file, if it is still the one this listener bound.
    fn remove_file(&self) {
        self.dir.remove_socket(self.place, &self.name, self.id);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.remove_file();
    }
}

/// A store that did not open: the device powers on into its error state with the cause, and
/// the daemon still answers `GetStatus` so the operator can see why.
struct FailedStore(StoreError);

impl Store for FailedStore {
    fn load(&self) -> Result<Vec<Record>, StoreError> {
        Err(self.0)
    }
    fn commit(&self, _: Vec<StoreWrite>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable)
    }
    fn increment(&self, _: &ihsm_store::RecordKey) -> Result<u32, StoreError> {
        Err(StoreError::Unavailable)
    }
}

/// One line to the daemon's log (standard error). Never a secret.
pub fn log(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "ihsmd: {line}");
}

/// A line about one connection (made, ended), at most [`CHATTER_PER_SECOND`] a second: a
/// flood of connections once wrote 32 MB of them a minute. Lines over the rate are left
/// out, and how many is said before the next line written.
pub(crate) fn log_connection(line: &str) {
    static CHATTER: Mutex<Option<Chatter>> = Mutex::new(None);
    let mut chatter = CHATTER.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    match chatter.get_or_insert_with(|| Chatter::new(now)).admit(now) {
        Some(0) => log(line),
        Some(left_out) => {
            log(&format!("({left_out} lines about connections left out)"));
            log(line);
        }
        None => {}
    }
}

/// Connection lines a second, at most.
const CHATTER_PER_SECOND: u32 = 50;

/// The rate of connection lines: so many a second, the rest counted.
struct Chatter {
    second: Instant,
    written: u32,
    left_out: u64,
}

impl Chatter {
    fn new(now: Instant) -> Self {
        Chatter {
            second: now,
            written: 0,
            left_out: 0,
        }
    }

    /// `Some(lines left out before this one)` if a line may be written now, `None` if not.
    fn admit(&mut self, now: Instant) -> Option<u64> {
        if now.saturating_duration_since(self.second) >= Duration::from_secs(1) {
            self.second = now;
            self.written = 0;
        }
        if self.written >= CHATTER_PER_SECOND {
            self.left_out += 1;
            return None;
        }
        self.written += 1;
        Some(std::mem::take(&mut self.left_out))
    }
}

/// Runs the daemon in the foreground until SIGTERM or SIGINT. Returns an error (for a
/// non-zero exit) only if it could not start serving.
pub fn run(config: ServerConfig) -> Result<(), String> {
    let hardening = harden::apply();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    // The umask (077) is set: everything made from here on is the daemon's alone.
    let dir = Arc::new(StateDir::open(&config.state_dir)?);
    if dir.is_served(Place::Root, ADMIN_SOCKET) {
        return Err(format!(
            "another ihsmd already serves {} ({})",
            dir.path().display(),
            dir.display(Place::Root, ADMIN_SOCKET).display()
        ));
    }

    let engine = Engine::power_on();
    let store_exists = dir
        .open_file(STORE, false)?
        .is_some_and(|file| file.metadata().is_ok_and(|m| m.len() > 0));
    let fuse_file = fuses::load_or_create(&dir, &engine, store_exists)?;
    if fuse_file.created {
        log(&format!(
            "new development device: fuses made in {}",
            dir.display(Place::Root, crate::state_dir::FUSES).display()
        ));
    }
    let store_files = StoreFiles {
        database: dir
            .open_file(STORE, true)?
            .ok_or("the store file vanished")?,
        counter: dir
            .open_file(COUNTER, true)?
            .ok_or("the counter file vanished")?,
        directory: dir.directory()?,
        database_name: dir.display(Place::Root, STORE).display().to_string(),
        counter_name: dir.display(Place::Root, COUNTER).display().to_string(),
    };
    let store: Arc<dyn Store> = match ChainSecret::from_device_secret(
        &engine,
        fuse_file.device_secret.expose(),
        SECURITY_VERSION,
    )
    .map_err(|e| ihsm_store::OpenError {
        kind: e,
        detail: "the storage chain could not be derived".into(),
    })
    .and_then(|chain| SealedStore::open(&engine, &chain, &OpenOptions::new(store_files)))
    {
        Ok(store) => Arc::new(store),
        Err(e) if e.kind == StoreError::InUse => return Err(format!("the store {e}")),
        Err(e) => {
            log(&format!("the store was refused: {e}; serving status only"));
            Arc::new(FailedStore(e.kind))
        }
    };
    let device = Device::power_on_with_engine(
        engine,
        Platform {
            clock: Arc::new(SystemClock::new()),
            fuses: Arc::new(fuse_file.fuses),
            store,
        },
        DeviceConfig::default(),
    );
    let warm = {
        let device = device.clone();
        Arc::new(move || device.warm_thread(None))
    };
    let pool = Pool::new(config.pool, warm).map_err(|e| format!("cannot start the pool: {e}"))?;
    let mut config = config;
    // Every partition connection holds one descriptor; the admin's reserve and the
    // daemon's own files come off the top, so partitions never take the admin's room.
    let reserve = config.max_admin_connections + 64;
    config.max_connections = config
        .max_connections
        .min(hardening.open_files.saturating_sub(reserve).max(1));
    log(&format!(
        "limits: {} open files; {} partition connections at once, {} admin; slow pool {}-{} threads, {} per tenant; frames in flight {} MiB, {} MiB per tenant",
        hardening.open_files,
        config.max_connections,
        config.max_admin_connections,
        config.pool.min_workers,
        config.pool.max_workers,
        config.pool.per_tenant,
        config.frame_memory >> 20,
        config.frame_memory_per_tenant >> 20,
    ));
    let shared = Arc::new(Shared {
        device,
        pool,
        frames: Arc::new(FrameBudget::new(
            config.frame_memory,
            config.frame_memory_per_tenant,
        )),
        turns: Turns::new(config.turns_per_tenant),
        config,
        dir: dir.clone(),
        shutting_down: AtomicBool::new(false),
        listeners: Mutex::new(BTreeMap::new()),
        channels: Mutex::new(BTreeMap::new()),
        active: AtomicUsize::new(0),
        admin_active: AtomicUsize::new(0),
        next_connection: AtomicU64::new(1),
        threads: Arc::default(),
    });
    let admin = Listener::bind(&dir, Place::Root, ADMIN_SOCKET, Socket::Admin)?;
    shared
        .listeners
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(ADMIN_KEY.into(), Arc::new(admin));
    shared.reconcile_sockets();

    let state = shared.device.state();
    log(&format!(
        "hardening: core dumps {}, dumpable {}",
        if hardening.no_core_dumps {
            "off"
        } else {
            "ON (setrlimit failed)"
        },
        if hardening.not_dumpable {
            "off"
        } else {
            "ON (prctl failed)"
        },
    ));
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "ihsmd {}: ready, admin socket {} (state {:?})",
            env!("CARGO_PKG_VERSION"),
            dir.display(Place::Root, ADMIN_SOCKET).display(),
            state
        );
        let _ = out.flush();
    }

    accept::accept_loop(&shared, &stop);
    shutdown(&shared);
    Ok(())
}

/// Stops accepting (the socket files go), stops every connection's reading, lets in-flight
/// requests finish and answer, then stops the pool. Every change was durable when it was
/// answered, so nothing is left to flush but the database handle, closed as it drops.
fn shutdown(shared: &Arc<Shared>) {
    log("shutting down: no new connections or requests");
    shared.shutting_down.store(true, Ordering::Release);
    shared
        .listeners
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    for live in shared
        .channels
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
    {
        live.channel.close_reading();
    }
    let deadline = Instant::now() + shared.config.drain_timeout;
    while shared.active.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = shared.active.load(Ordering::Acquire);
    if left > 0 {
        log(&format!(
            "{left} connections still busy at the drain deadline: closing them"
        ));
        for live in shared
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            live.channel.close();
        }
    }
    shared.pool.shutdown();
    if let Some(arena) = ihsm_crypto::arena::stats() {
        log(&format!(
            "locked arena at exit: {} KiB in use, peak {} KiB of {} KiB; {} allocations refused (full), {} bulk buffers over 16 KiB on the heap",
            arena.in_use >> 10,
            arena.peak >> 10,
            arena.capacity >> 10,
            arena.refused,
            arena.oversized
        ));
    }
    log("stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_lines_over_the_rate_are_left_out_and_counted() {
        let start = Instant::now();
        let mut chatter = Chatter::new(start);
        for _ in 0..CHATTER_PER_SECOND {
            assert_eq!(chatter.admit(start), Some(0));
        }
        for _ in 0..1000 {
            assert_eq!(chatter.admit(start + Duration::from_millis(500)), None);
        }
        let next = start + Duration::from_secs(1);
        assert_eq!(chatter.admit(next), Some(1000), "said before the next line");
        assert_eq!(chatter.admit(next), Some(0));
    }
}
