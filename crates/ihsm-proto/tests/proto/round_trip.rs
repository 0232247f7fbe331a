//! encode -> decode -> equal, for every request, response, mechanism and attribute, and the
//! encoding is canonical: decoding then encoding gives back the same bytes.

use ihsm_proto::msgs::*;
use ihsm_proto::*;

use crate::samples;

fn round_trip_request(request: &Request) {
    let limits = Limits::default();
    let frame = request.encode_frame(&limits).unwrap();
    let decoded = Request::decode_frame(&frame, &limits).unwrap();
    assert_eq!(&decoded, request);
    assert_eq!(decoded.encode_frame(&limits).unwrap(), frame);
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
        result: Err(Status::VerificationFailed),
    };
    round_trip_response(Opcode::Verify, &failed);
    round_trip_response(Opcode::Sign, &Response::error(None, Status::Malformed));
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
fn encoders_respect_the_frame_limit() {
    let limits = Limits::new(4096).unwrap();
    let request = Request {
        request_id: RequestId::new(1).unwrap(),
        session: SessionId::new(1),
        body: DigestUpdateRequest {
            data: samples::data(&[0; 5000]),
        }
        .into(),
    };
    assert!(matches!(
        request.encode_frame(&limits),
        Err(EncodeError::FrameTooLarge { max: 4096, .. })
    ));
    let ok_as_error = Response::error(RequestId::new(1), Status::Ok);
    assert_eq!(
        ok_as_error.encode_frame(&Limits::default()),
        Err(EncodeError::OkWithoutBody)
    );
}

#[test]
fn secrets_do_not_reach_debug_output() {
    let request = samples::framed_request(Opcode::Encrypt, 1);
    let debug = format!("{request:?}");
    assert!(
        debug.contains("SecretBytes(<14 bytes redacted>)"),
        "{debug}"
    );
    assert!(!debug.contains("attack"));
    let ticket = format!("{:?}", samples::request(Opcode::AttachLogin));
    assert!(ticket.contains("Ticket(<redacted>)"), "{ticket}");
}
