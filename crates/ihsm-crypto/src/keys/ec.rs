//! EC keys on the NIST curves: private keys (PKCS#8, with the shim's `EVP_PKEY` and the ECDH
//! key) and validated public points.

use core::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};

use super::SecretBytes;
use crate::error::{Error, Result};
use crate::shim::Pkey;
use crate::types::Curve;

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
}
