//! The store interface the device persists through, from `ihsm-store`.

pub use ihsm_store::{MemoryStore, Record, RecordKey, Store, StoreError, Table, Write};
