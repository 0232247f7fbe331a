//! Negative tests through the codec, opcode by opcode: an unknown field, another
//! connection's session, a key without the usage, bad lengths and bad points. Each gets its
//! status, and nothing changes.

use ihsm_device::roles::access;
use ihsm_device::Socket;
use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesCbcParams, AesKeySize, AesXtsParams, Attribute, Bytes, Curve, EcdhParams, GenericSecretLen,
    HashAlg, HkdfParams, ImportKeyKind, KeyPairSpec, KeySpec, KeyType, Limits, Mechanism,
    ObjectClass, Opcode, PartitionName, Request, RequestId, Response, ResponseBody, Role,
    RsaKeySize, RsaOaepParams, Status,
};

use super::ciphers::{decrypt, encrypt, generate_key, kek, key};
use super::fixtures::*;
use super::keys::pair;
use super::objects::{data, generate_ec, sign, template};
use super::roles::{request, Column};

/// `body` (a frame body) with one more field in its request map, under a key no message uses.
fn with_unknown_field(body: &[u8]) -> Vec<u8> {
    // Key 50 with the value 0, after every real key (they are all smaller).
    with_extra_field(body, &[0x18, 50, 0x00])
}

#[test]
fn every_opcode_refuses_an_unknown_field_and_changes_nothing() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("p");
    let name = PartitionName::new("p").unwrap();
    let before = (
        fixture.device.object_count(&name),
        fixture.device.open_counts(Some(&name)),
        fixture.store.len(),
    );
    let column = Column {
        admin_socket: false,
        role: Some(Role::CryptoUser),
    };
    for (i, opcode) in Opcode::ALL.iter().enumerate() {
        let connection = fixture
            .device
            .connect(Socket::Partition(name.clone()))
            .unwrap();
        let body = request(&mut user, *opcode, None, column);
        let id = RequestId::new(u64::try_from(i).unwrap() + 1).unwrap();
        let frame = Request {
            request_id: id,
            session: opcode.takes_session().then_some(session),
            body,
        }
        .encode_frame(&Limits::default())
        .unwrap();
        let changed = with_unknown_field(&frame[4..]);
        let reply = fixture.device.handle_frame(&connection, &changed);
        let response = Response::decode_frame(&reply.frame, *opcode, &Limits::default()).unwrap();
        assert_eq!(
            (
                response.result.err().and_then(|e| e.known()),
                response.request_id,
                reply.close
            ),
            (Some(Status::UnknownField), Some(id), false),
            "{opcode:?}"
        );
    }
    let after = (
        fixture.device.object_count(&name),
        fixture.device.open_counts(Some(&name)),
        fixture.store.len(),
    );
    assert_eq!(after, before);
}

#[test]
fn every_session_opcode_refuses_another_connections_session() {
    let fixture = Fixture::initialized();
    let (mut user, user_session) = fixture.user("p");
    let (mut admin, admin_session) = fixture.admin_session();
    let mut checked = 0;
    for opcode in Opcode::ALL.iter().filter(|o| o.takes_session()) {
        let access = access(*opcode);
        for admin_socket in [false, true] {
            let served = if admin_socket {
                access.admin_socket
            } else {
                access.partition_socket
            };
            if !served {
                continue;
            }
            // A stranger on the same socket presents a real session of another connection.
            let (mut stranger, session, owner) = if admin_socket {
                (fixture.admin(), admin_session, &mut admin)
            } else {
                (fixture.partition("p"), user_session, &mut user)
            };
            let column = Column {
                admin_socket,
                role: Some(if admin_socket {
                    Role::Admin
                } else {
                    Role::CryptoUser
                }),
            };
            let body = request(owner, *opcode, None, column);
            assert_eq!(
                status(stranger.call(Some(session), body)),
                Status::SessionNotFound,
                "{opcode:?} on the {} socket",
                if admin_socket { "admin" } else { "partition" }
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
    // The owners' sessions are untouched.
    assert!(user
        .call(Some(user_session), GetSessionInfoRequest {})
        .is_ok());
    assert!(admin
        .call(Some(admin_session), GetSessionInfoRequest {})
        .is_ok());
}

#[test]
fn every_key_operation_checks_the_keys_usage() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("usage");
    let aes = generate_key(
        &mut user,
        session,
        KeySpec::Aes(AesKeySize::Aes256),
        vec![Attribute::Encrypt(false), Attribute::Decrypt(false)],
    );
    let transport = generate_key(
        &mut user,
        session,
        KeySpec::Aes(AesKeySize::Aes256),
        vec![Attribute::Wrap(false), Attribute::Unwrap(false)],
    );
    let hmac = generate_key(
        &mut user,
        session,
        KeySpec::GenericSecret(GenericSecretLen::new(32).unwrap()),
        vec![
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
        ],
    );
    let (ec_public, ec_private) = pair(
        &mut user,
        session,
        KeyPairSpec::Ec(Curve::P256),
        vec![Attribute::Verify(false)],
        vec![Attribute::Sign(false), Attribute::Derive(false)],
    );
    let (rsa_public, rsa_private) = pair(
        &mut user,
        session,
        KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
        vec![Attribute::Encrypt(false)],
        vec![Attribute::Decrypt(false)],
    );
    let extractable = generate_key(
        &mut user,
        session,
        KeySpec::Aes(AesKeySize::Aes128),
        vec![Attribute::Extractable(true)],
    );
    let gcm = |iv| {
        Mechanism::AesGcm(ihsm_proto::AesGcmParams {
            iv,
            aad: None,
            tag_bits: None,
        })
    };
    let oaep = Mechanism::RsaOaep(RsaOaepParams {
        hash: HashAlg::Sha256,
        label: None,
    });
    let aes_template = template(vec![
        Attribute::Class(ObjectClass::SecretKey),
        Attribute::KeyType(KeyType::Aes),
    ]);
    let requests: Vec<(&str, RequestBody)> = vec![
        (
            "Encrypt",
            EncryptRequest {
                mechanism: gcm(None),
                key: aes,
                data: data(b"x"),
            }
            .into(),
        ),
        (
            "EncryptInit",
            EncryptInitRequest {
                mechanism: gcm(None),
                key: aes,
            }
            .into(),
        ),
        (
            "Decrypt",
            DecryptRequest {
                mechanism: gcm(Some([0; 12])),
                key: aes,
                data: data(&[0; 32]),
            }
            .into(),
        ),
        (
            "DecryptInit",
            DecryptInitRequest {
                mechanism: gcm(Some([0; 12])),
                key: aes,
            }
            .into(),
        ),
        (
            "Encrypt OAEP",
            EncryptRequest {
                mechanism: oaep.clone(),
                key: rsa_public,
                data: data(b"x"),
            }
            .into(),
        ),
        (
            "Decrypt OAEP",
            DecryptRequest {
                mechanism: oaep,
                key: rsa_private,
                data: data(&[0; 256]),
            }
            .into(),
        ),
        (
            "WrapKey",
            WrapKeyRequest {
                mechanism: Mechanism::AesKeyWrapPad,
                wrapping_key: transport,
                key: extractable,
            }
            .into(),
        ),
        (
            "UnwrapKey",
            UnwrapKeyRequest {
                mechanism: Mechanism::AesKeyWrapPad,
                unwrapping_key: transport,
                wrapped: Bytes::new(vec![0; 24]).unwrap(),
                template: aes_template,
            }
            .into(),
        ),
        (
            "Sign ECDSA",
            SignRequest {
                mechanism: Mechanism::EcdsaSha256,
                key: ec_private,
                data: data(b"x"),
            }
            .into(),
        ),
        (
            "SignInit ECDSA",
            SignInitRequest {
                mechanism: Mechanism::EcdsaSha256,
                key: ec_private,
            }
            .into(),
        ),
        (
            "Verify ECDSA",
            VerifyRequest {
                mechanism: Mechanism::EcdsaSha256,
                key: ec_public,
                data: data(b"x"),
                signature: Bytes::new(vec![0; 64]).unwrap(),
            }
            .into(),
        ),
        (
            "VerifyInit ECDSA",
            VerifyInitRequest {
                mechanism: Mechanism::EcdsaSha256,
                key: ec_public,
            }
            .into(),
        ),
        (
            "Sign HMAC",
            SignRequest {
                mechanism: Mechanism::HmacSha256,
                key: hmac,
                data: data(b"x"),
            }
            .into(),
        ),
        (
            "Verify HMAC",
            VerifyRequest {
                mechanism: Mechanism::HmacSha256,
                key: hmac,
                data: data(b"x"),
                signature: Bytes::new(vec![0; 32]).unwrap(),
            }
            .into(),
        ),
        (
            "DeriveKey HKDF",
            DeriveKeyRequest {
                mechanism: Mechanism::Hkdf(HkdfParams {
                    hash: HashAlg::Sha256,
                    salt: None,
                    info: None,
                }),
                base_key: hmac,
                template: template(vec![Attribute::ValueLen(32)]),
            }
            .into(),
        ),
        (
            "DeriveKey ECDH",
            DeriveKeyRequest {
                mechanism: Mechanism::Ecdh(EcdhParams {
                    peer_public_key: Bytes::new(vec![4; 65]).unwrap(),
                }),
                base_key: ec_private,
                template: template(vec![]),
            }
            .into(),
        ),
    ];
    for (name, body) in requests {
        assert_eq!(
            status(user.call(Some(session), body)),
            Status::KeyUsageNotPermitted,
            "{name}"
        );
    }
}

#[test]
fn bad_lengths_and_bad_points_get_their_status_and_change_nothing() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("bad");
    let name = PartitionName::new("bad").unwrap();
    let aes = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes128));
    let xts = key(&mut user, session, KeySpec::AesXts);
    let transport = kek(&mut user, session, KeySpec::Aes(AesKeySize::Aes128));
    let (_, p256) = {
        let request = GenerateKeyPairRequest {
            spec: KeyPairSpec::Ec(Curve::P256),
            public_template: template(vec![]),
            private_template: template(vec![Attribute::Derive(true)]),
        };
        match user.call(Some(session), request).unwrap().0 {
            ResponseBody::GenerateKeyPair(r) => (r.public_handle, r.private_handle),
            _ => unreachable!(),
        }
    };
    let (_, rsa) = pair(
        &mut user,
        session,
        KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
        vec![],
        vec![],
    );
    let before = fixture.device.object_count(&name);

    // Lengths.
    let cbc = Mechanism::AesCbc(AesCbcParams { iv: [0; 16] });
    assert_eq!(
        encrypt(&mut user, session, cbc.clone(), aes, &[0; 15]).err(),
        Some(Status::DataLenRange),
        "CBC without padding, not whole blocks"
    );
    assert_eq!(
        decrypt(&mut user, session, cbc, aes, &[0; 17]).err(),
        Some(Status::DataLenRange),
        "CBC decryption, not whole blocks"
    );
    assert_eq!(
        encrypt(&mut user, session, Mechanism::AesKeyWrap, aes, &[0; 12]).err(),
        Some(Status::DataLenRange),
        "KW of a length that is not a multiple of 8"
    );
    let xts_mechanism = Mechanism::AesXts(AesXtsParams { tweak: [0; 16] });
    assert_eq!(
        encrypt(&mut user, session, xts_mechanism, xts, &[0; 15]).err(),
        Some(Status::DataLenRange),
        "XTS under one block"
    );
    assert_eq!(
        status(sign(&mut user, session, p256, Mechanism::Ecdsa, &[0; 31])),
        Status::DataLenRange,
        "ECDSA over a digest of no SHA-2 length"
    );
    assert_eq!(
        status(sign(&mut user, session, rsa, Mechanism::RsaPkcs1, &[0; 51])),
        Status::DataLenRange,
        "PKCS#1 v1.5 over bytes that are no DigestInfo"
    );
    let unwrap = UnwrapKeyRequest {
        mechanism: Mechanism::AesKeyWrap,
        unwrapping_key: transport,
        wrapped: Bytes::new(vec![0; 20]).unwrap(),
        template: template(vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(KeyType::Aes),
        ]),
    };
    assert_eq!(
        status(user.call(Some(session), unwrap)),
        Status::VerificationFailed,
        "a wrapped key of no KW length: one opaque status for every unwrap failure"
    );

    // Points.
    let ecdh = |point: Vec<u8>| DeriveKeyRequest {
        mechanism: Mechanism::Ecdh(EcdhParams {
            peer_public_key: Bytes::new(point).unwrap(),
        }),
        base_key: p256,
        template: template(vec![]),
    };
    let mut off_curve = vec![4];
    off_curve.extend_from_slice(&[1; 64]);
    let other_curve = {
        let (other_public, _) = pair(
            &mut user,
            session,
            KeyPairSpec::Ec(Curve::P384),
            vec![],
            vec![],
        );
        match &super::objects::read(
            &mut user,
            session,
            other_public,
            &[ihsm_proto::AttributeType::EcPoint],
        )[..]
        {
            [ihsm_proto::AttributeReading::Value(Attribute::EcPoint(point))] => point.to_vec(),
            other => panic!("{other:?}"),
        }
    };
    for (point, what) in [
        (off_curve.clone(), "a point off the curve"),
        (other_curve, "a point of another curve"),
        (vec![4], "a truncated point"),
        (vec![0; 65], "the point at infinity's encoding"),
    ] {
        assert_eq!(
            status(user.call(Some(session), ecdh(point))),
            Status::MechanismParamInvalid,
            "ECDH with {what}"
        );
    }
    let entered = CreateObjectRequest {
        template: template(vec![
            Attribute::Class(ObjectClass::PublicKey),
            Attribute::KeyType(KeyType::Ec),
            Attribute::EcCurve(Curve::P256),
            Attribute::EcPoint(Bytes::new(off_curve).unwrap()),
        ]),
    };
    assert_eq!(
        status(user.call(Some(session), entered)),
        Status::AttributeValueInvalid,
        "an EC public key off its curve"
    );
    let import = ImportKeyRequest {
        kind: ImportKeyKind::EcdhP384,
        ephemeral_public_key: Some(Bytes::new(vec![4; 97]).unwrap()),
        wrapped: Bytes::new(vec![0; 40]).unwrap(),
        template: template(vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(KeyType::Aes),
        ]),
    };
    assert_eq!(
        status(user.call(Some(session), import)),
        Status::MechanismParamInvalid,
        "an import with an ephemeral key off the curve"
    );
    let (_, _) = generate_ec(&mut user, session, false);
    assert_eq!(
        fixture.device.object_count(&name),
        before.map(|n| n + 4),
        "only the four keys this test made itself"
    );
}
