//! RSA known-answer tests: PKCS#1 v1.5 signature (deterministic, so a true sign KAT), PSS
//! verification plus sign-and-verify, and OAEP decryption.

use super::vectors::*;
use super::{matches, SelfTest, TestHooks};
use crate::keys::RsaPrivateKey;
use crate::services::hash::sha;
use crate::services::rsa::{
    oaep_decrypt, oaep_encrypt, rsa_sign_message, rsa_verify_message, RsaSignatureScheme,
};
use crate::shim::{self, Padding};
use crate::types::HashAlg;

pub(super) fn pkcs1(hooks: &TestHooks) -> bool {
    let Ok(key) = RsaPrivateKey::from_pkcs8(&RSA_PKCS8) else {
        return false;
    };
    let scheme = RsaSignatureScheme::Pkcs1;
    let Ok(signature) = rsa_sign_message(&key, scheme, HashAlg::Sha256, &RSA_MSG) else {
        return false;
    };
    // PKCS#1 v1.5 is deterministic, so the caller-supplied-digest path (EVP_PKEY_sign) must
    // give the same known answer.
    let digest = sha(HashAlg::Sha256, &RSA_MSG);
    let Ok(digest_signature) =
        shim::sign_digest(key.pkey(), HashAlg::Sha256, Padding::Pkcs1, &digest)
    else {
        return false;
    };
    let public = key.public_key();
    matches(hooks, SelfTest::RsaPkcs1, &signature, &RSA_PKCS1_SHA256_SIG)
        && matches(
            hooks,
            SelfTest::RsaPkcs1,
            &digest_signature,
            &RSA_PKCS1_SHA256_SIG,
        )
        && rsa_verify_message(
            public,
            scheme,
            HashAlg::Sha256,
            &RSA_MSG,
            &RSA_PKCS1_SHA256_SIG,
        )
        .is_ok()
        && shim::verify_digest(
            public.pkey(),
            HashAlg::Sha256,
            Padding::Pkcs1,
            &digest,
            &RSA_PKCS1_SHA256_SIG,
        )
        .is_ok()
}

pub(super) fn pss(hooks: &TestHooks) -> bool {
    let Ok(key) = RsaPrivateKey::from_pkcs8(&RSA_PKCS8) else {
        return false;
    };
    let scheme = RsaSignatureScheme::Pss { salt_len: 32 };
    let mut known = RSA_PSS_SHA256_SIG.to_vec();
    hooks.tamper(SelfTest::RsaPss, &mut known);
    if rsa_verify_message(key.public_key(), scheme, HashAlg::Sha256, &RSA_MSG, &known).is_err() {
        return false;
    }
    rsa_sign_message(&key, scheme, HashAlg::Sha256, &RSA_MSG)
        .and_then(|sig| {
            rsa_verify_message(key.public_key(), scheme, HashAlg::Sha256, &RSA_MSG, &sig)
        })
        .is_ok()
}

pub(super) fn oaep(hooks: &TestHooks) -> bool {
    let Ok(key) = RsaPrivateKey::from_pkcs8(&RSA_PKCS8) else {
        return false;
    };
    let known = oaep_decrypt(&key, HashAlg::Sha256, b"", &RSA_OAEP_CT)
        .is_ok_and(|pt| matches(hooks, SelfTest::RsaOaep, pt.expose(), &RSA_OAEP_PT));
    // Encryption is randomised: check it round-trips under the known key instead.
    known
        && oaep_encrypt(key.public_key(), HashAlg::Sha256, b"kat", &RSA_OAEP_PT)
            .and_then(|ct| oaep_decrypt(&key, HashAlg::Sha256, b"kat", &ct))
            .is_ok_and(|pt| pt.expose() == RSA_OAEP_PT)
}
