//! Key generation: secret keys from the DRBG, key pairs with their pairwise-consistency test.

use ihsm_crypto::policy::Service;
use ihsm_crypto::{AesKey, GenericSecret, RsaBits, XtsKey};
use ihsm_proto::msgs::{
    GenerateKeyPairRequest, GenerateKeyPairResponse, GenerateKeyRequest, GenerateKeyResponse,
};
use ihsm_proto::{AesKeySize, KeyPairSpec, KeySpec, KeyType, MechanismId, ObjectClass, RsaKeySize};

use crate::cmd::object::{add_key, new_key, new_object, store_new_all};
use crate::device::Ctx;
use crate::fault::{Outcome, Served};
use crate::object::{build, engine_curve, intrinsic, purpose_of, KeyMaterial, Origin};
use crate::partition::{rsa_pair_room, EC_PAIR_ROOM, SECRET_ROOM};

/// The length of an AES-XTS key (two AES-256 keys).
const XTS_KEY_LEN: usize = 64;

pub(crate) fn generate_key(ctx: &Ctx<'_>, request: GenerateKeyRequest) -> Outcome {
    let partition = ctx.partition()?;
    partition.locked_room(SECRET_ROOM)?;
    let (mechanism, key_type, len) = match request.spec {
        KeySpec::Aes(size) => (MechanismId::AesKeyGen, KeyType::Aes, aes_len(size)),
        KeySpec::AesXts => (MechanismId::AesXtsKeyGen, KeyType::AesXts, XTS_KEY_LEN),
        KeySpec::GenericSecret(len) => (
            MechanismId::GenericSecretKeyGen,
            KeyType::GenericSecret,
            usize::try_from(len.get()).unwrap_or(usize::MAX),
        ),
    };
    partition.permit(ctx.engine(), mechanism, Service::Random)?;
    let mut bytes = zeroize::Zeroizing::new(vec![0; len]);
    let random = ctx.engine().random(&mut bytes)?;
    let material = match key_type {
        KeyType::Aes => KeyMaterial::Aes(AesKey::from_bytes(&bytes)?),
        KeyType::AesXts => KeyMaterial::Xts(XtsKey::from_bytes(&bytes)?),
        _ => KeyMaterial::Generic(GenericSecret::from_bytes(&bytes)?),
    };
    let handle = add_key(
        ctx,
        &request.template,
        material,
        false,
        Origin::Generated(mechanism),
    )?;
    Ok(Served::new(GenerateKeyResponse { handle }, random.approved))
}

pub(crate) fn generate_key_pair(ctx: &Ctx<'_>, request: GenerateKeyPairRequest) -> Outcome {
    let partition = ctx.partition()?;
    let engine = ctx.engine();
    let (mechanism, key_type, service) = match request.spec {
        KeyPairSpec::Ec(curve) => (
            MechanismId::EcKeyPairGen,
            KeyType::Ec,
            Service::EcKeyGen(engine_curve(curve)),
        ),
        KeyPairSpec::Rsa(size) => (
            MechanismId::RsaKeyPairGen,
            KeyType::Rsa,
            Service::RsaKeyGen(rsa_bits(size)),
        ),
    };
    partition.permit(engine, mechanism, service)?;
    partition.locked_room(match request.spec {
        KeyPairSpec::Ec(_) => EC_PAIR_ROOM,
        KeyPairSpec::Rsa(size) => rsa_pair_room(rsa_bits(size).bits()),
    })?;
    let public_reservation = partition.reserve(0)?;
    let private_reservation = partition.reserve(0)?;
    // A pairwise-consistency failure latches the error state inside the engine: the key
    // never leaves this function, and the fault below reaches the device as a hard error.
    let (private, public, approved) = match request.spec {
        KeyPairSpec::Ec(curve) => {
            let generated = engine.generate_ec_key(engine_curve(curve))?;
            let public = KeyMaterial::EcPublic(generated.value.public_key()?);
            (
                KeyMaterial::EcPrivate(generated.value),
                public,
                generated.approved,
            )
        }
        KeyPairSpec::Rsa(size) => {
            let generated = engine.generate_rsa_key(rsa_bits(size))?;
            let public = engine.rsa_public_key(generated.value.public_key().spki())?;
            (
                KeyMaterial::RsaPrivate(generated.value),
                KeyMaterial::RsaPublic(public),
                generated.approved,
            )
        }
    };
    let origin = Origin::Generated(mechanism);
    // The two halves serve one purpose: a public key that wraps and a private key that
    // decrypts would open each other's output.
    let purpose = purpose_of(&[&request.public_template, &request.private_template]);
    let public = new_key(ctx, public, false, purpose)?;
    let private = new_key(ctx, private, false, purpose)?;
    let public_attributes = build(
        ObjectClass::PublicKey,
        Some(key_type),
        &request.public_template,
        intrinsic(&public.material)?,
        origin,
        Some(public.flags()),
    )?;
    let private_attributes = build(
        ObjectClass::PrivateKey,
        Some(key_type),
        &request.private_template,
        intrinsic(&private.material)?,
        origin,
        Some(private.flags()),
    )?;
    let public = new_object(ctx, ObjectClass::PublicKey, public_attributes, Some(public))?;
    let private = new_object(
        ctx,
        ObjectClass::PrivateKey,
        private_attributes,
        Some(private),
    )?;
    let handles = store_new_all(
        ctx,
        &partition.change()?,
        vec![(public_reservation, public), (private_reservation, private)],
    )?;
    let [public_handle, private_handle] = handles[..] else {
        return Err(ihsm_proto::Status::Internal.into());
    };
    Ok(Served::new(
        GenerateKeyPairResponse {
            public_handle,
            private_handle,
        },
        approved,
    ))
}

fn aes_len(size: AesKeySize) -> usize {
    match size {
        AesKeySize::Aes128 => 16,
        AesKeySize::Aes192 => 24,
        AesKeySize::Aes256 => 32,
    }
}

pub(crate) fn rsa_bits(size: RsaKeySize) -> RsaBits {
    match size {
        RsaKeySize::Rsa2048 => RsaBits::Rsa2048,
        RsaKeySize::Rsa3072 => RsaBits::Rsa3072,
        RsaKeySize::Rsa4096 => RsaBits::Rsa4096,
    }
}
