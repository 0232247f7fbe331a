//! RSA keys of 2048, 3072 and 4096 bits: private keys (PKCS#8, with OAEP and the shim's
//! `EVP_PKEY`) and public keys (SPKI).

use core::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};

use super::SecretBytes;
use crate::error::{Error, Result};
use crate::shim::Pkey;
use crate::types::RsaBits;

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

    /// The modulus and the public exponent, big-endian without leading zeros.
    pub fn components(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        self.pkey.rsa_public_components()
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
