//! A fresh device with a memory store, and clients on its sockets.

use std::sync::Arc;

use ihsm_device::{
    DevelopmentFuses, Device, DeviceConfig, ManualClock, MemoryStore, Platform, Socket,
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
            fuses: Arc::new(DevelopmentFuses::new([0x42; 32])),
            store: store.clone(),
        };
        Self {
            device: power_on(platform),
            store,
            clock,
        }
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

    /// Creates partition `name` (officer PIN set); returns its backup secret.
    pub fn create_partition(&self, name: &str) -> Vec<u8> {
        let (mut admin, session) = self.admin_session();
        admin
            .create_partition(session, name, quotas(), OFFICER_PIN)
            .unwrap()
    }

    /// Creates partition `name`, sets its user PIN, and returns a user session on it.
    pub fn user(&self, name: &str) -> (TestClient, SessionId) {
        self.create_partition(name);
        let mut officer = self.partition(name);
        let session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
        let credential = officer
            .sealed(ihsm_proto::Opcode::SetPin, 1, USER_PIN.as_bytes())
            .secret;
        officer
            .call(
                Some(session),
                ihsm_proto::msgs::SetPinRequest {
                    role: Role::CryptoUser,
                    credential,
                    partition: None,
                },
            )
            .unwrap();
        let mut user = self.partition(name);
        let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
        (user, session)
    }
}

/// The status of an answer: `Ok` for a body.
pub fn status<T>(answer: Result<T, ErrorStatus>) -> Status {
    match answer {
        Ok(_) => Status::Ok,
        Err(ErrorStatus::Known(status)) => status,
        Err(other) => panic!("unknown status {other:?}"),
    }
}
