//! Every message: one request and one response type per opcode, grouped by command family.
//!
//! The table at the bottom of this file is the single list of operations: it defines
//! [`Opcode`], which opcodes are made in a session, and the [`RequestBody`] and
//! [`ResponseBody`] enums with their dispatch.

mod auth;
mod crypto;
mod device;
mod keys;
mod object;
mod partition;
mod session;

pub use auth::*;
pub use crypto::*;
pub use device::*;
pub use keys::*;
pub use object::*;
pub use partition::*;
pub use session::*;

use crate::codec::{Reader, Wire, Writer};
use crate::DecodeError;

/// One field of a map type: `(key, name, required, Rust type as written)`.
#[cfg(test)]
pub(crate) type FieldSchema = (u32, &'static str, bool, &'static str);

/// A map type's name and its fields.
#[cfg(test)]
type Schema = (&'static str, &'static [FieldSchema]);

/// Defines [`Opcode`], [`RequestBody`] and [`ResponseBody`] from one table.
macro_rules! messages {
    ( $( $(#[$doc:meta])* $variant:ident = $value:literal, session: $session:literal,
        $request:ident, $response:ident; )+ ) => {
        wire_enum! {
            /// The operation a request asks for (request header key 1). Grouped by the high
            /// byte: `0x01` device, `0x02` authentication, `0x03` sessions, `0x04`
            /// partitions, `0x05` objects, `0x06` keys, `0x07` cryptography.
            pub enum Opcode: u16 {
                $( $(#[$doc])* $variant = $value, )+
            }
        }

        impl Opcode {
            /// Whether requests with this opcode are made in a session: their header must
            /// carry one (key 3), and the header of any other request must not.
            #[must_use]
            pub const fn takes_session(self) -> bool {
                match self {
                    $( Self::$variant => $session, )+
                }
            }
        }

        /// A request's body: one variant per [`Opcode`].
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum RequestBody {
            $(
                #[doc = concat!("Body of [`Opcode::", stringify!($variant), "`].")]
                $variant($request),
            )+
        }

        impl RequestBody {
            /// The opcode this body goes with.
            #[must_use]
            pub fn opcode(&self) -> Opcode {
                match self {
                    $( Self::$variant(_) => Opcode::$variant, )+
                }
            }

            pub(crate) fn encode(&self, w: &mut Writer) {
                match self {
                    $( Self::$variant(body) => body.encode(w), )+
                }
            }

            pub(crate) fn decode(opcode: Opcode, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match opcode {
                    $( Opcode::$variant => $request::decode(r).map(Self::$variant), )+
                }
            }
        }

        /// A successful response's body: one variant per [`Opcode`].
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum ResponseBody {
            $(
                #[doc = concat!("Response to [`Opcode::", stringify!($variant), "`].")]
                $variant($response),
            )+
        }

        impl ResponseBody {
            /// The opcode of the request this body answers.
            #[must_use]
            pub fn opcode(&self) -> Opcode {
                match self {
                    $( Self::$variant(_) => Opcode::$variant, )+
                }
            }

            pub(crate) fn encode(&self, w: &mut Writer) {
                match self {
                    $( Self::$variant(body) => body.encode(w), )+
                }
            }

            pub(crate) fn decode(opcode: Opcode, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match opcode {
                    $( Opcode::$variant => $response::decode(r).map(Self::$variant), )+
                }
            }
        }

        /// `(name, fields)` of every request and response, to check the protocol document.
        #[cfg(test)]
        pub(crate) const SCHEMAS: &[Schema] = &[
            $(
                (stringify!($request), $request::FIELDS),
                (stringify!($response), $response::FIELDS),
            )+
        ];

        $(
            impl From<$request> for RequestBody {
                fn from(body: $request) -> Self {
                    Self::$variant(body)
                }
            }

            impl From<$response> for ResponseBody {
                fn from(body: $response) -> Self {
                    Self::$variant(body)
                }
            }
        )+
    };
}

messages! {
    /// The device's version, mode, state and self-test results.
    GetStatus = 0x0101, session: false, GetStatusRequest, GetStatusResponse;
    /// Sets the admin credential of an uninitialized device.
    InitializeAdmin = 0x0102, session: false, InitializeAdminRequest, InitializeAdminResponse;
    /// The credential key to seal secrets to, and this connection's nonce.
    GetCredentialKey = 0x0103, session: false, GetCredentialKeyRequest, GetCredentialKeyResponse;
    /// Runs every self-test again, on demand (admin).
    RunSelfTests = 0x0104, session: true, RunSelfTestsRequest, RunSelfTestsResponse;

    /// Authenticates a role on this connection.
    Login = 0x0201, session: false, LoginRequest, LoginResponse;
    /// Ends a login and every session of it.
    Logout = 0x0202, session: false, LogoutRequest, LogoutResponse;
    /// Issues a single-use ticket that attaches another connection to a login.
    IssueTicket = 0x0203, session: false, IssueTicketRequest, IssueTicketResponse;
    /// Attaches this connection to the login a ticket was issued for.
    AttachLogin = 0x0204, session: false, AttachLoginRequest, AttachLoginResponse;
    /// Sets the PIN of a role the caller manages.
    SetPin = 0x0205, session: true, SetPinRequest, SetPinResponse;
    /// Changes the caller's own PIN.
    ChangePin = 0x0206, session: true, ChangePinRequest, ChangePinResponse;
    /// Unlocks a role locked by wrong PINs.
    UnlockRole = 0x0207, session: true, UnlockRoleRequest, UnlockRoleResponse;

    /// Opens a session of a login.
    OpenSession = 0x0301, session: false, OpenSessionRequest, OpenSessionResponse;
    /// Closes the header's session.
    CloseSession = 0x0302, session: true, CloseSessionRequest, CloseSessionResponse;
    /// Closes every session of a login.
    CloseAllSessions = 0x0303, session: false, CloseAllSessionsRequest, CloseAllSessionsResponse;
    /// The role, partition and login of the header's session.
    GetSessionInfo = 0x0304, session: true, GetSessionInfoRequest, GetSessionInfoResponse;

    /// Creates a partition (admin).
    CreatePartition = 0x0401, session: true, CreatePartitionRequest, CreatePartitionResponse;
    /// Lists the partitions (admin).
    ListPartitions = 0x0402, session: true, ListPartitionsRequest, ListPartitionsResponse;
    /// Deletes a partition and everything in it (admin).
    DeletePartition = 0x0403, session: true, DeletePartitionRequest, DeletePartitionResponse;
    /// The session's partition policy.
    GetPartitionPolicy = 0x0404, session: true, GetPartitionPolicyRequest, GetPartitionPolicyResponse;
    /// Replaces the session's partition policy (officer).
    SetPartitionPolicy = 0x0405, session: true, SetPartitionPolicyRequest, SetPartitionPolicyResponse;
    /// Destroys every key and object of the session's partition (officer).
    ZeroizePartition = 0x0406, session: true, ZeroizePartitionRequest, ZeroizePartitionResponse;
    /// Sets the first officer PIN and the backup secret of the socket's partition.
    InitializePartition = 0x0407, session: false, InitializePartitionRequest, InitializePartitionResponse;
    /// Destroys everything in a partition and returns it to uninitialized (admin).
    ResetPartition = 0x0408, session: true, ResetPartitionRequest, ResetPartitionResponse;
    /// The socket's partition: its state, quotas and use.
    GetPartitionInfo = 0x0409, session: false, GetPartitionInfoRequest, GetPartitionInfoResponse;

    /// Creates an object from a template.
    CreateObject = 0x0501, session: true, CreateObjectRequest, CreateObjectResponse;
    /// Copies an object, changing the attributes of a template.
    CopyObject = 0x0502, session: true, CopyObjectRequest, CopyObjectResponse;
    /// Destroys an object.
    DestroyObject = 0x0503, session: true, DestroyObjectRequest, DestroyObjectResponse;
    /// Reads attributes of an object.
    GetAttributes = 0x0504, session: true, GetAttributesRequest, GetAttributesResponse;
    /// Changes attributes of an object.
    SetAttributes = 0x0505, session: true, SetAttributesRequest, SetAttributesResponse;
    /// Finds objects matching a template, a page at a time.
    FindObjects = 0x0506, session: true, FindObjectsRequest, FindObjectsResponse;

    /// Generates a secret key.
    GenerateKey = 0x0601, session: true, GenerateKeyRequest, GenerateKeyResponse;
    /// Generates a key pair.
    GenerateKeyPair = 0x0602, session: true, GenerateKeyPairRequest, GenerateKeyPairResponse;
    /// Wraps a key with another key.
    WrapKey = 0x0603, session: true, WrapKeyRequest, WrapKeyResponse;
    /// Unwraps a key into a new object.
    UnwrapKey = 0x0604, session: true, UnwrapKeyRequest, UnwrapKeyResponse;
    /// Derives a key from a base key.
    DeriveKey = 0x0605, session: true, DeriveKeyRequest, DeriveKeyResponse;
    /// The partition's signed import key of a kind.
    GetImportKey = 0x0606, session: true, GetImportKeyRequest, GetImportKeyResponse;
    /// Imports a key wrapped to the partition's import key.
    ImportKey = 0x0607, session: true, ImportKeyRequest, ImportKeyResponse;
    /// Exports a key as a blob masked with the partition masking key.
    MaskKey = 0x0608, session: true, MaskKeyRequest, MaskKeyResponse;
    /// Restores a key from a masked blob.
    UnmaskKey = 0x0609, session: true, UnmaskKeyRequest, UnmaskKeyResponse;

    /// Encrypts in one call.
    Encrypt = 0x0701, session: true, EncryptRequest, EncryptResponse;
    /// Starts a multi-part encryption.
    EncryptInit = 0x0702, session: true, EncryptInitRequest, EncryptInitResponse;
    /// Continues a multi-part encryption.
    EncryptUpdate = 0x0703, session: true, EncryptUpdateRequest, EncryptUpdateResponse;
    /// Finishes a multi-part encryption.
    EncryptFinal = 0x0704, session: true, EncryptFinalRequest, EncryptFinalResponse;
    /// Decrypts in one call.
    Decrypt = 0x0711, session: true, DecryptRequest, DecryptResponse;
    /// Starts a multi-part decryption.
    DecryptInit = 0x0712, session: true, DecryptInitRequest, DecryptInitResponse;
    /// Continues a multi-part decryption.
    DecryptUpdate = 0x0713, session: true, DecryptUpdateRequest, DecryptUpdateResponse;
    /// Finishes a multi-part decryption.
    DecryptFinal = 0x0714, session: true, DecryptFinalRequest, DecryptFinalResponse;
    /// Signs (or computes a MAC) in one call.
    Sign = 0x0721, session: true, SignRequest, SignResponse;
    /// Starts a multi-part signature.
    SignInit = 0x0722, session: true, SignInitRequest, SignInitResponse;
    /// Continues a multi-part signature.
    SignUpdate = 0x0723, session: true, SignUpdateRequest, SignUpdateResponse;
    /// Finishes a multi-part signature.
    SignFinal = 0x0724, session: true, SignFinalRequest, SignFinalResponse;
    /// Verifies (or checks a MAC) in one call.
    Verify = 0x0731, session: true, VerifyRequest, VerifyResponse;
    /// Starts a multi-part verification.
    VerifyInit = 0x0732, session: true, VerifyInitRequest, VerifyInitResponse;
    /// Continues a multi-part verification.
    VerifyUpdate = 0x0733, session: true, VerifyUpdateRequest, VerifyUpdateResponse;
    /// Finishes a multi-part verification.
    VerifyFinal = 0x0734, session: true, VerifyFinalRequest, VerifyFinalResponse;
    /// Digests in one call.
    Digest = 0x0741, session: true, DigestRequest, DigestResponse;
    /// Starts a multi-part digest.
    DigestInit = 0x0742, session: true, DigestInitRequest, DigestInitResponse;
    /// Continues a multi-part digest.
    DigestUpdate = 0x0743, session: true, DigestUpdateRequest, DigestUpdateResponse;
    /// Finishes a multi-part digest.
    DigestFinal = 0x0744, session: true, DigestFinalRequest, DigestFinalResponse;
    /// Random bytes from the module's DRBG.
    GenerateRandom = 0x0751, session: true, GenerateRandomRequest, GenerateRandomResponse;
    /// Abandons the session's active operation of a kind.
    CancelOperation = 0x0752, session: true, CancelOperationRequest, CancelOperationResponse;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    const PROTOCOL_MD: &str = include_str!("../../../../docs/design/protocol.md");

    /// A field as the document lists it: key, name, required, type notation.
    type Documented = (u32, String, bool, String);

    /// The fields of the document's `Name { ... }` block: one line per field,
    /// `KEY  NAME  TYPE  DESCRIPTION`, the key suffixed with `?` when the field is optional,
    /// the type ending at the first run of two spaces; other lines continue a description.
    fn documented(name: &str) -> Option<Vec<Documented>> {
        if PROTOCOL_MD
            .lines()
            .any(|line| line.trim() == format!("{name} {{}}"))
        {
            return Some(Vec::new());
        }
        let open = format!("{name} {{");
        let mut lines = PROTOCOL_MD.lines().skip_while(|line| line.trim() != open);
        lines.next()?;
        let mut fields = Vec::new();
        for line in lines.map(str::trim) {
            if line == "}" {
                return Some(fields);
            }
            let (key, rest) = line.split_once(' ')?;
            let (key, required) = match key.strip_suffix('?') {
                Some(key) => (key, false),
                None => (key, true),
            };
            // A line not starting with a key continues the previous field's description.
            if let Ok(key) = key.parse() {
                let (field, rest) = rest.trim_start().split_once(' ')?;
                let notation = rest.trim_start().split("  ").next()?.trim();
                fields.push((key, field.to_owned(), required, notation.to_owned()));
            }
        }
        None
    }

    /// The document's notation (section 3) for a field's Rust type: `Option` is the `?` on
    /// the key, bounded strings and lists are spelt out, named types keep their names.
    fn notation(rust: &str) -> String {
        let ty: String = rust.chars().filter(|c| !c.is_whitespace()).collect();
        let ty = ty
            .strip_prefix("Option<")
            .and_then(|inner| inner.strip_suffix('>'))
            .unwrap_or(&ty);
        let generic = |prefix: &str| {
            ty.strip_prefix(prefix)
                .and_then(|inner| inner.strip_suffix('>'))
        };
        if ty == "u64" {
            "uint".to_owned()
        } else if let Some(len) = ty.strip_prefix("[u8;").and_then(|n| n.strip_suffix(']')) {
            format!("bytes[{len}]")
        } else if let Some(bound) = generic("Text<") {
            format!("text <= {}", bound_value(bound))
        } else if let Some(bound) = generic("Bytes<").or_else(|| generic("SecretBytes<")) {
            format!("bytes <= {}", bound_value(bound))
        } else if let Some(args) = generic("List<") {
            let (item, bound) = args.split_once(',').expect("List<T, MAX>");
            format!("[{item}] <= {}", bound_value(bound))
        } else {
            ty.to_owned()
        }
    }

    /// A bound written as a literal or as one of the crate's constants.
    fn bound_value(bound: &str) -> usize {
        const BOUNDS: &[(&str, usize)] = &[
            ("MAX_AAD_LEN", MAX_AAD_LEN),
            ("MAX_FIND_COUNT", MAX_FIND_COUNT),
            ("MAX_KDF_PARAM_LEN", MAX_KDF_PARAM_LEN),
            ("MAX_PARTITIONS", MAX_PARTITIONS),
            ("MAX_POLICY_MECHANISMS", MAX_POLICY_MECHANISMS),
            ("MAX_SEALED_LEN", MAX_SEALED_LEN),
            ("MAX_SELF_TESTS", MAX_SELF_TESTS),
            ("MAX_SHORT_TEXT_LEN", MAX_SHORT_TEXT_LEN),
            ("MAX_TEMPLATE_LEN", MAX_TEMPLATE_LEN),
        ];
        bound
            .parse()
            .ok()
            .or_else(|| BOUNDS.iter().find(|(name, _)| *name == bound).map(|b| b.1))
            .unwrap_or_else(|| panic!("add {bound} to BOUNDS"))
    }

    #[test]
    fn notation_follows_section_3() {
        assert_eq!(notation("Option<[u8; 12]>"), "bytes[12]");
        assert_eq!(notation("Text<MAX_SHORT_TEXT_LEN>"), "text <= 64");
        assert_eq!(notation("SecretBytes<MAX_SEALED_LEN>"), "bytes <= 1024");
        assert_eq!(notation("Option<Bytes<MAX_AAD_LEN>>"), "bytes <= 65536");
        assert_eq!(notation("List<Handle, MAX_FIND_COUNT>"), "[Handle] <= 1024");
        assert_eq!(notation("Option<Cursor>"), "Cursor");
    }

    /// The map types used inside messages, beside the messages themselves.
    const SHARED: &[Schema] = &[
        ("SealedSecret", SealedSecret::FIELDS),
        ("Quotas", Quotas::FIELDS),
        ("SelfTestResult", SelfTestResult::FIELDS),
        ("PartitionInfo", PartitionInfo::FIELDS),
        ("LockedMemory", LockedMemory::FIELDS),
        ("AesGcmParams", AesGcmParams::FIELDS),
        ("AesCbcParams", AesCbcParams::FIELDS),
        ("AesXtsParams", AesXtsParams::FIELDS),
        ("RsaPssParams", RsaPssParams::FIELDS),
        ("PssSaltParams", PssSaltParams::FIELDS),
        ("RsaOaepParams", RsaOaepParams::FIELDS),
        ("RsaAesKeyWrapParams", RsaAesKeyWrapParams::FIELDS),
        ("EcdhParams", EcdhParams::FIELDS),
        ("HkdfParams", HkdfParams::FIELDS),
        ("Sp800108Params", Sp800108Params::FIELDS),
    ];

    #[test]
    fn protocol_document_lists_every_field_of_every_map() {
        for (name, fields) in SCHEMAS.iter().chain(SHARED) {
            let expected = fields
                .iter()
                .map(|(key, field, required, ty)| {
                    (*key, (*field).to_owned(), *required, notation(ty))
                })
                .collect::<Vec<_>>();
            assert_eq!(documented(name), Some(expected), "protocol.md on {name}");
        }
    }

    #[test]
    fn protocol_document_defines_every_named_field_type() {
        let fields = SCHEMAS.iter().chain(SHARED).flat_map(|(_, fields)| *fields);
        for (_, field, _, ty) in fields {
            let named = notation(ty);
            if !named.chars().all(char::is_alphanumeric)
                || ["bool", "u32", "uint"].contains(&&*named)
            {
                continue;
            }
            let defined = [format!("`{named}`"), format!("{named} {{")]
                .iter()
                .any(|definition| PROTOCOL_MD.contains(definition.as_str()));
            assert!(
                defined,
                "protocol.md does not define {named} (field {field})"
            );
        }
    }
}
