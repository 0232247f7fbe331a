//! A throwaway SoftHSM2 token, the HSM most projects test against, so benchmarks can put
//! ihsm beside it in the same run. SoftHSM2 comes from Debian's `softhsm2` package; its
//! library is looked up at the usual paths, or taken from `IHSM_SOFTHSM2_LIB`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

/// The user PIN of every token made here.
pub const USER_PIN: &str = "softhsm-user-pin";
const SO_PIN: &str = "softhsm-so-pin";

const LIBRARY_PATHS: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// A SoftHSM2 library with one fresh token in a temporary directory, removed on drop. The
/// token's user is logged in (PKCS#11 logins belong to the application, so every session
/// opened afterwards is logged in too).
pub struct SoftHsm {
    /// The PKCS#11 context.
    pub pkcs11: Pkcs11,
    /// The token's slot.
    pub slot: Slot,
    dir: PathBuf,
    /// Keeps the login (and the session objects made in it) alive.
    _login: Session,
}

impl SoftHsm {
    /// The library's path, if SoftHSM2 is installed.
    #[must_use]
    pub fn library() -> Option<PathBuf> {
        std::env::var_os("IHSM_SOFTHSM2_LIB")
            .map(PathBuf::from)
            .into_iter()
            .chain(LIBRARY_PATHS.iter().map(PathBuf::from))
            .find(|path| path.exists())
    }

    /// Loads SoftHSM2 with a configuration of its own (`SOFTHSM2_CONF`, set for this process)
    /// and initializes a token. Call it once per process, before other threads run: it sets
    /// an environment variable, and a PKCS#11 library is initialized once per process.
    pub fn new() -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let library = Self::library().ok_or("SoftHSM2 is not installed (Debian: softhsm2)")?;
        let dir = std::env::temp_dir().join(format!(
            "ihsm-softhsm-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).map_err(|e| e.to_string())?;
        let conf = dir.join("softhsm2.conf");
        let text = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        );
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let made = Self::initialize(&library);
        match made {
            Ok((pkcs11, slot, login)) => Ok(Self {
                pkcs11,
                slot,
                dir,
                _login: login,
            }),
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(format!("SoftHSM2 at {}: {error}", library.display()))
            }
        }
    }

    fn initialize(library: &Path) -> Result<(Pkcs11, Slot, Session), Error> {
        let pkcs11 = Pkcs11::new(library)?;
        pkcs11.initialize(CInitializeArgs::OsThreads)?;
        let slot = *pkcs11.get_slots_with_token()?.first().ok_or(Error::Pkcs11(
            RvError::SlotIdInvalid,
            cryptoki::context::Function::GetSlotList,
        ))?;
        pkcs11.init_token(slot, &pin(SO_PIN), "ihsm-bench")?;
        let session = pkcs11.open_rw_session(slot)?;
        session.login(UserType::So, Some(&pin(SO_PIN)))?;
        session.init_pin(&pin(USER_PIN))?;
        session.logout()?;
        session.login(UserType::User, Some(&pin(USER_PIN)))?;
        Ok((pkcs11, slot, session))
    }

    /// A new read-write session (logged in as the user, as the application is).
    pub fn session(&self) -> Result<Session, Error> {
        self.pkcs11.open_rw_session(self.slot)
    }

    /// The library's description and version, for a benchmark's header.
    #[must_use]
    pub fn describe(&self) -> String {
        match self.pkcs11.get_library_info() {
            Ok(info) => format!(
                "{} {}",
                info.library_description().trim(),
                info.library_version()
            ),
            Err(_) => "SoftHSM2".to_owned(),
        }
    }
}

fn pin(pin: &str) -> AuthPin {
    AuthPin::from(pin.to_owned())
}

impl Drop for SoftHsm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
