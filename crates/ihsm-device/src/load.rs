//! Power-on: rebuilding the device's state from the store's records.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use ihsm_crypto::arena;
use ihsm_crypto::AesKey;
use ihsm_proto::{Handle, PartitionName, Role};

use crate::credential::PinVerifier;
use crate::device::Shared;
use crate::fault::{Fault, HardError};
use crate::object::Object;
use crate::partition::{LedgerEntry, Partition, PartitionKeys};
use crate::record::{
    self, parse_ledger_value, split_realm_key, ObjectRecord, PartitionRecord, MASKING_LEDGER_SUFFIX,
};
use crate::store::{Record, Table};

/// Restores partitions, credentials, counters, the key ledger and objects. A record that does
/// not parse, or that names a partition that does not exist, is an integrity failure: the
/// device latches its error state rather than run on state it cannot trust.
pub(crate) fn restore(shared: &Shared, records: Vec<Record>) -> Result<(), Fault> {
    let refused_before = arena::stats().map_or(0, |s| s.refused);
    let restored = restore_records(shared, records);
    // A key that did not parse because the locked arena was full is not a damaged store.
    if restored.is_err() && arena::stats().is_some_and(|s| s.refused > refused_before) {
        return Err(Fault::Hard(HardError::LockedMemory));
    }
    restored
}

fn restore_records(shared: &Shared, records: Vec<Record>) -> Result<(), Fault> {
    let corrupt = Fault::Hard(HardError::Integrity);
    let engine = &shared.engine;
    // The ledger first: keys and the masking key resume their GCM counts from it.
    let mut ledgers: BTreeMap<PartitionName, HashMap<[u8; 16], LedgerEntry>> = BTreeMap::new();
    let mut masking_counts = BTreeMap::new();
    for (key, value) in records.iter().filter(|(k, _)| k.table == Table::KeyLedger) {
        let (name, rest) = split_realm_key(&key.key).ok_or(corrupt)?;
        let entry = parse_ledger_value(value).ok_or(corrupt)?;
        if rest == MASKING_LEDGER_SUFFIX {
            let LedgerEntry::Live { gcm_reserved, .. } = entry else {
                return Err(corrupt);
            };
            masking_counts.insert(name, gcm_reserved);
        } else {
            let id = <[u8; 16]>::try_from(rest).map_err(|_| corrupt)?;
            ledgers.entry(name).or_default().insert(id, entry);
        }
    }
    let mut partitions = BTreeMap::new();
    for (key, value) in records.iter().filter(|(k, _)| k.table == Table::Partition) {
        let name = core::str::from_utf8(&key.key)
            .ok()
            .and_then(|name| PartitionName::new(name).ok())
            .ok_or(corrupt)?;
        let record = PartitionRecord::decode(value).ok_or(corrupt)?;
        // Its share was admitted when it was made; it is its own again, whatever others
        // were given since (an arena made smaller shows as over-committed, not refused).
        let share = usize::try_from(record.quotas.max_locked_bytes).unwrap_or(usize::MAX);
        let account = arena::open_account(share, false).unwrap_or(arena::DEVICE);
        let _charge = arena::charge_to(account);
        let ec = |der: &[u8]| engine.ec_private_key_from_pkcs8(der).map_err(|_| corrupt);
        let masking_count = masking_counts.remove(&name).unwrap_or(0);
        let masking = match &record.masking_key {
            Some(key) if masking_count > 0 => Some((
                AesKey::with_gcm_invocations(key, masking_count).map_err(|_| corrupt)?,
                masking_count,
            )),
            Some(key) => Some((AesKey::from_bytes(key).map_err(|_| corrupt)?, 0)),
            // An uninitialized partition has masked nothing.
            None if masking_count > 0 => return Err(corrupt),
            None => None,
        };
        let keys = PartitionKeys {
            attestation: ec(&record.attestation_pkcs8)?,
            credential: ec(&record.credential_pkcs8)?,
            import: ec(&record.import_pkcs8)?,
        };
        let rsa_import = match &record.rsa_import_pkcs8 {
            Some(der) => Some(
                engine
                    .rsa_private_key_from_pkcs8(der)
                    .map_err(|_| corrupt)?,
            ),
            None => None,
        };
        let policy = record.policy.iter().copied().collect();
        let mut partition = Partition::new(
            name.clone(),
            keys,
            masking,
            record.resets,
            record.quotas,
            policy,
            rsa_import,
        );
        partition.account = account;
        partition.write().ledger = ledgers.remove(&name).unwrap_or_default();
        partitions.insert(name, Arc::new(partition));
    }
    // A ledger record of a partition that does not exist.
    if !ledgers.is_empty() || !masking_counts.is_empty() {
        return Err(corrupt);
    }
    let mut keys = BTreeMap::<PartitionName, HashMap<_, _>>::new();
    for (key, value) in &records {
        match key.table {
            Table::Partition | Table::KeyLedger => {}
            Table::Device => {
                let name = record::gone_name(&key.key).ok_or(corrupt)?;
                let count = <[u8; 4]>::try_from(value.as_slice()).map_err(|_| corrupt)?;
                shared
                    .gone
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(name, u32::from_be_bytes(count));
            }
            Table::Credential | Table::Counter => {
                let (partition, role) = realm_role(&key.key, &partitions).ok_or(corrupt)?;
                let realm = partition.map_or(&shared.admin, |p| &p.realm);
                let slot = realm.credential(role);
                if key.table == Table::Credential {
                    slot.set_verifier(Some(PinVerifier::from_bytes(value).ok_or(corrupt)?));
                } else {
                    let count = <[u8; 4]>::try_from(value.as_slice()).map_err(|_| corrupt)?;
                    slot.set_failures(u32::from_be_bytes(count));
                }
            }
            Table::Object => {
                let (name, rest) = split_realm_key(&key.key).ok_or(corrupt)?;
                let partition = partitions.get(&name).ok_or(corrupt)?;
                let record = ObjectRecord::decode(value).ok_or(corrupt)?;
                let handle = <[u8; 8]>::try_from(rest)
                    .ok()
                    .and_then(|bytes| Handle::new(u64::from_be_bytes(bytes)))
                    .ok_or(corrupt)?;
                if record.handle != handle {
                    return Err(corrupt);
                }
                let reserved = |id: &[u8; 16]| match partition.read().ledger.get(id) {
                    Some(LedgerEntry::Live { gcm_reserved, .. }) => *gcm_reserved,
                    _ => 0,
                };
                let shared_keys = keys.entry(name).or_default();
                let _charge = arena::charge_to(partition.account);
                let object =
                    Object::from_record(engine, record, shared_keys, reserved).ok_or(corrupt)?;
                // A token object of a destroyed key: the store is not what the device wrote.
                if let Some(key) = &object.key {
                    if partition.read().ledger.get(&key.id) == Some(&LedgerEntry::Tombstone) {
                        return Err(corrupt);
                    }
                }
                partition.restore_object(object)?;
            }
        }
    }
    // An uninitialized partition (new, or reset) holds nothing: its initialization commits
    // the masking key with the first officer PIN, before any object can exist.
    for partition in partitions.values().filter(|p| !p.initialized()) {
        let holds_credentials = [Role::CryptoOfficer, Role::CryptoUser]
            .iter()
            .any(|role| partition.realm.credential(*role).verifier().is_some());
        let state = partition.read();
        if holds_credentials || !state.objects.is_empty() || !state.ledger.is_empty() {
            return Err(corrupt);
        }
    }
    let initialized = shared.admin.credential(Role::Admin).verifier().is_some();
    shared.initialized.store(initialized, Ordering::Release);
    *shared
        .partitions
        .write()
        .unwrap_or_else(PoisonError::into_inner) = partitions;
    Ok(())
}

/// The realm (`None`: admin) and role of a credential or counter key.
fn realm_role<'a>(
    key: &[u8],
    partitions: &'a BTreeMap<PartitionName, Arc<Partition>>,
) -> Option<(Option<&'a Arc<Partition>>, Role)> {
    if let [0, role] = key {
        let role = Role::try_from(*role).ok()?;
        return (role == Role::Admin).then_some((None, role));
    }
    let (name, rest) = split_realm_key(key)?;
    let [role] = rest else { return None };
    let role = Role::try_from(*role).ok()?;
    if role == Role::Admin {
        return None;
    }
    Some((Some(partitions.get(&name)?), role))
}
