//! docs/design/protocol.md against the code: its worked examples must be what the encoder
//! produces, and its tables must list every status, opcode, mechanism, attribute and enum
//! value, so the normative document cannot go stale.

use std::fmt::Debug;

use ihsm_proto::msgs::*;
use ihsm_proto::*;

const PROTOCOL_MD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/design/protocol.md"
));

/// The bytes of the fenced block after `<!-- example: NAME -->`: on each line, the hex
/// before `#`.
fn example(name: &str) -> Vec<u8> {
    let marker = format!("<!-- example: {name} -->");
    let start = PROTOCOL_MD
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker}"));
    let block = PROTOCOL_MD[start..]
        .split("```")
        .nth(1)
        .expect("a fenced block");
    let hex: String = block
        .lines()
        .skip(1) // the fence's info string
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(str::split_whitespace)
        .collect();
    hex::decode(hex).unwrap_or_else(|e| panic!("example {name}: {e}"))
}

fn session() -> SessionId {
    SessionId::new(0x1122_3344_5566_7788).unwrap()
}

#[test]
fn worked_request_is_what_the_encoder_produces() {
    let request = Request {
        request_id: RequestId::new(1).unwrap(),
        session: Some(session()),
        body: GenerateRandomRequest {
            len: DataLen::new(16).unwrap(),
        }
        .into(),
    };
    let limits = Limits::default();
    let documented = example("request");
    assert_eq!(
        hex::encode(&documented),
        hex::encode(request.encode_frame(&limits).unwrap())
    );
    assert_eq!(
        Request::decode_frame(&documented, &limits).unwrap(),
        request
    );
}

#[test]
fn worked_response_is_what_the_encoder_produces() {
    let random: Vec<u8> = (0..16).collect();
    let response = Response::ok(
        RequestId::new(1).unwrap(),
        true,
        GenerateRandomResponse {
            data: Data::copy_from(&random).unwrap(),
        },
    );
    let limits = Limits::default();
    let documented = example("response");
    assert_eq!(
        hex::encode(&documented),
        hex::encode(response.encode_frame(&limits).unwrap())
    );
    let decoded = Response::decode_frame(&documented, Opcode::GenerateRandom, &limits).unwrap();
    assert_eq!(decoded, response);
}

#[test]
fn worked_error_is_what_the_encoder_produces() {
    // A request whose header is unreadable: the reply has request id 0 and an empty body.
    let error = Request::decode(&[0x82, 0xa1, 0x00, 0x1c]).unwrap_err();
    assert_eq!(error.status(), Status::Malformed);
    let limits = Limits::default();
    let documented = example("error");
    let encoded = error.response().encode_frame(&limits).unwrap();
    assert_eq!(hex::encode(&documented), hex::encode(encoded));
}

/// The doc has a table row starting `| `VALUE` | `NAME` |`.
fn assert_row(value: impl std::fmt::Display, name: impl Debug) {
    let row = format!("| `{value}` | `{name:?}` |");
    assert!(
        PROTOCOL_MD.contains(&row),
        "protocol.md lacks the row {row}"
    );
}

#[test]
fn every_status_is_documented() {
    for status in Status::ALL {
        assert_row(format!("0x{:04X}", status.value()), status);
    }
}

#[test]
fn every_opcode_is_documented_with_its_session_rule() {
    for opcode in Opcode::ALL {
        let session = if opcode.takes_session() { "yes" } else { "no" };
        let row = format!("| `0x{:04X}` | `{opcode:?}` | {session} |", opcode.value());
        assert!(
            PROTOCOL_MD.contains(&row),
            "protocol.md lacks the row {row}"
        );
    }
}

#[test]
fn every_mechanism_and_attribute_is_documented() {
    for id in MechanismId::ALL {
        assert_row(format!("0x{:04X}", id.value()), id);
    }
    for ty in AttributeType::ALL {
        assert_row(format!("0x{:04X}", ty.value()), ty);
    }
}

#[test]
fn every_small_enum_is_documented() {
    fn rows<T: Copy + Debug>(all: &[T], value: impl Fn(T) -> u64) {
        for item in all {
            assert_row(value(*item), item);
        }
    }
    rows(Role::ALL, |v| v.value().into());
    rows(DeviceMode::ALL, |v| v.value().into());
    rows(DeviceState::ALL, |v| v.value().into());
    rows(ErrorCause::ALL, |v| v.value().into());
    rows(HashAlg::ALL, |v| v.value().into());
    rows(Curve::ALL, |v| v.value().into());
    rows(ObjectClass::ALL, |v| v.value().into());
    rows(KeyType::ALL, |v| v.value().into());
    rows(CertificateType::ALL, |v| v.value().into());
    rows(ImportKeyKind::ALL, |v| v.value().into());
    rows(OperationKind::ALL, |v| v.value().into());
    rows(AesKeySize::ALL, |v| v.value().into());
    rows(RsaKeySize::ALL, |v| v.value().into());
}
