//! The sealed store against its rules: durability across reopen, atomic group commits,
//! counters that lose no increment, and refusal of every kind of tampering (RELIABILITY.md
//! S3, S4, S26) with the error that names it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ihsm_crypto::Engine;
use ihsm_store::{
    ChainSecret, OpenError, OpenOptions, RecordKey, SealedStore, Store, StoreError, Table, Write,
};
use redb::{ReadableDatabase, TableDefinition};
use zeroize::Zeroizing;

const RECORDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("records");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::power_on)
}

fn chain(svn: u32) -> ChainSecret {
    ChainSecret::from_device_secret(engine(), &[0x5a; 32], svn).unwrap()
}

struct Dir {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn dir() -> Dir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    Dir { _dir: dir, path }
}

fn open(path: &Path) -> Result<SealedStore, OpenError> {
    SealedStore::open(engine(), &chain(1), &OpenOptions::at(path).unwrap())
}

fn put(table: Table, key: &str, value: &str) -> Write {
    Write::Put(
        RecordKey::new(table, key.as_bytes()),
        Zeroizing::new(value.as_bytes().to_vec()),
    )
}

/// The records as sorted `(table, key, value)` strings.
fn contents(store: &SealedStore) -> Vec<(Table, String, String)> {
    let mut all: Vec<_> = store
        .load()
        .unwrap()
        .into_iter()
        .map(|(key, value)| {
            (
                key.table,
                String::from_utf8(key.key).unwrap(),
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .collect();
    all.sort();
    all
}

fn sample_store(path: &Path) -> Vec<(Table, String, String)> {
    let store = open(path).unwrap();
    store
        .commit(vec![
            put(Table::Partition, "alpha", "partition record"),
            put(Table::Object, "alpha/1", "object one"),
            put(Table::Object, "alpha/2", "object two"),
        ])
        .unwrap();
    store
        .commit(vec![put(Table::Credential, "alpha/user", "verifier")])
        .unwrap();
    assert_eq!(
        store
            .increment(&RecordKey::new(Table::Counter, b"alpha/user".to_vec()))
            .unwrap(),
        1
    );
    contents(&store)
}

/// Rewrites the raw database with redb, as an attacker with the file and redb could.
fn tamper(
    path: &Path,
    edit: impl FnOnce(&mut redb::Table<'_, &[u8], &[u8]>, &mut redb::Table<'_, &str, &[u8]>),
) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut records = txn.open_table(RECORDS).unwrap();
        let mut meta = txn.open_table(META).unwrap();
        edit(&mut records, &mut meta);
    }
    txn.commit().unwrap();
}

fn raw_record(path: &Path, full_key: &[u8]) -> Vec<u8> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(RECORDS).unwrap();
    let value = table.get(full_key).unwrap().unwrap().value().to_vec();
    value
}

fn raw_root(path: &Path) -> Vec<u8> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(META).unwrap();
    let value = table.get("root").unwrap().unwrap().value().to_vec();
    value
}

fn full(table: Table, key: &str) -> Vec<u8> {
    [&[table.code()][..], key.as_bytes()].concat()
}

#[test]
fn records_survive_reopen_and_deletes_apply() {
    let d = dir();
    let before = sample_store(&d.path);
    assert_eq!(before.len(), 5);
    let store = open(&d.path).unwrap();
    assert_eq!(contents(&store), before);
    assert_eq!(store.sequence(), 3);
    store
        .commit(vec![
            Write::DeletePrefix(Table::Object, b"alpha/".to_vec()),
            Write::Delete(RecordKey::new(Table::Credential, b"alpha/user".to_vec())),
            Write::Delete(RecordKey::new(Table::Credential, b"absent".to_vec())),
        ])
        .unwrap();
    drop(store);
    let store = open(&d.path).unwrap();
    let left: Vec<_> = contents(&store)
        .into_iter()
        .map(|(t, k, _)| (t, k))
        .collect();
    assert_eq!(
        left,
        vec![
            (Table::Partition, "alpha".to_string()),
            (Table::Counter, "alpha/user".to_string())
        ]
    );
}

#[test]
fn a_commit_is_all_or_nothing_within_itself() {
    // A put and a delete of the same key in one commit: the last write wins, and the digest
    // follows it (the reopen checks the digest).
    let d = dir();
    let store = open(&d.path).unwrap();
    store
        .commit(vec![
            put(Table::Object, "k", "one"),
            Write::Delete(RecordKey::new(Table::Object, b"k".to_vec())),
            put(Table::Object, "k", "two"),
            put(Table::Object, "j", "three"),
            Write::DeletePrefix(Table::Object, b"j".to_vec()),
        ])
        .unwrap();
    drop(store);
    let store = open(&d.path).unwrap();
    assert_eq!(
        contents(&store),
        vec![(Table::Object, "k".to_string(), "two".to_string())]
    );
}

#[test]
fn concurrent_increments_and_commits_lose_nothing() {
    let d = dir();
    let store = Arc::new(open(&d.path).unwrap());
    let counter = RecordKey::new(Table::Counter, b"c".to_vec());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for i in 0..25 {
                    seen.push(store.increment(&counter).unwrap());
                    store
                        .commit(vec![put(Table::Object, &format!("{t}/{i}"), "v")])
                        .unwrap();
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=200).collect::<Vec<_>>(),
        "every increment seen once"
    );
    // Group commit: fewer transactions than requests (reported, not asserted: on one core
    // the threads may never overlap).
    eprintln!("400 requests in {} commits", store.sequence());
    drop(store);
    let store = open(&d.path).unwrap();
    let records = contents(&store);
    assert_eq!(records.len(), 201);
    let count = String::from_utf8_lossy(&200u32.to_be_bytes()).into_owned();
    assert!(records.contains(&(Table::Counter, "c".into(), count)));
}

#[test]
fn a_single_record_rolled_back_is_refused() {
    let d = dir();
    let store = open(&d.path).unwrap();
    store.commit(vec![put(Table::Object, "k", "old")]).unwrap();
    drop(store);
    let old = raw_record(&d.path, &full(Table::Object, "k"));
    let store = open(&d.path).unwrap();
    store.commit(vec![put(Table::Object, "k", "new")]).unwrap();
    drop(store);
    tamper(&d.path, |records, _| {
        records
            .insert(full(Table::Object, "k").as_slice(), old.as_slice())
            .unwrap();
    });
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::Corrupt, "{error}");
    assert!(error.detail.contains("sealed index of versions"), "{error}");
}

#[test]
fn a_record_dropped_added_or_moved_is_refused() {
    // Dropped.
    let d = dir();
    sample_store(&d.path);
    tamper(&d.path, |records, _| {
        records
            .remove(full(Table::Object, "alpha/2").as_slice())
            .unwrap();
    });
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::Corrupt, "{error}");

    // A sealed record copied under another key, or into another table.
    for target in [
        full(Table::Object, "alpha/3"),
        full(Table::Credential, "alpha/1"),
    ] {
        let d = dir();
        sample_store(&d.path);
        let value = raw_record(&d.path, &full(Table::Object, "alpha/1"));
        tamper(&d.path, |records, _| {
            records.insert(target.as_slice(), value.as_slice()).unwrap();
        });
        let error = open(&d.path).unwrap_err();
        assert_eq!(error.kind, StoreError::Corrupt, "{error}");
        assert!(error.detail.contains("integrity check"), "{error}");
    }
}

#[test]
fn the_root_rolled_back_alone_is_refused() {
    let d = dir();
    sample_store(&d.path);
    let old_root = raw_root(&d.path);
    let store = open(&d.path).unwrap();
    store
        .commit(vec![put(Table::Object, "later", "x")])
        .unwrap();
    drop(store);
    tamper(&d.path, |_, meta| {
        meta.insert("root", old_root.as_slice()).unwrap();
    });
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::Corrupt, "{error}");
}

/// S4: a whole database put back after later commits.
#[test]
fn s4_an_older_copy_of_the_whole_database_is_refused() {
    let d = dir();
    sample_store(&d.path);
    let copy = std::fs::read(&d.path).unwrap();
    let store = open(&d.path).unwrap();
    store
        .commit(vec![put(Table::Object, "later", "x")])
        .unwrap();
    drop(store);
    std::fs::write(&d.path, &copy).unwrap();
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::RollbackDetected, "{error}");
    assert!(error.detail.contains("older copy"), "{error}");
    // Refused again on every later try: nothing was changed by the refusal.
    assert_eq!(
        open(&d.path).unwrap_err().kind,
        StoreError::RollbackDetected
    );
}

#[test]
fn a_missing_counter_or_database_is_refused() {
    let d = dir();
    sample_store(&d.path);
    let counter = OpenOptions::counter_path(&d.path);
    let saved = std::fs::read(&counter).unwrap();
    std::fs::remove_file(&counter).unwrap();
    assert_eq!(
        open(&d.path).unwrap_err().kind,
        StoreError::RollbackDetected
    );
    std::fs::write(&counter, &saved).unwrap();
    open(&d.path).unwrap();
    // The database gone but the counter left: no fresh empty store in its place.
    std::fs::remove_file(&d.path).unwrap();
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::RollbackDetected, "{error}");
    assert!(!d.path.exists() || std::fs::metadata(&d.path).unwrap().len() == 0);
}

/// S26: the counter never decreases, and a damaged counter file is refused, not reset.
#[test]
fn s26_the_counter_only_rises_and_a_forged_counter_is_refused() {
    let d = dir();
    sample_store(&d.path);
    let counter = OpenOptions::counter_path(&d.path);
    let mut bytes = std::fs::read(&counter).unwrap();
    assert_eq!(bytes.len(), 128);
    // Raising the value without the MAC key: both slots invalid → Corrupt, not trusted.
    for slot in 0..2 {
        bytes[slot * 64 + 15] ^= 1;
    }
    std::fs::write(&counter, &bytes).unwrap();
    assert_eq!(open(&d.path).unwrap_err().kind, StoreError::Corrupt);
    // One torn slot: the other still opens the store (it is one commit behind at most).
    let d = dir();
    sample_store(&d.path);
    let counter = OpenOptions::counter_path(&d.path);
    let mut bytes = std::fs::read(&counter).unwrap();
    let seq = open(&d.path).unwrap().sequence();
    let newest = usize::from(seq % 2 == 1);
    bytes[newest * 64 + 40] ^= 0xff;
    std::fs::write(&counter, &bytes).unwrap();
    let store = open(&d.path).unwrap();
    assert_eq!(store.sequence(), seq);
}

#[test]
fn another_device_or_a_newer_security_version_cannot_open_it() {
    let d = dir();
    sample_store(&d.path);
    let other = ChainSecret::from_device_secret(engine(), &[0x5b; 32], 1).unwrap();
    let error =
        SealedStore::open(engine(), &other, &OpenOptions::at(&d.path).unwrap()).unwrap_err();
    assert_eq!(error.kind, StoreError::Corrupt, "{error}");

    // Newer firmware opens an older store and keeps it sealed under its version.
    let newer = SealedStore::open(engine(), &chain(4), &OpenOptions::at(&d.path).unwrap()).unwrap();
    assert_eq!(newer.security_version(), 1);
    assert_eq!(contents(&newer).len(), 5);
    drop(newer);

    // A store made by newer firmware is refused by older firmware.
    let d = dir();
    drop(SealedStore::open(engine(), &chain(4), &OpenOptions::at(&d.path).unwrap()).unwrap());
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::Unavailable, "{error}");
    assert!(error.detail.contains("newer"), "{error}");
}

#[test]
fn a_second_process_cannot_open_an_open_store() {
    let d = dir();
    let _store = open(&d.path).unwrap();
    let error = open(&d.path).unwrap_err();
    assert_eq!(error.kind, StoreError::InUse);
    assert!(error.detail.contains("another process"), "{error}");
}

#[test]
fn no_value_is_stored_in_plaintext() {
    let d = dir();
    let store = open(&d.path).unwrap();
    store
        .commit(vec![put(Table::Object, "k", "a-distinctive-secret-value")])
        .unwrap();
    drop(store);
    let bytes = std::fs::read(&d.path).unwrap();
    let needle = b"a-distinctive-secret-value";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
}

/// S3: flip bytes of the database file; every flip is either refused at open with a clear
/// error, or changes nothing the store returns. Never a wrong record.
#[test]
fn s3_byte_flips_are_refused_or_harmless() {
    let d = dir();
    let expected = sample_store(&d.path);
    let pristine = std::fs::read(&d.path).unwrap();
    let counter = std::fs::read(OpenOptions::counter_path(&d.path)).unwrap();
    // Every non-zero byte (headers, pages in use) and a spread of the zero ones.
    let mut offsets: Vec<usize> = pristine
        .iter()
        .enumerate()
        .filter(|(_, b)| **b != 0)
        .map(|(i, _)| i)
        .collect();
    offsets.extend((0..pristine.len()).step_by(4093));
    offsets.sort_unstable();
    offsets.dedup();
    let limit: usize = std::env::var("IHSM_S3_FLIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let stride = offsets.len().div_ceil(limit).max(1);
    let (mut refused, mut harmless) = (0, 0);
    for &offset in offsets.iter().step_by(stride) {
        let mut bytes = pristine.clone();
        bytes[offset] ^= 0x01 << (offset % 8);
        std::fs::write(&d.path, &bytes).unwrap();
        std::fs::write(OpenOptions::counter_path(&d.path), &counter).unwrap();
        match open(&d.path) {
            Err(error) => {
                assert!(
                    matches!(
                        error.kind,
                        StoreError::Corrupt
                            | StoreError::Unavailable
                            | StoreError::RollbackDetected
                    ),
                    "offset {offset}: {error}"
                );
                refused += 1;
            }
            Ok(store) => {
                assert_eq!(
                    contents(&store),
                    expected,
                    "offset {offset}: a flip changed a record"
                );
                harmless += 1;
            }
        }
    }
    eprintln!(
        "S3: {} byte file, {} flips: {refused} refused, {harmless} in bytes the store does not use",
        pristine.len(),
        refused + harmless
    );
    assert!(refused > 0);
}
