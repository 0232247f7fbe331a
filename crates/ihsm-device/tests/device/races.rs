//! Requests that meet in the middle: one is held inside its commit (a [`PausingStore`])
//! while another runs, so each interleaving the locks must rule out is forced, not hoped for.

use ihsm_proto::msgs::*;
use ihsm_proto::{
    Attribute, AttributeReading, AttributeType as T, Bytes, Handle, PartitionName, ResponseBody,
    Role, SessionId, Status, Text,
};

use super::blobs::{mask, unmask};
use super::ciphers::{encrypt, gcm};
use super::fixtures::*;
use super::objects::{generate_aes, read, template};

/// Another login of the partition's user on a new connection.
fn second_user(fixture: &Fixture, partition: &str) -> (TestClient, SessionId) {
    let mut user = fixture.partition(partition);
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    (user, session)
}

fn set(user: &mut TestClient, session: SessionId, handle: Handle, attributes: Vec<Attribute>) {
    let request = SetAttributesRequest {
        handle,
        template: template(attributes),
    };
    user.call(Some(session), request).unwrap();
}

fn destroy(user: &mut TestClient, session: SessionId, handle: Handle) -> Status {
    status(user.call(Some(session), DestroyObjectRequest { handle }))
}

fn copy(user: &mut TestClient, session: SessionId, handle: Handle) -> Handle {
    let request = CopyObjectRequest {
        handle,
        template: template(vec![Attribute::Token(true)]),
    };
    match user.call(Some(session), request).unwrap().0 {
        ResponseBody::CopyObject(r) => r.handle,
        _ => unreachable!(),
    }
}

fn token_key(user: &mut TestClient, session: SessionId, more: Vec<Attribute>) -> Handle {
    let mut attributes = vec![Attribute::Token(true)];
    attributes.extend(more);
    generate_aes(user, session, attributes).unwrap()
}

#[test]
fn two_attribute_changes_never_undo_each_other() {
    let (fixture, store) = Fixture::pausing();
    let (mut user, session) = fixture.user("p");
    let key = token_key(
        &mut user,
        session,
        vec![Attribute::Sensitive(false), Attribute::Extractable(true)],
    );
    let pause = store.arm();
    let label = Attribute::Label(Text::new("first").unwrap());
    let first = {
        let label = label.clone();
        spawn(move || set(&mut user, session, key, vec![label]))
    };
    pause.reached();
    let (mut other, other_session) = second_user(&fixture, "p");
    let second = spawn(move || {
        set(
            &mut other,
            other_session,
            key,
            vec![Attribute::Sensitive(true)],
        );
        (other, other_session)
    });
    // The second change waits for the first, which it would otherwise overtake and lose.
    assert!(second.recv_timeout(BLOCKED).is_err());
    pause.release();
    join(&first);
    let (mut other, other_session) = join(&second);
    let expected = [
        AttributeReading::Value(label),
        AttributeReading::Value(Attribute::Sensitive(true)),
    ];
    assert_eq!(
        read(&mut other, other_session, key, &[T::Label, T::Sensitive]),
        expected
    );
    // The store agrees.
    drop(other);
    let restarted = Fixture::with_store(fixture.store.clone());
    let (mut user, session) = second_user(&restarted, "p");
    assert_eq!(
        read(&mut user, session, key, &[T::Label, T::Sensitive]),
        expected
    );
}

#[test]
fn a_destroyed_object_stays_destroyed_after_a_change_in_flight() {
    let (fixture, store) = Fixture::pausing();
    let (mut user, session) = fixture.user("p");
    let key = token_key(&mut user, session, vec![]);
    let pause = store.arm();
    let label = Attribute::Label(Text::new("late").unwrap());
    let change = spawn(move || status(user.call(Some(session), set_label(key, label))));
    pause.reached();
    let (mut other, other_session) = second_user(&fixture, "p");
    let destroyed = spawn(move || {
        let status = destroy(&mut other, other_session, key);
        (status, other, other_session)
    });
    assert!(destroyed.recv_timeout(BLOCKED).is_err());
    pause.release();
    assert_eq!(join(&change), Status::Ok);
    let (status, mut other, other_session) = join(&destroyed);
    assert_eq!(status, Status::Ok);
    assert_eq!(
        destroy(&mut other, other_session, key),
        Status::ObjectNotFound
    );
    assert!(fixture.store.table(ihsm_device::Table::Object).is_empty());
}

fn set_label(handle: Handle, label: Attribute) -> SetAttributesRequest {
    SetAttributesRequest {
        handle,
        template: template(vec![label]),
    }
}

#[test]
fn destroying_the_last_two_copies_at_once_still_leaves_the_tombstone() {
    let (fixture, store) = Fixture::pausing();
    let (mut user, session) = fixture.user("p");
    let key = token_key(&mut user, session, vec![]);
    let blob = mask(&mut user, session, key);
    let copied = copy(&mut user, session, key);
    let pause = store.arm();
    let first = spawn(move || {
        let status = destroy(&mut user, session, key);
        (status, user, session)
    });
    pause.reached();
    let (mut other, other_session) = second_user(&fixture, "p");
    let second = spawn(move || destroy(&mut other, other_session, copied));
    // Each destruction must know whether its object is the key's last holder.
    assert!(second.recv_timeout(BLOCKED).is_err());
    pause.release();
    assert_eq!(join(&second), Status::Ok);
    let (status, mut user, session) = join(&first);
    assert_eq!(status, Status::Ok);
    assert_eq!(unmask(&mut user, session, &blob), Err(Status::BlobInvalid));
}

#[test]
fn deleting_a_partition_waits_for_its_changes_in_flight() {
    let (fixture, store) = Fixture::pausing();
    let (mut user, session) = fixture.user("doomed");
    let (mut admin, admin_session) = fixture.admin_session();
    let pause = store.arm();
    let generated = spawn(move || generate_aes(&mut user, session, vec![Attribute::Token(true)]));
    pause.reached();
    let deleted = spawn(move || {
        let request = DeletePartitionRequest {
            name: PartitionName::new("doomed").unwrap(),
        };
        status(admin.call(Some(admin_session), request))
    });
    assert!(deleted.recv_timeout(BLOCKED).is_err());
    pause.release();
    assert!(join(&generated).is_ok());
    assert_eq!(join(&deleted), Status::Ok);
    // Nothing of the partition is left to trip the next power-on.
    assert!(fixture.store.table(ihsm_device::Table::Object).is_empty());
    let restarted = Fixture::with_store(fixture.store.clone());
    assert_eq!(restarted.device.hard_error(), None);
    let (mut admin, session) = restarted.admin_session();
    let ResponseBody::ListPartitions(list) = admin
        .call(Some(session), ListPartitionsRequest {})
        .unwrap()
        .0
    else {
        unreachable!()
    };
    assert!(list.partitions.is_empty());
}

#[test]
fn zeroizing_a_partition_waits_for_its_changes_in_flight() {
    let (fixture, store) = Fixture::pausing();
    let (mut user, session) = fixture.user("p");
    let mut officer = fixture.partition("p");
    let officer_session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let pause = store.arm();
    let generated = spawn(move || {
        let made = generate_aes(&mut user, session, vec![Attribute::Token(true)]);
        (made, user, session)
    });
    pause.reached();
    let zeroized =
        spawn(move || status(officer.call(Some(officer_session), ZeroizePartitionRequest {})));
    assert!(zeroized.recv_timeout(BLOCKED).is_err());
    pause.release();
    let (made, mut user, session) = join(&generated);
    assert_eq!(join(&zeroized), Status::Ok);
    // The key made just before the zeroization is gone with everything else, in memory and
    // in the store alike.
    assert_eq!(
        status(user.call(
            Some(session),
            set_label(made.unwrap(), Attribute::Id(Bytes::default()))
        )),
        Status::ObjectNotFound
    );
    let name = PartitionName::new("p").unwrap();
    assert_eq!(fixture.device.object_count(&name), Some(0));
    assert!(fixture.store.table(ihsm_device::Table::Object).is_empty());
}

#[test]
fn no_gcm_encryption_is_made_before_the_store_accounts_for_it() {
    let (fixture, store) = Fixture::pausing();
    let (mut user, session) = fixture.user("p");
    let key = token_key(&mut user, session, vec![]);
    // The first encryption of a persistent key reserves a block first; hold that commit.
    let pause = store.arm();
    let first = spawn(move || encrypt(&mut user, session, gcm(None), key, b"one").is_ok());
    pause.reached();
    let (mut other, other_session) = second_user(&fixture, "p");
    let second = spawn(move || encrypt(&mut other, other_session, gcm(None), key, b"two").is_ok());
    assert!(second.recv_timeout(BLOCKED).is_err());
    pause.release();
    assert!(join(&first));
    assert!(join(&second));
    let ledger = fixture.store.table(ihsm_device::Table::KeyLedger);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].1[..8], (1u64 << 20).to_be_bytes());
}
