//! The device: power-on, the lifecycle (self-tests, operational, latched error), the gate
//! every request passes (state, socket, session, role) and the dispatch to the commands.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use ihsm_crypto::{EcPrivateKey, Engine, EngineState, Error as CryptoError, HashAlg};
use ihsm_proto::{
    DeviceState, Handle, Limits, LoginId, Opcode, PartitionName, Request, RequestError, RequestId,
    Response, Role, Status,
};
use zeroize::Zeroizing;

use crate::cmd;
use crate::config::DeviceConfig;
use crate::connection::{Connection, Socket};
use crate::fault::{Fault, HardError, Outcome};
use crate::object::{Key, Object};
use crate::partition::Partition;
use crate::platform::Platform;
use crate::realm::{Realm, RealmLimits};
use crate::roles::{access, Caller};
use crate::session::Session;
use crate::store::StoreError;

/// The device core. Cheap to clone; every clone is the same device. `Send + Sync`: the
/// daemon calls [`Device::handle_frame`] from many threads at once.
#[derive(Clone)]
pub struct Device {
    shared: Arc<Shared>,
}

/// A response frame, and whether the connection must close after it is sent.
pub struct Reply {
    /// The complete frame: length prefix and body. Zeroized on drop.
    pub frame: Zeroizing<Vec<u8>>,
    /// True after a request whose header could not be read (protocol section 5).
    pub close: bool,
}

impl Drop for Reply {
    fn drop(&mut self) {
        ihsm_proto::wipe(&mut self.frame);
    }
}

pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) platform: Platform,
    pub(crate) config: DeviceConfig,
    hard_error: Mutex<Option<HardError>>,
    pub(crate) device_keys: RwLock<Option<Arc<DeviceKeys>>>,
    pub(crate) admin: Realm,
    pub(crate) initialized: AtomicBool,
    /// Claimed by the one `InitializeAdmin` in progress.
    pub(crate) initializing: AtomicBool,
    pub(crate) partitions: RwLock<BTreeMap<PartitionName, Arc<Partition>>>,
    /// Names of partitions being created, claimed so two creations cannot race.
    pub(crate) pending_partitions: Mutex<BTreeSet<PartitionName>>,
    /// Partition names deleted, with the reset count a partition made again under the name
    /// starts from.
    pub(crate) gone: Mutex<BTreeMap<PartitionName, u32>>,
    next_connection: AtomicU64,
}

/// The admin socket's keys, derived from the device secret.
pub(crate) struct DeviceKeys {
    pub(crate) attestation: EcPrivateKey,
    pub(crate) credential: EcPrivateKey,
}

/// What a command handler gets: the device, the connection, and what the gate resolved.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) conn: &'a Connection,
    pub(crate) opcode: Opcode,
    pub(crate) partition: Option<Arc<Partition>>,
    pub(crate) session: Option<Arc<Session>>,
}

impl Device {
    /// Powers a device on: the engine's self-tests, then the device keys from the fuses,
    /// then the persisted state from the store. A failure of any of these latches the error
    /// state (visible through `GetStatus`); the device is returned either way.
    #[must_use]
    pub fn power_on(platform: Platform, config: DeviceConfig) -> Self {
        Self::start(Engine::power_on(), platform, config)
    }

    /// Powers a device on with an engine the caller already powered on (the daemon shares
    /// one engine between the store and the device, so the self-tests run once).
    #[must_use]
    pub fn power_on_with_engine(engine: Engine, platform: Platform, config: DeviceConfig) -> Self {
        Self::start(engine, platform, config)
    }

    /// Powers on with test hooks (forced self-test or pairwise-test failures).
    #[cfg(feature = "test-hooks")]
    #[must_use]
    pub fn power_on_with_hooks(
        platform: Platform,
        config: DeviceConfig,
        hooks: ihsm_crypto::TestHooks,
    ) -> Self {
        Self::start(Engine::power_on_with_hooks(hooks), platform, config)
    }

    fn start(engine: Engine, platform: Platform, config: DeviceConfig) -> Self {
        let shared = Arc::new(Shared {
            engine,
            platform,
            config,
            hard_error: Mutex::new(None),
            device_keys: RwLock::new(None),
            admin: Realm::new(),
            initialized: AtomicBool::new(false),
            initializing: AtomicBool::new(false),
            partitions: RwLock::new(BTreeMap::new()),
            pending_partitions: Mutex::new(BTreeSet::new()),
            gone: Mutex::new(BTreeMap::new()),
            next_connection: AtomicU64::new(1),
        });
        let started = match shared.engine.state() {
            EngineState::Operational => shared.derive_device_keys().and_then(|()| shared.load()),
            _ => Err(Fault::Hard(HardError::SelfTest)),
        };
        if let Err(fault) = started {
            shared.latch(match fault {
                Fault::Hard(error) => error,
                Fault::Status(_) => HardError::Integrity,
            });
        }
        Self { shared }
    }

    /// A new connection through `socket`, bound to the partition of that name as it is now
    /// (see [`Connection`]). `ConnectionLimit` if the partition has its maximum number of
    /// connections.
    pub fn connect(&self, socket: Socket) -> Result<Connection, Status> {
        let partition = match &socket {
            Socket::Admin => None,
            Socket::Partition(name) => self.shared.partition(name).ok(),
        };
        if let Some(partition) = &partition {
            partition.add_connection()?;
        }
        let id = self.shared.next_connection.fetch_add(1, Ordering::Relaxed);
        Ok(Connection::new(
            id,
            socket,
            partition,
            Arc::downgrade(&self.shared),
        ))
    }

    /// Serves one frame body (the bytes after the length prefix) from `conn`.
    #[must_use]
    pub fn handle_frame(&self, conn: &Connection, body: &[u8]) -> Reply {
        self.reply(conn, Request::decode(body))
    }

    /// Serves a request the daemon decoded itself (to route it by opcode before serving),
    /// or answers the decoding error. `handle_frame` is `decode` then this.
    #[must_use]
    pub fn reply(&self, conn: &Connection, decoded: Result<Request, RequestError>) -> Reply {
        let (response, close) = match decoded {
            Ok(request) => (self.handle(conn, request), false),
            Err(error) => (error.response(), error.closes_connection()),
        };
        // A connection whose partition is gone has nothing more to be served.
        Self::frame(&response, close || conn.is_defunct())
    }

    /// A reply refusing a request the device did not serve (the daemon is busy or shutting
    /// down): `status` under the request's id.
    #[must_use]
    pub fn refusal(request_id: RequestId, status: Status) -> Reply {
        Self::frame(&Response::error(Some(request_id), status), false)
    }

    /// Readies the calling thread to serve `conn`: the random generator state AWS-LC keeps
    /// per thread is made now, charged to the connection's partition (or the device), so a
    /// request never finds the locked arena without room for it. (AWS-LC stops the process
    /// if it cannot allocate that state.) The daemon calls it first on every thread it
    /// starts for a connection, and, with `None`, on each slow-pool thread.
    pub fn warm_thread(&self, conn: Option<&Connection>) {
        let account = conn
            .and_then(|conn| conn.partition.as_ref())
            .map_or(ihsm_crypto::arena::DEVICE, |partition| partition.account);
        let _charge = ihsm_crypto::arena::charge_to(account);
        let mut byte = [0u8; 1];
        let _ = self.shared.engine.random(&mut byte);
    }

    /// The names of the partitions, for the daemon to keep one socket per partition.
    #[must_use]
    pub fn partition_names(&self) -> Vec<PartitionName> {
        self.shared
            .partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    fn frame(response: &Response, close: bool) -> Reply {
        let limits = Limits::default();
        let frame = response.encode_frame(&limits).or_else(|_| {
            // Only a body over the frame limit fails to encode; the request then fails.
            Response::error(response.request_id, Status::DataLenRange).encode_frame(&limits)
        });
        match frame {
            Ok(frame) => Reply { frame, close },
            // An error response always encodes; were it ever not to, the connection closes
            // rather than carry a frame without its length.
            Err(_) => Reply {
                frame: Zeroizing::new(Vec::new()),
                close: true,
            },
        }
    }

    /// Serves one decoded request from `conn`. Tests and the daemon alike reach the device
    /// through [`Device::handle_frame`]; this is the step after decoding.
    #[must_use]
    pub fn handle(&self, conn: &Connection, request: Request) -> Response {
        let id = request.request_id;
        match self.shared.serve(conn, request) {
            Ok(served) => Response::ok(id, served.approved, served.body),
            Err(Fault::Status(status)) => Response::error(Some(id), status),
            Err(Fault::Hard(error)) => {
                self.shared.latch(error);
                Response::error(Some(id), Status::ErrorState)
            }
        }
    }

    /// Replaces the engine's test hooks, to force a failure in a running device.
    #[cfg(feature = "test-hooks")]
    pub fn replace_test_hooks(&self, hooks: ihsm_crypto::TestHooks) {
        self.shared.engine.replace_test_hooks(hooks);
    }

    /// Runs every self-test again (on demand or periodically). While they run, requests get
    /// `SelfTestsRunning`; a failure latches the error state.
    pub fn run_self_tests(&self) -> Result<(), HardError> {
        match self.shared.engine.run_self_tests() {
            Ok(()) => Ok(()),
            Err(_) => {
                self.shared.latch(HardError::SelfTest);
                Err(HardError::SelfTest)
            }
        }
    }

    /// The lifecycle state.
    #[must_use]
    pub fn state(&self) -> DeviceState {
        self.shared.state()
    }

    /// The hard error latched, if any.
    #[must_use]
    pub fn hard_error(&self) -> Option<HardError> {
        *self.shared.hard_error()
    }

    /// How many logins and sessions are open in a partition (`None`: the admin realm), for
    /// tests and monitoring.
    #[must_use]
    pub fn open_counts(&self, partition: Option<&PartitionName>) -> Option<(usize, usize)> {
        match partition {
            None => Some(self.shared.admin.counts()),
            Some(name) => self.shared.partition(name).ok().map(|p| p.realm.counts()),
        }
    }

    /// How many objects (token and session) a partition holds in memory.
    #[must_use]
    pub fn object_count(&self, partition: &PartitionName) -> Option<usize> {
        let partition = self.shared.partition(partition).ok()?;
        let count = partition.read().objects.len();
        Some(count)
    }
}

impl Shared {
    fn hard_error(&self) -> MutexGuard<'_, Option<HardError>> {
        self.hard_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The hard error latched, if any.
    pub(crate) fn latched(&self) -> Option<HardError> {
        *self.hard_error()
    }

    pub(crate) fn state(&self) -> DeviceState {
        if self.hard_error().is_some() {
            return DeviceState::Error;
        }
        match self.engine.state() {
            EngineState::SelfTesting => DeviceState::SelfTesting,
            EngineState::Operational => DeviceState::Operational,
            EngineState::Error => DeviceState::Error,
        }
    }

    /// Latches the error state: the engine refuses every service, and every secret the device
    /// holds in memory is dropped (each zeroizes on drop): device keys, partition keys,
    /// objects, sessions and their operations, PIN verifiers. The store keeps its sealed
    /// records; a restart whose self-tests pass reloads them.
    pub(crate) fn latch(&self, error: HardError) {
        self.hard_error().get_or_insert(error);
        self.engine.enter_error_state();
        *self
            .device_keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let partitions = core::mem::take(
            &mut *self
                .partitions
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for partition in partitions.values() {
            drop(partition.realm.end_all());
            for role in [Role::CryptoOfficer, Role::CryptoUser] {
                partition.realm.credential(role).set_verifier(None);
            }
            partition.clear_objects();
        }
        drop(self.admin.end_all());
        self.admin.credential(Role::Admin).set_verifier(None);
    }

    pub(crate) fn partition(&self, name: &PartitionName) -> Result<Arc<Partition>, Fault> {
        self.partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or(Fault::Status(Status::PartitionNotFound))
    }

    pub(crate) fn device_keys(&self) -> Result<Arc<DeviceKeys>, Fault> {
        self.device_keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(Fault::Status(Status::ErrorState))
    }

    pub(crate) fn admin_limits(&self) -> RealmLimits {
        RealmLimits {
            max_logins: self.config.max_admin_logins,
            max_sessions: self.config.max_admin_sessions,
        }
    }

    /// A random 64-bit identifier, never 0.
    pub(crate) fn random_id(&self) -> Result<u64, Fault> {
        loop {
            let mut bytes = [0; 8];
            let _ = self.engine.random(&mut bytes)?;
            let id = u64::from_be_bytes(bytes);
            if id != 0 {
                return Ok(id);
            }
        }
    }

    fn derive_device_keys(&self) -> Result<(), Fault> {
        let uds = self.platform.fuses.device_secret();
        let derive = |label: &[u8]| -> Result<EcPrivateKey, Fault> {
            // A 48-byte string is a valid P-384 scalar unless it is 0 or at least the group
            // order (a chance near 2^-190); the counter tries again in that case.
            for counter in 0u8..8 {
                let scalar = self
                    .engine
                    .kbkdf_counter_hmac(HashAlg::Sha384, uds, label, &[counter], 48)?
                    .value;
                match self
                    .engine
                    .ec_private_key_from_scalar(ihsm_crypto::Curve::P384, scalar.expose())
                {
                    Ok(key) => return Ok(key),
                    Err(CryptoError::InvalidKey) => continue,
                    Err(other) => return Err(other.into()),
                }
            }
            Err(Fault::Hard(HardError::Engine))
        };
        let keys = DeviceKeys {
            attestation: derive(b"ihsm device attestation key v1")?,
            credential: derive(b"ihsm admin credential key v1")?,
        };
        *self
            .device_keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(keys));
        Ok(())
    }

    fn load(&self) -> Result<(), Fault> {
        let records = self.platform.store.load().map_err(|error| {
            Fault::Hard(match error {
                StoreError::RollbackDetected => HardError::Rollback,
                StoreError::Corrupt => HardError::Integrity,
                _ => HardError::StoreUnavailable,
            })
        })?;
        crate::load::restore(self, records)
    }

    /// The gate, then the command.
    fn serve(&self, conn: &Connection, request: Request) -> Outcome {
        let opcode = request.opcode();
        if opcode == Opcode::GetStatus {
            return cmd::device::status(self);
        }
        if self.hard_error().is_some() {
            return Err(Status::ErrorState.into());
        }
        match self.engine.state() {
            EngineState::Operational => {}
            EngineState::SelfTesting => return Err(Status::SelfTestsRunning.into()),
            EngineState::Error => return Err(Fault::Hard(HardError::Engine)),
        }
        if !self.initialized.load(Ordering::Acquire)
            && !matches!(opcode, Opcode::GetCredentialKey | Opcode::InitializeAdmin)
        {
            return Err(Status::DeviceNotInitialized.into());
        }
        let access = access(opcode);
        let partition = match &conn.socket {
            Socket::Admin if access.admin_socket => None,
            Socket::Partition(_) if access.partition_socket => {
                // The partition the connection was bound to, never another of the same name.
                let partition = conn
                    .partition
                    .clone()
                    .filter(|partition| !partition.is_gone())
                    .ok_or(Status::PartitionNotFound)?;
                if !partition.initialized()
                    && !matches!(
                        opcode,
                        Opcode::GetCredentialKey
                            | Opcode::InitializePartition
                            | Opcode::GetPartitionInfo
                    )
                {
                    return Err(Status::PartitionNotInitialized.into());
                }
                Some(partition)
            }
            _ => return Err(Status::RoleNotPermitted.into()),
        };
        // Everything the request allocates in the locked arena is the partition's to hold.
        let _charge = partition
            .as_ref()
            .map(|partition| ihsm_crypto::arena::charge_to(partition.account));
        let realm = partition.as_ref().map_or(&self.admin, |p| &p.realm);
        let session = match request.session {
            Some(id) => {
                let session = realm.session(id, conn.id)?;
                match access.caller {
                    Caller::Session(roles) if roles.contains(&session.role) => Some(session),
                    _ => return Err(Status::RoleNotPermitted.into()),
                }
            }
            None => None,
        };
        let ctx = Ctx {
            shared: self,
            conn,
            opcode,
            partition,
            session,
        };
        cmd::dispatch(&ctx, request.body)
    }

    /// A connection closed: its logins that no other connection holds end.
    pub(crate) fn disconnect(&self, conn: &Connection, logins: BTreeSet<LoginId>) {
        match &conn.socket {
            Socket::Admin => {
                for session in self.admin.release(conn.id, &logins) {
                    session.close();
                }
            }
            Socket::Partition(_) => {
                if let Some(partition) = &conn.partition {
                    for session in partition.realm.release(conn.id, &logins) {
                        cmd::session::discard(partition, &session);
                    }
                }
            }
        }
    }
}

/// The attestation and credential keys behind a socket.
pub(crate) enum SocketKeys {
    Device(Arc<DeviceKeys>),
    Partition(Arc<Partition>),
}

impl SocketKeys {
    pub(crate) fn attestation(&self) -> &EcPrivateKey {
        match self {
            Self::Device(keys) => &keys.attestation,
            Self::Partition(partition) => &partition.keys.attestation,
        }
    }

    pub(crate) fn credential(&self) -> &EcPrivateKey {
        match self {
            Self::Device(keys) => &keys.credential,
            Self::Partition(partition) => &partition.keys.credential,
        }
    }
}

impl Ctx<'_> {
    /// The keys of the socket the request came through.
    pub(crate) fn socket_keys(&self) -> Result<SocketKeys, Fault> {
        Ok(match &self.partition {
            Some(partition) => SocketKeys::Partition(Arc::clone(partition)),
            None => SocketKeys::Device(self.shared.device_keys()?),
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub(crate) fn realm(&self) -> &Realm {
        self.partition
            .as_ref()
            .map_or(&self.shared.admin, |p| &p.realm)
    }

    /// The partition of a partition-socket request (the access table guarantees one).
    pub(crate) fn partition(&self) -> Result<&Arc<Partition>, Fault> {
        self.partition
            .as_ref()
            .ok_or(Fault::Status(Status::Internal))
    }

    /// The session of a session request (the decoder guarantees one).
    pub(crate) fn session(&self) -> Result<&Arc<Session>, Fault> {
        self.session.as_ref().ok_or(Fault::Status(Status::Internal))
    }

    /// A key object of the session's partition, and its key; a handle that names no object
    /// visible to the session is `ObjectNotFound`, an object that is not a key
    /// `KeyTypeInconsistent`.
    pub(crate) fn key_object(&self, handle: Handle) -> Result<(Arc<Object>, Arc<Key>), Fault> {
        let object = self.partition()?.object(handle, self.session()?.login)?;
        let key = object.key.clone().ok_or(Status::KeyTypeInconsistent)?;
        Ok((object, key))
    }

    /// Checks that the request's partition has room for `bytes` more of locked memory
    /// (see [`Partition::locked_room`]); the admin's requests are the device's.
    pub(crate) fn locked_room(&self, bytes: usize) -> Result<(), Fault> {
        match &self.partition {
            Some(partition) => partition.locked_room(bytes),
            None => Ok(()),
        }
    }

    pub(crate) fn realm_limits(&self) -> RealmLimits {
        match &self.partition {
            Some(partition) => partition.limits(),
            None => self.shared.admin_limits(),
        }
    }
}
