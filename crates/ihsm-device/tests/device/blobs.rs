//! Masked key blobs (S14 for blobs): restored only in their partition, never after their
//! key's destruction or the partition's zeroization, never looser than the live key, and
//! never with a lower GCM count.

use ihsm_proto::msgs::*;
use ihsm_proto::{
    Attribute, AttributeReading, AttributeType as T, Bytes, Curve, Handle, KeyPairSpec, Mechanism,
    PartitionName, ResponseBody, Role, SessionId, Status,
};

use super::ciphers::{encrypt, gcm};
use super::fixtures::*;
use super::keys::{handle_of, pair};
use super::objects::{generate_aes, read, sign, verify};

pub fn mask(user: &mut TestClient, session: SessionId, key: Handle) -> Vec<u8> {
    match user.call(Some(session), MaskKeyRequest { key }).unwrap().0 {
        ResponseBody::MaskKey(r) => r.blob.to_vec(),
        _ => unreachable!(),
    }
}

pub fn unmask(
    user: &mut TestClient,
    session: SessionId,
    blob: &[u8],
) -> Result<(Handle, bool), Status> {
    user.call(
        Some(session),
        UnmaskKeyRequest {
            blob: Bytes::new(blob.to_vec()).unwrap(),
        },
    )
    .map(handle_of)
    .map_err(|e| e.known().unwrap())
}

#[test]
fn s14_masked_blobs_restore_only_in_their_partition_and_never_after_destruction() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("mask");
    let (mut other, other_session) = fixture.user("other");
    let (public, private) = pair(
        &mut user,
        session,
        KeyPairSpec::Ec(Curve::P256),
        vec![],
        vec![],
    );
    let blob = mask(&mut user, session, private);
    let (restored, approved) = unmask(&mut user, session, &blob).unwrap();
    assert_eq!(approved, cfg!(feature = "fips"));
    let (signature, _) = sign(&mut user, session, restored, Mechanism::EcdsaSha256, b"m").unwrap();
    assert_eq!(
        verify(
            &mut user,
            session,
            public,
            Mechanism::EcdsaSha256,
            b"m",
            &signature
        ),
        Status::Ok
    );
    // Every byte counts; another partition's blob is refused like garbage.
    for at in [0, 1, 20, 40, blob.len() / 2, blob.len() - 1] {
        let mut changed = blob.clone();
        changed[at] ^= 0x01;
        assert_eq!(
            unmask(&mut user, session, &changed),
            Err(Status::BlobInvalid),
            "byte {at}"
        );
    }
    assert_eq!(
        unmask(&mut other, other_session, &blob),
        Err(Status::BlobInvalid)
    );
    assert_eq!(
        unmask(&mut user, session, &blob[..10]),
        Err(Status::BlobInvalid)
    );
    // Destroying the key (all its objects) leaves a tombstone: the blob is dead.
    for handle in [private, restored] {
        user.call(Some(session), DestroyObjectRequest { handle })
            .unwrap();
    }
    assert_eq!(unmask(&mut user, session, &blob), Err(Status::BlobInvalid));
    // ...across a restart too.
    let name = PartitionName::new("mask").unwrap();
    let tombstones = fixture
        .store
        .table(ihsm_device::Table::KeyLedger)
        .into_iter()
        .filter(|(_, value)| value.is_empty())
        .count();
    assert_eq!(tombstones, 1);
    drop(user);
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition(name.as_str());
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    assert_eq!(unmask(&mut user, session, &blob), Err(Status::BlobInvalid));
}

#[test]
fn an_old_blob_never_loosens_a_live_key() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("loose");
    let key = generate_aes(
        &mut user,
        session,
        vec![Attribute::Sensitive(false), Attribute::Extractable(true)],
    )
    .unwrap();
    let blob = mask(&mut user, session, key);
    let tighten = SetAttributesRequest {
        handle: key,
        template: super::objects::template(vec![
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ]),
    };
    user.call(Some(session), tighten).unwrap();
    let (restored, _) = unmask(&mut user, session, &blob).unwrap();
    assert_eq!(
        read(
            &mut user,
            session,
            restored,
            &[T::Sensitive, T::Extractable]
        ),
        [
            AttributeReading::Value(Attribute::Sensitive(true)),
            AttributeReading::Value(Attribute::Extractable(false)),
        ]
    );
}

#[test]
fn zeroizing_a_partition_kills_the_blobs_of_keys_whose_session_ended() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("zero");
    let key = generate_aes(&mut user, session, vec![]).unwrap();
    let blob = mask(&mut user, session, key);
    // The session ends: its key is gone, and its blob restores it (what blobs are for).
    user.call(Some(session), CloseSessionRequest {}).unwrap();
    let login = user.login(Role::CryptoUser, USER_PIN).unwrap();
    let session = user.open_session(login).unwrap();
    let (restored, _) = unmask(&mut user, session, &blob).unwrap();
    user.call(Some(session), CloseSessionRequest {}).unwrap();
    let session = user.open_session(login).unwrap();
    assert_eq!(
        status(user.call(Some(session), DestroyObjectRequest { handle: restored })),
        Status::ObjectNotFound
    );
    let mut officer = fixture.partition("zero");
    let officer_session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    officer
        .call(Some(officer_session), ZeroizePartitionRequest {})
        .unwrap();
    assert_eq!(unmask(&mut user, session, &blob), Err(Status::BlobInvalid));
}

#[test]
fn a_masked_session_key_keeps_its_gcm_count_when_restored() {
    // Blocks of two encryptions, so a test can cross several.
    let mut config = ihsm_device::DeviceConfig::for_tests();
    config.gcm_reservation = 2;
    let fixture = Fixture::initialized_with(config);
    let (mut user, session) = fixture.user("count");
    let key = generate_aes(&mut user, session, vec![]).unwrap();
    let ledger = |fixture: &Fixture| -> Vec<u64> {
        let mut values: Vec<_> = fixture
            .store
            .table(ihsm_device::Table::KeyLedger)
            .iter()
            .map(|(_, value)| u64::from_be_bytes(value[..8].try_into().unwrap()))
            .collect();
        values.sort_unstable();
        values
    };
    // A session key that was never masked is not in the ledger: it cannot come back.
    encrypt(&mut user, session, gcm(None), key, b"0").unwrap();
    assert!(ledger(&fixture).is_empty());
    // Masked, it is, beside the masking key's own count: its one encryption is covered.
    let blob = mask(&mut user, session, key);
    assert_eq!(ledger(&fixture), [2, 2]);
    // Its encryptions go on being reserved, in the ledger, which outlives the session.
    for message in [b"1", b"2", b"3"] {
        encrypt(&mut user, session, gcm(None), key, message).unwrap();
    }
    assert_eq!(ledger(&fixture), [2, 4]);
    user.call(Some(session), CloseSessionRequest {}).unwrap();
    let login = user.login(Role::CryptoUser, USER_PIN).unwrap();
    let session = user.open_session(login).unwrap();
    // The blob says two; the restored key resumes from the ledger's four, so its very next
    // encryption reserves the block after.
    let (restored, _) = unmask(&mut user, session, &blob).unwrap();
    encrypt(&mut user, session, gcm(None), restored, b"4").unwrap();
    assert_eq!(ledger(&fixture), [2, 6]);
}

#[test]
fn a_blob_of_a_key_still_in_an_operation_restores_that_key_not_a_copy() {
    let mut config = ihsm_device::DeviceConfig::for_tests();
    config.gcm_reservation = 2;
    let fixture = Fixture::initialized_with(config);
    let (mut user, first) = fixture.user("shared");
    let login = match user.call(Some(first), GetSessionInfoRequest {}).unwrap().0 {
        ResponseBody::GetSessionInfo(info) => info.login,
        _ => unreachable!(),
    };
    let second = user.open_session(login).unwrap();
    let key = generate_aes(&mut user, first, vec![]).unwrap();
    let blob = mask(&mut user, first, key);
    // The second session starts an encryption under the key; then the key's object dies
    // with the first session, while the operation still holds the key.
    let init = EncryptInitRequest {
        mechanism: gcm(None),
        key,
    };
    user.call(Some(second), init).unwrap();
    user.call(Some(first), CloseSessionRequest {}).unwrap();
    let (restored, _) = unmask(&mut user, second, &blob).unwrap();
    // One key, one count: two encryptions under the restored object, then the operation's,
    // are encryptions 0, 1 and 2, and the third reserves the second block.
    for message in [b"a", b"b"] {
        encrypt(&mut user, second, gcm(None), restored, message).unwrap();
    }
    user.call(Some(second), EncryptFinalRequest {}).unwrap();
    let key_ledger: Vec<u64> = fixture
        .store
        .table(ihsm_device::Table::KeyLedger)
        .iter()
        .filter(|(key, _)| !key.ends_with(b"masking"))
        .map(|(_, value)| u64::from_be_bytes(value[..8].try_into().unwrap()))
        .collect();
    assert_eq!(key_ledger, [4]);
}
