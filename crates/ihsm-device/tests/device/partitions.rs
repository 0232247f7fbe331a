//! Partition lifecycle, listing, policy and deletion.

use ihsm_proto::msgs::*;
use ihsm_proto::{List, MechanismId, PartitionName, ResponseBody, Role, Status};
use ihsm_testkit::client::quotas;

use super::fixtures::*;

#[test]
fn partitions_are_created_listed_and_deleted_by_the_admin() {
    let fixture = Fixture::initialized();
    let backup = fixture.create_partition("tenant-b");
    assert_eq!(backup.len(), 32);
    fixture.create_partition("tenant-a");
    let (mut admin, session) = fixture.admin_session();
    assert_eq!(
        status(admin.create_partition(session, "tenant-a", quotas())),
        Status::PartitionExists
    );
    let (body, _) = admin.call(Some(session), ListPartitionsRequest {}).unwrap();
    let ResponseBody::ListPartitions(list) = body else {
        unreachable!()
    };
    let names: Vec<_> = list.partitions.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["tenant-a", "tenant-b"]);

    let mut officer = fixture.partition("tenant-a");
    let officer_session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let name = PartitionName::new("tenant-a").unwrap();
    let delete = DeletePartitionRequest { name: name.clone() };
    assert_eq!(
        status(admin.call(Some(session), delete.clone())),
        Status::Ok
    );
    assert_eq!(
        status(admin.call(Some(session), delete)),
        Status::PartitionNotFound
    );
    assert_eq!(
        status(officer.call(Some(officer_session), GetSessionInfoRequest {})),
        Status::PartitionNotFound
    );
    assert!(fixture.store.table(ihsm_device::Table::Credential).len() == 2);
    // A partition survives a restart with its officer.
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut officer = restarted.partition("tenant-b");
    assert!(officer.login(Role::CryptoOfficer, OFFICER_PIN).is_ok());
}

#[test]
fn the_officer_sets_the_policy_and_the_user_reads_it() {
    let fixture = Fixture::initialized();
    let (mut user, user_session) = fixture.user("policy");
    let mut officer = fixture.partition("policy");
    let session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let allow = List::new(vec![MechanismId::RsaAesKeyWrap]).unwrap();
    let set = SetPartitionPolicyRequest {
        allow_non_approved: allow.clone(),
    };
    assert_eq!(
        status(user.call(Some(user_session), set.clone())),
        Status::RoleNotPermitted
    );
    assert_eq!(status(officer.call(Some(session), set)), Status::Ok);
    let (body, _) = user
        .call(Some(user_session), GetPartitionPolicyRequest {})
        .unwrap();
    let ResponseBody::GetPartitionPolicy(policy) = body else {
        unreachable!()
    };
    assert_eq!(policy.allow_non_approved, allow);
}

#[test]
fn quotas_bound_objects_data_sessions_and_logins() {
    use ihsm_proto::{Attribute, ObjectClass, Quotas, SecretBytes, Template};

    let fixture = Fixture::initialized();
    let (mut admin, session) = fixture.admin_session();
    let tight = Quotas {
        max_objects: 2,
        max_sessions: 2,
        max_logins: 2,
        max_data_object_bytes: 10,
        max_connections: 4,
        max_locked_bytes: 1 << 20,
    };
    admin.create_partition(session, "tight", tight).unwrap();
    fixture
        .partition("tight")
        .initialize_partition(OFFICER_PIN)
        .unwrap();
    let mut officer = fixture.partition("tight");
    let officer_session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let credential = officer
        .sealed(Opcode::SetPin, 1, USER_PIN.as_bytes())
        .secret;
    let set_pin = SetPinRequest {
        role: Role::CryptoUser,
        credential,
    };
    officer.call(Some(officer_session), set_pin).unwrap();

    // The officer holds one login and one session; the user takes the second of each.
    let mut user = fixture.partition("tight");
    let login = user.login(Role::CryptoUser, USER_PIN).unwrap();
    let user_session = user.open_session(login).unwrap();
    assert_eq!(status(user.open_session(login)), Status::SessionLimit);
    assert_eq!(
        status(user.login(Role::CryptoUser, USER_PIN)),
        Status::LoginLimit
    );

    let data = |bytes: &[u8]| CreateObjectRequest {
        template: Template::new(vec![
            Attribute::Class(ObjectClass::Data),
            Attribute::Value(SecretBytes::copy_from(bytes).unwrap()),
        ])
        .unwrap(),
    };
    assert_eq!(
        status(user.call(Some(user_session), data(&[0; 11]))),
        Status::QuotaExceeded
    );
    assert_eq!(
        status(user.call(Some(user_session), data(&[0; 6]))),
        Status::Ok
    );
    assert_eq!(
        status(user.call(Some(user_session), data(&[0; 5]))),
        Status::QuotaExceeded
    );
    assert_eq!(
        status(user.call(Some(user_session), data(&[0; 4]))),
        Status::Ok
    );
    assert_eq!(
        status(user.call(Some(user_session), data(&[]))),
        Status::QuotaExceeded
    );
    // A closed session frees its objects' share of the quota.
    user.call(Some(user_session), CloseSessionRequest {})
        .unwrap();
    let user_session = user.open_session(login).unwrap();
    assert_eq!(
        status(user.call(Some(user_session), data(&[0; 10]))),
        Status::Ok
    );
}
