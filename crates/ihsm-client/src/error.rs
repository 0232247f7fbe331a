//! The SDK's one error type.

use core::fmt;

use ihsm_proto::{ErrorStatus, Status};

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The module refused the request with this status.
    Status(Status),
    /// The module answered with a status this SDK does not know (a newer module); its value.
    UnknownStatus(u32),
    /// The socket failed (the module stopped, or the connection was closed).
    Io(std::io::Error),
    /// The module's answer did not follow the protocol.
    Protocol(&'static str),
    /// This process forked since the connection was made: the child must connect again.
    Forked,
    /// The module's attestation key is not the one pinned for it.
    AttestationKeyChanged,
    /// The credential key's signature did not verify under the attestation key.
    BadCredentialKeySignature,
    /// A value given to the SDK is out of the protocol's bounds.
    InvalidArgument(&'static str),
    /// The SDK's own cryptography (sealing a PIN) failed.
    Crypto,
}

impl Error {
    /// The module's status, if the module refused the request.
    #[must_use]
    pub fn status(&self) -> Option<Status> {
        match self {
            Self::Status(status) => Some(*status),
            _ => None,
        }
    }
}

impl From<ErrorStatus> for Error {
    fn from(status: ErrorStatus) -> Self {
        match status {
            ErrorStatus::Known(status) => Self::Status(status),
            ErrorStatus::Unknown(value) => Self::UnknownStatus(value.value()),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "the module refused: {status:?}"),
            Self::UnknownStatus(value) => write!(f, "the module refused with status 0x{value:04X}"),
            Self::Io(error) => write!(f, "connection to the module failed: {error}"),
            Self::Protocol(what) => write!(f, "protocol error: {what}"),
            Self::Forked => f.write_str("the process forked; connect again in the child"),
            Self::AttestationKeyChanged => {
                f.write_str("the module's attestation key differs from the pinned one")
            }
            Self::BadCredentialKeySignature => {
                f.write_str("the module's credential key signature does not verify")
            }
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::Crypto => f.write_str("the client's cryptography failed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            _ => None,
        }
    }
}

/// The SDK's result.
pub type Result<T> = core::result::Result<T, Error>;
