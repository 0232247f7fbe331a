//! The sealed persistent store: a redb database owned by the daemon alone.
//!
//! Every record is sealed under its own key ([`crate::seal`]). Each commit has a sequence
//! number; every record it writes carries that number, bound into the record's associated
//! data, and the root record (sealed too) holds the last sequence number, the number of
//! records, and a keyed digest of every record's (table, key, sequence number). So a single
//! record rolled back, dropped or moved fails the check at open, and so does a root put back
//! on its own; a whole database put back is caught by the monotonic counter beside it.
//!
//! Writers queue; one of them (the leader) commits everything queued in one redb
//! transaction, durable (two-phase) before any of them returns: group commit. The counter
//! follows each durable commit. A failure before the transaction commits (the engine
//! self-testing, say) fails that group and changes nothing; a failure of the commit itself
//! or of the counter leaves the store refusing writes until the daemon restarts, so memory
//! and disk never drift further apart than one commit whose caller was told it failed.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ihsm_crypto::Engine;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use subtle::ConstantTimeEq;

use crate::api::{Record, RecordKey, Store, StoreError, Table, Write};
use crate::counter::{FileCounter, MonotonicCounter};
use crate::seal::{toggle, ChainSecret, Sealer, DIGEST_LEN};

/// Records: `table code || key` to a sealed envelope.
const RECORDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("records");
/// The header (plain) and the root (sealed).
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

const HEADER_KEY: &str = "header";
const ROOT_KEY: &str = "root";
const HEADER_MAGIC: &[u8; 10] = b"IHSM-STORE";
const FORMAT_VERSION: u16 = 1;
/// The table code the root is sealed under; no record table uses it.
const ROOT_CODE: u8 = 0;

/// Why the store did not open: the kind the device sees, and a sentence for the operator's
/// log and status (never a secret: table names, sequence numbers, file names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError {
    /// What kind of failure.
    pub kind: StoreError,
    /// What exactly, for a human.
    pub detail: String,
}

impl OpenError {
    fn new(kind: StoreError, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

impl core::fmt::Display for OpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for OpenError {}

/// How to open a store.
#[derive(Debug)]
pub struct OpenOptions {
    /// Where the database and its counter are.
    pub files: StoreFiles,
    /// How long the open (with its integrity check) may take before it is reported as hung.
    pub timeout: Duration,
}

/// The store's files, open: the database, its monotonic counter, and the directory that
/// holds them (synced when a file is new). The daemon opens them relative to its checked
/// state directory, without following a link ([`StoreFiles::at`] does the same for a path).
#[derive(Debug)]
pub struct StoreFiles {
    /// The redb database.
    pub database: File,
    /// The monotonic counter.
    pub counter: File,
    /// The directory holding both.
    pub directory: File,
    /// The database's name, for messages.
    pub database_name: String,
    /// The counter's name, for messages.
    pub counter_name: String,
}

impl StoreFiles {
    /// Opens (or creates, mode 0600) the database at `path` and its counter beside it (the
    /// extension `counter`), refusing a symbolic link in either place; the directory is
    /// synced if a file was made.
    pub fn at(path: &Path) -> Result<Self, OpenError> {
        let counter_path = path.with_extension("counter");
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let directory = File::open(dir).map_err(|e| {
            OpenError::new(StoreError::Unavailable, format!("{}: {e}", dir.display()))
        })?;
        // O_NOFOLLOW (0o400000 on Linux) always fits the flags' type.
        let no_follow = i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits())
            .map_err(|_| OpenError::new(StoreError::Unavailable, "O_NOFOLLOW"))?;
        let mut created = false;
        let mut open = |path: &Path| -> Result<File, OpenError> {
            created |= !path.exists();
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(no_follow)
                .open(path)
                .map_err(|e| {
                    OpenError::new(StoreError::Unavailable, format!("{}: {e}", path.display()))
                })
        };
        let database = open(path)?;
        let counter = open(&counter_path)?;
        if created {
            directory.sync_all().map_err(|e| {
                OpenError::new(StoreError::Unavailable, format!("{}: {e}", dir.display()))
            })?;
        }
        Ok(Self {
            database,
            counter,
            directory,
            database_name: path.display().to_string(),
            counter_name: counter_path.display().to_string(),
        })
    }

    fn try_clone(&self) -> std::io::Result<Self> {
        Ok(Self {
            database: self.database.try_clone()?,
            counter: self.counter.try_clone()?,
            directory: self.directory.try_clone()?,
            database_name: self.database_name.clone(),
            counter_name: self.counter_name.clone(),
        })
    }
}

impl OpenOptions {
    /// The store in `files`, with a 120 s open timeout.
    #[must_use]
    pub fn new(files: StoreFiles) -> Self {
        Self {
            files,
            timeout: Duration::from_secs(120),
        }
    }

    /// The store at `path` (see [`StoreFiles::at`]), with a 120 s open timeout.
    pub fn at(path: &Path) -> Result<Self, OpenError> {
        StoreFiles::at(path).map(Self::new)
    }

    /// The counter file of the database at `path`.
    #[must_use]
    pub fn counter_path(path: &Path) -> PathBuf {
        path.with_extension("counter")
    }
}

/// The sealed store. See the module documentation.
pub struct SealedStore {
    db: Database,
    sealer: Arc<Sealer>,
    counter: Box<dyn MonotonicCounter>,
    state: Mutex<State>,
    queue: Mutex<Queue>,
    turn: Condvar,
    /// The records read and checked at open, until the device loads them.
    loaded: Mutex<Option<Vec<Record>>>,
}

impl core::fmt::Debug for SealedStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = lock(&self.state);
        write!(
            f,
            "SealedStore(seq {}, {} records)",
            state.seq,
            state.versions.len()
        )
    }
}

/// What the leader owns: the index of record versions and the root's values.
struct State {
    seq: u64,
    digest: [u8; DIGEST_LEN],
    /// `table code || key` to the sequence number of the commit that wrote it.
    versions: BTreeMap<Vec<u8>, u64>,
    /// Set once a commit failed: every later write is refused.
    failed: Option<StoreError>,
}

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    pending: Vec<(u64, Op)>,
    results: HashMap<u64, Result<u32, StoreError>>,
    leader: bool,
}

enum Op {
    Commit(Vec<Write>),
    Increment(RecordKey),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn full_key(table: Table, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + key.len());
    full.push(table.code());
    full.extend_from_slice(key);
    full
}

/// A redb failure: corruption it detected, or anything else (I/O, a lock).
fn db_error(error: impl Into<redb::Error>) -> StoreError {
    match error.into() {
        redb::Error::Corrupted(_) => StoreError::Corrupt,
        _ => StoreError::Unavailable,
    }
}

impl SealedStore {
    /// Opens the store in `options.files`, or creates it if both files are empty.
    /// `chain` is the firmware's chain secret: a store sealed under an older security version
    /// is opened by stepping down to it; one sealed under a newer version is refused.
    ///
    /// The open runs on its own thread, guarded against a panic inside redb and bounded by
    /// `options.timeout`; every record is opened and the version digest and counter are
    /// checked before it returns.
    pub fn open(
        engine: &Engine,
        chain: &ChainSecret,
        options: &OpenOptions,
    ) -> Result<Self, OpenError> {
        let chain = chain
            .step_down(engine, chain.security_version())
            .map_err(|e| {
                OpenError::new(e, "the storage root key could not be derived".to_string())
            })?;
        let engine = engine.clone();
        let files = options.files.try_clone().map_err(|e| {
            OpenError::new(
                StoreError::Unavailable,
                format!("cannot share the store's files: {e}"),
            )
        })?;
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("store-open".into())
            .spawn(move || {
                let result =
                    catch_unwind(AssertUnwindSafe(|| open_blocking(&engine, &chain, files)))
                        .unwrap_or_else(|_| {
                            Err(OpenError::new(
                                StoreError::Corrupt,
                                "the database library panicked while opening the file",
                            ))
                        });
                let _ = tx.send(result);
            });
        if spawned.is_err() {
            return Err(OpenError::new(
                StoreError::Unavailable,
                "no thread to open the store",
            ));
        }
        match rx.recv_timeout(options.timeout) {
            Ok(result) => result,
            Err(_) => Err(OpenError::new(
                StoreError::Unavailable,
                format!(
                    "opening the database did not finish within {} s",
                    options.timeout.as_secs()
                ),
            )),
        }
    }

    /// The sequence number of the last commit.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        lock(&self.state).seq
    }

    /// The security version the store is sealed under.
    #[must_use]
    pub fn security_version(&self) -> u32 {
        self.sealer.svn()
    }

    /// Queues `op` and waits until a group commit that includes it is durable.
    fn submit(&self, op: Op) -> Result<u32, StoreError> {
        let mut queue = lock(&self.queue);
        let ticket = queue.next_ticket;
        queue.next_ticket = queue.next_ticket.wrapping_add(1);
        queue.pending.push((ticket, op));
        loop {
            if let Some(result) = queue.results.remove(&ticket) {
                return result;
            }
            if queue.leader {
                queue = self
                    .turn
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            queue.leader = true;
            let group = core::mem::take(&mut queue.pending);
            drop(queue);
            // A failure before the transaction's commit aborts it and leaves the disk as it
            // was (the engine self-testing, say): only that group fails. `commit_group`
            // latches the store itself when the disk may hold what memory does not.
            let outcome = catch_unwind(AssertUnwindSafe(|| self.commit_group(&group)))
                .unwrap_or_else(|_| {
                    lock(&self.state).failed = Some(StoreError::Unavailable);
                    Err(StoreError::Unavailable)
                });
            queue = lock(&self.queue);
            for (index, (ticket, _)) in group.iter().enumerate() {
                let result = match &outcome {
                    Ok(values) => Ok(values.get(index).copied().unwrap_or(0)),
                    Err(error) => Err(*error),
                };
                queue.results.insert(*ticket, result);
            }
            queue.leader = false;
            self.turn.notify_all();
        }
    }

    /// Commits a group in one transaction: every op in order, then the root, durable, then
    /// the counter. Returns each op's value (an increment's new count; 0 for a commit).
    fn commit_group(&self, group: &[(u64, Op)]) -> Result<Vec<u32>, StoreError> {
        let mut state = lock(&self.state);
        if let Some(error) = state.failed {
            return Err(error);
        }
        // The snapshot read at open is stale from the first commit on.
        lock(&self.loaded).take();
        let seq = state.seq.checked_add(1).ok_or(StoreError::Unavailable)?;
        let mut change = Change {
            sealer: &self.sealer,
            versions: &state.versions,
            overlay: BTreeMap::new(),
            digest: state.digest,
            seq,
        };
        let mut values = Vec::with_capacity(group.len());
        let mut txn = self.db.begin_write().map_err(db_error)?;
        txn.set_durability(Durability::Immediate)
            .map_err(|_| StoreError::Unavailable)?;
        txn.set_two_phase_commit(true);
        {
            let mut records = txn.open_table(RECORDS).map_err(db_error)?;
            for (_, op) in group {
                values.push(match op {
                    Op::Commit(writes) => {
                        for write in writes {
                            change.apply(&mut records, write)?;
                        }
                        0
                    }
                    Op::Increment(key) => change.increment(&mut records, key)?,
                });
            }
            let root = change.sealed_root()?;
            let mut meta = txn.open_table(META).map_err(db_error)?;
            meta.insert(ROOT_KEY, root.as_slice()).map_err(db_error)?;
        }
        if let Err(error) = txn.commit() {
            // The commit may or may not have reached the disk: refuse every later write.
            let error = db_error(error);
            state.failed = Some(error);
            return Err(error);
        }
        let (overlay, digest) = (change.overlay, change.digest);
        for (key, version) in overlay {
            match version {
                Some(version) => state.versions.insert(key, version),
                None => state.versions.remove(&key),
            };
        }
        state.seq = seq;
        state.digest = digest;
        if let Err(error) = self.counter.advance(seq) {
            // The database holds the commit; its callers are told it failed.
            state.failed = Some(error);
            return Err(error);
        }
        Ok(values)
    }
}

/// One group commit in progress: the versions it changed (over the committed index) and the
/// digest as it will be.
struct Change<'a> {
    sealer: &'a Sealer,
    versions: &'a BTreeMap<Vec<u8>, u64>,
    overlay: BTreeMap<Vec<u8>, Option<u64>>,
    digest: [u8; DIGEST_LEN],
    seq: u64,
}

impl Change<'_> {
    fn current(&self, full: &[u8]) -> Option<u64> {
        match self.overlay.get(full) {
            Some(version) => *version,
            None => self.versions.get(full).copied(),
        }
    }

    fn live_count(&self) -> u64 {
        let mut count = self.versions.len() as u64;
        for (key, version) in &self.overlay {
            match (self.versions.contains_key(key), version) {
                (false, Some(_)) => count += 1,
                (true, None) => count -= 1,
                _ => {}
            }
        }
        count
    }

    /// Records `full`'s new version (`None`: removed) in the overlay and the digest.
    fn set_version(&mut self, full: &[u8], version: Option<u64>) -> Result<(), StoreError> {
        let (code, key) = full.split_first().ok_or(StoreError::Corrupt)?;
        if let Some(old) = self.current(full) {
            toggle(
                &mut self.digest,
                &self.sealer.digest_entry(*code, key, old)?,
            );
        }
        if let Some(new) = version {
            toggle(
                &mut self.digest,
                &self.sealer.digest_entry(*code, key, new)?,
            );
        }
        self.overlay.insert(full.to_vec(), version);
        Ok(())
    }

    fn put(
        &mut self,
        records: &mut redb::Table<'_, &[u8], &[u8]>,
        table: Table,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        let full = full_key(table, key);
        let sealed = self.sealer.seal(table.code(), key, self.seq, value)?;
        records
            .insert(full.as_slice(), sealed.as_slice())
            .map_err(db_error)?;
        self.set_version(&full, Some(self.seq))
    }

    fn remove(
        &mut self,
        records: &mut redb::Table<'_, &[u8], &[u8]>,
        full: &[u8],
    ) -> Result<(), StoreError> {
        if self.current(full).is_some() {
            records.remove(full).map_err(db_error)?;
            self.set_version(full, None)?;
        }
        Ok(())
    }

    fn apply(
        &mut self,
        records: &mut redb::Table<'_, &[u8], &[u8]>,
        write: &Write,
    ) -> Result<(), StoreError> {
        match write {
            Write::Put(key, value) => self.put(records, key.table, &key.key, value),
            Write::Delete(key) => self.remove(records, &full_key(key.table, &key.key)),
            Write::DeletePrefix(table, prefix) => {
                let start = full_key(*table, prefix);
                let mut doomed: Vec<Vec<u8>> = self
                    .versions
                    .range(start.clone()..)
                    .take_while(|(key, _)| key.starts_with(&start))
                    .map(|(key, _)| key.clone())
                    .collect();
                doomed.extend(
                    self.overlay
                        .range(start.clone()..)
                        .take_while(|(key, _)| key.starts_with(&start))
                        .map(|(key, _)| key.clone()),
                );
                doomed.sort();
                doomed.dedup();
                for full in doomed {
                    self.remove(records, &full)?;
                }
                Ok(())
            }
        }
    }

    fn increment(
        &mut self,
        records: &mut redb::Table<'_, &[u8], &[u8]>,
        key: &RecordKey,
    ) -> Result<u32, StoreError> {
        let full = full_key(key.table, &key.key);
        let count = match self.current(&full) {
            None => 0,
            Some(_) => {
                let envelope = records
                    .get(full.as_slice())
                    .map_err(db_error)?
                    .ok_or(StoreError::Corrupt)?;
                let (_, value) = self
                    .sealer
                    .open(key.table.code(), &key.key, envelope.value())?;
                u32::from_be_bytes(
                    value
                        .as_slice()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt)?,
                )
            }
        }
        .saturating_add(1);
        self.put(records, key.table, &key.key, &count.to_be_bytes())?;
        Ok(count)
    }

    fn sealed_root(&self) -> Result<Vec<u8>, StoreError> {
        let mut root = Vec::with_capacity(8 + DIGEST_LEN);
        root.extend_from_slice(&self.live_count().to_be_bytes());
        root.extend_from_slice(&self.digest);
        self.sealer
            .seal(ROOT_CODE, ROOT_KEY.as_bytes(), self.seq, &root)
    }
}

impl Store for SealedStore {
    fn load(&self) -> Result<Vec<Record>, StoreError> {
        if let Some(records) = lock(&self.loaded).take() {
            return Ok(records);
        }
        let _state = lock(&self.state);
        catch_unwind(AssertUnwindSafe(|| {
            read_records(&self.db, &self.sealer)
                .map(|read| read.records)
                .map_err(|e| e.kind)
        }))
        .unwrap_or(Err(StoreError::Corrupt))
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.submit(Op::Commit(writes)).map(|_| ())
    }

    fn increment(&self, key: &RecordKey) -> Result<u32, StoreError> {
        self.submit(Op::Increment(key.clone()))
    }
}

/// Everything read at open.
struct Read {
    records: Vec<Record>,
    versions: BTreeMap<Vec<u8>, u64>,
    digest: [u8; DIGEST_LEN],
    max_seq: u64,
}

fn read_records(db: &Database, sealer: &Sealer) -> Result<Read, OpenError> {
    let corrupt = |detail: String| OpenError::new(StoreError::Corrupt, detail);
    let txn = db
        .begin_read()
        .map_err(|e| OpenError::new(db_error(e), "the database could not be read"))?;
    let mut read = Read {
        records: Vec::new(),
        versions: BTreeMap::new(),
        digest: [0; DIGEST_LEN],
        max_seq: 0,
    };
    let table = match txn.open_table(RECORDS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(read),
        Err(e) => {
            return Err(OpenError::new(
                db_error(e),
                "the records table could not be opened",
            ))
        }
    };
    let iter = table
        .iter()
        .map_err(|e| OpenError::new(db_error(e), "the records could not be read"))?;
    for (index, entry) in iter.enumerate() {
        let (key, value) = entry.map_err(|e| {
            OpenError::new(db_error(e), format!("record {index} could not be read"))
        })?;
        let full = key.value();
        let (code, record_key) = full
            .split_first()
            .ok_or_else(|| corrupt(format!("record {index} has an empty key")))?;
        let table = Table::from_code(*code)
            .ok_or_else(|| corrupt(format!("record {index} names no table ({code})")))?;
        let (seq, plain) = sealer.open(*code, record_key, value.value()).map_err(|_| {
            corrupt(format!(
                "record {index} of table {table:?} failed its integrity check"
            ))
        })?;
        let entry = sealer
            .digest_entry(*code, record_key, seq)
            .map_err(|e| OpenError::new(e, "the version digest could not be computed"))?;
        toggle(&mut read.digest, &entry);
        read.max_seq = read.max_seq.max(seq);
        read.versions.insert(full.to_vec(), seq);
        read.records
            .push((RecordKey::new(table, record_key.to_vec()), plain));
    }
    Ok(read)
}

fn read_meta(db: &Database, key: &str) -> Result<Option<Vec<u8>>, OpenError> {
    let txn = db
        .begin_read()
        .map_err(|e| OpenError::new(db_error(e), "the database could not be read"))?;
    let table = match txn.open_table(META) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => {
            return Err(OpenError::new(
                db_error(e),
                "the meta table could not be opened",
            ))
        }
    };
    let value = table
        .get(key)
        .map_err(|e| OpenError::new(db_error(e), format!("the {key} could not be read")))?;
    Ok(value.map(|v| v.value().to_vec()))
}

fn header(svn: u32) -> Vec<u8> {
    let mut header = HEADER_MAGIC.to_vec();
    header.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    header.extend_from_slice(&svn.to_be_bytes());
    header
}

/// The security version a header names.
fn parse_header(header: &[u8]) -> Result<u32, OpenError> {
    let corrupt = || {
        OpenError::new(
            StoreError::Corrupt,
            "the store header is not an ihsm store header",
        )
    };
    let rest = header
        .strip_prefix(HEADER_MAGIC.as_slice())
        .ok_or_else(corrupt)?;
    let (version, svn) = rest.split_at_checked(2).ok_or_else(corrupt)?;
    let version = u16::from_be_bytes(version.try_into().map_err(|_| corrupt())?);
    if version != FORMAT_VERSION {
        return Err(OpenError::new(
            StoreError::Unavailable,
            format!(
                "the store has format version {version}; this build reads version {FORMAT_VERSION}"
            ),
        ));
    }
    Ok(u32::from_be_bytes(svn.try_into().map_err(|_| corrupt())?))
}

fn open_blocking(
    engine: &Engine,
    chain: &ChainSecret,
    files: StoreFiles,
) -> Result<SealedStore, OpenError> {
    let StoreFiles {
        database,
        counter: counter_file,
        directory,
        database_name,
        counter_name,
    } = files;
    let len = |file: &File| file.metadata().map(|m| m.len()).unwrap_or(0);
    if len(&database) == 0 && len(&counter_file) > 0 {
        return Err(OpenError::new(
            StoreError::RollbackDetected,
            format!(
                "{database_name} is missing but its counter {counter_name} is not: refusing to start an empty store in its place"
            ),
        ));
    }
    let backend = redb::backends::FileBackend::new(database).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => OpenError::new(
            StoreError::InUse,
            format!("{database_name} is open in another process"),
        ),
        other => OpenError::new(
            db_error(other),
            format!("{database_name} could not be opened"),
        ),
    })?;
    let db = redb::Builder::new()
        .set_check_integrity_on_open(true)
        .set_cache_size(64 << 20)
        .create_with_backend(backend)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => OpenError::new(
                StoreError::InUse,
                format!("{database_name} is open in another process"),
            ),
            other => OpenError::new(
                db_error(other),
                format!("{database_name} failed redb's integrity check or could not be opened"),
            ),
        })?;
    // The directory entries of new files are durable before anything is counted in them.
    directory.sync_all().map_err(|e| {
        OpenError::new(
            StoreError::Unavailable,
            format!("cannot sync the store's directory: {e}"),
        )
    })?;

    // The header names the security version the store is sealed under.
    // A database without a header is new (or its creation was cut short): it must hold
    // nothing yet, which the check of the root below makes sure of.
    let header_found = read_meta(&db, HEADER_KEY)?;
    let svn = match &header_found {
        Some(header) => parse_header(header)?,
        None => chain.security_version(),
    };
    if svn > chain.security_version() {
        return Err(OpenError::new(
            StoreError::Unavailable,
            format!(
                "the store is sealed under security version {svn}, newer than this firmware's {}",
                chain.security_version()
            ),
        ));
    }
    let sealed_under = chain
        .step_down(engine, svn)
        .map_err(|e| OpenError::new(e, "the storage root key could not be derived"))?;
    let sealer = Arc::new(
        Sealer::new(engine, &sealed_under)
            .map_err(|e| OpenError::new(e, "the storage keys could not be derived"))?,
    );
    let counter = FileCounter::new(counter_file, sealer.clone()).map_err(|e| {
        OpenError::new(
            e,
            format!("the counter {counter_name} is unreadable or fails its MAC"),
        )
    })?;

    let root = read_meta(&db, ROOT_KEY)?;
    if root.is_none() && header_found.is_some() {
        return Err(OpenError::new(
            StoreError::Corrupt,
            "the store has a header but no root",
        ));
    }
    let (seq, read) = match root {
        None => {
            // A new store: the header and an empty root, then the counter.
            let read = read_records(&db, &sealer)?;
            if !read.records.is_empty() {
                return Err(OpenError::new(
                    StoreError::Corrupt,
                    "the store has records but no root",
                ));
            }
            let create = || -> Result<(), StoreError> {
                let mut txn = db.begin_write().map_err(db_error)?;
                txn.set_durability(Durability::Immediate)
                    .map_err(|_| StoreError::Unavailable)?;
                {
                    let mut meta = txn.open_table(META).map_err(db_error)?;
                    meta.insert(HEADER_KEY, header(svn).as_slice())
                        .map_err(db_error)?;
                    let mut root = 0u64.to_be_bytes().to_vec();
                    root.extend_from_slice(&[0; DIGEST_LEN]);
                    let sealed = sealer.seal(ROOT_CODE, ROOT_KEY.as_bytes(), 0, &root)?;
                    meta.insert(ROOT_KEY, sealed.as_slice()).map_err(db_error)?;
                    let _records = txn.open_table(RECORDS).map_err(db_error)?;
                }
                txn.commit().map_err(db_error)
            };
            create().map_err(|e| OpenError::new(e, "the new store could not be written"))?;
            (0, read)
        }
        Some(sealed_root) => {
            let (seq, root) = sealer
                .open(ROOT_CODE, ROOT_KEY.as_bytes(), &sealed_root)
                .map_err(|_| {
                    OpenError::new(
                        StoreError::Corrupt,
                        "the store root failed its integrity check",
                    )
                })?;
            let (count, digest) = root.split_at_checked(8).ok_or_else(|| {
                OpenError::new(StoreError::Corrupt, "the store root is malformed")
            })?;
            let count =
                u64::from_be_bytes(count.try_into().map_err(|_| {
                    OpenError::new(StoreError::Corrupt, "the store root is malformed")
                })?);
            let read = read_records(&db, &sealer)?;
            if read.max_seq > seq {
                return Err(OpenError::new(
                    StoreError::Corrupt,
                    format!(
                        "a record claims commit {}, after the root's {seq}",
                        read.max_seq
                    ),
                ));
            }
            if read.records.len() as u64 != count || !bool::from(read.digest.ct_eq(digest)) {
                return Err(OpenError::new(
                    StoreError::Corrupt,
                    format!(
                        "the records do not match the sealed index of versions (root lists {count}, found {}): a record was dropped, added or rolled back",
                        read.records.len()
                    ),
                ));
            }
            (seq, read)
        }
    };

    match counter.read() {
        Ok(Some(counted)) if counted > seq => {
            return Err(OpenError::new(
                StoreError::RollbackDetected,
                format!(
                    "the database is at commit {seq} but its monotonic counter is at {counted}: an older copy was put back"
                ),
            ))
        }
        Ok(None) if seq > 0 => {
            return Err(OpenError::new(
                StoreError::RollbackDetected,
                format!(
                    "the monotonic counter {counter_name} is missing for a database at commit {seq}"
                ),
            ))
        }
        Ok(_) => {}
        Err(e) => return Err(OpenError::new(e, "the monotonic counter could not be read")),
    }
    counter
        .advance(seq)
        .map_err(|e| OpenError::new(e, "the monotonic counter could not be written"))?;

    Ok(SealedStore {
        db,
        sealer,
        counter: Box::new(counter),
        state: Mutex::new(State {
            seq,
            digest: read.digest,
            versions: read.versions,
            failed: None,
        }),
        queue: Mutex::new(Queue::default()),
        turn: Condvar::new(),
        loaded: Mutex::new(Some(read.records)),
    })
}
