//! The daemon: start-up (hardening, fuses, engine, store, device), the sockets (one admin,
//! one per partition, kept in step with the device's partitions), the accept loop, and the
//! orderly shutdown on SIGTERM or SIGINT.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::fd::AsFd;
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
use rustix::event::{poll, PollFd, PollFlags};

use crate::conn::{self, Channel, Peer, UnixChannel};
use crate::fuses::{self, SECURITY_VERSION};
use crate::harden;
use crate::pool::Pool;
use crate::state_dir::{Place, SocketId, StateDir, ADMIN_SOCKET, COUNTER, STORE};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The state directory.
    pub state_dir: PathBuf,
    /// An unauthenticated connection with nothing in flight closes after this long idle.
    pub idle_timeout: Duration,
    /// A frame must arrive whole within this long of its first byte.
    pub frame_timeout: Duration,
    /// A response a peer does not read within this long closes its connection, so a client
    /// that stops reading cannot hold a pool thread (or the shutdown).
    pub send_timeout: Duration,
    /// Requests one connection may have in the slow pool at once.
    pub max_in_flight: usize,
    /// Connections open at once; more are closed at accept.
    pub max_connections: usize,
    /// Threads of the slow pool.
    pub pool_threads: usize,
    /// Jobs the slow pool queues before it answers `Busy`.
    pub pool_depth: usize,
    /// How long shutdown waits for connections to finish their in-flight requests.
    pub drain_timeout: Duration,
}

impl ServerConfig {
    /// The defaults for a state directory.
    #[must_use]
    pub fn new(state_dir: PathBuf) -> Self {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        Self {
            state_dir,
            idle_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(10),
            max_in_flight: 16,
            max_connections: 1024,
            pool_threads: threads,
            pool_depth: 256,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// The admin socket's key among the listeners: no partition name is empty.
const ADMIN_KEY: &str = "";

/// What every connection thread shares.
pub(crate) struct Shared {
    pub(crate) device: Device,
    pub(crate) pool: Pool,
    pub(crate) config: ServerConfig,
    dir: Arc<StateDir>,
    shutting_down: AtomicBool,
    listeners: Mutex<BTreeMap<String, Arc<Listener>>>,
    /// The live connections, to stop their reading at exit and to close those whose
    /// partition is gone.
    channels: Mutex<BTreeMap<u64, Live>>,
    active: AtomicUsize,
    next_connection: AtomicU64,
}

impl Shared {
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// A connection has ended: it no longer counts, and shutdown no longer waits for it.
    fn forget(&self, id: u64) {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        self.active.fetch_sub(1, Ordering::AcqRel);
    }

    /// Records the device's connection of connection `id`, so it can be closed when its
    /// partition goes.
    pub(crate) fn register(&self, id: u64, connection: &Arc<Connection>) {
        if let Some(live) = self
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&id)
        {
            live.connection = Some(Arc::downgrade(connection));
        }
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
                .as_ref()
                .and_then(Weak::upgrade)
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

/// A live connection: its channel, and the device's view of it once made.
struct Live {
    channel: Arc<dyn Channel>,
    connection: Option<Weak<Connection>>,
}

/// Forgets a connection when its thread ends.
struct Forget<'a>(&'a Shared, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

/// A listening socket; its file is removed when it is dropped (if it is still the one bound).
struct Listener {
    socket: Socket,
    dir: Arc<StateDir>,
    place: Place,
    name: String,
    id: SocketId,
    listener: UnixListener,
}

impl Listener {
    fn bind(dir: &Arc<StateDir>, place: Place, name: &str, socket: Socket) -> Result<Self, String> {
        let (listener, id) = dir.bind(place, name)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{}: {e}", dir.display(place, name).display()))?;
        Ok(Self {
            socket,
            dir: dir.clone(),
            place,
            name: name.to_string(),
            id,
            listener,
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
    let pool = Pool::new(config.pool_threads, config.pool_depth)
        .map_err(|e| format!("cannot start the pool: {e}"))?;
    let shared = Arc::new(Shared {
        device,
        pool,
        config,
        dir: dir.clone(),
        shutting_down: AtomicBool::new(false),
        listeners: Mutex::new(BTreeMap::new()),
        channels: Mutex::new(BTreeMap::new()),
        active: AtomicUsize::new(0),
        next_connection: AtomicU64::new(1),
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

    accept_loop(&shared, &stop);
    shutdown(&shared);
    Ok(())
}

fn accept_loop(shared: &Arc<Shared>, stop: &AtomicBool) {
    let tick = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
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
        if poll(&mut fds, Some(&tick)).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        drop(fds);
        for (listener, ready) in listeners.iter().zip(ready) {
            if ready {
                accept_all(shared, listener);
            }
        }
    }
}

fn accept_all(shared: &Arc<Shared>, listener: &Listener) {
    while let Ok((stream, _)) = listener.listener.accept() {
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        if shared.active.load(Ordering::Acquire) >= shared.config.max_connections {
            log("connection refused: too many connections");
            continue;
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
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let channel: Arc<dyn Channel> = match UnixChannel::new(
            stream,
            shared.config.frame_timeout,
            shared.config.send_timeout,
        ) {
            Ok(channel) => Arc::new(channel),
            Err(_) => continue,
        };
        shared
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                id,
                Live {
                    channel: channel.clone(),
                    connection: None,
                },
            );
        shared.active.fetch_add(1, Ordering::AcqRel);
        let (thread_shared, socket) = (shared.clone(), listener.socket.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || {
                // Forgotten however the thread ends, a panic included.
                let _forget = Forget(&thread_shared, id);
                conn::serve(&thread_shared, channel, socket, id, peer);
            });
        if spawned.is_err() {
            shared.forget(id);
            log("connection refused: no thread for it");
        }
    }
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
            "locked arena at exit: {} KiB in use, peak {} KiB of {} KiB; {} allocations found it full, {} were over 16 KiB",
            arena.in_use >> 10,
            arena.peak >> 10,
            arena.capacity >> 10,
            arena.overflowed,
            arena.oversized
        ));
    }
    log("stopped");
}
