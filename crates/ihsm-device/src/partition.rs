//! A partition: its keys, quotas, policy, objects and tombstones, and its realm of logins and
//! sessions. Each partition has its own locks; nothing here is shared between partitions.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ihsm_crypto::policy::{approval, Service};
use ihsm_crypto::{AesKey, EcPrivateKey, Engine, RsaPrivateKey};
use ihsm_proto::{Handle, LoginId, MechanismId, PartitionName, Quotas, Status};
use zeroize::Zeroizing;

use crate::fault::Fault;
use crate::object::{KeyId, Object};
use crate::realm::{Realm, RealmLimits};
use crate::record::PartitionRecord;

pub(crate) struct Partition {
    pub(crate) name: PartitionName,
    pub(crate) realm: Realm,
    pub(crate) keys: PartitionKeys,
    state: RwLock<PartitionState>,
    /// The RSA-3072 import key, made on first use (`GetImportKey` of kind `RsaOaep`). Its lock
    /// is also the partition record's: whoever rewrites the record (a policy change, the
    /// first import key) holds it from reading the record to the store's commit, so two
    /// rewrites cannot undo each other. Both are rare administrative changes; no operation
    /// on keys ever waits for it.
    rsa_import: Mutex<Option<Arc<RsaPrivateKey>>>,
}

/// The partition's own keys.
pub(crate) struct PartitionKeys {
    /// Signs the credential key and the import keys; pinned by clients on first use.
    pub(crate) attestation: EcPrivateKey,
    /// The P-384 key PINs and backup secrets are sealed to.
    pub(crate) credential: EcPrivateKey,
    /// The P-384 key of the approved import path.
    pub(crate) import: EcPrivateKey,
    /// AES-256, derived from the owner's backup secret: seals masked key blobs.
    pub(crate) masking: AesKey,
}

pub(crate) struct PartitionState {
    pub(crate) quotas: Quotas,
    pub(crate) policy: BTreeSet<MechanismId>,
    pub(crate) objects: HashMap<Handle, Arc<Object>>,
    pub(crate) tombstones: HashSet<KeyId>,
    /// Objects being made, counted against the quota before they exist.
    pending: u32,
    /// Bytes of data object values, including those being made.
    data_bytes: u64,
}

impl Partition {
    pub(crate) fn new(
        name: PartitionName,
        keys: PartitionKeys,
        quotas: Quotas,
        policy: BTreeSet<MechanismId>,
        rsa_import: Option<RsaPrivateKey>,
    ) -> Self {
        Self {
            name,
            realm: Realm::new(),
            keys,
            state: RwLock::new(PartitionState {
                quotas,
                policy,
                objects: HashMap::new(),
                tombstones: HashSet::new(),
                pending: 0,
                data_bytes: 0,
            }),
            rsa_import: Mutex::new(rsa_import.map(Arc::new)),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, PartitionState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, PartitionState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn rsa_import(&self) -> MutexGuard<'_, Option<Arc<RsaPrivateKey>>> {
        self.rsa_import
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn limits(&self) -> RealmLimits {
        let quotas = &self.read().quotas;
        RealmLimits {
            max_logins: quotas.max_logins,
            max_sessions: quotas.max_sessions,
        }
    }

    /// The partition's record with the RSA import key given: the caller holds
    /// [`Partition::rsa_import`]'s lock until the record is committed.
    pub(crate) fn record_with(&self, rsa_import: Option<&Arc<RsaPrivateKey>>) -> PartitionRecord {
        let state = self.read();
        PartitionRecord {
            quotas: state.quotas.clone(),
            policy: state.policy.iter().copied().collect(),
            attestation_pkcs8: secret(self.keys.attestation.pkcs8().expose()),
            credential_pkcs8: secret(self.keys.credential.pkcs8().expose()),
            import_pkcs8: secret(self.keys.import.pkcs8().expose()),
            masking_key: secret(self.keys.masking.expose()),
            rsa_import_pkcs8: rsa_import.map(|key| secret(key.pkcs8().expose())),
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

    /// Whether another object than `handle` holds the key `id`.
    pub(crate) fn key_shared(&self, id: &KeyId, handle: Handle) -> bool {
        self.read().objects.values().any(|object| {
            object.handle != handle && object.key.as_ref().is_some_and(|key| key.id == *id)
        })
    }

    /// A live object holding key `id`, for a restored blob to share its key (and its usage
    /// counters).
    pub(crate) fn live_key(&self, id: &KeyId) -> Option<Arc<crate::object::Key>> {
        self.read()
            .objects
            .values()
            .filter_map(|object| object.key.as_ref())
            .find(|key| key.id == *id)
            .cloned()
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
}

/// A quota reservation for an object being made.
pub(crate) struct Reservation {
    partition: Arc<Partition>,
    data_bytes: u64,
    done: bool,
}

impl Reservation {
    /// Inserts the object, ending the reservation. A session object whose session closed
    /// meanwhile is refused (`SessionNotFound`): it would outlive its session.
    pub(crate) fn insert(
        mut self,
        object: Object,
        session_alive: impl Fn() -> bool,
    ) -> Result<Handle, Fault> {
        let mut state = self.partition.write();
        if object.owner.is_some() && !session_alive() {
            return Err(Status::SessionNotFound.into());
        }
        if state.objects.contains_key(&object.handle) {
            return Err(Status::Internal.into());
        }
        state.pending = state.pending.saturating_sub(1);
        self.done = true;
        let handle = object.handle;
        state.objects.insert(handle, Arc::new(object));
        Ok(handle)
    }
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
