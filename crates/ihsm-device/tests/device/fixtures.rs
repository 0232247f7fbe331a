//! A fresh device with a memory store, and clients on its sockets.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ihsm_device::{
    DevelopmentFuses, Device, DeviceConfig, ManualClock, MemoryStore, Platform, Record, RecordKey,
    Socket, Store, StoreError, Write,
};
use ihsm_proto::{ErrorStatus, PartitionName, Role, SessionId, Status};
use ihsm_testkit::client::{quotas, Client, InProcess};

pub const ADMIN_PIN: &str = "admin-pin-0001";
pub const OFFICER_PIN: &str = "officer-pin-0001";
pub const USER_PIN: &str = "user-pin-0001";

pub type TestClient = Client<InProcess>;

/// A device and what it was given.
pub struct Fixture {
    pub device: Device,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
}

impl Fixture {
    /// A new, uninitialized device.
    pub fn new() -> Self {
        Self::with_store(Arc::new(MemoryStore::new()))
    }

    /// A device over an existing store (a restart).
    pub fn with_store(store: Arc<MemoryStore>) -> Self {
        Self::start(store, |platform| {
            Device::power_on(platform, DeviceConfig::for_tests())
        })
    }

    /// An initialized device whose store can hold a commit (see [`PausingStore`]).
    pub fn pausing() -> (Self, Arc<PausingStore>) {
        let (fixture, store) = Self::pausing_over(Arc::new(MemoryStore::new()));
        fixture.admin().initialize_admin(ADMIN_PIN).unwrap();
        (fixture, store)
    }

    /// A device over an existing store (a restart) that can hold a commit.
    pub fn pausing_over(memory: Arc<MemoryStore>) -> (Self, Arc<PausingStore>) {
        let pausing = Arc::new(PausingStore {
            inner: memory.clone(),
            armed: Mutex::new(None),
        });
        let store = pausing.clone();
        let fixture = Self::start(memory, move |mut platform| {
            platform.store = store;
            Device::power_on(platform, DeviceConfig::for_tests())
        });
        (fixture, pausing)
    }

    /// A device over `store` whose engine runs with test hooks.
    #[cfg(feature = "test-hooks")]
    pub fn with_hooks(store: Arc<MemoryStore>, hooks: ihsm_crypto::TestHooks) -> Self {
        Self::start(store, |platform| {
            Device::power_on_with_hooks(platform, DeviceConfig::for_tests(), hooks)
        })
    }

    fn start(store: Arc<MemoryStore>, power_on: impl FnOnce(Platform) -> Device) -> Self {
        let clock = Arc::new(ManualClock::default());
        let platform = Platform {
            clock: clock.clone(),
            fuses: Arc::new(DevelopmentFuses::new(&[0x42; 32])),
            store: store.clone(),
        };
        Self {
            device: power_on(platform),
            store,
            clock,
        }
    }

    /// A device with `config` whose admin PIN is set.
    pub fn initialized_with(config: DeviceConfig) -> Self {
        let fixture = Self::start(Arc::new(MemoryStore::new()), move |platform| {
            Device::power_on(platform, config)
        });
        fixture.admin().initialize_admin(ADMIN_PIN).unwrap();
        fixture
    }

    /// A device whose admin PIN is set.
    pub fn initialized() -> Self {
        let fixture = Self::new();
        fixture.admin().initialize_admin(ADMIN_PIN).unwrap();
        fixture
    }

    /// A client on the admin socket.
    pub fn admin(&self) -> TestClient {
        Client::new(InProcess::connect(&self.device, Socket::Admin))
    }

    /// A client on a partition's socket.
    pub fn partition(&self, name: &str) -> TestClient {
        let name = PartitionName::new(name).unwrap();
        Client::new(InProcess::connect(&self.device, Socket::Partition(name)))
    }

    /// An admin client with a session.
    pub fn admin_session(&self) -> (TestClient, SessionId) {
        let mut admin = self.admin();
        let session = admin.session(Role::Admin, ADMIN_PIN).unwrap();
        (admin, session)
    }

    /// Creates partition `name` (admin) and initializes it on its socket (officer PIN set);
    /// returns its backup secret.
    pub fn create_partition(&self, name: &str) -> Vec<u8> {
        let (mut admin, session) = self.admin_session();
        admin.create_partition(session, name, quotas()).unwrap();
        self.partition(name)
            .initialize_partition(OFFICER_PIN)
            .unwrap()
    }

    /// Creates partition `name`, sets its user PIN, and returns a user session on it.
    pub fn user(&self, name: &str) -> (TestClient, SessionId) {
        self.create_partition(name);
        self.user_of(name, OFFICER_PIN)
    }

    /// The officer (PIN `officer_pin`) of the initialized partition `name` sets the user's
    /// PIN; returns a user session on it.
    pub fn user_of(&self, name: &str, officer_pin: &str) -> (TestClient, SessionId) {
        let mut officer = self.partition(name);
        let session = officer.session(Role::CryptoOfficer, officer_pin).unwrap();
        let credential = officer
            .sealed(ihsm_proto::Opcode::SetPin, 1, USER_PIN.as_bytes())
            .secret;
        officer
            .call(
                Some(session),
                ihsm_proto::msgs::SetPinRequest {
                    role: Role::CryptoUser,
                    credential,
                },
            )
            .unwrap();
        let mut user = self.partition(name);
        let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
        (user, session)
    }
}

/// The body of a request frame with one more map entry in its body, `field` (a key and its
/// value, CBOR-encoded), after every real key.
pub fn with_extra_field(body: &[u8], field: &[u8]) -> Vec<u8> {
    let mut d = minicbor::Decoder::new(body);
    assert_eq!(d.array().unwrap(), Some(2));
    d.skip().unwrap();
    let map_at = d.position();
    let fields = d.map().unwrap().unwrap();
    let rest = d.position();
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(fields + 1).unwrap();
    let mut out = body[..map_at].to_vec();
    out.extend_from_slice(e.writer());
    out.extend_from_slice(&body[rest..]);
    out.extend_from_slice(field);
    out
}

/// The status of an answer: `Ok` for a body.
pub fn status<T>(answer: Result<T, ErrorStatus>) -> Status {
    match answer {
        Ok(_) => Status::Ok,
        Err(ErrorStatus::Known(status)) => status,
        Err(other) => panic!("unknown status {other:?}"),
    }
}

/// A memory store that can hold its next write until the test lets it go, to force one
/// request to wait in the middle of its commit while another runs.
pub struct PausingStore {
    inner: Arc<MemoryStore>,
    armed: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

/// A held write: [`Pause::reached`] once it is held, [`Pause::release`] to let it finish.
pub struct Pause {
    reached: Receiver<()>,
    release: Sender<()>,
}

impl PausingStore {
    /// Holds the next commit or increment.
    pub fn arm(&self) -> Pause {
        let (reached_tx, reached) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        *self.armed.lock().unwrap() = Some((reached_tx, release_rx));
        Pause { reached, release }
    }

    fn hold(&self) {
        let armed = self.armed.lock().unwrap().take();
        if let Some((reached, release)) = armed {
            reached.send(()).unwrap();
            release.recv().unwrap();
        }
    }
}

impl Pause {
    /// Waits until a write is held.
    pub fn reached(&self) {
        self.reached.recv_timeout(Duration::from_secs(30)).unwrap();
    }

    /// Lets the held write finish.
    pub fn release(self) {
        self.release.send(()).unwrap();
    }
}

impl Store for PausingStore {
    fn load(&self) -> Result<Vec<Record>, StoreError> {
        self.inner.load()
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.hold();
        self.inner.commit(writes)
    }

    fn increment(&self, key: &RecordKey) -> Result<u32, StoreError> {
        self.hold();
        self.inner.increment(key)
    }
}

/// Runs `f` on another thread; its result arrives on the returned channel.
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Receiver<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// How long a test lets a request that should be blocked run before it checks that it is.
pub const BLOCKED: Duration = Duration::from_millis(300);

/// Waits for a spawned result (long enough for any request on a loaded machine).
pub fn join<T>(rx: &Receiver<T>) -> T {
    rx.recv_timeout(Duration::from_secs(60)).unwrap()
}
