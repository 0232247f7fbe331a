//! Masked key blobs: any key, sealed with AES-256-GCM under the partition masking key (from
//! the owner's backup secret), its attributes bound as associated data, to keep on the host
//! and restore into the same partition.
//!
//! Blob: `version (1) || key id (16) || IV (12) || attributes length (4, big-endian) ||
//! attributes (CBOR template) || flags (1) || GCM count (8, big-endian) || ciphertext || tag
//! (16)`. The associated data is `"ihsm masked key v1" || partition name || 0x00 || version ||
//! key id` followed by every field from the attributes length to the GCM count, and GCM
//! authenticates the IV itself, so a changed byte anywhere, or another partition's blob,
//! fails the tag. The GCM count carries an AES key's encryptions so far to a restored copy.

use std::collections::BTreeMap;

use ihsm_crypto::policy::Service;
use ihsm_crypto::AesBits;
use ihsm_proto::msgs::{MaskKeyRequest, MaskKeyResponse, UnmaskKeyRequest, UnmaskKeyResponse};
use ihsm_proto::{Attribute, AttributeType, Bytes, MechanismId, Status, Template};

use crate::cmd::object::{new_object, store_new};
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{engine_curve, Key, KeyMaterial};
use crate::partition::Partition;

const VERSION: u8 = 1;
const LABEL: &[u8] = b"ihsm masked key v1";
const IV_LEN: usize = 12;
const KDF_INPUT_ONLY: u8 = 1;
/// The fixed-size fields around the attributes: their length (4), flags (1), GCM count (8).
const TRAILER_LEN: usize = 13;

pub(crate) fn mask_key(ctx: &Ctx<'_>, request: MaskKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    let (object, key) = ctx.key_object(request.key)?;
    partition.permit(
        ctx.engine(),
        MechanismId::AesGcm,
        Service::AesGcmEncrypt(AesBits::Aes256),
    )?;
    let attributes = Template::new(object.attributes.values().cloned().collect::<Vec<_>>())
        .map_err(|_| Status::Internal)?
        .to_cbor();
    let attributes_len = u32::try_from(attributes.len()).map_err(|_| Status::Internal)?;
    let flags = if key.kdf_input_only {
        KDF_INPUT_ONLY
    } else {
        0
    };
    // Everything after the IV and before the ciphertext; the IV is made by the engine.
    let mut bound = Vec::with_capacity(attributes.len() + TRAILER_LEN);
    bound.extend_from_slice(&attributes_len.to_be_bytes());
    bound.extend_from_slice(&attributes);
    bound.push(flags);
    bound.extend_from_slice(&key.gcm_count().to_be_bytes());
    let aad = associated_data(partition, &key.id, &bound);
    let sealed =
        ctx.engine()
            .aes_gcm_encrypt(&partition.keys.masking, &aad, &key.material.to_bytes())?;
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
    let gcm_count = count
        .first_chunk::<8>()
        .map(|count| u64::from_be_bytes(*count))
        .ok_or_else(invalid)?;
    if version != VERSION || flags & !KDF_INPUT_ONLY != 0 {
        return Err(invalid());
    }
    // A destroyed key's blobs stay dead.
    if partition.read().tombstones.contains(id) {
        return Err(invalid());
    }
    let aad = associated_data(partition, id, bound);
    let material = ctx
        .engine()
        .aes_gcm_decrypt(&partition.keys.masking, iv, &aad, ciphertext)
        .map_err(|error| match Fault::from(error) {
            Fault::Status(_) => invalid(),
            hard => hard,
        })?;
    let attributes: BTreeMap<_, _> = Template::from_cbor(attributes)
        .map_err(|_| invalid())?
        .into_vec()
        .into_iter()
        .map(|a| (a.attribute_type(), a))
        .collect();
    let key = match partition.live_key(id) {
        // The key is still loaded: share it, and its usage counters.
        Some(key) => key,
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
            let kdf_input_only = flags & KDF_INPUT_ONLY != 0;
            std::sync::Arc::new(Key::restored(*id, material, kdf_input_only, gcm_count)?)
        }
    };
    let class = key.material.class();
    let object = new_object(ctx, class, attributes, Some(key))?;
    let reservation = partition.reserve(0)?;
    let handle = store_new(ctx, reservation, object)?;
    Ok(Served::new(UnmaskKeyResponse { handle }, material.approved))
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
