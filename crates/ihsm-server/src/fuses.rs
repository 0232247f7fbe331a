//! A development device's fuses, kept in a file of the state directory.
//!
//! A real module's fuses are burned into silicon; a development device keeps its device
//! secret (UDS) and security version in `DIR/fuses` (mode 0600, nobody else's to read), made on
//! first start. The
//! device reaches them only through [`ihsm_device::Fuses`], so the later split into a security
//! processor that owns them changes no caller. The status of a device on these fuses says it
//! is a development device.

use std::io::{Read, Write};

use ihsm_crypto::{Engine, SecretBytes};
use ihsm_device::DevelopmentFuses;
use zeroize::Zeroizing;

use crate::state_dir::{Place, StateDir, FUSES};

const MAGIC: &[u8; 8] = b"IHSMFUSE";
const VERSION: u16 = 1;
const LEN: usize = 8 + 2 + 4 + 32;

/// The security version of this firmware build.
pub const SECURITY_VERSION: u32 = 1;

/// The fuses read from (or made in) a state directory.
pub struct FuseFile {
    /// The device secret, as the device sees it.
    pub fuses: DevelopmentFuses,
    /// The device secret again, for the storage key chain (the security processor's step).
    pub device_secret: SecretBytes,
    /// Whether this start made them.
    pub created: bool,
}

/// Reads the fuses of `dir`, or makes new ones there (a new development device) if the file
/// does not exist. `store_exists`: a store is already in the directory, so fuses missing
/// beside it are an error (new fuses could never open it), not a new device.
pub fn load_or_create(
    dir: &StateDir,
    engine: &Engine,
    store_exists: bool,
) -> Result<FuseFile, String> {
    let path = dir.display(Place::Root, FUSES);
    match dir.open_file(FUSES, false)? {
        Some(mut file) => {
            let mut bytes = Zeroizing::new(Vec::with_capacity(LEN));
            Read::by_ref(&mut file)
                .take(LEN as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let secret = parse(&bytes).ok_or_else(|| {
                format!(
                    "{} is not a development fuse file (damaged or from another version)",
                    path.display()
                )
            })?;
            Ok(FuseFile {
                fuses: DevelopmentFuses::new(&secret),
                device_secret: SecretBytes::from_slice(&*secret),
                created: false,
            })
        }
        None if store_exists => Err(format!(
            "{} is missing but a store is beside it: without its device secret the store cannot be opened (restore the file, or start on a new state directory)",
            path.display()
        )),
        None => {
            let mut secret = Zeroizing::new([0u8; 32]);
            let _drawn = engine
                .random(&mut *secret)
                .map_err(|e| format!("cannot draw a device secret: {e}"))?;
            let mut bytes = Zeroizing::new(Vec::with_capacity(LEN));
            bytes.extend_from_slice(MAGIC);
            bytes.extend_from_slice(&VERSION.to_be_bytes());
            bytes.extend_from_slice(&SECURITY_VERSION.to_be_bytes());
            bytes.extend_from_slice(&*secret);
            let mut file = dir.create_new(FUSES)?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            dir.sync()?;
            Ok(FuseFile {
                fuses: DevelopmentFuses::new(&secret),
                device_secret: SecretBytes::from_slice(&*secret),
                created: true,
            })
        }
    }
}

fn parse(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    if bytes.len() != LEN {
        return None;
    }
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (version, rest) = rest.split_at_checked(2)?;
    if u16::from_be_bytes(version.try_into().ok()?) != VERSION {
        return None;
    }
    let (_svn, secret) = rest.split_at_checked(4)?;
    Some(Zeroizing::new(secret.try_into().ok()?))
}
