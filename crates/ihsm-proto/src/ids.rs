//! Identifiers: request ids, sessions, logins and object handles. None is ever 0.

use core::num::NonZeroU64;

use crate::codec::{Reader, Wire, Writer};
use crate::{DecodeError, Status};

/// Defines a non-zero 64-bit identifier: 0 on the wire is [`Status::ValueOutOfRange`].
macro_rules! wire_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU64);

        impl $name {
            /// The id with this wire value; `None` for 0, which is never an id.
            #[must_use]
            pub const fn new(value: u64) -> Option<Self> {
                match NonZeroU64::new(value) {
                    Some(value) => Some(Self(value)),
                    None => None,
                }
            }

            /// The wire value.
            #[must_use]
            pub const fn get(self) -> u64 {
                self.0.get()
            }
        }

        impl Wire for $name {
            fn encode(&self, w: &mut Writer) {
                w.uint(self.get());
            }

            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let at = r.position();
                let value = r.uint()?;
                Self::new(value).ok_or_else(|| r.error_at(at, Status::ValueOutOfRange))
            }
        }
    };
}

wire_id! {
    /// A request id, chosen by the client and echoed in the response. Never 0: a response
    /// with request id 0 answers a request whose header could not be decoded.
    RequestId
}

wire_id! {
    /// A session, many per login. Session objects die with their session.
    SessionId
}

wire_id! {
    /// One authenticated role on a connection.
    LoginId
}

wire_id! {
    /// An object handle: random, and meaningful only within its partition.
    Handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_zero() {
        assert_eq!(Handle::new(0), None);
        assert_eq!(decode(&[0x00]), Err(Status::ValueOutOfRange));
        assert_eq!(decode(&[0x05]).map(Handle::get), Ok(5));
    }

    fn decode(bytes: &[u8]) -> Result<Handle, Status> {
        Handle::decode(&mut Reader::new(bytes)).map_err(|e| e.status())
    }
}
