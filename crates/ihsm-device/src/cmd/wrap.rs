//! Wrapping keys out of the module and unwrapping them in: AES key wrap (KW, KWP) under an
//! AES key, RSA-OAEP of a secret key, and `RsaAesKeyWrap` (OAEP of a fresh AES key, then KWP
//! of the target, as PKCS#11 `CKM_RSA_AES_KEY_WRAP`; never approved, opt-in).

use std::sync::Arc;

use ihsm_crypto::policy::Service;
use ihsm_crypto::{AesKey, HashAlg, RsaPrivateKey, RsaPublicKey};
use ihsm_proto::msgs::{UnwrapKeyRequest, UnwrapKeyResponse, WrapKeyRequest, WrapKeyResponse};
use ihsm_proto::{AesKeySize, AttributeType, Bytes, Handle, Mechanism, MechanismId, Status};
use zeroize::Zeroizing;

use crate::cmd::engine_hash;
use crate::cmd::object::{add_key, entering_material};
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{Key, KeyMaterial, Origin, Purpose};

/// A wrapping mechanism.
enum Plan {
    Aes { padded: bool },
    Oaep { hash: HashAlg, label: Vec<u8> },
    RsaAes { hash: HashAlg, aes_len: usize },
}

fn plan(mechanism: &Mechanism) -> Result<Plan, Fault> {
    Ok(match mechanism {
        Mechanism::AesKeyWrap => Plan::Aes { padded: false },
        Mechanism::AesKeyWrapPad => Plan::Aes { padded: true },
        Mechanism::RsaOaep(params) => Plan::Oaep {
            hash: engine_hash(params.hash),
            label: params
                .label
                .as_ref()
                .map(|l| l.to_vec())
                .unwrap_or_default(),
        },
        Mechanism::RsaAesKeyWrap(params) => Plan::RsaAes {
            hash: engine_hash(params.hash),
            aes_len: match params.aes_size {
                AesKeySize::Aes128 => 16,
                AesKeySize::Aes192 => 24,
                AesKeySize::Aes256 => 32,
            },
        },
        _ => return Err(Status::MechanismInvalid.into()),
    })
}

/// The wrapping (or unwrapping) key, checked: type, usage, policy.
fn wrapping_key(
    ctx: &Ctx<'_>,
    handle: Handle,
    mechanism: &Mechanism,
    plan: &Plan,
    wrap: bool,
) -> Result<Arc<Key>, Fault> {
    let partition = ctx.partition()?;
    let (object, key) = ctx.key_object(handle)?;
    let usage = if wrap {
        AttributeType::Wrap
    } else {
        AttributeType::Unwrap
    };
    let bits = |material: &KeyMaterial| match material {
        KeyMaterial::RsaPublic(rsa) if wrap => Some(rsa.bits()),
        KeyMaterial::RsaPrivate(rsa) if !wrap => Some(rsa.bits()),
        _ => None,
    };
    let service = match (plan, &key.material) {
        (Plan::Aes { padded }, KeyMaterial::Aes(aes)) => Some(Service::AesKeyWrap {
            bits: aes.bits(),
            padded: *padded,
            wrap,
        }),
        (Plan::Oaep { hash, .. }, material) => {
            let bits = bits(material).ok_or(Status::KeyTypeInconsistent)?;
            Some(if wrap {
                Service::RsaOaepEncrypt { bits, hash: *hash }
            } else {
                Service::RsaOaepDecrypt { bits, hash: *hash }
            })
        }
        (Plan::RsaAes { .. }, material) => {
            bits(material).ok_or(Status::KeyTypeInconsistent)?;
            None
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    object.require_usage(usage)?;
    match service {
        Some(service) => partition.permit(ctx.engine(), mechanism.id(), service)?,
        // RSA-AES key wrap composes OAEP with key wrap of a key made for one use; ihsm does
        // not count it as approved, so it always needs the officer's opt-in.
        None => partition.permit_non_approved(MechanismId::RsaAesKeyWrap)?,
    }
    Ok(key)
}

pub(crate) fn wrap_key(ctx: &Ctx<'_>, request: WrapKeyRequest) -> Outcome {
    let plan = plan(&request.mechanism)?;
    let (target, target_key) = ctx.key_object(request.key)?;
    if matches!(
        target_key.material,
        KeyMaterial::EcPublic(_) | KeyMaterial::RsaPublic(_)
    ) {
        return Err(Status::KeyTypeInconsistent.into());
    }
    // Only extractable keys leave, and never the raw output of ECDH.
    if !target.flag(AttributeType::Extractable) || target_key.kdf_input_only {
        return Err(Status::KeyNotExtractable.into());
    }
    let wrapping = wrapping_key(ctx, request.wrapping_key, &request.mechanism, &plan, true)?;
    if let KeyMaterial::RsaPublic(public) = &wrapping.material {
        if private_half_serves_data(ctx, public)? {
            return Err(Status::KeyUsageNotPermitted.into());
        }
    }
    let payload = target_key.material.to_bytes();
    let engine = ctx.engine();
    let size = |fault: Fault| match fault {
        Fault::Status(Status::DataLenRange) => Fault::Status(Status::KeySizeInvalid),
        other => other,
    };
    let (wrapped, approved) = match (&plan, &wrapping.material) {
        (Plan::Aes { padded }, KeyMaterial::Aes(kek)) => {
            let out = engine
                .aes_key_wrap(kek, *padded, &payload)
                .map_err(|e| size(e.into()))?;
            (out.value, out.approved)
        }
        (Plan::Oaep { hash, label }, KeyMaterial::RsaPublic(rsa)) => {
            let out = engine
                .rsa_oaep_encrypt(rsa, *hash, label, &payload)
                .map_err(|e| size(e.into()))?;
            (out.value, out.approved)
        }
        (Plan::RsaAes { hash, aes_len }, KeyMaterial::RsaPublic(rsa)) => {
            (rsa_aes_wrap(ctx, rsa, *hash, *aes_len, &payload)?, false)
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    let wrapped = Bytes::new(wrapped).map_err(|_| Status::KeySizeInvalid)?;
    Ok(Served::new(WrapKeyResponse { wrapped }, approved))
}

pub(crate) fn unwrap_key(ctx: &Ctx<'_>, request: UnwrapKeyRequest) -> Outcome {
    ctx.partition()?
        .locked_room(crate::partition::ANY_KEY_ROOM)?;
    let plan = plan(&request.mechanism)?;
    let unwrapping = wrapping_key(
        ctx,
        request.unwrapping_key,
        &request.mechanism,
        &plan,
        false,
    )?;
    let engine = ctx.engine();
    let (payload, approved) = match (&plan, &unwrapping.material) {
        (Plan::Aes { padded }, KeyMaterial::Aes(kek)) => {
            let out = engine.aes_key_unwrap(kek, *padded, &request.wrapped)?;
            (out.value.into_zeroizing(), out.approved)
        }
        (Plan::Oaep { hash, label }, KeyMaterial::RsaPrivate(rsa)) => {
            let out = engine.rsa_oaep_decrypt(rsa, *hash, label, &request.wrapped)?;
            (out.value.into_zeroizing(), out.approved)
        }
        (Plan::RsaAes { hash, .. }, KeyMaterial::RsaPrivate(rsa)) => {
            (rsa_aes_unwrap(ctx, rsa, *hash, &request.wrapped)?, false)
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    let material = entering_material(ctx, &request.template, &payload)?;
    let handle = add_key(ctx, &request.template, material, false, Origin::Entered)?;
    Ok(Served::new(UnwrapKeyResponse { handle }, approved))
}

/// Whether the partition holds the private half of `public` as a data key: it would decrypt
/// what `public` wraps, so wrapping to `public` is refused. (Halves made together share a
/// purpose; this catches a public key entered on its own.)
fn private_half_serves_data(ctx: &Ctx<'_>, public: &RsaPublicKey) -> Result<bool, Fault> {
    let partition = ctx.partition()?;
    let state = partition.read();
    Ok(state
        .objects
        .values()
        .filter_map(|object| object.key.as_ref())
        .any(|key| {
            key.purpose == Purpose::Data
                && matches!(&key.material, KeyMaterial::RsaPrivate(private)
                    if private.public_key().spki() == public.spki())
        }))
}

/// `OAEP(K) || KWP(K, payload)` with a fresh AES key `K`.
pub(crate) fn rsa_aes_wrap(
    ctx: &Ctx<'_>,
    rsa: &RsaPublicKey,
    hash: HashAlg,
    aes_len: usize,
    payload: &[u8],
) -> Result<Vec<u8>, Fault> {
    let engine = ctx.engine();
    let mut fresh = Zeroizing::new(vec![0; aes_len]);
    let _ = engine.random(&mut fresh)?;
    let kek = AesKey::from_bytes(&fresh)?;
    let mut out = engine.rsa_oaep_encrypt(rsa, hash, &[], &fresh)?.value;
    out.extend(engine.aes_key_wrap(&kek, true, payload)?.value);
    Ok(out)
}

/// Opens `OAEP(K) || KWP(K, payload)`; any fault in either part is `VerificationFailed`.
pub(crate) fn rsa_aes_unwrap(
    ctx: &Ctx<'_>,
    rsa: &RsaPrivateKey,
    hash: HashAlg,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Fault> {
    let engine = ctx.engine();
    let modulus_len = rsa.bits().bits() / 8;
    let (oaep, kwp) = wrapped
        .split_at_checked(modulus_len)
        .ok_or(Status::VerificationFailed)?;
    let fresh = engine.rsa_oaep_decrypt(rsa, hash, &[], oaep)?.value;
    let kek = AesKey::from_bytes(fresh.expose()).map_err(|_| Status::VerificationFailed)?;
    Ok(engine
        .aes_key_unwrap(&kek, true, kwp)?
        .value
        .into_zeroizing())
}
