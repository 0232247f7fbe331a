//! S27: a hostile local user prepares the state directory before the first start. The module
//! refuses to start and says why, and nothing outside the state directory changes mode,
//! owner or content.

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use ihsm_client::Client;

use crate::{ihsmd, quotas, ADMIN_PIN};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn give_to_nobody(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).unwrap();
}

/// Spawns `command` (an `ihsmd`, perhaps under strace) and returns it with the first line it
/// wrote to standard output: its ready line, or nothing if it exited.
fn spawn_daemon(mut command: Command) -> (std::process::Child, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let _ = std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    );
    (child, first)
}

/// Runs `ihsmd` on `state`, stops it once it is ready, and returns its ready line (empty if
/// it refused to start).
fn starts(state: &Path) -> String {
    let mut command = Command::new(ihsmd());
    command.arg("--state-dir").arg(state);
    let (mut child, ready) = spawn_daemon(command);
    ihsm_testkit::daemon::terminate(child.id());
    assert!(child.wait().unwrap().success(), "{ready}");
    ready
}

/// Runs `ihsmd` on `state`, expects it to refuse to start, and returns what it said. A
/// daemon that gets ready instead is killed and the test fails.
fn refused(state: &Path) -> String {
    let mut command = Command::new(ihsmd());
    command.arg("--state-dir").arg(state);
    let (mut child, first) = spawn_daemon(command);
    if first.contains("ready") {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "ihsmd started on {}: {first}{}",
            state.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        !output.status.success(),
        "ihsmd exited 0 on {}",
        state.display()
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh parent directory (0755, root's or the test user's) with `state` not yet in it.
fn parent() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("ihsm-s27")
        .tempdir()
        .unwrap();
    set_mode(dir.path(), 0o755);
    dir
}

#[test]
fn s27_a_state_directory_others_can_write_is_refused_not_repaired() {
    let parent = parent();
    let state = parent.path().join("state");
    std::fs::create_dir(&state).unwrap();
    for planted in [0o777, 0o770, 0o702] {
        set_mode(&state, planted);
        let said = refused(&state);
        assert!(said.contains("writable by group or others"), "{said}");
        assert!(said.contains(&state.display().to_string()), "{said}");
        assert_eq!(mode(&state), planted, "the mode was left as found");
        assert_eq!(
            std::fs::read_dir(&state).unwrap().count(),
            0,
            "nothing made in it"
        );
    }
}

#[test]
fn s27_a_state_directory_of_another_user_is_refused() {
    if !is_root() {
        eprintln!("SKIPPED: only root can make a directory another user owns");
        return;
    }
    let parent = parent();
    let state = parent.path().join("state");
    std::fs::create_dir(&state).unwrap();
    set_mode(&state, 0o700);
    give_to_nobody(&state);
    let said = refused(&state);
    assert!(said.contains("owned by uid 65534"), "{said}");
    assert_eq!(std::fs::read_dir(&state).unwrap().count(), 0);
}

#[test]
fn s27_a_symlinked_state_directory_is_refused() {
    let parent = parent();
    let real = parent.path().join("elsewhere");
    std::fs::create_dir(&real).unwrap();
    set_mode(&real, 0o700);
    let state = parent.path().join("state");
    symlink(&real, &state).unwrap();
    let said = refused(&state);
    assert!(said.contains("symbolic link"), "{said}");
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}

#[test]
fn s27_a_world_writable_ancestor_without_the_sticky_bit_is_refused() {
    let parent = parent();
    set_mode(parent.path(), 0o777);
    let state = parent.path().join("state");
    let said = refused(&state);
    assert!(
        said.contains("writable by others without the sticky bit"),
        "{said}"
    );
    assert!(!state.exists(), "no state directory made under it");
    // With the sticky bit, others cannot rename what ihsmd owns: accepted (as /tmp is).
    set_mode(parent.path(), 0o1777);
    let ready = starts(&state);
    assert!(ready.contains("ready"), "{ready}");
}

/// A group-writable ancestor lets the group's members rename the state directory away and
/// put their own in its place; one whose group is root's is as trusted as root, unless an
/// access ACL names others (its group bits are then the ACL's mask).
#[test]
fn s27_a_group_writable_ancestor_is_refused_unless_the_group_is_roots() {
    if !is_root() {
        eprintln!("SKIPPED: only root can give a directory another group");
        return;
    }
    let parent = parent();
    let state = parent.path().join("state");
    std::os::unix::fs::lchown(parent.path(), None, Some(NOBODY)).unwrap();
    set_mode(parent.path(), 0o775);
    let said = refused(&state);
    assert!(said.contains("writable by group 65534"), "{said}");
    assert!(!state.exists(), "no state directory made under it");
    std::os::unix::fs::lchown(parent.path(), None, Some(0)).unwrap();
    set_mode(parent.path(), 0o775);
    // POSIX ACL, version 2: owner rwx, user nobody rwx, group r-x, mask rwx, others r-x.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 7u16, u32::MAX),
        (0x02, 7, NOBODY),
        (0x04, 5, u32::MAX),
        (0x10, 7, u32::MAX),
        (0x20, 5, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    match rustix::fs::setxattr(
        parent.path(),
        "system.posix_acl_access",
        &acl,
        rustix::fs::XattrFlags::empty(),
    ) {
        Ok(()) => {
            let said = refused(&state);
            assert!(said.contains("by users its ACL names"), "{said}");
            rustix::fs::removexattr(parent.path(), "system.posix_acl_access").unwrap();
        }
        Err(error) => eprintln!("(no ACLs on this file system: {error})"),
    }
    set_mode(parent.path(), 0o775);
    let ready = starts(&state);
    assert!(ready.contains("ready"), "root's group may write: {ready}");
}

/// A symbolic link on the written path is as much an ancestor as a directory: another user's
/// link, even in a directory they may not write, is theirs to replace where its directory is
/// sticky (as /tmp is), and was judged only by what it pointed to.
#[test]
fn s27_an_ancestor_link_of_another_user_is_refused() {
    if !is_root() {
        eprintln!("SKIPPED: only root can make a link another user owns");
        return;
    }
    let parent = parent();
    let real = parent.path().join("real");
    std::fs::create_dir(&real).unwrap();
    set_mode(&real, 0o755);
    let link = parent.path().join("link");
    symlink(&real, &link).unwrap();
    give_to_nobody(&link);
    let said = refused(&link.join("state"));
    assert!(said.contains("owned by uid 65534"), "{said}");
    assert!(!real.join("state").exists(), "nothing made behind it");
    // Nor any directory on the way to a state directory deeper behind it.
    let said = refused(&link.join("x").join("y").join("state"));
    assert!(said.contains("owned by uid 65534"), "{said}");
    assert!(
        !real.join("x").exists(),
        "no directory made through the link"
    );
}

/// Fuses planted by someone else would give every key to whoever chose the device secret.
#[test]
fn s27_planted_fuses_are_refused() {
    let parent = parent();
    let state = parent.path().join("state");
    std::fs::create_dir(&state).unwrap();
    set_mode(&state, 0o700);
    let fuses = state.join("fuses");
    // A fuse file of the planter's choosing, in the right format.
    let mut planted = b"IHSMFUSE".to_vec();
    planted.extend_from_slice(&1u16.to_be_bytes());
    planted.extend_from_slice(&1u32.to_be_bytes());
    planted.extend_from_slice(&[0x5A; 32]);

    // Readable by others: the device secret would not be the module's alone.
    std::fs::write(&fuses, &planted).unwrap();
    set_mode(&fuses, 0o644);
    let said = refused(&state);
    assert!(
        said.contains("fuses") && said.contains("readable by group or others"),
        "{said}"
    );

    // Writable by the group.
    set_mode(&fuses, 0o620);
    let said = refused(&state);
    assert!(said.contains("writable by group or others"), "{said}");

    // A link to a file the planter controls.
    std::fs::remove_file(&fuses).unwrap();
    let theirs = parent.path().join("their-fuses");
    std::fs::write(&theirs, &planted).unwrap();
    set_mode(&theirs, 0o600);
    symlink(&theirs, &fuses).unwrap();
    let said = refused(&state);
    assert!(said.contains("symbolic link"), "{said}");

    // Owned by another user.
    if is_root() {
        std::fs::remove_file(&fuses).unwrap();
        std::fs::write(&fuses, &planted).unwrap();
        set_mode(&fuses, 0o600);
        give_to_nobody(&fuses);
        let said = refused(&state);
        assert!(said.contains("owned by uid 65534"), "{said}");
    }
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        planted,
        "their file untouched"
    );
}

/// A store that is a link to a file the planter can read would put every sealed record
/// where they could take it offline; the file it points to is never written.
#[test]
fn s27_a_symlinked_store_is_refused_and_its_target_untouched() {
    let parent = parent();
    let state = parent.path().join("state");
    std::fs::create_dir(&state).unwrap();
    set_mode(&state, 0o700);
    let theirs = parent.path().join("readable-by-them");
    std::fs::write(&theirs, b"").unwrap();
    set_mode(&theirs, 0o644);
    for name in ["store.redb", "store.counter"] {
        let link = state.join(name);
        symlink(&theirs, &link).unwrap();
        let said = refused(&state);
        assert!(
            said.contains(name) && said.contains("symbolic link"),
            "{said}"
        );
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(
        std::fs::metadata(&theirs).unwrap().len(),
        0,
        "never written"
    );
    assert_eq!(mode(&theirs), 0o644, "never chmodded");
    assert!(!state.join("fuses").exists(), "no device secret made");
}

/// A `partitions` link once made root chmod the directory it pointed to.
#[test]
fn s27_a_symlinked_partitions_directory_is_refused_and_its_target_keeps_its_mode() {
    let parent = parent();
    let state = parent.path().join("state");
    std::fs::create_dir(&state).unwrap();
    set_mode(&state, 0o700);
    let foreign = parent.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    set_mode(&foreign, 0o755);
    symlink(&foreign, state.join("partitions")).unwrap();
    let said = refused(&state);
    assert!(
        said.contains("partitions") && said.contains("symbolic link"),
        "{said}"
    );
    assert_eq!(mode(&foreign), 0o755);
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 0);
}

/// Anything in the partitions directory is held to the same rules.
#[test]
fn s27_a_planted_file_among_the_sockets_is_refused() {
    let parent = parent();
    let state = parent.path().join("state");
    let partitions = state.join("partitions");
    std::fs::create_dir_all(&partitions).unwrap();
    set_mode(&state, 0o700);
    set_mode(&partitions, 0o700);
    let target = parent.path().join("target");
    std::fs::write(&target, b"keep").unwrap();
    symlink(&target, partitions.join("web.sock")).unwrap();
    let said = refused(&state);
    assert!(
        said.contains("web.sock") && said.contains("symbolic link"),
        "{said}"
    );
    std::fs::remove_file(partitions.join("web.sock")).unwrap();
    // A regular file where the admin socket goes.
    std::fs::write(state.join("admin.sock"), b"").unwrap();
    set_mode(&state.join("admin.sock"), 0o600);
    let said = refused(&state);
    assert!(
        said.contains("admin.sock") && said.contains("regular file"),
        "{said}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

/// Sockets are made with their final mode (umask 077) and nothing is ever chmodded by path:
/// bind-then-chmod followed a link swapped in between (an attack won that race 23 times in
/// 60) and changed the mode of whatever it pointed to. The daemon runs under strace while it
/// starts on a new directory, makes and deletes partitions (each a socket) and stops; no
/// `chmod` family call is made at all.
#[test]
fn s27_no_file_is_ever_chmodded_by_path() {
    assert!(
        Command::new("strace").arg("-V").output().is_ok(),
        "strace is needed (scripts/setup.sh installs it)"
    );
    let parent = parent();
    let state = parent.path().join("state");
    let trace = parent.path().join("trace");
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-e", "trace=/chmod,/chown", "-o"])
        .arg(&trace)
        .arg(ihsmd())
        .arg("--state-dir")
        .arg(&state);
    let (mut child, ready) = spawn_daemon(command);
    assert!(ready.contains("ready"), "{ready}");
    let admin = Client::connect(state.join("admin.sock")).unwrap();
    admin.initialize_admin(ADMIN_PIN).unwrap();
    let session = admin
        .login(ihsm_client::Role::Admin, ADMIN_PIN)
        .unwrap()
        .open_session()
        .unwrap();
    for name in ["one", "two"] {
        session.create_partition(name, quotas()).unwrap();
        let socket = state.join("partitions").join(format!("{name}.sock"));
        assert_eq!(mode(&socket) & 0o077, 0, "{name}: made its owner's alone");
    }
    session.delete_partition("one").unwrap();
    drop((session, admin));
    // strace's tracee is ihsmd; stop it through its pid in the trace's first line.
    let pid = std::fs::read_to_string(&trace)
        .unwrap()
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or_else(|| {
            // Nothing traced at all: the daemon's pid is strace's child's; find it in /proc.
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", child.id(), child.id()))
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap()
        });
    ihsm_testkit::daemon::terminate(pid);
    assert!(child.wait().unwrap().success());
    let calls = std::fs::read_to_string(&trace).unwrap();
    let changes: Vec<&str> = calls
        .lines()
        .filter(|line| line.contains("chmod") || line.contains("chown"))
        .collect();
    assert!(
        changes.is_empty(),
        "the daemon changed modes or owners: {changes:#?}"
    );
}

/// A state directory reached through a link into a directory another user owns: that user
/// could move it away and put their own in its place (an attack found the written path's
/// ancestors checked and the real ones not).
#[test]
fn s27_a_state_directory_behind_a_link_into_a_foreign_directory_is_refused() {
    if !is_root() {
        eprintln!("SKIPPED: only root can make a directory another user owns");
        return;
    }
    let parent = parent();
    let theirs = parent.path().join("their-home");
    std::fs::create_dir(&theirs).unwrap();
    set_mode(&theirs, 0o755);
    give_to_nobody(&theirs);
    let inside = theirs.join("ihsm");
    std::fs::create_dir(&inside).unwrap();
    set_mode(&inside, 0o755);
    let link = parent.path().join("link");
    symlink(&inside, &link).unwrap();
    let said = refused(&link.join("state"));
    assert!(said.contains("owned by uid 65534"), "{said}");
    assert!(!inside.join("state").exists(), "nothing made there");
    // And an ancestor of another user's on the written path.
    let said = refused(&theirs.join("direct").join("state"));
    assert!(said.contains("owned by uid 65534"), "{said}");
}

/// A file of the state directory with a second name (a hard link) elsewhere could be read
/// or replaced through that name.
#[test]
fn s27_a_file_with_a_second_name_is_refused() {
    let parent = parent();
    let state = parent.path().join("state");
    // A first start makes the files; then the fuses get a second name beside the directory.
    let ready = starts(&state);
    assert!(ready.contains("ready"), "{ready}");
    let second = parent.path().join("fuses-too");
    std::fs::hard_link(state.join("fuses"), &second).unwrap();
    let said = refused(&state);
    assert!(
        said.contains("fuses") && said.contains("hard links"),
        "{said}"
    );
    std::fs::remove_file(&second).unwrap();
    let ready = starts(&state);
    assert!(
        ready.contains("ready"),
        "one name again: accepted ({ready})"
    );
}
