//! Every `ihsm` command against a real `ihsmd` on a temporary state directory, with the
//! failure paths and their one-line messages. PINs reach the CLI through the environment
//! and `--pin-file`, as a user's would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ihsm_testkit::daemon::{ihsmd_path, Daemon};

const ADMIN_PIN: &str = "admin-pin-0001";
const SO_PIN: &str = "officer-pin-0001";
const USER_PIN: &str = "user-pin-0001";

#[derive(Clone)]
struct Cli<'a> {
    daemon: &'a Daemon,
    env: Vec<(&'static str, String)>,
}

impl<'a> Cli<'a> {
    fn new(daemon: &'a Daemon) -> Self {
        Self {
            daemon,
            env: vec![
                ("IHSM_ADMIN_PIN", ADMIN_PIN.into()),
                ("IHSM_SO_PIN", SO_PIN.into()),
                ("IHSM_PIN", USER_PIN.into()),
            ],
        }
    }

    fn with(&self, key: &'static str, value: &str) -> Self {
        let mut cli = self.without(key);
        cli.env.push((key, value.into()));
        cli
    }

    fn without(&self, key: &'static str) -> Self {
        let mut cli = self.clone();
        cli.env.retain(|(k, _)| *k != key);
        cli
    }

    /// Runs `ihsm ARGS` with no controlling terminal (so a missing PIN cannot prompt).
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new("setsid");
        command
            .arg(env!("CARGO_BIN_EXE_ihsm"))
            .arg("--state-dir")
            .arg(self.daemon.state_dir())
            .args(args)
            .env_remove("IHSM_ADMIN_PIN")
            .env_remove("IHSM_SO_PIN")
            .env_remove("IHSM_PIN")
            .env_remove("IHSM_NEW_PIN")
            .env_remove("IHSM_PARTITION")
            // The module's pinned attestation keys, beside its state (never the user's file).
            .env("IHSM_PINS", self.daemon.state_dir().with_extension("pins"))
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    /// Runs and expects success; returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "ihsm {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs and expects failure with one line on standard error containing `message`.
    fn fails(&self, args: &[&str], message: &str) {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "ihsm {args:?} succeeded");
        assert!(
            stderr.contains(message),
            "ihsm {args:?}: expected {message:?} in {stderr:?}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
        assert!(stderr.starts_with("ihsm: "), "{stderr:?}");
    }
}

fn start() -> Daemon {
    let binary = ihsmd_path();
    assert!(
        binary.exists(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins)",
        binary.display()
    );
    Daemon::start(&binary)
}

fn file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The walkthrough of the README, command by command, then every other command.
#[test]
fn every_command_works_end_to_end() {
    let daemon = start();
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(&daemon);

    let status = cli.ok(&["status"]);
    assert!(status.contains("Development"), "{status}");
    assert!(status.contains("Operational"), "{status}");
    assert!(status.contains("not set"), "{status}");
    assert!(
        status.contains("locked mem:") && status.contains(", 0 refused"),
        "the locked memory is reported: {status}"
    );
    cli.ok(&["admin", "init"]);
    let created = cli.ok(&["partition", "create", "web"]);
    assert!(created.contains("web.sock"), "{created}");
    let info = cli.ok(&["partition", "info", "--partition", "web"]);
    assert!(info.contains("initialized: no"), "{info}");
    let backup = tmp.path().join("web.backup");
    cli.ok(&[
        "partition",
        "init",
        "--partition",
        "web",
        "--backup-out",
        s(&backup),
    ]);
    assert_eq!(std::fs::read(&backup).unwrap().len(), 32);
    let listed = cli.ok(&["partition", "list"]);
    assert!(listed.contains("web"), "{listed}");
    cli.with("IHSM_NEW_PIN", USER_PIN)
        .ok(&["pin", "set", "--partition", "web"]);

    let user = cli.with("IHSM_PARTITION", "web");
    user.ok(&["key", "generate", "--type", "ec-p256", "--label", "signer"]);
    user.ok(&["key", "generate", "--type", "aes-256", "--label", "data"]);
    user.ok(&["key", "generate", "--type", "rsa-2048", "--label", "rsa"]);
    user.ok(&["key", "generate", "--type", "hmac", "--label", "mac"]);
    let keys: serde_json::Value =
        serde_json::from_str(&user.ok(&["key", "list", "--json"])).unwrap();
    let labels: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["data", "mac", "rsa", "rsa", "signer", "signer"]);

    let message = file(tmp.path(), "message.txt", b"hello, module\n");
    let signature = tmp.path().join("message.sig");
    user.ok(&[
        "sign",
        "--key",
        "signer",
        "--in",
        s(&message),
        "--out",
        s(&signature),
    ]);
    assert!(user
        .ok(&[
            "verify",
            "--key",
            "signer",
            "--in",
            s(&message),
            "--signature",
            s(&signature)
        ])
        .contains("verified"));
    // The signature checks out under OpenSSL too, with the public key from `key show`.
    let shown: serde_json::Value =
        serde_json::from_str(&user.ok(&["key", "show", "signer", "--json"])).unwrap();
    let point = shown["objects"][0]["EcPoint"].as_str().unwrap().to_string();
    openssl_verify(tmp.path(), &point, &message, &signature);
    let forged = file(tmp.path(), "forged.txt", b"hello, modulE\n");
    user.fails(
        &[
            "verify",
            "--key",
            "signer",
            "--in",
            s(&forged),
            "--signature",
            s(&signature),
        ],
        "does not verify",
    );
    for key in ["rsa", "mac"] {
        let sig = tmp.path().join(format!("{key}.sig"));
        user.ok(&[
            "sign",
            "--key",
            key,
            "--in",
            s(&message),
            "--out",
            s(&sig),
            "--hash",
            "sha384",
        ]);
        user.ok(&[
            "verify",
            "--key",
            key,
            "--in",
            s(&message),
            "--signature",
            s(&sig),
            "--hash",
            "sha384",
        ]);
    }

    for key in ["data", "rsa"] {
        let sealed = tmp.path().join(format!("message.{key}.enc"));
        let opened = tmp.path().join(format!("message.{key}.dec"));
        user.ok(&[
            "encrypt",
            "--key",
            key,
            "--in",
            s(&message),
            "--out",
            s(&sealed),
        ]);
        assert_ne!(
            std::fs::read(&sealed).unwrap(),
            std::fs::read(&message).unwrap()
        );
        user.ok(&[
            "decrypt",
            "--key",
            key,
            "--in",
            s(&sealed),
            "--out",
            s(&opened),
        ]);
        assert_eq!(
            std::fs::read(&opened).unwrap(),
            std::fs::read(&message).unwrap()
        );
    }
    let sealed = tmp.path().join("message.data.enc");
    let mut damaged = std::fs::read(&sealed).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let damaged = file(tmp.path(), "damaged.enc", &damaged);
    user.fails(
        &[
            "decrypt",
            "--key",
            "data",
            "--in",
            s(&damaged),
            "--out",
            s(&tmp.path().join("x")),
        ],
        "does not authenticate",
    );

    let random = user.ok(&["random", "--bytes", "16"]);
    assert_eq!(random.trim().len(), 32, "{random}");
    let random_file = tmp.path().join("random.bin");
    user.ok(&["random", "--bytes", "1000", "--out", s(&random_file)]);
    assert_eq!(std::fs::read(&random_file).unwrap().len(), 1000);

    let blob = tmp.path().join("signer.blob");
    user.ok(&["key", "export-masked", "signer", "--out", s(&blob)]);
    let restored = user.ok(&["key", "import-masked", "--in", s(&blob)]);
    assert!(restored.contains("signer"), "{restored}");
    user.ok(&["key", "delete", "signer"]);
    user.fails(&["key", "import-masked", "--in", s(&blob)], "BlobInvalid");
    user.fails(&["key", "show", "signer"], "no key labelled \"signer\"");

    // Wrapped import: an AES key and an EC private key made outside.
    let aes = file(tmp.path(), "aes.key", &[0x42; 32]);
    user.ok(&[
        "key",
        "import",
        "--type",
        "aes",
        "--in",
        s(&aes),
        "--label",
        "imported-aes",
    ]);
    let sec1 = tmp.path().join("ec.sec1");
    let ec = tmp.path().join("ec.p8");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-outform",
            "DER",
            "-out",
        ])
        .arg(&sec1)
        .status()
        .unwrap();
    assert!(made.success());
    // A SEC1 key file is not PKCS#8: refused with the reason.
    user.fails(
        &[
            "key",
            "import",
            "--type",
            "ec",
            "--in",
            s(&sec1),
            "--label",
            "x",
        ],
        "PKCS#8",
    );
    let converted = Command::new("openssl")
        .args([
            "pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-outform", "DER", "-in",
        ])
        .arg(&sec1)
        .arg("-out")
        .arg(&ec)
        .status()
        .unwrap();
    assert!(converted.success());
    user.ok(&[
        "key",
        "import",
        "--type",
        "ec",
        "--in",
        s(&ec),
        "--label",
        "imported-ec",
    ]);
    let sig = tmp.path().join("imported.sig");
    user.ok(&[
        "sign",
        "--key",
        "imported-ec",
        "--in",
        s(&message),
        "--out",
        s(&sig),
    ]);

    assert!(cli.ok(&["selftest"]).contains("passed"));
    let status: serde_json::Value = serde_json::from_str(&cli.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["state"], "Operational");
    assert_eq!(status["fips_mode"], true);
    assert_eq!(status["test_hooks"], false);
    assert_eq!(status["initialized"], true);

    // PINs: change, lock by wrong PINs, unlock; a lost officer means a reset by the admin,
    // which destroys the partition's keys.
    user.with("IHSM_NEW_PIN", "user-pin-0002")
        .ok(&["pin", "change"]);
    let user = user.with("IHSM_PIN", "user-pin-0002");
    user.ok(&["random"]);
    let wrong = user.with("IHSM_PIN", "not-the-pin-1");
    for _ in 0..5 {
        wrong.fails(&["random"], "wrong PIN");
    }
    wrong.fails(&["random"], "locked");
    user.fails(&["random"], "locked");
    user.ok(&["pin", "unlock"]);
    user.ok(&["random"]);
    let reset = cli.ok(&["partition", "reset", "web"]);
    assert!(reset.contains("1 times"), "{reset}");
    user.fails(&["random"], "not initialized");
    user.fails(&["key", "list"], "not initialized");
    let info: serde_json::Value =
        serde_json::from_str(&user.ok(&["partition", "info", "--json"])).unwrap();
    assert_eq!(
        (info["initialized"].as_bool(), info["resets"].as_u64()),
        (Some(false), Some(1))
    );
    user.with("IHSM_SO_PIN", "officer-pin-0002").ok(&[
        "partition",
        "init",
        "--backup-out",
        s(&tmp.path().join("web2.backup")),
    ]);
    user.with("IHSM_SO_PIN", "officer-pin-0002")
        .fails(&["partition", "init"], "someone else did first");
    user.with("IHSM_SO_PIN", "officer-pin-0002")
        .with("IHSM_NEW_PIN", USER_PIN)
        .ok(&["pin", "set"]);
    user.with("IHSM_PIN", USER_PIN).ok(&["random"]);
    let keys = user
        .with("IHSM_PIN", USER_PIN)
        .ok(&["key", "list", "--json"]);
    assert_eq!(keys.trim(), "[]", "the reset destroyed every key");
    // PIN files: the first line, for the role the command logs in as.
    let pin_file = file(tmp.path(), "user.pin", format!("{USER_PIN}\n").as_bytes());
    user.without("IHSM_PIN")
        .ok(&["random", "--pin-file", s(&pin_file)]);

    let list: serde_json::Value =
        serde_json::from_str(&cli.ok(&["partition", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "web");
    cli.ok(&["partition", "delete", "web"]);
    assert_eq!(cli.ok(&["partition", "list", "--json"]).trim(), "[]");
}

#[test]
fn failures_say_why_in_one_line() {
    let daemon = start();
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(&daemon);
    cli.fails(&["partition", "list"], "run `ihsm admin init`");
    cli.ok(&["admin", "init"]);
    cli.fails(&["admin", "init"], "already has an admin");
    cli.with("IHSM_ADMIN_PIN", "wrong-admin-pin")
        .fails(&["partition", "list"], "wrong PIN");
    cli.without("IHSM_ADMIN_PIN")
        .fails(&["partition", "list"], "no admin PIN: set IHSM_ADMIN_PIN");
    cli.fails(&["partition", "create", "Bad Name"], "partition name");
    cli.ok(&["partition", "create", "p"]);
    cli.fails(&["partition", "create", "p"], "exists");
    let owner = cli.with("IHSM_PARTITION", "p");
    owner.fails(&["random"], "not initialized");
    owner
        .with("IHSM_SO_PIN", "short")
        .fails(&["partition", "init"], "PINs must be");
    owner.ok(&[
        "partition",
        "init",
        "--backup-out",
        s(&tmp.path().join("b")),
    ]);
    owner.fails(
        &[
            "partition",
            "init",
            "--backup-out",
            s(&tmp.path().join("c")),
        ],
        "already initialized",
    );
    cli.fails(&["partition", "reset", "nope"], "no such partition");
    cli.fails(&["partition", "delete", "nope"], "no such partition");
    cli.fails(&["random"], "which partition?");
    cli.fails(
        &["random", "--partition", "nope"],
        "cannot reach the module",
    );
    let user = cli.with("IHSM_PARTITION", "p");
    user.fails(&["random"], "wrong PIN");
    cli.with("IHSM_NEW_PIN", USER_PIN)
        .ok(&["pin", "set", "--partition", "p"]);
    user.fails(
        &["key", "generate", "--type", "dsa-1024", "--label", "x"],
        "unknown key type",
    );
    user.fails(
        &["sign", "--key", "absent", "--in", "/etc/hostname"],
        "no key labelled",
    );
    user.ok(&["key", "generate", "--type", "aes-128", "--label", "k"]);
    user.fails(
        &["sign", "--key", "k", "--in", "/etc/hostname"],
        "does not sign",
    );
    user.fails(
        &[
            "encrypt",
            "--key",
            "k",
            "--in",
            "/nonexistent",
            "--out",
            "/tmp/x",
        ],
        "cannot read /nonexistent",
    );
    user.fails(&["random", "--bytes", "0"], "length");
    let empty = file(tmp.path(), "empty.pin", b"");
    user.fails(&["random", "--pin-file", s(&empty)], "is empty");
    // No module at all.
    let nowhere = tmp.path().join("nowhere");
    let output = Command::new(env!("CARGO_BIN_EXE_ihsm"))
        .arg("--state-dir")
        .arg(&nowhere)
        .arg("status")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is ihsmd running"));
}

#[test]
fn bench_needs_nothing_set_up_and_cleans_up() {
    let daemon = start();
    let cli = Cli::new(&daemon).without("IHSM_ADMIN_PIN");
    let output = cli.run(&["bench", "--seconds", "0.05", "--threads", "1,2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for op in [
        "ECDSA P-256 sign",
        "RSA-2048 sign",
        "AES-256-GCM encrypt 4 KiB",
        "AES-256-GCM encrypt 1 MiB",
        "HMAC-SHA-256",
        "random 16 B",
    ] {
        assert_eq!(
            stdout.matches(op).count(),
            2,
            "{op} at 1 and 2 threads:\n{stdout}"
        );
    }
    // It made the admin PIN (the module had none) and said so; its partition is gone.
    let pin = stderr
        .split("admin PIN is now ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the generated admin PIN is reported");
    let list = Cli::new(&daemon)
        .with("IHSM_ADMIN_PIN", pin)
        .ok(&["partition", "list", "--json"]);
    assert_eq!(list.trim(), "[]");
    // With IHSM_ADMIN_PIN set it uses it.
    let again = Cli::new(&daemon).with("IHSM_ADMIN_PIN", pin).run(&[
        "bench",
        "--seconds",
        "0.02",
        "--threads",
        "1",
        "--only",
        "random",
        "--json",
    ]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(rows[0]["ihsm_ops_per_s"].as_f64().unwrap() > 0.0);
}

/// Verifies an ECDSA P-256 signature (raw r || s) with OpenSSL, from the SEC1 point.
fn openssl_verify(dir: &Path, point_hex: &str, message: &Path, signature: &Path) {
    let point = hex::decode(point_hex).unwrap();
    // SubjectPublicKeyInfo for P-256: a fixed prefix, then the point.
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.extend_from_slice(&point);
    let public = file(dir, "signer.spki.der", &spki);
    // r || s to DER.
    let raw = std::fs::read(signature).unwrap();
    let (r, s_) = raw.split_at(raw.len() / 2);
    let int = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let mut out = vec![0x02];
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            out.push(v.len() as u8 + 1);
            out.push(0);
        } else {
            out.push(v.len() as u8);
        }
        out.extend(v);
        out
    };
    let body = [int(r), int(s_)].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    let sig = file(dir, "signer.sig.der", &der);
    let status = Command::new("openssl")
        .args(["dgst", "-sha256", "-keyform", "DER", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&sig)
        .arg(message)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "OpenSSL verifies the module's signature");
}

/// The README's walkthrough, run exactly as written against a new module.
#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("<!-- walkthrough")
        .nth(1)
        .and_then(|rest| rest.split("<!-- end walkthrough -->").next())
        .expect("the README marks its walkthrough");
    let script: String = block
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("```"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(script.contains("ihsm sign"), "{script}");
    let daemon = start();
    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ihsm")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("setsid")
        .args(["bash", "-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env("IHSM_STATE_DIR", daemon.state_dir())
        .env("IHSM_PINS", work.path().join("pins"))
        .env_remove("IHSM_ADMIN_PIN")
        .env_remove("IHSM_SO_PIN")
        .env_remove("IHSM_PIN")
        .env_remove("IHSM_PARTITION")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "signature verified",
        "hello, module",
        "all 25 self-tests passed",
        "\"state\":\"Operational\"",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
}

/// The attestation key a socket presented is pinned across invocations: a partition made
/// again under the same name (a new key) is refused until its pin goes, and deleting a
/// partition through `ihsm` forgets its pin.
#[test]
fn attestation_keys_are_pinned_across_invocations() {
    let daemon = start();
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(&daemon);
    cli.ok(&["admin", "init"]);
    cli.ok(&["partition", "create", "p"]);
    let user = cli
        .with("IHSM_PARTITION", "p")
        .with("IHSM_NEW_PIN", USER_PIN);
    user.ok(&[
        "partition",
        "init",
        "--backup-out",
        s(&tmp.path().join("b1")),
    ]);
    user.ok(&["pin", "set"]);
    user.ok(&["random"]);
    let pins = std::fs::read_to_string(daemon.state_dir().with_extension("pins")).unwrap();
    assert!(pins.contains("partitions/p.sock"), "{pins}");
    assert!(pins.contains("admin.sock"), "{pins}");

    // The partition replaced behind the CLI's back (through the SDK, not `ihsm`): refused.
    let admin = ihsm_client::Client::connect(daemon.admin_socket())
        .unwrap()
        .login(ihsm_client::Role::Admin, ADMIN_PIN.as_bytes())
        .unwrap()
        .open_session()
        .unwrap();
    admin.delete_partition("p").unwrap();
    let quotas = ihsm_client::proto::Quotas {
        max_objects: 10,
        max_sessions: 10,
        max_logins: 10,
        max_data_object_bytes: 1024,
        max_connections: 10,
        max_locked_bytes: 1 << 20,
    };
    admin.create_partition("p", quotas).unwrap();
    ihsm_client::Client::connect(daemon.partition_socket("p"))
        .unwrap()
        .initialize_partition(SO_PIN.as_bytes(), None)
        .unwrap();
    user.fails(&["pin", "set"], "another attestation key");

    // Through `ihsm`, a deleted partition's pin goes with it.
    cli.ok(&["partition", "delete", "p"]);
    cli.ok(&["partition", "create", "p"]);
    user.ok(&[
        "partition",
        "init",
        "--backup-out",
        s(&tmp.path().join("b2")),
    ]);
    user.ok(&["pin", "set"]);
    user.ok(&["random"]);
}
