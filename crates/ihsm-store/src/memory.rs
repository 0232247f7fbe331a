//! A store in memory, for tests and for a device that needs no persistence.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use crate::api::{Record, RecordKey, Store, StoreError, Table, Write};

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
