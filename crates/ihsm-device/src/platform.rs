//! What the device is given rather than owns: a clock, the fuses and a store.
//!
//! The daemon passes real implementations; tests pass [`ManualClock`], [`DevelopmentFuses`]
//! and [`MemoryStore`](crate::MemoryStore). The device never reads a file, a socket or the
//! system time itself.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ihsm_crypto::SecretBytes;
use ihsm_proto::DeviceMode;

use crate::store::Store;

/// A monotonic clock: time since an arbitrary origin, never going backwards.
pub trait Clock: Send + Sync {
    /// The time since the clock's origin.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl SystemClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        Self(Instant::now())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock tests move by hand (ticket and cursor expiry).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(millis, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Acquire))
    }
}

/// The device's fuses: its unique device secret and whether it is a development device.
///
/// The device reaches the device secret only through this interface, so the later split into
/// a security processor (which owns the fuses) and the firmware changes no caller.
pub trait Fuses: Send + Sync {
    /// The unique device secret (UDS): 32 bytes, never output.
    fn device_secret(&self) -> &[u8];
    /// Whether this is a production or a development device.
    fn mode(&self) -> DeviceMode;
}

/// Fuses of a development device: a device secret held in memory as secret bytes (in the
/// locked arena, in the daemon).
pub struct DevelopmentFuses(SecretBytes);

impl DevelopmentFuses {
    /// Fuses with this device secret.
    #[must_use]
    pub fn new(device_secret: &[u8; 32]) -> Self {
        Self(SecretBytes::from_slice(device_secret))
    }
}

impl fmt::Debug for DevelopmentFuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DevelopmentFuses(<redacted>)")
    }
}

impl Fuses for DevelopmentFuses {
    fn device_secret(&self) -> &[u8] {
        self.0.expose()
    }

    fn mode(&self) -> DeviceMode {
        DeviceMode::Development
    }
}

/// Everything injected into a device.
#[derive(Clone)]
pub struct Platform {
    /// The monotonic clock.
    pub clock: Arc<dyn Clock>,
    /// The fuses.
    pub fuses: Arc<dyn Fuses>,
    /// The persistent store.
    pub store: Arc<dyn Store>,
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Platform { .. }")
    }
}
