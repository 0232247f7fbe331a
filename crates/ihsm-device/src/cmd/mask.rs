//! Masked key blobs: any key, sealed with AES-256-GCM under the partition masking key (from
//! the owner's backup secret), its attributes bound as associated data, to keep on the host
//! and restore into the same partition.
//!
//! Blob: `version (1) || key id (16) || IV (12) || attributes length (4, big-endian) ||
//! attributes (CBOR template) || flags (1) || GCM count (8, big-endian) || ciphertext || tag
//! (16)`. The associated data is `"ihsm masked key v1" || partition name || 0x00 || version ||
//! key id` followed by every field from the attributes length to the GCM count, and GCM
//! authenticates the IV itself, so a changed byte anywhere, or another partition's blob,
//! fails the tag.
//!
//! A masked key is in the partition's key ledger from the moment its blob exists: the ledger
//! keeps its GCM count (so restoring an old blob never lowers it) and, once the key is
//! destroyed, its tombstone.

use std::collections::BTreeMap;
use std::sync::Arc;

use ihsm_crypto::policy::Service;
use ihsm_crypto::AesBits;
use ihsm_proto::msgs::{MaskKeyRequest, MaskKeyResponse, UnmaskKeyRequest, UnmaskKeyResponse};
use ihsm_proto::{Attribute, AttributeType, Bytes, MechanismId, Status, Template};

use crate::cmd::object::{make_durable, new_object, put_ledger, store_new};
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{engine_curve, restrain, GcmClaim, Key, KeyMaterial};
use crate::partition::{Change, LedgerEntry, Partition};
use crate::record::{self, KeyFlags};
use crate::store::Write;

const VERSION: u8 = 1;
const LABEL: &[u8] = b"ihsm masked key v1";
const IV_LEN: usize = 12;
/// The fixed-size fields around the attributes: their length (4), flags (1), GCM count (8).
const TRAILER_LEN: usize = 13;

pub(crate) fn mask_key(ctx: &Ctx<'_>, request: MaskKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    partition.permit(
        ctx.engine(),
        MechanismId::AesGcm,
        Service::AesGcmEncrypt(AesBits::Aes256),
    )?;
    let store = &*ctx.shared.platform.store;
    // The ledger learns of the key before its blob exists (under the object lock, so the key
    // is not being destroyed); the locks are released before the blob is sealed.
    let (object, key) = {
        let change = partition.change()?;
        let _objects = change.objects();
        let (object, key) = ctx.key_object(request.key)?;
        make_durable(ctx, &change, &key)?;
        put_ledger(
            &change,
            store,
            partition,
            &key.id,
            key.gcm.high_water(),
            true,
        )?;
        claim_masking(&change, partition, ctx)?;
        (object, key)
    };
    let attributes = Template::new(object.attributes.values().cloned().collect::<Vec<_>>())
        .map_err(|_| Status::Internal)?
        .to_cbor();
    let attributes_len = u32::try_from(attributes.len()).map_err(|_| Status::Internal)?;
    // Everything after the IV and before the ciphertext; the IV is made by the engine.
    let mut bound = Vec::with_capacity(attributes.len() + TRAILER_LEN);
    bound.extend_from_slice(&attributes_len.to_be_bytes());
    bound.extend_from_slice(&attributes);
    bound.push(key.flags().to_byte());
    bound.extend_from_slice(&key.gcm.high_water().to_be_bytes());
    let aad = associated_data(partition, &key.id, &bound);
    if !partition.masking()?.gcm_ready() {
        partition.locked_room(crate::partition::LAZY_CONTEXT_ROOM)?;
    }
    let sealed =
        ctx.engine()
            .aes_gcm_encrypt(partition.masking()?, &aad, &key.material.to_bytes())?;
    let mut blob =
        Vec::with_capacity(1 + 16 + IV_LEN + bound.len() + sealed.value.ciphertext.len());
    blob.push(VERSION);
    blob.extend_from_slice(&key.id);
    blob.extend_from_slice(&sealed.value.iv);
    blob.extend_from_slice(&bound);
    blob.extend_from_slice(&sealed.value.ciphertext);
    let blob = Bytes::new(blob).map_err(|_| Status::KeySizeInvalid)?;
    Ok(Served::new(MaskKeyResponse { blob }, sealed.approved))
}

pub(crate) fn unmask_key(ctx: &Ctx<'_>, request: UnmaskKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    partition.locked_room(crate::partition::ANY_KEY_ROOM)?;
    partition.permit(
        ctx.engine(),
        MechanismId::AesGcm,
        Service::AesGcmDecrypt(AesBits::Aes256),
    )?;
    let invalid = || Fault::Status(Status::BlobInvalid);
    let blob = &request.blob[..];
    let (&version, rest) = blob.split_first().ok_or_else(invalid)?;
    let (id, rest) = rest.split_first_chunk::<16>().ok_or_else(invalid)?;
    let (iv, rest) = rest.split_first_chunk::<IV_LEN>().ok_or_else(invalid)?;
    let (len, after_len) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| invalid())?;
    let bound_len = len.checked_add(TRAILER_LEN).ok_or_else(invalid)?;
    let (bound, ciphertext) = rest.split_at_checked(bound_len).ok_or_else(invalid)?;
    let (attributes, trailer) = after_len.split_at_checked(len).ok_or_else(invalid)?;
    let (&flags, count) = trailer.split_first().ok_or_else(invalid)?;
    let blob_count = count
        .first_chunk::<8>()
        .map(|count| u64::from_be_bytes(*count))
        .ok_or_else(invalid)?;
    let flags = KeyFlags::from_byte(flags).ok_or_else(invalid)?;
    if version != VERSION {
        return Err(invalid());
    }
    // A destroyed key's blobs stay dead (checked again under the object lock below).
    if partition.read().ledger.get(id) == Some(&LedgerEntry::Tombstone) {
        return Err(invalid());
    }
    let aad = associated_data(partition, id, bound);
    let material = ctx
        .engine()
        .aes_gcm_decrypt(partition.masking()?, iv, &aad, ciphertext)
        .map_err(|error| match Fault::from(error) {
            Fault::Status(_) => invalid(),
            hard => hard,
        })?;
    let mut attributes: BTreeMap<_, _> = Template::from_cbor(attributes)
        .map_err(|_| invalid())?
        .into_vec()
        .into_iter()
        .map(|a| (a.attribute_type(), a))
        .collect();
    let store = &*ctx.shared.platform.store;
    let change = partition.change()?;
    // The key's last holder must not be destroyed between the checks and the insertion.
    let _objects = change.objects();
    let reserved = match partition.read().ledger.get(id) {
        Some(LedgerEntry::Tombstone) => return Err(invalid()),
        Some(LedgerEntry::Live { gcm_reserved, .. }) => *gcm_reserved,
        None => 0,
    };
    // What the key was fixed to binds its usages, whatever the blob's attributes say.
    restrain(&mut attributes, flags);
    let key = match partition.live_key(id) {
        // The key is in memory (held by an object, or by an operation in progress): share
        // it, and its GCM count. An old blob never loosens it: the restored object is no less
        // sensitive, and no more extractable, than the loosest object that holds it now.
        Some(key) => {
            let holders = partition.holders(id, None);
            if !holders.is_empty() {
                if holders.iter().all(|o| o.flag(AttributeType::Sensitive)) {
                    attributes.insert(AttributeType::Sensitive, Attribute::Sensitive(true));
                }
                if !holders.iter().any(|o| o.flag(AttributeType::Extractable)) {
                    attributes.insert(AttributeType::Extractable, Attribute::Extractable(false));
                }
            }
            key
        }
        None => {
            let class = match attributes.get(&AttributeType::Class) {
                Some(Attribute::Class(class)) => *class,
                _ => return Err(invalid()),
            };
            let key_type = match attributes.get(&AttributeType::KeyType) {
                Some(Attribute::KeyType(ty)) => *ty,
                _ => return Err(invalid()),
            };
            let curve = match attributes.get(&AttributeType::EcCurve) {
                Some(Attribute::EcCurve(curve)) => Some(engine_curve(*curve)),
                _ => None,
            };
            let material = KeyMaterial::parse(
                ctx.engine(),
                class,
                key_type,
                curve,
                material.value.expose(),
            )
            .map_err(|_| invalid())?;
            let key = Arc::new(Key::restored(
                *id,
                material,
                flags.kdf_input_only,
                flags.purpose,
                blob_count.max(reserved),
                reserved,
            )?);
            // A key restored from a blob has blobs: the ledger knows it from now on.
            make_durable(ctx, &change, &key)?;
            put_ledger(&change, store, partition, id, key.gcm.high_water(), true)?;
            key
        }
    };
    let class = key.material.class();
    let object = new_object(ctx, class, attributes, Some(key))?;
    let reservation = partition.reserve(0)?;
    let handle = store_new(ctx, &change, reservation, object)?;
    Ok(Served::new(UnmaskKeyResponse { handle }, material.approved))
}

/// Claims one encryption under the masking key, reserving the next block in its ledger
/// record when due.
fn claim_masking(change: &Change<'_>, partition: &Partition, ctx: &Ctx<'_>) -> Result<(), Fault> {
    match partition.masking_gcm.claim()? {
        GcmClaim::Covered => Ok(()),
        GcmClaim::Reserve(n) => {
            let block = ctx.shared.config.gcm_reservation;
            partition.masking_gcm.reserve(n, block, |next| {
                let value = record::ledger_value(LedgerEntry::Live {
                    gcm_reserved: next,
                    blobs: false,
                });
                change.commit(
                    &*ctx.shared.platform.store,
                    vec![Write::Put(record::masking_ledger(&partition.name), value)],
                )
            })
        }
    }
}

fn associated_data(partition: &Partition, id: &[u8; 16], bound: &[u8]) -> Vec<u8> {
    [
        LABEL,
        partition.name.as_str().as_bytes(),
        &[0],
        &[VERSION],
        id,
        bound,
    ]
    .concat()
}
