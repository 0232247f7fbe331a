//! The secret (or public) part of a key object, parsed once and shared by every object that
//! names the same key (copies, restored blobs).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use ihsm_crypto::{
    AesKey, Curve, EcPrivateKey, EcPublicKey, Engine, Error as CryptoError, GenericSecret,
    RsaPrivateKey, RsaPublicKey, XtsKey, GCM_MAX_INVOCATIONS,
};
use ihsm_proto::{KeyType, ObjectClass, Status};
use zeroize::Zeroizing;

use crate::fault::Fault;
use crate::record::KeyFlags;

/// A key's stable identity: random, kept by its copies and its masked blobs, and written as a
/// tombstone when the key is destroyed.
pub(crate) type KeyId = [u8; 16];

/// What a key serves, fixed when the key is made and shared by every object that holds it.
///
/// A key that wraps or unwraps keys never encrypts or decrypts data, and the other way round.
/// Otherwise `WrapKey` then `Decrypt` under the same key (or the two halves of an RSA key
/// pair) would hand a key's value out in plaintext, and `Encrypt` then `UnwrapKey` would take
/// one in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Encrypts and decrypts data (and signs, verifies, derives, as its type allows).
    Data,
    /// Wraps and unwraps keys.
    Transport,
}

pub(crate) struct Key {
    pub(crate) id: KeyId,
    pub(crate) material: KeyMaterial,
    /// The raw output of ECDH: usable only as the base of a KDF (SP 800-56C), never by any
    /// other operation and never wrapped.
    pub(crate) kdf_input_only: bool,
    pub(crate) purpose: Purpose,
    /// The AES-GCM encryptions under the key (AES keys only).
    pub(crate) gcm: GcmBudget,
}

impl Key {
    pub(crate) fn new(
        id: KeyId,
        material: KeyMaterial,
        kdf_input_only: bool,
        purpose: Purpose,
    ) -> Self {
        Self {
            id,
            material,
            kdf_input_only,
            purpose,
            gcm: GcmBudget::new(0, 0),
        }
    }

    /// A key read back (from its record or a masked blob) that has made up to `gcm_count`
    /// AES-GCM encryptions already, of which the store accounts for `gcm_reserved`.
    pub(crate) fn restored(
        id: KeyId,
        material: KeyMaterial,
        kdf_input_only: bool,
        purpose: Purpose,
        gcm_count: u64,
        gcm_reserved: u64,
    ) -> Result<Self, Fault> {
        let material = match material {
            KeyMaterial::Aes(aes) if gcm_count > 0 => {
                KeyMaterial::Aes(AesKey::with_gcm_invocations(aes.expose(), gcm_count)?)
            }
            other => other,
        };
        Ok(Self {
            gcm: GcmBudget::new(gcm_count, gcm_reserved),
            ..Self::new(id, material, kdf_input_only, purpose)
        })
    }

    /// What the key was fixed to at its making.
    pub(crate) fn flags(&self) -> KeyFlags {
        KeyFlags {
            kdf_input_only: self.kdf_input_only,
            purpose: self.purpose,
        }
    }
}

/// The AES-GCM encryptions under one key. Each is claimed before it is made, so the count
/// never lags the truth; a key that can come back after a restart (held by a token object,
/// or masked into a blob) is *durable*, and the store must account for a claim before the
/// encryption is made.
pub(crate) struct GcmBudget {
    /// Encryptions claimed: at least as many as were made.
    claimed: AtomicU64,
    /// Encryptions the store accounts for (meaningful once durable).
    reserved: AtomicU64,
    durable: AtomicBool,
    /// Held while a reservation is committed: once per block of encryptions of a durable
    /// key (`DeviceConfig::gcm_reservation`). Claims of the same key at that point wait for
    /// it; the commit itself runs under the partition's object lock.
    reserving: Mutex<()>,
}

/// What claiming an encryption needs before the encryption is made.
#[must_use]
pub(crate) enum GcmClaim {
    /// Nothing: the encryption is accounted for.
    Covered,
    /// The store must account for encryption number `n` (from 0) first:
    /// [`GcmBudget::reserve`].
    Reserve(u64),
}

impl GcmBudget {
    pub(crate) fn new(claimed: u64, reserved: u64) -> Self {
        Self {
            claimed: AtomicU64::new(claimed),
            reserved: AtomicU64::new(reserved),
            durable: AtomicBool::new(false),
            reserving: Mutex::new(()),
        }
    }

    /// Encryptions claimed so far.
    pub(crate) fn claimed(&self) -> u64 {
        self.claimed.load(Ordering::SeqCst)
    }

    /// The count to record for the key (in a blob): every encryption it may have made.
    pub(crate) fn high_water(&self) -> u64 {
        self.claimed().max(self.reserved.load(Ordering::SeqCst))
    }

    /// Claims one encryption; `UsageLimitReached` at the cap (2^32 - 1), with no write.
    pub(crate) fn claim(&self) -> Result<GcmClaim, Fault> {
        let n = self
            .claimed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                (c < GCM_MAX_INVOCATIONS).then_some(c + 1)
            })
            .map_err(|_| Status::UsageLimitReached)?;
        if self.durable.load(Ordering::SeqCst) && n >= self.reserved.load(Ordering::SeqCst) {
            Ok(GcmClaim::Reserve(n))
        } else {
            Ok(GcmClaim::Covered)
        }
    }

    /// Marks the key durable. Returns the claim the store must account for first, if any:
    /// claims made before are covered once it is reserved, claims made after see the key
    /// durable.
    pub(crate) fn make_durable(&self) -> GcmClaim {
        self.durable.store(true, Ordering::SeqCst);
        match self.claimed() {
            0 => GcmClaim::Covered,
            n => GcmClaim::Reserve(n - 1),
        }
    }

    /// Marks durable a key read back from the store, whose reservation covers its count.
    pub(crate) fn make_durable_restored(&self) {
        debug_assert!(self.claimed() <= self.reserved.load(Ordering::SeqCst));
        self.durable.store(true, Ordering::SeqCst);
    }

    /// Makes the store account for claim `n`: unless a reservation covers it already, hands
    /// `persist` the new total, which covers claims `n` to `n + block - 1`.
    pub(crate) fn reserve(
        &self,
        n: u64,
        block: u64,
        persist: impl FnOnce(u64) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        let _reserving = self
            .reserving
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if n < self.reserved.load(Ordering::SeqCst) {
            return Ok(());
        }
        let next = n.saturating_add(block.max(1)).min(GCM_MAX_INVOCATIONS);
        persist(next)?;
        self.reserved.fetch_max(next, Ordering::SeqCst);
        Ok(())
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
