//! Mechanisms: which algorithm an operation uses, with its parameters.
//!
//! A mechanism is a tagged map: key 0 (first) is the [`MechanismId`], the other keys are that
//! mechanism's parameters. A key not defined for the mechanism is
//! [`Status::UnknownField`](crate::Status::UnknownField), a missing required parameter
//! [`Status::MissingField`](crate::Status::MissingField).

use crate::codec::{Entries, Reader, Wire, Writer};
use crate::{AesKeySize, BoundedU32, BoundsError, Bytes, DecodeError, EcPoint, HashAlg, Status};

/// The largest AES-GCM additional authenticated data: 64 KiB.
pub const MAX_AAD_LEN: usize = 64 << 10;
/// The largest KDF or OAEP input parameter (salt, info, label, context): 1024 bytes.
pub const MAX_KDF_PARAM_LEN: usize = 1024;

/// An RSA-PSS salt length in bytes: `0..=512`.
pub type SaltLen = BoundedU32<0, 512>;

/// An AES-GCM tag length: 96 to 128 bits, a multiple of 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GcmTagBits(u8);

impl GcmTagBits {
    /// 128 bits, the length when the field is absent.
    pub const DEFAULT: Self = Self(128);

    /// Takes `bits` if it is 96, 104, 112, 120 or 128.
    pub const fn new(bits: u32) -> Result<Self, BoundsError> {
        match bits {
            96 => Ok(Self(96)),
            104 => Ok(Self(104)),
            112 => Ok(Self(112)),
            120 => Ok(Self(120)),
            128 => Ok(Self(128)),
            _ => Err(BoundsError),
        }
    }

    /// The length in bits.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0 as u32
    }
}

impl Wire for GcmTagBits {
    fn encode(&self, w: &mut Writer) {
        w.uint(u64::from(self.0));
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let bits = r.uint()?;
        u32::try_from(bits)
            .ok()
            .and_then(|bits| Self::new(bits).ok())
            .ok_or_else(|| r.error_at(at, Status::ValueOutOfRange))
    }
}

wire_enum! {
    /// A mechanism: the algorithm of an operation. Grouped by the high byte: `0x01` AES,
    /// `0x02` digests, `0x03` HMAC, `0x04` ECDSA, `0x05` RSA, `0x06` key agreement and
    /// derivation, `0x07` key generation (recorded in `KeyGenMechanism`), `0x08` key entry.
    pub enum MechanismId: u16 {
        /// AES-GCM encryption and decryption; [`AesGcmParams`].
        AesGcm = 0x0101,
        /// AES-CBC without padding (data a multiple of 16 bytes); [`AesCbcParams`].
        AesCbc = 0x0102,
        /// AES-CBC with PKCS#7 padding; [`AesCbcParams`].
        AesCbcPad = 0x0103,
        /// AES-XTS (IEEE 1619) with an `AesXts` key; [`AesXtsParams`].
        AesXts = 0x0104,
        /// AES key wrap (RFC 3394, default IV); no parameters.
        AesKeyWrap = 0x0105,
        /// AES key wrap with padding (RFC 5649); no parameters.
        AesKeyWrapPad = 0x0106,
        /// SHA-256 digest; no parameters.
        Sha256 = 0x0201,
        /// SHA-384 digest; no parameters.
        Sha384 = 0x0202,
        /// SHA-512 digest; no parameters.
        Sha512 = 0x0203,
        /// HMAC-SHA-256 (full-length MAC); no parameters.
        HmacSha256 = 0x0301,
        /// HMAC-SHA-384; no parameters.
        HmacSha384 = 0x0302,
        /// HMAC-SHA-512; no parameters.
        HmacSha512 = 0x0303,
        /// ECDSA over a digest the caller computed (the data is the digest); no parameters.
        Ecdsa = 0x0400,
        /// ECDSA with SHA-256 over the message; no parameters.
        EcdsaSha256 = 0x0401,
        /// ECDSA with SHA-384 over the message; no parameters.
        EcdsaSha384 = 0x0402,
        /// ECDSA with SHA-512 over the message; no parameters.
        EcdsaSha512 = 0x0403,
        /// RSA PKCS#1 v1.5 signature over a DigestInfo the caller built; no parameters.
        RsaPkcs1 = 0x0500,
        /// RSA PKCS#1 v1.5 signature with SHA-256; no parameters.
        RsaPkcs1Sha256 = 0x0501,
        /// RSA PKCS#1 v1.5 signature with SHA-384; no parameters.
        RsaPkcs1Sha384 = 0x0502,
        /// RSA PKCS#1 v1.5 signature with SHA-512; no parameters.
        RsaPkcs1Sha512 = 0x0503,
        /// RSA-PSS over a digest the caller computed; [`RsaPssParams`].
        RsaPss = 0x0510,
        /// RSA-PSS with SHA-256 (MGF1-SHA-256); [`PssSaltParams`].
        RsaPssSha256 = 0x0511,
        /// RSA-PSS with SHA-384 (MGF1-SHA-384); [`PssSaltParams`].
        RsaPssSha384 = 0x0512,
        /// RSA-PSS with SHA-512 (MGF1-SHA-512); [`PssSaltParams`].
        RsaPssSha512 = 0x0513,
        /// RSA-OAEP encryption and key wrap; [`RsaOaepParams`].
        RsaOaep = 0x0520,
        /// RSA-OAEP of a fresh AES key, then AES key wrap with padding of the target key
        /// (PKCS#11 `CKM_RSA_AES_KEY_WRAP`); [`RsaAesKeyWrapParams`].
        RsaAesKeyWrap = 0x0530,
        /// ECDH (cofactor) key agreement: the derived key's value is the shared secret's
        /// x-coordinate, truncated to the template's `ValueLen`; [`EcdhParams`].
        Ecdh = 0x0601,
        /// HKDF (RFC 5869) extract and expand; [`HkdfParams`].
        Hkdf = 0x0602,
        /// SP 800-108 KDF in counter mode with HMAC; [`Sp800108Params`].
        Sp800108CounterHmac = 0x0603,
        /// AES key generation; no parameters.
        AesKeyGen = 0x0701,
        /// AES-XTS key generation; no parameters.
        AesXtsKeyGen = 0x0702,
        /// Generic secret generation; no parameters.
        GenericSecretKeyGen = 0x0703,
        /// EC key pair generation; no parameters.
        EcKeyPairGen = 0x0704,
        /// RSA key pair generation; no parameters.
        RsaKeyPairGen = 0x0705,
        /// Entering a secret or private key's value in plaintext through `CreateObject`:
        /// never approved, served only by builds with test hooks (to load test vectors), and
        /// only in a partition whose policy lists it; no parameters.
        KeyValueImport = 0x0801,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::AesGcm`]. The ciphertext carries the tag appended.
    pub struct AesGcmParams {
        /// The 12-byte IV: given for decryption only. For encryption the module makes the IV
        /// and returns it; an IV given to an encryption is `MechanismParamInvalid`.
        1 => iv: Option<[u8; 12]>,
        /// Additional authenticated data; absent means empty.
        2 => aad: Option<Bytes<MAX_AAD_LEN>>,
        /// Tag length; absent means [`GcmTagBits::DEFAULT`] (128 bits).
        3 => tag_bits: Option<GcmTagBits>,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::AesCbc`] and [`MechanismId::AesCbcPad`].
    pub struct AesCbcParams {
        /// The 16-byte IV.
        1 => iv: [u8; 16],
    }
}

wire_map! {
    /// Parameters of [`MechanismId::AesXts`].
    pub struct AesXtsParams {
        /// The 16-byte tweak (the data unit's sequence number, as IEEE 1619).
        1 => tweak: [u8; 16],
    }
}

wire_map! {
    /// Parameters of [`MechanismId::RsaPss`] (the caller supplies the digest).
    pub struct RsaPssParams {
        /// The hash the digest was made with; also the MGF1 hash.
        1 => hash: HashAlg,
        /// The salt length in bytes.
        2 => salt_len: SaltLen,
    }
}

wire_map! {
    /// Parameters of the RSA-PSS mechanisms that hash the message themselves.
    pub struct PssSaltParams {
        /// The salt length in bytes.
        1 => salt_len: SaltLen,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::RsaOaep`].
    pub struct RsaOaepParams {
        /// The hash, also the MGF1 hash.
        1 => hash: HashAlg,
        /// The OAEP label; absent means empty.
        2 => label: Option<Bytes<MAX_KDF_PARAM_LEN>>,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::RsaAesKeyWrap`].
    pub struct RsaAesKeyWrapParams {
        /// The OAEP hash (also the MGF1 hash); the OAEP label is empty.
        1 => hash: HashAlg,
        /// The size of the fresh AES key.
        2 => aes_size: AesKeySize,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::Ecdh`].
    pub struct EcdhParams {
        /// The peer's public key, SEC1 uncompressed, on the base key's curve.
        1 => peer_public_key: EcPoint,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::Hkdf`]; the derived length is the template's `ValueLen`.
    pub struct HkdfParams {
        /// The HMAC hash.
        1 => hash: HashAlg,
        /// The salt; absent means a string of zeros of the hash length (RFC 5869).
        2 => salt: Option<Bytes<MAX_KDF_PARAM_LEN>>,
        /// The info; absent means empty.
        3 => info: Option<Bytes<MAX_KDF_PARAM_LEN>>,
    }
}

wire_map! {
    /// Parameters of [`MechanismId::Sp800108CounterHmac`]: a 32-bit big-endian counter
    /// before `label || 0x00 || context || L` (L: the output length in bits, 32-bit
    /// big-endian); the derived length is the template's `ValueLen`.
    pub struct Sp800108Params {
        /// The HMAC hash.
        1 => hash: HashAlg,
        /// The label (may be empty).
        2 => label: Bytes<MAX_KDF_PARAM_LEN>,
        /// The context (may be empty).
        3 => context: Bytes<MAX_KDF_PARAM_LEN>,
    }
}

/// A mechanism with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// [`MechanismId::AesGcm`] with [`AesGcmParams`].
    AesGcm(AesGcmParams),
    /// [`MechanismId::AesCbc`] with [`AesCbcParams`].
    AesCbc(AesCbcParams),
    /// [`MechanismId::AesCbcPad`] with [`AesCbcParams`].
    AesCbcPad(AesCbcParams),
    /// [`MechanismId::AesXts`] with [`AesXtsParams`].
    AesXts(AesXtsParams),
    /// [`MechanismId::AesKeyWrap`].
    AesKeyWrap,
    /// [`MechanismId::AesKeyWrapPad`].
    AesKeyWrapPad,
    /// [`MechanismId::Sha256`].
    Sha256,
    /// [`MechanismId::Sha384`].
    Sha384,
    /// [`MechanismId::Sha512`].
    Sha512,
    /// [`MechanismId::HmacSha256`].
    HmacSha256,
    /// [`MechanismId::HmacSha384`].
    HmacSha384,
    /// [`MechanismId::HmacSha512`].
    HmacSha512,
    /// [`MechanismId::Ecdsa`].
    Ecdsa,
    /// [`MechanismId::EcdsaSha256`].
    EcdsaSha256,
    /// [`MechanismId::EcdsaSha384`].
    EcdsaSha384,
    /// [`MechanismId::EcdsaSha512`].
    EcdsaSha512,
    /// [`MechanismId::RsaPkcs1`].
    RsaPkcs1,
    /// [`MechanismId::RsaPkcs1Sha256`].
    RsaPkcs1Sha256,
    /// [`MechanismId::RsaPkcs1Sha384`].
    RsaPkcs1Sha384,
    /// [`MechanismId::RsaPkcs1Sha512`].
    RsaPkcs1Sha512,
    /// [`MechanismId::RsaPss`] with [`RsaPssParams`].
    RsaPss(RsaPssParams),
    /// [`MechanismId::RsaPssSha256`] with [`PssSaltParams`].
    RsaPssSha256(PssSaltParams),
    /// [`MechanismId::RsaPssSha384`] with [`PssSaltParams`].
    RsaPssSha384(PssSaltParams),
    /// [`MechanismId::RsaPssSha512`] with [`PssSaltParams`].
    RsaPssSha512(PssSaltParams),
    /// [`MechanismId::RsaOaep`] with [`RsaOaepParams`].
    RsaOaep(RsaOaepParams),
    /// [`MechanismId::RsaAesKeyWrap`] with [`RsaAesKeyWrapParams`].
    RsaAesKeyWrap(RsaAesKeyWrapParams),
    /// [`MechanismId::Ecdh`] with [`EcdhParams`].
    Ecdh(EcdhParams),
    /// [`MechanismId::Hkdf`] with [`HkdfParams`].
    Hkdf(HkdfParams),
    /// [`MechanismId::Sp800108CounterHmac`] with [`Sp800108Params`].
    Sp800108CounterHmac(Sp800108Params),
    /// [`MechanismId::AesKeyGen`].
    AesKeyGen,
    /// [`MechanismId::AesXtsKeyGen`].
    AesXtsKeyGen,
    /// [`MechanismId::GenericSecretKeyGen`].
    GenericSecretKeyGen,
    /// [`MechanismId::EcKeyPairGen`].
    EcKeyPairGen,
    /// [`MechanismId::RsaKeyPairGen`].
    RsaKeyPairGen,
    /// [`MechanismId::KeyValueImport`].
    KeyValueImport,
}

impl Mechanism {
    /// The mechanism's id.
    #[must_use]
    pub fn id(&self) -> MechanismId {
        self.parts().0
    }

    /// The id, and the parameters if the mechanism has any.
    fn parts(&self) -> (MechanismId, Option<&dyn Entries>) {
        use MechanismId as Id;
        match self {
            Self::AesGcm(p) => (Id::AesGcm, Some(p)),
            Self::AesCbc(p) => (Id::AesCbc, Some(p)),
            Self::AesCbcPad(p) => (Id::AesCbcPad, Some(p)),
            Self::AesXts(p) => (Id::AesXts, Some(p)),
            Self::AesKeyWrap => (Id::AesKeyWrap, None),
            Self::AesKeyWrapPad => (Id::AesKeyWrapPad, None),
            Self::Sha256 => (Id::Sha256, None),
            Self::Sha384 => (Id::Sha384, None),
            Self::Sha512 => (Id::Sha512, None),
            Self::HmacSha256 => (Id::HmacSha256, None),
            Self::HmacSha384 => (Id::HmacSha384, None),
            Self::HmacSha512 => (Id::HmacSha512, None),
            Self::Ecdsa => (Id::Ecdsa, None),
            Self::EcdsaSha256 => (Id::EcdsaSha256, None),
            Self::EcdsaSha384 => (Id::EcdsaSha384, None),
            Self::EcdsaSha512 => (Id::EcdsaSha512, None),
            Self::RsaPkcs1 => (Id::RsaPkcs1, None),
            Self::RsaPkcs1Sha256 => (Id::RsaPkcs1Sha256, None),
            Self::RsaPkcs1Sha384 => (Id::RsaPkcs1Sha384, None),
            Self::RsaPkcs1Sha512 => (Id::RsaPkcs1Sha512, None),
            Self::RsaPss(p) => (Id::RsaPss, Some(p)),
            Self::RsaPssSha256(p) => (Id::RsaPssSha256, Some(p)),
            Self::RsaPssSha384(p) => (Id::RsaPssSha384, Some(p)),
            Self::RsaPssSha512(p) => (Id::RsaPssSha512, Some(p)),
            Self::RsaOaep(p) => (Id::RsaOaep, Some(p)),
            Self::RsaAesKeyWrap(p) => (Id::RsaAesKeyWrap, Some(p)),
            Self::Ecdh(p) => (Id::Ecdh, Some(p)),
            Self::Hkdf(p) => (Id::Hkdf, Some(p)),
            Self::Sp800108CounterHmac(p) => (Id::Sp800108CounterHmac, Some(p)),
            Self::AesKeyGen => (Id::AesKeyGen, None),
            Self::AesXtsKeyGen => (Id::AesXtsKeyGen, None),
            Self::GenericSecretKeyGen => (Id::GenericSecretKeyGen, None),
            Self::EcKeyPairGen => (Id::EcKeyPairGen, None),
            Self::RsaKeyPairGen => (Id::RsaKeyPairGen, None),
            Self::KeyValueImport => (Id::KeyValueImport, None),
        }
    }
}

impl Wire for Mechanism {
    const MIN_LEN: usize = 3;

    fn encode(&self, w: &mut Writer) {
        let (id, params) = self.parts();
        w.map(1 + params.map_or(0, Entries::entry_count));
        w.uint(0);
        id.encode(w);
        if let Some(params) = params {
            params.encode_entries(w);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use MechanismId as Id;
        let mut map = r.map()?;
        match map.tag(r)? {
            Id::AesGcm => AesGcmParams::decode_entries(r, map).map(Self::AesGcm),
            Id::AesCbc => AesCbcParams::decode_entries(r, map).map(Self::AesCbc),
            Id::AesCbcPad => AesCbcParams::decode_entries(r, map).map(Self::AesCbcPad),
            Id::AesXts => AesXtsParams::decode_entries(r, map).map(Self::AesXts),
            Id::AesKeyWrap => map.end(r).map(|()| Self::AesKeyWrap),
            Id::AesKeyWrapPad => map.end(r).map(|()| Self::AesKeyWrapPad),
            Id::Sha256 => map.end(r).map(|()| Self::Sha256),
            Id::Sha384 => map.end(r).map(|()| Self::Sha384),
            Id::Sha512 => map.end(r).map(|()| Self::Sha512),
            Id::HmacSha256 => map.end(r).map(|()| Self::HmacSha256),
            Id::HmacSha384 => map.end(r).map(|()| Self::HmacSha384),
            Id::HmacSha512 => map.end(r).map(|()| Self::HmacSha512),
            Id::Ecdsa => map.end(r).map(|()| Self::Ecdsa),
            Id::EcdsaSha256 => map.end(r).map(|()| Self::EcdsaSha256),
            Id::EcdsaSha384 => map.end(r).map(|()| Self::EcdsaSha384),
            Id::EcdsaSha512 => map.end(r).map(|()| Self::EcdsaSha512),
            Id::RsaPkcs1 => map.end(r).map(|()| Self::RsaPkcs1),
            Id::RsaPkcs1Sha256 => map.end(r).map(|()| Self::RsaPkcs1Sha256),
            Id::RsaPkcs1Sha384 => map.end(r).map(|()| Self::RsaPkcs1Sha384),
            Id::RsaPkcs1Sha512 => map.end(r).map(|()| Self::RsaPkcs1Sha512),
            Id::RsaPss => RsaPssParams::decode_entries(r, map).map(Self::RsaPss),
            Id::RsaPssSha256 => PssSaltParams::decode_entries(r, map).map(Self::RsaPssSha256),
            Id::RsaPssSha384 => PssSaltParams::decode_entries(r, map).map(Self::RsaPssSha384),
            Id::RsaPssSha512 => PssSaltParams::decode_entries(r, map).map(Self::RsaPssSha512),
            Id::RsaOaep => RsaOaepParams::decode_entries(r, map).map(Self::RsaOaep),
            Id::RsaAesKeyWrap => {
                RsaAesKeyWrapParams::decode_entries(r, map).map(Self::RsaAesKeyWrap)
            }
            Id::Ecdh => EcdhParams::decode_entries(r, map).map(Self::Ecdh),
            Id::Hkdf => HkdfParams::decode_entries(r, map).map(Self::Hkdf),
            Id::Sp800108CounterHmac => {
                Sp800108Params::decode_entries(r, map).map(Self::Sp800108CounterHmac)
            }
            Id::AesKeyGen => map.end(r).map(|()| Self::AesKeyGen),
            Id::AesXtsKeyGen => map.end(r).map(|()| Self::AesXtsKeyGen),
            Id::GenericSecretKeyGen => map.end(r).map(|()| Self::GenericSecretKeyGen),
            Id::EcKeyPairGen => map.end(r).map(|()| Self::EcKeyPairGen),
            Id::RsaKeyPairGen => map.end(r).map(|()| Self::RsaKeyPairGen),
            Id::KeyValueImport => map.end(r).map(|()| Self::KeyValueImport),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<Mechanism, Status> {
        let mut r = Reader::new(bytes);
        Mechanism::decode(&mut r).map_err(|e| e.status())
    }

    #[test]
    fn parameters_are_checked_per_mechanism() {
        // {0: Sha256}
        assert_eq!(decode(&[0xa1, 0, 0x19, 0x02, 0x01]), Ok(Mechanism::Sha256));
        // {0: Sha256, 1: 0}: Sha256 has no parameter 1.
        assert_eq!(
            decode(&[0xa2, 0, 0x19, 0x02, 0x01, 1, 0]),
            Err(Status::UnknownField)
        );
        // {0: AesCbc}: the IV is required.
        assert_eq!(
            decode(&[0xa1, 0, 0x19, 0x01, 0x02]),
            Err(Status::MissingField)
        );
        // {0: AesCbc, 1: h'00'}: the IV is 16 bytes.
        assert_eq!(
            decode(&[0xa2, 0, 0x19, 0x01, 0x02, 1, 0x41, 0]),
            Err(Status::ValueOutOfRange)
        );
        // {0: AesCbc, 0: AesCbc}
        assert_eq!(
            decode(&[0xa2, 0, 0x19, 0x01, 0x02, 0, 0x19, 0x01, 0x02]),
            Err(Status::DuplicateField)
        );
        // {0: 0x0999}
        assert_eq!(
            decode(&[0xa1, 0, 0x19, 0x09, 0x99]),
            Err(Status::UnknownEnumValue)
        );
    }

    #[test]
    fn gcm_tag_lengths_are_checked() {
        assert_eq!(GcmTagBits::new(100), Err(BoundsError));
        assert_eq!(GcmTagBits::new(136), Err(BoundsError));
        assert_eq!(GcmTagBits::new(96).map(GcmTagBits::get), Ok(96));
        assert_eq!(
            GcmTagBits::decode(&mut Reader::new(&[0x18, 88])).map_err(|e| e.status()),
            Err(Status::ValueOutOfRange)
        );
    }

    #[test]
    fn gcm_defaults_are_omitted() {
        let gcm = Mechanism::AesGcm(AesGcmParams {
            iv: None,
            aad: None,
            tag_bits: None,
        });
        let mut w = Writer::with_reserved(0);
        gcm.encode(&mut w);
        assert_eq!(&w.into_bytes()[..], &[0xa1, 0, 0x19, 0x01, 0x01]);
    }
}
