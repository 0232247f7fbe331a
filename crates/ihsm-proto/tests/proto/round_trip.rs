//! encode -> decode -> equal, for every request, response, mechanism and attribute, and the
//! encoding is canonical: decoding then encoding gives back the same bytes.

use ihsm_proto::msgs::*;
use ihsm_proto::*;

use crate::samples;

fn round_trip_request(request: &Request) {
    round_trip_request_with(request, &Limits::default());
}

fn round_trip_request_with(request: &Request, limits: &Limits) {
    let frame = request.encode_frame(limits).unwrap();
    let decoded = Request::decode_frame(&frame, limits).unwrap();
    assert_eq!(&decoded, request);
    assert_eq!(decoded.encode_frame(limits).unwrap(), frame);
}

fn round_trip_response(opcode: Opcode, response: &Response) {
    let limits = Limits::default();
    let frame = response.encode_frame(&limits).unwrap();
    let decoded = Response::decode_frame(&frame, opcode, &limits).unwrap();
    assert_eq!(&decoded, response);
    assert_eq!(decoded.encode_frame(&limits).unwrap(), frame);
}

#[test]
fn every_request_round_trips() {
    for (id, op) in (1..).zip(Opcode::ALL) {
        let request = samples::framed_request(*op, id);
        assert_eq!(
            request.opcode(),
            *op,
            "the sample for {op:?} has another opcode"
        );
        round_trip_request(&request);
    }
}

#[test]
fn every_response_round_trips() {
    for (id, op) in (1..).zip(Opcode::ALL) {
        let body = samples::response(*op);
        assert_eq!(
            body.opcode(),
            *op,
            "the sample for {op:?} has another opcode"
        );
        let request_id = RequestId::new(id).unwrap();
        round_trip_response(*op, &Response::ok(request_id, id % 2 == 0, body));
    }
}

#[test]
fn every_error_status_round_trips() {
    for status in Status::ALL.iter().filter(|s| **s != Status::Ok) {
        let response = Response::error(RequestId::new(7), *status);
        round_trip_response(Opcode::Sign, &response);
        // An error response is the same whatever the opcode.
        round_trip_response(Opcode::GetStatus, &response);
    }
    // An approved service can still fail to verify.
    let failed = Response {
        request_id: RequestId::new(8),
        approved: true,
        result: Err(Status::VerificationFailed.into()),
    };
    round_trip_response(Opcode::Verify, &failed);
    round_trip_response(Opcode::Sign, &Response::error(None, Status::Malformed));
}

#[test]
fn unknown_statuses_round_trip() {
    // A status a newer server added: kept as it came, in its group, never a body.
    for value in [0x0001, 0x01ff, 0x03ff, 0x0700, u32::MAX] {
        let status = UnknownStatus::new(value).unwrap();
        let response = Response {
            request_id: RequestId::new(9),
            approved: false,
            result: Err(ErrorStatus::Unknown(status)),
        };
        round_trip_response(Opcode::Login, &response);
        assert_eq!(response.status_value(), value);
    }
}

#[test]
fn every_mechanism_round_trips() {
    for (id, mechanism_id) in (1..).zip(MechanismId::ALL) {
        let mechanism = samples::mechanism(*mechanism_id);
        assert_eq!(mechanism.id(), *mechanism_id);
        round_trip_request(&Request {
            request_id: RequestId::new(id).unwrap(),
            session: SessionId::new(1),
            body: SignInitRequest {
                mechanism,
                key: samples::handle(1),
            }
            .into(),
        });
    }
}

#[test]
fn every_attribute_round_trips() {
    let template = samples::full_template();
    assert_eq!(template.len(), AttributeType::ALL.len());
    for (attribute, ty) in template.iter().zip(AttributeType::ALL) {
        assert_eq!(attribute.attribute_type(), *ty);
    }
    let readings = template
        .iter()
        .cloned()
        .map(AttributeReading::Value)
        .collect::<Vec<_>>();
    let response = Response::ok(
        RequestId::new(1).unwrap(),
        false,
        GetAttributesResponse {
            values: samples::list(readings),
        },
    );
    round_trip_response(Opcode::GetAttributes, &response);
}

#[test]
fn key_specs_round_trip() {
    let specs = [
        KeySpec::Aes(AesKeySize::Aes128),
        KeySpec::Aes(AesKeySize::Aes192),
        KeySpec::Aes(AesKeySize::Aes256),
        KeySpec::AesXts,
        KeySpec::GenericSecret(GenericSecretLen::new(128).unwrap()),
    ];
    for spec in specs {
        round_trip_request(&Request {
            request_id: RequestId::new(1).unwrap(),
            session: SessionId::new(2),
            body: GenerateKeyRequest {
                spec,
                template: Template::default(),
            }
            .into(),
        });
    }
    for curve in Curve::ALL {
        let body = GenerateKeyPairRequest {
            spec: KeyPairSpec::Ec(*curve),
            public_template: Template::default(),
            private_template: Template::default(),
        };
        round_trip_request(&Request {
            request_id: RequestId::new(3).unwrap(),
            session: SessionId::new(4),
            body: body.into(),
        });
    }
}

#[test]
fn largest_data_fits_the_default_frame() {
    let body = EncryptRequest {
        mechanism: samples::mechanism(MechanismId::AesCbcPad),
        key: samples::handle(u64::MAX),
        data: samples::data(&vec![0xab; MAX_DATA_LEN]),
    };
    round_trip_request(&Request {
        request_id: RequestId::new(u64::MAX).unwrap(),
        session: SessionId::new(u64::MAX),
        body: body.into(),
    });
    let random = GenerateRandomResponse {
        data: samples::data(&vec![0xcd; MAX_DATA_LEN]),
    };
    round_trip_response(
        Opcode::GenerateRandom,
        &Response::ok(RequestId::new(1).unwrap(), true, random),
    );
}

#[test]
fn largest_aad_and_largest_data_do_not_fit_one_frame() {
    // Every field within its bound, the total above the default limit (protocol.md 2).
    let mechanism = Mechanism::AesGcm(AesGcmParams {
        iv: Some([0; 12]),
        aad: Some(samples::bytes(&vec![0xaa; MAX_AAD_LEN])),
        tag_bits: None,
    });
    let request = Request {
        request_id: RequestId::new(1).unwrap(),
        session: SessionId::new(1),
        body: DecryptRequest {
            mechanism,
            key: samples::handle(1),
            data: samples::data(&vec![0xab; MAX_DATA_LEN]),
        }
        .into(),
    };
    let limits = Limits::default();
    assert!(matches!(
        request.encode_frame(&limits),
        Err(EncodeError::FrameTooLarge {
            max: DEFAULT_MAX_FRAME_LEN,
            ..
        })
    ));
    // A deployment with a higher limit carries it.
    round_trip_request_with(&request, &Limits::new(2 << 20).unwrap());
}

#[test]
fn frame_limits_are_never_below_the_default() {
    assert_eq!(Limits::new(4096), None);
    assert_eq!(Limits::new(DEFAULT_MAX_FRAME_LEN - 1), None);
    assert_eq!(Limits::new(DEFAULT_MAX_FRAME_LEN), Some(Limits::default()));
}

#[test]
fn encoders_refuse_inconsistent_responses() {
    let limits = Limits::default();
    let ok_as_error = Response::error(RequestId::new(1), Status::Ok);
    assert_eq!(
        ok_as_error.encode_frame(&limits),
        Err(EncodeError::OkWithoutBody)
    );
    let unaddressed_ok = Response {
        request_id: None,
        approved: false,
        result: Ok(samples::response(Opcode::GetStatus)),
    };
    assert_eq!(
        unaddressed_ok.encode_frame(&limits),
        Err(EncodeError::OkWithoutRequestId)
    );
    for status in [
        ErrorStatus::Known(Status::Malformed),
        ErrorStatus::Unknown(UnknownStatus::new(0x01ff).unwrap()),
    ] {
        let approved = Response {
            request_id: RequestId::new(1),
            approved: true,
            result: Err(status),
        };
        assert_eq!(
            approved.encode_frame(&limits),
            Err(EncodeError::ApprovedDecodeError)
        );
    }
}

/// The rendering of `secret` that `debug` shows, if any, among those a derived or careless
/// `Debug` would use: decimal bytes (`[97, 116, ...]`), hex (`0x6174...`), or the text.
fn leaked(debug: &str, secret: &[u8]) -> Option<String> {
    let decimal = format!("{secret:?}");
    let decimal = decimal.trim_start_matches('[').trim_end_matches(']');
    let renderings = [
        decimal.to_owned(),
        hex::encode(secret),
        hex::encode_upper(secret),
        String::from_utf8_lossy(secret).into_owned(),
    ];
    renderings
        .into_iter()
        .find(|rendering| debug.contains(rendering.as_str()))
}

fn assert_redacted(debug: &str, secret: &[u8]) {
    assert_eq!(leaked(debug, secret), None, "{debug}");
}

#[test]
fn secrets_do_not_reach_debug_output() {
    let request = samples::framed_request(Opcode::Encrypt, 1);
    let debug = format!("{request:?}");
    assert!(
        debug.contains("SecretBytes(<14 bytes redacted>)"),
        "{debug}"
    );
    assert_redacted(&debug, b"attack at dawn");

    let secret = b"\x2b\x7e\x15\x16 key bytes";
    let value = Attribute::Value(SecretBytes::copy_from(secret).unwrap());
    let template = CreateObjectRequest {
        template: Template::new(vec![value.clone()]).unwrap(),
    };
    for debug in [format!("{value:?}"), format!("{template:?}")] {
        assert!(debug.contains("<14 bytes redacted>"), "{debug}");
        assert_redacted(&debug, secret);
    }

    let ticket = format!("{:?}", samples::request(Opcode::AttachLogin));
    assert!(ticket.contains("Ticket(<redacted>)"), "{ticket}");
    assert_redacted(&ticket, &[0x5a; 32]);
}

#[test]
fn redaction_check_can_fail() {
    // The check above would catch a Debug that printed the bytes, in either base.
    let secret = b"attack at dawn";
    let leaks = [
        format!("{:?}", secret.to_vec()),
        format!("{:?}", Bytes::<16>::new(secret.to_vec()).unwrap()),
    ];
    for leak in leaks {
        assert!(leaked(&leak, secret).is_some(), "{leak} passed");
    }
}
