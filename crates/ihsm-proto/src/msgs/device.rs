//! Device messages: status, admin initialization, the credential key.

use crate::{
    DeviceMode, DeviceState, EcPoint, ErrorCause, List, Nonce, SealedSecret, Signature, Text,
    MAX_SELF_TESTS, MAX_SHORT_TEXT_LEN,
};

wire_map! {
    /// Asks for the device's status. Served in every state, even before initialization.
    pub struct GetStatusRequest {}
}

wire_map! {
    /// The device's status.
    pub struct GetStatusResponse {
        /// The firmware version, e.g. `"0.1.0"`.
        0 => version: Text<MAX_SHORT_TEXT_LEN>,
        /// The build: production or development.
        1 => mode: DeviceMode,
        /// Whether the crypto engine is the FIPS 140-3 validated module.
        2 => fips_mode: bool,
        /// The lifecycle state.
        3 => state: DeviceState,
        /// The result of each power-on self-test run so far.
        4 => self_tests: List<SelfTestResult, MAX_SELF_TESTS>,
        /// Whether the build has test hooks (never in a release build).
        5 => test_hooks: bool,
        /// Whether the admin credential is set.
        6 => initialized: bool,
        /// Why the device is in its error state (only then).
        7 => error: Option<ErrorCause>,
        /// The locked memory keys live in (absent where the module has none).
        8 => locked_memory: Option<LockedMemory>,
    }
}

wire_map! {
    /// The module's locked memory: where every key it holds lives, never swapped out.
    pub struct LockedMemory {
        /// Bytes in all.
        0 => capacity: u64,
        /// Bytes held now.
        1 => in_use: u64,
        /// The most ever held.
        2 => peak: u64,
        /// Bytes reserved for the partitions' shares.
        3 => reserved: u64,
        /// Whether it is locked in memory (`mlock` succeeded).
        4 => locked: bool,
        /// Allocations refused because it was full (each a fault the shares should prevent).
        5 => refused: u64,
    }
}

wire_map! {
    /// Runs every self-test again. While they run, other requests get `SelfTestsRunning`; a
    /// failure latches the error state (the answer is then `ErrorState`).
    pub struct RunSelfTestsRequest {}
}

wire_map! {
    /// Every self-test passed; their results.
    pub struct RunSelfTestsResponse {
        /// The result of each self-test.
        0 => self_tests: List<SelfTestResult, MAX_SELF_TESTS>,
    }
}

wire_map! {
    /// The outcome of one self-test.
    pub struct SelfTestResult {
        /// The test's name, e.g. `"AES-GCM-256 KAT"`.
        0 => name: Text<MAX_SHORT_TEXT_LEN>,
        /// Whether it passed.
        1 => passed: bool,
    }
}

wire_map! {
    /// Sets the admin credential (the admin PIN, sealed) of an uninitialized device.
    pub struct InitializeAdminRequest {
        /// The admin PIN, sealed to the credential key.
        0 => credential: SealedSecret,
    }
}

wire_map! {
    /// The admin credential is set.
    pub struct InitializeAdminResponse {}
}

wire_map! {
    /// Asks for the credential key of this socket (the partition's, or the device's on the
    /// admin socket) and a fresh nonce for this connection.
    pub struct GetCredentialKeyRequest {}
}

wire_map! {
    /// The credential key and this connection's current nonce. A new nonce replaces the old
    /// one: secrets sealed to an older nonce are refused with `NonceStale`.
    pub struct GetCredentialKeyResponse {
        /// The P-384 credential public key, SEC1 uncompressed.
        0 => credential_public_key: EcPoint,
        /// The P-384 attestation public key that signed it, SEC1 uncompressed.
        1 => attestation_public_key: EcPoint,
        /// ECDSA P-384 SHA-384 signature (`r || s`, 96 bytes) by the attestation key over
        /// `"ihsm credential key v1" || credential_public_key || nonce`.
        2 => signature: Signature,
        /// The connection's nonce: 32 random bytes.
        3 => nonce: Nonce,
    }
}
