//! How frames move: a [`Transport`] sends whole request frames and receives whole response
//! frame bodies. The Unix socket is the one there is; the shared-memory queues of the fast
//! path (DESIGN.md section 4) will be another, with no change to any caller.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ihsm_proto::frame::{parse_prefix, PREFIX_LEN};
use ihsm_proto::Limits;
use zeroize::Zeroizing;

/// How long a receiver polls before it blocks.
const SPIN: Duration = Duration::from_micros(50);

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
    /// Receives since the last one whose answer came while spinning.
    misses: AtomicU32,
}

impl UnixTransport {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        Ok(Self {
            writer: Mutex::new(stream.try_clone()?),
            reader: Mutex::new(stream),
            misses: AtomicU32::new(0),
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
        // A short spin before sleeping: a small request is answered within tens of
        // microseconds, and a thread that sleeps pays a wake-up of about as much again. The
        // spin adapts: after a miss (the answer came later) only every eighth receive spins,
        // so slow operations do not burn a core the module needs.
        let mut got = 0;
        let misses = self.misses.load(Ordering::Relaxed);
        let spin = if misses == 0 || misses % 8 == 0 {
            SPIN
        } else {
            Duration::ZERO
        };
        let spin_until = Instant::now() + spin;
        while got == 0 && Instant::now() < spin_until {
            match rustix::net::recv(&*reader, &mut prefix, rustix::net::RecvFlags::DONTWAIT) {
                Ok((0, _)) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the module closed the connection",
                    ))
                }
                Ok((n, _)) => got = n,
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => std::hint::spin_loop(),
                Err(e) => return Err(e.into()),
            }
        }
        if spin > Duration::ZERO {
            let hit = got > 0;
            self.misses.store(
                if hit { 0 } else { misses.wrapping_add(1) },
                Ordering::Relaxed,
            );
        } else {
            self.misses.store(misses.wrapping_add(1), Ordering::Relaxed);
        }
        reader.read_exact(prefix.get_mut(got..).unwrap_or_default())?;
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
