//! One sample value per opcode, mechanism and attribute type. The matches are exhaustive, so
//! a new variant without a sample does not compile.

use ihsm_proto::msgs::*;
use ihsm_proto::*;

pub fn bytes<const N: usize>(b: &[u8]) -> Bytes<N> {
    Bytes::new(b.to_vec()).unwrap()
}

pub fn data(b: &[u8]) -> Data {
    Data::copy_from(b).unwrap()
}

pub fn text<const N: usize>(s: &str) -> Text<N> {
    Text::new(s).unwrap()
}

pub fn list<T, const N: usize>(items: Vec<T>) -> List<T, N> {
    List::new(items).unwrap()
}

pub fn handle(n: u64) -> Handle {
    Handle::new(n).unwrap()
}

pub fn login() -> LoginId {
    LoginId::new(0x1234).unwrap()
}

pub fn name(s: &str) -> PartitionName {
    PartitionName::new(s).unwrap()
}

pub fn sealed(fill: u8) -> SealedSecret {
    let mut point = vec![4];
    point.extend([fill; 96]);
    SealedSecret {
        ephemeral_public_key: bytes(&point),
        nonce: Nonce([fill; 32]),
        ciphertext: bytes(&[fill; 24]),
    }
}

pub fn quotas() -> Quotas {
    Quotas {
        max_objects: 1000,
        max_sessions: 64,
        max_logins: 8,
        max_data_object_bytes: 1 << 20,
        max_connections: 128,
        max_locked_bytes: 1 << 21,
    }
}

pub fn partition_info(partition: &str, count: u32) -> PartitionInfo {
    PartitionInfo {
        name: name(partition),
        quotas: quotas(),
        object_count: count,
        initialized: count > 0,
        resets: count,
        sessions: count,
        logins: 1,
        connections: 2,
        locked_bytes: count,
    }
}

pub fn template() -> Template {
    Template::new(vec![
        Attribute::Class(ObjectClass::SecretKey),
        Attribute::Label(text("k1")),
        Attribute::Sensitive(true),
    ])
    .unwrap()
}

/// Every attribute type once.
pub fn full_template() -> Template {
    Template::new(
        AttributeType::ALL
            .iter()
            .map(|ty| attribute(*ty))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

pub fn attribute(ty: AttributeType) -> Attribute {
    use AttributeType as T;
    match ty {
        T::Class => Attribute::Class(ObjectClass::PrivateKey),
        T::Token => Attribute::Token(true),
        T::Private => Attribute::Private(true),
        T::Label => Attribute::Label(text("signing key")),
        T::Modifiable => Attribute::Modifiable(false),
        T::Copyable => Attribute::Copyable(false),
        T::Destroyable => Attribute::Destroyable(true),
        T::Application => Attribute::Application(text("app")),
        T::Value => Attribute::Value(SecretBytes::copy_from(&[0x11; 32]).unwrap()),
        T::ObjectIdentifier => Attribute::ObjectIdentifier(bytes(&[0x06, 0x01, 0x2a])),
        T::KeyType => Attribute::KeyType(KeyType::Ec),
        T::Id => Attribute::Id(bytes(b"id-1")),
        T::Local => Attribute::Local(true),
        T::KeyGenMechanism => Attribute::KeyGenMechanism(MechanismId::EcKeyPairGen),
        T::Derive => Attribute::Derive(false),
        T::Sensitive => Attribute::Sensitive(true),
        T::Extractable => Attribute::Extractable(false),
        T::AlwaysSensitive => Attribute::AlwaysSensitive(true),
        T::NeverExtractable => Attribute::NeverExtractable(true),
        T::Encrypt => Attribute::Encrypt(false),
        T::Decrypt => Attribute::Decrypt(false),
        T::Sign => Attribute::Sign(true),
        T::Verify => Attribute::Verify(true),
        T::Wrap => Attribute::Wrap(false),
        T::Unwrap => Attribute::Unwrap(false),
        T::ValueLen => Attribute::ValueLen(32),
        T::PublicKeyInfo => Attribute::PublicKeyInfo(bytes(&[0x30, 0x59])),
        T::ModulusBits => Attribute::ModulusBits(3072),
        T::Modulus => Attribute::Modulus(bytes(&[0xc5; 384])),
        T::PublicExponent => Attribute::PublicExponent(bytes(&[1, 0, 1])),
        T::EcCurve => Attribute::EcCurve(Curve::P521),
        T::EcPoint => Attribute::EcPoint(bytes(&[4; 133])),
        T::CertificateType => Attribute::CertificateType(CertificateType::X509),
        T::Subject => Attribute::Subject(bytes(&[0x30, 0x00])),
        T::Issuer => Attribute::Issuer(bytes(&[0x30, 0x00])),
        T::SerialNumber => Attribute::SerialNumber(bytes(&[0x02, 0x01, 0x01])),
    }
}

pub fn mechanism(id: MechanismId) -> Mechanism {
    use MechanismId as M;
    let salt = SaltLen::new(32).unwrap();
    match id {
        M::AesGcm => Mechanism::AesGcm(AesGcmParams {
            iv: Some([9; 12]),
            aad: Some(bytes(b"header")),
            tag_bits: Some(GcmTagBits::new(96).unwrap()),
        }),
        M::AesCbc => Mechanism::AesCbc(AesCbcParams { iv: [1; 16] }),
        M::AesCbcPad => Mechanism::AesCbcPad(AesCbcParams { iv: [2; 16] }),
        M::AesXts => Mechanism::AesXts(AesXtsParams { tweak: [3; 16] }),
        M::AesKeyWrap => Mechanism::AesKeyWrap,
        M::AesKeyWrapPad => Mechanism::AesKeyWrapPad,
        M::Sha256 => Mechanism::Sha256,
        M::Sha384 => Mechanism::Sha384,
        M::Sha512 => Mechanism::Sha512,
        M::HmacSha256 => Mechanism::HmacSha256,
        M::HmacSha384 => Mechanism::HmacSha384,
        M::HmacSha512 => Mechanism::HmacSha512,
        M::Ecdsa => Mechanism::Ecdsa,
        M::EcdsaSha256 => Mechanism::EcdsaSha256,
        M::EcdsaSha384 => Mechanism::EcdsaSha384,
        M::EcdsaSha512 => Mechanism::EcdsaSha512,
        M::RsaPkcs1 => Mechanism::RsaPkcs1,
        M::RsaPkcs1Sha256 => Mechanism::RsaPkcs1Sha256,
        M::RsaPkcs1Sha384 => Mechanism::RsaPkcs1Sha384,
        M::RsaPkcs1Sha512 => Mechanism::RsaPkcs1Sha512,
        M::RsaPss => Mechanism::RsaPss(RsaPssParams {
            hash: HashAlg::Sha384,
            salt_len: salt,
        }),
        M::RsaPssSha256 => Mechanism::RsaPssSha256(PssSaltParams { salt_len: salt }),
        M::RsaPssSha384 => Mechanism::RsaPssSha384(PssSaltParams { salt_len: salt }),
        M::RsaPssSha512 => Mechanism::RsaPssSha512(PssSaltParams { salt_len: salt }),
        M::RsaOaep => Mechanism::RsaOaep(RsaOaepParams {
            hash: HashAlg::Sha256,
            label: Some(bytes(b"label")),
        }),
        M::RsaAesKeyWrap => Mechanism::RsaAesKeyWrap(RsaAesKeyWrapParams {
            hash: HashAlg::Sha512,
            aes_size: AesKeySize::Aes256,
        }),
        M::Ecdh => Mechanism::Ecdh(EcdhParams {
            peer_public_key: bytes(&[4; 97]),
        }),
        M::Hkdf => Mechanism::Hkdf(HkdfParams {
            hash: HashAlg::Sha256,
            salt: None,
            info: Some(bytes(b"info")),
        }),
        M::Sp800108CounterHmac => Mechanism::Sp800108CounterHmac(Sp800108Params {
            hash: HashAlg::Sha384,
            label: bytes(b"label"),
            context: bytes(b""),
        }),
        M::AesKeyGen => Mechanism::AesKeyGen,
        M::AesXtsKeyGen => Mechanism::AesXtsKeyGen,
        M::GenericSecretKeyGen => Mechanism::GenericSecretKeyGen,
        M::EcKeyPairGen => Mechanism::EcKeyPairGen,
        M::RsaKeyPairGen => Mechanism::RsaKeyPairGen,
        M::KeyValueImport => Mechanism::KeyValueImport,
    }
}

fn gcm() -> Mechanism {
    Mechanism::AesGcm(AesGcmParams {
        iv: None,
        aad: None,
        tag_bits: None,
    })
}

pub fn request(op: Opcode) -> RequestBody {
    use Opcode as O;
    match op {
        O::GetStatus => GetStatusRequest {}.into(),
        O::InitializeAdmin => InitializeAdminRequest {
            credential: sealed(1),
        }
        .into(),
        O::GetCredentialKey => GetCredentialKeyRequest {}.into(),
        O::RunSelfTests => RunSelfTestsRequest {}.into(),
        O::Login => LoginRequest {
            role: Role::CryptoUser,
            credential: sealed(2),
        }
        .into(),
        O::Logout => LogoutRequest { login: login() }.into(),
        O::IssueTicket => IssueTicketRequest { login: login() }.into(),
        O::AttachLogin => AttachLoginRequest {
            ticket: Ticket::new([0x5a; 32]),
        }
        .into(),
        O::SetPin => SetPinRequest {
            role: Role::CryptoUser,
            credential: sealed(3),
        }
        .into(),
        O::ChangePin => ChangePinRequest {
            role: Role::CryptoOfficer,
            old: sealed(4),
            new: sealed(5),
        }
        .into(),
        O::UnlockRole => UnlockRoleRequest {
            role: Role::CryptoUser,
        }
        .into(),
        O::OpenSession => OpenSessionRequest { login: login() }.into(),
        O::CloseSession => CloseSessionRequest {}.into(),
        O::CloseAllSessions => CloseAllSessionsRequest { login: login() }.into(),
        O::GetSessionInfo => GetSessionInfoRequest {}.into(),
        O::CreatePartition => CreatePartitionRequest {
            name: name("tenant-a"),
            quotas: quotas(),
        }
        .into(),
        O::InitializePartition => InitializePartitionRequest {
            officer_credential: sealed(7),
            backup_secret: Some(sealed(6)),
        }
        .into(),
        O::ResetPartition => ResetPartitionRequest {
            name: name("tenant-a"),
        }
        .into(),
        O::GetPartitionInfo => GetPartitionInfoRequest {}.into(),
        O::ListPartitions => ListPartitionsRequest {}.into(),
        O::DeletePartition => DeletePartitionRequest {
            name: name("tenant_b-2"),
        }
        .into(),
        O::GetPartitionPolicy => GetPartitionPolicyRequest {}.into(),
        O::SetPartitionPolicy => SetPartitionPolicyRequest {
            allow_non_approved: list(vec![MechanismId::RsaPkcs1, MechanismId::Sha256]),
        }
        .into(),
        O::ZeroizePartition => ZeroizePartitionRequest {}.into(),
        O::CreateObject => CreateObjectRequest {
            template: full_template(),
        }
        .into(),
        O::CopyObject => CopyObjectRequest {
            handle: handle(7),
            template: template(),
        }
        .into(),
        O::DestroyObject => DestroyObjectRequest {
            handle: handle(u64::MAX),
        }
        .into(),
        O::GetAttributes => GetAttributesRequest {
            handle: handle(8),
            types: AttributeTypes::new(AttributeType::ALL).unwrap(),
        }
        .into(),
        O::SetAttributes => SetAttributesRequest {
            handle: handle(9),
            template: template(),
        }
        .into(),
        O::FindObjects => FindObjectsRequest {
            template: Template::default(),
            cursor: Some(bytes(&[0xcc; 64])),
            max_count: FindCount::new(1024).unwrap(),
        }
        .into(),
        O::GenerateKey => GenerateKeyRequest {
            spec: KeySpec::GenericSecret(GenericSecretLen::new(14).unwrap()),
            template: template(),
        }
        .into(),
        O::GenerateKeyPair => GenerateKeyPairRequest {
            spec: KeyPairSpec::Rsa(RsaKeySize::Rsa4096),
            public_template: template(),
            private_template: full_template(),
        }
        .into(),
        O::WrapKey => WrapKeyRequest {
            mechanism: Mechanism::AesKeyWrapPad,
            wrapping_key: handle(10),
            key: handle(11),
        }
        .into(),
        O::UnwrapKey => UnwrapKeyRequest {
            mechanism: mechanism(MechanismId::RsaAesKeyWrap),
            unwrapping_key: handle(12),
            wrapped: bytes(&[0xaa; 300]),
            template: template(),
        }
        .into(),
        O::DeriveKey => DeriveKeyRequest {
            mechanism: mechanism(MechanismId::Ecdh),
            base_key: handle(13),
            template: template(),
        }
        .into(),
        O::GetImportKey => GetImportKeyRequest {
            kind: ImportKeyKind::RsaOaep,
        }
        .into(),
        O::ImportKey => ImportKeyRequest {
            kind: ImportKeyKind::EcdhP384,
            ephemeral_public_key: Some(bytes(&[4; 97])),
            wrapped: bytes(&[0xbb; 40]),
            template: template(),
        }
        .into(),
        O::MaskKey => MaskKeyRequest { key: handle(14) }.into(),
        O::UnmaskKey => UnmaskKeyRequest {
            blob: bytes(&[0xdd; 200]),
        }
        .into(),
        O::Encrypt => EncryptRequest {
            mechanism: gcm(),
            key: handle(15),
            data: data(b"attack at dawn"),
        }
        .into(),
        O::EncryptInit => EncryptInitRequest {
            mechanism: mechanism(MechanismId::AesCbcPad),
            key: handle(16),
        }
        .into(),
        O::EncryptUpdate => EncryptUpdateRequest {
            data: data(&[1; 100]),
        }
        .into(),
        O::EncryptFinal => EncryptFinalRequest {}.into(),
        O::Decrypt => DecryptRequest {
            mechanism: mechanism(MechanismId::AesGcm),
            key: handle(17),
            data: data(&[2; 30]),
        }
        .into(),
        O::DecryptInit => DecryptInitRequest {
            mechanism: mechanism(MechanismId::AesXts),
            key: handle(18),
        }
        .into(),
        O::DecryptUpdate => DecryptUpdateRequest {
            data: data(&[3; 16]),
        }
        .into(),
        O::DecryptFinal => DecryptFinalRequest {}.into(),
        O::Sign => SignRequest {
            mechanism: Mechanism::EcdsaSha384,
            key: handle(19),
            data: data(b"message"),
        }
        .into(),
        O::SignInit => SignInitRequest {
            mechanism: mechanism(MechanismId::RsaPssSha256),
            key: handle(20),
        }
        .into(),
        O::SignUpdate => SignUpdateRequest {
            data: data(b"part"),
        }
        .into(),
        O::SignFinal => SignFinalRequest {}.into(),
        O::Verify => VerifyRequest {
            mechanism: Mechanism::HmacSha512,
            key: handle(21),
            data: data(b"message"),
            signature: bytes(&[0x77; 64]),
        }
        .into(),
        O::VerifyInit => VerifyInitRequest {
            mechanism: mechanism(MechanismId::RsaPss),
            key: handle(22),
        }
        .into(),
        O::VerifyUpdate => VerifyUpdateRequest { data: data(b"") }.into(),
        O::VerifyFinal => VerifyFinalRequest {
            signature: bytes(&[0x66; 512]),
        }
        .into(),
        O::Digest => DigestRequest {
            mechanism: Mechanism::Sha512,
            data: data(b"abc"),
        }
        .into(),
        O::DigestInit => DigestInitRequest {
            mechanism: Mechanism::Sha256,
        }
        .into(),
        O::DigestUpdate => DigestUpdateRequest { data: data(b"abc") }.into(),
        O::DigestFinal => DigestFinalRequest {}.into(),
        O::GenerateRandom => GenerateRandomRequest {
            len: DataLen::new(16).unwrap(),
        }
        .into(),
        O::CancelOperation => CancelOperationRequest {
            kind: OperationKind::Verify,
        }
        .into(),
    }
}

pub fn response(op: Opcode) -> ResponseBody {
    use Opcode as O;
    match op {
        O::GetStatus => GetStatusResponse {
            version: text("0.1.0"),
            mode: DeviceMode::Development,
            fips_mode: false,
            state: DeviceState::Error,
            error: Some(ErrorCause::Rollback),
            locked_memory: Some(LockedMemory {
                capacity: 8 << 20,
                in_use: 12_345,
                peak: 23_456,
                reserved: 2 << 20,
                locked: true,
                refused: 0,
            }),
            self_tests: list(vec![
                SelfTestResult {
                    name: text("AES-GCM-256 KAT"),
                    passed: true,
                },
                SelfTestResult {
                    name: text("ECDSA P-384 PCT"),
                    passed: false,
                },
            ]),
            test_hooks: true,
            initialized: true,
        }
        .into(),
        O::InitializeAdmin => InitializeAdminResponse {}.into(),
        O::RunSelfTests => RunSelfTestsResponse {
            self_tests: list(vec![SelfTestResult {
                name: text("HMAC-SHA-256 KAT"),
                passed: true,
            }]),
        }
        .into(),
        O::GetCredentialKey => GetCredentialKeyResponse {
            credential_public_key: bytes(&[4; 97]),
            attestation_public_key: bytes(&[4; 97]),
            signature: bytes(&[0x51; 96]),
            nonce: Nonce([0x4e; 32]),
        }
        .into(),
        O::Login => LoginResponse { login: login() }.into(),
        O::Logout => LogoutResponse {}.into(),
        O::IssueTicket => IssueTicketResponse {
            ticket: Ticket::new([0xa5; 32]),
        }
        .into(),
        O::AttachLogin => AttachLoginResponse {
            login: login(),
            role: Role::CryptoUser,
        }
        .into(),
        O::SetPin => SetPinResponse {}.into(),
        O::ChangePin => ChangePinResponse {}.into(),
        O::UnlockRole => UnlockRoleResponse {}.into(),
        O::OpenSession => OpenSessionResponse {
            session: SessionId::new(99).unwrap(),
        }
        .into(),
        O::CloseSession => CloseSessionResponse {}.into(),
        O::CloseAllSessions => CloseAllSessionsResponse {}.into(),
        O::GetSessionInfo => GetSessionInfoResponse {
            role: Role::CryptoOfficer,
            partition: Some(name("tenant-a")),
            login: login(),
        }
        .into(),
        O::CreatePartition => CreatePartitionResponse {}.into(),
        O::InitializePartition => InitializePartitionResponse {
            wrapped_backup_secret: Some(SecretBytes::copy_from(&[0xbe; 60]).unwrap()),
        }
        .into(),
        O::ResetPartition => ResetPartitionResponse { resets: 3 }.into(),
        O::GetPartitionInfo => GetPartitionInfoResponse {
            partition: partition_info("a", 0),
        }
        .into(),
        O::ListPartitions => ListPartitionsResponse {
            partitions: list(vec![partition_info("a", 0), partition_info("b", u32::MAX)]),
        }
        .into(),
        O::DeletePartition => DeletePartitionResponse {}.into(),
        O::GetPartitionPolicy => GetPartitionPolicyResponse {
            allow_non_approved: List::default(),
        }
        .into(),
        O::SetPartitionPolicy => SetPartitionPolicyResponse {}.into(),
        O::ZeroizePartition => ZeroizePartitionResponse {}.into(),
        O::CreateObject => CreateObjectResponse { handle: handle(1) }.into(),
        O::CopyObject => CopyObjectResponse { handle: handle(2) }.into(),
        O::DestroyObject => DestroyObjectResponse {}.into(),
        O::GetAttributes => GetAttributesResponse {
            values: list(vec![
                AttributeReading::Value(Attribute::Label(text("x"))),
                AttributeReading::Sensitive(AttributeType::Value),
                AttributeReading::Invalid(AttributeType::Modulus),
            ]),
        }
        .into(),
        O::SetAttributes => SetAttributesResponse {}.into(),
        O::FindObjects => FindObjectsResponse {
            handles: list(vec![handle(1), handle(0xdead_beef_cafe)]),
            next_cursor: None,
        }
        .into(),
        O::GenerateKey => GenerateKeyResponse { handle: handle(3) }.into(),
        O::GenerateKeyPair => GenerateKeyPairResponse {
            public_handle: handle(4),
            private_handle: handle(5),
        }
        .into(),
        O::WrapKey => WrapKeyResponse {
            wrapped: bytes(&[0xee; 40]),
        }
        .into(),
        O::UnwrapKey => UnwrapKeyResponse { handle: handle(6) }.into(),
        O::DeriveKey => DeriveKeyResponse { handle: handle(7) }.into(),
        O::GetImportKey => GetImportKeyResponse {
            public_key: bytes(&[0x30; 422]),
            signature: bytes(&[0x53; 96]),
        }
        .into(),
        O::ImportKey => ImportKeyResponse { handle: handle(8) }.into(),
        O::MaskKey => MaskKeyResponse {
            blob: bytes(&[0xb1; 128]),
        }
        .into(),
        O::UnmaskKey => UnmaskKeyResponse { handle: handle(9) }.into(),
        O::Encrypt => EncryptResponse {
            data: data(&[0xc1; 30]),
            iv: Some([0x1f; 12]),
        }
        .into(),
        O::EncryptInit => EncryptInitResponse {}.into(),
        O::EncryptUpdate => EncryptUpdateResponse { data: data(&[]) }.into(),
        O::EncryptFinal => EncryptFinalResponse {
            data: data(&[0xc2; 16]),
            iv: None,
        }
        .into(),
        O::Decrypt => DecryptResponse {
            data: data(b"plain"),
        }
        .into(),
        O::DecryptInit => DecryptInitResponse {}.into(),
        O::DecryptUpdate => DecryptUpdateResponse {
            data: data(&[0xd1; 16]),
        }
        .into(),
        O::DecryptFinal => DecryptFinalResponse { data: data(&[]) }.into(),
        O::Sign => SignResponse {
            signature: bytes(&[0x5e; 96]),
        }
        .into(),
        O::SignInit => SignInitResponse {}.into(),
        O::SignUpdate => SignUpdateResponse {}.into(),
        O::SignFinal => SignFinalResponse {
            signature: bytes(&[0x5f; 384]),
        }
        .into(),
        O::Verify => VerifyResponse {}.into(),
        O::VerifyInit => VerifyInitResponse {}.into(),
        O::VerifyUpdate => VerifyUpdateResponse {}.into(),
        O::VerifyFinal => VerifyFinalResponse {}.into(),
        O::Digest => DigestResponse {
            digest: bytes(&[0xd9; 64]),
        }
        .into(),
        O::DigestInit => DigestInitResponse {}.into(),
        O::DigestUpdate => DigestUpdateResponse {}.into(),
        O::DigestFinal => DigestFinalResponse {
            digest: bytes(&[0xda; 32]),
        }
        .into(),
        O::GenerateRandom => GenerateRandomResponse {
            data: data(&[0x42; 16]),
        }
        .into(),
        O::CancelOperation => CancelOperationResponse {}.into(),
    }
}

/// A request in the session when the opcode takes one.
pub fn framed_request(op: Opcode, request_id: u64) -> Request {
    Request {
        request_id: RequestId::new(request_id).unwrap(),
        session: op
            .takes_session()
            .then(|| SessionId::new(0x1122_3344_5566_7788).unwrap()),
        body: request(op),
    }
}

/// Every sample request and response, as complete frames.
pub fn frames() -> Vec<(Opcode, Vec<u8>)> {
    let limits = Limits::default();
    let mut frames = Vec::new();
    for (i, op) in (1..).zip(Opcode::ALL) {
        let request = framed_request(*op, i).encode_frame(&limits).unwrap();
        frames.push((*op, request.to_vec()));
        let response = Response::ok(RequestId::new(i).unwrap(), true, response(*op));
        frames.push((*op, response.encode_frame(&limits).unwrap().to_vec()));
    }
    frames
}
