//! ihsm's crypto engine: the one seam between the module and AWS-LC.
//!
//! It offers every cryptographic service the module uses (AES GCM/CBC/XTS/KW/KWP, SHA-2,
//! HMAC, HKDF, the SP 800-108 counter KDF, PBKDF2, ECDSA and ECDH on P-256/384/521, RSA
//! 2048/3072/4096 key generation, PKCS#1 v1.5 and PSS signatures and OAEP, and random bytes),
//! each behind an [`Engine`] that runs power-on self-tests, latches an error state on any
//! self-test or pairwise-consistency failure, and attaches a service indicator computed from
//! ihsm's own [`policy`] table to every output.
//!
//! With the default `fips` feature it links the FIPS 140-3 validated AWS-LC module and
//! asserts FIPS mode at power-on; the `non-fips` build works the same but never reports an
//! approved service.
//!
//! What it must never do: hand out key material except through the explicit `expose`/`pkcs8`
//! accessors its callers seal; print a secret (no `Debug` shows one); serve a request while
//! self-testing or after a hard error; use any cryptography other than AWS-LC's.
//! `unsafe` is denied everywhere but the [`shim`](crate) module over AWS-LC's C API and the
//! locked [`arena`] the daemon keeps its secrets in.
#![deny(unsafe_code)]

#[cfg(not(any(feature = "fips", feature = "non-fips")))]
compile_error!("ihsm-crypto needs one of the features `fips` (default) or `non-fips`");

// Test hooks can break self-tests on purpose; a release build must never carry them.
#[cfg(all(feature = "test-hooks", not(debug_assertions)))]
compile_error!("the `test-hooks` feature is for test builds only and refuses release builds");

pub mod arena;
mod ecdsa_sig;
mod engine;
mod error;
mod keys;
pub mod policy;
mod selftest;
mod services;
mod shim;
mod types;

pub use engine::{Engine, EngineState, Indicated};
pub use error::{Error, Result};
pub use keys::{
    AesKey, EcPrivateKey, EcPublicKey, GenericSecret, RsaPrivateKey, RsaPublicKey, SecretBytes,
    XtsKey, GCM_MAX_INVOCATIONS,
};
pub use selftest::{SelfTest, SelfTestResult, TestHooks};
pub use services::aes::{GcmCiphertext, AES_BLOCK_LEN, GCM_IV_LEN, GCM_TAG_LEN, XTS_MAX_DATA_UNIT};
pub use services::hash::{DigestContext, HmacContext, HMAC_MIN_APPROVED_KEY_LEN};
pub use services::kdf::{
    KDF_MIN_APPROVED_KEY_LEN, MAX_DERIVED_LEN, PBKDF2_MAX_ITERATIONS,
    PBKDF2_MIN_APPROVED_ITERATIONS, PBKDF2_MIN_APPROVED_PASSWORD_LEN, PBKDF2_MIN_SALT_LEN,
};
pub use services::random::MAX_RANDOM_LEN;
pub use services::rsa::{RsaSignatureScheme, MAX_OAEP_LABEL_LEN};
pub use services::sealed::{ReplyKey, SealedParts, SEALED_REPLY_LABEL, SEALED_SECRET_LABEL};
pub use services::signature::{SignContext, VerifyContext};
pub use types::{AesBits, Curve, HashAlg, RsaBits};

/// The AWS-LC version string this engine links.
pub fn aws_lc_version() -> &'static str {
    aws_lc_rs::awslc_version()
}
