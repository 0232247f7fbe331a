//! Wrapping, unwrapping, derivation, import and masked blobs (S14 for blobs).

use ihsm_crypto::{AesKey, Curve as EngineCurve, HashAlg as EngineHash};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesKeySize, Attribute, AttributeReading, AttributeType as T, Bytes, Curve, EcdhParams, Handle,
    HashAlg, HkdfParams, ImportKeyKind, KeyPairSpec, KeySpec, KeyType, Mechanism, MechanismId,
    ObjectClass, ResponseBody, Role, RsaAesKeyWrapParams, RsaKeySize, SessionId, Sp800108Params,
    Status,
};
use ihsm_testkit::client::client_engine;

use super::ciphers::{decrypt, encrypt, gcm, kek};
use super::fixtures::*;
use super::objects::{generate_aes, read, sign, template, verify};
use super::scenarios::allow;

pub fn pair(
    user: &mut TestClient,
    session: SessionId,
    spec: KeyPairSpec,
    public: Vec<Attribute>,
    private: Vec<Attribute>,
) -> (Handle, Handle) {
    try_pair(user, session, spec, public, private).unwrap()
}

/// A key pair, or the status that refused it.
pub fn try_pair(
    user: &mut TestClient,
    session: SessionId,
    spec: KeyPairSpec,
    public: Vec<Attribute>,
    private: Vec<Attribute>,
) -> Result<(Handle, Handle), Status> {
    let request = GenerateKeyPairRequest {
        spec,
        public_template: template(public),
        private_template: template(private),
    };
    match user
        .call(Some(session), request)
        .map_err(|e| e.known().unwrap())?
        .0
    {
        ResponseBody::GenerateKeyPair(r) => Ok((r.public_handle, r.private_handle)),
        _ => unreachable!(),
    }
}

pub fn handle_of(answer: (ResponseBody, bool)) -> (Handle, bool) {
    let handle = match answer.0 {
        ResponseBody::UnwrapKey(r) => r.handle,
        ResponseBody::DeriveKey(r) => r.handle,
        ResponseBody::ImportKey(r) => r.handle,
        ResponseBody::UnmaskKey(r) => r.handle,
        ResponseBody::GenerateKey(r) => r.handle,
        other => panic!("{other:?}"),
    };
    (handle, answer.1)
}

pub fn wrap(
    user: &mut TestClient,
    session: SessionId,
    mechanism: Mechanism,
    wrapping_key: Handle,
    key: Handle,
) -> Result<(Vec<u8>, bool), Status> {
    let request = WrapKeyRequest {
        mechanism,
        wrapping_key,
        key,
    };
    match user
        .call(Some(session), request)
        .map_err(|e| e.known().unwrap())?
    {
        (ResponseBody::WrapKey(r), approved) => Ok((r.wrapped.to_vec(), approved)),
        _ => unreachable!(),
    }
}

fn unwrap(
    user: &mut TestClient,
    session: SessionId,
    mechanism: Mechanism,
    unwrapping_key: Handle,
    wrapped: &[u8],
    attributes: Vec<Attribute>,
) -> Result<(Handle, bool), Status> {
    let request = UnwrapKeyRequest {
        mechanism,
        unwrapping_key,
        wrapped: Bytes::new(wrapped.to_vec()).unwrap(),
        template: template(attributes),
    };
    user.call(Some(session), request)
        .map(handle_of)
        .map_err(|e| e.known().unwrap())
}

fn ec_point(user: &mut TestClient, session: SessionId, public: Handle) -> Vec<u8> {
    match &read(user, session, public, &[T::EcPoint])[..] {
        [AttributeReading::Value(Attribute::EcPoint(point))] => point.to_vec(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn extractable_keys_wrap_out_and_unwrap_in() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("wrap");
    let kek = kek(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    let secret = generate_aes(&mut user, session, vec![Attribute::Extractable(true)]).unwrap();
    let locked = generate_aes(&mut user, session, vec![]).unwrap();
    assert_eq!(
        wrap(&mut user, session, Mechanism::AesKeyWrapPad, kek, locked),
        Err(Status::KeyNotExtractable)
    );
    let (wrapped, approved) =
        wrap(&mut user, session, Mechanism::AesKeyWrapPad, kek, secret).unwrap();
    assert_eq!(approved, cfg!(feature = "fips"));
    let aes_template = vec![
        Attribute::Class(ObjectClass::SecretKey),
        Attribute::KeyType(KeyType::Aes),
    ];
    let (copy, _) = unwrap(
        &mut user,
        session,
        Mechanism::AesKeyWrapPad,
        kek,
        &wrapped,
        aes_template.clone(),
    )
    .unwrap();
    let (sealed, iv) = encrypt(&mut user, session, gcm(None), secret, b"same key").unwrap();
    assert_eq!(
        decrypt(&mut user, session, gcm(iv), copy, &sealed).unwrap(),
        b"same key"
    );
    // An unwrapped key was outside the module: never "always sensitive", never "local".
    assert_eq!(
        read(&mut user, session, copy, &[T::AlwaysSensitive, T::Local]),
        [
            AttributeReading::Value(Attribute::AlwaysSensitive(false)),
            AttributeReading::Value(Attribute::Local(false)),
        ]
    );
    let mut tampered = wrapped.clone();
    tampered[3] ^= 1;
    assert_eq!(
        unwrap(
            &mut user,
            session,
            Mechanism::AesKeyWrapPad,
            kek,
            &tampered,
            aes_template
        ),
        Err(Status::VerificationFailed)
    );

    // A private key travels as PKCS#8 under KWP.
    let (public, private) = pair(
        &mut user,
        session,
        KeyPairSpec::Ec(Curve::P384),
        vec![],
        vec![Attribute::Extractable(true)],
    );
    let (wrapped, _) = wrap(&mut user, session, Mechanism::AesKeyWrapPad, kek, private).unwrap();
    let (restored, _) = unwrap(
        &mut user,
        session,
        Mechanism::AesKeyWrapPad,
        kek,
        &wrapped,
        vec![
            Attribute::Class(ObjectClass::PrivateKey),
            Attribute::KeyType(KeyType::Ec),
            Attribute::EcCurve(Curve::P384),
        ],
    )
    .unwrap();
    let (signature, _) = sign(&mut user, session, restored, Mechanism::EcdsaSha384, b"m").unwrap();
    assert_eq!(
        verify(
            &mut user,
            session,
            public,
            Mechanism::EcdsaSha384,
            b"m",
            &signature
        ),
        Status::Ok
    );
}

#[test]
fn rsa_aes_key_wrap_is_opt_in_and_flagged() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("rsa-aes");
    let (public, private) = pair(
        &mut user,
        session,
        KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
        vec![Attribute::Wrap(true)],
        vec![Attribute::Unwrap(true)],
    );
    let target = generate_aes(&mut user, session, vec![Attribute::Extractable(true)]).unwrap();
    let mechanism = Mechanism::RsaAesKeyWrap(RsaAesKeyWrapParams {
        hash: HashAlg::Sha256,
        aes_size: AesKeySize::Aes256,
    });
    assert_eq!(
        wrap(&mut user, session, mechanism.clone(), public, target),
        Err(Status::PolicyNotApproved)
    );
    allow(&fixture, "rsa-aes", vec![MechanismId::RsaAesKeyWrap]);
    let (wrapped, approved) = wrap(&mut user, session, mechanism.clone(), public, target).unwrap();
    assert!(!approved);
    assert_eq!(wrapped.len(), 256 + 40);
    let (copy, approved) = unwrap(
        &mut user,
        session,
        mechanism,
        private,
        &wrapped,
        vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(KeyType::Aes),
        ],
    )
    .unwrap();
    assert!(!approved);
    let (sealed, iv) = encrypt(&mut user, session, gcm(None), copy, b"x").unwrap();
    assert_eq!(
        decrypt(&mut user, session, gcm(iv), target, &sealed).unwrap(),
        b"x"
    );
}

#[test]
fn ecdh_secrets_only_feed_kdfs_and_both_sides_derive_the_same_key() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("derive");
    let derive = vec![Attribute::Derive(true)];
    let (a_public, a_private) = pair(
        &mut user,
        session,
        KeyPairSpec::Ec(Curve::P256),
        vec![],
        derive.clone(),
    );
    let (b_public, b_private) = pair(
        &mut user,
        session,
        KeyPairSpec::Ec(Curve::P256),
        vec![],
        derive,
    );
    let a_point = ec_point(&mut user, session, a_public);
    let b_point = ec_point(&mut user, session, b_public);
    let mut ecdh = |private, peer: Vec<u8>| {
        let request = DeriveKeyRequest {
            mechanism: Mechanism::Ecdh(EcdhParams {
                peer_public_key: Bytes::new(peer).unwrap(),
            }),
            base_key: private,
            template: template(vec![]),
        };
        user.call(Some(session), request).map(handle_of)
    };
    let (ab, approved) = ecdh(a_private, b_point).unwrap();
    assert_eq!(approved, cfg!(feature = "fips"));
    let (ba, _) = ecdh(b_private, a_point.clone()).unwrap();
    let mut off_curve = a_point;
    off_curve[10] ^= 1;
    assert_eq!(
        ecdh(b_private, off_curve).err().and_then(|e| e.known()),
        Some(Status::MechanismParamInvalid)
    );

    // The raw secret is for KDFs only.
    assert_eq!(
        sign(&mut user, session, ab, Mechanism::HmacSha256, b"m").err(),
        Some(Status::KeyUsageNotPermitted.into())
    );
    let set = SetAttributesRequest {
        handle: ab,
        template: template(vec![Attribute::Sign(true)]),
    };
    assert_eq!(
        user.call(Some(session), set).err().and_then(|e| e.known()),
        Some(Status::AttributeReadOnly)
    );
    let kek = kek(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    assert_eq!(
        wrap(&mut user, session, Mechanism::AesKeyWrapPad, kek, ab),
        Err(Status::KeyNotExtractable)
    );

    // HKDF on both sides gives one HMAC key.
    let mut hkdf = |base| {
        let request = DeriveKeyRequest {
            mechanism: Mechanism::Hkdf(HkdfParams {
                hash: HashAlg::Sha256,
                salt: Some(Bytes::new(b"salt".to_vec()).unwrap()),
                info: Some(Bytes::new(b"session keys".to_vec()).unwrap()),
            }),
            base_key: base,
            template: template(vec![Attribute::ValueLen(32), Attribute::Derive(true)]),
        };
        handle_of(user.call(Some(session), request).unwrap()).0
    };
    let (mac_a, mac_b) = (hkdf(ab), hkdf(ba));
    let (tag, _) = sign(&mut user, session, mac_a, Mechanism::HmacSha256, b"m").unwrap();
    assert_eq!(
        verify(&mut user, session, mac_b, Mechanism::HmacSha256, b"m", &tag),
        Status::Ok
    );
    // SP 800-108 to an AES key.
    let request = DeriveKeyRequest {
        mechanism: Mechanism::Sp800108CounterHmac(Sp800108Params {
            hash: HashAlg::Sha384,
            label: Bytes::new(b"label".to_vec()).unwrap(),
            context: Bytes::new(b"context".to_vec()).unwrap(),
        }),
        base_key: mac_a,
        template: template(vec![
            Attribute::KeyType(KeyType::Aes),
            Attribute::ValueLen(32),
        ]),
    };
    let (aes, _) = handle_of(user.call(Some(session), request).unwrap());
    assert!(encrypt(&mut user, session, gcm(None), aes, b"x").is_ok());
}

#[test]
fn keys_import_through_ecdh_to_the_signed_import_key() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("import");
    let request = GetImportKeyRequest {
        kind: ImportKeyKind::EcdhP384,
    };
    let ResponseBody::GetImportKey(import) = user.call(Some(session), request).unwrap().0 else {
        unreachable!()
    };
    let engine = client_engine();
    let attestation = engine
        .ec_public_key(EngineCurve::P384, user.pinned_attestation_key().unwrap())
        .unwrap();
    let message = [&b"ihsm import key v1"[..], &[1], &import.public_key].concat();
    assert!(engine
        .ecdsa_verify(
            &attestation,
            EngineHash::Sha384,
            &message,
            &import.signature
        )
        .is_ok());

    // The client's side: ephemeral ECDH, HKDF, KWP of the key.
    let value = [0x5c; 32];
    let ephemeral = engine.generate_ec_key(EngineCurve::P384).unwrap().value;
    let z = engine.ecdh(&ephemeral, &import.public_key).unwrap().value;
    let info = [ephemeral.public_point(), &import.public_key[..]].concat();
    let kek = engine
        .hkdf(EngineHash::Sha384, z.expose(), b"ihsm import v1", &info, 32)
        .unwrap()
        .value;
    let kek = AesKey::from_bytes(kek.expose()).unwrap();
    let wrapped = engine.aes_key_wrap(&kek, true, &value).unwrap().value;
    let request = ImportKeyRequest {
        kind: ImportKeyKind::EcdhP384,
        ephemeral_public_key: Some(Bytes::new(ephemeral.public_point().to_vec()).unwrap()),
        wrapped: Bytes::new(wrapped.clone()).unwrap(),
        template: template(vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(KeyType::Aes),
        ]),
    };
    let (imported, approved) = handle_of(user.call(Some(session), request.clone()).unwrap());
    assert_eq!(approved, cfg!(feature = "fips"));
    // The imported key is the client's: what the client encrypts, the module decrypts.
    let client_key = AesKey::from_bytes(&value).unwrap();
    let sealed = engine
        .aes_gcm_encrypt(&client_key, b"header", b"hello")
        .unwrap()
        .value;
    assert_eq!(
        decrypt(
            &mut user,
            session,
            gcm(Some(sealed.iv)),
            imported,
            &sealed.ciphertext
        )
        .unwrap(),
        b"hello"
    );
    // A wrong ephemeral key, or a missing one, fails.
    let mut wrong = request.clone();
    wrong.ephemeral_public_key = None;
    assert_eq!(
        user.call(Some(session), wrong)
            .err()
            .and_then(|e| e.known()),
        Some(Status::MechanismParamInvalid)
    );
    let mut other = request;
    let stranger = engine.generate_ec_key(EngineCurve::P384).unwrap().value;
    other.ephemeral_public_key = Some(Bytes::new(stranger.public_point().to_vec()).unwrap());
    assert_eq!(
        user.call(Some(session), other)
            .err()
            .and_then(|e| e.known()),
        Some(Status::VerificationFailed)
    );
    // The RSA path is opt-in.
    let request = GetImportKeyRequest {
        kind: ImportKeyKind::RsaOaep,
    };
    assert_eq!(
        user.call(Some(session), request)
            .err()
            .and_then(|e| e.known()),
        Some(Status::PolicyNotApproved)
    );
}

#[test]
fn keys_import_through_rsa_oaep_only_when_opted_in_and_flagged() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("rsa-import");
    allow(&fixture, "rsa-import", vec![MechanismId::RsaAesKeyWrap]);
    let request = GetImportKeyRequest {
        kind: ImportKeyKind::RsaOaep,
    };
    let (body, approved) = user.call(Some(session), request).unwrap();
    let ResponseBody::GetImportKey(import) = body else {
        unreachable!()
    };
    // A step of a path that is never approved is flagged like the path.
    assert!(!approved);
    // The key is made once: asking again gives the same key.
    let again = user
        .call(
            Some(session),
            GetImportKeyRequest {
                kind: ImportKeyKind::RsaOaep,
            },
        )
        .unwrap()
        .0;
    let ResponseBody::GetImportKey(again) = again else {
        unreachable!()
    };
    assert_eq!(again.public_key, import.public_key);
    let engine = client_engine();
    let rsa = engine.rsa_public_key(&import.public_key).unwrap();
    let fresh = [0x11; 32];
    let value = [0x77; 16];
    let mut wrapped = engine
        .rsa_oaep_encrypt(&rsa, EngineHash::Sha256, &[], &fresh)
        .unwrap()
        .value;
    wrapped.extend(
        engine
            .aes_key_wrap(&AesKey::from_bytes(&fresh).unwrap(), true, &value)
            .unwrap()
            .value,
    );
    let request = ImportKeyRequest {
        kind: ImportKeyKind::RsaOaep,
        ephemeral_public_key: None,
        wrapped: Bytes::new(wrapped).unwrap(),
        template: template(vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(KeyType::Aes),
        ]),
    };
    let (imported, approved) = handle_of(user.call(Some(session), request).unwrap());
    assert!(!approved, "the RSA import path is never approved");
    let sealed = engine
        .aes_gcm_encrypt(&AesKey::from_bytes(&value).unwrap(), b"header", b"hi")
        .unwrap()
        .value;
    assert_eq!(
        decrypt(
            &mut user,
            session,
            gcm(Some(sealed.iv)),
            imported,
            &sealed.ciphertext
        )
        .unwrap(),
        b"hi"
    );
    // The import key survives a restart.
    drop(user);
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition("rsa-import");
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    let ResponseBody::GetImportKey(after) = user
        .call(
            Some(session),
            GetImportKeyRequest {
                kind: ImportKeyKind::RsaOaep,
            },
        )
        .unwrap()
        .0
    else {
        unreachable!()
    };
    assert_eq!(after.public_key, import.public_key);
}
