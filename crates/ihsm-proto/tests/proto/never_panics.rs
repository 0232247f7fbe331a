//! The decoders are total: no input makes them panic, and none makes them hold more than
//! `FACTOR * input length + SLACK` bytes of heap at once. The test binary's allocator is
//! `allocation_counter`'s, which counts the peak of the current thread only.

use std::sync::LazyLock;

use allocation_counter::measure;
use ihsm_proto::msgs::*;
use ihsm_proto::*;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::samples;

/// Decoded values may be larger than their encoding, but only by a constant factor: the worst
/// is a list of handles (8 bytes decoded from as little as 1), whose preallocation the
/// decoder bounds by the bytes left over each item's smallest encoding.
const FACTOR: usize = 10;
const SLACK: usize = 1024;

static FRAMES: LazyLock<Vec<(Opcode, Vec<u8>)>> = LazyLock::new(samples::frames);

/// Decodes `body` as a request and as a response to `opcode`, and checks the peak heap use of
/// each. Returns whether the request decoded.
fn decode_bounded(body: &[u8], opcode: Opcode) -> bool {
    let bound = FACTOR * body.len() + SLACK;
    let mut decoded = false;
    let request = measure(|| decoded = Request::decode(body).is_ok());
    assert!(
        usize::try_from(request.bytes_max).unwrap() <= bound,
        "Request::decode of {} bytes held {} bytes: {}",
        body.len(),
        request.bytes_max,
        hex::encode(body)
    );
    let response = measure(|| drop(Response::decode(body, opcode)));
    assert!(
        usize::try_from(response.bytes_max).unwrap() <= bound,
        "Response::decode({opcode:?}) of {} bytes held {} bytes: {}",
        body.len(),
        response.bytes_max,
        hex::encode(body)
    );
    decoded
}

/// Applies one mutation to `bytes`: overwrite, insert, delete or truncate at `at`.
fn mutate(bytes: &mut Vec<u8>, kind: u8, at: Index, value: u8) {
    if bytes.is_empty() {
        bytes.push(value);
        return;
    }
    let at = at.index(bytes.len());
    match kind % 4 {
        0 => bytes[at] = value,
        1 => bytes.insert(at, value),
        2 => {
            bytes.remove(at);
        }
        _ => bytes.truncate(at),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), op in any::<Index>()) {
        let opcode = *op.get(Opcode::ALL);
        decode_bounded(&bytes, opcode);
        let limits = Limits::default();
        let _ = Request::decode_frame(&bytes, &limits);
        let _ = Response::decode_frame(&bytes, opcode, &limits);
    }

    #[test]
    fn mutated_frames_never_panic(
        frame in any::<Index>(),
        mutations in proptest::collection::vec((any::<u8>(), any::<Index>(), any::<u8>()), 1..6),
    ) {
        let (opcode, frame) = frame.get(&FRAMES);
        let mut body = frame[frame::PREFIX_LEN..].to_vec();
        for (kind, at, value) in mutations {
            mutate(&mut body, kind, at, value);
        }
        decode_bounded(&body, *opcode);
    }

    #[test]
    fn arbitrary_headers_with_valid_bodies_never_panic(
        header in proptest::collection::vec(any::<u8>(), 0..40),
        frame in any::<Index>(),
    ) {
        // A valid body behind a random header.
        let (opcode, frame) = frame.get(&FRAMES);
        let mut body = vec![0x82];
        body.extend(&header);
        body.extend(&frame[frame::PREFIX_LEN + 1..]);
        decode_bounded(&body, *opcode);
    }

    #[test]
    fn valid_headers_before_arbitrary_bytes_never_panic(
        op in any::<Index>(),
        response in any::<bool>(),
        rest in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        // A valid request or response header, then random bytes where the body should be:
        // the body decoders of every opcode see arbitrary input.
        let opcode = *op.get(Opcode::ALL);
        let mut body = if response {
            RESPONSE_HEADER.to_vec()
        } else {
            request_header(opcode)
        };
        body.extend(&rest);
        let decoded = decode_bounded(&body, opcode);
        // A valid request header leaves the body alone to decide: the error is addressed.
        if !response && !decoded {
            let error = Request::decode(&body).unwrap_err();
            prop_assert_eq!(error.request_id.map(RequestId::get), Some(1));
            prop_assert_eq!(error.opcode, Some(opcode));
        }
    }
}

/// `[{0: 1, 1: Ok, 2: true}, ...`: the start of a valid response, before its body.
const RESPONSE_HEADER: [u8; 8] = [0x82, 0xa3, 0x00, 0x01, 0x01, 0x00, 0x02, 0xf5];

/// `[{0: 1, 1: opcode, 2: 1, 3: 5}, ...`: the start of a valid request (without key 3 when
/// the opcode takes no session), before its body.
fn request_header(opcode: Opcode) -> Vec<u8> {
    let session = opcode.takes_session();
    let mut header = vec![
        0x82,
        if session { 0xa4 } else { 0xa3 },
        0x00,
        0x01,
        0x01,
        0x19,
    ];
    header.extend(opcode.value().to_be_bytes());
    header.extend([0x02, 0x01]);
    if session {
        header.extend([0x03, 0x05]);
    }
    header
}

#[test]
fn generated_headers_are_valid() {
    // The generator above reaches the body decoders only if its headers decode.
    let limits = Limits::default();
    for opcode in Opcode::ALL {
        let sample = samples::framed_request(*opcode, 1);
        let frame = sample.encode_frame(&limits).unwrap();
        // The sample's header is 10 bytes, 20 with its 9-byte session.
        let header_len = if opcode.takes_session() { 20 } else { 10 };
        let mut body = request_header(*opcode);
        body.extend(&frame[frame::PREFIX_LEN + header_len..]);
        assert_eq!(
            Request::decode(&body).unwrap().body,
            sample.body,
            "{opcode:?}"
        );
        let response = Response::ok(RequestId::new(1).unwrap(), true, samples::response(*opcode));
        let frame = response.encode_frame(&limits).unwrap();
        assert_eq!(
            frame[frame::PREFIX_LEN..][..8],
            RESPONSE_HEADER,
            "{opcode:?}"
        );
    }
}

#[test]
fn valid_frames_decode_within_the_bound() {
    for (opcode, frame) in FRAMES.iter() {
        let body = &frame[frame::PREFIX_LEN..];
        decode_bounded(body, *opcode);
    }
}

#[test]
fn dense_inputs_decode_within_the_bound() {
    // The inputs that expand most: many tiny items in maximal lists.
    let handles = FindObjectsResponse {
        handles: samples::list((1..=1024).map(|n| samples::handle(n % 23 + 1)).collect()),
        next_cursor: None,
    };
    let readings = GetAttributesResponse {
        values: samples::list(vec![AttributeReading::Sensitive(AttributeType::Token); 64]),
    };
    let tests = GetStatusResponse {
        version: samples::text(""),
        mode: DeviceMode::Production,
        fips_mode: true,
        state: DeviceState::Operational,
        error: Some(ErrorCause::StoreUnavailable),
        locked_memory: None,
        self_tests: samples::list(vec![
            SelfTestResult {
                name: samples::text(""),
                passed: true,
            };
            MAX_SELF_TESTS
        ]),
        test_hooks: false,
        initialized: true,
    };
    // The densest template: every bool attribute once (a template repeats no type).
    let flags: [fn(bool) -> Attribute; 17] = [
        Attribute::Token,
        Attribute::Private,
        Attribute::Modifiable,
        Attribute::Copyable,
        Attribute::Destroyable,
        Attribute::Local,
        Attribute::Derive,
        Attribute::Sensitive,
        Attribute::Extractable,
        Attribute::AlwaysSensitive,
        Attribute::NeverExtractable,
        Attribute::Encrypt,
        Attribute::Decrypt,
        Attribute::Sign,
        Attribute::Verify,
        Attribute::Wrap,
        Attribute::Unwrap,
    ];
    let flags = CreateObjectRequest {
        template: Template::new(flags.map(|flag| flag(true))).unwrap(),
    };
    let limits = Limits::default();
    let id = RequestId::new(1).unwrap();
    for response in [
        Response::ok(id, true, handles),
        Response::ok(id, true, readings),
        Response::ok(id, true, tests),
    ] {
        let opcode = response.result.as_ref().unwrap().opcode();
        let frame = response.encode_frame(&limits).unwrap();
        decode_bounded(&frame[frame::PREFIX_LEN..], opcode);
    }
    let request = Request {
        request_id: id,
        session: SessionId::new(1),
        body: flags.into(),
    };
    let frame = request.encode_frame(&limits).unwrap();
    assert!(decode_bounded(
        &frame[frame::PREFIX_LEN..],
        Opcode::CreateObject
    ));
}

#[test]
fn claimed_counts_allocate_in_proportion() {
    // Each list claims as many items as could fit the bytes that follow (count * the item's
    // smallest encoding), then its first item is invalid: the worst case for preallocation.
    // Then the same with one byte fewer, so the count no longer fits the bytes left.
    let cases: &[(Opcode, bool, u8, usize, usize)] = &[
        // (opcode, is a response, key, most items, smallest item encoding)
        (Opcode::FindObjects, true, 0, 1024, 1),
        (Opcode::ListPartitions, true, 0, 1024, 16),
        (Opcode::GetAttributes, true, 0, 64, 5),
        (Opcode::GetStatus, true, 4, 256, 5),
        (Opcode::CreateObject, false, 0, 64, 5),
        (Opcode::SetPartitionPolicy, false, 0, 128, 1),
        (Opcode::GetAttributes, false, 1, 64, 1),
    ];
    for &(opcode, is_response, key, count, min_len) in cases {
        let mut body = if is_response {
            hex::decode("82a30001010002f4").unwrap()
        } else {
            let mut header = hex::decode("82a4000101190000020103").unwrap();
            header[6..8].copy_from_slice(&opcode.value().to_be_bytes());
            header.push(0x05);
            header
        };
        body.extend([0xa1, key, 0x99]);
        body.extend(u16::try_from(count).unwrap().to_be_bytes());
        body.extend(vec![0xff; count * min_len]);
        decode_bounded(&body, opcode);
        // The list was reached: its first item (a break) is what failed.
        let status = if is_response {
            Response::decode(&body, opcode).unwrap_err().status()
        } else {
            Request::decode(&body).unwrap_err().status()
        };
        assert_eq!(status, Status::Malformed, "{opcode:?}");
        // A count that cannot fit is not refused up front: the items decide, and the
        // preallocation is still bounded by the bytes left.
        body.truncate(body.len() - 1);
        decode_bounded(&body, opcode);
        let status = if is_response {
            Response::decode(&body, opcode).unwrap_err().status()
        } else {
            Request::decode(&body).unwrap_err().status()
        };
        assert_eq!(status, Status::Malformed, "{opcode:?}");
    }
}

#[test]
fn declared_lengths_do_not_allocate() {
    // Lists and strings that claim far more than the input holds.
    let header = "82 a4 0001 01 190501 0201 0305";
    for body in [
        "a1 00 9a00ffffff",                        // a template of 2^24 attributes
        "a1 00 98 40",                             // 64 attributes, none present
        "a1 00 81 a2 00 09 01 5a00100000",         // a Value of 1 MiB, absent
        "a1 00 81 a2 00 04 01 7bffffffffffffffff", // a label of 2^64-1 bytes
    ] {
        let bytes = hex::decode(format!("{header} {body}").replace(' ', "")).unwrap();
        let info = measure(|| assert!(Request::decode(&bytes).is_err()));
        assert!(
            info.bytes_max <= 64 * 32,
            "{body}: {} bytes",
            info.bytes_max
        );
    }
}

#[test]
fn the_allocation_counter_counts() {
    // Without this, a counter that was not installed would make every bound above pass.
    let random = GenerateRandomResponse {
        data: samples::data(&vec![0x5a; MAX_DATA_LEN]),
    };
    let response = Response::ok(RequestId::new(1).unwrap(), true, random);
    let frame = response.encode_frame(&Limits::default()).unwrap();
    let info = measure(|| {
        let decoded = Response::decode(&frame[frame::PREFIX_LEN..], Opcode::GenerateRandom);
        assert!(decoded.is_ok());
    });
    assert!(info.bytes_max >= MAX_DATA_LEN as u64, "{info:?}");
}
