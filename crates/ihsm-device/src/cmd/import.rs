//! Importing keys from outside the module without plaintext crossing the socket: ECDH P-384
//! to the partition's import key, HKDF, AES-KWP (approved); or RSA-OAEP to the partition's
//! RSA-3072 import key, then AES-KWP (`RsaAesKeyWrap`, never approved, opt-in).

use std::sync::Arc;

use ihsm_crypto::policy::Service;
use ihsm_crypto::{AesKey, Curve, HashAlg, RsaBits, RsaPrivateKey};
use ihsm_proto::msgs::{
    GetImportKeyRequest, GetImportKeyResponse, ImportKeyRequest, ImportKeyResponse,
};
use ihsm_proto::{Bytes, ImportKeyKind, MechanismId, Status};

use crate::cmd::object::{add_key, entering_material};
use crate::cmd::wrap::rsa_aes_unwrap;
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::Origin;
use crate::partition::Partition;
use crate::record;
use crate::store::Write;

/// The label the attestation key signs before an import key.
pub(crate) const IMPORT_KEY_LABEL: &[u8] = b"ihsm import key v1";
/// The HKDF salt of the ECDH import path (protocol section 10.6).
pub const IMPORT_SALT: &[u8] = b"ihsm import v1";

pub(crate) fn get_import_key(ctx: &Ctx<'_>, request: GetImportKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    let (public_key, mut approved) = match request.kind {
        ImportKeyKind::EcdhP384 => (partition.keys.import.public_point().to_vec(), true),
        ImportKeyKind::RsaOaep => {
            partition.permit_non_approved(MechanismId::RsaAesKeyWrap)?;
            let key = rsa_import_key(ctx, partition)?;
            // A step of a path that is never approved: flagged like the path itself.
            (key.public_key().spki().to_vec(), false)
        }
    };
    let message = [IMPORT_KEY_LABEL, &[u8::from(request.kind)], &public_key].concat();
    let signature =
        ctx.engine()
            .ecdsa_sign(&partition.keys.attestation, HashAlg::Sha384, &message)?;
    approved &= signature.approved;
    let internal = |_| Fault::Status(Status::Internal);
    let body = GetImportKeyResponse {
        public_key: Bytes::new(public_key).map_err(internal)?,
        signature: Bytes::new(signature.value).map_err(internal)?,
    };
    Ok(Served::new(body, approved))
}

pub(crate) fn import_key(ctx: &Ctx<'_>, request: ImportKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    partition.locked_room(crate::partition::ANY_KEY_ROOM)?;
    let engine = ctx.engine();
    let (payload, approved) = match (request.kind, &request.ephemeral_public_key) {
        (ImportKeyKind::EcdhP384, Some(ephemeral)) => {
            partition.permit(engine, MechanismId::Ecdh, Service::Ecdh(Curve::P384))?;
            let import = &partition.keys.import;
            let z = engine.ecdh(import, ephemeral)?;
            let info = [&ephemeral[..], import.public_point()].concat();
            let kek = engine.hkdf(HashAlg::Sha384, z.value.expose(), IMPORT_SALT, &info, 32)?;
            let kek_key = AesKey::from_bytes(kek.value.expose())?;
            let payload = engine.aes_key_unwrap(&kek_key, true, &request.wrapped)?;
            let approved = z.approved && kek.approved && payload.approved;
            (payload.value.into_zeroizing(), approved)
        }
        (ImportKeyKind::RsaOaep, None) => {
            partition.permit_non_approved(MechanismId::RsaAesKeyWrap)?;
            let key = partition
                .rsa_import()
                // No import key was ever handed out, so nothing can have been wrapped to it.
                .ok_or(Status::VerificationFailed)?;
            (
                rsa_aes_unwrap(ctx, &key, HashAlg::Sha256, &request.wrapped)?,
                false,
            )
        }
        _ => return Err(Status::MechanismParamInvalid.into()),
    };
    let material = entering_material(ctx, &request.template, &payload)?;
    let handle = add_key(ctx, &request.template, material, false, Origin::Entered)?;
    Ok(Served::new(ImportKeyResponse { handle }, approved))
}

/// The partition's RSA import key, generated and persisted on first use. Two first requests
/// may both generate one; the first to reach the record lock keeps its key, and the other's is
/// dropped, so no lock is held across the generation.
fn rsa_import_key(ctx: &Ctx<'_>, partition: &Partition) -> Result<Arc<RsaPrivateKey>, Fault> {
    if let Some(key) = partition.rsa_import() {
        return Ok(key);
    }
    partition.locked_room(crate::partition::rsa_pair_room(RsaBits::Rsa3072.bits()))?;
    let generated = Arc::new(ctx.engine().generate_rsa_key(RsaBits::Rsa3072)?.value);
    let change = partition.change()?;
    let _record = change.record();
    if let Some(key) = partition.rsa_import() {
        return Ok(key);
    }
    let record = partition
        .record_with(Some(&generated))
        .encode()
        .ok_or(Status::Internal)?;
    change.commit(
        &*ctx.shared.platform.store,
        vec![Write::Put(record::partition(&partition.name), record)],
    )?;
    change.set_rsa_import(Arc::clone(&generated));
    Ok(generated)
}
