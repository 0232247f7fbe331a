//! The store interface: what the device persists, as records in tables, and the in-memory
//! store that serves until the daemon brings the sealed persistent one.
//!
//! The device encodes every record itself ([`crate::record`]) and hands the store opaque
//! bytes, secrets included: sealing them at rest is the store's job. A store commits a batch
//! of writes atomically and returns only once they are durable, so the device answers a
//! request that changed persistent state only after the change would survive a crash.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

/// A table of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Device-wide records: the admin credential.
    Device,
    /// One record per partition: quotas, policy, partition keys.
    Partition,
    /// PIN verifiers, keyed by realm and role.
    Credential,
    /// Failure counters, keyed by realm and role: a 4-byte big-endian count, changed only
    /// through [`Store::increment`] and reset through [`Store::commit`].
    Counter,
    /// Persistent (token) objects, keyed by partition and handle.
    Object,
    /// The key ledger, keyed by partition and key id: for every key that can come back (a
    /// token object's, a masked one's) its AES-GCM reservation while it lives, and its
    /// tombstone once it is destroyed; and the masking key's reservation.
    KeyLedger,
}

/// Where a record lives: its table and its key in that table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    /// The table.
    pub table: Table,
    /// The key within the table.
    pub key: Vec<u8>,
}

impl RecordKey {
    /// The record `key` of `table`.
    #[must_use]
    pub fn new(table: Table, key: impl Into<Vec<u8>>) -> Self {
        Self {
            table,
            key: key.into(),
        }
    }
}

/// One change in a commit.
pub enum Write {
    /// Creates or replaces a record.
    Put(RecordKey, Zeroizing<Vec<u8>>),
    /// Removes a record (no error if it is absent).
    Delete(RecordKey),
    /// Removes every record of a table whose key starts with the prefix.
    DeletePrefix(Table, Vec<u8>),
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Put(key, value) => write!(f, "Put({key:?}, {} bytes)", value.len()),
            Self::Delete(key) => write!(f, "Delete({key:?})"),
            Self::DeletePrefix(table, prefix) => write!(f, "DeletePrefix({table:?}, {prefix:?})"),
        }
    }
}

/// Why the store refused. The device answers the request with `Internal` and changes
/// nothing in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The write could not be made durable (I/O failure, full disk).
    Unavailable,
    /// A record failed its integrity check: it is never used.
    Corrupt,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "the store is unavailable",
            Self::Corrupt => "a store record failed its integrity check",
        })
    }
}

impl std::error::Error for StoreError {}

/// A record as read back: where it lives and its bytes.
pub type Record = (RecordKey, Zeroizing<Vec<u8>>);

/// A persistent store. Implementations serialise their own writes. The device calls them
/// holding only locks that no use of a key waits for (see `partition.rs`), so a slow commit
/// delays changes to one partition's records, never its cryptography.
pub trait Store: Send + Sync {
    /// Every record, read once at power-on.
    fn load(&self) -> Result<Vec<Record>, StoreError>;

    /// Applies `writes` atomically (all or none), durable on return.
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Adds one to the counter record `key` (absent counts as 0) and returns the new count,
    /// durable on return. Concurrent calls never lose an increment.
    fn increment(&self, key: &RecordKey) -> Result<u32, StoreError>;
}

/// A store in memory: nothing survives the process. It can be told to fail, so tests can
/// check that a failed write changes nothing.
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<RecordKey, Zeroizing<Vec<u8>>>>,
    failures: AtomicU32,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `count` commits and increments fail with [`StoreError::Unavailable`].
    pub fn fail_next(&self, count: u32) {
        self.failures.store(count, Ordering::Release);
    }

    /// How many records the store holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records of one table, for tests that inspect what was persisted.
    #[must_use]
    pub fn table(&self, table: Table) -> Vec<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        self.lock()
            .iter()
            .filter(|(key, _)| key.table == table)
            .map(|(key, value)| (key.key.clone(), value.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RecordKey, Zeroizing<Vec<u8>>>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn injected_failure(&self) -> Result<(), StoreError> {
        let fail = self
            .failures
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            Err(StoreError::Unavailable)
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryStore({} records)", self.len())
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .lock()
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.injected_failure()?;
        let mut records = self.lock();
        for write in writes {
            match write {
                Write::Put(key, value) => {
                    records.insert(key, value);
                }
                Write::Delete(key) => {
                    records.remove(&key);
                }
                Write::DeletePrefix(table, prefix) => {
                    records.retain(|key, _| key.table != table || !key.key.starts_with(&prefix));
                }
            }
        }
        Ok(())
    }

    fn increment(&self, key: &RecordKey) -> Result<u32, StoreError> {
        self.injected_failure()?;
        let mut records = self.lock();
        let count = match records.get(key) {
            Some(value) => u32::from_be_bytes(
                value
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt)?,
            ),
            None => 0,
        }
        .saturating_add(1);
        records.insert(key.clone(), Zeroizing::new(count.to_be_bytes().to_vec()));
        Ok(count)
    }
}
