//! Request and response headers: the first item of every frame body.

use crate::codec::{Reader, Wire, Writer};
use crate::{DecodeError, ErrorStatus, Opcode, RequestId, SessionId, Status};

/// The protocol version this crate speaks (request header key 0).
pub const PROTOCOL_VERSION: u64 = 1;

/// A request header as read, before its opcode is checked: the request id is known even when
/// the opcode is not, so the error response can be addressed.
pub(crate) struct RequestHeader {
    pub(crate) opcode: u64,
    pub(crate) request_id: RequestId,
    pub(crate) session: Option<SessionId>,
}

impl RequestHeader {
    /// Writes `{0: version, 1: opcode, 2: request id, 3: session}` (key 3 only with a session).
    pub(crate) fn encode(
        w: &mut Writer,
        opcode: Opcode,
        request_id: RequestId,
        session: Option<SessionId>,
    ) {
        w.map(3 + u64::from(session.is_some()));
        w.uint(0);
        w.uint(PROTOCOL_VERSION);
        w.uint(1);
        w.uint(u64::from(opcode.value()));
        w.uint(2);
        request_id.encode(w);
        if let Some(session) = session {
            w.uint(3);
            session.encode(w);
        }
    }

    /// Reads the header map. Key 0, the version, must be its first entry
    /// ([`Status::MissingField`] otherwise), and is checked before any other key is read, so
    /// a header of another version gets [`Status::WrongVersion`] whatever keys follow it.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        map.first_key_zero(r)?;
        let at = r.position();
        if r.uint()? != PROTOCOL_VERSION {
            return Err(r.error_at(at, Status::WrongVersion));
        }
        let (mut opcode, mut request_id, mut session) = (None, None, None);
        while let Some(key) = map.next(r, 0b1110)? {
            match key {
                1 => opcode = Some(r.uint()?),
                2 => request_id = Some(RequestId::decode(r)?),
                3 => session = Some(SessionId::decode(r)?),
                // `next` admits only keys 1 to 3; this arm keeps the match total.
                _ => return Err(r.error(Status::UnknownField)),
            }
        }
        map.finish(r, 0b0110)?;
        match (opcode, request_id) {
            (Some(opcode), Some(request_id)) => Ok(Self {
                opcode,
                request_id,
                session,
            }),
            _ => Err(r.error(Status::MissingField)),
        }
    }
}

/// A response header: `{0: request id, 1: status, 2: approved}`, its fields consistent: a
/// status of `Ok` has a request id, and a `0x01xx` status is not approved.
pub(crate) struct ResponseHeader {
    pub(crate) request_id: Option<RequestId>,
    /// The status value, known to this crate or not.
    pub(crate) status: u32,
    pub(crate) approved: bool,
}

impl ResponseHeader {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.map(3);
        w.uint(0);
        w.uint(self.request_id.map_or(0, RequestId::get));
        w.uint(1);
        w.uint(u64::from(self.status));
        w.uint(2);
        w.bool(self.approved);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let (mut request_id, mut status, mut approved) = (None, None, None);
        let (mut request_id_at, mut approved_at) = (0, 0);
        while let Some(key) = map.next(r, 0b111)? {
            match key {
                0 => {
                    request_id_at = r.position();
                    request_id = Some(RequestId::new(r.uint()?));
                }
                1 => status = Some(r.u32()?),
                2 => {
                    approved_at = r.position();
                    approved = Some(r.bool()?);
                }
                // `next` admits only keys 0 to 2; this arm keeps the match total.
                _ => return Err(r.error(Status::UnknownField)),
            }
        }
        map.finish(r, 0b111)?;
        let (Some(request_id), Some(status), Some(approved)) = (request_id, status, approved)
        else {
            return Err(r.error(Status::MissingField));
        };
        // Request id 0 addresses no request, so it can only answer one that was not read.
        if status == Status::Ok.value() && request_id.is_none() {
            return Err(r.error_at(request_id_at, Status::ValueOutOfRange));
        }
        // A request that was not decoded had no service performed, approved or not.
        if approved && ErrorStatus::from_value(status).is_some_and(ErrorStatus::is_decode_error) {
            return Err(r.error_at(approved_at, Status::ValueOutOfRange));
        }
        Ok(Self {
            request_id,
            status,
            approved,
        })
    }
}
