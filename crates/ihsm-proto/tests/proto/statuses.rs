//! One test per decoding status: hand-built CBOR that hits exactly that status, and what the
//! error tells the server about the request (its id and opcode, once known).

use ihsm_proto::frame::{frame_body, parse_prefix};
use ihsm_proto::*;

/// `[{0: 1, 1: GenerateRandom, 2: 1, 3: 5}, ...`: a valid header, session 5, request id 1.
const HEADER: &str = "82 a4 0001 01 190751 0201 0305";

fn bytes(hex: &str) -> Vec<u8> {
    hex::decode(hex.replace(' ', "")).unwrap()
}

/// Decodes a request body; returns the status, the request id and the opcode it exposes.
fn refuse(hex: &str) -> (Status, Option<u64>, Option<Opcode>) {
    let error = Request::decode(&bytes(hex)).expect_err("the request should be refused");
    (
        error.status(),
        error.request_id.map(RequestId::get),
        error.opcode,
    )
}

fn refuse_response(hex: &str, opcode: Opcode) -> Status {
    Response::decode(&bytes(hex), opcode)
        .expect_err("the response should be refused")
        .status()
}

const RANDOM: Option<Opcode> = Some(Opcode::GenerateRandom);

#[test]
fn the_base_request_is_valid() {
    let request = Request::decode(&bytes(&format!("{HEADER} a1 0010"))).unwrap();
    assert_eq!(request.opcode(), Opcode::GenerateRandom);
    assert_eq!(request.session.map(SessionId::get), Some(5));
}

#[test]
fn frame_too_large() {
    let limits = Limits::default();
    let error = parse_prefix([0x00, 0x11, 0x00, 0x01], &limits).unwrap_err();
    assert_eq!(error.status(), Status::FrameTooLarge);
    let frame = bytes("00110001 82");
    assert_eq!(
        frame_body(&frame, &limits).unwrap_err().status(),
        Status::FrameTooLarge
    );
    let error = Request::decode_frame(&frame, &limits).unwrap_err();
    assert_eq!(
        (error.status(), error.request_id),
        (Status::FrameTooLarge, None)
    );
    // The response to it carries request id 0.
    let reply = error.response().encode_frame(&limits).unwrap();
    assert_eq!(hex::encode(&reply[4..]), "82a300000119010102f4a0");
}

#[test]
fn malformed() {
    // Truncated inside the body: the header was read, so the error is addressed.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00")),
        (Status::Malformed, Some(1), RANDOM)
    );
    // Truncated inside the header.
    assert_eq!(
        refuse("82 a4 0001 01 1907"),
        (Status::Malformed, None, None)
    );
    // Indefinite-length top-level array.
    assert_eq!(refuse("9f a0 a0 ff"), (Status::Malformed, None, None));
    // Indefinite-length body map.
    assert_eq!(
        refuse(&format!("{HEADER} bf 0010 ff")),
        (Status::Malformed, Some(1), RANDOM)
    );
    // Reserved additional information (28) as the version.
    assert_eq!(refuse("82 a4 00 1c"), (Status::Malformed, None, None));
    // Empty input.
    assert_eq!(refuse(""), (Status::Malformed, None, None));
    // A list declaring more items than follow: the missing item is found at the end.
    assert_eq!(
        refuse(&format!("{CREATE_OBJECT} a1 00 82 a2 0002 01f5")),
        (Status::Malformed, Some(1), Some(Opcode::CreateObject))
    );
    // The same with the most items a template may declare (64), though they cannot fit the
    // bytes left: the count is judged against its bound only, never against the input.
    assert_eq!(
        refuse(&format!("{CREATE_OBJECT} a1 00 98 40 a2 0002 01f5")),
        (Status::Malformed, Some(1), Some(Opcode::CreateObject))
    );
    // Above the bound, the head alone decides.
    assert_eq!(
        refuse(&format!("{CREATE_OBJECT} a1 00 99ffff a2 0002 01f5")),
        (Status::ValueOutOfRange, Some(1), Some(Opcode::CreateObject))
    );
    // A tag whose head is cut short is malformed, whatever the field's type.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 d9")),
        (Status::Malformed, Some(1), RANDOM)
    );
}

/// `[{0: 1, 1: CreateObject, 2: 1, 3: 5}, ...`.
const CREATE_OBJECT: &str = "82 a4 0001 01 190501 0201 0305";

#[test]
fn wrong_version() {
    // Version 2, checked before the (unknown) opcode and the (invalid) body.
    assert_eq!(
        refuse("82 a4 0002 01 19ffff 0201 0305 f6"),
        (Status::WrongVersion, None, None)
    );
    // Key 0 first: a future header's new keys do not mask the version.
    assert_eq!(
        refuse("82 a2 0002 0f00 a0"),
        (Status::WrongVersion, None, None)
    );
    // {0: 2, 1: "x"}: the version is read before the opcode's type.
    assert_eq!(
        refuse("82 a2 0002 01 6178 a0"),
        (Status::WrongVersion, None, None)
    );
}

#[test]
fn version_must_come_first() {
    // {1: "x", 0: 2}: key 0 is not the first entry, so nothing else of the header is judged.
    assert_eq!(
        refuse("82 a2 01 6178 0002 a0"),
        (Status::MissingField, None, None)
    );
    // A valid header but for its order.
    assert_eq!(
        refuse("82 a4 01 190751 0001 0201 0305 a1 0010"),
        (Status::MissingField, None, None)
    );
    // An empty header, and a header that is not a map.
    assert_eq!(refuse("82 a0 a0"), (Status::MissingField, None, None));
    assert_eq!(refuse("82 80 a0"), (Status::WrongType, None, None));
    // Key 0 again later is a duplicate.
    assert_eq!(
        refuse("82 a5 0001 01 190751 0001 0201 0305 a1 0010"),
        (Status::DuplicateField, None, None)
    );
}

#[test]
fn unknown_opcode() {
    assert_eq!(
        refuse("82 a4 0001 01 19ffff 0201 0305 a0"),
        (Status::UnknownOpcode, Some(1), None)
    );
    assert_eq!(
        refuse("82 a4 0001 01 1b0000000100000751 0201 0305 a0"),
        (Status::UnknownOpcode, Some(1), None)
    );
}

#[test]
fn unknown_field() {
    // GenerateRandom has no key 1.
    assert_eq!(
        refuse(&format!("{HEADER} a2 0010 0100")),
        (Status::UnknownField, Some(1), RANDOM)
    );
    // A text key.
    assert_eq!(
        refuse(&format!("{HEADER} a1 616b 10")),
        (Status::UnknownField, Some(1), RANDOM)
    );
    // Header key 4.
    assert_eq!(
        refuse("82 a5 0001 01 190751 0201 0305 0400 a0"),
        (Status::UnknownField, None, None)
    );
    // A session on an opcode that takes none (GetStatus).
    assert_eq!(
        refuse("82 a4 0001 01 190101 0201 0305 a0"),
        (Status::UnknownField, Some(1), Some(Opcode::GetStatus))
    );
}

#[test]
fn duplicate_field() {
    assert_eq!(
        refuse(&format!("{HEADER} a2 0010 0010")),
        (Status::DuplicateField, Some(1), RANDOM)
    );
    assert_eq!(
        refuse("82 a5 0001 0001 01 190751 0201 0305 a0"),
        (Status::DuplicateField, None, None)
    );
    // A template naming Token twice, with different values.
    assert_eq!(
        refuse(&format!(
            "{CREATE_OBJECT} a1 00 82 a2 0002 01f5 a2 0002 01f4"
        )),
        (Status::DuplicateField, Some(1), Some(Opcode::CreateObject))
    );
    // GetAttributes {handle: 1, types: [Token, Label, Token]}.
    assert_eq!(
        refuse("82 a4 0001 01 190504 0201 0305 a2 00 01 01 83 02 04 02"),
        (Status::DuplicateField, Some(1), Some(Opcode::GetAttributes))
    );
}

#[test]
fn missing_field() {
    assert_eq!(
        refuse(&format!("{HEADER} a0")),
        (Status::MissingField, Some(1), RANDOM)
    );
    // No request id in the header.
    assert_eq!(
        refuse("82 a2 0001 01 190751 a0"),
        (Status::MissingField, None, None)
    );
    // A session-scoped opcode without a session.
    assert_eq!(
        refuse("82 a3 0001 01 190751 0201 a1 0010"),
        (Status::MissingField, Some(1), RANDOM)
    );
}

#[test]
fn top_level_count_other_than_two() {
    // Below 2: MissingField, before the header is looked at (here it is malformed).
    assert_eq!(refuse("80"), (Status::MissingField, None, None));
    assert_eq!(refuse("81 a0"), (Status::MissingField, None, None));
    assert_eq!(refuse("81 a4 00 1c"), (Status::MissingField, None, None));
    // Above 2: TrailingBytes, after the body, whether the extra items are there or not.
    let body = "a4 0001 01 190751 0201 0305 a1 0010";
    assert_eq!(
        refuse(&format!("83 {body} f6")),
        (Status::TrailingBytes, Some(1), RANDOM)
    );
    assert_eq!(
        refuse(&format!("83 {body}")),
        (Status::TrailingBytes, Some(1), RANDOM)
    );
    assert_eq!(
        refuse(&format!("9b ffffffffffffffff {body}")),
        (Status::TrailingBytes, Some(1), RANDOM)
    );
    // ... but a fault in the header or body comes first.
    assert_eq!(
        refuse("83 a4 0001 01 190751 0201 0305 a1 0000 f6"),
        (Status::ValueOutOfRange, Some(1), RANDOM)
    );
    // Responses follow the same rule.
    assert_eq!(
        refuse_response("81 a3 0001 0100 02f5", Opcode::Verify),
        Status::MissingField
    );
    assert_eq!(
        refuse_response("83 a3 0001 0100 02f5 a0", Opcode::Verify),
        Status::TrailingBytes
    );
}

#[test]
fn wrong_type() {
    // The length as text.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 6131")),
        (Status::WrongType, Some(1), RANDOM)
    );
    // The length as a negative integer.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 20")),
        (Status::WrongType, Some(1), RANDOM)
    );
    // A tagged length.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 c110")),
        (Status::WrongType, Some(1), RANDOM)
    );
    // The frame is a map, not an array.
    assert_eq!(refuse("a0"), (Status::WrongType, None, None));
    // CreateObject {template: [{0: Token, 1: 1}, ...]}: the three items declared do not fit
    // the bytes left, but the first one decides: a Token value is a bool.
    assert_eq!(
        refuse(&format!("{CREATE_OBJECT} a1 00 83 a2 0002 0101")),
        (Status::WrongType, Some(1), Some(Opcode::CreateObject))
    );
    // Judged from the head alone: a tag with nothing after it.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 c1")),
        (Status::WrongType, Some(1), RANDOM)
    );
}

#[test]
fn unknown_enum_value() {
    // CancelOperation {kind: 99}.
    assert_eq!(
        refuse("82 a4 0001 01 190752 0201 0305 a1 00 1863"),
        (
            Status::UnknownEnumValue,
            Some(1),
            Some(Opcode::CancelOperation)
        )
    );
}

#[test]
fn value_out_of_range() {
    // GenerateRandom {len: 0} and {len: MAX_DATA_LEN + 1}.
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 00")),
        (Status::ValueOutOfRange, Some(1), RANDOM)
    );
    assert_eq!(
        refuse(&format!("{HEADER} a1 00 1a00100001")),
        (Status::ValueOutOfRange, Some(1), RANDOM)
    );
    // Request id 0 is reserved.
    assert_eq!(
        refuse("82 a4 0001 01 190751 0200 0305 a1 0010"),
        (Status::ValueOutOfRange, None, None)
    );
    // Decrypt {mechanism: {0: AesGcm, 1: h'00' (IV of 1 byte)}, key: 1, data: h''}.
    assert_eq!(
        refuse("82 a4 0001 01 190711 0201 0305 a3 00 a2 00190101 01 4100 01 01 02 40"),
        (Status::ValueOutOfRange, Some(1), Some(Opcode::Decrypt))
    );
    // DeletePartition {name: "Bad"}: not of [a-z0-9_-].
    assert_eq!(
        refuse("82 a4 0001 01 190403 0201 0305 a1 00 63426164"),
        (
            Status::ValueOutOfRange,
            Some(1),
            Some(Opcode::DeletePartition)
        )
    );
    // FindObjects with a template declaring 65 attributes.
    assert_eq!(
        refuse("82 a4 0001 01 190506 0201 0305 a2 00 9841"),
        (Status::ValueOutOfRange, Some(1), Some(Opcode::FindObjects))
    );
}

#[test]
fn trailing_bytes() {
    assert_eq!(
        refuse(&format!("{HEADER} a1 0010 00")),
        (Status::TrailingBytes, Some(1), RANDOM)
    );
    // A third item in the top-level array.
    let third = format!("83{} a1 0010 f6", &HEADER[2..]);
    assert_eq!(refuse(&third), (Status::TrailingBytes, Some(1), RANDOM));
    let limits = Limits::default();
    let error = Request::decode_frame(&bytes("00000001 80 00"), &limits).unwrap_err();
    assert_eq!(error.status(), Status::TrailingBytes);
}

#[test]
fn responses_are_as_strict() {
    // [{0: 1, 1: Ok, 2: true}, {0: h'00'}] answering GenerateRandom.
    let ok = "82 a3 0001 0100 02f5 a1 00 4100";
    assert!(Response::decode(&bytes(ok), Opcode::GenerateRandom).is_ok());
    // Sign's response defines no key 5.
    assert_eq!(
        refuse_response("82 a3 0001 0100 02f5 a1 05 00", Opcode::Sign),
        Status::UnknownField
    );
    // Status 0x7777 is unknown: a failure, accepted as it came (protocol.md 12).
    let unknown = Response::decode(&bytes("82 a3 0001 01 197777 02f4 a0"), Opcode::Sign).unwrap();
    let status = unknown.result.unwrap_err();
    assert_eq!((status.known(), status.value()), (None, 0x7777));
    // ... but its body must be empty, like any failure's.
    assert_eq!(
        refuse_response("82 a3 0001 01 197777 02f4 a1 0000", Opcode::Sign),
        Status::UnknownField
    );
    // A status is a u32.
    assert_eq!(
        refuse_response("82 a3 0001 01 1b0000000100000000 02f4 a0", Opcode::Sign),
        Status::ValueOutOfRange
    );
    // An error response carries an empty body.
    assert_eq!(
        refuse_response("82 a3 0001 01 190606 02f4 a1 0000", Opcode::Verify),
        Status::UnknownField
    );
    // `approved` must be a bool.
    assert_eq!(
        refuse_response("82 a3 0001 0100 0201 a0", Opcode::Verify),
        Status::WrongType
    );
    assert_eq!(
        refuse_response("82 a2 0001 0100 a0", Opcode::Verify),
        Status::MissingField
    );
}

#[test]
fn response_headers_are_consistent() {
    // Ok with request id 0: a request that was not read cannot succeed.
    assert_eq!(
        refuse_response("82 a3 0000 0100 02f5 a1 00 4100", Opcode::GenerateRandom),
        Status::ValueOutOfRange
    );
    // A decoding status (known or not) marked approved: no service was performed.
    for status in ["190102", "1901ff"] {
        assert_eq!(
            refuse_response(&format!("82 a3 0001 01 {status} 02f5 a0"), Opcode::Sign),
            Status::ValueOutOfRange,
            "{status}"
        );
        let unapproved = format!("82 a3 0000 01 {status} 02f4 a0");
        assert!(Response::decode(&bytes(&unapproved), Opcode::Sign).is_ok());
    }
    // Other failures may be approved: a verification that ran and did not verify.
    assert!(Response::decode(&bytes("82 a3 0001 01 190606 02f5 a0"), Opcode::Verify).is_ok());
}

#[test]
fn unaddressed_errors_close_the_connection() {
    // Request id 0 in the reply: the server closes the connection after sending it.
    for hex in ["", "80", "82 a4 00 1c", "82 a4 0002 01 190751 0201 0305 a0"] {
        let error = Request::decode(&bytes(hex)).unwrap_err();
        assert_eq!(error.response().request_id, None, "{hex}");
        assert!(error.closes_connection(), "{hex}");
    }
    let error = Request::decode(&bytes(&format!("{HEADER} a0"))).unwrap_err();
    assert_eq!(error.response().request_id.map(RequestId::get), Some(1));
    assert!(!error.closes_connection());
}
