//! Request and response headers: the first item of every frame body.

use crate::codec::{Reader, Wire, Writer};
use crate::{DecodeError, Opcode, RequestId, SessionId, Status};

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

    /// Reads the header map. The version is checked as soon as key 0 is read, so a header of
    /// another version gets [`Status::WrongVersion`] whatever keys follow (encoders write key 0
    /// first).
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let (mut opcode, mut request_id, mut session) = (None, None, None);
        while let Some(key) = map.next(r, 0b1111)? {
            match key {
                0 => {
                    let at = r.position();
                    if r.uint()? != PROTOCOL_VERSION {
                        return Err(r.error_at(at, Status::WrongVersion));
                    }
                }
                1 => opcode = Some(r.uint()?),
                2 => request_id = Some(RequestId::decode(r)?),
                3 => session = Some(SessionId::decode(r)?),
                _ => return Err(r.error(Status::UnknownField)),
            }
        }
        map.finish(r, 0b0111)?;
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

/// A response header: `{0: request id, 1: status, 2: approved}`.
pub(crate) struct ResponseHeader {
    pub(crate) request_id: Option<RequestId>,
    pub(crate) status: Status,
    pub(crate) approved: bool,
}

impl ResponseHeader {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.map(3);
        w.uint(0);
        w.uint(self.request_id.map_or(0, RequestId::get));
        w.uint(1);
        self.status.encode(w);
        w.uint(2);
        w.bool(self.approved);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let (mut request_id, mut status, mut approved) = (None, None, None);
        while let Some(key) = map.next(r, 0b111)? {
            match key {
                0 => request_id = Some(RequestId::new(r.uint()?)),
                1 => status = Some(Status::decode(r)?),
                2 => approved = Some(r.bool()?),
                _ => return Err(r.error(Status::UnknownField)),
            }
        }
        map.finish(r, 0b111)?;
        match (request_id, status, approved) {
            (Some(request_id), Some(status), Some(approved)) => Ok(Self {
                request_id,
                status,
                approved,
            }),
            _ => Err(r.error(Status::MissingField)),
        }
    }
}
