//! Logins and sessions: every operation of the device core, typed.

use ihsm_crypto::ReplyKey;
use ihsm_proto::msgs::*;
use ihsm_proto::{
    AttributeReading, AttributeTypes, Blob, Bytes, Cursor, Data, DataLen, EcPoint, FindCount,
    Handle, ImportKeyKind, KeyPairSpec, KeySpec, LoginId, Mechanism, MechanismId, Opcode,
    OperationKind, PartitionName, PublicKey, Quotas, RequestBody, ResponseBody, Role, SessionId,
    Signature, Template, Ticket,
};
use zeroize::Zeroizing;

use crate::client::{engine, Client, Indicated};
use crate::error::{Error, Result};

/// Takes the response body of the expected variant out of an answer.
macro_rules! answer {
    ($answer:expr, $variant:ident) => {{
        let answer = $answer;
        match answer.value {
            ResponseBody::$variant(body) => Ok(Indicated {
                value: body,
                approved: answer.approved,
            }),
            _ => Err(Error::Protocol("wrong response body")),
        }
    }};
}

fn data(bytes: &[u8]) -> Result<Data> {
    Data::new(Zeroizing::new(bytes.to_vec())).map_err(|_| Error::InvalidArgument("data over 1 MiB"))
}

impl Client {
    /// Sets the first admin PIN of a new module (admin socket).
    pub fn initialize_admin(&self, pin: &[u8]) -> Result<()> {
        let (answer, _) =
            self.sealed_call(None, Opcode::InitializeAdmin, &[(0, pin)], |mut sealed| {
                InitializeAdminRequest {
                    credential: sealed.remove(0),
                }
                .into()
            })?;
        answer!(answer, InitializeAdmin).map(|_| ())
    }

    /// Initializes the partition of this connection's socket, once: its first officer PIN
    /// and its owner's backup secret, both sealed to the partition's credential key. Without
    /// `backup_secret` the module generates one and returns it (sealed in transit, opened
    /// here): the owner must keep it to restore masked blobs on a replacement module.
    pub fn initialize_partition(
        &self,
        officer_pin: &[u8],
        backup_secret: Option<&[u8]>,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let mut secrets: Vec<(u8, &[u8])> = vec![(0, officer_pin)];
        if let Some(secret) = backup_secret {
            secrets.push((1, secret));
        }
        let (answer, replies) =
            self.sealed_call(None, Opcode::InitializePartition, &secrets, |mut sealed| {
                let officer_credential = sealed.remove(0);
                InitializePartitionRequest {
                    officer_credential,
                    backup_secret: sealed.pop(),
                }
                .into()
            })?;
        let body = answer!(answer, InitializePartition)?.value;
        match (body.wrapped_backup_secret, replies.first()) {
            (Some(wrapped), Some(reply)) => Ok(Some(open_reply(reply, wrapped.expose())?)),
            _ => Ok(None),
        }
    }

    /// The partition of this connection's socket: whether it is initialized, how often it
    /// was reset, its quotas and use. Needs no login.
    pub fn partition_info(&self) -> Result<PartitionInfo> {
        answer!(
            self.call(None, GetPartitionInfoRequest {})?,
            GetPartitionInfo
        )
        .map(|a| a.value.partition)
    }

    /// Logs in as `role` with `pin`; the PIN is sealed to the module's credential key.
    pub fn login(&self, role: Role, pin: &[u8]) -> Result<Login> {
        let (answer, _) = self.sealed_call(None, Opcode::Login, &[(1, pin)], |mut sealed| {
            LoginRequest {
                role,
                credential: sealed.remove(0),
            }
            .into()
        })?;
        let login = answer!(answer, Login)?.value.login;
        Ok(Login {
            client: self.clone(),
            id: login,
            role,
        })
    }

    /// Attaches this connection to the login a ticket was issued for (no PIN).
    pub fn attach(&self, ticket: Ticket) -> Result<Login> {
        let answer = self.call(None, AttachLoginRequest { ticket })?;
        let body = answer!(answer, AttachLogin)?.value;
        Ok(Login {
            client: self.clone(),
            id: body.login,
            role: body.role,
        })
    }
}

/// What an encryption returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Encrypted {
    /// The ciphertext (with the tag appended, for AES-GCM).
    pub ciphertext: Vec<u8>,
    /// The IV the module made (AES-GCM), which decryption needs.
    pub iv: Option<[u8; 12]>,
}

/// One authenticated role on a connection.
#[derive(Debug, Clone)]
pub struct Login {
    client: Client,
    id: LoginId,
    role: Role,
}

impl Login {
    /// The login's id.
    #[must_use]
    pub fn id(&self) -> LoginId {
        self.id
    }

    /// The role logged in.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens a session.
    pub fn open_session(&self) -> Result<Session> {
        let answer = self
            .client
            .call(None, OpenSessionRequest { login: self.id })?;
        Ok(Session {
            client: self.client.clone(),
            id: answer!(answer, OpenSession)?.value.session,
        })
    }

    /// A single-use ticket another connection can attach to this login with.
    pub fn issue_ticket(&self) -> Result<Ticket> {
        let answer = self
            .client
            .call(None, IssueTicketRequest { login: self.id })?;
        Ok(answer!(answer, IssueTicket)?.value.ticket)
    }

    /// Closes every session of the login.
    pub fn close_all_sessions(&self) -> Result<()> {
        let answer = self
            .client
            .call(None, CloseAllSessionsRequest { login: self.id })?;
        answer!(answer, CloseAllSessions).map(|_| ())
    }

    /// Ends the login and its sessions.
    pub fn logout(self) -> Result<()> {
        let answer = self.client.call(None, LogoutRequest { login: self.id })?;
        answer!(answer, Logout).map(|_| ())
    }
}

/// A session: where objects are made and used.
#[derive(Debug, Clone)]
pub struct Session {
    client: Client,
    id: SessionId,
}

impl Session {
    /// The session's id.
    #[must_use]
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The connection.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn call(&self, body: impl Into<RequestBody>) -> Result<Indicated<ResponseBody>> {
        self.client.call(Some(self.id), body)
    }

    /// Closes the session (its session objects go with it).
    pub fn close(self) -> Result<()> {
        answer!(self.call(CloseSessionRequest {})?, CloseSession).map(|_| ())
    }

    /// The session's role, partition and login.
    pub fn info(&self) -> Result<GetSessionInfoResponse> {
        answer!(self.call(GetSessionInfoRequest {})?, GetSessionInfo).map(|a| a.value)
    }

    // --- Admin -----------------------------------------------------------------------

    /// Runs every self-test again (admin); a failure latches the module's error state.
    pub fn run_self_tests(&self) -> Result<Vec<SelfTestResult>> {
        answer!(self.call(RunSelfTestsRequest {})?, RunSelfTests)
            .map(|a| a.value.self_tests.into_vec())
    }

    /// Creates a partition (admin). It is uninitialized until its owner calls
    /// [`Client::initialize_partition`] on its socket: the admin never knows its credentials.
    pub fn create_partition(&self, name: &str, quotas: Quotas) -> Result<()> {
        let name =
            PartitionName::new(name).map_err(|_| Error::InvalidArgument("partition name"))?;
        answer!(
            self.call(CreatePartitionRequest { name, quotas })?,
            CreatePartition
        )
        .map(|_| ())
    }

    /// Destroys everything in a partition and returns it to uninitialized (admin): the way
    /// back from a lost or locked officer. Returns the partition's reset count.
    pub fn reset_partition(&self, name: &str) -> Result<u32> {
        let name =
            PartitionName::new(name).map_err(|_| Error::InvalidArgument("partition name"))?;
        answer!(self.call(ResetPartitionRequest { name })?, ResetPartition).map(|a| a.value.resets)
    }

    /// The partitions (admin).
    pub fn list_partitions(&self) -> Result<Vec<PartitionInfo>> {
        answer!(self.call(ListPartitionsRequest {})?, ListPartitions)
            .map(|a| a.value.partitions.into_vec())
    }

    /// Deletes a partition and everything in it (admin).
    pub fn delete_partition(&self, name: &str) -> Result<()> {
        let name =
            PartitionName::new(name).map_err(|_| Error::InvalidArgument("partition name"))?;
        answer!(self.call(DeletePartitionRequest { name })?, DeletePartition).map(|_| ())
    }

    // --- PINs --------------------------------------------------------------------------

    /// Sets the PIN of the role the caller manages: the officer sets the user's.
    pub fn set_pin(&self, role: Role, pin: &[u8]) -> Result<()> {
        let (answer, _) =
            self.client
                .sealed_call(Some(self.id), Opcode::SetPin, &[(1, pin)], |mut sealed| {
                    SetPinRequest {
                        role,
                        credential: sealed.remove(0),
                    }
                    .into()
                })?;
        answer!(answer, SetPin).map(|_| ())
    }

    /// Changes the caller's own PIN.
    pub fn change_pin(&self, role: Role, old: &[u8], new: &[u8]) -> Result<()> {
        let (answer, _) = self.client.sealed_call(
            Some(self.id),
            Opcode::ChangePin,
            &[(1, old), (2, new)],
            |mut sealed| {
                let old = sealed.remove(0);
                ChangePinRequest {
                    role,
                    old,
                    new: sealed.remove(0),
                }
                .into()
            },
        )?;
        answer!(answer, ChangePin).map(|_| ())
    }

    /// Unlocks a role locked by wrong PINs (the officer unlocks the user).
    pub fn unlock_role(&self, role: Role) -> Result<()> {
        answer!(self.call(UnlockRoleRequest { role })?, UnlockRole).map(|_| ())
    }

    // --- Partition policy ----------------------------------------------------------------

    /// The mechanisms the officer allowed outside the approved mode.
    pub fn policy(&self) -> Result<Vec<MechanismId>> {
        answer!(self.call(GetPartitionPolicyRequest {})?, GetPartitionPolicy)
            .map(|a| a.value.allow_non_approved.into_vec())
    }

    /// Replaces the partition policy (officer).
    pub fn set_policy(&self, allow_non_approved: Vec<MechanismId>) -> Result<()> {
        let allow_non_approved = ihsm_proto::List::new(allow_non_approved)
            .map_err(|_| Error::InvalidArgument("too many mechanisms"))?;
        answer!(
            self.call(SetPartitionPolicyRequest { allow_non_approved })?,
            SetPartitionPolicy
        )
        .map(|_| ())
    }

    /// Destroys every key and object of the partition (officer).
    pub fn zeroize_partition(&self) -> Result<()> {
        answer!(self.call(ZeroizePartitionRequest {})?, ZeroizePartition).map(|_| ())
    }

    // --- Objects -------------------------------------------------------------------------

    /// Creates an object from a template.
    pub fn create_object(&self, template: Template) -> Result<Handle> {
        answer!(self.call(CreateObjectRequest { template })?, CreateObject).map(|a| a.value.handle)
    }

    /// Copies an object, changing what `template` names.
    pub fn copy_object(&self, handle: Handle, template: Template) -> Result<Handle> {
        answer!(
            self.call(CopyObjectRequest { handle, template })?,
            CopyObject
        )
        .map(|a| a.value.handle)
    }

    /// Destroys an object.
    pub fn destroy_object(&self, handle: Handle) -> Result<()> {
        answer!(self.call(DestroyObjectRequest { handle })?, DestroyObject).map(|_| ())
    }

    /// Reads attributes.
    pub fn get_attributes(
        &self,
        handle: Handle,
        types: AttributeTypes,
    ) -> Result<Vec<AttributeReading>> {
        answer!(
            self.call(GetAttributesRequest { handle, types })?,
            GetAttributes
        )
        .map(|a| a.value.values.into_vec())
    }

    /// Changes attributes.
    pub fn set_attributes(&self, handle: Handle, template: Template) -> Result<()> {
        answer!(
            self.call(SetAttributesRequest { handle, template })?,
            SetAttributes
        )
        .map(|_| ())
    }

    /// One page of the objects matching `template`, and the cursor of the next page.
    pub fn find_objects_page(
        &self,
        template: Template,
        cursor: Option<Cursor>,
        max_count: u32,
    ) -> Result<(Vec<Handle>, Option<Cursor>)> {
        let max_count =
            FindCount::new(max_count).map_err(|_| Error::InvalidArgument("count 1..=1024"))?;
        let body = answer!(
            self.call(FindObjectsRequest {
                template,
                cursor,
                max_count
            })?,
            FindObjects
        )?
        .value;
        Ok((body.handles.into_vec(), body.next_cursor))
    }

    /// Every object matching `template`, all pages.
    pub fn find_objects(&self, template: Template) -> Result<Vec<Handle>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (handles, next) = self.find_objects_page(template.clone(), cursor, 1024)?;
            all.extend(handles);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    // --- Keys ----------------------------------------------------------------------------

    /// Generates a secret key.
    pub fn generate_key(&self, spec: KeySpec, template: Template) -> Result<Indicated<Handle>> {
        let answer = answer!(
            self.call(GenerateKeyRequest { spec, template })?,
            GenerateKey
        )?;
        Ok(Indicated {
            value: answer.value.handle,
            approved: answer.approved,
        })
    }

    /// Generates a key pair: (public, private).
    pub fn generate_key_pair(
        &self,
        spec: KeyPairSpec,
        public_template: Template,
        private_template: Template,
    ) -> Result<Indicated<(Handle, Handle)>> {
        let answer = answer!(
            self.call(GenerateKeyPairRequest {
                spec,
                public_template,
                private_template
            })?,
            GenerateKeyPair
        )?;
        Ok(Indicated {
            value: (answer.value.public_handle, answer.value.private_handle),
            approved: answer.approved,
        })
    }

    /// Wraps `key` with `wrapping_key`.
    pub fn wrap_key(
        &self,
        mechanism: Mechanism,
        wrapping_key: Handle,
        key: Handle,
    ) -> Result<Indicated<Vec<u8>>> {
        let answer = answer!(
            self.call(WrapKeyRequest {
                mechanism,
                wrapping_key,
                key
            })?,
            WrapKey
        )?;
        Ok(Indicated {
            value: answer.value.wrapped.to_vec(),
            approved: answer.approved,
        })
    }

    /// Unwraps a key into a new object.
    pub fn unwrap_key(
        &self,
        mechanism: Mechanism,
        unwrapping_key: Handle,
        wrapped: &[u8],
        template: Template,
    ) -> Result<Indicated<Handle>> {
        let wrapped = blob(wrapped)?;
        let answer = answer!(
            self.call(UnwrapKeyRequest {
                mechanism,
                unwrapping_key,
                wrapped,
                template
            })?,
            UnwrapKey
        )?;
        Ok(Indicated {
            value: answer.value.handle,
            approved: answer.approved,
        })
    }

    /// Derives a key.
    pub fn derive_key(
        &self,
        mechanism: Mechanism,
        base_key: Handle,
        template: Template,
    ) -> Result<Indicated<Handle>> {
        let answer = answer!(
            self.call(DeriveKeyRequest {
                mechanism,
                base_key,
                template
            })?,
            DeriveKey
        )?;
        Ok(Indicated {
            value: answer.value.handle,
            approved: answer.approved,
        })
    }

    /// The partition's import key of a kind, and the attestation key's signature over it.
    pub fn import_key_of(&self, kind: ImportKeyKind) -> Result<(PublicKey, Signature)> {
        let body = answer!(self.call(GetImportKeyRequest { kind })?, GetImportKey)?.value;
        Ok((body.public_key, body.signature))
    }

    /// Imports a key wrapped to the partition's import key.
    pub fn import_key(
        &self,
        kind: ImportKeyKind,
        ephemeral_public_key: Option<&[u8]>,
        wrapped: &[u8],
        template: Template,
    ) -> Result<Indicated<Handle>> {
        let ephemeral_public_key = ephemeral_public_key
            .map(|point| EcPoint::new(point.to_vec()))
            .transpose()
            .map_err(|_| Error::InvalidArgument("ephemeral point"))?;
        let answer = answer!(
            self.call(ImportKeyRequest {
                kind,
                ephemeral_public_key,
                wrapped: blob(wrapped)?,
                template
            })?,
            ImportKey
        )?;
        Ok(Indicated {
            value: answer.value.handle,
            approved: answer.approved,
        })
    }

    /// Enters a key from outside over the approved path: the partition's P-384 import key
    /// (its signature checked under the pinned attestation key), an ephemeral ECDH, HKDF and
    /// AES-KWP, all done here so the key crosses the socket only wrapped. `material` is a
    /// secret key's raw value or a private key's PKCS#8; `template` says what it is.
    pub fn import_wrapped(&self, material: &[u8], template: Template) -> Result<Indicated<Handle>> {
        let (public_key, signature) = self.import_key_of(ImportKeyKind::EcdhP384)?;
        let attestation = self.client.attestation_key().ok_or(Error::Protocol(
            "no attestation key pinned before the import",
        ))?;
        let engine = engine();
        let verifier = engine
            .ec_public_key(ihsm_crypto::Curve::P384, &attestation)
            .map_err(|_| Error::BadCredentialKeySignature)?;
        let message = [
            &b"ihsm import key v1"[..],
            &[u8::from(ImportKeyKind::EcdhP384)],
            &public_key,
        ]
        .concat();
        let _verified = engine
            .ecdsa_verify(
                &verifier,
                ihsm_crypto::HashAlg::Sha384,
                &message,
                &signature,
            )
            .map_err(|_| Error::BadCredentialKeySignature)?;
        let ephemeral = engine
            .generate_ec_key(ihsm_crypto::Curve::P384)
            .map_err(|_| Error::Crypto)?
            .value;
        let shared = engine
            .ecdh(&ephemeral, &public_key)
            .map_err(|_| Error::Crypto)?
            .value;
        let point = ephemeral.public_point().to_vec();
        let info = [point.as_slice(), &public_key].concat();
        let kek = engine
            .hkdf(
                ihsm_crypto::HashAlg::Sha384,
                shared.expose(),
                b"ihsm import v1",
                &info,
                32,
            )
            .map_err(|_| Error::Crypto)?
            .value;
        let kek = ihsm_crypto::AesKey::from_bytes(kek.expose()).map_err(|_| Error::Crypto)?;
        let wrapped = engine
            .aes_key_wrap(&kek, true, material)
            .map_err(|_| Error::InvalidArgument("the key material cannot be wrapped"))?
            .value;
        self.import_key(ImportKeyKind::EcdhP384, Some(&point), &wrapped, template)
    }

    /// Exports a key as a blob masked with the partition masking key.
    pub fn mask_key(&self, key: Handle) -> Result<Vec<u8>> {
        answer!(self.call(MaskKeyRequest { key })?, MaskKey).map(|a| a.value.blob.to_vec())
    }

    /// Restores a key from a masked blob.
    pub fn unmask_key(&self, blob_bytes: &[u8]) -> Result<Handle> {
        answer!(
            self.call(UnmaskKeyRequest {
                blob: blob(blob_bytes)?
            })?,
            UnmaskKey
        )
        .map(|a| a.value.handle)
    }

    // --- Cryptography --------------------------------------------------------------------

    /// Encrypts: the ciphertext, and the IV the module made (AES-GCM).
    pub fn encrypt(
        &self,
        mechanism: Mechanism,
        key: Handle,
        plaintext: &[u8],
    ) -> Result<Indicated<Encrypted>> {
        let answer = answer!(
            self.call(EncryptRequest {
                mechanism,
                key,
                data: data(plaintext)?
            })?,
            Encrypt
        )?;
        let iv = answer.value.iv;
        // Ciphertext is no secret: moved out of its wiping wrapper rather than copied.
        let mut data = answer.value.data.into_inner();
        Ok(Indicated {
            value: Encrypted {
                ciphertext: core::mem::take(&mut *data),
                iv,
            },
            approved: answer.approved,
        })
    }

    /// Starts a multi-part encryption.
    pub fn encrypt_init(&self, mechanism: Mechanism, key: Handle) -> Result<()> {
        answer!(
            self.call(EncryptInitRequest { mechanism, key })?,
            EncryptInit
        )
        .map(|_| ())
    }

    /// Continues a multi-part encryption.
    pub fn encrypt_update(&self, part: &[u8]) -> Result<Vec<u8>> {
        answer!(
            self.call(EncryptUpdateRequest { data: data(part)? })?,
            EncryptUpdate
        )
        .map(|a| a.value.data.expose().to_vec())
    }

    /// Finishes a multi-part encryption: the last output, and the IV (AES-GCM).
    pub fn encrypt_final(&self) -> Result<Indicated<Encrypted>> {
        let answer = answer!(self.call(EncryptFinalRequest {})?, EncryptFinal)?;
        Ok(Indicated {
            value: Encrypted {
                ciphertext: answer.value.data.expose().to_vec(),
                iv: answer.value.iv,
            },
            approved: answer.approved,
        })
    }

    /// Decrypts.
    pub fn decrypt(
        &self,
        mechanism: Mechanism,
        key: Handle,
        ciphertext: &[u8],
    ) -> Result<Indicated<Zeroizing<Vec<u8>>>> {
        let answer = answer!(
            self.call(DecryptRequest {
                mechanism,
                key,
                data: data(ciphertext)?
            })?,
            Decrypt
        )?;
        Ok(Indicated {
            value: answer.value.data.into_inner(),
            approved: answer.approved,
        })
    }

    /// Starts a multi-part decryption.
    pub fn decrypt_init(&self, mechanism: Mechanism, key: Handle) -> Result<()> {
        answer!(
            self.call(DecryptInitRequest { mechanism, key })?,
            DecryptInit
        )
        .map(|_| ())
    }

    /// Continues a multi-part decryption.
    pub fn decrypt_update(&self, part: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        answer!(
            self.call(DecryptUpdateRequest { data: data(part)? })?,
            DecryptUpdate
        )
        .map(|a| a.value.data.into_inner())
    }

    /// Finishes a multi-part decryption.
    pub fn decrypt_final(&self) -> Result<Indicated<Zeroizing<Vec<u8>>>> {
        let answer = answer!(self.call(DecryptFinalRequest {})?, DecryptFinal)?;
        Ok(Indicated {
            value: answer.value.data.into_inner(),
            approved: answer.approved,
        })
    }

    /// Signs (or computes a MAC).
    pub fn sign(
        &self,
        mechanism: Mechanism,
        key: Handle,
        message: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        let answer = answer!(
            self.call(SignRequest {
                mechanism,
                key,
                data: data(message)?
            })?,
            Sign
        )?;
        Ok(Indicated {
            value: answer.value.signature.to_vec(),
            approved: answer.approved,
        })
    }

    /// Starts a multi-part signature.
    pub fn sign_init(&self, mechanism: Mechanism, key: Handle) -> Result<()> {
        answer!(self.call(SignInitRequest { mechanism, key })?, SignInit).map(|_| ())
    }

    /// Continues a multi-part signature.
    pub fn sign_update(&self, part: &[u8]) -> Result<()> {
        answer!(
            self.call(SignUpdateRequest { data: data(part)? })?,
            SignUpdate
        )
        .map(|_| ())
    }

    /// Finishes a multi-part signature.
    pub fn sign_final(&self) -> Result<Indicated<Vec<u8>>> {
        let answer = answer!(self.call(SignFinalRequest {})?, SignFinal)?;
        Ok(Indicated {
            value: answer.value.signature.to_vec(),
            approved: answer.approved,
        })
    }

    /// Verifies a signature (or checks a MAC): `Err(Status(VerificationFailed))` if it does
    /// not verify.
    pub fn verify(
        &self,
        mechanism: Mechanism,
        key: Handle,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Indicated<()>> {
        let signature =
            Signature::new(signature.to_vec()).map_err(|_| Error::InvalidArgument("signature"))?;
        let answer = answer!(
            self.call(VerifyRequest {
                mechanism,
                key,
                data: data(message)?,
                signature
            })?,
            Verify
        )?;
        Ok(Indicated {
            value: (),
            approved: answer.approved,
        })
    }

    /// Starts a multi-part verification.
    pub fn verify_init(&self, mechanism: Mechanism, key: Handle) -> Result<()> {
        answer!(self.call(VerifyInitRequest { mechanism, key })?, VerifyInit).map(|_| ())
    }

    /// Continues a multi-part verification.
    pub fn verify_update(&self, part: &[u8]) -> Result<()> {
        answer!(
            self.call(VerifyUpdateRequest { data: data(part)? })?,
            VerifyUpdate
        )
        .map(|_| ())
    }

    /// Finishes a multi-part verification.
    pub fn verify_final(&self, signature: &[u8]) -> Result<Indicated<()>> {
        let signature =
            Signature::new(signature.to_vec()).map_err(|_| Error::InvalidArgument("signature"))?;
        let answer = answer!(self.call(VerifyFinalRequest { signature })?, VerifyFinal)?;
        Ok(Indicated {
            value: (),
            approved: answer.approved,
        })
    }

    /// Digests.
    pub fn digest(&self, mechanism: Mechanism, message: &[u8]) -> Result<Indicated<Vec<u8>>> {
        let answer = answer!(
            self.call(DigestRequest {
                mechanism,
                data: data(message)?
            })?,
            Digest
        )?;
        Ok(Indicated {
            value: answer.value.digest.to_vec(),
            approved: answer.approved,
        })
    }

    /// Starts a multi-part digest.
    pub fn digest_init(&self, mechanism: Mechanism) -> Result<()> {
        answer!(self.call(DigestInitRequest { mechanism })?, DigestInit).map(|_| ())
    }

    /// Continues a multi-part digest.
    pub fn digest_update(&self, part: &[u8]) -> Result<()> {
        answer!(
            self.call(DigestUpdateRequest { data: data(part)? })?,
            DigestUpdate
        )
        .map(|_| ())
    }

    /// Finishes a multi-part digest.
    pub fn digest_final(&self) -> Result<Indicated<Vec<u8>>> {
        let answer = answer!(self.call(DigestFinalRequest {})?, DigestFinal)?;
        Ok(Indicated {
            value: answer.value.digest.to_vec(),
            approved: answer.approved,
        })
    }

    /// `len` random bytes (1..=1 MiB) from the module's DRBG.
    pub fn random(&self, len: u32) -> Result<Indicated<Zeroizing<Vec<u8>>>> {
        let len = DataLen::new(len).map_err(|_| Error::InvalidArgument("length 1..=1 MiB"))?;
        let answer = answer!(self.call(GenerateRandomRequest { len })?, GenerateRandom)?;
        Ok(Indicated {
            value: answer.value.data.into_inner(),
            approved: answer.approved,
        })
    }

    /// Abandons the session's active operation of a kind.
    pub fn cancel(&self, kind: OperationKind) -> Result<()> {
        answer!(self.call(CancelOperationRequest { kind })?, CancelOperation).map(|_| ())
    }
}

fn blob(bytes: &[u8]) -> Result<Blob> {
    Bytes::new(bytes.to_vec()).map_err(|_| Error::InvalidArgument("blob too long"))
}

fn open_reply(reply: &ReplyKey, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let opened = engine()
        .unwrap_reply(reply, wrapped)
        .map_err(|_| Error::Crypto)?;
    Ok(Zeroizing::new(opened.value.expose().to_vec()))
}
