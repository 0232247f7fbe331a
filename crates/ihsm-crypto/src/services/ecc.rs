//! Elliptic curves: key-pair generation with its pairwise-consistency test, ECDSA (message or
//! caller-supplied digest, single- or multi-part) and ECDH.

use aws_lc_rs::agreement;

use super::signature::{SignContext, VerifyContext};
use crate::ecdsa_sig;
use crate::engine::{Engine, Indicated};
use crate::error::{Error, Result};
use crate::keys::{EcPrivateKey, EcPublicKey, SecretBytes};
use crate::policy::Service;
use crate::shim::{self, DigestSignContext, Padding};
use crate::types::{Curve, HashAlg};

impl Engine {
    /// Generates an EC key pair and runs its pairwise-consistency test. A failed test
    /// discards the key and latches the error state.
    pub fn generate_ec_key(&self, curve: Curve) -> Result<Indicated<EcPrivateKey>> {
        let pair = self.run(Service::EcKeyGen(curve), || {
            EcPrivateKey::generate_pair(curve)
        })?;
        let key = EcPrivateKey::from_generated(curve, &pair.value)?;
        if ec_pairwise_test(&key, self.hooks().forced_pairwise_failure()).is_err() {
            drop(key);
            self.enter_error_state();
            return Err(Error::PairwiseTestFailed);
        }
        self.ready()?;
        Ok(pair.map(|_| key))
    }

    /// Parses an unencrypted PKCS#8 EC private key (P-256/384/521).
    pub fn ec_private_key_from_pkcs8(&self, der: &[u8]) -> Result<EcPrivateKey> {
        self.gated(|| EcPrivateKey::from_pkcs8(der))
    }

    /// Builds an EC private key from its big-endian scalar, which must lie in `[1, n - 1]`.
    pub fn ec_private_key_from_scalar(&self, curve: Curve, scalar: &[u8]) -> Result<EcPrivateKey> {
        self.gated(|| EcPrivateKey::from_private_scalar(curve, scalar))
    }

    /// Takes an uncompressed SEC1 point and checks that it lies on `curve`.
    pub fn ec_public_key(&self, curve: Curve, point: &[u8]) -> Result<EcPublicKey> {
        self.gated(|| EcPublicKey::from_point(curve, point))
    }

    /// ECDSA over `message` hashed inside the module. Returns `r || s`.
    pub fn ecdsa_sign(
        &self,
        key: &EcPrivateKey,
        hash: HashAlg,
        message: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        self.run(ecdsa_sign_service(key.curve(), hash, false), || {
            ecdsa_sign_message(key, hash, message)
        })
    }

    /// ECDSA over a caller-supplied digest (never approved). Returns `r || s`.
    pub fn ecdsa_sign_digest(
        &self,
        key: &EcPrivateKey,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        self.run(ecdsa_sign_service(key.curve(), hash, true), || {
            let der = shim::sign_digest(key.pkey(), hash, Padding::Ecdsa, digest)?;
            ecdsa_sig::der_to_fixed(&der, key.curve().scalar_len())
        })
    }

    /// Verifies an `r || s` ECDSA signature over `message`.
    pub fn ecdsa_verify(
        &self,
        key: &EcPublicKey,
        hash: HashAlg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Indicated<()>> {
        self.run(ecdsa_verify_service(key.curve(), hash, false), || {
            ecdsa_verify_message(key, hash, message, signature)
        })
    }

    /// Verifies an `r || s` ECDSA signature over a caller-supplied digest.
    pub fn ecdsa_verify_digest(
        &self,
        key: &EcPublicKey,
        hash: HashAlg,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<Indicated<()>> {
        self.run(ecdsa_verify_service(key.curve(), hash, true), || {
            let der = ecdsa_sig::fixed_to_der(signature, key.curve().scalar_len())?;
            shim::verify_digest(key.pkey(), hash, Padding::Ecdsa, digest, &der)
        })
    }

    /// Starts a multi-part ECDSA signature.
    pub fn ecdsa_sign_init(&self, key: &EcPrivateKey, hash: HashAlg) -> Result<SignContext> {
        self.ready()?;
        Ok(SignContext {
            engine: self.clone(),
            service: ecdsa_sign_service(key.curve(), hash, false),
            context: DigestSignContext::new(key.pkey(), hash, Padding::Ecdsa, true)?,
            ecdsa_scalar_len: Some(key.curve().scalar_len()),
            rsa: None,
        })
    }

    /// Starts a multi-part ECDSA verification.
    pub fn ecdsa_verify_init(&self, key: &EcPublicKey, hash: HashAlg) -> Result<VerifyContext> {
        self.ready()?;
        Ok(VerifyContext {
            engine: self.clone(),
            service: ecdsa_verify_service(key.curve(), hash, false),
            context: DigestSignContext::new(key.pkey(), hash, Padding::Ecdsa, false)?,
            ecdsa_scalar_len: Some(key.curve().scalar_len()),
            rsa: None,
        })
    }

    /// ECDH (SP 800-56A): the x-coordinate of the shared point with `peer_point`
    /// (uncompressed SEC1), which is validated to lie on the key's curve.
    pub fn ecdh(&self, key: &EcPrivateKey, peer_point: &[u8]) -> Result<Indicated<SecretBytes>> {
        self.ready()?;
        // Parsing validates the point (itself an approved check in AWS-LC), so it happens
        // before the measured call: the indicator then speaks for the derivation alone.
        let peer = parse_peer(key.curve(), peer_point)?;
        self.run(Service::Ecdh(key.curve()), || {
            agree(key.agreement_key(), peer)
        })
    }
}

pub(crate) fn ecdsa_sign_message(
    key: &EcPrivateKey,
    hash: HashAlg,
    message: &[u8],
) -> Result<Vec<u8>> {
    let mut context = DigestSignContext::new(key.pkey(), hash, Padding::Ecdsa, true)?;
    context.update(message)?;
    ecdsa_sig::der_to_fixed(&context.sign_final()?, key.curve().scalar_len())
}

pub(crate) fn ecdsa_verify_message(
    key: &EcPublicKey,
    hash: HashAlg,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let der = ecdsa_sig::fixed_to_der(signature, key.curve().scalar_len())?;
    let mut context = DigestSignContext::new(key.pkey(), hash, Padding::Ecdsa, false)?;
    context.update(message)?;
    context.verify_final(&der)
}

pub(crate) fn ecdh_raw(
    key: &agreement::PrivateKey,
    curve: Curve,
    peer_point: &[u8],
) -> Result<SecretBytes> {
    agree(key, parse_peer(curve, peer_point)?)
}

/// Validates a peer's uncompressed SEC1 point on `curve`.
fn parse_peer(curve: Curve, peer_point: &[u8]) -> Result<agreement::ParsedPublicKey> {
    if peer_point.len() != curve.point_len() || peer_point.first() != Some(&0x04) {
        return Err(Error::InvalidPublicKey);
    }
    agreement::ParsedPublicKey::try_from(agreement::UnparsedPublicKey::new(
        curve.agreement_algorithm(),
        peer_point,
    ))
    .map_err(|_| Error::InvalidPublicKey)
}

fn agree(key: &agreement::PrivateKey, peer: agreement::ParsedPublicKey) -> Result<SecretBytes> {
    agreement::agree(key, peer, Error::InvalidPublicKey, |secret| {
        Ok(SecretBytes::from_slice(secret))
    })
}

/// Signs and verifies a fixed message with a new key pair (FIPS 140-3 IG 10.3.A).
fn ec_pairwise_test(key: &EcPrivateKey, force_failure: bool) -> Result<()> {
    let message = b"ihsm pairwise consistency test";
    let mut signature = ecdsa_sign_message(key, HashAlg::Sha256, message)?;
    if force_failure {
        if let Some(byte) = signature.first_mut() {
            *byte ^= 1;
        }
    }
    ecdsa_verify_message(&key.public_key()?, HashAlg::Sha256, message, &signature)
}

fn ecdsa_sign_service(curve: Curve, hash: HashAlg, prehashed: bool) -> Service {
    Service::EcdsaSign {
        curve,
        hash,
        prehashed,
    }
}

fn ecdsa_verify_service(curve: Curve, hash: HashAlg, prehashed: bool) -> Service {
    Service::EcdsaVerify {
        curve,
        hash,
        prehashed,
    }
}
