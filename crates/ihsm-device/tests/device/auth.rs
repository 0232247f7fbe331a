//! Admin initialization, logins, PINs and lockout (S7), nonces, tickets, sessions.

use std::time::Duration;

use ihsm_device::MAX_PIN_FAILURES;
use ihsm_proto::msgs::*;
use ihsm_proto::{DeviceMode, DeviceState, Opcode, ResponseBody, Role, Status};

use super::fixtures::*;

#[test]
fn status_is_served_before_initialization_and_reports_the_build() {
    let fixture = Fixture::new();
    let mut client = fixture.admin();
    let (body, approved) = client.call(None, GetStatusRequest {}).unwrap();
    let ResponseBody::GetStatus(status) = body else {
        unreachable!()
    };
    assert!(approved);
    assert_eq!(status.state, DeviceState::Operational);
    assert_eq!(status.mode, DeviceMode::Development);
    assert!(!status.initialized);
    assert_eq!(status.test_hooks, cfg!(feature = "test-hooks"));
    assert_eq!(status.fips_mode, cfg!(feature = "fips"));
    assert!(status.self_tests.len() >= 25);
    assert!(status.self_tests.iter().all(|t| t.passed));
}

#[test]
fn only_status_credential_key_and_initialization_before_the_admin_pin() {
    let fixture = Fixture::new();
    let mut admin = fixture.admin();
    assert_eq!(
        status(admin.call(None, ListPartitionsRequest {}).map(|_| ())),
        Status::MissingField,
        "ListPartitions takes a session: the decoder refuses it first"
    );
    let credential = admin.sealed(Opcode::Login, 1, ADMIN_PIN.as_bytes()).secret;
    let login = LoginRequest {
        role: Role::Admin,
        credential,
    };
    assert_eq!(
        status(admin.call(None, login)),
        Status::DeviceNotInitialized
    );
    assert_eq!(status(admin.initialize_admin("short")), Status::PinInvalid);
    assert_eq!(status(admin.initialize_admin(ADMIN_PIN)), Status::Ok);
    assert_eq!(
        status(admin.initialize_admin(ADMIN_PIN)),
        Status::AlreadyInitialized
    );
    assert!(admin.login(Role::Admin, ADMIN_PIN).is_ok());
    // Partition sockets serve nothing of the admin's.
    let credential = admin
        .sealed(Opcode::InitializeAdmin, 0, b"another-pin-1")
        .secret;
    let mut other = fixture.partition("nowhere");
    assert_eq!(
        status(other.call(None, InitializeAdminRequest { credential })),
        Status::RoleNotPermitted
    );
}

#[test]
fn sealed_pins_are_bound_to_the_connection_nonce_and_their_use() {
    let fixture = Fixture::initialized();
    let mut admin = fixture.admin();
    let sealed = admin.sealed(Opcode::Login, 1, ADMIN_PIN.as_bytes()).secret;
    let login = |credential| LoginRequest {
        role: Role::Admin,
        credential,
    };
    assert_eq!(status(admin.call(None, login(sealed.clone()))), Status::Ok);
    // The nonce was consumed: the same frame again is a replay.
    assert_eq!(
        status(admin.call(None, login(sealed.clone()))),
        Status::NonceStale
    );
    // Another connection's nonce is stale here too, even when fresh there.
    let mut other = fixture.admin();
    let foreign = other.sealed(Opcode::Login, 1, ADMIN_PIN.as_bytes()).secret;
    let _ = admin.credential_key().unwrap();
    assert_eq!(status(admin.call(None, login(foreign))), Status::NonceStale);
    // Sealed for another field or opcode: it does not open.
    let wrong_use = admin.sealed(Opcode::SetPin, 1, ADMIN_PIN.as_bytes()).secret;
    assert_eq!(
        status(admin.call(None, login(wrong_use))),
        Status::CredentialInvalid
    );
    // None of these counted as a PIN failure.
    assert!(admin.login(Role::Admin, ADMIN_PIN).is_ok());
    let counters = fixture.store.table(ihsm_device::Table::Counter);
    assert!(counters.iter().all(|(_, v)| v.as_slice() == [0, 0, 0, 0]));
}

#[test]
fn s7_wrong_pins_lock_the_role_at_exactly_five_and_the_officer_unlocks_the_user() {
    let fixture = Fixture::initialized();
    let (mut user, _) = fixture.user("s7");
    for attempt in 1..=MAX_PIN_FAILURES {
        assert_eq!(
            status(user.login(Role::CryptoUser, "wrong-pin-000")),
            Status::PinIncorrect,
            "attempt {attempt}"
        );
    }
    assert_eq!(
        status(user.login(Role::CryptoUser, USER_PIN)),
        Status::PinLocked
    );
    assert_eq!(
        status(user.login(Role::CryptoUser, "wrong-pin-000")),
        Status::PinLocked
    );
    // The lock survives a restart: the counter was persisted before each comparison.
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition("s7");
    assert_eq!(
        status(user.login(Role::CryptoUser, USER_PIN)),
        Status::PinLocked
    );
    let mut officer = restarted.partition("s7");
    let session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let unlock = UnlockRoleRequest {
        role: Role::CryptoUser,
    };
    assert_eq!(status(officer.call(Some(session), unlock)), Status::Ok);
    assert!(user.login(Role::CryptoUser, USER_PIN).is_ok());
}

#[test]
fn s7_concurrent_wrong_pins_get_exactly_five_comparisons_and_a_right_pin_resets_the_count() {
    let fixture = Fixture::initialized();
    drop(fixture.user("s7"));
    // Failures count only while consecutive: a right PIN resets them.
    let mut user = fixture.partition("s7");
    for _ in 1..MAX_PIN_FAILURES {
        let _ = user.login(Role::CryptoUser, "wrong-pin-000");
    }
    assert!(user.login(Role::CryptoUser, USER_PIN).is_ok());
    for _ in 1..MAX_PIN_FAILURES {
        let _ = user.login(Role::CryptoUser, "wrong-pin-000");
    }
    assert!(user.login(Role::CryptoUser, USER_PIN).is_ok());
    // Twelve wrong PINs at once, each on its own connection: the store counts each attempt
    // before the comparison, so exactly five are compared and the rest find the role locked.
    let statuses: Vec<Status> = std::thread::scope(|scope| {
        let attempts: Vec<_> = (0..12)
            .map(|_| {
                let mut client = fixture.partition("s7");
                scope.spawn(move || status(client.login(Role::CryptoUser, "wrong-pin-000")))
            })
            .collect();
        attempts.into_iter().map(|a| a.join().unwrap()).collect()
    });
    let count = |wanted| statuses.iter().filter(|s| **s == wanted).count();
    assert_eq!(count(Status::PinIncorrect), 5, "{statuses:?}");
    assert_eq!(count(Status::PinLocked), 7, "{statuses:?}");
    assert_eq!(
        status(user.login(Role::CryptoUser, USER_PIN)),
        Status::PinLocked
    );
    // The guessing budget: five guesses until an officer unlocks, however fast they come.
    // Against the weakest PIN the policy admits, eight decimal digits, that is a chance of
    // 5e-8 per unlock: under RELIABILITY's 1e-5 a minute unless an officer unlocks the role
    // more than 200 times a minute.
    let chance = f64::from(MAX_PIN_FAILURES) / 1e8;
    assert!(chance < 1e-5, "{chance}");
}

#[test]
fn a_locked_officer_is_recovered_only_by_a_reset_and_a_role_without_a_pin_looks_like_a_wrong_pin() {
    let fixture = Fixture::initialized();
    fixture.create_partition("p");
    let mut client = fixture.partition("p");
    // The user has no PIN yet: the same answer as a wrong PIN.
    assert_eq!(
        status(client.login(Role::CryptoUser, USER_PIN)),
        Status::PinIncorrect
    );
    for _ in 0..MAX_PIN_FAILURES {
        let _ = client.login(Role::CryptoOfficer, "not-the-pin-1");
    }
    assert_eq!(
        status(client.login(Role::CryptoOfficer, OFFICER_PIN)),
        Status::PinLocked
    );
    // The admin cannot unlock the officer (that would buy guesses at its PIN): no PIN
    // call is served on the admin socket.
    let (mut admin, session) = fixture.admin_session();
    let unlock = UnlockRoleRequest {
        role: Role::CryptoOfficer,
    };
    assert_eq!(
        status(admin.call(Some(session), unlock)),
        Status::RoleNotPermitted
    );
    // A reset is the way back, and it leaves nothing of the partition as it was.
    let reset = ResetPartitionRequest {
        name: ihsm_proto::PartitionName::new("p").unwrap(),
    };
    match admin.call(Some(session), reset).unwrap().0 {
        ResponseBody::ResetPartition(r) => assert_eq!(r.resets, 1),
        _ => unreachable!(),
    }
    assert_eq!(
        client.credential_key().err().and_then(|e| e.known()),
        Some(Status::PartitionNotFound),
        "a connection to the partition before its reset reaches nothing"
    );
    let mut fresh = fixture.partition("p");
    assert_eq!(
        status(fresh.login(Role::CryptoOfficer, OFFICER_PIN)),
        Status::PartitionNotInitialized
    );
    fresh.initialize_partition("officer-pin-0002").unwrap();
    assert!(fresh.login(Role::CryptoOfficer, "officer-pin-0002").is_ok());
}

#[test]
fn a_failed_counter_write_refuses_even_the_right_pin() {
    let fixture = Fixture::initialized();
    let mut admin = fixture.admin();
    fixture.store.fail_next(1);
    assert_eq!(
        status(admin.login(Role::Admin, ADMIN_PIN)),
        Status::Internal
    );
    assert!(admin.login(Role::Admin, ADMIN_PIN).is_ok());
}

#[test]
fn change_pin_needs_the_old_pin_and_roles_log_in_only_on_their_socket() {
    let fixture = Fixture::initialized();
    let (mut admin, session) = fixture.admin_session();
    let change = |admin: &mut TestClient, old: &str, new: &str| {
        let (q, nonce) = admin.credential_key().unwrap();
        let seal = |field, pin: &str| {
            TestClient::seal(&q, nonce, Opcode::ChangePin, field, pin.as_bytes()).secret
        };
        let request = ChangePinRequest {
            role: Role::Admin,
            old: seal(1, old),
            new: seal(2, new),
        };
        status(admin.call(Some(session), request))
    };
    assert_eq!(
        change(&mut admin, "wrong-old-pin", "new-admin-pin"),
        Status::PinIncorrect
    );
    assert_eq!(change(&mut admin, ADMIN_PIN, "tiny"), Status::PinInvalid);
    assert_eq!(change(&mut admin, ADMIN_PIN, "new-admin-pin"), Status::Ok);
    assert_eq!(
        status(admin.login(Role::Admin, ADMIN_PIN)),
        Status::PinIncorrect
    );
    assert!(admin.login(Role::Admin, "new-admin-pin").is_ok());
    assert_eq!(
        status(admin.login(Role::CryptoOfficer, OFFICER_PIN)),
        Status::RoleNotPermitted
    );
}

#[test]
fn tickets_attach_other_connections_once_and_expire() {
    let fixture = Fixture::initialized();
    let mut first = fixture.admin();
    let login = first.login(Role::Admin, ADMIN_PIN).unwrap();
    let ticket = |client: &mut TestClient| match client
        .call(None, IssueTicketRequest { login })
        .unwrap()
        .0
    {
        ResponseBody::IssueTicket(r) => r.ticket,
        _ => unreachable!(),
    };
    let issued = ticket(&mut first);
    let mut second = fixture.admin();
    let attached = second
        .call(
            None,
            AttachLoginRequest {
                ticket: issued.clone(),
            },
        )
        .unwrap();
    let ResponseBody::AttachLogin(attached) = attached.0 else {
        unreachable!()
    };
    assert_eq!((attached.login, attached.role), (login, Role::Admin));
    let mut third = fixture.admin();
    assert_eq!(
        status(third.call(None, AttachLoginRequest { ticket: issued })),
        Status::TicketInvalid
    );
    let late = ticket(&mut first);
    fixture.clock.advance(Duration::from_secs(61));
    assert_eq!(
        status(third.call(None, AttachLoginRequest { ticket: late })),
        Status::TicketInvalid
    );
    // A connection that does not hold the login cannot use it.
    assert_eq!(
        status(third.call(None, OpenSessionRequest { login })),
        Status::NotLoggedIn
    );

    // The login lives while any holder does.
    let session = second.open_session(login).unwrap();
    drop(first);
    assert_eq!(fixture.device.open_counts(None), Some((1, 1)));
    assert!(second.call(Some(session), GetSessionInfoRequest {}).is_ok());
    drop(second);
    assert_eq!(fixture.device.open_counts(None), Some((0, 0)));
}

#[test]
fn sessions_belong_to_their_connection_and_die_with_their_login() {
    let fixture = Fixture::initialized();
    let (mut admin, session) = fixture.admin_session();
    let (body, _) = admin.call(Some(session), GetSessionInfoRequest {}).unwrap();
    let ResponseBody::GetSessionInfo(info) = body else {
        unreachable!()
    };
    assert_eq!((info.role, info.partition), (Role::Admin, None));
    let mut stranger = fixture.admin();
    assert_eq!(
        status(stranger.call(Some(session), GetSessionInfoRequest {})),
        Status::SessionNotFound
    );
    let second = admin.open_session(info.login).unwrap();
    assert_eq!(
        status(admin.call(Some(second), CloseSessionRequest {})),
        Status::Ok
    );
    assert_eq!(
        status(admin.call(Some(second), GetSessionInfoRequest {})),
        Status::SessionNotFound
    );
    assert_eq!(
        status(admin.call(None, LogoutRequest { login: info.login })),
        Status::Ok
    );
    assert_eq!(
        status(admin.call(Some(session), GetSessionInfoRequest {})),
        Status::SessionNotFound
    );
    assert_eq!(fixture.device.open_counts(None), Some((0, 0)));
}
