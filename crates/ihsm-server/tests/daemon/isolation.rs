//! Partitions as the running module isolates them: a connection belongs to the partition it
//! reached, not to its name; and a login's answer costs the same whether or not the role has
//! a PIN.

use std::time::{Duration, Instant};

use ihsm_client::{Client, Error, Role, Status};

use super::raw::Raw;
use crate::{
    admin, make_partition, own_partition, provision, quotas, start, user_session, OFFICER_PIN,
    USER_PIN,
};

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
        own_partition(&daemon, "p");
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

// ---- S29: a noisy neighbour --------------------------------------------------------------

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;

use ihsm_client::proto::msgs::{
    DigestRequest, GenerateKeyPairRequest, GenerateRandomRequest, GetStatusRequest,
};
use ihsm_client::proto::{
    Attribute, ErrorStatus, KeyPairSpec, Opcode, Quotas, Response, RsaKeySize, Template,
};

/// Partition A with room for a hundred connections, its user session and a login to
/// attach them to.
fn roomy_partition_a(
    daemon: &ihsm_testkit::daemon::Daemon,
) -> (ihsm_client::Session, ihsm_client::Login) {
    provision(daemon, &[]);
    let roomy = Quotas {
        max_connections: 100,
        max_sessions: 200,
        max_locked_bytes: 2 << 20,
        ..quotas()
    };
    make_partition(daemon, "a", roomy);
    let a = user_session(daemon, "a");
    let login = a.client().login(Role::CryptoUser, USER_PIN).unwrap();
    (a, login)
}

/// A reply waits in the daemon until its peer reads it (or the send timeout): 120 of A's
/// connections asking for a megabyte of random bytes each and never reading took the daemon
/// from 16 to 159 MB. A request now takes room for its reply from the tenant's share of the
/// frame memory (64 MiB) before it is served, and a large reply holds its bytes until it is
/// sent; a request that finds no room within a second is answered `Busy`, unserved.
#[test]
fn s29_replies_nobody_reads_hold_no_more_than_the_tenants_frame_memory() {
    let daemon = start();
    let (_a, login) = roomy_partition_a(&daemon);
    let mut readers: Vec<_> = (0..80)
        .map(|_| {
            let mut raw = Raw::connect(&daemon, "a");
            let session = raw.session(login.issue_ticket().unwrap());
            (raw, session)
        })
        .collect();
    for (raw, session) in &mut readers {
        raw.send(
            Some(*session),
            GenerateRandomRequest {
                len: ihsm_client::proto::DataLen::new(1 << 20).unwrap(),
            },
        );
    }
    // Every request has been served or refused by now; then the replies are read.
    std::thread::sleep(Duration::from_secs(2));
    let (mut served, mut busy) = (0, 0);
    for (raw, _) in &mut readers {
        match raw.receive(Opcode::GenerateRandom).result {
            Ok(_) => served += 1,
            Err(ErrorStatus::Known(Status::Busy)) => busy += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    // 64 MiB hold 63 replies of a megabyte and their headers.
    assert!(
        served <= 63 && busy >= 17,
        "{served} megabyte replies held at once, {busy} refused"
    );
    assert!(served >= 32, "only {served} served");
}

/// A decoded request holds a copy of its frame until it is served, and that copy once went
/// uncounted the moment the frame was decoded: with A's share full of replies it did not
/// read, each further connection of A's sending a megabyte to digest held a megabyte while
/// its request waited for room for its reply (300 of them took the daemon to 282 MB). The
/// frame's bytes now stay counted until the request is served: with 2 MiB of A's share
/// left, a megabyte to digest and the room for its reply do not both fit.
#[test]
fn s29_requests_waiting_to_be_served_count_against_the_tenants_frame_memory() {
    let daemon = start();
    let (_a, login) = roomy_partition_a(&daemon);
    let connect = || {
        let mut raw = Raw::connect(&daemon, "a");
        let session = raw.session(login.issue_ticket().unwrap());
        (raw, session)
    };
    let (mut digester, session) = connect();
    let megabyte = || DigestRequest {
        mechanism: ihsm_client::proto::Mechanism::Sha256,
        data: ihsm_client::proto::Data::copy_from(&vec![7; 1 << 20]).unwrap(),
    };
    digester.send(Some(session), megabyte());
    assert!(
        digester.receive(Opcode::Digest).result.is_ok(),
        "served while A's share has room"
    );
    // 62 replies of a megabyte nobody reads: 2 MiB of A's 64 left.
    let mut unread: Vec<_> = (0..62).map(|_| connect()).collect();
    for (raw, session) in &mut unread {
        raw.send(
            Some(*session),
            GenerateRandomRequest {
                len: ihsm_client::proto::DataLen::new(1 << 20).unwrap(),
            },
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..3 {
        digester.send(Some(session), megabyte());
        assert_eq!(
            digester.receive(Opcode::Digest).result.err(),
            Some(ErrorStatus::Known(Status::Busy)),
            "the request's megabyte and its reply's room do not both fit"
        );
    }
    // Once A reads its replies, it is served again.
    for (raw, _) in &mut unread {
        assert!(raw.receive(Opcode::GenerateRandom).result.is_ok());
    }
    digester.send(Some(session), megabyte());
    assert!(digester.receive(Opcode::Digest).result.is_ok());
}

fn rsa_pair(bits: RsaKeySize, token: bool) -> GenerateKeyPairRequest {
    let template = || Template::new(vec![Attribute::Token(token)]).unwrap();
    GenerateKeyPairRequest {
        spec: KeyPairSpec::Rsa(bits),
        public_template: template(),
        private_template: template(),
    }
}

/// Raises this process's descriptor limit to its hard limit (a test that opens a thousand
/// connections needs more than the usual 1,024).
fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
}

/// Twenty connections of partition A pipelining RSA key generation (16 requests each) once
/// filled the one queue every partition shared, and B's logins and key generations answered
/// `Busy`. Now A fills only its own queue (its surplus is `Busy`), and B is served.
#[test]
fn s29_a_flood_of_slow_work_leaves_the_other_partitions_served() {
    let daemon = start();
    provision(&daemon, &["a", "b"]);
    let a = user_session(&daemon, "a");
    // One login, attached to by every flooding connection (a ticket each: no PIN hashing).
    let login = a.client().login(Role::CryptoUser, USER_PIN).unwrap();
    let mut flooders = Vec::new();
    for _ in 0..20 {
        let mut raw = Raw::connect(&daemon, "a");
        let session = raw.session(login.issue_ticket().unwrap());
        for _ in 0..16 {
            raw.send(Some(session), rsa_pair(RsaKeySize::Rsa3072, false));
        }
        flooders.push(raw);
    }
    // The last of A's connections found A's queue full: its requests are refused at once.
    let last = flooders.last_mut().unwrap();
    let response = last.receive(Opcode::GenerateKeyPair);
    assert_eq!(
        response.result.err(),
        Some(ErrorStatus::Known(Status::Busy)),
        "A's flood overflows A's own queue"
    );
    // B logs in, makes a key and signs while A's backlog is full.
    for _ in 0..3 {
        let b = user_session(&daemon, "b");
        let pair = b
            .generate_key_pair(
                KeyPairSpec::Ec(ihsm_client::proto::Curve::P256),
                Template::new(vec![]).unwrap(),
                Template::new(vec![]).unwrap(),
            )
            .expect("B's key generation is served during A's flood");
        b.sign(
            ihsm_client::proto::Mechanism::EcdsaSha256,
            pair.value.1,
            b"b",
        )
        .unwrap();
    }
    // And the admin.
    admin(&daemon).list_partitions().unwrap();
}

/// A connection that closes takes its queued slow work with it: a flood's backlog does not
/// outlive the flood (it once did, by about 100 s).
#[test]
fn s29_queued_work_of_a_closed_connection_is_dropped() {
    let daemon = start();
    provision(&daemon, &["a"]);
    let a = user_session(&daemon, "a");
    let mut raw = Raw::connect(&daemon, "a");
    let login = a.client().login(Role::CryptoUser, USER_PIN).unwrap();
    let session = raw.session(login.issue_ticket().unwrap());
    for _ in 0..16 {
        raw.send(Some(session), rsa_pair(RsaKeySize::Rsa3072, true));
    }
    drop(raw);
    // What was running when it closed finishes; nothing queued behind it runs.
    std::thread::sleep(Duration::from_secs(5));
    let keys = a
        .find_objects(Template::new(vec![Attribute::Token(true)]).unwrap())
        .unwrap()
        .len();
    assert!(
        keys < 16,
        "{keys} token objects: more than the work running at the close was done"
    );
}

/// Partition A holding 1,100 connections once left no connection for B or the admin. Now A
/// holds at most its quota, each refusal says why, and B and the admin connect.
#[test]
fn s29_one_partition_cannot_take_the_connections_of_others_or_the_admin() {
    raise_open_files();
    let daemon = start();
    provision(&daemon, &["b"]);
    let tight = Quotas {
        max_connections: 16,
        ..quotas()
    };
    admin(&daemon).create_partition("a", tight).unwrap();
    Client::connect(daemon.partition_socket("a"))
        .unwrap()
        .initialize_partition(OFFICER_PIN, None)
        .unwrap();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..1100 {
        let mut raw = Raw::connect(&daemon, "a");
        raw.send(None, GetStatusRequest {});
        let response = raw.receive(Opcode::GetStatus);
        match response.result {
            Ok(_) => held.push(raw),
            Err(ErrorStatus::Known(Status::ConnectionLimit)) => {
                assert_eq!(response.request_id, None, "a refusal without a request id");
                refused += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(held.len(), 16, "A holds its quota");
    assert_eq!(refused, 1100 - 16);
    let info = Client::connect(daemon.partition_socket("b"))
        .unwrap()
        .partition_info()
        .unwrap();
    assert_eq!(info.name.as_str(), "b");
    user_session(&daemon, "b").random(8).unwrap();
    let listed = admin(&daemon).list_partitions().unwrap();
    let a_info = listed.iter().find(|p| p.name.as_str() == "a").unwrap();
    assert_eq!(
        (a_info.connections, a_info.quotas.max_connections),
        (16, 16),
        "the admin sees A's use against its quota"
    );
    // Connections A gives back are A's to open again.
    held.truncate(10);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = Raw::connect(&daemon, "a");
    again.send(None, GetStatusRequest {});
    assert!(again.receive(Opcode::GetStatus).result.is_ok());
}

/// The daemon's CPU time so far (user + system), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = rustix::param::clock_ticks_per_second();
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// The daemon's resident memory, from /proc.
fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// With few descriptors (an `ulimit -n` of 256 once made 400 connections spin the accept
/// loop at 98% of a core without accepting), the daemon does not spin: it holds no more
/// partition connections than its descriptors allow beside the admin's reserve, refuses the
/// rest with a reason, keeps serving what it has, and the admin can still connect.
#[test]
fn s29_out_of_descriptors_the_daemon_neither_spins_nor_stops_serving() {
    raise_open_files();
    let dir = tempfile::tempdir().unwrap();
    // Soft and hard limit both 256: the daemon cannot raise them.
    let wrapper = dir.path().join("ihsmd-256-files");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nulimit -n 256 || exit 1\nexec {} \"$@\"\n",
            crate::ihsmd().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    let daemon = ihsm_testkit::daemon::Daemon::start(&wrapper);
    provision(&daemon, &[]);
    let roomy = Quotas {
        max_connections: 1000,
        ..quotas()
    };
    make_partition(&daemon, "p", roomy);
    let session = user_session(&daemon, "p");
    // 400 connections that stay open.
    let mut held = Vec::new();
    for _ in 0..400 {
        match UnixStream::connect(daemon.partition_socket("p")) {
            Ok(stream) => held.push(stream),
            Err(e) => panic!("connect: {e}"),
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_time(daemon.pid());
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_time(daemon.pid()) - before;
    assert!(
        spent < Duration::from_millis(500),
        "the daemon used {spent:?} of CPU in 2 s with 400 connections pending"
    );
    // What it has, it serves; the admin connects.
    session.random(8).unwrap();
    admin(&daemon).list_partitions().unwrap();
    // The connections beyond what its descriptors allow were told why.
    let mut refused = 0;
    for stream in &mut held {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut prefix = [0u8; 4];
        if stream.read_exact(&mut prefix).is_ok() {
            let mut body = vec![0; u32::from_be_bytes(prefix) as usize];
            stream.read_exact(&mut body).unwrap();
            let response = Response::decode(&body, Opcode::GetStatus).unwrap();
            assert_eq!(
                response.result.err(),
                Some(ErrorStatus::Known(Status::ConnectionLimit))
            );
            refused += 1;
        }
    }
    assert!(refused >= 400 - 256, "{refused} refused");
}

/// A frame's buffer grows as its bytes arrive: a thousand connections that each announce a
/// 1 MiB frame and send 16 bytes of it once took the daemon from 16 MB to 1.1 GB.
#[test]
fn s29_announced_frames_take_no_memory_until_their_bytes_arrive() {
    raise_open_files();
    let daemon = start();
    provision(&daemon, &[]);
    // Each connection's thread keeps its random generator's state in the partition's share
    // of the locked memory: a thousand of them need more than the usual share.
    let roomy = Quotas {
        max_connections: 1100,
        max_locked_bytes: 4 << 20,
        ..quotas()
    };
    admin(&daemon).create_partition("p", roomy).unwrap();
    let before = resident(daemon.pid());
    let mut streams = Vec::new();
    for _ in 0..1000 {
        let mut stream = UnixStream::connect(daemon.partition_socket("p")).unwrap();
        stream.write_all(&(1u32 << 20).to_be_bytes()).unwrap();
        stream.write_all(&[0x82; 16]).unwrap();
        streams.push(stream);
    }
    std::thread::sleep(Duration::from_secs(2));
    let grown = resident(daemon.pid()).saturating_sub(before);
    assert!(
        grown < 150 << 20,
        "1,000 announced frames grew the daemon by {} MiB",
        grown >> 20
    );
    // Still serving.
    let client = Client::connect(daemon.partition_socket("p")).unwrap();
    let info = client.partition_info().unwrap();
    eprintln!(
        "{} connections hold {} bytes of locked memory",
        info.connections, info.locked_bytes
    );
    assert_eq!(info.connections, 1001);
}

/// The locked arena, 4 MiB, for the memory tests: 1 MiB stays the device's, 3 MiB can be
/// shares.
fn small_arena() -> ihsm_testkit::daemon::Daemon {
    let daemon =
        ihsm_testkit::daemon::Daemon::start_with(&crate::ihsmd(), &["--locked-arena-mib", "4"]);
    provision(&daemon, &[]);
    daemon
}

/// A partition with a share of `share` bytes of locked memory, its user PIN set.
fn with_share(
    daemon: &ihsm_testkit::daemon::Daemon,
    name: &str,
    share: u32,
) -> ihsm_client::Session {
    let quotas = Quotas {
        max_locked_bytes: share,
        ..quotas()
    };
    make_partition(daemon, name, quotas);
    user_session(daemon, name)
}

/// The partition of `session` holds no more locked memory than its share.
fn assert_within_share(session: &ihsm_client::Session) {
    let info = session.client().partition_info().unwrap();
    assert!(
        info.locked_bytes <= info.quotas.max_locked_bytes,
        "the partition holds {} of its {} bytes",
        info.locked_bytes,
        info.quotas.max_locked_bytes
    );
}

fn p521(session: &ihsm_client::Session) -> Result<ihsm_client::proto::Handle, Error> {
    session
        .generate_key_pair(
            KeyPairSpec::Ec(ihsm_client::proto::Curve::P521),
            Template::new(vec![]).unwrap(),
            Template::new(vec![]).unwrap(),
        )
        .map(|pair| pair.value.1)
}

/// Partition A filled the one locked arena every partition shared in 4 s of P-521 session
/// keys, and B's next private key landed in the ordinary heap. Now each partition has its
/// share, reserved when it is made: A's keys stop at its share with a clear status, B's go
/// on, and no allocation is ever refused or served from the heap.
#[test]
fn s29_one_partition_cannot_take_the_locked_memory_of_another() {
    let daemon = small_arena();
    let a = with_share(&daemon, "a", 1 << 20);
    let b = with_share(&daemon, "b", 1 << 20);
    // Shares are reservations: one that would not fit beside the others is refused.
    let greedy = Quotas {
        max_locked_bytes: 2 << 20,
        ..quotas()
    };
    assert!(matches!(
        admin(&daemon).create_partition("greedy", greedy),
        Err(Error::Status(Status::QuotaExceeded))
    ));
    let mut made = 0;
    let refused = loop {
        match p521(&a) {
            Ok(_) => made += 1,
            Err(error) => break error,
        }
        assert!(made < 5000, "A's keys never stopped");
    };
    assert!(
        matches!(refused, Error::Status(Status::QuotaExceeded)),
        "{refused} after {made} keys"
    );
    assert_within_share(&a);
    // B is untouched by it.
    for _ in 0..20 {
        let key = p521(&b).expect("B's keys have B's share");
        b.sign(ihsm_client::proto::Mechanism::EcdsaSha256, key, b"b")
            .unwrap();
    }
    let status = admin(&daemon).client().status().unwrap();
    let memory = status
        .locked_memory
        .expect("the daemon reports its locked memory");
    assert_eq!(memory.refused, 0, "no allocation found the arena full");
    assert_eq!(memory.reserved, 2 << 20);
    assert!(memory.in_use <= memory.capacity);
    // A's share frees as its keys go.
    a.close().unwrap();
    let a = user_session(&daemon, "a");
    p521(&a).expect("A's share has room again once its session keys are gone");
}

/// RSA public keys made from an SPKI are small when they come in, and AWS-LC builds each
/// one's Montgomery context on its first verification or encryption (3 KiB at 4096 bits,
/// 10 KiB for a private key's first signature or decryption) and keeps it. Using hundreds of
/// them for the first time once took a partition to 2.9 times its share and, with the
/// arena drained, stopped the daemon. Now a use that may grow a key checks the share first.
#[test]
fn s29_keys_grow_on_first_use_only_within_their_share() {
    use ihsm_client::proto::{
        Attribute, AttributeReading, AttributeType, AttributeTypes, HashAlg, KeyType, Mechanism,
        ObjectClass, RsaOaepParams,
    };
    let daemon = small_arena();
    let a = with_share(&daemon, "a", 1 << 20);
    let b = with_share(&daemon, "b", 1 << 20);
    let empty = || Template::new(vec![]).unwrap();
    let (public, _) = a
        .generate_key_pair(KeyPairSpec::Rsa(RsaKeySize::Rsa4096), empty(), empty())
        .unwrap()
        .value;
    let spki = a
        .get_attributes(
            public,
            AttributeTypes::new(vec![AttributeType::PublicKeyInfo]).unwrap(),
        )
        .unwrap()
        .into_iter()
        .find_map(|reading| match reading {
            AttributeReading::Value(Attribute::PublicKeyInfo(spki)) => Some(spki),
            _ => None,
        })
        .unwrap();
    let mut keys = Vec::new();
    loop {
        let template = Template::new(vec![
            Attribute::Class(ObjectClass::PublicKey),
            Attribute::KeyType(KeyType::Rsa),
            Attribute::Token(false),
            Attribute::Verify(true),
            Attribute::Encrypt(true),
            Attribute::PublicKeyInfo(spki.clone()),
        ])
        .unwrap();
        match a.create_object(template) {
            Ok(key) => keys.push(key),
            Err(Error::Status(Status::QuotaExceeded)) => break,
            Err(other) => panic!("{other} after {} keys", keys.len()),
        }
        assert!(keys.len() < 5000, "A's keys never stopped");
    }
    let oaep = || {
        Mechanism::RsaOaep(RsaOaepParams {
            hash: HashAlg::Sha256,
            label: None,
        })
    };
    let mut used = 0;
    let refused = keys.iter().find_map(|key| {
        let verified = a.verify(Mechanism::RsaPkcs1Sha256, *key, b"m", &[1; 512]);
        if let Err(Error::Status(Status::QuotaExceeded)) = verified {
            return Some(verified.unwrap_err());
        }
        match a.encrypt(oaep(), *key, b"m") {
            Ok(_) => {
                used += 1;
                None
            }
            Err(error) => Some(error),
        }
    });
    assert!(
        matches!(refused, Some(Error::Status(Status::QuotaExceeded))),
        "{refused:?} after {used} of {} keys used",
        keys.len()
    );
    assert_within_share(&a);
    // The keys already used go on working; B and the admin are untouched.
    a.encrypt(oaep(), keys[0], b"again").unwrap();
    for _ in 0..5 {
        p521(&b).expect("B's keys have B's share");
    }
    let status = admin(&daemon).client().status().unwrap();
    assert_eq!(status.locked_memory.unwrap().refused, 0);
}

/// The room the device checks for before making each kind of key covers what the key then
/// takes (if it did not, a share could be overrun by the last key let in). The arena counts
/// whole 16 KiB chunks, one size class each, so a kind's first keys also take the chunks its
/// classes need (at most one per class, ten classes): that floor is what the room kept for
/// operations covers, and the rooms are the cost of each key beyond it.
#[test]
fn locked_memory_rooms_cover_what_keys_take() {
    let daemon = small_arena();
    let session = with_share(&daemon, "p", 3 << 20);
    let held = || session.client().partition_info().unwrap().locked_bytes;
    let empty = || Template::new(vec![]).unwrap();
    const FLOOR: u32 = 10 * 16 * 1024;
    let cases: [(&str, u32, u32, &dyn Fn()); 3] = [
        ("AES-256", 300, 2 << 10, &|| {
            let key = session
                .generate_key(
                    ihsm_client::proto::KeySpec::Aes(ihsm_client::proto::AesKeySize::Aes256),
                    empty(),
                )
                .unwrap()
                .value;
            // Its GCM contexts are made on first use: count them too.
            session
                .encrypt(
                    ihsm_client::proto::Mechanism::AesGcm(ihsm_client::proto::AesGcmParams {
                        iv: None,
                        aad: None,
                        tag_bits: None,
                    }),
                    key,
                    b"x",
                )
                .unwrap();
        }),
        ("EC P-521 pair", 200, 4 << 10, &|| {
            p521(&session).unwrap();
        }),
        ("RSA-4096 pair", 8, 64 << 10, &|| {
            session
                .generate_key_pair(KeyPairSpec::Rsa(RsaKeySize::Rsa4096), empty(), empty())
                .unwrap();
        }),
    ];
    for (kind, count, room, make) in cases {
        let before = held();
        for _ in 0..count {
            make();
        }
        let grown = held() - before;
        let each = grown.saturating_sub(FLOOR) / count;
        eprintln!("{kind}: {grown} bytes for {count}, {each} each beyond the floor, room {room}");
        assert!(
            each <= room,
            "{kind} takes {each} bytes, more than its room of {room}"
        );
    }
}

/// Each connection once cost a thread started and ended, and starting and ending threads
/// takes the process's memory-map lock that every thread's page faults wait on: partition
/// A opening and closing connections in a loop (a thousand threads a second) made B's new
/// connections wait 100 ms for their first answer, 0.7 s at worst. A connection's thread
/// is now kept for the next one: connections one after another are served by one thread.
#[test]
fn s29_connections_one_after_another_start_no_new_threads() {
    let daemon = start();
    provision(&daemon, &["a"]);
    let threads = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(format!("/proc/{}/task", daemon.pid()))
            .unwrap()
            .map(|task| task.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let one = || {
        let client = Client::connect(daemon.partition_socket("a")).unwrap();
        client.status().unwrap();
        let seen = threads();
        drop(client);
        // Its thread is back waiting for the next connection.
        std::thread::sleep(Duration::from_millis(50));
        seen
    };
    let first = one();
    let mut new = std::collections::BTreeSet::new();
    for _ in 0..30 {
        new.extend(one().difference(&first).cloned());
    }
    assert!(
        new.is_empty(),
        "30 connections one after another started threads {new:?}"
    );
}

/// A kept thread holds AWS-LC's random generator state, charged to the partition it was
/// made for: handed to another partition's connection, it served that partition from the
/// first's share (B's connections came and went, and A's next 120 connections cost A
/// nothing while B paid for them, for as long as A kept them). A thread now serves only its
/// own socket's connections.
#[test]
fn s29_a_kept_thread_serves_only_its_own_partition() {
    let daemon = start();
    provision(&daemon, &[]);
    for name in ["a", "b"] {
        let roomy = Quotas {
            max_connections: 150,
            ..quotas()
        };
        make_partition(&daemon, name, roomy);
    }
    let locked = |name: &str| {
        admin(&daemon)
            .list_partitions()
            .unwrap()
            .into_iter()
            .find(|p| p.name.as_str() == name)
            .unwrap()
            .locked_bytes
    };
    // Connections that only ask for the status: what they hold in locked memory is their
    // thread's random generator state.
    let open = |name: &str| -> Vec<Raw> {
        (0..120)
            .map(|_| {
                let mut raw = Raw::connect(&daemon, name);
                raw.send(None, GetStatusRequest {});
                assert!(raw.receive(Opcode::GetStatus).result.is_ok());
                raw
            })
            .collect()
    };
    drop(open("b"));
    std::thread::sleep(Duration::from_millis(300));
    let (a_before, b_before) = (locked("a"), locked("b"));
    let held = open("a");
    let (a_after, b_after) = (locked("a"), locked("b"));
    assert!(
        a_after > a_before,
        "A's 120 connections cost A nothing ({a_before} -> {a_after} bytes)"
    );
    assert_eq!(b_after, b_before, "B pays for A's connections");
    drop(held);
}

/// A flood of connections on partition A's socket once kept the one accept thread on it:
/// the admin's and B's connections waited 13 s. The listeners take turns now.
#[test]
fn s29_a_connection_flood_on_one_socket_holds_up_no_other() {
    let daemon = start();
    provision(&daemon, &["b"]);
    let tight = Quotas {
        max_connections: 4,
        ..quotas()
    };
    make_partition(&daemon, "a", tight);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..4)
        .map(|_| {
            let (stop, socket) = (stop.clone(), daemon.partition_socket("a"));
            std::thread::spawn(move || {
                let mut held = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(stream) = UnixStream::connect(&socket) {
                        if held.len() < 200 {
                            held.push(stream);
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut worst = Duration::ZERO;
    for round in 0..20 {
        for socket in [daemon.admin_socket(), daemon.partition_socket("b")] {
            let started = Instant::now();
            Client::connect(&socket)
                .and_then(|client| client.status())
                .unwrap_or_else(|e| panic!("round {round}: {}: {e}", socket.display()));
            worst = worst.max(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for flooder in flooders {
        flooder.join().unwrap();
    }
    assert!(
        worst < Duration::from_secs(1),
        "a connection to the admin or B took {worst:?} during A's flood"
    );
}
