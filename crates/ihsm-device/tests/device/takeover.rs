//! S28: the device admin tries to reach a tenant's keys. The chain an attack on the running
//! module once completed (the admin sets the officer's PIN, the officer sets the user's, the
//! user signs with the tenant's key and exports it) no longer starts, no other path works
//! without destroying the tenant's keys first, and the tenant can see that it happened.

use ihsm_proto::msgs::*;
use ihsm_proto::{
    Attribute, Curve, KeyPairSpec, Limits, Mechanism, Opcode, PartitionName, Request, RequestId,
    Response, ResponseBody, Role, SessionId, Status,
};

use super::blobs::{mask, unmask};
use super::fixtures::*;
use super::keys::pair;
use super::objects::{sign, template};

const ADMINS_PIN: &str = "chosen-by-the-admin";

/// A tenant with a signing key and an extractable AES key, both persistent, and a masked
/// blob of the signing key kept on the host (where the admin can read it).
struct Tenant {
    user: TestClient,
    session: SessionId,
    private: ihsm_proto::Handle,
    blob: Vec<u8>,
}

fn tenant(fixture: &Fixture) -> Tenant {
    let (mut user, session) = fixture.user("tenant");
    let (_, private) = pair(
        &mut user,
        session,
        KeyPairSpec::Ec(Curve::P256),
        vec![Attribute::Token(true)],
        vec![Attribute::Token(true)],
    );
    let aes = GenerateKeyRequest {
        spec: ihsm_proto::KeySpec::Aes(ihsm_proto::AesKeySize::Aes256),
        template: template(vec![Attribute::Token(true), Attribute::Extractable(true)]),
    };
    user.call(Some(session), aes).unwrap();
    let blob = mask(&mut user, session, private);
    Tenant {
        user,
        session,
        private,
        blob,
    }
}

/// The body of a request frame with one more map key than the type has: a retired field.
fn with_retired_key(request: Request, key: u8, value: &[u8]) -> Vec<u8> {
    let frame = request.encode_frame(&Limits::default()).unwrap();
    let mut e = minicbor::Encoder::new(Vec::new());
    e.u8(key).unwrap().bytes(value).unwrap();
    with_extra_field(&frame[4..], e.writer())
}

#[test]
fn s28_the_admin_cannot_set_or_unlock_a_tenants_credentials() {
    let fixture = Fixture::initialized();
    let mut tenant = tenant(&fixture);
    let (mut admin, admin_session) = fixture.admin_session();

    // The old first step: the admin sets the partition officer's PIN.
    let credential = admin
        .sealed(Opcode::SetPin, 1, ADMINS_PIN.as_bytes())
        .secret;
    let set_officer = SetPinRequest {
        role: Role::CryptoOfficer,
        credential,
    };
    assert_eq!(
        status(admin.call(Some(admin_session), set_officer.clone())),
        Status::RoleNotPermitted
    );
    // The same with the partition named in the field that once carried it (key 2).
    let raw = with_retired_key(
        Request {
            request_id: RequestId::new(77).unwrap(),
            session: Some(admin_session),
            body: set_officer.into(),
        },
        2,
        b"tenant",
    );
    let response = admin.raw(&raw, Opcode::SetPin).unwrap();
    assert_eq!(
        response.result.err().and_then(|e| e.known()),
        Some(Status::UnknownField)
    );
    // Unlocking the officer would buy the admin guesses at its PIN.
    let unlock = UnlockRoleRequest {
        role: Role::CryptoOfficer,
    };
    assert_eq!(
        status(admin.call(Some(admin_session), unlock)),
        Status::RoleNotPermitted
    );
    // On the partition's socket, the admin is no role at all.
    let mut on_partition = fixture.partition("tenant");
    assert_eq!(
        status(on_partition.login(Role::Admin, ADMIN_PIN)),
        Status::RoleNotPermitted
    );
    for role in [Role::CryptoOfficer, Role::CryptoUser] {
        assert_eq!(
            status(on_partition.login(role, ADMINS_PIN)),
            Status::PinIncorrect
        );
    }
    // Initializing the partition again, with credentials of the admin's choosing.
    assert_eq!(
        status(on_partition.initialize_partition(ADMINS_PIN)),
        Status::AlreadyInitialized
    );
    // None of it touched the tenant: its key still signs, its officer's PIN still works.
    assert!(sign(
        &mut tenant.user,
        tenant.session,
        tenant.private,
        Mechanism::EcdsaSha256,
        b"still mine"
    )
    .is_ok());
    let mut officer = fixture.partition("tenant");
    assert!(officer.login(Role::CryptoOfficer, OFFICER_PIN).is_ok());
}

/// The admin's one way in is a reset, and it destroys the tenant's keys and their blobs'
/// validity in the same step; the tenant sees it.
#[test]
fn s28_a_reset_destroys_the_tenants_keys_before_the_admin_can_set_a_credential() {
    let fixture = Fixture::initialized();
    let mut tenant = tenant(&fixture);
    let (mut admin, admin_session) = fixture.admin_session();
    let name = PartitionName::new("tenant").unwrap();
    let objects_before = fixture.device.object_count(&name).unwrap();
    assert!(objects_before >= 3);

    let reset = ResetPartitionRequest { name: name.clone() };
    match admin.call(Some(admin_session), reset).unwrap().0 {
        ResponseBody::ResetPartition(r) => assert_eq!(r.resets, 1),
        _ => unreachable!(),
    }
    // Nothing of the tenant's is left, in memory or in the store.
    assert_eq!(fixture.device.object_count(&name), Some(0));
    let prefix = {
        let mut p = vec![1];
        p.extend_from_slice(b"tenant");
        p.push(0);
        p
    };
    for table in [
        ihsm_device::Table::Object,
        ihsm_device::Table::KeyLedger,
        ihsm_device::Table::Credential,
        ihsm_device::Table::Counter,
    ] {
        assert!(
            fixture
                .store
                .table(table)
                .iter()
                .all(|(key, _)| !key.starts_with(&prefix)),
            "{table:?} still holds the tenant's records"
        );
    }
    // The tenant's connection reached an instance that is gone.
    assert_eq!(
        status(tenant.user.call(
            Some(tenant.session),
            GenerateRandomRequest {
                len: ihsm_proto::DataLen::new(8).unwrap()
            }
        )),
        Status::PartitionNotFound
    );

    // The admin now initializes the partition as its new owner, with credentials and a
    // backup secret it knows, and acts as officer and user: there is nothing to take.
    let mut owner = fixture.partition("tenant");
    owner.initialize_partition(ADMINS_PIN).unwrap();
    let (mut user, session) = fixture.user_of("tenant", ADMINS_PIN);
    let found = FindObjectsRequest {
        template: template(vec![]),
        cursor: None,
        max_count: ihsm_proto::FindCount::new(100).unwrap(),
    };
    match user.call(Some(session), found).unwrap().0 {
        ResponseBody::FindObjects(r) => assert!(r.handles.is_empty(), "{:?}", r.handles),
        _ => unreachable!(),
    }
    assert_eq!(
        status(sign(
            &mut user,
            session,
            tenant.private,
            Mechanism::EcdsaSha256,
            b"x"
        )),
        Status::ObjectNotFound
    );
    // The tenant's blob, which the admin can read on the host, does not open: its masking
    // key came from the tenant's backup secret.
    assert_eq!(
        unmask(&mut user, session, &tenant.blob).err(),
        Some(Status::BlobInvalid)
    );

    // The tenant sees what happened: its partition was reset, and it was initialized again
    // by someone else.
    let mut returning = fixture.partition("tenant");
    match returning.call(None, GetPartitionInfoRequest {}).unwrap().0 {
        ResponseBody::GetPartitionInfo(info) => {
            assert_eq!(info.partition.resets, 1);
            assert!(info.partition.initialized);
            assert_eq!(info.partition.object_count, 0);
        }
        _ => unreachable!(),
    }
    assert_eq!(
        status(returning.login(Role::CryptoOfficer, OFFICER_PIN)),
        Status::PinIncorrect
    );
    assert_eq!(
        status(returning.initialize_partition(OFFICER_PIN)),
        Status::AlreadyInitialized
    );
    // It survives a restart as it is.
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut again = restarted.partition("tenant");
    match again.call(None, GetPartitionInfoRequest {}).unwrap().0 {
        ResponseBody::GetPartitionInfo(info) => assert_eq!(info.partition.resets, 1),
        _ => unreachable!(),
    }
    assert!(again.login(Role::CryptoOfficer, ADMINS_PIN).is_ok());
}

/// Deleting the partition and making one of the same name is no way around: the new one is
/// uninitialized, the old connections reach nothing, and the old blobs do not open.
#[test]
fn s28_a_partition_made_again_under_the_same_name_opens_nothing_of_the_old_one() {
    let fixture = Fixture::initialized();
    let mut tenant = tenant(&fixture);
    let (mut admin, admin_session) = fixture.admin_session();
    let name = PartitionName::new("tenant").unwrap();
    admin
        .call(Some(admin_session), DeletePartitionRequest { name })
        .unwrap();
    admin
        .create_partition(admin_session, "tenant", ihsm_testkit::client::quotas())
        .unwrap();
    // The tenant's old connection is bound to the partition it connected to, not its name.
    assert_eq!(
        tenant.user.credential_key().err().and_then(|e| e.known()),
        Some(Status::PartitionNotFound)
    );
    let mut owner = fixture.partition("tenant");
    assert_eq!(
        status(owner.login(Role::CryptoOfficer, OFFICER_PIN)),
        Status::PartitionNotInitialized
    );
    // Its owner, coming back, sees the admin was there.
    match owner.call(None, GetPartitionInfoRequest {}).unwrap().0 {
        ResponseBody::GetPartitionInfo(info) => assert_eq!(info.partition.resets, 1),
        _ => unreachable!(),
    }
    owner.initialize_partition(ADMINS_PIN).unwrap();
    let (mut user, session) = fixture.user_of("tenant", ADMINS_PIN);
    assert_eq!(
        unmask(&mut user, session, &tenant.blob).err(),
        Some(Status::BlobInvalid)
    );
}

/// A connection made before a partition existed is not one to it.
#[test]
fn a_connection_is_bound_to_the_partition_it_reached_not_to_its_name() {
    let fixture = Fixture::initialized();
    let mut early = fixture.partition("later");
    assert_eq!(
        early.credential_key().err().and_then(|e| e.known()),
        Some(Status::PartitionNotFound)
    );
    let (mut admin, admin_session) = fixture.admin_session();
    admin
        .create_partition(admin_session, "later", ihsm_testkit::client::quotas())
        .unwrap();
    assert_eq!(
        early.credential_key().err().and_then(|e| e.known()),
        Some(Status::PartitionNotFound)
    );
    let raw = Request {
        request_id: RequestId::new(5).unwrap(),
        session: None,
        body: GetPartitionInfoRequest {}.into(),
    }
    .encode_frame(&Limits::default())
    .unwrap();
    let response: Response = early.raw(&raw[4..], Opcode::GetPartitionInfo).unwrap();
    assert_eq!(
        response.result.err().and_then(|e| e.known()),
        Some(Status::PartitionNotFound)
    );
    assert!(fixture.partition("later").credential_key().is_ok());
}
