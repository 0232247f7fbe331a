//! What protocol.md promises of a connection, against the daemon.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use ihsm_client::proto::msgs::{GenerateKeyPairRequest, GetStatusRequest};
use ihsm_client::proto::{
    Attribute, KeyPairSpec, Opcode, RequestId, Response, RsaKeySize, Template,
};
use ihsm_client::Role;

use super::raw::Raw;
use crate::{provision, start, user_session, USER_PIN};

/// Partition A's user session, and a raw connection attached to its login that has sent an
/// RSA-3072 key-pair generation (request id 3; `token` keys or session keys).
fn key_generation_sent(
    daemon: &ihsm_testkit::daemon::Daemon,
    token: bool,
) -> (ihsm_client::Session, Raw) {
    provision(daemon, &["a"]);
    let a = user_session(daemon, "a");
    let login = a.client().login(Role::CryptoUser, USER_PIN).unwrap();
    let mut raw = Raw::connect(daemon, "a");
    let session = raw.session(login.issue_ticket().unwrap());
    let template = || Template::new(vec![Attribute::Token(token)]).unwrap();
    raw.send(
        Some(session),
        GenerateKeyPairRequest {
            spec: KeyPairSpec::Rsa(RsaKeySize::Rsa3072),
            public_template: template(),
            private_template: template(),
        },
    );
    (a, raw)
}

/// Section 1: responses are matched to requests by request id, not by order. A slow request
/// (a key generation, on the pool) is answered after a fast one sent behind it.
#[test]
fn a_fast_request_is_answered_before_a_slow_one_sent_first() {
    let daemon = start();
    let (_a, mut raw) = key_generation_sent(&daemon, false);
    raw.send(None, GetStatusRequest {});
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let first = raw.receive(Opcode::GetStatus);
    assert_eq!(
        first.request_id,
        RequestId::new(4),
        "the status comes first"
    );
    assert!(first.result.is_ok());
    let second = raw.receive(Opcode::GenerateKeyPair);
    assert_eq!(second.request_id, RequestId::new(3));
    assert!(second.result.is_ok());
}

/// Section 5: after a response with request id 0 the server reads nothing more; a request
/// already running is answered, one still waiting is dropped unrun, and then the connection
/// closes: a request in flight that got no response was not performed.
#[test]
fn after_a_response_with_request_id_0_only_running_requests_are_answered() {
    let daemon = start();
    let (a, mut raw) = key_generation_sent(&daemon, true);
    // Most likely running by now (it takes longer than this).
    std::thread::sleep(Duration::from_millis(50));
    // A frame whose header cannot be read (an empty array), and a request behind it.
    raw.stream.write_all(&[0, 0, 0, 1, 0x80]).unwrap();
    raw.send(None, GetStatusRequest {});
    let refusal = raw.receive(Opcode::GetStatus);
    assert_eq!(refusal.request_id, None, "request id 0 first");
    assert!(refusal.result.is_err());
    // Then the key generation's answer if it was running, and the close (a reset, as the
    // request behind the bad frame was left unread).
    let mut rest = Vec::new();
    match raw.stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    let answered = !rest.is_empty();
    if answered {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert_eq!(rest.len(), 4 + len, "one response, nothing after it");
        let response = Response::decode(&rest[4..], Opcode::GenerateKeyPair).unwrap();
        assert_eq!(
            response.request_id,
            RequestId::new(3),
            "the running request"
        );
        assert!(response.result.is_ok(), "{:?}", response.result);
    }
    let keys = a
        .find_objects(Template::new(vec![Attribute::Token(true)]).unwrap())
        .unwrap()
        .len();
    assert_eq!(
        keys,
        if answered { 2 } else { 0 },
        "performed exactly when answered (answered: {answered})"
    );
}
