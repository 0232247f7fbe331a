//! Symmetric keys: AES (with its GCM contexts and invocation count), AES-XTS and generic
//! secrets (HMAC and KDF keys).

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aws_lc_rs::aead::{LessSafeKey, RandomizedNonceKey, UnboundKey};
use subtle::ConstantTimeEq;

use super::SecretBytes;
use crate::error::{Error, Result};
use crate::types::{AesBits, HashAlg};

/// Most AES-GCM encryptions one key may perform: with random 96-bit IVs SP 800-38D 8.3
/// bounds a key to 2^32 invocations; ihsm stops one short of it.
pub const GCM_MAX_INVOCATIONS: u64 = (1 << 32) - 1;

/// An AES key (128, 192 or 256 bits) with lazily built GCM contexts and its count of GCM
/// encryptions.
pub struct AesKey {
    bits: AesBits,
    material: SecretBytes,
    gcm_invocations: AtomicU64,
    gcm_random_iv: OnceLock<Option<RandomizedNonceKey>>,
    gcm: OnceLock<LessSafeKey>,
}

impl AesKey {
    /// Checks the length and takes a copy of the key bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bits = AesBits::from_key_len(bytes.len()).ok_or(Error::InvalidKey)?;
        Ok(AesKey {
            bits,
            material: SecretBytes::from_slice(bytes),
            gcm_invocations: AtomicU64::new(0),
            gcm_random_iv: OnceLock::new(),
            gcm: OnceLock::new(),
        })
    }

    /// Like [`AesKey::from_bytes`], for a key loaded from storage that has already performed
    /// `gcm_invocations` GCM encryptions (the caller persists [`AesKey::gcm_invocations`]).
    pub fn with_gcm_invocations(bytes: &[u8], gcm_invocations: u64) -> Result<Self> {
        let key = Self::from_bytes(bytes)?;
        key.gcm_invocations
            .store(gcm_invocations, Ordering::Relaxed);
        Ok(key)
    }

    /// GCM encryptions performed (or reserved) with this key so far.
    pub fn gcm_invocations(&self) -> u64 {
        self.gcm_invocations.load(Ordering::Relaxed)
    }

    /// Reserves one GCM encryption, refusing past [`GCM_MAX_INVOCATIONS`]. A reservation is
    /// never given back, so a failed encryption still counts: the bound stays conservative.
    pub(crate) fn reserve_gcm_invocation(&self) -> Result<()> {
        self.gcm_invocations
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < GCM_MAX_INVOCATIONS).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| Error::UsageLimitReached)
    }

    /// The key size.
    pub fn bits(&self) -> AesBits {
        self.bits
    }

    /// The raw key value (for wrapping and sealing by the caller's key manager).
    pub fn expose(&self) -> &[u8] {
        self.material.expose()
    }

    /// Whether both GCM contexts are built (they are built on first use, each about 1 KiB of
    /// locked memory: a caller that accounts for memory checks for room before that use).
    pub fn gcm_ready(&self) -> bool {
        self.gcm.get().is_some() && self.gcm_random_iv.get().is_some()
    }

    /// GCM with the IV made inside AWS-LC, where AWS-LC offers it (AES-128 and AES-256).
    pub(crate) fn gcm_random_iv(&self) -> Result<Option<&RandomizedNonceKey>> {
        if let Some(key) = self.gcm_random_iv.get() {
            return Ok(key.as_ref());
        }
        let algorithm = match self.bits {
            AesBits::Aes128 => Some(&aws_lc_rs::aead::AES_128_GCM),
            AesBits::Aes192 => None,
            AesBits::Aes256 => Some(&aws_lc_rs::aead::AES_256_GCM),
        };
        let built = match algorithm {
            Some(alg) => Some(RandomizedNonceKey::new(alg, self.expose())?),
            None => None,
        };
        Ok(self.gcm_random_iv.get_or_init(|| built).as_ref())
    }

    /// GCM with an explicit IV (decryption, and AES-192 encryption).
    pub(crate) fn gcm(&self) -> Result<&LessSafeKey> {
        if let Some(key) = self.gcm.get() {
            return Ok(key);
        }
        let alg = match self.bits {
            AesBits::Aes128 => &aws_lc_rs::aead::AES_128_GCM,
            AesBits::Aes192 => &aws_lc_rs::aead::AES_192_GCM,
            AesBits::Aes256 => &aws_lc_rs::aead::AES_256_GCM,
        };
        let key = LessSafeKey::new(UnboundKey::new(alg, self.expose())?);
        Ok(self.gcm.get_or_init(|| key))
    }

    pub(crate) fn cipher_algorithm(&self) -> &'static aws_lc_rs::cipher::Algorithm {
        match self.bits {
            AesBits::Aes128 => &aws_lc_rs::cipher::AES_128,
            AesBits::Aes192 => &aws_lc_rs::cipher::AES_192,
            AesBits::Aes256 => &aws_lc_rs::cipher::AES_256,
        }
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AesKey({:?}, redacted)", self.bits)
    }
}

/// A 512-bit AES-256-XTS key: two distinct 256-bit halves.
pub struct XtsKey {
    material: SecretBytes,
}

impl XtsKey {
    /// Checks the length and that the halves differ (SP 800-38E), and copies the key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (first, second) = bytes.split_at_checked(32).ok_or(Error::InvalidKey)?;
        if bytes.len() != 64 || bool::from(first.ct_eq(second)) {
            return Err(Error::InvalidKey);
        }
        Ok(XtsKey {
            material: SecretBytes::from_slice(bytes),
        })
    }

    /// The raw key value.
    pub fn expose(&self) -> &[u8] {
        self.material.expose()
    }
}

impl fmt::Debug for XtsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XtsKey(redacted)")
    }
}

/// A generic secret: an HMAC key or KDF input key, 1 to 1024 bytes. HMAC with a key shorter
/// than 14 bytes (112 bits, SP 800-131A) works but is never indicated approved.
pub struct GenericSecret {
    material: SecretBytes,
    hmac: [OnceLock<aws_lc_rs::hmac::Key>; 3],
}

impl GenericSecret {
    /// Minimum length for a generic secret.
    pub const MIN_LEN: usize = 1;
    /// Maximum length for a generic secret.
    pub const MAX_LEN: usize = 1024;

    /// Copies the secret.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(Error::InvalidKey);
        }
        Ok(GenericSecret {
            material: SecretBytes::from_slice(bytes),
            hmac: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        })
    }

    /// The raw secret.
    pub fn expose(&self) -> &[u8] {
        self.material.expose()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.material.len()
    }

    /// Always false: a generic secret has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.material.is_empty()
    }

    /// Whether the HMAC context for `hash` is built (on first use, in locked memory: a
    /// caller that accounts for memory checks for room before that use).
    pub fn hmac_ready(&self, hash: HashAlg) -> bool {
        self.hmac_slot(hash).get().is_some()
    }

    fn hmac_slot(&self, hash: HashAlg) -> &OnceLock<aws_lc_rs::hmac::Key> {
        match hash {
            HashAlg::Sha256 => &self.hmac[0],
            HashAlg::Sha384 => &self.hmac[1],
            HashAlg::Sha512 => &self.hmac[2],
        }
    }

    pub(crate) fn hmac_key(&self, hash: HashAlg) -> &aws_lc_rs::hmac::Key {
        self.hmac_slot(hash)
            .get_or_init(|| aws_lc_rs::hmac::Key::new(hash.hmac_algorithm(), self.expose()))
    }
}

impl fmt::Debug for GenericSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GenericSecret({} bytes, redacted)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xts_key_with_equal_halves_is_refused() {
        assert_eq!(
            XtsKey::from_bytes(&[7u8; 64]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            XtsKey::from_bytes(&[7u8; 63]).err(),
            Some(Error::InvalidKey)
        );
    }

    #[test]
    fn gcm_invocations_stop_one_short_of_two_to_the_32() {
        let key = AesKey::with_gcm_invocations(&[1; 16], GCM_MAX_INVOCATIONS - 1).unwrap();
        assert!(key.reserve_gcm_invocation().is_ok());
        assert_eq!(key.gcm_invocations(), GCM_MAX_INVOCATIONS);
        assert_eq!(key.reserve_gcm_invocation(), Err(Error::UsageLimitReached));
        assert_eq!(key.gcm_invocations(), GCM_MAX_INVOCATIONS);
    }
}
