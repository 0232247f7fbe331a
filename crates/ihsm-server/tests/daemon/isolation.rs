//! Partitions as the running module isolates them: a connection belongs to the partition it
//! reached, not to its name; and a login's answer costs the same whether or not the role has
//! a PIN.

use std::time::{Duration, Instant};

use ihsm_client::{Client, Error, Role, Status};

use crate::{provision, quotas, start, user_session, ADMIN_PIN, OFFICER_PIN, USER_PIN};

fn admin(daemon: &ihsm_testkit::daemon::Daemon) -> ihsm_client::Session {
    Client::connect(daemon.admin_socket())
        .unwrap()
        .login(Role::Admin, ADMIN_PIN)
        .unwrap()
        .open_session()
        .unwrap()
}

/// Waits up to 10 s for `client`'s connection to be closed by the daemon.
fn closed(client: &Client) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match client.status() {
            Err(Error::Io(_)) => return true,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

/// An old connection once reached the partition made again under the same name (and, with
/// wrong PINs, locked its user). Deleting or resetting a partition closes every connection
/// to it, logged in or not, and a connection never reaches another partition of its name.
#[test]
fn deleting_or_resetting_a_partition_closes_its_connections() {
    let daemon = start();
    provision(&daemon, &["p"]);
    let admin = admin(&daemon);
    for way in ["delete", "reset"] {
        let user = user_session(&daemon, "p");
        let idle = Client::connect(daemon.partition_socket("p")).unwrap();
        idle.status().unwrap();
        match way {
            "delete" => {
                admin.delete_partition("p").unwrap();
                admin.create_partition("p", quotas()).unwrap();
            }
            _ => assert!(admin.reset_partition("p").unwrap() >= 1),
        }
        assert!(
            closed(user.client()),
            "{way}: the logged-in connection was closed"
        );
        assert!(closed(&idle), "{way}: the idle connection was closed");
        // The new partition's owner initializes it; the old connections reach none of it.
        let owner = Client::connect(daemon.partition_socket("p")).unwrap();
        owner.initialize_partition(OFFICER_PIN, None).unwrap();
        owner
            .login(Role::CryptoOfficer, OFFICER_PIN)
            .unwrap()
            .open_session()
            .unwrap()
            .set_pin(Role::CryptoUser, USER_PIN)
            .unwrap();
        for _ in 0..6 {
            assert!(matches!(
                idle.login(Role::CryptoUser, b"wrong-pin-000"),
                Err(Error::Io(_))
            ));
        }
        // Not locked by the old connection's attempts.
        user_session(&daemon, "p").random(8).unwrap();
    }
}

/// A wrong PIN and a login of a role that has no PIN cost the same (a decoy verifier of
/// the same cost, and the attempt counted either way), so the time of the answer does not
/// say whether a role has a PIN. Before, they took about 172 ms and 5 ms.
#[test]
fn a_role_without_a_pin_costs_what_a_wrong_pin_costs() {
    let daemon = start();
    provision(&daemon, &["p"]);
    admin(&daemon).create_partition("fresh", quotas()).unwrap();
    let fresh = Client::connect(daemon.partition_socket("fresh")).unwrap();
    fresh.initialize_partition(OFFICER_PIN, None).unwrap();
    let with_pin = Client::connect(daemon.partition_socket("p")).unwrap();
    let time = |client: &Client| {
        let started = Instant::now();
        let result = client.login(Role::CryptoUser, b"wrong-pin-000");
        assert!(
            matches!(result, Err(Error::Status(Status::PinIncorrect))),
            "{:?}",
            result.err()
        );
        started.elapsed()
    };
    // Four each (a fifth would lock both), interleaved so load on the machine hits both.
    let (mut wrong, mut absent) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        wrong.push(time(&with_pin));
        absent.push(time(&fresh));
    }
    wrong.sort();
    absent.sort();
    let ratio = absent[1].as_secs_f64() / wrong[1].as_secs_f64();
    eprintln!("no PIN {absent:?}, wrong PIN {wrong:?}: ratio {ratio:.2}");
    assert!(
        (0.5..2.0).contains(&ratio),
        "a role without a PIN answers in {:?}, a wrong PIN in {:?}",
        absent[1],
        wrong[1]
    );
    // Both are locked after the fifth attempt, alike.
    for client in [&with_pin, &fresh] {
        let _ = client.login(Role::CryptoUser, b"wrong-pin-000");
        assert!(matches!(
            client.login(Role::CryptoUser, b"wrong-pin-000"),
            Err(Error::Status(Status::PinLocked))
        ));
    }
}
