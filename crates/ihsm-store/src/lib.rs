//! ihsm's persistent store: what the device keeps across restarts and crashes.
//!
//! The [`Store`] trait is the device's view: records in [`Table`]s, committed atomically and
//! durably, read once at power-on. Two implementations: [`SealedStore`], the redb database
//! the daemon runs on, where every value is sealed with AES-256-GCM under a per-record key
//! derived from the storage root key, a sealed digest of every record's version catches a
//! record rolled back or dropped, and a [`MonotonicCounter`] beside the database catches the
//! whole database put back; and [`MemoryStore`], for tests.
//!
//! The storage root key comes from the device secret through a chain of security versions
//! ([`ChainSecret`]): firmware can derive the keys of older versions, never newer ones, so a
//! firmware update needs no migration.
//!
//! What it must never do: hand back a record that failed its integrity check; answer a commit
//! before it is durable; let a panic inside the database library take the daemon down; put a
//! secret or a record's content into an error message. docs/design/storage.md is the format.

#![forbid(unsafe_code)]

mod api;
mod counter;
mod memory;
mod seal;
mod sealed;

pub use api::{Record, RecordKey, Store, StoreError, Table, Write};
pub use counter::{FileCounter, MonotonicCounter};
pub use memory::MemoryStore;
pub use seal::{ChainSecret, MAX_SECURITY_VERSION};
pub use sealed::{OpenError, OpenOptions, SealedStore, StoreFiles};
