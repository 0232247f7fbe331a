//! The SDK's examples, run in order against a real `ihsmd` on a temporary state directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn the_examples_run_against_a_real_module() {
    let binary = ihsm_testkit::daemon::ihsmd_path();
    assert!(
        binary.exists(),
        "{} is missing: build the workspace's binaries first",
        binary.display()
    );
    let daemon = ihsm_testkit::daemon::Daemon::start(&binary);
    let examples = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples");
    for (example, expected) in [
        ("provision", "user PIN set"),
        ("sign", "verified"),
        ("encrypt", "in one call and in parts"),
        ("masked", "restored"),
        ("threads", "200 signatures"),
    ] {
        let output = Command::new(examples.join(example))
            .env("IHSM_STATE_DIR", daemon.state_dir())
            .output()
            .unwrap_or_else(|e| panic!("{example}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(expected),
            "{example}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
