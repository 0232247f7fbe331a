//! The secret (or public) part of a key object, parsed once and shared by every object that
//! names the same key (copies, restored blobs).

use std::sync::atomic::{AtomicU64, Ordering};

use ihsm_crypto::{
    AesKey, Curve, EcPrivateKey, EcPublicKey, Engine, Error as CryptoError, GenericSecret,
    RsaPrivateKey, RsaPublicKey, XtsKey,
};
use ihsm_proto::{KeyType, ObjectClass, Status};
use zeroize::Zeroizing;

use crate::fault::Fault;

/// A key's stable identity: random, kept by its copies and its masked blobs, and written as a
/// tombstone when the key is destroyed.
pub(crate) type KeyId = [u8; 16];

/// How many AES-GCM encryptions a persistent key reserves in the store at a time: its record
/// always counts at least as many encryptions as it has made, so a restart never lowers the
/// count the GCM cap is checked against.
pub(crate) const GCM_RESERVATION: u64 = 1 << 20;

pub(crate) struct Key {
    pub(crate) id: KeyId,
    pub(crate) material: KeyMaterial,
    /// The raw output of ECDH: usable only as the base of a KDF (SP 800-56C), never by any
    /// other operation and never wrapped.
    pub(crate) kdf_input_only: bool,
    /// AES-GCM encryptions the store's records of this key account for.
    pub(crate) gcm_reserved: AtomicU64,
}

impl Key {
    pub(crate) fn new(id: KeyId, material: KeyMaterial, kdf_input_only: bool) -> Self {
        Self {
            id,
            material,
            kdf_input_only,
            gcm_reserved: AtomicU64::new(0),
        }
    }

    /// A key read back (from its record or a masked blob) that has made `gcm_count` AES-GCM
    /// encryptions already.
    pub(crate) fn restored(
        id: KeyId,
        material: KeyMaterial,
        kdf_input_only: bool,
        gcm_count: u64,
    ) -> Result<Self, Fault> {
        let material = match material {
            KeyMaterial::Aes(aes) if gcm_count > 0 => {
                KeyMaterial::Aes(AesKey::with_gcm_invocations(aes.expose(), gcm_count)?)
            }
            other => other,
        };
        Ok(Self {
            gcm_reserved: AtomicU64::new(gcm_count),
            ..Self::new(id, material, kdf_input_only)
        })
    }

    /// AES-GCM encryptions made (or reserved), for a record or a blob.
    pub(crate) fn gcm_count(&self) -> u64 {
        match &self.material {
            KeyMaterial::Aes(aes) => aes
                .gcm_invocations()
                .max(self.gcm_reserved.load(Ordering::Acquire)),
            _ => 0,
        }
    }
}

// Every key lives once behind an `Arc`; boxing the large variants would add an indirection
// to every operation and save nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum KeyMaterial {
    Aes(AesKey),
    Xts(XtsKey),
    Generic(GenericSecret),
    EcPrivate(EcPrivateKey),
    EcPublic(EcPublicKey),
    RsaPrivate(RsaPrivateKey),
    RsaPublic(RsaPublicKey),
}

impl KeyMaterial {
    /// Parses a key's bytes as [`KeyMaterial::to_bytes`] writes them: the raw value of a
    /// secret key, PKCS#8 of a private key, the SEC1 point (with the curve) of an EC public
    /// key, the SubjectPublicKeyInfo of an RSA public key.
    pub(crate) fn parse(
        engine: &Engine,
        class: ObjectClass,
        key_type: KeyType,
        curve: Option<Curve>,
        bytes: &[u8],
    ) -> Result<Self, Fault> {
        let invalid = |error: CryptoError| match error {
            CryptoError::InvalidKey | CryptoError::InvalidPublicKey | CryptoError::Internal => {
                Fault::Status(Status::AttributeValueInvalid)
            }
            other => Fault::from(other),
        };
        Ok(match (class, key_type) {
            (ObjectClass::SecretKey, KeyType::Aes) => {
                Self::Aes(AesKey::from_bytes(bytes).map_err(invalid)?)
            }
            (ObjectClass::SecretKey, KeyType::AesXts) => {
                Self::Xts(XtsKey::from_bytes(bytes).map_err(invalid)?)
            }
            (ObjectClass::SecretKey, KeyType::GenericSecret) => {
                Self::Generic(GenericSecret::from_bytes(bytes).map_err(invalid)?)
            }
            (ObjectClass::PrivateKey, KeyType::Ec) => {
                let key = engine.ec_private_key_from_pkcs8(bytes).map_err(invalid)?;
                if curve.is_some_and(|curve| curve != key.curve()) {
                    return Err(Status::TemplateInconsistent.into());
                }
                Self::EcPrivate(key)
            }
            (ObjectClass::PrivateKey, KeyType::Rsa) => {
                Self::RsaPrivate(engine.rsa_private_key_from_pkcs8(bytes).map_err(invalid)?)
            }
            (ObjectClass::PublicKey, KeyType::Ec) => {
                let curve = curve.ok_or(Status::TemplateIncomplete)?;
                Self::EcPublic(engine.ec_public_key(curve, bytes).map_err(invalid)?)
            }
            (ObjectClass::PublicKey, KeyType::Rsa) => {
                Self::RsaPublic(engine.rsa_public_key(bytes).map_err(invalid)?)
            }
            _ => return Err(Status::TemplateInconsistent.into()),
        })
    }

    /// The key's bytes, in the form [`KeyMaterial::parse`] reads.
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            Self::Aes(key) => key.expose().to_vec(),
            Self::Xts(key) => key.expose().to_vec(),
            Self::Generic(key) => key.expose().to_vec(),
            Self::EcPrivate(key) => key.pkcs8().expose().to_vec(),
            Self::RsaPrivate(key) => key.pkcs8().expose().to_vec(),
            Self::EcPublic(key) => key.point().to_vec(),
            Self::RsaPublic(key) => key.spki().to_vec(),
        })
    }

    pub(crate) fn class(&self) -> ObjectClass {
        match self {
            Self::Aes(_) | Self::Xts(_) | Self::Generic(_) => ObjectClass::SecretKey,
            Self::EcPrivate(_) | Self::RsaPrivate(_) => ObjectClass::PrivateKey,
            Self::EcPublic(_) | Self::RsaPublic(_) => ObjectClass::PublicKey,
        }
    }

    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            Self::Aes(_) => KeyType::Aes,
            Self::Xts(_) => KeyType::AesXts,
            Self::Generic(_) => KeyType::GenericSecret,
            Self::EcPrivate(_) | Self::EcPublic(_) => KeyType::Ec,
            Self::RsaPrivate(_) | Self::RsaPublic(_) => KeyType::Rsa,
        }
    }

    pub(crate) fn curve(&self) -> Option<Curve> {
        match self {
            Self::EcPrivate(key) => Some(key.curve()),
            Self::EcPublic(key) => Some(key.curve()),
            _ => None,
        }
    }
}
