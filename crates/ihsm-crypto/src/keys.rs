//! Key types. Holding one means the bytes were checked for the algorithm; every secret is
//! zeroized on drop and no `Debug` output ever shows key material.
//!
//! Keys are parsed once and keep their ready-to-use AWS-LC form (key schedules, `EVP_PKEY`s)
//! beside the serialised bytes, so an operation never re-parses a key.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aws_lc_rs::aead::{LessSafeKey, RandomizedNonceKey, UnboundKey};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::PublicEncryptingKey;
use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::shim::Pkey;
use crate::types::{AesBits, Curve, HashAlg, RsaBits};

/// Secret bytes (a derived secret, a raw key value): zeroized on drop, never printed.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new zeroizing buffer.
    pub fn from_slice(bytes: &[u8]) -> Self {
        SecretBytes(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret itself. Callers must not copy it into non-zeroizing storage.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Shortens in place; the cut tail is wiped first.
    pub(crate) fn truncate(&mut self, len: usize) {
        if let Some(tail) = self.0.get_mut(len..) {
            zeroize::Zeroize::zeroize(tail);
        }
        self.0.truncate(len);
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for SecretBytes {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

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

    pub(crate) fn hmac_key(&self, hash: HashAlg) -> &aws_lc_rs::hmac::Key {
        let slot = match hash {
            HashAlg::Sha256 => &self.hmac[0],
            HashAlg::Sha384 => &self.hmac[1],
            HashAlg::Sha512 => &self.hmac[2],
        };
        slot.get_or_init(|| aws_lc_rs::hmac::Key::new(hash.hmac_algorithm(), self.expose()))
    }
}

impl fmt::Debug for GenericSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GenericSecret({} bytes, redacted)", self.len())
    }
}

/// An EC private key on a NIST curve.
pub struct EcPrivateKey {
    curve: Curve,
    pkcs8: SecretBytes,
    pkey: Pkey,
    public_point: Vec<u8>,
    agreement: aws_lc_rs::agreement::PrivateKey,
}

impl EcPrivateKey {
    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` holding a P-256/384/521 key.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let pkey = Pkey::from_pkcs8(der)?;
        if pkey.is_rsa() {
            return Err(Error::InvalidKey);
        }
        let curve = match pkey.bits() {
            256 => Curve::P256,
            384 => Curve::P384,
            521 => Curve::P521,
            _ => return Err(Error::InvalidKey),
        };
        let pair = EcdsaKeyPair::from_pkcs8(keygen_algorithm(curve), der)
            .map_err(|_| Error::InvalidKey)?;
        Self::assemble(curve, &pair, pkey, SecretBytes::from_slice(der))
    }

    /// Builds a key from its big-endian private scalar (the form test vectors and some
    /// import formats use). The scalar must lie in `[1, n - 1]`.
    pub(crate) fn from_private_scalar(curve: Curve, scalar: &[u8]) -> Result<Self> {
        let key =
            aws_lc_rs::agreement::PrivateKey::from_private_key(curve.agreement_algorithm(), scalar)
                .map_err(|_| Error::InvalidKey)?;
        let der: Pkcs8V1Der<'static> = key.as_der().map_err(|_| Error::InvalidKey)?;
        Self::from_pkcs8(der.as_ref())
    }

    /// The key generation itself: the one AWS-LC call the service indicator measures.
    pub(crate) fn generate_pair(curve: Curve) -> Result<EcdsaKeyPair> {
        Ok(EcdsaKeyPair::generate(keygen_algorithm(curve))?)
    }

    /// Turns a freshly generated pair into a key (serialise, parse for the shim).
    pub(crate) fn from_generated(curve: Curve, pair: &EcdsaKeyPair) -> Result<Self> {
        let der = SecretBytes::new(pair.to_pkcs8v1()?.as_ref().to_vec());
        let pkey = Pkey::from_pkcs8(der.expose())?;
        Self::assemble(curve, pair, pkey, der)
    }

    /// Generation and assembly in one step, for the self-tests (outside any indicator).
    pub(crate) fn generate(curve: Curve) -> Result<Self> {
        Self::from_generated(curve, &Self::generate_pair(curve)?)
    }

    fn assemble(curve: Curve, pair: &EcdsaKeyPair, pkey: Pkey, pkcs8: SecretBytes) -> Result<Self> {
        let scalar = pair.private_key().as_be_bytes()?;
        let agreement = aws_lc_rs::agreement::PrivateKey::from_private_key(
            curve.agreement_algorithm(),
            scalar.as_ref(),
        )
        .map_err(|_| Error::InvalidKey)?;
        Ok(EcPrivateKey {
            curve,
            pkcs8,
            pkey,
            public_point: pair.public_key().as_ref().to_vec(),
            agreement,
        })
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The public point, uncompressed SEC1 (`04 || X || Y`).
    pub fn public_point(&self) -> &[u8] {
        &self.public_point
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<EcPublicKey> {
        EcPublicKey::from_point(self.curve, &self.public_point)
    }

    /// The private key as PKCS#8 DER, for the caller's sealed storage.
    pub fn pkcs8(&self) -> &SecretBytes {
        &self.pkcs8
    }

    pub(crate) fn pkey(&self) -> &Pkey {
        &self.pkey
    }

    pub(crate) fn agreement_key(&self) -> &aws_lc_rs::agreement::PrivateKey {
        &self.agreement
    }
}

impl fmt::Debug for EcPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPrivateKey({:?}, redacted)", self.curve)
    }
}

/// An EC public key on a NIST curve, validated to be on the curve.
pub struct EcPublicKey {
    curve: Curve,
    point: Vec<u8>,
    pkey: Pkey,
}

impl EcPublicKey {
    /// Takes an uncompressed SEC1 point and checks it lies on `curve`.
    pub(crate) fn from_point(curve: Curve, point: &[u8]) -> Result<Self> {
        if point.len() != curve.point_len() || point.first() != Some(&0x04) {
            return Err(Error::InvalidPublicKey);
        }
        let mut spki = spki_prefix(curve).to_vec();
        spki.extend_from_slice(point);
        let pkey = Pkey::from_spki(&spki)?;
        Ok(EcPublicKey {
            curve,
            point: point.to_vec(),
            pkey,
        })
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The uncompressed SEC1 point.
    pub fn point(&self) -> &[u8] {
        &self.point
    }

    /// The key as an X.509 `SubjectPublicKeyInfo` (DER).
    pub fn spki(&self) -> Vec<u8> {
        let mut spki = spki_prefix(self.curve).to_vec();
        spki.extend_from_slice(&self.point);
        spki
    }

    pub(crate) fn pkey(&self) -> &Pkey {
        &self.pkey
    }
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey({:?})", self.curve)
    }
}

/// An RSA private key (2048, 3072 or 4096 bits).
pub struct RsaPrivateKey {
    bits: RsaBits,
    pkcs8: SecretBytes,
    pkey: Pkey,
    public: RsaPublicKey,
    oaep: OaepPrivateDecryptingKey,
}

impl RsaPrivateKey {
    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` holding an RSA key of a supported size.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let pkey = Pkey::from_pkcs8(der)?;
        if !pkey.is_rsa() {
            return Err(Error::InvalidKey);
        }
        let bits = RsaBits::from_bits(pkey.bits()).ok_or(Error::InvalidKey)?;
        let decrypting = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| Error::InvalidKey)?;
        Self::assemble(bits, decrypting, pkey, SecretBytes::from_slice(der))
    }

    /// The key generation itself: the one AWS-LC call the service indicator measures. With
    /// the `fips` feature this is AWS-LC's FIPS generation path (`RSA_generate_key_fips`).
    pub(crate) fn generate_pair(bits: RsaBits) -> Result<aws_lc_rs::rsa::KeyPair> {
        let size = match bits {
            RsaBits::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            RsaBits::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
            RsaBits::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        };
        Ok(aws_lc_rs::rsa::KeyPair::generate(size)?)
    }

    /// Turns a freshly generated pair into a key (serialise, parse for OAEP and the shim).
    pub(crate) fn from_generated(bits: RsaBits, pair: &aws_lc_rs::rsa::KeyPair) -> Result<Self> {
        let der = SecretBytes::new(pair.as_der()?.as_ref().to_vec());
        let decrypting =
            PrivateDecryptingKey::from_pkcs8(der.expose()).map_err(|_| Error::Internal)?;
        let pkey = Pkey::from_pkcs8(der.expose())?;
        Self::assemble(bits, decrypting, pkey, der)
    }

    fn assemble(
        bits: RsaBits,
        decrypting: PrivateDecryptingKey,
        pkey: Pkey,
        pkcs8: SecretBytes,
    ) -> Result<Self> {
        let public = RsaPublicKey::from_encrypting_key(decrypting.public_key())?;
        let oaep = OaepPrivateDecryptingKey::new(decrypting)?;
        Ok(RsaPrivateKey {
            bits,
            pkcs8,
            pkey,
            public,
            oaep,
        })
    }

    /// The modulus size.
    pub fn bits(&self) -> RsaBits {
        self.bits
    }

    /// The matching public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The private key as PKCS#8 DER, for the caller's sealed storage.
    pub fn pkcs8(&self) -> &SecretBytes {
        &self.pkcs8
    }

    pub(crate) fn pkey(&self) -> &Pkey {
        &self.pkey
    }

    pub(crate) fn oaep(&self) -> &OaepPrivateDecryptingKey {
        &self.oaep
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({:?}, redacted)", self.bits)
    }
}

/// An RSA public key with a 2048-, 3072- or 4096-bit modulus.
pub struct RsaPublicKey {
    bits: RsaBits,
    spki: Vec<u8>,
    pkey: Pkey,
    oaep: OaepPublicEncryptingKey,
}

impl RsaPublicKey {
    /// Parses an X.509 `SubjectPublicKeyInfo` (DER) holding an RSA key.
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self> {
        let encrypting = PublicEncryptingKey::from_der(der).map_err(|_| Error::InvalidPublicKey)?;
        Self::from_encrypting_key(encrypting)
    }

    fn from_encrypting_key(encrypting: PublicEncryptingKey) -> Result<Self> {
        let spki = encrypting
            .as_der()
            .map_err(|_| Error::InvalidPublicKey)?
            .as_ref()
            .to_vec();
        let pkey = Pkey::from_spki(&spki)?;
        if !pkey.is_rsa() {
            return Err(Error::InvalidPublicKey);
        }
        let bits = RsaBits::from_bits(pkey.bits()).ok_or(Error::InvalidPublicKey)?;
        let oaep = OaepPublicEncryptingKey::new(encrypting)?;
        Ok(RsaPublicKey {
            bits,
            spki,
            pkey,
            oaep,
        })
    }

    /// The modulus size.
    pub fn bits(&self) -> RsaBits {
        self.bits
    }

    /// The key as an X.509 `SubjectPublicKeyInfo` (DER).
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    pub(crate) fn pkey(&self) -> &Pkey {
        &self.pkey
    }

    pub(crate) fn oaep(&self) -> &OaepPublicEncryptingKey {
        &self.oaep
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({:?})", self.bits)
    }
}

fn keygen_algorithm(curve: Curve) -> &'static aws_lc_rs::signature::EcdsaSigningAlgorithm {
    // The hash bound into these aws-lc-rs algorithms is not used: ihsm signs through the shim,
    // which takes the hash per operation. They only select the curve here.
    match curve {
        Curve::P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        Curve::P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        Curve::P521 => &aws_lc_rs::signature::ECDSA_P521_SHA512_ASN1_SIGNING,
    }
}

/// DER `SubjectPublicKeyInfo` header for an uncompressed point on `curve` (RFC 5480):
/// SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING (0 unused bits) }.
fn spki_prefix(curve: Curve) -> &'static [u8] {
    match curve {
        Curve::P256 => &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ],
        Curve::P384 => &[
            0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
        ],
        Curve::P521 => &[
            0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
            0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86, 0x00,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_prefix_matches_aws_lc_encoding() {
        for curve in Curve::ALL {
            let key = EcPrivateKey::generate(curve).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(keygen_algorithm(curve), key.pkcs8().expose()).unwrap();
            let der = pair.public_key().as_der().unwrap();
            assert_eq!(key.public_key().unwrap().spki(), der.as_ref(), "{curve:?}");
        }
    }

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
    fn debug_output_redacts_secrets() {
        let mut xts = [0xAB; 64];
        xts[0] = 0xAC;
        let text = format!(
            "{:?} {:?} {:?} {:?}",
            AesKey::from_bytes(&[0xAB; 16]).unwrap(),
            SecretBytes::from_slice(&[0xAB; 4]),
            GenericSecret::from_bytes(&[0xAB; 20]).unwrap(),
            XtsKey::from_bytes(&xts).unwrap(),
        );
        assert!(!text.contains("ab") && !text.contains("AB") && !text.contains("171"));
        let ec = EcPrivateKey::generate(Curve::P256).unwrap();
        let text = format!("{ec:?}");
        let scalar_hex: String = ec.pkcs8().expose()[36..52]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(text.contains("redacted") && !text.contains(&scalar_hex));
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
