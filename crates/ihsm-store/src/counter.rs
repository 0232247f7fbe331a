//! The monotonic counter kept apart from the database: the sequence number of the last
//! commit, written after the commit is durable. A database whose sequence number is below
//! the counter is an older copy put back, and is refused.
//!
//! The file backend keeps two MAC'd slots and writes them in turn, so a torn write of one
//! slot leaves the other, one commit behind, which still lets the database open. What a
//! file can and cannot stop is in storage.md: it stops a database file restored on its own
//! (a backup, a snapshot, a copy), not an attacker who restores the counter file with it. A
//! hardware counter (TPM NV index, RPMB) implements the same trait.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::api::StoreError;
use crate::seal::Sealer;

/// A counter that never goes down.
pub trait MonotonicCounter: Send + Sync {
    /// The counter's value; `None` if it was never set.
    fn read(&self) -> Result<Option<u64>, StoreError>;

    /// Raises the counter to `value`, durable on return. A value at or below the current one
    /// changes nothing. An error means the counter may still hold its old value.
    fn advance(&self, value: u64) -> Result<(), StoreError>;
}

const MAGIC: &[u8; 8] = b"IHSMCTR1";
const SLOT_LEN: usize = 64;
const TAG_LEN: usize = 32;

/// The file backend: two slots of `MAGIC || value || HMAC`, each 64 bytes.
pub struct FileCounter {
    file: File,
    sealer: Arc<Sealer>,
    /// The current value, serialising writers.
    current: Mutex<Option<u64>>,
}

impl core::fmt::Debug for FileCounter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileCounter")
    }
}

impl FileCounter {
    /// The counter in `file` (opened read-write by the caller; empty for a new counter).
    pub(crate) fn new(file: File, sealer: Arc<Sealer>) -> Result<Self, StoreError> {
        let counter = Self {
            file,
            sealer,
            current: Mutex::new(None),
        };
        let value = counter.read_file()?;
        *counter.lock() = value;
        Ok(counter)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The highest value of a valid slot. A file with content but no valid slot is `Corrupt`.
    fn read_file(&self) -> Result<Option<u64>, StoreError> {
        let len = self
            .file
            .metadata()
            .map_err(|_| StoreError::Unavailable)?
            .len();
        if len == 0 {
            return Ok(None);
        }
        let mut best = None;
        for slot in 0u8..2 {
            let mut bytes = [0u8; SLOT_LEN];
            let offset = u64::from(slot) * SLOT_LEN as u64;
            if self.file.read_exact_at(&mut bytes, offset).is_err() {
                continue;
            }
            if let Some(value) = self.parse_slot(slot, &bytes) {
                best = best.max(Some(value));
            }
        }
        best.map(Some).ok_or(StoreError::Corrupt)
    }

    fn parse_slot(&self, slot: u8, bytes: &[u8; SLOT_LEN]) -> Option<u64> {
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let value = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        let tag = bytes.get(16..16 + TAG_LEN)?;
        self.sealer
            .counter_tag_ok(slot, value, tag)
            .then_some(value)
    }
}

impl MonotonicCounter for FileCounter {
    fn read(&self) -> Result<Option<u64>, StoreError> {
        Ok(*self.lock())
    }

    fn advance(&self, value: u64) -> Result<(), StoreError> {
        let mut current = self.lock();
        if current.is_some_and(|c| c >= value) {
            return Ok(());
        }
        // Slots alternate by value, so the slot written is never the one holding the value
        // just below: a torn write leaves that one intact.
        let slot = u8::from(value % 2 == 1);
        let mut bytes = [0u8; SLOT_LEN];
        let tag = self.sealer.counter_tag(slot, value)?;
        bytes[..8].copy_from_slice(MAGIC);
        bytes[8..16].copy_from_slice(&value.to_be_bytes());
        bytes[16..16 + TAG_LEN].copy_from_slice(tag.get(..TAG_LEN).ok_or(StoreError::Unavailable)?);
        let offset = u64::from(slot) * SLOT_LEN as u64;
        self.file
            .write_all_at(&bytes, offset)
            .and_then(|()| self.file.sync_data())
            .map_err(|_| StoreError::Unavailable)?;
        *current = Some(value);
        Ok(())
    }
}
