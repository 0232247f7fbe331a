//! Self-tests: the known-answer tests (KATs) ihsm runs at power-on, before any service, and
//! on demand, on top of AWS-LC's own power-on tests. One file per algorithm family.
//!
//! A KAT computes a fixed input through the same crate-private primitive the service uses
//! and compares with an answer from an independent source (`vectors.rs` names each).
//! Signature generation with a random nonce cannot have a fixed answer; its test signs and
//! verifies against a known-answer verification (FIPS 140-3 IG 10.3.A).

mod aes;
mod drbg;
mod ecc;
mod kdf;
mod mac;
mod rsa;
mod vectors;

use subtle::ConstantTimeEq;

/// One self-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SelfTest {
    /// The FIPS build runs AWS-LC's validated module in FIPS mode (its own integrity test and
    /// CASTs passed).
    FipsMode,
    /// SHA-256 KAT.
    Sha256,
    /// SHA-384 KAT.
    Sha384,
    /// SHA-512 KAT.
    Sha512,
    /// HMAC-SHA-256 KAT.
    HmacSha256,
    /// HMAC-SHA-384 KAT.
    HmacSha384,
    /// HMAC-SHA-512 KAT.
    HmacSha512,
    /// AES-256-GCM encrypt and decrypt KAT.
    AesGcm,
    /// AES-256-CBC encrypt and decrypt KAT, with and without padding.
    AesCbc,
    /// AES-256-XTS encrypt and decrypt KAT.
    AesXts,
    /// AES key wrap (RFC 3394) KAT.
    AesKeyWrap,
    /// AES key wrap with padding (RFC 5649) KAT.
    AesKeyWrapPad,
    /// HKDF-SHA-256 KAT.
    Hkdf,
    /// SP 800-108 counter KDF with HMAC-SHA-384 KAT.
    Kbkdf,
    /// PBKDF2-HMAC-SHA-512 KAT.
    Pbkdf2,
    /// ECDSA P-256: verify KAT, then sign-and-verify.
    EcdsaP256,
    /// ECDSA P-384: verify KAT, then sign-and-verify.
    EcdsaP384,
    /// ECDSA P-521: verify KAT, then sign-and-verify.
    EcdsaP521,
    /// ECDH P-256 shared-secret KAT.
    EcdhP256,
    /// ECDH P-384 shared-secret KAT.
    EcdhP384,
    /// ECDH P-521 shared-secret KAT.
    EcdhP521,
    /// RSASSA-PKCS1-v1_5 SHA-256 sign and verify KAT.
    RsaPkcs1,
    /// RSASSA-PSS SHA-256 verify KAT, then sign-and-verify.
    RsaPss,
    /// RSAES-OAEP SHA-256 decrypt KAT.
    RsaOaep,
    /// The DRBG produces output and two outputs differ.
    Drbg,
}

impl SelfTest {
    /// Every self-test in the order power-on runs them.
    pub const ALL: [SelfTest; 25] = [
        SelfTest::FipsMode,
        SelfTest::Sha256,
        SelfTest::Sha384,
        SelfTest::Sha512,
        SelfTest::HmacSha256,
        SelfTest::HmacSha384,
        SelfTest::HmacSha512,
        SelfTest::AesGcm,
        SelfTest::AesCbc,
        SelfTest::AesXts,
        SelfTest::AesKeyWrap,
        SelfTest::AesKeyWrapPad,
        SelfTest::Hkdf,
        SelfTest::Kbkdf,
        SelfTest::Pbkdf2,
        SelfTest::EcdsaP256,
        SelfTest::EcdsaP384,
        SelfTest::EcdsaP521,
        SelfTest::EcdhP256,
        SelfTest::EcdhP384,
        SelfTest::EcdhP521,
        SelfTest::RsaPkcs1,
        SelfTest::RsaPss,
        SelfTest::RsaOaep,
        SelfTest::Drbg,
    ];

    /// A stable name for status reports and logs.
    pub fn name(self) -> &'static str {
        match self {
            SelfTest::FipsMode => "fips-mode",
            SelfTest::Sha256 => "sha-256",
            SelfTest::Sha384 => "sha-384",
            SelfTest::Sha512 => "sha-512",
            SelfTest::HmacSha256 => "hmac-sha-256",
            SelfTest::HmacSha384 => "hmac-sha-384",
            SelfTest::HmacSha512 => "hmac-sha-512",
            SelfTest::AesGcm => "aes-gcm",
            SelfTest::AesCbc => "aes-cbc",
            SelfTest::AesXts => "aes-xts",
            SelfTest::AesKeyWrap => "aes-kw",
            SelfTest::AesKeyWrapPad => "aes-kwp",
            SelfTest::Hkdf => "hkdf",
            SelfTest::Kbkdf => "kbkdf-ctr-hmac",
            SelfTest::Pbkdf2 => "pbkdf2",
            SelfTest::EcdsaP256 => "ecdsa-p256",
            SelfTest::EcdsaP384 => "ecdsa-p384",
            SelfTest::EcdsaP521 => "ecdsa-p521",
            SelfTest::EcdhP256 => "ecdh-p256",
            SelfTest::EcdhP384 => "ecdh-p384",
            SelfTest::EcdhP521 => "ecdh-p521",
            SelfTest::RsaPkcs1 => "rsa-pkcs1",
            SelfTest::RsaPss => "rsa-pss",
            SelfTest::RsaOaep => "rsa-oaep",
            SelfTest::Drbg => "drbg",
        }
    }
}

/// The outcome of one self-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelfTestResult {
    /// Which test.
    pub test: SelfTest,
    /// Whether it passed.
    pub passed: bool,
}

/// Test-only switches that make chosen self-tests or every pairwise-consistency test fail.
/// Without the `test-hooks` feature this type is empty and changes nothing.
#[derive(Clone, Debug, Default)]
pub struct TestHooks {
    #[cfg(feature = "test-hooks")]
    fail: Vec<SelfTest>,
    #[cfg(feature = "test-hooks")]
    fail_pairwise: bool,
}

#[cfg(feature = "test-hooks")]
impl TestHooks {
    /// Makes `test` fail by corrupting its computed answer (or its input, for a
    /// verification) before the comparison.
    pub fn fail_self_test(mut self, test: SelfTest) -> Self {
        self.fail.push(test);
        self
    }

    /// Makes every pairwise-consistency test on key generation fail.
    pub fn fail_pairwise_tests(mut self) -> Self {
        self.fail_pairwise = true;
        self
    }
}

impl TestHooks {
    #[cfg(feature = "test-hooks")]
    pub(crate) fn forced(&self, test: SelfTest) -> bool {
        self.fail.contains(&test)
    }

    #[cfg(not(feature = "test-hooks"))]
    pub(crate) fn forced(&self, _test: SelfTest) -> bool {
        false
    }

    #[cfg(feature = "test-hooks")]
    pub(crate) fn forced_pairwise_failure(&self) -> bool {
        self.fail_pairwise
    }

    #[cfg(not(feature = "test-hooks"))]
    pub(crate) fn forced_pairwise_failure(&self) -> bool {
        false
    }

    /// Flips one bit of `bytes` if `test` is forced to fail.
    fn tamper(&self, test: SelfTest, bytes: &mut [u8]) {
        if self.forced(test) {
            if let Some(first) = bytes.first_mut() {
                *first ^= 0x01;
            }
        }
    }
}

/// Runs every known-answer test (all but [`SelfTest::FipsMode`], which the engine checks).
pub(crate) fn run_all(hooks: &TestHooks) -> Vec<SelfTestResult> {
    SelfTest::ALL
        .iter()
        .filter(|t| **t != SelfTest::FipsMode)
        .map(|&test| SelfTestResult {
            test,
            passed: run_one(test, hooks),
        })
        .collect()
}

fn run_one(test: SelfTest, hooks: &TestHooks) -> bool {
    match test {
        SelfTest::FipsMode => true,
        SelfTest::Sha256 | SelfTest::Sha384 | SelfTest::Sha512 => mac::sha(test, hooks),
        SelfTest::HmacSha256 | SelfTest::HmacSha384 | SelfTest::HmacSha512 => {
            mac::hmac(test, hooks)
        }
        SelfTest::AesGcm => aes::gcm(hooks),
        SelfTest::AesCbc => aes::cbc(hooks),
        SelfTest::AesXts => aes::xts(hooks),
        SelfTest::AesKeyWrap => aes::key_wrap(hooks),
        SelfTest::AesKeyWrapPad => aes::key_wrap_pad(hooks),
        SelfTest::Hkdf => kdf::hkdf(hooks),
        SelfTest::Kbkdf => kdf::kbkdf(hooks),
        SelfTest::Pbkdf2 => kdf::pbkdf2(hooks),
        SelfTest::EcdsaP256 | SelfTest::EcdsaP384 | SelfTest::EcdsaP521 => ecc::ecdsa(test, hooks),
        SelfTest::EcdhP256 | SelfTest::EcdhP384 | SelfTest::EcdhP521 => ecc::ecdh(test, hooks),
        SelfTest::RsaPkcs1 => rsa::pkcs1(hooks),
        SelfTest::RsaPss => rsa::pss(hooks),
        SelfTest::RsaOaep => rsa::oaep(hooks),
        SelfTest::Drbg => drbg::run(hooks),
    }
}

/// Compares a computed answer (tampered first if the hook says so) with the known answer.
fn matches(hooks: &TestHooks, test: SelfTest, computed: &[u8], expected: &[u8]) -> bool {
    let mut computed = zeroize::Zeroizing::new(computed.to_vec());
    hooks.tamper(test, &mut computed);
    computed.len() == expected.len() && bool::from(computed.as_slice().ct_eq(expected))
}
