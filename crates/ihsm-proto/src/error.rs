//! Errors of decoding, encoding and building bounded values.

use core::fmt;

use crate::{Opcode, RequestId, Response, Status};

/// Why bytes were refused: the status to answer with, and where the decoder stopped.
///
/// Only this crate creates one, and its status is always one of the `0x01xx` decoding
/// statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    status: Status,
    offset: usize,
}

impl DecodeError {
    /// The status that names the fault (one of `0x01xx`).
    #[must_use]
    pub const fn status(&self) -> Status {
        self.status
    }

    /// The byte offset in the decoded input (after the length prefix) where the fault was
    /// found; for diagnostics only.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    pub(crate) const fn new(status: Status, offset: usize) -> Self {
        Self { status, offset }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at byte {}", self.status, self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// A request that could not be decoded, with what was learnt of it before the fault, so the
/// server can address its error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// What was wrong.
    pub error: DecodeError,
    /// The request id, once the whole header decoded; `None` when the fault was in the
    /// framing or the header (the response then carries request id 0, and the server closes
    /// the connection after it).
    pub request_id: Option<RequestId>,
    /// The opcode, once it was known (the fault was in the session rule or the body).
    pub opcode: Option<Opcode>,
}

impl RequestError {
    /// The status to answer with.
    #[must_use]
    pub const fn status(&self) -> Status {
        self.error.status()
    }

    /// The error response the server sends for this request.
    #[must_use]
    pub fn response(&self) -> Response {
        Response::error(self.request_id, self.status())
    }

    /// Whether the server closes the connection after sending [`RequestError::response`]:
    /// when the request id was not read (the response carries request id 0). A client with
    /// requests in flight could not tell which of them such a response answers, so no further
    /// response may follow it on that connection.
    #[must_use]
    pub const fn closes_connection(&self) -> bool {
        self.request_id.is_none()
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request refused: {}", self.error)
    }
}

impl std::error::Error for RequestError {}

/// Why a message could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The encoded frame body would exceed the frame limit.
    FrameTooLarge {
        /// Length of the encoded body in bytes.
        len: usize,
        /// The limit in force.
        max: u32,
    },
    /// A response carried the error status [`Status::Ok`], which has no body to send.
    OkWithoutBody,
    /// A response with a body had no request id: request id 0 only answers a request whose
    /// header could not be read, which can never succeed.
    OkWithoutRequestId,
    /// A response with a `0x01xx` status was marked approved: a request that was not decoded
    /// had no service performed.
    ApprovedDecodeError,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLarge { len, max } => {
                write!(f, "frame body of {len} bytes exceeds the limit of {max}")
            }
            Self::OkWithoutBody => f.write_str("an error response cannot carry status Ok"),
            Self::OkWithoutRequestId => f.write_str("a response with a body needs a request id"),
            Self::ApprovedDecodeError => {
                f.write_str("a response with a decoding status cannot be approved")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// A number that names no variant of a wire enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownValue(pub u64);

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown wire value {}", self.0)
    }
}

impl std::error::Error for UnknownValue {}

/// A value outside the bounds of the type it was to become (too long, too short, out of
/// range, or not of the allowed characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundsError;

impl fmt::Display for BoundsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value outside the bounds of its type")
    }
}

impl std::error::Error for BoundsError {}
