//! How frames move: a [`Transport`] sends whole request frames and receives whole response
//! frame bodies. The Unix socket is the one there is; the shared-memory queues of the fast
//! path (DESIGN.md section 4) will be another, with no change to any caller.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use ihsm_proto::frame::{parse_prefix, PREFIX_LEN};
use ihsm_proto::Limits;
use zeroize::Zeroizing;

/// Moves frames to the module and back. `send` and `receive` may be called from different
/// threads at once (one sender and one receiver at a time).
pub trait Transport: Send + Sync {
    /// Sends one complete frame (length prefix and body).
    fn send(&self, frame: &[u8]) -> std::io::Result<()>;

    /// Receives one response frame body (without its prefix), refusing a frame over
    /// `limits` before allocating it.
    fn receive(&self, limits: &Limits) -> std::io::Result<Zeroizing<Vec<u8>>>;
}

/// A Unix stream socket to a partition or the admin socket.
#[derive(Debug)]
pub struct UnixTransport {
    reader: Mutex<UnixStream>,
    writer: Mutex<UnixStream>,
}

impl UnixTransport {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        Ok(Self {
            writer: Mutex::new(stream.try_clone()?),
            reader: Mutex::new(stream),
        })
    }
}

impl Transport for UnixTransport {
    fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.write_all(frame)
    }

    fn receive(&self, limits: &Limits) -> std::io::Result<Zeroizing<Vec<u8>>> {
        let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        let mut prefix = [0u8; PREFIX_LEN];
        reader.read_exact(&mut prefix)?;
        let len = parse_prefix(prefix, limits).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the module sent a frame over the limit",
            )
        })?;
        let mut body = Zeroizing::new(vec![0u8; len]);
        reader.read_exact(&mut body)?;
        Ok(body)
    }
}
