//! Key messages: generation, wrapping, derivation, import, masking.

use crate::{
    Blob, EcPoint, Handle, ImportKeyKind, KeyPairSpec, KeySpec, Mechanism, PublicKey, Signature,
    Template,
};

wire_map! {
    /// Generates a secret key.
    pub struct GenerateKeyRequest {
        /// What to generate.
        0 => spec: KeySpec,
        /// The key's attributes.
        1 => template: Template,
    }
}

wire_map! {
    /// The new key.
    pub struct GenerateKeyResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}

wire_map! {
    /// Generates a key pair.
    pub struct GenerateKeyPairRequest {
        /// What to generate.
        0 => spec: KeyPairSpec,
        /// The public key's attributes.
        1 => public_template: Template,
        /// The private key's attributes.
        2 => private_template: Template,
    }
}

wire_map! {
    /// The new key pair.
    pub struct GenerateKeyPairResponse {
        /// The public key's handle.
        0 => public_handle: Handle,
        /// The private key's handle.
        1 => private_handle: Handle,
    }
}

wire_map! {
    /// Wraps (encrypts) an extractable key with a wrapping key.
    pub struct WrapKeyRequest {
        /// The wrapping mechanism.
        0 => mechanism: Mechanism,
        /// The wrapping key.
        1 => wrapping_key: Handle,
        /// The key to wrap.
        2 => key: Handle,
    }
}

wire_map! {
    /// The wrapped key.
    pub struct WrapKeyResponse {
        /// The wrapped key's bytes.
        0 => wrapped: Blob,
    }
}

wire_map! {
    /// Unwraps a key into a new object.
    pub struct UnwrapKeyRequest {
        /// The unwrapping mechanism.
        0 => mechanism: Mechanism,
        /// The unwrapping key.
        1 => unwrapping_key: Handle,
        /// The wrapped key's bytes.
        2 => wrapped: Blob,
        /// The new key's attributes.
        3 => template: Template,
    }
}

wire_map! {
    /// The unwrapped key.
    pub struct UnwrapKeyResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}

wire_map! {
    /// Derives a key from a base key.
    pub struct DeriveKeyRequest {
        /// The derivation mechanism.
        0 => mechanism: Mechanism,
        /// The base key.
        1 => base_key: Handle,
        /// The new key's attributes (its `ValueLen` gives the derived length).
        2 => template: Template,
    }
}

wire_map! {
    /// The derived key.
    pub struct DeriveKeyResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}

wire_map! {
    /// Asks for the partition's import key of a kind, signed by its attestation key.
    pub struct GetImportKeyRequest {
        /// The kind of import.
        0 => kind: ImportKeyKind,
    }
}

wire_map! {
    /// The import key.
    pub struct GetImportKeyResponse {
        /// SEC1 uncompressed point (`EcdhP384`) or DER SubjectPublicKeyInfo (`RsaOaep`).
        0 => public_key: PublicKey,
        /// ECDSA P-384 SHA-384 signature (`r || s`) by the partition attestation key over
        /// `"ihsm import key v1" || kind (1 byte) || public_key`.
        1 => signature: Signature,
    }
}

wire_map! {
    /// Imports a key encrypted to the partition's import key.
    pub struct ImportKeyRequest {
        /// The kind of import.
        0 => kind: ImportKeyKind,
        /// The client's ephemeral P-384 public key: required for `EcdhP384`, absent for
        /// `RsaOaep` (the device answers `MechanismParamInvalid` otherwise).
        1 => ephemeral_public_key: Option<EcPoint>,
        /// The wrapped key.
        2 => wrapped: Blob,
        /// The new key's attributes.
        3 => template: Template,
    }
}

wire_map! {
    /// The imported key.
    pub struct ImportKeyResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}

wire_map! {
    /// Exports a key as a blob masked with the partition masking key, to keep on the host.
    pub struct MaskKeyRequest {
        /// The key.
        0 => key: Handle,
    }
}

wire_map! {
    /// The masked blob.
    pub struct MaskKeyResponse {
        /// The blob: opaque, bound to the partition.
        0 => blob: Blob,
    }
}

wire_map! {
    /// Restores a key from a masked blob, with the attributes it was masked with.
    pub struct UnmaskKeyRequest {
        /// The blob from `MaskKey`.
        0 => blob: Blob,
    }
}

wire_map! {
    /// The restored key.
    pub struct UnmaskKeyResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}
