//! Cryptographic operations, single-part and multi-part (`Init`, `Update`..., `Final`).
//!
//! A session holds at most one active operation of each [`OperationKind`]; `Init` on an active
//! kind is `OperationActive`, `Update`/`Final` without `Init` is `OperationNotInitialized`.
//! A failed `Update` or `Final` ends the operation, as does `CancelOperation`. Data fields
//! hold at most `MAX_DATA_LEN` bytes, outputs too: an operation whose output would be larger
//! answers `DataLenRange`, so large inputs go through multi-part updates.

use crate::{Data, DataLen, Digest, Handle, Mechanism, OperationKind, Signature};

wire_map! {
    /// Encrypts `data` in one call.
    pub struct EncryptRequest {
        /// The mechanism (for AES-GCM without an IV: the module makes it).
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
        /// The plaintext.
        2 => data: Data,
    }
}

wire_map! {
    /// The ciphertext.
    pub struct EncryptResponse {
        /// The ciphertext (AES-GCM: with the tag appended).
        0 => data: Data,
        /// The IV the module made (AES-GCM only).
        1 => iv: Option<[u8; 12]>,
    }
}

wire_map! {
    /// Starts a multi-part encryption.
    pub struct EncryptInitRequest {
        /// The mechanism.
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
    }
}

wire_map! {
    /// The encryption is active. An AES-GCM encryption's IV is made when the module encrypts,
    /// at `EncryptFinal`, which returns it.
    pub struct EncryptInitResponse {}
}

wire_map! {
    /// Encrypts the next part.
    pub struct EncryptUpdateRequest {
        /// The next plaintext part.
        0 => data: Data,
    }
}

wire_map! {
    /// Ciphertext available so far (may be empty).
    pub struct EncryptUpdateResponse {
        /// The ciphertext.
        0 => data: Data,
    }
}

wire_map! {
    /// Finishes a multi-part encryption.
    pub struct EncryptFinalRequest {}
}

wire_map! {
    /// The last ciphertext.
    pub struct EncryptFinalResponse {
        /// The remaining ciphertext (AES-GCM: all of it, with the tag appended).
        0 => data: Data,
        /// The IV the module made (AES-GCM only).
        1 => iv: Option<[u8; 12]>,
    }
}

wire_map! {
    /// Decrypts `data` in one call.
    pub struct DecryptRequest {
        /// The mechanism (for AES-GCM: with the IV).
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
        /// The ciphertext (AES-GCM: with the tag appended).
        2 => data: Data,
    }
}

wire_map! {
    /// The plaintext. A bad tag or padding is the status `VerificationFailed`.
    pub struct DecryptResponse {
        /// The plaintext.
        0 => data: Data,
    }
}

wire_map! {
    /// Starts a multi-part decryption.
    pub struct DecryptInitRequest {
        /// The mechanism.
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
    }
}

wire_map! {
    /// The decryption is active.
    pub struct DecryptInitResponse {}
}

wire_map! {
    /// Decrypts the next part.
    pub struct DecryptUpdateRequest {
        /// The next ciphertext part.
        0 => data: Data,
    }
}

wire_map! {
    /// Plaintext available so far (AES-GCM: always empty; nothing is released before the
    /// tag verifies).
    pub struct DecryptUpdateResponse {
        /// The plaintext.
        0 => data: Data,
    }
}

wire_map! {
    /// Finishes a multi-part decryption.
    pub struct DecryptFinalRequest {}
}

wire_map! {
    /// The last plaintext.
    pub struct DecryptFinalResponse {
        /// The remaining plaintext.
        0 => data: Data,
    }
}

wire_map! {
    /// Signs (or computes a MAC over) `data` in one call.
    pub struct SignRequest {
        /// The mechanism.
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
        /// The message (or the digest, for the pre-hashed mechanisms).
        2 => data: Data,
    }
}

wire_map! {
    /// The signature.
    pub struct SignResponse {
        /// The signature (ECDSA: `r || s`) or MAC.
        0 => signature: Signature,
    }
}

wire_map! {
    /// Starts a multi-part signature.
    pub struct SignInitRequest {
        /// The mechanism (one that hashes the message itself, or an HMAC).
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
    }
}

wire_map! {
    /// The signature is active.
    pub struct SignInitResponse {}
}

wire_map! {
    /// Adds the next part of the message.
    pub struct SignUpdateRequest {
        /// The next part.
        0 => data: Data,
    }
}

wire_map! {
    /// The part is absorbed.
    pub struct SignUpdateResponse {}
}

wire_map! {
    /// Finishes a multi-part signature.
    pub struct SignFinalRequest {}
}

wire_map! {
    /// The signature.
    pub struct SignFinalResponse {
        /// The signature (ECDSA: `r || s`) or MAC.
        0 => signature: Signature,
    }
}

wire_map! {
    /// Verifies a signature (or MAC) in one call. A mismatch is the status
    /// `VerificationFailed`.
    pub struct VerifyRequest {
        /// The mechanism.
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
        /// The message (or the digest, for the pre-hashed mechanisms).
        2 => data: Data,
        /// The signature (ECDSA: `r || s`) or MAC.
        3 => signature: Signature,
    }
}

wire_map! {
    /// The signature is valid.
    pub struct VerifyResponse {}
}

wire_map! {
    /// Starts a multi-part verification.
    pub struct VerifyInitRequest {
        /// The mechanism.
        0 => mechanism: Mechanism,
        /// The key.
        1 => key: Handle,
    }
}

wire_map! {
    /// The verification is active.
    pub struct VerifyInitResponse {}
}

wire_map! {
    /// Adds the next part of the message.
    pub struct VerifyUpdateRequest {
        /// The next part.
        0 => data: Data,
    }
}

wire_map! {
    /// The part is absorbed.
    pub struct VerifyUpdateResponse {}
}

wire_map! {
    /// Finishes a multi-part verification. A mismatch is the status `VerificationFailed`.
    pub struct VerifyFinalRequest {
        /// The signature (ECDSA: `r || s`) or MAC.
        0 => signature: Signature,
    }
}

wire_map! {
    /// The signature is valid.
    pub struct VerifyFinalResponse {}
}

wire_map! {
    /// Digests `data` in one call.
    pub struct DigestRequest {
        /// The digest mechanism.
        0 => mechanism: Mechanism,
        /// The message.
        1 => data: Data,
    }
}

wire_map! {
    /// The digest.
    pub struct DigestResponse {
        /// The digest.
        0 => digest: Digest,
    }
}

wire_map! {
    /// Starts a multi-part digest.
    pub struct DigestInitRequest {
        /// The digest mechanism.
        0 => mechanism: Mechanism,
    }
}

wire_map! {
    /// The digest is active.
    pub struct DigestInitResponse {}
}

wire_map! {
    /// Adds the next part of the message.
    pub struct DigestUpdateRequest {
        /// The next part.
        0 => data: Data,
    }
}

wire_map! {
    /// The part is absorbed.
    pub struct DigestUpdateResponse {}
}

wire_map! {
    /// Finishes a multi-part digest.
    pub struct DigestFinalRequest {}
}

wire_map! {
    /// The digest.
    pub struct DigestFinalResponse {
        /// The digest.
        0 => digest: Digest,
    }
}

wire_map! {
    /// Asks for random bytes from the module's DRBG.
    pub struct GenerateRandomRequest {
        /// How many bytes: `1..=MAX_DATA_LEN`.
        0 => len: DataLen,
    }
}

wire_map! {
    /// The random bytes.
    pub struct GenerateRandomResponse {
        /// Exactly `len` bytes.
        0 => data: Data,
    }
}

wire_map! {
    /// Abandons the session's active operation of a kind (no error if none is active).
    pub struct CancelOperationRequest {
        /// The kind of operation.
        0 => kind: OperationKind,
    }
}

wire_map! {
    /// The operation is abandoned.
    pub struct CancelOperationResponse {}
}
