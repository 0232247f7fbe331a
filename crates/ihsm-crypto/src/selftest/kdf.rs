//! KDF known-answer tests: HKDF, the SP 800-108 counter KDF and PBKDF2.

use super::vectors::*;
use super::{matches, SelfTest, TestHooks};
use crate::services::kdf::{hkdf_derive, kbkdf as kbkdf_derive, pbkdf2_derive};
use crate::types::HashAlg;

pub(super) fn hkdf(hooks: &TestHooks) -> bool {
    hkdf_derive(
        HashAlg::Sha256,
        &HKDF_IKM,
        &HKDF_SALT,
        &HKDF_INFO,
        HKDF_OKM.len(),
    )
    .is_ok_and(|okm| matches(hooks, SelfTest::Hkdf, okm.expose(), &HKDF_OKM))
}

pub(super) fn kbkdf(hooks: &TestHooks) -> bool {
    kbkdf_derive(
        HashAlg::Sha384,
        &KBKDF_KEY,
        &KBKDF_LABEL,
        &KBKDF_CONTEXT,
        KBKDF_OKM.len(),
    )
    .is_ok_and(|okm| matches(hooks, SelfTest::Kbkdf, okm.expose(), &KBKDF_OKM))
}

pub(super) fn pbkdf2(hooks: &TestHooks) -> bool {
    pbkdf2_derive(
        &PBKDF2_PASSWORD,
        &PBKDF2_SALT,
        PBKDF2_ITERATIONS,
        PBKDF2_DK.len(),
    )
    .is_ok_and(|dk| matches(hooks, SelfTest::Pbkdf2, dk.expose(), &PBKDF2_DK))
}
