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
        status(admin.create_partition(session, "tenant-a", quotas(), OFFICER_PIN)),
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
