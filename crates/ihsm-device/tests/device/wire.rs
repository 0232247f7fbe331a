//! Bad bytes on the wire: each gets its decoding status, nothing changes, and an unreadable
//! header closes the connection.

use ihsm_device::Socket;
use ihsm_proto::msgs::*;
use ihsm_proto::{Limits, Opcode, Request, RequestId, Response, Role, Status};

use super::fixtures::*;

fn answer(
    fixture: &Fixture,
    connection: &ihsm_device::Connection,
    body: &[u8],
    opcode: Opcode,
) -> (Response, bool) {
    let reply = fixture.device.handle_frame(connection, body);
    let response = Response::decode_frame(&reply.frame, opcode, &Limits::default()).unwrap();
    (response, reply.close)
}

fn status(response: &Response) -> Option<Status> {
    response.result.as_ref().err().and_then(|e| e.known())
}

#[test]
fn malformed_requests_get_their_status_and_change_nothing() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("wire");
    let name = ihsm_proto::PartitionName::new("wire").unwrap();
    let before = fixture.device.object_count(&name);
    let connection = fixture
        .device
        .connect(Socket::Partition(name.clone()))
        .unwrap();

    // Garbage: no request id could be read, so the connection closes.
    let (response, close) = answer(
        &fixture,
        &connection,
        &[0xff, 0x00, 0x13],
        Opcode::GetStatus,
    );
    assert_eq!(
        (status(&response), response.request_id, close),
        (Some(Status::Malformed), None, true)
    );

    // A well-formed request with one byte changed in the body: an unknown field.
    let request = Request {
        request_id: RequestId::new(9).unwrap(),
        session: Some(session),
        body: GenerateRandomRequest {
            len: ihsm_proto::DataLen::new(4).unwrap(),
        }
        .into(),
    };
    let frame = request.encode_frame(&Limits::default()).unwrap();
    let mut body = frame[4..].to_vec();
    let (response, close) = answer(&fixture, &connection, &body, Opcode::GenerateRandom);
    // On another connection the session is not found: sessions belong to their connection.
    assert_eq!(
        (status(&response), close),
        (Some(Status::SessionNotFound), false)
    );
    let key_zero = body.len() - 2;
    assert_eq!(body[key_zero], 0, "the body's only key");
    body[key_zero] = 7;
    let (response, close) = answer(&fixture, &connection, &body, Opcode::GenerateRandom);
    assert_eq!(
        (status(&response), response.request_id, close),
        (Some(Status::UnknownField), RequestId::new(9), false)
    );
    // Trailing bytes.
    let mut trailing = frame[4..].to_vec();
    trailing.push(0);
    let (response, _) = answer(&fixture, &connection, &trailing, Opcode::GenerateRandom);
    assert_eq!(status(&response), Some(Status::TrailingBytes));

    // Nothing changed: the user's session still works, no object appeared.
    assert_eq!(fixture.device.object_count(&name), before);
    assert!(user.call(Some(session), GetSessionInfoRequest {}).is_ok());
    assert!(user.login(Role::CryptoUser, USER_PIN).is_ok());
}
