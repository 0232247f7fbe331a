//! SHA-2 and HMAC known-answer tests.

use super::vectors::*;
use super::{matches, SelfTest, TestHooks};
use crate::keys::GenericSecret;
use crate::services::hash::{self, hmac_tag};
use crate::types::HashAlg;

pub(super) fn sha(test: SelfTest, hooks: &TestHooks) -> bool {
    let (hash, expected): (HashAlg, &[u8]) = match test {
        SelfTest::Sha256 => (HashAlg::Sha256, &SHA256_ABC),
        SelfTest::Sha384 => (HashAlg::Sha384, &SHA384_ABC),
        _ => (HashAlg::Sha512, &SHA512_ABC),
    };
    matches(hooks, test, &hash::sha(hash, b"abc"), expected)
}

pub(super) fn hmac(test: SelfTest, hooks: &TestHooks) -> bool {
    let (hash, key, msg, tag): (HashAlg, &[u8], &[u8], &[u8]) = match test {
        SelfTest::HmacSha256 => (
            HashAlg::Sha256,
            &HMAC_SHA256_KEY,
            &HMAC_SHA256_MSG,
            &HMAC_SHA256_TAG,
        ),
        SelfTest::HmacSha384 => (
            HashAlg::Sha384,
            &HMAC_SHA384_KEY,
            &HMAC_SHA384_MSG,
            &HMAC_SHA384_TAG,
        ),
        _ => (
            HashAlg::Sha512,
            &HMAC_SHA512_KEY,
            &HMAC_SHA512_MSG,
            &HMAC_SHA512_TAG,
        ),
    };
    let Ok(key) = GenericSecret::from_bytes(key) else {
        return false;
    };
    matches(hooks, test, &hmac_tag(&key, hash, msg), tag)
}
