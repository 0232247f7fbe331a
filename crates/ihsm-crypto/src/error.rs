//! The engine's error type.
//!
//! Errors never carry key material or plaintext, only what kind of failure happened, so they
//! are safe to log and to map onto wire status codes.

use core::fmt;

/// Why an engine service refused or failed.
///
/// Verification, decryption and unwrap failures all collapse into [`Error::VerificationFailed`]:
/// telling a bad tag from bad padding would hand a caller an oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The engine has latched its error state (a self-test, pairwise-consistency test or
    /// integrity failure). Every cryptographic service refuses until the module restarts.
    ErrorState,
    /// The engine has not finished its power-on self-tests yet.
    SelfTestsRunning,
    /// A key's bytes have the wrong length or structure for the requested algorithm.
    InvalidKey,
    /// A parameter (IV, tweak, salt length, label, output length...) is outside what the
    /// algorithm accepts.
    InvalidParameter,
    /// The input data has a length the algorithm cannot process (e.g. CBC without padding on
    /// a partial block, XTS on less than one block).
    InvalidLength,
    /// A peer public key or point is not valid for the curve or key type.
    InvalidPublicKey,
    /// A signature, authentication tag, padding or wrapped key did not verify.
    VerificationFailed,
    /// A freshly generated key pair failed its pairwise-consistency test; the key was
    /// discarded and the engine latched its error state.
    PairwiseTestFailed,
    /// The per-key usage limit was reached (e.g. the AES-GCM invocation cap).
    UsageLimitReached,
    /// A key would grow in locked memory on this use (an RSA key builds its Montgomery
    /// contexts on its first use and a blinding for each use more than ever ran at once),
    /// and the share of the locked arena this thread's work is charged to has no room.
    QuotaExceeded,
    /// As [`Error::QuotaExceeded`], but the locked arena as a whole has no room.
    LockedMemoryExhausted,
    /// AWS-LC reported an internal failure that is not attributable to the input.
    Internal,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::ErrorState => "crypto engine is in its error state",
            Error::SelfTestsRunning => "crypto engine self-tests have not completed",
            Error::InvalidKey => "key is not valid for this algorithm",
            Error::InvalidParameter => "parameter is not valid for this algorithm",
            Error::InvalidLength => "input length is not valid for this algorithm",
            Error::InvalidPublicKey => "public key or point is not valid",
            Error::VerificationFailed => "verification failed",
            Error::PairwiseTestFailed => "pairwise consistency test failed",
            Error::UsageLimitReached => "key usage limit reached",
            Error::QuotaExceeded => "the share of locked memory has no room for this use",
            Error::LockedMemoryExhausted => "the locked memory has no room for this use",
            Error::Internal => "internal crypto engine failure",
        };
        f.write_str(text)
    }
}

impl std::error::Error for Error {}

impl From<aws_lc_rs::error::Unspecified> for Error {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Error::Internal
    }
}

/// Shorthand for engine results.
pub type Result<T> = core::result::Result<T, Error>;
