//! Signatures and MACs: ECDSA, RSA PKCS#1 v1.5 and PSS, HMAC; single-part (over a message or
//! a digest the caller made) and multi-part (over a message).

use std::sync::Arc;

use ihsm_crypto::policy::{RsaScheme, Service};
use ihsm_crypto::{
    GenericSecret, HashAlg, Indicated, RsaSignatureScheme, HMAC_MIN_APPROVED_KEY_LEN,
};
use ihsm_proto::msgs::{
    SignFinalResponse, SignInitRequest, SignInitResponse, SignRequest, SignResponse,
    SignUpdateRequest, SignUpdateResponse, VerifyFinalRequest, VerifyFinalResponse,
    VerifyInitRequest, VerifyInitResponse, VerifyRequest, VerifyResponse, VerifyUpdateRequest,
    VerifyUpdateResponse,
};
use ihsm_proto::{AttributeType, Bytes, Handle, Mechanism, Status};

use crate::cmd::{digest_len, engine_hash};
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{Key, KeyMaterial};
use crate::ops::{SignOperation, VerifyOperation};

/// What a signature mechanism asks for.
#[derive(Clone, Copy)]
struct Plan {
    family: Family,
    hash: HashAlg,
    /// The data is a digest the caller computed, not the message.
    prehashed: bool,
}

#[derive(Clone, Copy)]
enum Family {
    Ecdsa,
    Rsa(RsaSignatureScheme),
    Hmac,
}

/// The DER prefix of a PKCS#1 v1.5 DigestInfo, per hash.
const DIGEST_INFO_PREFIXES: [(HashAlg, [u8; 19]); 3] = [
    (HashAlg::Sha256, digest_info_prefix(0x31, 0x01, 0x20)),
    (HashAlg::Sha384, digest_info_prefix(0x41, 0x02, 0x30)),
    (HashAlg::Sha512, digest_info_prefix(0x51, 0x03, 0x40)),
];

const fn digest_info_prefix(len: u8, oid_last: u8, digest_len: u8) -> [u8; 19] {
    [
        0x30, len, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
        oid_last, 0x05, 0x00, 0x04, digest_len,
    ]
}

/// The plan of a mechanism for a single-part call over `data`, and the bytes to sign: the
/// message, or the digest (a DigestInfo's digest for `RsaPkcs1`).
fn single_part(mechanism: &Mechanism, data: &[u8]) -> Result<(Plan, Vec<u8>), Fault> {
    let plan = match mechanism {
        Mechanism::Ecdsa => {
            let hash = match data.len() {
                32 => HashAlg::Sha256,
                48 => HashAlg::Sha384,
                64 => HashAlg::Sha512,
                _ => return Err(Status::DataLenRange.into()),
            };
            Plan {
                family: Family::Ecdsa,
                hash,
                prehashed: true,
            }
        }
        Mechanism::RsaPkcs1 => {
            let (hash, digest) = DIGEST_INFO_PREFIXES
                .iter()
                .find_map(|(hash, prefix)| {
                    let digest = data.strip_prefix(&prefix[..])?;
                    (digest.len() == digest_len(*hash)).then_some((*hash, digest))
                })
                .ok_or(Status::DataLenRange)?;
            let plan = Plan {
                family: Family::Rsa(RsaSignatureScheme::Pkcs1),
                hash,
                prehashed: true,
            };
            return Ok((plan, digest.to_vec()));
        }
        Mechanism::RsaPss(params) => {
            let hash = engine_hash(params.hash);
            if data.len() != digest_len(hash) {
                return Err(Status::DataLenRange.into());
            }
            Plan {
                family: Family::Rsa(pss(params.salt_len.get())),
                hash,
                prehashed: true,
            }
        }
        other => multi_part(other)?,
    };
    Ok((plan, data.to_vec()))
}

/// The plan of a mechanism that hashes the message itself (all that multi-part allows).
fn multi_part(mechanism: &Mechanism) -> Result<Plan, Fault> {
    let (family, hash) = match mechanism {
        Mechanism::EcdsaSha256 => (Family::Ecdsa, HashAlg::Sha256),
        Mechanism::EcdsaSha384 => (Family::Ecdsa, HashAlg::Sha384),
        Mechanism::EcdsaSha512 => (Family::Ecdsa, HashAlg::Sha512),
        Mechanism::RsaPkcs1Sha256 => (Family::Rsa(RsaSignatureScheme::Pkcs1), HashAlg::Sha256),
        Mechanism::RsaPkcs1Sha384 => (Family::Rsa(RsaSignatureScheme::Pkcs1), HashAlg::Sha384),
        Mechanism::RsaPkcs1Sha512 => (Family::Rsa(RsaSignatureScheme::Pkcs1), HashAlg::Sha512),
        Mechanism::RsaPssSha256(p) => (Family::Rsa(pss(p.salt_len.get())), HashAlg::Sha256),
        Mechanism::RsaPssSha384(p) => (Family::Rsa(pss(p.salt_len.get())), HashAlg::Sha384),
        Mechanism::RsaPssSha512(p) => (Family::Rsa(pss(p.salt_len.get())), HashAlg::Sha512),
        Mechanism::HmacSha256 => (Family::Hmac, HashAlg::Sha256),
        Mechanism::HmacSha384 => (Family::Hmac, HashAlg::Sha384),
        Mechanism::HmacSha512 => (Family::Hmac, HashAlg::Sha512),
        _ => return Err(Status::MechanismInvalid.into()),
    };
    Ok(Plan {
        family,
        hash,
        prehashed: false,
    })
}

fn pss(salt_len: u32) -> RsaSignatureScheme {
    RsaSignatureScheme::Pss {
        salt_len: usize::try_from(salt_len).unwrap_or(usize::MAX),
    }
}

/// The key for a signature (`sign`) or verification, after the checks every operation makes
/// before touching a key: its type fits the mechanism, its usage allows the operation, and
/// the partition policy allows the service.
fn key_for(
    ctx: &Ctx<'_>,
    handle: Handle,
    mechanism: &Mechanism,
    plan: Plan,
    sign: bool,
) -> Result<Arc<Key>, Fault> {
    let partition = ctx.partition()?;
    let (object, key) = ctx.key_object(handle)?;
    let fits = matches!(
        (plan.family, &key.material, sign),
        (Family::Ecdsa, KeyMaterial::EcPrivate(_), true)
            | (Family::Ecdsa, KeyMaterial::EcPublic(_), false)
            | (Family::Rsa(_), KeyMaterial::RsaPrivate(_), true)
            | (Family::Rsa(_), KeyMaterial::RsaPublic(_), false)
            | (Family::Hmac, KeyMaterial::Generic(_), _)
    );
    if !fits {
        return Err(Status::KeyTypeInconsistent.into());
    }
    let usage = if sign {
        AttributeType::Sign
    } else {
        AttributeType::Verify
    };
    object.require_usage(usage)?;
    partition.permit(ctx.engine(), mechanism.id(), service(plan, &key, sign)?)?;
    Ok(key)
}

fn service(plan: Plan, key: &Key, sign: bool) -> Result<Service, Fault> {
    let (hash, prehashed) = (plan.hash, plan.prehashed);
    Ok(match (plan.family, &key.material) {
        (Family::Ecdsa, material) => {
            let curve = material.curve().ok_or(Status::KeyTypeInconsistent)?;
            if sign {
                Service::EcdsaSign {
                    curve,
                    hash,
                    prehashed,
                }
            } else {
                Service::EcdsaVerify {
                    curve,
                    hash,
                    prehashed,
                }
            }
        }
        (Family::Rsa(scheme), material) => {
            let bits = match material {
                KeyMaterial::RsaPrivate(key) => key.bits(),
                KeyMaterial::RsaPublic(key) => key.bits(),
                _ => return Err(Status::KeyTypeInconsistent.into()),
            };
            let scheme = match scheme {
                RsaSignatureScheme::Pkcs1 => RsaScheme::Pkcs1,
                RsaSignatureScheme::Pss { salt_len } if salt_len == digest_len(hash) => {
                    RsaScheme::PssSaltHashLen
                }
                RsaSignatureScheme::Pss { .. } => RsaScheme::PssSaltOther,
            };
            if sign {
                Service::RsaSign {
                    bits,
                    hash,
                    scheme,
                    prehashed,
                }
            } else {
                Service::RsaVerify {
                    bits,
                    hash,
                    scheme,
                    prehashed,
                }
            }
        }
        (Family::Hmac, KeyMaterial::Generic(secret)) => Service::Hmac {
            hash,
            short_key: secret.len() < HMAC_MIN_APPROVED_KEY_LEN,
        },
        (Family::Hmac, _) => return Err(Status::KeyTypeInconsistent.into()),
    })
}

pub(crate) fn sign(ctx: &Ctx<'_>, request: SignRequest) -> Outcome {
    let (plan, input) = single_part(&request.mechanism, request.data.expose())?;
    let key = key_for(ctx, request.key, &request.mechanism, plan, true)?;
    let engine = ctx.engine();
    let (hash, prehashed) = (plan.hash, plan.prehashed);
    let signature = match (plan.family, &key.material) {
        (Family::Ecdsa, KeyMaterial::EcPrivate(k)) if prehashed => {
            engine.ecdsa_sign_digest(k, hash, &input)?
        }
        (Family::Ecdsa, KeyMaterial::EcPrivate(k)) => engine.ecdsa_sign(k, hash, &input)?,
        (Family::Rsa(scheme), KeyMaterial::RsaPrivate(k)) if prehashed => {
            engine.rsa_sign_digest(k, scheme, hash, &input)?
        }
        (Family::Rsa(scheme), KeyMaterial::RsaPrivate(k)) => {
            engine.rsa_sign(k, scheme, hash, &input)?
        }
        (Family::Hmac, KeyMaterial::Generic(k)) => {
            hmac_room(ctx, k, hash)?;
            engine.hmac_sign(k, hash, &input)?
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    signed(signature, |signature| SignResponse { signature })
}

pub(crate) fn verify(ctx: &Ctx<'_>, request: VerifyRequest) -> Outcome {
    let (plan, input) = single_part(&request.mechanism, request.data.expose())?;
    let key = key_for(ctx, request.key, &request.mechanism, plan, false)?;
    let engine = ctx.engine();
    let (hash, prehashed, signature) = (plan.hash, plan.prehashed, &request.signature[..]);
    let verified = match (plan.family, &key.material) {
        (Family::Ecdsa, KeyMaterial::EcPublic(k)) if prehashed => {
            engine.ecdsa_verify_digest(k, hash, &input, signature)?
        }
        (Family::Ecdsa, KeyMaterial::EcPublic(k)) => {
            engine.ecdsa_verify(k, hash, &input, signature)?
        }
        (Family::Rsa(scheme), KeyMaterial::RsaPublic(k)) if prehashed => {
            engine.rsa_verify_digest(k, scheme, hash, &input, signature)?
        }
        (Family::Rsa(scheme), KeyMaterial::RsaPublic(k)) => {
            engine.rsa_verify(k, scheme, hash, &input, signature)?
        }
        (Family::Hmac, KeyMaterial::Generic(k)) => {
            hmac_room(ctx, k, hash)?;
            engine.hmac_verify(k, hash, &input, signature)?
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    Ok(Served::new(VerifyResponse {}, verified.approved))
}

pub(crate) fn sign_init(ctx: &Ctx<'_>, request: SignInitRequest) -> Outcome {
    // The operation's context lives in locked memory until its `Final`.
    ctx.locked_room(crate::partition::OPERATION_CONTEXT_ROOM)?;
    let session = ctx.session()?;
    session.sign.ensure_idle()?;
    let plan = multi_part(&request.mechanism)?;
    let key = key_for(ctx, request.key, &request.mechanism, plan, true)?;
    let engine = ctx.engine();
    let operation = match (plan.family, &key.material) {
        (Family::Ecdsa, KeyMaterial::EcPrivate(k)) => {
            SignOperation::Signature(engine.ecdsa_sign_init(k, plan.hash)?)
        }
        (Family::Rsa(scheme), KeyMaterial::RsaPrivate(k)) => {
            SignOperation::Signature(engine.rsa_sign_init(k, scheme, plan.hash)?)
        }
        (Family::Hmac, KeyMaterial::Generic(k)) => {
            hmac_room(ctx, k, plan.hash)?;
            SignOperation::Hmac(engine.hmac_init(k, plan.hash)?)
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    session.sign.start(operation)?;
    Ok(Served::plain(SignInitResponse {}))
}

pub(crate) fn sign_update(ctx: &Ctx<'_>, request: SignUpdateRequest) -> Outcome {
    ctx.session()?.sign.update(|operation| {
        match operation {
            SignOperation::Signature(context) => context.update(request.data.expose()),
            SignOperation::Hmac(context) => context.update(request.data.expose()),
        }
        .map_err(Fault::from)
    })?;
    Ok(Served::plain(SignUpdateResponse {}))
}

pub(crate) fn sign_final(ctx: &Ctx<'_>) -> Outcome {
    let signature = ctx.session()?.sign.finish(|operation| {
        match operation {
            SignOperation::Signature(context) => context.finish(),
            SignOperation::Hmac(context) => context.sign(),
        }
        .map_err(Fault::from)
    })?;
    signed(signature, |signature| SignFinalResponse { signature })
}

pub(crate) fn verify_init(ctx: &Ctx<'_>, request: VerifyInitRequest) -> Outcome {
    // The operation's context lives in locked memory until its `Final`.
    ctx.locked_room(crate::partition::OPERATION_CONTEXT_ROOM)?;
    let session = ctx.session()?;
    session.verify.ensure_idle()?;
    let plan = multi_part(&request.mechanism)?;
    let key = key_for(ctx, request.key, &request.mechanism, plan, false)?;
    let engine = ctx.engine();
    let operation = match (plan.family, &key.material) {
        (Family::Ecdsa, KeyMaterial::EcPublic(k)) => {
            VerifyOperation::Signature(engine.ecdsa_verify_init(k, plan.hash)?)
        }
        (Family::Rsa(scheme), KeyMaterial::RsaPublic(k)) => {
            VerifyOperation::Signature(engine.rsa_verify_init(k, scheme, plan.hash)?)
        }
        (Family::Hmac, KeyMaterial::Generic(k)) => {
            hmac_room(ctx, k, plan.hash)?;
            VerifyOperation::Hmac(engine.hmac_init(k, plan.hash)?)
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    session.verify.start(operation)?;
    Ok(Served::plain(VerifyInitResponse {}))
}

pub(crate) fn verify_update(ctx: &Ctx<'_>, request: VerifyUpdateRequest) -> Outcome {
    ctx.session()?.verify.update(|operation| {
        match operation {
            VerifyOperation::Signature(context) => context.update(request.data.expose()),
            VerifyOperation::Hmac(context) => context.update(request.data.expose()),
        }
        .map_err(Fault::from)
    })?;
    Ok(Served::plain(VerifyUpdateResponse {}))
}

pub(crate) fn verify_final(ctx: &Ctx<'_>, request: VerifyFinalRequest) -> Outcome {
    let verified = ctx.session()?.verify.finish(|operation| {
        match operation {
            VerifyOperation::Signature(context) => context.finish(&request.signature),
            VerifyOperation::Hmac(context) => context.verify(&request.signature),
        }
        .map_err(Fault::from)
    })?;
    Ok(Served::new(VerifyFinalResponse {}, verified.approved))
}

fn signed<R: Into<ihsm_proto::ResponseBody>>(
    signature: Indicated<Vec<u8>>,
    body: impl FnOnce(ihsm_proto::Signature) -> R,
) -> Outcome {
    let approved = signature.approved;
    let signature = Bytes::new(signature.value).map_err(|_| Status::Internal)?;
    Ok(Served::new(body(signature), approved))
}

/// Room in locked memory for a key's HMAC context, made on its first use with `hash`.
fn hmac_room(ctx: &Ctx<'_>, key: &GenericSecret, hash: HashAlg) -> Result<(), Fault> {
    if key.hmac_ready(hash) {
        return Ok(());
    }
    ctx.locked_room(crate::partition::LAZY_CONTEXT_ROOM)
}
