//! The ihsm device core: the firmware's logic, from a decoded request to its response.
//!
//! A [`Device`] powers on (self-tests, then the device keys from the [`Fuses`], then the
//! persisted state from the [`Store`]), and serves requests that arrive as frame bodies on a
//! [`Connection`] through a [`Socket`]: the admin socket, or one partition's. It enforces the
//! lifecycle (self-testing, operational, latched error), roles and logins with PINs sealed in
//! transit and verified against PBKDF2 verifiers with a durable failure counter, sessions,
//! partition isolation, quotas and policy, PKCS#11's object and attribute rules, and every
//! key-management and cryptographic operation, with the service indicator on each response.
//!
//! What it must never do: open a socket or a file or read the clock itself (all three are
//! injected through [`Platform`]); let a secret leave in plaintext (keys leave only wrapped or
//! masked; PINs are never stored); hold a lock across a store write or a cryptographic
//! operation, except the documented cases that no key operation waits for (a multi-part
//! operation's own slot; the partition record's lock, held by a policy change or the first
//! generation of the RSA import key); answer differently for another
//! partition's handle or blob than for one that does not exist.

#![forbid(unsafe_code)]

mod cmd;
mod config;
mod connection;
mod credential;
mod device;
mod fault;
mod load;
mod object;
mod ops;
mod partition;
mod platform;
mod realm;
mod record;
pub mod roles;
mod session;
mod store;

pub use cmd::partition::BACKUP_SECRET_LEN;
pub use config::DeviceConfig;
pub use connection::{Connection, Socket};
pub use credential::{MAX_PIN_LEN, MIN_PIN_LEN};
pub use device::{Device, Reply};
pub use fault::HardError;
pub use platform::{Clock, DevelopmentFuses, Fuses, ManualClock, Platform, SystemClock};
pub use realm::MAX_PIN_FAILURES;
pub use store::{MemoryStore, Record, RecordKey, Store, StoreError, Table, Write};

/// In a build with test hooks, a marker string that `GetStatus` reads, so it stays in every
/// binary built with them: `scripts/check-release.sh` looks for it in the release binaries.
#[cfg(feature = "test-hooks")]
static TEST_HOOKS_MARKER: &str = "IHSM-TEST-HOOKS-COMPILED-IN";

/// Whether this build has test hooks (what `GetStatus` reports).
#[must_use]
pub fn test_hooks_compiled_in() -> bool {
    #[cfg(feature = "test-hooks")]
    {
        !core::hint::black_box(TEST_HOOKS_MARKER).is_empty()
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        false
    }
}
