//! Key derivation: ECDH (whose raw output may only feed a KDF), HKDF and the SP 800-108
//! counter KDF.

use ihsm_crypto::policy::Service;
use ihsm_crypto::{GenericSecret, KDF_MIN_APPROVED_KEY_LEN};
use ihsm_proto::msgs::{DeriveKeyRequest, DeriveKeyResponse};
use ihsm_proto::{Attribute, AttributeType, KeyType, Mechanism, ObjectClass, Status};
use zeroize::Zeroizing;

use crate::cmd::object::{add_key, find};
use crate::cmd::{digest_len, engine_hash};
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{KeyMaterial, Origin};

pub(crate) fn derive_key(ctx: &Ctx<'_>, request: DeriveKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    partition.locked_room(crate::partition::SECRET_ROOM)?;
    let (base, key) = ctx.key_object(request.base_key)?;
    let engine = ctx.engine();
    let template = &request.template[..];
    let value_len = match find(template, AttributeType::ValueLen) {
        Some(Attribute::ValueLen(len)) => Some(usize::try_from(*len).unwrap_or(usize::MAX)),
        _ => None,
    };
    let check_usage = || -> Result<(), Fault> {
        if base.flag(AttributeType::Derive) {
            Ok(())
        } else {
            Err(Status::KeyUsageNotPermitted.into())
        }
    };
    let (secret, approved, kdf_input_only) = match (&request.mechanism, &key.material) {
        (Mechanism::Ecdh(params), KeyMaterial::EcPrivate(private)) => {
            check_usage()?;
            partition.permit(
                ctx.engine(),
                request.mechanism.id(),
                Service::Ecdh(private.curve()),
            )?;
            let shared = engine.ecdh(private, &params.peer_public_key)?;
            let mut value = shared.value.into_zeroizing();
            if let Some(len) = value_len {
                if len == 0 || len > value.len() {
                    return Err(Status::TemplateInconsistent.into());
                }
                value.truncate(len);
            }
            (value, shared.approved, true)
        }
        (Mechanism::Hkdf(params), KeyMaterial::Generic(secret)) => {
            check_usage()?;
            let hash = engine_hash(params.hash);
            let len = value_len.ok_or(Status::TemplateIncomplete)?;
            let salt = match &params.salt {
                Some(salt) => salt.to_vec(),
                None => vec![0; digest_len(hash)],
            };
            let info = params.info.as_ref().map(|i| i.to_vec()).unwrap_or_default();
            let service = Service::Hkdf {
                hash,
                empty_salt: salt.is_empty(),
                empty_info: info.is_empty(),
            };
            partition.permit(engine, request.mechanism.id(), service)?;
            let out = engine.hkdf(hash, secret.expose(), &salt, &info, len)?;
            (out.value.into_zeroizing(), out.approved, false)
        }
        (Mechanism::Sp800108CounterHmac(params), KeyMaterial::Generic(secret)) => {
            check_usage()?;
            let hash = engine_hash(params.hash);
            let len = value_len.ok_or(Status::TemplateIncomplete)?;
            let service = Service::KbkdfCounterHmac {
                hash,
                short_key: secret.len() < KDF_MIN_APPROVED_KEY_LEN,
            };
            partition.permit(engine, request.mechanism.id(), service)?;
            let out = engine.kbkdf_counter_hmac(
                hash,
                secret.expose(),
                &params.label,
                &params.context,
                len,
            )?;
            (out.value.into_zeroizing(), out.approved, false)
        }
        (Mechanism::Ecdh(_) | Mechanism::Hkdf(_) | Mechanism::Sp800108CounterHmac(_), _) => {
            return Err(Status::KeyTypeInconsistent.into())
        }
        _ => return Err(Status::MechanismInvalid.into()),
    };
    let material = derived_material(template, &secret, kdf_input_only)?;
    // The derived key is at most as protected as its base: always sensitive and never
    // extractable only if the base was.
    let origin = Origin::Derived {
        always_sensitive: base.flag(AttributeType::AlwaysSensitive),
        never_extractable: base.flag(AttributeType::NeverExtractable),
    };
    let handle = add_key(ctx, template, material, kdf_input_only, origin)?;
    Ok(Served::new(DeriveKeyResponse { handle }, approved))
}

/// The derived key: a generic secret unless the template asks for an AES or XTS key (the
/// raw output of ECDH is always a generic secret).
fn derived_material(
    template: &[Attribute],
    secret: &Zeroizing<Vec<u8>>,
    kdf_input_only: bool,
) -> Result<KeyMaterial, Fault> {
    if let Some(Attribute::Class(class)) = find(template, AttributeType::Class) {
        if *class != ObjectClass::SecretKey {
            return Err(Status::TemplateInconsistent.into());
        }
    }
    let key_type = match find(template, AttributeType::KeyType) {
        Some(Attribute::KeyType(ty)) => *ty,
        _ => KeyType::GenericSecret,
    };
    let invalid = |_| Fault::Status(Status::TemplateInconsistent);
    Ok(match key_type {
        KeyType::GenericSecret => {
            KeyMaterial::Generic(GenericSecret::from_bytes(secret).map_err(invalid)?)
        }
        _ if kdf_input_only => return Err(Status::TemplateInconsistent.into()),
        KeyType::Aes => KeyMaterial::Aes(ihsm_crypto::AesKey::from_bytes(secret).map_err(invalid)?),
        KeyType::AesXts => {
            KeyMaterial::Xts(ihsm_crypto::XtsKey::from_bytes(secret).map_err(invalid)?)
        }
        KeyType::Ec | KeyType::Rsa => return Err(Status::TemplateInconsistent.into()),
    })
}
