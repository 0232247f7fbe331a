//! Objects, attributes, key generation, signatures, search, isolation (S14).

use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesKeySize, Attribute, AttributeReading, AttributeType as T, AttributeTypes, Bytes, Curve,
    Data, ErrorStatus, FindCount, Handle, KeyPairSpec, KeySpec, KeyType, Mechanism, MechanismId,
    ObjectClass, ResponseBody, SessionId, Status, Template, Text,
};

use super::fixtures::*;

pub fn template(attributes: Vec<Attribute>) -> Template {
    Template::new(attributes).unwrap()
}

pub fn data(bytes: &[u8]) -> Data {
    Data::copy_from(bytes).unwrap()
}

pub fn generate_aes(
    user: &mut TestClient,
    session: SessionId,
    attributes: Vec<Attribute>,
) -> Result<Handle, ErrorStatus> {
    let request = GenerateKeyRequest {
        spec: KeySpec::Aes(AesKeySize::Aes256),
        template: template(attributes),
    };
    match user.call(Some(session), request)?.0 {
        ResponseBody::GenerateKey(r) => Ok(r.handle),
        _ => unreachable!(),
    }
}

pub fn generate_ec(user: &mut TestClient, session: SessionId, token: bool) -> (Handle, Handle) {
    let request = GenerateKeyPairRequest {
        spec: KeyPairSpec::Ec(Curve::P256),
        public_template: template(vec![Attribute::Token(token)]),
        private_template: template(vec![Attribute::Token(token)]),
    };
    match user.call(Some(session), request).unwrap().0 {
        ResponseBody::GenerateKeyPair(r) => (r.public_handle, r.private_handle),
        _ => unreachable!(),
    }
}

pub fn read(
    user: &mut TestClient,
    session: SessionId,
    handle: Handle,
    types: &[T],
) -> Vec<AttributeReading> {
    let request = GetAttributesRequest {
        handle,
        types: AttributeTypes::new(types.to_vec()).unwrap(),
    };
    match user.call(Some(session), request).unwrap().0 {
        ResponseBody::GetAttributes(r) => r.values.into_vec(),
        _ => unreachable!(),
    }
}

pub fn sign(
    user: &mut TestClient,
    session: SessionId,
    key: Handle,
    mechanism: Mechanism,
    message: &[u8],
) -> Result<(Vec<u8>, bool), ErrorStatus> {
    let request = SignRequest {
        mechanism,
        key,
        data: data(message),
    };
    match user.call(Some(session), request)? {
        (ResponseBody::Sign(r), approved) => Ok((r.signature.to_vec(), approved)),
        _ => unreachable!(),
    }
}

pub fn verify(
    user: &mut TestClient,
    session: SessionId,
    key: Handle,
    mechanism: Mechanism,
    message: &[u8],
    signature: &[u8],
) -> Status {
    let request = VerifyRequest {
        mechanism,
        key,
        data: data(message),
        signature: Bytes::new(signature.to_vec()).unwrap(),
    };
    status(user.call(Some(session), request))
}

#[test]
fn generated_keys_carry_pkcs11_attributes_and_never_reveal_their_value() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("attrs");
    let key = generate_aes(
        &mut user,
        session,
        vec![Attribute::Label(Text::new("k1").unwrap())],
    )
    .unwrap();
    let readings = read(
        &mut user,
        session,
        key,
        &[
            T::Class,
            T::KeyType,
            T::ValueLen,
            T::Local,
            T::KeyGenMechanism,
            T::Sensitive,
            T::Extractable,
            T::AlwaysSensitive,
            T::NeverExtractable,
            T::Label,
            T::Value,
            T::Modulus,
        ],
    );
    assert_eq!(
        readings,
        vec![
            AttributeReading::Value(Attribute::Class(ObjectClass::SecretKey)),
            AttributeReading::Value(Attribute::KeyType(KeyType::Aes)),
            AttributeReading::Value(Attribute::ValueLen(32)),
            AttributeReading::Value(Attribute::Local(true)),
            AttributeReading::Value(Attribute::KeyGenMechanism(MechanismId::AesKeyGen)),
            AttributeReading::Value(Attribute::Sensitive(true)),
            AttributeReading::Value(Attribute::Extractable(false)),
            AttributeReading::Value(Attribute::AlwaysSensitive(true)),
            AttributeReading::Value(Attribute::NeverExtractable(true)),
            AttributeReading::Value(Attribute::Label(Text::new("k1").unwrap())),
            AttributeReading::Sensitive(T::Value),
            AttributeReading::Invalid(T::Modulus),
        ]
    );
    // Templates: device-set attributes, attributes of other objects, contradictions.
    for (attributes, expected) in [
        (vec![Attribute::Local(true)], Status::AttributeReadOnly),
        (
            vec![Attribute::ModulusBits(2048)],
            Status::AttributeTypeInvalid,
        ),
        (vec![Attribute::ValueLen(16)], Status::TemplateInconsistent),
        (
            vec![Attribute::KeyType(KeyType::Rsa)],
            Status::TemplateInconsistent,
        ),
    ] {
        assert_eq!(
            status(generate_aes(&mut user, session, attributes.clone())),
            expected,
            "{attributes:?}"
        );
    }
    // One-way attributes.
    let set = |attribute| SetAttributesRequest {
        handle: key,
        template: template(vec![attribute]),
    };
    assert_eq!(
        status(user.call(Some(session), set(Attribute::Sensitive(false)))),
        Status::AttributeReadOnly
    );
    assert_eq!(
        status(user.call(Some(session), set(Attribute::Extractable(true)))),
        Status::AttributeReadOnly
    );
    assert_eq!(
        status(user.call(Some(session), set(Attribute::Local(false)))),
        Status::AttributeReadOnly
    );
    assert_eq!(
        status(user.call(
            Some(session),
            set(Attribute::Label(Text::new("k2").unwrap()))
        )),
        Status::Ok
    );
    assert_eq!(
        status(user.call(Some(session), set(Attribute::Destroyable(false)))),
        Status::Ok
    );
    assert_eq!(
        status(user.call(Some(session), DestroyObjectRequest { handle: key })),
        Status::ActionProhibited
    );
    // A private key's value is sensitive; a public key has no value attribute at all (its
    // public parts are attributes of their own).
    let (public, private) = generate_ec(&mut user, session, false);
    assert_eq!(
        read(&mut user, session, private, &[T::Value]),
        [AttributeReading::Sensitive(T::Value)]
    );
    assert_eq!(
        read(&mut user, session, public, &[T::Value]),
        [AttributeReading::Invalid(T::Value)]
    );
}

#[test]
fn ecdsa_and_hmac_sign_and_verify_single_and_multi_part() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("sign");
    let (public, private) = generate_ec(&mut user, session, false);
    let (signature, approved) = sign(
        &mut user,
        session,
        private,
        Mechanism::EcdsaSha256,
        b"hello",
    )
    .unwrap();
    assert_eq!(signature.len(), 64);
    assert_eq!(approved, cfg!(feature = "fips"));
    assert_eq!(
        verify(
            &mut user,
            session,
            public,
            Mechanism::EcdsaSha256,
            b"hello",
            &signature
        ),
        Status::Ok
    );
    assert_eq!(
        verify(
            &mut user,
            session,
            public,
            Mechanism::EcdsaSha256,
            b"hellO",
            &signature
        ),
        Status::VerificationFailed
    );
    // The wrong key class, and a digest signature the default policy refuses.
    assert_eq!(
        status(sign(
            &mut user,
            session,
            public,
            Mechanism::EcdsaSha256,
            b"x"
        )),
        Status::KeyTypeInconsistent
    );
    assert_eq!(
        status(sign(
            &mut user,
            session,
            private,
            Mechanism::Ecdsa,
            &[0; 32]
        )),
        Status::PolicyNotApproved
    );

    // Multi-part equals single-part.
    user.call(
        Some(session),
        SignInitRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: private,
        },
    )
    .unwrap();
    assert_eq!(
        status(user.call(
            Some(session),
            SignInitRequest {
                mechanism: Mechanism::EcdsaSha256,
                key: private
            }
        )),
        Status::OperationActive
    );
    for part in [&b"hel"[..], b"lo"] {
        user.call(Some(session), SignUpdateRequest { data: data(part) })
            .unwrap();
    }
    let ResponseBody::SignFinal(done) = user.call(Some(session), SignFinalRequest {}).unwrap().0
    else {
        unreachable!()
    };
    assert_eq!(
        verify(
            &mut user,
            session,
            public,
            Mechanism::EcdsaSha256,
            b"hello",
            &done.signature
        ),
        Status::Ok
    );
    assert_eq!(
        status(user.call(Some(session), SignFinalRequest {})),
        Status::OperationNotInitialized
    );

    // HMAC with a generated generic secret.
    let request = GenerateKeyRequest {
        spec: KeySpec::GenericSecret(ihsm_proto::GenericSecretLen::new(32).unwrap()),
        template: template(vec![]),
    };
    let ResponseBody::GenerateKey(hmac) = user.call(Some(session), request).unwrap().0 else {
        unreachable!()
    };
    let (tag, _) = sign(&mut user, session, hmac.handle, Mechanism::HmacSha256, b"m").unwrap();
    assert_eq!(tag.len(), 32);
    assert_eq!(
        verify(
            &mut user,
            session,
            hmac.handle,
            Mechanism::HmacSha256,
            b"m",
            &tag
        ),
        Status::Ok
    );
    assert_eq!(
        verify(
            &mut user,
            session,
            hmac.handle,
            Mechanism::HmacSha256,
            b"n",
            &tag
        ),
        Status::VerificationFailed
    );
    // An AES key does not sign.
    let aes = generate_aes(&mut user, session, vec![]).unwrap();
    assert_eq!(
        status(sign(&mut user, session, aes, Mechanism::HmacSha256, b"m")),
        Status::KeyTypeInconsistent
    );
}

#[test]
fn usage_attributes_gate_operations() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("usage");
    let (_, private) = generate_ec(&mut user, session, false);
    let set = SetAttributesRequest {
        handle: private,
        template: template(vec![Attribute::Sign(false)]),
    };
    user.call(Some(session), set).unwrap();
    assert_eq!(
        status(sign(
            &mut user,
            session,
            private,
            Mechanism::EcdsaSha256,
            b"x"
        )),
        Status::KeyUsageNotPermitted
    );
}

/// Every request that names a key or object, with `h` in one handle position and the caller's
/// own `kek` (an AES key) and `extractable` (an extractable AES key) in the others.
fn handle_requests(h: Handle, kek: Handle, extractable: Handle) -> Vec<RequestBody> {
    use ihsm_proto::{AesGcmParams, EcdhParams};
    let gcm = |iv| {
        Mechanism::AesGcm(AesGcmParams {
            iv,
            aad: None,
            tag_bits: None,
        })
    };
    vec![
        CopyObjectRequest {
            handle: h,
            template: template(vec![]),
        }
        .into(),
        DestroyObjectRequest { handle: h }.into(),
        GetAttributesRequest {
            handle: h,
            types: AttributeTypes::new(vec![T::Label]).unwrap(),
        }
        .into(),
        SetAttributesRequest {
            handle: h,
            template: template(vec![Attribute::Label(Text::new("x").unwrap())]),
        }
        .into(),
        WrapKeyRequest {
            mechanism: Mechanism::AesKeyWrapPad,
            wrapping_key: h,
            key: extractable,
        }
        .into(),
        WrapKeyRequest {
            mechanism: Mechanism::AesKeyWrapPad,
            wrapping_key: kek,
            key: h,
        }
        .into(),
        UnwrapKeyRequest {
            mechanism: Mechanism::AesKeyWrapPad,
            unwrapping_key: h,
            wrapped: Bytes::new(vec![0; 24]).unwrap(),
            template: template(vec![
                Attribute::Class(ObjectClass::SecretKey),
                Attribute::KeyType(KeyType::Aes),
            ]),
        }
        .into(),
        DeriveKeyRequest {
            mechanism: Mechanism::Ecdh(EcdhParams {
                peer_public_key: Bytes::new(vec![4; 65]).unwrap(),
            }),
            base_key: h,
            template: template(vec![]),
        }
        .into(),
        MaskKeyRequest { key: h }.into(),
        EncryptRequest {
            mechanism: gcm(None),
            key: h,
            data: data(b"x"),
        }
        .into(),
        EncryptInitRequest {
            mechanism: gcm(None),
            key: h,
        }
        .into(),
        DecryptRequest {
            mechanism: gcm(Some([0; 12])),
            key: h,
            data: data(&[0; 17]),
        }
        .into(),
        DecryptInitRequest {
            mechanism: gcm(Some([0; 12])),
            key: h,
        }
        .into(),
        SignRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: h,
            data: data(b"x"),
        }
        .into(),
        SignInitRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: h,
        }
        .into(),
        VerifyRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: h,
            data: data(b"x"),
            signature: Bytes::new(vec![0; 64]).unwrap(),
        }
        .into(),
        VerifyInitRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: h,
        }
        .into(),
    ]
}

#[test]
fn s14_handles_of_another_partition_are_objects_that_do_not_exist() {
    let fixture = Fixture::initialized();
    let (mut alice, alice_session) = fixture.user("alice");
    let (mut bob, bob_session) = fixture.user("bob");
    let (public, private) = generate_ec(&mut alice, alice_session, true);
    let alice_aes = generate_aes(&mut alice, alice_session, vec![Attribute::Token(true)]).unwrap();
    let kek = generate_aes(&mut bob, bob_session, vec![Attribute::Wrap(true)]).unwrap();
    let extractable =
        generate_aes(&mut bob, bob_session, vec![Attribute::Extractable(true)]).unwrap();
    let nowhere = Handle::new(0x1234_5678).unwrap();
    let mut checked = 0;
    for (request, baseline) in handle_requests(nowhere, kek, extractable)
        .into_iter()
        .enumerate()
    {
        let expected = status(bob.call(Some(bob_session), baseline));
        assert_eq!(expected, Status::ObjectNotFound, "request {request}");
        for foreign in [public, private, alice_aes] {
            let body = handle_requests(foreign, kek, extractable).swap_remove(request);
            let opcode = body.opcode();
            assert_eq!(
                status(bob.call(Some(bob_session), body)),
                expected,
                "{opcode:?} with another partition's handle"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 17 * 3);
    // Alice's keys are untouched and still hers.
    assert!(sign(
        &mut alice,
        alice_session,
        private,
        Mechanism::EcdsaSha256,
        b"x"
    )
    .is_ok());
}

#[test]
fn find_objects_pages_with_single_use_cursors() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("find");
    let label = Attribute::Label(Text::new("page").unwrap());
    for i in 0..5u8 {
        let request = CreateObjectRequest {
            template: template(vec![
                Attribute::Class(ObjectClass::Data),
                label.clone(),
                Attribute::Value(ihsm_proto::SecretBytes::copy_from(&[i]).unwrap()),
            ]),
        };
        user.call(Some(session), request).unwrap();
    }
    let find = |cursor| FindObjectsRequest {
        template: template(vec![label.clone()]),
        cursor,
        max_count: FindCount::new(2).unwrap(),
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let ResponseBody::FindObjects(page) =
            user.call(Some(session), find(cursor.clone())).unwrap().0
        else {
            unreachable!()
        };
        assert!(page.handles.len() <= 2);
        seen.extend(page.handles.iter().copied());
        match page.next_cursor {
            Some(next) => {
                if cursor.is_some() {
                    // The previous cursor is spent.
                    assert_eq!(
                        status(user.call(Some(session), find(cursor.clone()))),
                        Status::CursorInvalid
                    );
                    // ...which ended the search; restart from the first page is the caller's job.
                    break;
                }
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert!(seen.len() >= 4);
    let all = FindObjectsRequest {
        template: template(vec![label.clone()]),
        cursor: None,
        max_count: FindCount::new(100).unwrap(),
    };
    let ResponseBody::FindObjects(page) = user.call(Some(session), all).unwrap().0 else {
        unreachable!()
    };
    assert_eq!(page.handles.len(), 5);
    assert!(page.next_cursor.is_none());
    let bogus = Bytes::new(vec![0; 16]).unwrap();
    assert_eq!(
        status(user.call(Some(session), find(Some(bogus)))),
        Status::CursorInvalid
    );
}

#[test]
fn session_objects_die_with_their_session_and_token_objects_survive_a_restart() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("life");
    let (_, session_key) = generate_ec(&mut user, session, false);
    let (token_public, token_private) = generate_ec(&mut user, session, true);
    let name = ihsm_proto::PartitionName::new("life").unwrap();
    assert_eq!(fixture.device.object_count(&name), Some(4));
    user.call(Some(session), CloseSessionRequest {}).unwrap();
    assert_eq!(fixture.device.object_count(&name), Some(2));
    drop(user);

    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition("life");
    let session = user
        .session(ihsm_proto::Role::CryptoUser, USER_PIN)
        .unwrap();
    assert_eq!(
        status(sign(
            &mut user,
            session,
            session_key,
            Mechanism::EcdsaSha256,
            b"x"
        )),
        Status::ObjectNotFound
    );
    let (signature, _) = sign(
        &mut user,
        session,
        token_private,
        Mechanism::EcdsaSha256,
        b"x",
    )
    .unwrap();
    assert_eq!(
        verify(
            &mut user,
            session,
            token_public,
            Mechanism::EcdsaSha256,
            b"x",
            &signature
        ),
        Status::Ok
    );
}

#[test]
fn digests_and_random_serve_every_session() {
    let fixture = Fixture::initialized();
    let (mut admin, session) = fixture.admin_session();
    let request = DigestRequest {
        mechanism: Mechanism::Sha256,
        data: data(b"abc"),
    };
    let (ResponseBody::Digest(digest), approved) = admin.call(Some(session), request).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(approved, cfg!(feature = "fips"));
    assert_eq!(
        digest.digest.to_vec(),
        [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
            0xf2, 0x00, 0x15, 0xad
        ]
    );
    let request = GenerateRandomRequest {
        len: ihsm_proto::DataLen::new(16).unwrap(),
    };
    let ResponseBody::GenerateRandom(random) = admin.call(Some(session), request).unwrap().0 else {
        unreachable!()
    };
    assert_eq!(random.data.len(), 16);
    // The admin never uses partition keys: object calls are not served on its socket.
    let request = GenerateKeyRequest {
        spec: KeySpec::AesXts,
        template: template(vec![]),
    };
    assert_eq!(
        status(admin.call(Some(session), request)),
        Status::RoleNotPermitted
    );
}

#[test]
fn copies_share_the_key_and_follow_the_one_way_rules() {
    use super::ciphers::{decrypt, encrypt, gcm};

    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("copy");
    let original = generate_aes(&mut user, session, vec![]).unwrap();
    let copy = |user: &mut TestClient, attributes| {
        let request = CopyObjectRequest {
            handle: original,
            template: template(attributes),
        };
        match user.call(Some(session), request)? {
            (ResponseBody::CopyObject(r), _) => Ok(r.handle),
            _ => unreachable!(),
        }
    };
    let label = Attribute::Label(Text::new("copy").unwrap());
    let token = copy(&mut user, vec![Attribute::Token(true), label.clone()]).unwrap();
    assert_eq!(
        read(
            &mut user,
            session,
            token,
            &[T::Token, T::Label, T::Sensitive]
        ),
        [
            AttributeReading::Value(Attribute::Token(true)),
            AttributeReading::Value(label),
            AttributeReading::Value(Attribute::Sensitive(true)),
        ]
    );
    assert_eq!(fixture.store.table(ihsm_device::Table::Object).len(), 1);
    // The copy is the same key.
    let (sealed, iv) = encrypt(&mut user, session, gcm(None), original, b"same").unwrap();
    assert_eq!(
        decrypt(&mut user, session, gcm(iv), token, &sealed).unwrap(),
        b"same"
    );
    // Sensitive and extractable stay one-way in a copy too.
    for attribute in [Attribute::Extractable(true), Attribute::Sensitive(false)] {
        assert_eq!(
            status(copy(&mut user, vec![attribute.clone()])),
            Status::AttributeReadOnly,
            "{attribute:?}"
        );
    }
    let forbid = SetAttributesRequest {
        handle: original,
        template: template(vec![Attribute::Copyable(false)]),
    };
    user.call(Some(session), forbid).unwrap();
    assert_eq!(status(copy(&mut user, vec![])), Status::ActionProhibited);
}

#[test]
fn a_read_only_object_is_copied_only_to_tighten_it() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("read-only");
    let original = generate_aes(
        &mut user,
        session,
        vec![
            Attribute::Modifiable(false),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
        ],
    )
    .unwrap();
    let change = SetAttributesRequest {
        handle: original,
        template: template(vec![Attribute::Sensitive(true)]),
    };
    assert_eq!(
        status(user.call(Some(session), change)),
        Status::ActionProhibited
    );
    let mut copy = |attributes: Vec<Attribute>| {
        let request = CopyObjectRequest {
            handle: original,
            template: template(attributes),
        };
        status(user.call(Some(session), request))
    };
    for attribute in [
        Attribute::Label(Text::new("renamed").unwrap()),
        Attribute::Sign(true),
        Attribute::Encrypt(false),
        Attribute::Modifiable(true),
    ] {
        assert_eq!(
            copy(vec![attribute.clone()]),
            Status::AttributeReadOnly,
            "{attribute:?}"
        );
    }
    assert_eq!(
        copy(vec![
            Attribute::Token(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Destroyable(false),
        ]),
        Status::Ok
    );
}

#[test]
fn certificates_and_data_objects_keep_their_values() {
    use ihsm_proto::{CertificateType, SecretBytes};

    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("certs");
    let der = [0x30, 0x03, 0x02, 0x01, 0x01];
    let create = |user: &mut TestClient, attributes| {
        let request = CreateObjectRequest {
            template: template(attributes),
        };
        match user.call(Some(session), request)? {
            (ResponseBody::CreateObject(r), _) => Ok(r.handle),
            _ => unreachable!(),
        }
    };
    let certificate = create(
        &mut user,
        vec![
            Attribute::Class(ObjectClass::Certificate),
            Attribute::CertificateType(CertificateType::X509),
            Attribute::Subject(Bytes::new(vec![0x30, 0x00]).unwrap()),
            Attribute::Value(SecretBytes::copy_from(&der).unwrap()),
            Attribute::Token(true),
        ],
    )
    .unwrap();
    assert_eq!(
        read(
            &mut user,
            session,
            certificate,
            &[T::Value, T::CertificateType]
        ),
        [
            AttributeReading::Value(Attribute::Value(SecretBytes::copy_from(&der).unwrap())),
            AttributeReading::Value(Attribute::CertificateType(CertificateType::X509)),
        ]
    );
    // A certificate's value and subject are fixed; a certificate needs both type and value.
    let set = SetAttributesRequest {
        handle: certificate,
        template: template(vec![Attribute::Value(
            SecretBytes::copy_from(&[0]).unwrap(),
        )]),
    };
    assert_eq!(
        status(user.call(Some(session), set)),
        Status::AttributeReadOnly
    );
    let incomplete = create(
        &mut user,
        vec![
            Attribute::Class(ObjectClass::Certificate),
            Attribute::CertificateType(CertificateType::X509),
        ],
    );
    assert_eq!(status(incomplete), Status::TemplateIncomplete);
    // Key attributes do not apply to a data object.
    let wrong = create(
        &mut user,
        vec![Attribute::Class(ObjectClass::Data), Attribute::Sign(true)],
    );
    assert_eq!(status(wrong), Status::AttributeTypeInvalid);
}
