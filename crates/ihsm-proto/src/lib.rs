//! The ihsm wire protocol: frames, the strict CBOR codec, every message type and the status
//! codes. `docs/design/protocol.md` is the normative description; this crate is its one
//! implementation, shared by the daemon, the SDK, the PKCS#11 module and the CLI.
//!
//! A frame is a 4-byte big-endian length, then a CBOR array `[header, body]` ([`frame`]).
//! [`Request::decode`] and [`Response::decode`] turn untrusted bytes into domain types
//! ([`Handle`], [`PartitionName`], [`Mechanism`], ...) or a [`DecodeError`] naming exactly one
//! `0x01xx` [`Status`]; after decoding, no caller sees raw wire values again.
//!
//! This crate must never do I/O (no sockets, no files), never do cryptography, never panic
//! or allocate beyond a bound proportional to its input on any input, and never skip a field
//! it does not know: unknown keys, opcodes and enum values are refused, each with its own
//! status. The one value accepted unknown is a response's status, which a newer server may
//! send: it is kept as an [`ErrorStatus::Unknown`], a failure of its group. Secret-bearing
//! fields are zeroized on drop and redacted in `Debug`.

#![forbid(unsafe_code)]

#[macro_use]
mod macros;

mod attribute;
mod bounded;
mod codec;
mod error;
pub mod frame;
mod header;
mod ids;
mod keyspec;
pub mod layout;
mod mechanism;
mod message;
pub mod msgs;
mod status;
mod types;

pub use attribute::{
    Attribute, AttributeList, AttributeReading, AttributeType, AttributeTypes, Template,
    MAX_ATTRIBUTE_TEXT_LEN, MAX_NAME_DER_LEN, MAX_TEMPLATE_LEN,
};
pub use bounded::{BoundedU32, Bytes, List, SecretBytes, Text};
pub use codec::wipe;
pub use error::{BoundsError, DecodeError, EncodeError, RequestError, UnknownValue};
pub use frame::{Limits, DEFAULT_MAX_FRAME_LEN, MAX_DATA_LEN};
pub use header::PROTOCOL_VERSION;
pub use ids::{Handle, LoginId, RequestId, SessionId};
pub use keyspec::{AesKeySize, GenericSecretLen, KeyPairSpec, KeySpec, RsaKeySize};
pub use mechanism::{
    AesCbcParams, AesGcmParams, AesXtsParams, EcdhParams, GcmTagBits, HkdfParams, Mechanism,
    MechanismId, PssSaltParams, RsaAesKeyWrapParams, RsaOaepParams, RsaPssParams, SaltLen,
    Sp800108Params, MAX_AAD_LEN, MAX_KDF_PARAM_LEN,
};
pub use message::{Request, Response};
pub use msgs::{Opcode, RequestBody, ResponseBody};
pub use status::{ErrorStatus, Status, UnknownStatus};
pub use types::{
    Blob, CertificateType, Cursor, Curve, Data, DataLen, DeviceMode, DeviceState, Digest, EcPoint,
    ErrorCause, FindCount, HashAlg, ImportKeyKind, KeyType, Nonce, ObjectClass, OperationKind,
    PartitionName, PublicKey, Quotas, Role, SealedSecret, Signature, Ticket, MAX_BLOB_LEN,
    MAX_CURSOR_LEN, MAX_DIGEST_LEN, MAX_EC_POINT_LEN, MAX_FIND_COUNT, MAX_NAME_LEN, MAX_PARTITIONS,
    MAX_POLICY_MECHANISMS, MAX_PUBLIC_KEY_LEN, MAX_SEALED_LEN, MAX_SELF_TESTS, MAX_SHORT_TEXT_LEN,
    MAX_SIGNATURE_LEN,
};
