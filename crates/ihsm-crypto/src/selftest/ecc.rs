//! ECDSA and ECDH known-answer tests on P-256, P-384 and P-521.

use aws_lc_rs::agreement::PrivateKey;

use super::vectors::*;
use super::{matches, SelfTest, TestHooks};
use crate::ecdsa_sig;
use crate::keys::{EcPrivateKey, EcPublicKey};
use crate::services::ecc::{ecdh_raw, ecdsa_sign_message, ecdsa_verify_message};
use crate::services::hash::sha;
use crate::shim::{self, Padding};
use crate::types::{Curve, HashAlg};

pub(super) fn ecdsa(test: SelfTest, hooks: &TestHooks) -> bool {
    let (curve, hash, public, message, signature): (Curve, HashAlg, &[u8], &[u8], &[u8]) =
        match test {
            SelfTest::EcdsaP256 => (
                Curve::P256,
                HashAlg::Sha256,
                &ECDSA_P256_PUBLIC,
                &ECDSA_P256_MSG,
                &ECDSA_P256_SIG,
            ),
            SelfTest::EcdsaP384 => (
                Curve::P384,
                HashAlg::Sha384,
                &ECDSA_P384_PUBLIC,
                &ECDSA_P384_MSG,
                &ECDSA_P384_SIG,
            ),
            _ => (
                Curve::P521,
                HashAlg::Sha512,
                &ECDSA_P521_PUBLIC,
                &ECDSA_P521_MSG,
                &ECDSA_P521_SIG,
            ),
        };
    let Ok(public) = EcPublicKey::from_point(curve, public) else {
        return false;
    };
    let mut signature = signature.to_vec();
    hooks.tamper(test, &mut signature);
    if ecdsa_verify_message(&public, hash, message, &signature).is_err() {
        return false;
    }
    // The caller-supplied-digest path (EVP_PKEY_verify) gets its own known answer.
    let digest = sha(hash, message);
    let Ok(der) = ecdsa_sig::fixed_to_der(&signature, curve.scalar_len()) else {
        return false;
    };
    if shim::verify_digest(public.pkey(), hash, Padding::Ecdsa, &digest, &der).is_err() {
        return false;
    }
    // Signature generation: sign with a fresh key and verify (the nonce is random).
    let Ok(key) = EcPrivateKey::generate(curve) else {
        return false;
    };
    let Ok(public) = key.public_key() else {
        return false;
    };
    ecdsa_sign_message(&key, hash, message)
        .and_then(|sig| ecdsa_verify_message(&public, hash, message, &sig))
        .is_ok()
}

pub(super) fn ecdh(test: SelfTest, hooks: &TestHooks) -> bool {
    let (curve, private, peer, shared): (Curve, &[u8], &[u8], &[u8]) = match test {
        SelfTest::EcdhP256 => (
            Curve::P256,
            &ECDH_P256_PRIVATE,
            &ECDH_P256_PEER,
            &ECDH_P256_SHARED,
        ),
        SelfTest::EcdhP384 => (
            Curve::P384,
            &ECDH_P384_PRIVATE,
            &ECDH_P384_PEER,
            &ECDH_P384_SHARED,
        ),
        _ => (
            Curve::P521,
            &ECDH_P521_PRIVATE,
            &ECDH_P521_PEER,
            &ECDH_P521_SHARED,
        ),
    };
    let Ok(key) = PrivateKey::from_private_key(curve.agreement_algorithm(), private) else {
        return false;
    };
    ecdh_raw(&key, curve, peer).is_ok_and(|secret| matches(hooks, test, secret.expose(), shared))
}
