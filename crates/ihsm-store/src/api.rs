//! The store interface: what the device persists, as records in tables.
//!
//! The device encodes every record itself ([`crate::record`]) and hands the store opaque
//! bytes, secrets included: sealing them at rest is the store's job. A store commits a batch
//! of writes atomically and returns only once they are durable, so the device answers a
//! request that changed persistent state only after the change would survive a crash.

use core::fmt;

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

impl Table {
    /// Every table, in the order of their codes.
    pub const ALL: [Table; 6] = [
        Table::Device,
        Table::Partition,
        Table::Credential,
        Table::Counter,
        Table::Object,
        Table::KeyLedger,
    ];

    /// The table's code in the sealed store's format (storage.md): stable, never reused.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Table::Device => 1,
            Table::Partition => 2,
            Table::Credential => 3,
            Table::Counter => 4,
            Table::Object => 5,
            Table::KeyLedger => 6,
        }
    }

    /// The table with this code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Table> {
        Table::ALL.into_iter().find(|table| table.code() == code)
    }
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
    /// A record or the database failed its integrity check: it is never used.
    Corrupt,
    /// The database is older than the monotonic counter kept beside it: a copy of an
    /// earlier state was put back.
    RollbackDetected,
    /// The database is open in another process (another daemon on the same state).
    InUse,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "the store is unavailable",
            Self::Corrupt => "a store record failed its integrity check",
            Self::RollbackDetected => "the store is older than its monotonic counter",
            Self::InUse => "the store is open in another process",
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
