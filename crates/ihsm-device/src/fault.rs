//! How a request fails: a status for a fault the client caused, or a hard error that latches
//! the device's error state.

use ihsm_crypto::Error as CryptoError;
use ihsm_proto::{ResponseBody, Status};

use crate::store::StoreError;

/// A hard error: a fault inside the module. The device zeroizes every secret it holds and
/// refuses all but `GetStatus` until it restarts and its self-tests pass again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HardError {
    /// A power-on or on-demand self-test failed.
    SelfTest,
    /// A generated key pair failed its pairwise-consistency test.
    PairwiseTest,
    /// The crypto engine latched its error state for another reason.
    Engine,
    /// Persisted state failed an integrity check.
    Integrity,
    /// The store is older than its monotonic counter: an older copy was put back.
    Rollback,
    /// The store could not be opened.
    StoreUnavailable,
    /// The stored keys did not fit the locked arena at power-on.
    LockedMemory,
}

impl HardError {
    /// The cause as the wire names it.
    #[must_use]
    pub fn cause(self) -> ihsm_proto::ErrorCause {
        use ihsm_proto::ErrorCause;
        match self {
            Self::SelfTest => ErrorCause::SelfTest,
            Self::PairwiseTest => ErrorCause::PairwiseTest,
            Self::Engine => ErrorCause::Engine,
            Self::Integrity => ErrorCause::Integrity,
            Self::Rollback => ErrorCause::Rollback,
            Self::LockedMemory => ErrorCause::LockedMemory,
            Self::StoreUnavailable => ErrorCause::StoreUnavailable,
        }
    }
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The client's fault (or a transient condition): answered with this status, nothing
    /// changed.
    Status(Status),
    /// The module's fault: the error state latches.
    Hard(HardError),
}

impl From<Status> for Fault {
    fn from(status: Status) -> Self {
        Self::Status(status)
    }
}

/// The default reading of an engine error; handlers that know better map it first (a key
/// from a template that does not parse is `AttributeValueInvalid`, not a key mismatch).
impl From<CryptoError> for Fault {
    fn from(error: CryptoError) -> Self {
        Self::Status(match error {
            CryptoError::ErrorState => return Self::Hard(HardError::Engine),
            CryptoError::PairwiseTestFailed => return Self::Hard(HardError::PairwiseTest),
            CryptoError::SelfTestsRunning => Status::SelfTestsRunning,
            CryptoError::InvalidKey => Status::KeyTypeInconsistent,
            CryptoError::InvalidParameter | CryptoError::InvalidPublicKey => {
                Status::MechanismParamInvalid
            }
            CryptoError::InvalidLength => Status::DataLenRange,
            CryptoError::VerificationFailed => Status::VerificationFailed,
            CryptoError::UsageLimitReached => Status::UsageLimitReached,
            CryptoError::QuotaExceeded => Status::QuotaExceeded,
            CryptoError::LockedMemoryExhausted => Status::LockedMemoryExhausted,
            _ => Status::Internal,
        })
    }
}

impl From<StoreError> for Fault {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Corrupt => Self::Hard(HardError::Integrity),
            _ => Self::Status(Status::Internal),
        }
    }
}

/// A request served: the body and the service indicator.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) body: ResponseBody,
    pub(crate) approved: bool,
}

impl Served {
    /// A body with its indicator.
    pub(crate) fn new(body: impl Into<ResponseBody>, approved: bool) -> Self {
        Self {
            body: body.into(),
            approved,
        }
    }

    /// A body of a service that uses no cryptographic algorithm: approved, as every service
    /// that uses only approved functions (or none) is.
    pub(crate) fn plain(body: impl Into<ResponseBody>) -> Self {
        Self::new(body, true)
    }
}

/// What a handler returns.
pub(crate) type Outcome = Result<Served, Fault>;
