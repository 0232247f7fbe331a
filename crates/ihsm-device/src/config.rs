//! The device's tunable limits and costs.

use std::time::Duration;

/// Tunables of a device. `Default` gives the production values; tests lower the PIN cost.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeviceConfig {
    /// PBKDF2-HMAC-SHA-512 iterations of a new PIN verifier. The default, 210,000, is
    /// OWASP's 2023 figure for this hash; a verifier records its own count, so changing this
    /// affects only PINs set afterwards.
    pub pin_iterations: u32,
    /// How long an unused ticket stays valid.
    pub ticket_lifetime: Duration,
    /// Most admin logins at once.
    pub max_admin_logins: u32,
    /// Most admin sessions at once.
    pub max_admin_sessions: u32,
    /// How many AES-GCM encryptions a durable key reserves in the key ledger at a time (at
    /// least 1): one store commit per block, and after a crash the count resumes at most
    /// this far above the truth. The default is 2^20.
    pub gcm_reservation: u64,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            pin_iterations: 210_000,
            ticket_lifetime: Duration::from_secs(60),
            max_admin_logins: 16,
            max_admin_sessions: 64,
            gcm_reservation: 1 << 20,
        }
    }
}

impl DeviceConfig {
    /// The production values with a cheaper PIN hash (the approved minimum of 1,000
    /// iterations), for tests that log in many times.
    #[must_use]
    pub fn for_tests() -> Self {
        Self {
            pin_iterations: ihsm_crypto::PBKDF2_MIN_APPROVED_ITERATIONS,
            ..Self::default()
        }
    }
}
