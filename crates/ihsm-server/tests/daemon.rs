//! End to end: a real `ihsmd` on a temporary state directory, reached through the SDK over
//! its Unix sockets. Restarts, crashes (SIGKILL), garbage on the wire, concurrency, and the
//! store's rollback and corruption rules, as RELIABILITY.md names them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ihsm_client::proto::{
    Attribute, Curve, DeviceState, ErrorCause, Handle, KeyPairSpec, Limits, Mechanism, Opcode,
    Quotas, Request, Response, Template,
};
use ihsm_client::{Client, Error, Role, Session, Status, Transport, UnixTransport};
use ihsm_testkit::daemon::Daemon;
use zeroize::Zeroizing;

mod daemon {
    pub mod isolation;
    pub mod protocol;
    pub mod raw;
    pub mod state_dir;
}

const ADMIN_PIN: &[u8] = b"admin-pin-0001";
const OFFICER_PIN: &[u8] = b"officer-pin-0001";
const USER_PIN: &[u8] = b"user-pin-0001";

/// The daemon under test: `$IHSMD` if set (to run these tests against another build), else
/// this build's.
fn ihsmd() -> std::path::PathBuf {
    std::env::var_os("IHSMD").map_or_else(|| env!("CARGO_BIN_EXE_ihsmd").into(), Into::into)
}

fn start() -> Daemon {
    Daemon::start(&ihsmd())
}

fn quotas() -> Quotas {
    Quotas {
        max_objects: 10_000,
        max_sessions: 100,
        max_logins: 50,
        max_data_object_bytes: 1 << 20,
        max_connections: 64,
        max_locked_bytes: 1 << 20,
    }
}

fn text(s: &str) -> ihsm_client::proto::Text<256> {
    ihsm_client::proto::Text::new(s).unwrap()
}

fn template(attributes: Vec<Attribute>) -> Template {
    Template::new(attributes).unwrap()
}

/// An initialised module with partitions `names` (the test quotas), each initialized by its
/// owner and its user's PIN set by its officer.
fn provision(daemon: &Daemon, names: &[&str]) {
    Client::connect(daemon.admin_socket())
        .unwrap()
        .initialize_admin(ADMIN_PIN)
        .unwrap();
    for name in names {
        make_partition(daemon, name, quotas());
    }
}

/// An admin session.
fn admin(daemon: &Daemon) -> Session {
    Client::connect(daemon.admin_socket())
        .unwrap()
        .login(Role::Admin, ADMIN_PIN)
        .unwrap()
        .open_session()
        .unwrap()
}

/// Makes partition `name` with `quotas` (admin), initializes it as its owner, and has its
/// officer set the user's PIN.
fn make_partition(daemon: &Daemon, name: &str, quotas: Quotas) {
    admin(daemon).create_partition(name, quotas).unwrap();
    own_partition(daemon, name);
}

/// Initializes the new (or reset) partition `name` as its owner, and has its officer set
/// the user's PIN.
fn own_partition(daemon: &Daemon, name: &str) {
    let owner = Client::connect(daemon.partition_socket(name)).unwrap();
    let backup = owner.initialize_partition(OFFICER_PIN, None).unwrap();
    assert_eq!(backup.map(|b| b.len()), Some(32));
    owner
        .login(Role::CryptoOfficer, OFFICER_PIN)
        .unwrap()
        .open_session()
        .unwrap()
        .set_pin(Role::CryptoUser, USER_PIN)
        .unwrap();
}

fn user_session(daemon: &Daemon, name: &str) -> Session {
    Client::connect(daemon.partition_socket(name))
        .unwrap()
        .login(Role::CryptoUser, USER_PIN)
        .unwrap()
        .open_session()
        .unwrap()
}

fn ec_pair(session: &Session, label: &str, token: bool) -> (Handle, Handle) {
    session
        .generate_key_pair(
            KeyPairSpec::Ec(Curve::P256),
            template(vec![Attribute::Token(token), Attribute::Label(text(label))]),
            template(vec![Attribute::Token(token), Attribute::Label(text(label))]),
        )
        .unwrap()
        .value
}

/// Signs `message` with `private` (ECDSA P-256, SHA-256) and verifies it with `public`.
fn sign_and_verify(session: &Session, public: Handle, private: Handle, message: &[u8]) {
    let signature = session
        .sign(Mechanism::EcdsaSha256, private, message)
        .unwrap()
        .value;
    session
        .verify(Mechanism::EcdsaSha256, public, message, &signature)
        .unwrap();
}

fn find_label(session: &Session, label: &str) -> Vec<Handle> {
    session
        .find_objects(template(vec![Attribute::Label(text(label))]))
        .unwrap()
}

#[test]
fn the_module_serves_its_partitions_and_keeps_them_across_a_restart() {
    let mut daemon = start();
    let status = Client::connect(daemon.admin_socket())
        .unwrap()
        .status()
        .unwrap();
    assert_eq!(status.state, DeviceState::Operational);
    assert_eq!(status.mode, ihsm_client::proto::DeviceMode::Development);
    assert!(!status.initialized);
    assert!(status.self_tests.iter().all(|t| t.passed));
    provision(&daemon, &["web"]);
    assert!(daemon.partition_socket("web").exists());

    let session = user_session(&daemon, "web");
    let (public, private) = ec_pair(&session, "signing", true);
    let signed = session
        .sign(Mechanism::EcdsaSha256, private, b"hello")
        .unwrap();
    assert!(signed.approved, "ECDSA P-256 with SHA-256 is approved");
    session
        .verify(Mechanism::EcdsaSha256, public, b"hello", &signed.value)
        .unwrap();
    let blob = session.mask_key(private).unwrap();
    // Two wrong user PINs before the restart: the failure counter must survive it.
    let other = Client::connect(daemon.partition_socket("web")).unwrap();
    for _ in 0..2 {
        assert_eq!(
            other
                .login(Role::CryptoUser, b"wrong-pin-000")
                .unwrap_err()
                .status(),
            Some(Status::PinIncorrect)
        );
    }
    drop((session, other));

    assert_eq!(daemon.stop(), Some(0), "SIGTERM ends the daemon with 0");
    assert!(
        !daemon.admin_socket().exists(),
        "sockets are removed at exit"
    );
    daemon.restart();

    // Three more wrong PINs lock the user: 2 before the restart + 3 = 5, so the sixth try is
    // refused as locked; the officer unlocks.
    let other = Client::connect(daemon.partition_socket("web")).unwrap();
    let outcomes: Vec<_> = (0..4)
        .map(|_| {
            other
                .login(Role::CryptoUser, b"wrong-pin-000")
                .unwrap_err()
                .status()
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            Some(Status::PinIncorrect),
            Some(Status::PinIncorrect),
            Some(Status::PinIncorrect),
            Some(Status::PinLocked)
        ]
    );
    assert_eq!(
        other
            .login(Role::CryptoUser, USER_PIN)
            .unwrap_err()
            .status(),
        Some(Status::PinLocked),
        "the right PIN is refused while locked"
    );
    Client::connect(daemon.partition_socket("web"))
        .unwrap()
        .login(Role::CryptoOfficer, OFFICER_PIN)
        .unwrap()
        .open_session()
        .unwrap()
        .unlock_role(Role::CryptoUser)
        .unwrap();

    let session = user_session(&daemon, "web");
    let found = find_label(&session, "signing");
    assert_eq!(found.len(), 2, "both halves of the token key pair survive");
    let private = *found
        .iter()
        .find(|h| session.sign(Mechanism::EcdsaSha256, **h, b"again").is_ok())
        .expect("the private key signs after the restart");
    let restored = session.unmask_key(&blob).unwrap();
    let public = *found.iter().find(|h| **h != private).unwrap();
    let signature = session
        .sign(Mechanism::EcdsaSha256, restored, b"blob")
        .unwrap()
        .value;
    session
        .verify(Mechanism::EcdsaSha256, public, b"blob", &signature)
        .expect("the blob restores the same key");
    let admin = Client::connect(daemon.admin_socket()).unwrap();
    let admin = admin
        .login(Role::Admin, ADMIN_PIN)
        .unwrap()
        .open_session()
        .unwrap();
    let partitions = admin.list_partitions().unwrap();
    assert_eq!(partitions.len(), 1);
    assert_eq!(partitions[0].name.as_str(), "web");
}

#[test]
fn a_destroyed_key_stays_destroyed_across_a_restart() {
    let mut daemon = start();
    provision(&daemon, &["p"]);
    let session = user_session(&daemon, "p");
    let (_, private) = ec_pair(&session, "doomed", true);
    let blob = session.mask_key(private).unwrap();
    session.destroy_object(private).unwrap();
    drop(session);
    daemon.stop();
    daemon.restart();
    let session = user_session(&daemon, "p");
    assert_eq!(
        find_label(&session, "doomed").len(),
        1,
        "only the public half is left"
    );
    assert_eq!(
        session.unmask_key(&blob).unwrap_err().status(),
        Some(Status::BlobInvalid),
        "the tombstone outlives the restart"
    );
}

/// S1: SIGKILL while keys are being created; every key acknowledged before the kill is
/// there and usable after the restart, and the store opens without repair.
#[test]
fn s1_sigkill_during_key_creation_loses_no_acknowledged_key() {
    let rounds: usize = std::env::var("IHSM_S1_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut daemon = start();
    provision(&daemon, &[]);
    // Room for many thousands of keys in locked memory (the arena is 8 MiB here).
    let roomy = Quotas {
        max_locked_bytes: 6 << 20,
        ..quotas()
    };
    make_partition(&daemon, "s1", roomy);
    let mut acked: Vec<String> = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut last_counter = counter_value(&daemon);
    for round in 0..rounds {
        let session = user_session(&daemon, "s1");
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Mutex::new(Vec::new()));
        // Two writers on one connection, so kills also land inside group commits.
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (stop, done, session) = (stop.clone(), done.clone(), session.clone());
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Acquire) {
                        let label = format!("r{round}w{w}k{i}");
                        let made = session.generate_key(
                            ihsm_client::proto::KeySpec::Aes(
                                ihsm_client::proto::AesKeySize::Aes256,
                            ),
                            template(vec![Attribute::Token(true), Attribute::Label(text(&label))]),
                        );
                        match made {
                            Ok(_) => done.lock().unwrap().push(label),
                            Err(_) => return,
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 150));
        daemon.kill();
        stop.store(true, Ordering::Release);
        for writer in writers {
            writer.join().unwrap();
        }
        acked.extend(done.lock().unwrap().drain(..));
        let before = counter_value(&daemon);
        daemon.restart();
        let status = Client::connect(daemon.admin_socket())
            .unwrap()
            .status()
            .unwrap();
        assert_eq!(
            status.state,
            DeviceState::Operational,
            "round {round}: {status:?}"
        );
        // S26: the monotonic counter never goes down across a crash and a restart, and it
        // moves on with the commits.
        let after = counter_value(&daemon);
        assert!(
            after >= before,
            "round {round}: counter {before} -> {after}"
        );
        assert!(
            after >= last_counter,
            "round {round}: counter {last_counter} -> {after}"
        );
        last_counter = after;
    }
    let session = user_session(&daemon, "s1");
    let all = session.find_objects(template(vec![])).unwrap();
    assert!(
        all.len() >= acked.len(),
        "{} objects, {} acknowledged",
        all.len(),
        acked.len()
    );
    for label in &acked {
        let found = find_label(&session, label);
        assert_eq!(found.len(), 1, "acknowledged key {label} is missing");
        // AES-CBC: usable proves the key sound without making each key's GCM contexts,
        // which thousands of keys would not fit in the partition's locked memory.
        let cbc = Mechanism::AesCbcPad(ihsm_client::proto::AesCbcParams { iv: [7; 16] });
        session.encrypt(cbc, found[0], b"usable").unwrap();
    }
    eprintln!(
        "S1: {rounds} kills, {} acknowledged keys all present and usable; counter at {last_counter}",
        acked.len()
    );
    assert!(!acked.is_empty());
    assert!(last_counter > 0, "the counter moved with the commits");
}

/// The value of the store's monotonic counter: the higher of its two slots (the MACs are the
/// store's business; a slot's value is bytes 8..16).
fn counter_value(daemon: &Daemon) -> u64 {
    let bytes = std::fs::read(daemon.state_dir().join("store.counter")).unwrap();
    bytes
        .chunks(64)
        .filter(|slot| slot.starts_with(b"IHSMCTR1"))
        .map(|slot| u64::from_be_bytes(slot[8..16].try_into().unwrap()))
        .max()
        .unwrap_or(0)
}

/// S4 through the daemon: an older copy of the store put back is refused at start; the
/// module reports the rollback and serves nothing but its status.
#[test]
fn s4_an_older_store_is_refused_and_reported() {
    let mut daemon = start();
    provision(&daemon, &["p"]);
    daemon.stop();
    let store = daemon.state_dir().join("store.redb");
    let copy = std::fs::read(&store).unwrap();
    daemon.restart();
    let session = user_session(&daemon, "p");
    ec_pair(&session, "later", true);
    drop(session);
    daemon.stop();
    std::fs::write(&store, &copy).unwrap();
    daemon.restart();
    let client = Client::connect(daemon.admin_socket()).unwrap();
    let status = client.status().unwrap();
    assert_eq!(status.state, DeviceState::Error);
    assert_eq!(status.error, Some(ErrorCause::Rollback));
    assert_eq!(
        client.login(Role::Admin, ADMIN_PIN).unwrap_err().status(),
        Some(Status::ErrorState)
    );
    let log = daemon.drain_log().join("\n");
    assert!(log.contains("older copy"), "{log}");
}

/// S3 through the daemon: a damaged store is refused with a clear status, never used.
#[test]
fn s3_a_damaged_store_is_reported_not_used() {
    let mut daemon = start();
    provision(&daemon, &["p"]);
    daemon.stop();
    let store = daemon.state_dir().join("store.redb");
    // One bit of one sealed record flipped, written back through redb so that redb's own
    // checksums are right and only the seal can tell.
    {
        use redb::{ReadableDatabase, ReadableTable};
        let records: redb::TableDefinition<'_, &[u8], &[u8]> =
            redb::TableDefinition::new("records");
        let db = redb::Database::open(&store).unwrap();
        let (key, mut value) = {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(records).unwrap();
            let (key, value) = table.iter().unwrap().next().unwrap().unwrap();
            (key.value().to_vec(), value.value().to_vec())
        };
        let last = value.len() - 1;
        value[last] ^= 0x01;
        let txn = db.begin_write().unwrap();
        txn.open_table(records)
            .unwrap()
            .insert(key.as_slice(), value.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    daemon.restart();
    let status = Client::connect(daemon.admin_socket())
        .unwrap()
        .status()
        .unwrap();
    assert_eq!(status.state, DeviceState::Error);
    assert_eq!(status.error, Some(ErrorCause::Integrity), "{status:?}");
}

/// S6: garbage and oversized frames get an error and a closed connection, and the daemon
/// keeps serving everyone else.
#[test]
fn s6_garbage_and_oversized_frames_do_not_disturb_other_clients() {
    let daemon = start();
    provision(&daemon, &["p"]);
    let session = user_session(&daemon, "p");
    let (_, private) = ec_pair(&session, "k", false);

    // A 1 GiB prefix: refused before any allocation, connection closed.
    let mut raw = UnixStream::connect(daemon.partition_socket("p")).unwrap();
    raw.write_all(&(1u32 << 30).to_be_bytes()).unwrap();
    let mut reply = Vec::new();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.read_to_end(&mut reply).unwrap();
    let body = &reply[4..];
    let response = Response::decode(body, Opcode::GetStatus).unwrap();
    assert_eq!(
        response.result.unwrap_err(),
        ihsm_client::proto::ErrorStatus::Known(Status::FrameTooLarge)
    );

    // Random garbage frames of many sizes, on many connections.
    let mut seed = 7u64;
    for round in 0..200 {
        let mut raw = UnixStream::connect(daemon.partition_socket("p")).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (seed >> 33) as usize % 300;
        let body: Vec<u8> = (0..len)
            .map(|i| (seed.rotate_left(i as u32 % 64) >> 7) as u8)
            .collect();
        raw.write_all(&(len as u32).to_be_bytes()).unwrap();
        raw.write_all(&body).unwrap();
        let mut prefix = [0u8; 4];
        raw.read_exact(&mut prefix)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let mut answer = vec![0; u32::from_be_bytes(prefix) as usize];
        raw.read_exact(&mut answer).unwrap();
        assert!(
            Response::peek_request_id(&answer).is_ok(),
            "round {round}: a well-formed response"
        );
        // Meanwhile the good client is served.
        if round % 20 == 0 {
            session
                .sign(Mechanism::EcdsaSha256, private, b"still here")
                .unwrap();
        }
    }
    // A client that sends half a frame and stalls does not hold anyone up either.
    let mut stalled = UnixStream::connect(daemon.partition_socket("p")).unwrap();
    stalled.write_all(&100u32.to_be_bytes()).unwrap();
    stalled.write_all(&[0x82]).unwrap();
    session
        .sign(Mechanism::EcdsaSha256, private, b"still here")
        .unwrap();
}

/// A recording transport: every byte the client sends and receives.
struct Recording {
    inner: UnixTransport,
    sent: Arc<Mutex<Vec<u8>>>,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Transport for Recording {
    fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        self.sent.lock().unwrap().extend_from_slice(frame);
        self.inner.send(frame)
    }
    fn receive(&self, limits: &Limits) -> std::io::Result<Zeroizing<Vec<u8>>> {
        let body = self.inner.receive(limits)?;
        self.received.lock().unwrap().extend_from_slice(&body);
        Ok(body)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// S13: the bytes on the socket during PIN setting and login carry no PIN (raw, hex or
/// base64), and a replayed login frame is refused.
#[test]
fn s13_no_pin_crosses_the_socket_and_a_replayed_login_fails() {
    let daemon = start();
    provision(&daemon, &[]);
    admin(&daemon).create_partition("p", quotas()).unwrap();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let received = Arc::new(Mutex::new(Vec::new()));
    let client = Client::over(Recording {
        inner: UnixTransport::connect(&daemon.partition_socket("p")).unwrap(),
        sent: sent.clone(),
        received: received.clone(),
    });
    // The owner's first step crosses the socket too: the officer PIN and the backup secret.
    let backup = client
        .initialize_partition(OFFICER_PIN, None)
        .unwrap()
        .unwrap();
    let officer = client
        .login(Role::CryptoOfficer, OFFICER_PIN)
        .unwrap()
        .open_session()
        .unwrap();
    officer
        .set_pin(Role::CryptoUser, b"second-user-pin")
        .unwrap();
    let user = client.login(Role::CryptoUser, b"second-user-pin").unwrap();
    user.open_session().unwrap();
    let sent = sent.lock().unwrap().clone();
    let received = received.lock().unwrap().clone();
    for pin in [OFFICER_PIN, b"second-user-pin".as_slice(), &backup[..]] {
        let hex: String = pin.iter().map(|b| format!("{b:02x}")).collect();
        let b64 = base64_of(pin);
        for bytes in [&sent, &received] {
            assert!(!contains(bytes, pin));
            assert!(!contains(bytes, hex.as_bytes()));
            assert!(!contains(bytes, b64.as_bytes()));
        }
    }
    // Replay: the login request frames captured above, sent again on a new connection.
    let frames = split_frames(&sent);
    let login_frames: Vec<_> = frames
        .iter()
        .filter(|f| matches!(Request::decode(&f[4..]), Ok(r) if r.opcode() == Opcode::Login))
        .collect();
    assert_eq!(login_frames.len(), 2);
    for frame in login_frames {
        let mut raw = UnixStream::connect(daemon.partition_socket("p")).unwrap();
        raw.write_all(frame).unwrap();
        let mut prefix = [0u8; 4];
        raw.read_exact(&mut prefix).unwrap();
        let mut answer = vec![0; u32::from_be_bytes(prefix) as usize];
        raw.read_exact(&mut answer).unwrap();
        let response = Response::decode(&answer, Opcode::Login).unwrap();
        assert_eq!(
            response.result.unwrap_err(),
            ihsm_client::proto::ErrorStatus::Known(Status::NonceStale)
        );
    }
}

fn split_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        frames.push(rest[..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    frames
}

fn base64_of(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// S25: 16 clients on 4 partitions at once, each with its own keys; nothing crosses over.
#[test]
fn s25_sixteen_clients_on_four_partitions() {
    let daemon = start();
    let names = ["a", "b", "c", "d"];
    provision(&daemon, &names);
    let daemon = Arc::new(daemon);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let daemon = daemon.clone();
            std::thread::spawn(move || {
                let name = names[i % 4];
                let session = user_session(&daemon, name);
                let label = format!("client{i}");
                let (public, private) = ec_pair(&session, &label, i % 2 == 0);
                for round in 0..20 {
                    let message = format!("{label} round {round}");
                    sign_and_verify(&session, public, private, message.as_bytes());
                    let random = session.random(16).unwrap().value;
                    assert_eq!(random.len(), 16);
                }
                (name, label)
            })
        })
        .collect();
    let made: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for name in names {
        let session = user_session(&daemon, name);
        for (i, (owner, label)) in made.iter().enumerate() {
            // Token keys (even clients) stay in their own partition; session keys went with
            // their sessions.
            let expected = if *owner == name && i % 2 == 0 { 2 } else { 0 };
            assert_eq!(
                find_label(&session, label).len(),
                expected,
                "{label} in {name}"
            );
        }
    }
}

/// One connection, many threads: the SDK's calls interleave on the socket and each gets its
/// own response; slow requests (key generation) run beside fast ones.
#[test]
fn one_connection_serves_many_threads_at_once() {
    let daemon = start();
    provision(&daemon, &["p"]);
    let session = user_session(&daemon, "p");
    let (public, private) = ec_pair(&session, "shared", false);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let session = session.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    if t == 0 && i % 5 == 0 {
                        ec_pair(&session, &format!("t{t}i{i}"), false);
                    }
                    let message = format!("{t}/{i}");
                    sign_and_verify(&session, public, private, message.as_bytes());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn only_unauthenticated_idle_connections_time_out() {
    let daemon = Daemon::start_with(
        Path::new(env!("CARGO_BIN_EXE_ihsmd")),
        &["--idle-timeout", "1"],
    );
    provision(&daemon, &["p"]);
    let idle = Client::connect(daemon.partition_socket("p")).unwrap();
    idle.status().unwrap();
    let session = user_session(&daemon, "p");
    // One that keeps sending frames but never logs in is closed all the same.
    let chatty = Client::connect(daemon.partition_socket("p")).unwrap();
    let started = Instant::now();
    let mut chatty_closed = false;
    while started.elapsed() < Duration::from_secs(5) {
        if chatty.status().is_err() {
            chatty_closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        chatty_closed,
        "a chatty connection without a login is closed"
    );
    assert!(
        matches!(idle.status(), Err(Error::Io(_))),
        "the idle unauthenticated one is closed"
    );
    session.random(16).expect("the logged-in connection stays");
}

/// Runs another `ihsmd` on `daemon`'s state directory, expects it to refuse to start, and
/// returns what it said.
fn refused_start(daemon: &Daemon) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ihsmd"))
        .arg("--state-dir")
        .arg(daemon.state_dir())
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_second_daemon_on_the_same_state_refuses_to_start() {
    let daemon = start();
    let stderr = refused_start(&daemon);
    assert!(stderr.contains("another ihsmd"), "{stderr}");
    // The first still serves.
    Client::connect(daemon.admin_socket())
        .unwrap()
        .status()
        .unwrap();
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut daemon = start();
    provision(&daemon, &["p"]);
    let session = user_session(&daemon, "p");
    let started = Instant::now();
    let worker = {
        let session = session.clone();
        std::thread::spawn(move || {
            let mut answered = 0;
            loop {
                match session.generate_key_pair(
                    KeyPairSpec::Rsa(ihsm_client::proto::RsaKeySize::Rsa2048),
                    template(vec![Attribute::Token(true)]),
                    template(vec![Attribute::Token(true)]),
                ) {
                    Ok(_) => answered += 1,
                    Err(Error::Status(Status::ShuttingDown)) | Err(Error::Io(_)) => {
                        return answered
                    }
                    Err(other) => panic!("{other}"),
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(daemon.stop(), Some(0));
    let answered = worker.join().unwrap();
    eprintln!(
        "{answered} RSA key pairs answered before the stop ({:?})",
        started.elapsed()
    );
    daemon.restart();
    let session = user_session(&daemon, "p");
    let keys = session.find_objects(template(vec![])).unwrap().len();
    assert!(
        keys >= 2 * answered,
        "{keys} objects for {answered} answered key pairs"
    );
}

/// The hardening, checked with the daemon run by an unprivileged user (as root these checks
/// would pass vacuously): no core dumps, and not dumpable, so even a process of the same
/// user cannot read its memory through /proc.
#[test]
fn hardening_holds_for_an_unprivileged_user() {
    let root = rustix::process::geteuid().is_root();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let binary = dir.path().join("ihsmd");
    std::fs::copy(env!("CARGO_BIN_EXE_ihsmd"), &binary).unwrap();
    let as_user = |program: &Path| {
        let mut command = if root {
            // Root: run as `nobody` in a directory it owns.
            let mut command = std::process::Command::new("setpriv");
            command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
            command.arg(program);
            command
        } else {
            std::process::Command::new(program)
        };
        command.stdin(std::process::Stdio::null());
        command
    };
    if root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(&state).unwrap();
        rustix::fs::chown(
            &state,
            Some(rustix::process::Uid::from_raw(65534)),
            Some(rustix::process::Gid::from_raw(65534)),
        )
        .unwrap();
    }
    let mut child = as_user(&binary)
        .arg("--state-dir")
        .arg(&state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert!(ready.contains("ready"), "{ready}");
    let pid = child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_string();
    if root {
        assert!(uid_line.contains("65534"), "runs unprivileged: {uid_line}");
    }
    // The locked arena: some memory locked, without mlockall (which the default limit of an
    // ordinary user would refuse).
    let locked_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmLck:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(locked_kib >= 1024, "the arena is locked: {locked_kib} KiB");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().filter(|w| *w == "0").count(),
        2,
        "{core}"
    );
    // Same user, other process: reading the daemon's memory or environment is refused.
    for file in ["mem", "environ"] {
        let output = as_user(Path::new("cat"))
            .arg(format!("/proc/{pid}/{file}"))
            .output()
            .unwrap();
        assert!(!output.status.success(), "/proc/{pid}/{file} was readable");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("Permission denied"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // And it serves: the admin socket is there, the owner's alone.
    let socket = state.join("admin.sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(
        mode & 0o077,
        0,
        "the admin socket is its owner's alone: {mode:o}"
    );
    ihsm_testkit::daemon::terminate(pid);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn missing_fuses_beside_a_store_are_refused_not_replaced() {
    let mut daemon = start();
    provision(&daemon, &["admin"]);
    // A partition may be called `admin`: it gets its own socket beside the admin socket.
    assert!(daemon.partition_socket("admin").exists());
    user_session(&daemon, "admin").random(16).unwrap();
    daemon.stop();
    let fuses = daemon.state_dir().join("fuses");
    let saved = std::fs::read(&fuses).unwrap();
    std::fs::remove_file(&fuses).unwrap();
    let stderr = refused_start(&daemon);
    assert!(stderr.contains("fuses is missing"), "{stderr}");
    assert!(!fuses.exists(), "no new device secret was made");
    std::fs::write(&fuses, saved).unwrap();
    // Restored as it was: the device secret is the daemon's alone to read.
    std::fs::set_permissions(
        &fuses,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )
    .unwrap();
    daemon.restart();
    user_session(&daemon, "admin").random(16).unwrap();
}

/// A transport two owners share: the SDK's client and a test that writes frames on its own.
struct Shared(Arc<UnixTransport>);

impl Transport for Shared {
    fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        self.0.send(frame)
    }
    fn receive(&self, limits: &Limits) -> std::io::Result<Zeroizing<Vec<u8>>> {
        self.0.receive(limits)
    }
}

/// A client that floods slow requests and never reads its answers: its connection is closed
/// after the send timeout, and another client's slow requests are still served meanwhile.
#[test]
fn a_client_that_stops_reading_is_cut_off_and_others_are_served() {
    let daemon = Daemon::start_with(
        Path::new(env!("CARGO_BIN_EXE_ihsmd")),
        &["--send-timeout", "1"],
    );
    provision(&daemon, &["p"]);
    let raw = Arc::new(UnixTransport::connect(&daemon.partition_socket("p")).unwrap());
    let hostile = Client::over(Shared(raw.clone()))
        .login(Role::CryptoUser, USER_PIN)
        .unwrap()
        .open_session()
        .unwrap();
    let flood = {
        let (raw, session) = (raw.clone(), hostile.id());
        std::thread::spawn(move || {
            let mut sent = 0u64;
            for id in 1_000..21_000u64 {
                let request = Request {
                    request_id: ihsm_client::proto::RequestId::new(id).unwrap(),
                    session: Some(session),
                    body: ihsm_client::proto::msgs::GetImportKeyRequest {
                        kind: ihsm_client::proto::ImportKeyKind::EcdhP384,
                    }
                    .into(),
                };
                let frame = request.encode_frame(&Limits::default()).unwrap();
                if raw.send(&frame).is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        })
    };
    // Meanwhile: logins (PIN hashing, on the same pool) keep succeeding.
    let started = Instant::now();
    for _ in 0..3 {
        user_session(&daemon, "p").random(16).unwrap();
    }
    let sent = flood.join().unwrap();
    assert!(
        sent < 20_000,
        "the flooding connection was closed after {sent} frames"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    user_session(&daemon, "p").random(16).unwrap();
}

/// SIGINT stops the daemon as SIGTERM does: exit 0, sockets gone.
#[test]
fn sigint_stops_cleanly() {
    let mut daemon = start();
    let pid = rustix::process::Pid::from_raw(i32::try_from(daemon.pid()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.admin_socket().exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!daemon.admin_socket().exists());
    assert_eq!(daemon.stop(), Some(0));
}
