//! S9 and S11: failures forced through the test hooks (only in builds that have them).

use ihsm_crypto::{SelfTest, TestHooks};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    Attribute, Curve, DeviceState, KeyPairSpec, PartitionName, ResponseBody, Role, Status,
};

use super::fixtures::*;
use super::objects::{generate_ec, template};

fn state(client: &mut TestClient) -> (DeviceState, Vec<(String, bool)>) {
    match client.call(None, GetStatusRequest {}).unwrap().0 {
        ResponseBody::GetStatus(status) => (
            status.state,
            status
                .self_tests
                .iter()
                .map(|t| (t.name.to_string(), t.passed))
                .collect(),
        ),
        _ => unreachable!(),
    }
}

#[test]
fn s9_each_self_test_failure_latches_the_error_state_until_a_clean_restart() {
    let fixture = Fixture::initialized();
    fixture.create_partition("p");
    for test in SelfTest::ALL {
        let broken = Fixture::with_hooks(
            fixture.store.clone(),
            TestHooks::default().fail_self_test(test),
        );
        let mut admin = broken.admin();
        let (state, results) = state(&mut admin);
        assert_eq!(state, DeviceState::Error, "{test:?}");
        assert!(
            results
                .iter()
                .any(|(name, passed)| name == test.name() && !passed),
            "{test:?} reported failed"
        );
        // No cryptographic or data output, and nothing clears it but a restart.
        for status in [
            admin.call(None, GetCredentialKeyRequest {}).err(),
            admin
                .call(
                    None,
                    InitializeAdminRequest {
                        credential: garbage_credential(),
                    },
                )
                .err(),
        ] {
            assert_eq!(
                status.and_then(|e| e.known()),
                Some(Status::ErrorState),
                "{test:?}"
            );
        }
    }
    // With the hook off, the same store serves again.
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut officer = restarted.partition("p");
    assert_eq!(state(&mut officer).0, DeviceState::Operational);
    assert!(officer.login(Role::CryptoOfficer, OFFICER_PIN).is_ok());
}

/// A sealed secret that opens nowhere: only its shape is right.
fn garbage_credential() -> ihsm_proto::SealedSecret {
    ihsm_proto::SealedSecret {
        ephemeral_public_key: ihsm_proto::Bytes::new(vec![4; 97]).unwrap(),
        nonce: ihsm_proto::Nonce([0; 32]),
        ciphertext: ihsm_proto::Bytes::new(vec![0; 32]).unwrap(),
    }
}

#[test]
fn s9_a_self_test_failing_on_demand_zeroizes_and_refuses_everything_but_status() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("p");
    let _ = generate_ec(&mut user, session, false);
    fixture
        .device
        .replace_test_hooks(TestHooks::default().fail_self_test(SelfTest::AesGcm));
    assert!(fixture.device.run_self_tests().is_err());
    assert_eq!(state(&mut user).0, DeviceState::Error);
    let name = PartitionName::new("p").unwrap();
    // Every secret in memory is gone: partitions, their keys and objects, the sessions.
    assert_eq!(fixture.device.object_count(&name), None);
    assert_eq!(fixture.device.open_counts(None), Some((0, 0)));
    let random = GenerateRandomRequest {
        len: ihsm_proto::DataLen::new(16).unwrap(),
    };
    assert_eq!(
        user.call(Some(session), random)
            .err()
            .and_then(|e| e.known()),
        Some(Status::ErrorState)
    );
    // A restart with the hook off serves the persisted state again.
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition("p");
    assert!(user.session(Role::CryptoUser, USER_PIN).is_ok());
}

#[test]
fn s11_a_pairwise_failure_discards_the_key_and_latches_until_restart() {
    // A fresh device per key type: the first failure latches, so a second type on the same
    // device would be refused at the gate and never reach its pairwise test.
    for spec in [
        KeyPairSpec::Ec(Curve::P256),
        KeyPairSpec::Rsa(ihsm_proto::RsaKeySize::Rsa2048),
    ] {
        let fixture = Fixture::initialized();
        let (mut user, session) = fixture.user("p");
        let before = fixture.store.len();
        fixture
            .device
            .replace_test_hooks(TestHooks::default().fail_pairwise_tests());
        let request = GenerateKeyPairRequest {
            spec,
            public_template: template(vec![Attribute::Token(true)]),
            private_template: template(vec![Attribute::Token(true)]),
        };
        assert_eq!(
            user.call(Some(session), request)
                .err()
                .and_then(|e| e.known()),
            Some(Status::ErrorState),
            "{spec:?}"
        );
        assert_eq!(
            fixture.device.hard_error(),
            Some(ihsm_device::HardError::PairwiseTest),
            "{spec:?}"
        );
        // Nothing was stored, and the service stays off until a restart passes its tests.
        assert_eq!(fixture.store.len(), before, "{spec:?}");
        assert_eq!(state(&mut user).0, DeviceState::Error);
        let restarted = Fixture::with_store(fixture.store.clone());
        let mut user = restarted.partition("p");
        let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
        let _ = generate_ec(&mut user, session, false);
    }
}
