//! What protocol.md promises of a connection, against the daemon.

use std::time::Duration;

use ihsm_client::proto::msgs::{GenerateKeyPairRequest, GetStatusRequest};
use ihsm_client::proto::{Attribute, KeyPairSpec, Opcode, RequestId, RsaKeySize, Template};
use ihsm_client::Role;

use super::raw::Raw;
use crate::{provision, start, user_session, USER_PIN};

/// Section 1: responses are matched to requests by request id, not by order. A slow request
/// (a key generation, on the pool) is answered after a fast one sent behind it.
#[test]
fn a_fast_request_is_answered_before_a_slow_one_sent_first() {
    let daemon = start();
    provision(&daemon, &["a"]);
    let a = user_session(&daemon, "a");
    let login = a.client().login(Role::CryptoUser, USER_PIN).unwrap();
    let mut raw = Raw::connect(&daemon, "a");
    let session = raw.session(login.issue_ticket().unwrap());
    let template = || Template::new(vec![Attribute::Token(false)]).unwrap();
    raw.send(
        Some(session),
        GenerateKeyPairRequest {
            spec: KeyPairSpec::Rsa(RsaKeySize::Rsa3072),
            public_template: template(),
            private_template: template(),
        },
    );
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
