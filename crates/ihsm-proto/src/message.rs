//! Whole messages: a request or a response, to and from frames.

use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::frame::{frame_body, patch_prefix, PREFIX_LEN};
use crate::header::{RequestHeader, ResponseHeader};
use crate::{
    DecodeError, EncodeError, ErrorStatus, Limits, Opcode, RequestBody, RequestError, RequestId,
    ResponseBody, SessionId, Status,
};

/// A request: `[header, body]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Chosen by the client, echoed in the response.
    pub request_id: RequestId,
    /// The session the call is made in: required exactly when
    /// [`Opcode::takes_session`] is true.
    pub session: Option<SessionId>,
    /// What is asked; it gives the opcode.
    pub body: RequestBody,
}

impl Request {
    /// The opcode, from the body.
    #[must_use]
    pub fn opcode(&self) -> Opcode {
        self.body.opcode()
    }

    /// The complete frame: length prefix, then the CBOR body. The buffer is zeroized on drop,
    /// as a request may carry secrets.
    pub fn encode_frame(&self, limits: &Limits) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
        let mut w = Writer::with_reserved(PREFIX_LEN);
        w.array(2);
        RequestHeader::encode(&mut w, self.opcode(), self.request_id, self.session);
        self.body.encode(&mut w);
        patch_prefix(w.into_bytes(), limits)
    }

    /// Decodes a frame body (the bytes after the length prefix).
    ///
    /// The checks run in this order, and the first fault wins: the top-level array's count
    /// (fewer than 2 items); the header (key 0, the version, first); the opcode; the session
    /// rule; the body; a count above 2, or trailing bytes. Once the header decoded, the error
    /// carries the request id so the server can address its error response; before that the
    /// server answers with request id 0 and closes the connection
    /// ([`RequestError::closes_connection`]).
    pub fn decode(body: &[u8]) -> Result<Self, RequestError> {
        let mut r = Reader::new(body);
        let unaddressed = |error| RequestError {
            error,
            request_id: None,
            opcode: None,
        };
        let items = top_level(&mut r).map_err(unaddressed)?;
        let header = RequestHeader::decode(&mut r).map_err(unaddressed)?;
        let request_id = header.request_id;
        let opcode = u16::try_from(header.opcode)
            .ok()
            .and_then(|opcode| Opcode::try_from(opcode).ok());
        let addressed = |error| RequestError {
            error,
            request_id: Some(request_id),
            opcode,
        };
        let Some(opcode) = opcode else {
            return Err(addressed(r.error(Status::UnknownOpcode)));
        };
        match (opcode.takes_session(), header.session) {
            (true, None) => return Err(addressed(r.error(Status::MissingField))),
            (false, Some(_)) => return Err(addressed(r.error(Status::UnknownField))),
            _ => {}
        }
        let body = RequestBody::decode(opcode, &mut r).map_err(addressed)?;
        end(&r, items).map_err(addressed)?;
        Ok(Self {
            request_id,
            session: header.session,
            body,
        })
    }

    /// The request id a response body answers, from its header alone: a client with several
    /// requests in flight reads it to find which request (and so which opcode) the body
    /// belongs to, then decodes it with [`Response::decode`]. `None`: the response carries no
    /// request id (a framing or header error, after which the server closes).
    pub fn peek_request_id(body: &[u8]) -> Result<Option<RequestId>, DecodeError> {
        let mut r = Reader::new(body);
        let _items = top_level(&mut r)?;
        Ok(ResponseHeader::decode(&mut r)?.request_id)
    }

    /// Decodes one complete frame held in memory (prefix and body).
    pub fn decode_frame(frame: &[u8], limits: &Limits) -> Result<Self, RequestError> {
        let body = frame_body(frame, limits).map_err(|error| RequestError {
            error,
            request_id: None,
            opcode: None,
        })?;
        Self::decode(body)
    }
}

/// A response: `[header, body]`, the body empty unless the status is [`Status::Ok`].
///
/// Its fields are public, so a value may break the rules of the wire; [`Response::encode_frame`]
/// refuses those, and [`Response::decode`] never yields one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The request id of the request answered; `None` (0 on the wire) when the request's
    /// header could not be decoded. Never `None` for a body.
    pub request_id: Option<RequestId>,
    /// The service indicator: true only when the service performed was an approved one.
    /// Never true for a `0x01xx` status, which performed no service.
    pub approved: bool,
    /// The body, or the status that is not [`Status::Ok`] (possibly one this crate does not
    /// know, from a newer server).
    pub result: Result<ResponseBody, ErrorStatus>,
}

impl Response {
    /// A successful response.
    #[must_use]
    pub fn ok(request_id: RequestId, approved: bool, body: impl Into<ResponseBody>) -> Self {
        Self {
            request_id: Some(request_id),
            approved,
            result: Ok(body.into()),
        }
    }

    /// An error response: `status` (not [`Status::Ok`]), no service performed.
    #[must_use]
    pub fn error(request_id: Option<RequestId>, status: Status) -> Self {
        Self {
            request_id,
            approved: false,
            result: Err(ErrorStatus::Known(status)),
        }
    }

    /// The status value on the wire: 0 for a body.
    #[must_use]
    pub fn status_value(&self) -> u32 {
        match self.result {
            Ok(_) => Status::Ok.value(),
            Err(status) => status.value(),
        }
    }

    /// The complete frame: length prefix, then the CBOR body. The buffer is zeroized on drop,
    /// as a response may carry secrets.
    ///
    /// Refuses a response its peer would refuse: `Err(Status::Ok)`, a body without a request
    /// id, a `0x01xx` status marked approved. A response larger than `limits` is refused too;
    /// the server then answers the request with [`Status::DataLenRange`] instead.
    pub fn encode_frame(&self, limits: &Limits) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
        match (&self.result, self.request_id) {
            (Err(ErrorStatus::Known(Status::Ok)), _) => return Err(EncodeError::OkWithoutBody),
            (Ok(_), None) => return Err(EncodeError::OkWithoutRequestId),
            (Err(status), _) if status.is_decode_error() && self.approved => {
                return Err(EncodeError::ApprovedDecodeError)
            }
            _ => {}
        }
        let mut w = Writer::with_reserved(PREFIX_LEN);
        w.array(2);
        let header = ResponseHeader {
            request_id: self.request_id,
            status: self.status_value(),
            approved: self.approved,
        };
        header.encode(&mut w);
        match &self.result {
            Ok(body) => body.encode(&mut w),
            Err(_) => w.map(0),
        }
        patch_prefix(w.into_bytes(), limits)
    }

    /// Decodes a frame body (the bytes after the length prefix) answering a request with
    /// `opcode`: the client knows the opcode it sent under the request id.
    ///
    /// A status value this crate does not know is accepted, as [`ErrorStatus::Unknown`]: the
    /// client treats it as a failure of its group, not as a protocol failure.
    pub fn decode(body: &[u8], opcode: Opcode) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let items = top_level(&mut r)?;
        let header = ResponseHeader::decode(&mut r)?;
        let result = match ErrorStatus::from_value(header.status) {
            None => Ok(ResponseBody::decode(opcode, &mut r)?),
            Some(status) => {
                r.map()?.end(&mut r)?;
                Err(status)
            }
        };
        end(&r, items)?;
        Ok(Self {
            request_id: header.request_id,
            approved: header.approved,
            result,
        })
    }

    /// The request id a response body answers, from its header alone: a client with several
    /// requests in flight reads it to find which request (and so which opcode) the body
    /// belongs to, then decodes it with [`Response::decode`]. `None`: the response carries no
    /// request id (a framing or header error, after which the server closes).
    pub fn peek_request_id(body: &[u8]) -> Result<Option<RequestId>, DecodeError> {
        let mut r = Reader::new(body);
        let _items = top_level(&mut r)?;
        Ok(ResponseHeader::decode(&mut r)?.request_id)
    }

    /// Decodes one complete frame held in memory (prefix and body).
    pub fn decode_frame(
        frame: &[u8],
        opcode: Opcode,
        limits: &Limits,
    ) -> Result<Self, DecodeError> {
        Self::decode(frame_body(frame, limits)?, opcode)
    }
}

/// Opens the top-level array. A declared count below 2 is refused here, before the header is
/// read; a count above 2 only after the body ([`end`]).
fn top_level(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let items = r.array_len()?;
    if items < 2 {
        return Err(r.error(Status::MissingField));
    }
    Ok(items)
}

/// After the body: no third item (a count above 2 is refused whether or not the items are
/// there), no trailing byte.
fn end(r: &Reader<'_>, items: u64) -> Result<(), DecodeError> {
    if items > 2 {
        return Err(r.error(Status::TrailingBytes));
    }
    r.finish()
}
