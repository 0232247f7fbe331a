//! Domain types shared by the messages: bounds, roles, names, credentials, closed sets.

use core::fmt;

use zeroize::Zeroizing;

use crate::codec::{Reader, Wire, Writer};
use crate::{BoundedU32, BoundsError, Bytes, DecodeError, SecretBytes, Status, MAX_DATA_LEN};

/// The largest SEC1 uncompressed point (P-521): 133 bytes.
pub const MAX_EC_POINT_LEN: usize = 133;
/// The largest sealed-secret ciphertext: 1024 bytes.
pub const MAX_SEALED_LEN: usize = 1024;
/// The largest public key (DER SubjectPublicKeyInfo or SEC1 point): 2048 bytes.
pub const MAX_PUBLIC_KEY_LEN: usize = 2048;
/// The largest signature (RSA-4096): 512 bytes.
pub const MAX_SIGNATURE_LEN: usize = 512;
/// The largest digest (SHA-512): 64 bytes.
pub const MAX_DIGEST_LEN: usize = 64;
/// The largest wrapped key or masked key blob: 16 KiB.
pub const MAX_BLOB_LEN: usize = 16 << 10;
/// The largest partition name: 64 bytes.
pub const MAX_NAME_LEN: usize = 64;
/// The largest short text (version, self-test names): 64 bytes.
pub const MAX_SHORT_TEXT_LEN: usize = 64;
/// The largest `FindObjects` cursor: 64 bytes.
pub const MAX_CURSOR_LEN: usize = 64;
/// The most handles one `FindObjects` call returns, and its `max_count` bound.
pub const MAX_FIND_COUNT: usize = 1024;
/// The most partitions `ListPartitions` returns.
pub const MAX_PARTITIONS: usize = 1024;
/// The most mechanisms in a partition policy list.
pub const MAX_POLICY_MECHANISMS: usize = 128;
/// The most self-test results `GetStatus` returns.
pub const MAX_SELF_TESTS: usize = 256;

/// Bulk data (plaintext, ciphertext, messages, random bytes), zeroized on drop.
pub type Data = SecretBytes<MAX_DATA_LEN>;
/// A signature.
pub type Signature = Bytes<MAX_SIGNATURE_LEN>;
/// A digest.
pub type Digest = Bytes<MAX_DIGEST_LEN>;
/// A wrapped key or a masked key blob.
pub type Blob = Bytes<MAX_BLOB_LEN>;
/// A SEC1 elliptic-curve point (uncompressed: `04 || X || Y`).
pub type EcPoint = Bytes<MAX_EC_POINT_LEN>;
/// A public key: a SEC1 point for EC keys, a DER SubjectPublicKeyInfo for RSA keys.
pub type PublicKey = Bytes<MAX_PUBLIC_KEY_LEN>;
/// An opaque `FindObjects` continuation cursor.
pub type Cursor = Bytes<MAX_CURSOR_LEN>;
/// A length of bulk data to produce: `1..=MAX_DATA_LEN`.
pub type DataLen = BoundedU32<1, 1_048_576>;
/// The most handles a `FindObjects` call may return: `1..=1024`.
pub type FindCount = BoundedU32<1, 1024>;

const _: () = assert!(DataLen::MAX == 1 << 20 && MAX_DATA_LEN == 1 << 20);
const _: () = assert!(FindCount::MAX == 1024 && MAX_FIND_COUNT == 1024);

wire_enum! {
    /// A role: who may do what.
    pub enum Role: u8 {
        /// The device admin: partitions, firmware, audit export; never uses partition keys.
        Admin = 1,
        /// A partition's crypto officer: policy, manages and unlocks the user, zeroizes.
        CryptoOfficer = 2,
        /// A partition's crypto user: uses keys.
        CryptoUser = 3,
    }
}

/// A partition name: 1 to 64 bytes of `[a-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionName(String);

impl PartitionName {
    /// Takes `name` if it is 1 to 64 characters of `[a-z0-9_-]`.
    pub fn new(name: impl Into<String>) -> Result<Self, BoundsError> {
        let name = name.into();
        if is_partition_name(&name) {
            Ok(Self(name))
        } else {
            Err(BoundsError)
        }
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartitionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Wire for PartitionName {
    const MIN_LEN: usize = 2;

    fn encode(&self, w: &mut Writer) {
        w.text(&self.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let name = r.text(MAX_NAME_LEN)?;
        if is_partition_name(name) {
            Ok(Self(name.to_owned()))
        } else {
            Err(r.error_at(at, Status::ValueOutOfRange))
        }
    }
}

/// A 32-byte nonce: public, single-use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nonce(pub [u8; 32]);

impl Wire for Nonce {
    const MIN_LEN: usize = 33;

    fn encode(&self, w: &mut Writer) {
        self.0.encode(w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        <[u8; 32]>::decode(r).map(Self)
    }
}

/// A 32-byte login ticket: a bearer secret that attaches another connection to a login.
/// Zeroized on drop; `Debug` does not show it; `==` takes the same time whatever the bytes.
#[derive(Clone)]
pub struct Ticket(Zeroizing<[u8; 32]>);

impl Ticket {
    /// The ticket with these bytes.
    #[must_use]
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The ticket's bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Constant-time: the daemon compares a presented ticket with the ones it issued, and a
/// comparison that stopped at the first differing byte would let a client that can time the
/// answer guess a ticket byte by byte. Every byte is folded in, with no early exit, and the
/// result goes through `black_box` so the optimizer has no reason to add one back.
impl PartialEq for Ticket {
    fn eq(&self, other: &Self) -> bool {
        let difference = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        core::hint::black_box(difference) == 0
    }
}

impl Eq for Ticket {}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket(<redacted>)")
    }
}

impl Wire for Ticket {
    const MIN_LEN: usize = 33;

    fn encode(&self, w: &mut Writer) {
        w.bytes(&*self.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let bytes = r.bytes(32)?;
        if bytes.len() != 32 {
            return Err(r.error_at(at, Status::ValueOutOfRange));
        }
        // Copied straight into the zeroizing buffer, leaving no stray copy on the stack.
        let mut ticket = Zeroizing::new([0; 32]);
        ticket
            .iter_mut()
            .zip(bytes)
            .for_each(|(slot, byte)| *slot = *byte);
        Ok(Self(ticket))
    }
}

wire_map! {
    /// A secret (a PIN, a backup secret) sealed to the partition's credential key: ECDH P-384
    /// with a client ephemeral key, HKDF, AES-256-GCM, bound to the connection's nonce. The
    /// device opens it; this crate only carries it.
    pub struct SealedSecret {
        /// The client's ephemeral P-384 public key, SEC1 uncompressed (97 bytes for P-384).
        0 => ephemeral_public_key: EcPoint,
        /// The connection nonce from `GetCredentialKey` that the secret is bound to.
        1 => nonce: Nonce,
        /// AES-GCM ciphertext with its 16-byte tag appended.
        2 => ciphertext: Bytes<MAX_SEALED_LEN>,
    }
}

wire_map! {
    /// A partition's quotas.
    pub struct Quotas {
        /// Most persistent and session objects.
        0 => max_objects: u32,
        /// Most sessions open at once.
        1 => max_sessions: u32,
        /// Most logins at once.
        2 => max_logins: u32,
        /// Most bytes in the values of data objects, summed.
        3 => max_data_object_bytes: u32,
        /// Most connections to the partition's socket at once.
        4 => max_connections: u32,
        /// Its share of the module's locked memory, in bytes: what its keys, sessions and
        /// operations in progress may hold there. Reserved when the partition is made.
        5 => max_locked_bytes: u32,
    }
}

wire_enum! {
    /// The build the device runs.
    pub enum DeviceMode: u8 {
        /// A production build: no test hooks.
        Production = 1,
        /// A development build.
        Development = 2,
    }
}

wire_enum! {
    /// Why the device is in its error state.
    pub enum ErrorCause: u8 {
        /// A power-on or on-demand self-test failed.
        SelfTest = 1,
        /// A generated key pair failed its pairwise-consistency test.
        PairwiseTest = 2,
        /// The crypto engine latched its error state for another reason.
        Engine = 3,
        /// Persisted state failed an integrity check.
        Integrity = 4,
        /// The store is older than its monotonic counter: an older copy was put back.
        Rollback = 5,
        /// The store could not be opened or written.
        StoreUnavailable = 6,
        /// The keys in the store did not fit the locked memory at power-on (the module
        /// never keeps a key anywhere else): give it more locked memory.
        LockedMemory = 7,
    }
}

wire_enum! {
    /// The device lifecycle state.
    pub enum DeviceState: u8 {
        /// Starting; self-tests have not begun.
        PoweringOn = 1,
        /// Power-on self-tests are running.
        SelfTesting = 2,
        /// Serving requests.
        Operational = 3,
        /// A hard error is latched: keys zeroized, cryptography refused.
        Error = 4,
        /// A tamper input fired: zeroized.
        Tampered = 5,
    }
}

wire_enum! {
    /// A hash function.
    pub enum HashAlg: u8 {
        /// SHA-256.
        Sha256 = 1,
        /// SHA-384.
        Sha384 = 2,
        /// SHA-512.
        Sha512 = 3,
    }
}

wire_enum! {
    /// An elliptic curve.
    pub enum Curve: u8 {
        /// NIST P-256 (secp256r1).
        P256 = 1,
        /// NIST P-384 (secp384r1).
        P384 = 2,
        /// NIST P-521 (secp521r1).
        P521 = 3,
    }
}

wire_enum! {
    /// What an object is.
    pub enum ObjectClass: u8 {
        /// Application data.
        Data = 1,
        /// A certificate.
        Certificate = 2,
        /// A public key.
        PublicKey = 3,
        /// A private key.
        PrivateKey = 4,
        /// A secret (symmetric) key.
        SecretKey = 5,
    }
}

wire_enum! {
    /// The type of a key.
    pub enum KeyType: u8 {
        /// AES, 128, 192 or 256 bits.
        Aes = 1,
        /// AES-XTS: two AES-256 keys, 512 bits.
        AesXts = 2,
        /// A generic secret (HMAC keys, derivation inputs).
        GenericSecret = 3,
        /// An elliptic-curve key.
        Ec = 4,
        /// An RSA key.
        Rsa = 5,
    }
}

wire_enum! {
    /// The type of a certificate.
    pub enum CertificateType: u8 {
        /// X.509 (DER).
        X509 = 1,
    }
}

wire_enum! {
    /// The key agreement or transport used to import a key.
    pub enum ImportKeyKind: u8 {
        /// ECDH P-384 with a client ephemeral key, then AES key wrap with padding.
        EcdhP384 = 1,
        /// RSA-OAEP (SHA-256) to the partition's RSA-3072 import key, as `RsaAesKeyWrap`.
        RsaOaep = 2,
    }
}

wire_enum! {
    /// A kind of multi-part operation; a session holds at most one of each.
    pub enum OperationKind: u8 {
        /// Encryption.
        Encrypt = 1,
        /// Decryption.
        Decrypt = 2,
        /// Signing (including MACs).
        Sign = 3,
        /// Verification (including MACs).
        Verify = 4,
        /// Digesting.
        Digest = 5,
    }
}

fn is_partition_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::codec::decode_one as decode;

    #[test]
    fn partition_names_are_validated() {
        assert!(PartitionName::new("tenant-a_01").is_ok());
        for bad in ["", "Tenant", "a b", "é", &"a".repeat(65)] {
            assert_eq!(PartitionName::new(bad), Err(BoundsError), "{bad:?}");
        }
        assert_eq!(
            decode::<PartitionName>(&[0x61, b'A']),
            Err(Status::ValueOutOfRange)
        );
        assert_eq!(
            decode::<PartitionName>(&[0x60]),
            Err(Status::ValueOutOfRange)
        );
    }

    #[test]
    fn tickets_are_exactly_32_bytes_and_redacted() {
        let mut bytes = vec![0x58, 32];
        bytes.extend([7; 32]);
        let ticket = decode::<Ticket>(&bytes).unwrap();
        assert_eq!(ticket.expose(), &[7; 32]);
        assert_eq!(format!("{ticket:?}"), "Ticket(<redacted>)");
        assert_eq!(decode::<Ticket>(&[0x41, 0]), Err(Status::ValueOutOfRange));
    }

    #[test]
    fn tickets_compare_every_byte() {
        let ticket = Ticket::new([7; 32]);
        assert!(ticket == Ticket::new([7; 32]));
        for at in [0, 15, 31] {
            let mut other = [7; 32];
            other[at] ^= 0x80;
            assert!(ticket != Ticket::new(other), "differs at {at}");
        }
    }
}
