//! A partition: its keys, quotas, policy, objects and key ledger, and its realm of logins and
//! sessions. Each partition has its own locks; nothing here is shared between partitions.
//!
//! Locks, in the order they are taken: the change gate ([`Partition::change`]), the object
//! lock ([`Change::objects`]), the record lock ([`Change::record`]), then the short-lived
//! state lock. Using a key takes none of the first three, with one exception: an AES-GCM
//! encryption under a durable key that reaches the end of its reserved block takes the gate
//! and the object lock to reserve the next (once per block, 2^20 encryptions by default).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};

use ihsm_crypto::arena::{self, Account};
use ihsm_crypto::policy::{approval, Service};
use ihsm_crypto::{AesKey, EcPrivateKey, Engine, RsaPrivateKey};
use ihsm_proto::{Handle, LoginId, MechanismId, PartitionName, Quotas, Status};
use zeroize::Zeroizing;

use crate::fault::Fault;
use crate::object::{GcmBudget, Key, KeyId, Object};
use crate::realm::{Realm, RealmLimits};
use crate::record::PartitionRecord;
use crate::store::{Store, Write};

pub(crate) struct Partition {
    pub(crate) name: PartitionName,
    pub(crate) realm: Realm,
    pub(crate) keys: PartitionKeys,
    /// AES-256, derived from the owner's backup secret: seals masked key blobs. Set once, by
    /// `InitializePartition`; until then the partition is uninitialized.
    masking: OnceLock<AesKey>,
    /// Claimed by the one `InitializePartition` in progress.
    initializing: AtomicBool,
    /// How many times the admin reset the partition (this instance is the one after them).
    pub(crate) resets: u32,
    /// Connections bound to this partition now.
    connections: AtomicU32,
    /// Bytes its multi-part operations hold back now (see [`Buffered`]).
    buffered: AtomicUsize,
    /// Its account in the locked arena: every block its requests allocate is charged to it,
    /// and its share is reserved there (the daemon's arena; none in an in-process device).
    pub(crate) account: Account,
    /// The AES-GCM encryptions under the masking key (durable: its own ledger record).
    pub(crate) masking_gcm: GcmBudget,
    state: RwLock<PartitionState>,
    /// The RSA-3072 import key, made on first use (`GetImportKey` of kind `RsaOaep`).
    rsa_import: RwLock<Option<Arc<RsaPrivateKey>>>,
    /// Shared by every change to the partition's records, from its commit to its effect in
    /// memory; taken exclusively by `ZeroizePartition` and `DeletePartition`, so no change
    /// slips between their commit and their clearing of memory, and none lands after a
    /// deletion. `true` once the partition is deleted. Using a key does not take it (but for
    /// a GCM reservation, see above).
    gate: RwLock<bool>,
    /// Serialises changes to existing objects and keys (attributes, destruction, copies,
    /// masking, restored blobs, GCM reservations) from reading the object to the commit, so
    /// two changes cannot undo each other, the last holder of a key is known when it is
    /// destroyed, and no ledger entry is written after a key's tombstone. Making a new key
    /// does not take it, nor does using a key (but for a GCM reservation, see above).
    object_lock: Mutex<()>,
    /// Held by whoever rewrites the partition record (a policy change, the first RSA import
    /// key) from reading it to the commit, so two rewrites cannot undo each other.
    record_lock: Mutex<()>,
}

/// The partition's own keys.
pub(crate) struct PartitionKeys {
    /// Signs the credential key and the import keys; pinned by clients on first use.
    pub(crate) attestation: EcPrivateKey,
    /// The P-384 key PINs and backup secrets are sealed to.
    pub(crate) credential: EcPrivateKey,
    /// The P-384 key of the approved import path.
    pub(crate) import: EcPrivateKey,
}

pub(crate) struct PartitionState {
    pub(crate) quotas: Quotas,
    pub(crate) policy: BTreeSet<MechanismId>,
    pub(crate) objects: HashMap<Handle, Arc<Object>>,
    /// Every key that can come back after a restart or from a blob: a token object's or a
    /// masked one's. Mirrors the store's ledger records.
    pub(crate) ledger: HashMap<KeyId, LedgerEntry>,
    /// Every key in memory, by id, held or not by an object (an operation in progress may
    /// hold one whose objects are gone): a key restored from a blob is this one, never a
    /// second copy with a count of its own.
    keys: HashMap<KeyId, Weak<Key>>,
    /// Objects being made, counted against the quota before they exist.
    pending: u32,
    /// Bytes of data object values, including those being made.
    data_bytes: u64,
}

impl Partition {
    /// A new partition, or one made again by a reset: no masking key, credentials, policy
    /// or objects yet.
    pub(crate) fn uninitialized(
        name: PartitionName,
        keys: PartitionKeys,
        quotas: Quotas,
        resets: u32,
        account: Account,
    ) -> Self {
        let mut partition = Self::new(name, keys, None, resets, quotas, BTreeSet::new(), None);
        partition.account = account;
        partition
    }

    /// A partition as its record has it. `masking`: the masking key and the AES-GCM
    /// encryptions its ledger accounts for, once the owner initialized the partition.
    pub(crate) fn new(
        name: PartitionName,
        keys: PartitionKeys,
        masking: Option<(AesKey, u64)>,
        resets: u32,
        quotas: Quotas,
        policy: BTreeSet<MechanismId>,
        rsa_import: Option<RsaPrivateKey>,
    ) -> Self {
        let reserved = masking.as_ref().map_or(0, |(_, reserved)| *reserved);
        let masking_gcm = GcmBudget::new(reserved, reserved);
        masking_gcm.make_durable_restored();
        let masking = masking.map_or_else(OnceLock::new, |(key, _)| OnceLock::from(key));
        Self {
            name,
            realm: Realm::new(),
            keys,
            masking,
            initializing: AtomicBool::new(false),
            resets,
            connections: AtomicU32::new(0),
            buffered: AtomicUsize::new(0),
            account: arena::DEVICE,
            masking_gcm,
            state: RwLock::new(PartitionState {
                quotas,
                policy,
                objects: HashMap::new(),
                ledger: HashMap::new(),
                keys: HashMap::new(),
                pending: 0,
                data_bytes: 0,
            }),
            rsa_import: RwLock::new(rsa_import.map(Arc::new)),
            gate: RwLock::new(false),
            object_lock: Mutex::new(()),
            record_lock: Mutex::new(()),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, PartitionState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, PartitionState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The RSA import key, if one was made.
    pub(crate) fn rsa_import(&self) -> Option<Arc<RsaPrivateKey>> {
        self.rsa_import
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the owner initialized the partition (its masking key and officer PIN are set).
    pub(crate) fn initialized(&self) -> bool {
        self.masking.get().is_some()
    }

    /// The masking key; `PartitionNotInitialized` before `InitializePartition`.
    pub(crate) fn masking(&self) -> Result<&AesKey, Fault> {
        self.masking
            .get()
            .ok_or(Fault::Status(Status::PartitionNotInitialized))
    }

    /// Claims the partition's initialization: `AlreadyInitialized` if it is initialized or
    /// another initialization is in progress. The claim ends when the guard drops.
    pub(crate) fn claim_initialization(&self) -> Result<InitializationClaim<'_>, Fault> {
        if self.initialized()
            || self
                .initializing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return Err(Status::AlreadyInitialized.into());
        }
        Ok(InitializationClaim(self))
    }

    /// Sets the masking key (after the initialization's commit, under its claim).
    pub(crate) fn set_masking(&self, _claim: &InitializationClaim<'_>, key: AesKey) {
        let _ = self.masking.set(key);
    }

    /// Whether the partition was deleted or reset (this instance is gone).
    pub(crate) fn is_gone(&self) -> bool {
        *self.gate.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks, before anything that makes a key, that the partition's share of the locked
    /// arena has room for `bytes` more beside what its operations need in passing
    /// (`QuotaExceeded`), and that the arena itself does (`LockedMemoryExhausted`). A key is
    /// never kept anywhere else, so this is where a full share says so.
    pub(crate) fn locked_room(&self, bytes: usize) -> Result<(), Fault> {
        let Some(usage) = arena::usage(self.account) else {
            return Ok(());
        };
        if usage
            .used
            .saturating_add(bytes)
            .saturating_add(OPERATION_ROOM)
            > usage.share
        {
            return Err(Status::QuotaExceeded.into());
        }
        if arena::free().is_some_and(|free| free < bytes.saturating_add(arena::MARGIN)) {
            return Err(Status::LockedMemoryExhausted.into());
        }
        Ok(())
    }

    /// Bytes of the locked arena the partition holds now (0 without one).
    pub(crate) fn locked_bytes(&self) -> u32 {
        arena::usage(self.account).map_or(0, |usage| u32::try_from(usage.used).unwrap_or(u32::MAX))
    }

    /// Counts a new connection, within the connection quota (`ConnectionLimit` beyond it)
    /// and the room its thread's random generator needs in the partition's share of the
    /// locked arena (`QuotaExceeded`).
    pub(crate) fn add_connection(&self) -> Result<(), Status> {
        if let Some(usage) = arena::usage(self.account) {
            if usage.used.saturating_add(CONNECTION_ROOM) > usage.share {
                return Err(Status::QuotaExceeded);
            }
        }
        let max = self.read().quotas.max_connections;
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < max).then_some(count + 1)
            })
            .map(|_| ())
            .map_err(|_| Status::ConnectionLimit)
    }

    /// A connection bound to the partition ended.
    pub(crate) fn remove_connection(&self) {
        let _ = self
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                Some(count.saturating_sub(1))
            });
    }

    /// Connections bound to the partition now.
    pub(crate) fn connections(&self) -> u32 {
        self.connections.load(Ordering::Acquire)
    }

    /// Begins a change to the partition's records: `PartitionNotFound` once it is deleted.
    /// Hold the returned guard from the commit until memory reflects it, and take no other
    /// gate while holding it.
    pub(crate) fn change(&self) -> Result<Change<'_>, Fault> {
        let gate = self.gate.read().unwrap_or_else(PoisonError::into_inner);
        if *gate {
            return Err(Status::PartitionNotFound.into());
        }
        Ok(Change {
            partition: self,
            _gate: gate,
        })
    }

    /// Excludes every other change: for zeroization and deletion. `PartitionNotFound` if
    /// the partition is deleted already.
    pub(crate) fn exclusive(&self) -> Result<RwLockWriteGuard<'_, bool>, Fault> {
        let gate = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        if *gate {
            return Err(Status::PartitionNotFound.into());
        }
        Ok(gate)
    }

    pub(crate) fn limits(&self) -> RealmLimits {
        let quotas = &self.read().quotas;
        RealmLimits {
            max_logins: quotas.max_logins,
            max_sessions: quotas.max_sessions,
        }
    }

    /// The partition's record with the RSA import key given: the caller holds the record
    /// lock ([`Change::record`]) until the record is committed.
    pub(crate) fn record_with(&self, rsa_import: Option<&Arc<RsaPrivateKey>>) -> PartitionRecord {
        let state = self.read();
        PartitionRecord {
            quotas: state.quotas.clone(),
            policy: state.policy.iter().copied().collect(),
            attestation_pkcs8: secret(self.keys.attestation.pkcs8().expose()),
            credential_pkcs8: secret(self.keys.credential.pkcs8().expose()),
            import_pkcs8: secret(self.keys.import.pkcs8().expose()),
            masking_key: self.masking.get().map(|key| secret(key.expose())),
            rsa_import_pkcs8: rsa_import.map(|key| secret(key.pkcs8().expose())),
            resets: self.resets,
        }
    }

    /// An object a session of `login` may see; otherwise `ObjectNotFound`, the same answer as
    /// for a handle that exists nowhere (or in another partition), so no status reveals that
    /// an object exists.
    pub(crate) fn object(&self, handle: Handle, login: LoginId) -> Result<Arc<Object>, Fault> {
        match self.read().objects.get(&handle) {
            Some(object) if object.visible_to(login) => Ok(Arc::clone(object)),
            _ => Err(Status::ObjectNotFound.into()),
        }
    }

    /// Checks the partition policy before a service runs: an approved service always passes;
    /// a non-approved one only if the officer listed its mechanism.
    pub(crate) fn permit(
        &self,
        engine: &Engine,
        mechanism: MechanismId,
        service: Service,
    ) -> Result<(), Fault> {
        if engine.fips_mode() && approval(service).approved {
            return Ok(());
        }
        self.permit_non_approved(mechanism)
    }

    /// Checks the policy for a service that is never approved.
    pub(crate) fn permit_non_approved(&self, mechanism: MechanismId) -> Result<(), Fault> {
        if self.read().policy.contains(&mechanism) {
            Ok(())
        } else {
            Err(Status::PolicyNotApproved.into())
        }
    }

    /// Counts a new object (with `data_bytes` of data object value) against the quotas until
    /// it is inserted or the reservation is dropped.
    pub(crate) fn reserve(self: &Arc<Self>, data_bytes: u64) -> Result<Reservation, Fault> {
        let mut state = self.write();
        let objects = u32::try_from(state.objects.len()).unwrap_or(u32::MAX);
        if objects.saturating_add(state.pending) >= state.quotas.max_objects {
            return Err(Status::QuotaExceeded.into());
        }
        let data = state.data_bytes.saturating_add(data_bytes);
        if data > u64::from(state.quotas.max_data_object_bytes) {
            return Err(Status::QuotaExceeded.into());
        }
        state.pending = state.pending.saturating_add(1);
        state.data_bytes = data;
        Ok(Reservation {
            partition: Arc::clone(self),
            data_bytes,
            done: false,
        })
    }

    /// Removes an object from memory (its record is already gone), returning it.
    pub(crate) fn remove(&self, handle: Handle) -> Option<Arc<Object>> {
        let mut state = self.write();
        let object = state.objects.remove(&handle)?;
        state.data_bytes = state.data_bytes.saturating_sub(object.data_bytes());
        Some(object)
    }

    /// Drops every object (each key zeroizes with its last holder) and frees the data quota.
    pub(crate) fn clear_objects(&self) {
        let mut state = self.write();
        state.objects.clear();
        state.data_bytes = 0;
    }

    /// Replaces an object (same handle) after a change of attributes; the data quota follows
    /// the value's new size, which the caller reserved with [`Partition::adjust_data`].
    pub(crate) fn replace(&self, object: Object) {
        let mut state = self.write();
        state.objects.insert(object.handle, Arc::new(object));
    }

    /// Recounts a data object's value from `old` to `new` bytes, failing if a growth would
    /// exceed the quota.
    pub(crate) fn adjust_data(&self, old: u64, new: u64) -> Result<(), Fault> {
        let mut state = self.write();
        let data = state.data_bytes.saturating_sub(old).saturating_add(new);
        if new > old && data > u64::from(state.quotas.max_data_object_bytes) {
            return Err(Status::QuotaExceeded.into());
        }
        state.data_bytes = data;
        Ok(())
    }

    /// The objects other than `handle` that hold the key `id`.
    pub(crate) fn holders(&self, id: &KeyId, except: Option<Handle>) -> Vec<Arc<Object>> {
        self.read()
            .objects
            .values()
            .filter(|object| Some(object.handle) != except)
            .filter(|object| object.key.as_ref().is_some_and(|key| key.id == *id))
            .cloned()
            .collect()
    }

    /// Sets (or, with `None`, removes) the ledger entry of key `id`, after its commit.
    pub(crate) fn set_ledger(&self, id: KeyId, entry: Option<LedgerEntry>) {
        let mut state = self.write();
        match entry {
            Some(entry) => state.ledger.insert(id, entry),
            None => state.ledger.remove(&id),
        };
    }

    /// The key `id` if it is in memory, whether or not an object holds it.
    pub(crate) fn live_key(&self, id: &KeyId) -> Option<Arc<Key>> {
        let mut state = self.write();
        let key = state.keys.get(id).and_then(Weak::upgrade);
        if key.is_none() {
            state.keys.remove(id);
        }
        key
    }

    /// The number of persistent objects.
    pub(crate) fn token_objects(&self) -> u32 {
        let count = self
            .read()
            .objects
            .values()
            .filter(|o| o.is_token())
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// Inserts new objects, ending their reservations, all under one lock: a key pair
    /// appears whole. Session objects are refused if their session closed meanwhile
    /// (`SessionNotFound`: they would outlive it); token objects, already committed, are
    /// inserted regardless.
    pub(crate) fn insert_all(
        &self,
        objects: Vec<(Reservation, Object)>,
        session_alive: impl Fn() -> bool,
    ) -> Result<Vec<Handle>, Fault> {
        let mut refused = None;
        let mut handles = Vec::with_capacity(objects.len());
        let mut state = self.write();
        let alive = session_alive();
        for (mut reservation, object) in objects {
            reservation.done = true;
            state.pending = state.pending.saturating_sub(1);
            let collides = state.objects.contains_key(&object.handle);
            if collides || (object.owner.is_some() && !alive) {
                state.data_bytes = state.data_bytes.saturating_sub(reservation.data_bytes);
                refused = Some(if collides {
                    Status::Internal
                } else {
                    Status::SessionNotFound
                });
                continue;
            }
            handles.push(object.handle);
            state.remember_key(&object);
            state.objects.insert(object.handle, Arc::new(object));
        }
        match refused {
            Some(status) => Err(status.into()),
            None => Ok(handles),
        }
    }
}

impl PartitionState {
    /// Registers the key of a new object, forgetting keys no longer in memory when the map
    /// has grown well past the objects.
    fn remember_key(&mut self, object: &Object) {
        if let Some(key) = &object.key {
            self.keys.insert(key.id, Arc::downgrade(key));
        }
        if self.keys.len() > self.objects.len().saturating_mul(2).saturating_add(64) {
            self.keys.retain(|_, key| key.strong_count() > 0);
        }
    }
}

/// What a partition's share of the locked arena keeps free beside its keys, for what its
/// requests hold in passing: a key generation, an RSA-4096 one most (about 100 KiB at its
/// peak), at most as many at once as the daemon runs for one partition, and the random
/// generator state of each connection's thread.
pub(crate) const OPERATION_ROOM: usize = 256 << 10;
/// The room a new secret key (AES, XTS, generic, derived) takes in the arena, with a margin
/// (measured: under 100 bytes, and an AES-GCM context when used).
pub(crate) const SECRET_ROOM: usize = 2 << 10;
/// The room of a multi-part operation's context (a digest or signature context, a key
/// schedule), held in locked memory from its `Init` to its `Final`.
pub(crate) const OPERATION_CONTEXT_ROOM: usize = 4 << 10;
/// The room of what a key builds on its first use: both AES-GCM contexts of an AES key
/// (measured: about 2 KiB), or an HMAC context of a generic secret.
pub(crate) const LAZY_CONTEXT_ROOM: usize = 4 << 10;
/// The room of an EC key pair (measured: about 1.9 KiB on P-521).
pub(crate) const EC_PAIR_ROOM: usize = 4 << 10;
/// The room of any key entering whole (unwrapped, imported, restored, created): the
/// largest, an RSA-4096 private key (measured: 17 KiB as it comes in, 45 KiB once it and
/// its public half have each been used both ways; what its uses add is checked by them).
pub(crate) const ANY_KEY_ROOM: usize = 64 << 10;

/// The room of an RSA key pair of `bits`, each structure used once by its pairwise test
/// (measured: 23 KiB at 2048 and 3072 bits, 41 KiB at 4096). A use that grows it later
/// checks its own room (`arena::room_for`, in the crypto engine).
pub(crate) fn rsa_pair_room(bits: usize) -> usize {
    (bits / 8).saturating_mul(12).max(32 << 10)
}

/// What a connection's thread holds in the partition's share (the random generator state
/// AWS-LC keeps per thread, about 1 KiB), with a margin.
const CONNECTION_ROOM: usize = 4 << 10;

impl Drop for Partition {
    fn drop(&mut self) {
        arena::close_account(self.account);
    }
}

/// What one partition's multi-part operations may hold back at once, all sessions together
/// (each holds at most 1 MiB per kind): without it, a partition's 256 sessions could make
/// the daemon hold half a gigabyte.
pub(crate) const MAX_BUFFERED: usize = 16 << 20;

/// Input a multi-part operation holds back, counted against its partition's
/// [`MAX_BUFFERED`]; given back when the operation ends, however it ends.
pub(crate) struct Buffered {
    partition: Arc<Partition>,
    bytes: usize,
}

impl Buffered {
    /// Nothing held yet.
    pub(crate) fn new(partition: Arc<Partition>) -> Self {
        Self {
            partition,
            bytes: 0,
        }
    }

    /// Counts `bytes` more, within the partition's budget (`QuotaExceeded` beyond it).
    pub(crate) fn add(&mut self, bytes: usize) -> Result<(), Fault> {
        self.partition
            .buffered
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes)
                    .filter(|total| *total <= MAX_BUFFERED)
            })
            .map_err(|_| Status::QuotaExceeded)?;
        self.bytes += bytes;
        Ok(())
    }

    /// Gives `bytes` back (the operation released them).
    pub(crate) fn sub(&mut self, bytes: usize) {
        let bytes = bytes.min(self.bytes);
        self.bytes -= bytes;
        self.partition.buffered.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl Drop for Buffered {
    fn drop(&mut self) {
        self.sub(self.bytes);
    }
}

/// The one `InitializePartition` in progress; dropping it ends the claim.
pub(crate) struct InitializationClaim<'a>(&'a Partition);

impl Drop for InitializationClaim<'_> {
    fn drop(&mut self) {
        self.0.initializing.store(false, Ordering::Release);
    }
}

/// A change to a partition's records in progress: holding one means the partition was not
/// deleted, and neither zeroization nor deletion can begin until it is dropped.
pub(crate) struct Change<'a> {
    partition: &'a Partition,
    _gate: RwLockReadGuard<'a, bool>,
}

impl Change<'_> {
    /// Commits `writes` (nothing to do for none).
    pub(crate) fn commit(&self, store: &dyn Store, writes: Vec<Write>) -> Result<(), Fault> {
        if writes.is_empty() {
            return Ok(());
        }
        Ok(store.commit(writes)?)
    }

    /// The object lock: see [`Partition`]'s `object_lock`.
    pub(crate) fn objects(&self) -> MutexGuard<'_, ()> {
        self.partition
            .object_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The record lock: see [`Partition`]'s `record_lock`.
    pub(crate) fn record(&self) -> MutexGuard<'_, ()> {
        self.partition
            .record_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `key` the RSA import key (under the record lock, after its commit).
    pub(crate) fn set_rsa_import(&self, key: Arc<RsaPrivateKey>) {
        *self
            .partition
            .rsa_import
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(key);
    }
}

/// What the ledger knows of a key that can come back (from the store or a blob).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LedgerEntry {
    /// The key lives; the store accounts for this many AES-GCM encryptions under it, and
    /// `blobs` says whether it was ever masked (or restored from a blob), so that blobs of it
    /// may exist.
    Live { gcm_reserved: u64, blobs: bool },
    /// The key was destroyed: its blobs are refused.
    Tombstone,
}

impl LedgerEntry {
    /// What is left of the entry once its key is destroyed: a tombstone if blobs of the key
    /// may exist, nothing otherwise (its GCM count goes with the key).
    pub(crate) fn after_destruction(self) -> Option<Self> {
        match self {
            Self::Live { blobs: false, .. } => None,
            Self::Live { blobs: true, .. } | Self::Tombstone => Some(Self::Tombstone),
        }
    }
}

/// A quota reservation for an object being made.
pub(crate) struct Reservation {
    partition: Arc<Partition>,
    data_bytes: u64,
    done: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.partition.write();
            state.pending = state.pending.saturating_sub(1);
            state.data_bytes = state.data_bytes.saturating_sub(self.data_bytes);
        }
    }
}

fn secret(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

impl Partition {
    /// Puts back an object read from the store at power-on.
    pub(crate) fn restore_object(&self, object: Object) -> Result<(), Fault> {
        let mut state = self.write();
        state.data_bytes = state.data_bytes.saturating_add(object.data_bytes());
        state.remember_key(&object);
        if state
            .objects
            .insert(object.handle, Arc::new(object))
            .is_some()
        {
            return Err(Fault::Hard(crate::fault::HardError::Integrity));
        }
        Ok(())
    }
}
