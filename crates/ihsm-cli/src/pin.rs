//! Where PINs come from: `--pin-file`, the environment, or a prompt on the terminal with echo
//! off. Never from the command line, where any user can read them in the process list.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use zeroize::Zeroizing;

/// A PIN, wiped when dropped.
pub type Pin = Zeroizing<Vec<u8>>;

/// The PIN sources of one invocation.
pub struct Pins {
    /// `--pin-file`: the PIN of the role the command logs in as.
    pub file: Option<PathBuf>,
}

impl Pins {
    /// The PIN of the role the command logs in as: `--pin-file`, else `$env`, else a prompt.
    pub fn login(&self, env: &str, what: &str) -> Result<Pin, String> {
        if let Some(path) = &self.file {
            return read_file(path);
        }
        from_env_or_prompt(env, what, false)
    }

    /// Another PIN the command needs (a new PIN, or the officer's at creation): `$env`, else
    /// a prompt asked twice.
    pub fn other(&self, env: &str, what: &str) -> Result<Pin, String> {
        from_env_or_prompt(env, what, true)
    }
}

fn read_file(path: &PathBuf) -> Result<Pin, String> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| format!("cannot read the PIN file {}: {e}", path.display()))?,
    );
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(format!("the PIN file {} is empty", path.display()));
    }
    Ok(Zeroizing::new(line.to_vec()))
}

fn from_env_or_prompt(env: &str, what: &str, confirm: bool) -> Result<Pin, String> {
    if let Some(value) = std::env::var_os(env) {
        let value = Zeroizing::new(value.into_encoded_bytes());
        if value.is_empty() {
            return Err(format!("{env} is set but empty"));
        }
        return Ok(value);
    }
    let first = prompt(&format!("{what}: "))
        .map_err(|e| format!("no {what}: set {env}, use --pin-file, or run on a terminal ({e})"))?;
    if confirm {
        let again = prompt(&format!("{what} (again): ")).map_err(|e| e.to_string())?;
        if *again != *first {
            return Err(format!("the two entries of the {what} differ"));
        }
    }
    Ok(first)
}

/// Reads a line from the terminal with echo off.
fn prompt(text: &str) -> std::io::Result<Pin> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let saved = rustix::termios::tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
    rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Flush, &quiet)?;
    let mut writer = &tty;
    let _ = writer.write_all(text.as_bytes());
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Flush, &saved);
    let _ = writer.write_all(b"\n");
    read?;
    let pin = line.trim_end_matches(['\n', '\r']);
    if pin.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty PIN",
        ));
    }
    Ok(Zeroizing::new(pin.as_bytes().to_vec()))
}
