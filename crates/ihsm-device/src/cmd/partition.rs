//! Partition commands: create, list, reset and delete (admin); initialization and the
//! partition's state (its socket); policy and zeroization (officer).

use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError, RwLockWriteGuard};

use ihsm_crypto::arena::{self, Account};
use ihsm_crypto::{AesKey, Curve, Engine, HashAlg};
use ihsm_proto::msgs::{
    CreatePartitionRequest, CreatePartitionResponse, DeletePartitionRequest,
    DeletePartitionResponse, GetPartitionInfoResponse, GetPartitionPolicyResponse,
    InitializePartitionRequest, InitializePartitionResponse, ListPartitionsResponse, PartitionInfo,
    ResetPartitionRequest, ResetPartitionResponse, SetPartitionPolicyRequest,
    SetPartitionPolicyResponse, ZeroizePartitionResponse,
};
use ihsm_proto::{List, PartitionName, Quotas, Role, SecretBytes, Status, MAX_PARTITIONS};
use zeroize::Zeroizing;

use crate::credential::{open_sealed, PinVerifier};
use crate::device::{Ctx, Shared};
use crate::fault::{Fault, Outcome, Served};
use crate::partition::{LedgerEntry, Partition, PartitionKeys};
use crate::record;
use crate::store::{Table, Write};

/// The length of a partition owner's backup secret.
pub const BACKUP_SECRET_LEN: usize = 32;
/// The HKDF salt of the masking key.
const MASKING_KEY_SALT: &[u8] = b"ihsm masking key v1";

pub(crate) fn create(ctx: &Ctx<'_>, request: CreatePartitionRequest) -> Outcome {
    let _claim = Claim::new(ctx.shared, &request.name)?;
    // Its share of the locked arena is reserved first: no other partition can take it.
    let mut approved = true;
    let (account, keys) = account_and_keys(ctx.engine(), &request.quotas, true, &mut approved)?;
    // A name deleted before: the new partition's owner sees that the admin was there.
    let gone = ctx
        .shared
        .gone
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&request.name)
        .copied();
    let partition = Partition::uninitialized(
        request.name.clone(),
        keys,
        request.quotas,
        gone.unwrap_or(0),
        account.keep(),
    );
    let record = partition
        .record_with(None)
        .encode()
        .ok_or(Status::Internal)?;
    let mut writes = vec![Write::Put(record::partition(&request.name), record)];
    if gone.is_some() {
        writes.push(Write::Delete(record::gone(&request.name)));
    }
    ctx.shared.platform.store.commit(writes)?;
    ctx.shared
        .gone
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&request.name);
    ctx.shared
        .partitions
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(request.name, Arc::new(partition));
    Ok(Served::new(CreatePartitionResponse {}, approved))
}

/// The owner's first step on its partition's socket: the first officer PIN and the backup
/// secret, both sealed to the partition's credential key, so the admin never learns them.
pub(crate) fn initialize(ctx: &Ctx<'_>, request: InitializePartitionRequest) -> Outcome {
    let partition = ctx.partition()?;
    let mut bound = vec![&request.officer_credential.nonce];
    if let Some(backup) = &request.backup_secret {
        bound.push(&backup.nonce);
    }
    let nonce = ctx.conn.consume_nonce(&bound)?;
    let claim = partition.claim_initialization()?;
    let engine = ctx.engine();
    let open = |sealed, field| {
        open_sealed(
            engine,
            &partition.keys.credential,
            sealed,
            &nonce,
            ctx.opcode,
            field,
        )
    };
    let officer = open(&request.officer_credential, 0)?;
    let mut approved = officer.approved;
    let backup = match &request.backup_secret {
        Some(sealed) => {
            let opened = open(sealed, 1)?;
            approved &= opened.approved;
            if opened.secret.len() != BACKUP_SECRET_LEN {
                return Err(Status::CredentialInvalid.into());
            }
            opened.secret
        }
        None => {
            let mut secret = vec![0; BACKUP_SECRET_LEN];
            let random = engine.random(&mut secret);
            let secret = ihsm_crypto::SecretBytes::new(secret);
            approved &= random?.approved;
            secret
        }
    };
    let wrapped_backup_secret = match request.backup_secret {
        Some(_) => None,
        None => {
            let wrapped = engine.wrap_reply(&officer.reply, backup.expose())?;
            approved &= wrapped.approved;
            Some(SecretBytes::new(wrapped.value).map_err(|_| Status::Internal)?)
        }
    };
    let pin = officer.into_pin().checked()?;
    let masking = engine.hkdf(
        HashAlg::Sha384,
        backup.expose(),
        MASKING_KEY_SALT,
        partition.name.as_str().as_bytes(),
        32,
    )?;
    approved &= masking.approved;
    let masking = AesKey::from_bytes(masking.value.expose())?;
    let verifier = PinVerifier::new(engine, &pin, ctx.shared.config.pin_iterations)?;
    {
        let change = partition.change()?;
        let _record = change.record();
        let mut record = partition.record_with(partition.rsa_import().as_ref());
        record.masking_key = Some(Zeroizing::new(masking.expose().to_vec()));
        let record = record.encode().ok_or(Status::Internal)?;
        change.commit(
            &*ctx.shared.platform.store,
            vec![
                Write::Put(record::partition(&partition.name), record),
                Write::Put(
                    record::credential(Some(&partition.name), Role::CryptoOfficer),
                    verifier.to_bytes(),
                ),
                Write::Put(
                    record::counter(Some(&partition.name), Role::CryptoOfficer),
                    record::zero_count(),
                ),
            ],
        )?;
        let officer = partition.realm.credential(Role::CryptoOfficer);
        officer.set_verifier(Some(verifier));
        officer.set_failures(0);
        partition.set_masking(&claim, masking);
    }
    Ok(Served::new(
        InitializePartitionResponse {
            wrapped_backup_secret,
        },
        approved,
    ))
}

pub(crate) fn list(ctx: &Ctx<'_>) -> Outcome {
    let partitions: Vec<_> = ctx
        .shared
        .partitions
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    let partitions = List::new(partitions.iter().map(|p| info_of(p)).collect::<Vec<_>>())
        .map_err(|_| Status::Internal)?;
    Ok(Served::plain(ListPartitionsResponse { partitions }))
}

pub(crate) fn info(ctx: &Ctx<'_>) -> Outcome {
    Ok(Served::plain(GetPartitionInfoResponse {
        partition: info_of(ctx.partition()?),
    }))
}

/// A partition's state, quotas and use.
fn info_of(partition: &Partition) -> PartitionInfo {
    // One state lock at a time: a second read lock while the first is held would deadlock
    // behind a waiting writer.
    let quotas = partition.read().quotas.clone();
    let (logins, sessions) = partition.realm.counts();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    PartitionInfo {
        name: partition.name.clone(),
        quotas,
        object_count: partition.token_objects(),
        initialized: partition.initialized(),
        resets: partition.resets,
        sessions: count(sessions),
        logins: count(logins),
        connections: partition.connections(),
        locked_bytes: partition.locked_bytes(),
    }
}

pub(crate) fn delete(ctx: &Ctx<'_>, request: DeletePartitionRequest) -> Outcome {
    with_exclusive(ctx.shared, &request.name, |partition, mut gate| {
        let prefix = record::realm_prefix(Some(&request.name));
        let resets = partition.resets.saturating_add(1);
        ctx.shared.platform.store.commit(vec![
            Write::Put(
                record::gone(&request.name),
                Zeroizing::new(resets.to_be_bytes().to_vec()),
            ),
            Write::Delete(record::partition(&request.name)),
            Write::DeletePrefix(Table::Object, prefix.clone()),
            Write::DeletePrefix(Table::KeyLedger, prefix.clone()),
            Write::DeletePrefix(Table::Credential, prefix.clone()),
            Write::DeletePrefix(Table::Counter, prefix),
        ])?;
        *gate = true;
        ctx.shared
            .partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&request.name);
        ctx.shared
            .gone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.name.clone(), resets);
        forget(partition);
        Ok(Served::plain(DeletePartitionResponse {}))
    })
}

/// The admin's one way into a partition whose officer is lost: everything in it destroyed
/// and its own keys made anew, in one commit, leaving it uninitialized for its owner. No
/// credential of the admin's making ever opens a key that existed before.
pub(crate) fn reset(ctx: &Ctx<'_>, request: ResetPartitionRequest) -> Outcome {
    with_exclusive(ctx.shared, &request.name, |old, mut gate| {
        let resets = old.resets.saturating_add(1);
        let quotas = old.read().quotas.clone();
        // The new instance takes over the old one's share (already reserved), so a reset
        // never fails for want of locked memory another partition holds.
        let mut approved = true;
        let (account, keys) = account_and_keys(ctx.engine(), &quotas, false, &mut approved)?;
        let fresh =
            Partition::uninitialized(request.name.clone(), keys, quotas, resets, account.keep());
        let record = fresh.record_with(None).encode().ok_or(Status::Internal)?;
        let prefix = record::realm_prefix(Some(&request.name));
        ctx.shared.platform.store.commit(vec![
            Write::DeletePrefix(Table::Object, prefix.clone()),
            Write::DeletePrefix(Table::KeyLedger, prefix.clone()),
            Write::DeletePrefix(Table::Credential, prefix.clone()),
            Write::DeletePrefix(Table::Counter, prefix),
            Write::Put(record::partition(&request.name), record),
        ])?;
        *gate = true;
        ctx.shared
            .partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.name.clone(), Arc::new(fresh));
        forget(old);
        Ok(Served::new(ResetPartitionResponse { resets }, approved))
    })
}

/// Runs `change` on partition `name` with every other change to it excluded (deletion and
/// reset). Deletion and reset take the partition out of the map (or replace it) before they
/// let waiters in, so a waiter that finds its instance gone looks again.
fn with_exclusive(
    shared: &Shared,
    name: &PartitionName,
    change: impl FnOnce(&Arc<Partition>, RwLockWriteGuard<'_, bool>) -> Outcome,
) -> Outcome {
    loop {
        let partition = shared.partition(name)?;
        let Ok(gate) = partition.exclusive() else {
            continue;
        };
        return change(&partition, gate);
    }
}

/// An account opened for a partition being made: closed again if the making fails.
struct OpenAccount(Account);

impl OpenAccount {
    /// The partition is made: it keeps the account (and closes it when it goes).
    fn keep(self) -> Account {
        let account = self.0;
        core::mem::forget(self);
        account
    }
}

impl Drop for OpenAccount {
    fn drop(&mut self) {
        arena::close_account(self.0);
    }
}

/// Drops everything a partition instance that is gone holds in memory: its logins and
/// sessions end, its verifiers and objects go (each key zeroizes with its last holder), and
/// its share of the locked arena goes back.
fn forget(partition: &Partition) {
    for session in partition.realm.end_all() {
        session.close();
    }
    for role in [Role::CryptoOfficer, Role::CryptoUser] {
        partition.realm.credential(role).set_verifier(None);
    }
    partition.clear_objects();
    arena::close_account(partition.account);
}

/// A new partition instance's account in the locked arena (its share reserved, unless
/// `admit` is false) and its own keys, charged to it.
fn account_and_keys(
    engine: &Engine,
    quotas: &Quotas,
    admit: bool,
    approved: &mut bool,
) -> Result<(OpenAccount, PartitionKeys), Fault> {
    let share = usize::try_from(quotas.max_locked_bytes).unwrap_or(usize::MAX);
    let account = arena::open_account(share, admit).map_err(|_| Status::QuotaExceeded)?;
    let opened = OpenAccount(account);
    let _charge = arena::charge_to(account);
    let keys = partition_keys(engine, approved)?;
    Ok((opened, keys))
}

/// A partition's own keys, made by the DRBG with a pairwise-consistency test each.
fn partition_keys(engine: &Engine, approved: &mut bool) -> Result<PartitionKeys, Fault> {
    let mut generate = || -> Result<_, Fault> {
        let key = engine.generate_ec_key(Curve::P384)?;
        *approved &= key.approved;
        Ok(key.value)
    };
    Ok(PartitionKeys {
        attestation: generate()?,
        credential: generate()?,
        import: generate()?,
    })
}

pub(crate) fn policy(ctx: &Ctx<'_>) -> Outcome {
    let policy: Vec<_> = ctx.partition()?.read().policy.iter().copied().collect();
    let allow_non_approved = List::new(policy).map_err(|_| Status::Internal)?;
    Ok(Served::plain(GetPartitionPolicyResponse {
        allow_non_approved,
    }))
}

pub(crate) fn set_policy(ctx: &Ctx<'_>, request: SetPartitionPolicyRequest) -> Outcome {
    let partition = ctx.partition()?;
    let policy: BTreeSet<_> = request.allow_non_approved.iter().copied().collect();
    let change = partition.change()?;
    let _record = change.record();
    let mut record = partition.record_with(partition.rsa_import().as_ref());
    record.policy = policy.iter().copied().collect();
    let record = record.encode().ok_or(Status::Internal)?;
    change.commit(
        &*ctx.shared.platform.store,
        vec![Write::Put(record::partition(&partition.name), record)],
    )?;
    partition.write().policy = policy;
    Ok(Served::plain(SetPartitionPolicyResponse {}))
}

/// Destroys every object of the partition and tombstones every key that may have blobs, so
/// that no masked blob of the partition restores from now on (the ledger's other entries, GCM
/// counts of keys without blobs, go with their keys); active operations end.
pub(crate) fn zeroize(ctx: &Ctx<'_>) -> Outcome {
    let partition = ctx.partition()?;
    let gate = partition.exclusive()?;
    let ledger: Vec<_> = partition
        .read()
        .ledger
        .iter()
        .map(|(id, entry)| (*id, *entry))
        .collect();
    let mut writes = vec![Write::DeletePrefix(
        Table::Object,
        record::realm_prefix(Some(&partition.name)),
    )];
    let mut tombstones = Vec::new();
    for (id, entry) in ledger {
        let left = entry.after_destruction();
        if left != Some(entry) {
            writes.push(record::ledger_write(&partition.name, &id, left));
        }
        if left.is_some() {
            tombstones.push(id);
        }
    }
    ctx.shared.platform.store.commit(writes)?;
    for session in partition.realm.sessions() {
        session.abandon_key_operations();
    }
    partition.clear_objects();
    partition.write().ledger = tombstones
        .into_iter()
        .map(|id| (id, LedgerEntry::Tombstone))
        .collect();
    drop(gate);
    Ok(Served::plain(ZeroizePartitionResponse {}))
}

/// A partition name claimed while it is being created.
struct Claim<'a> {
    shared: &'a Shared,
    name: PartitionName,
}

impl<'a> Claim<'a> {
    fn new(shared: &'a Shared, name: &PartitionName) -> Result<Self, Fault> {
        let partitions = shared
            .partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut pending = shared
            .pending_partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if partitions.contains_key(name) || pending.contains(name) {
            return Err(Status::PartitionExists.into());
        }
        if partitions.len().saturating_add(pending.len()) >= MAX_PARTITIONS {
            return Err(Status::QuotaExceeded.into());
        }
        pending.insert(name.clone());
        Ok(Self {
            shared,
            name: name.clone(),
        })
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.shared
            .pending_partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.name);
    }
}
