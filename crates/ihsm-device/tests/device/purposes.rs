//! Key purposes: a key wraps and unwraps keys, or encrypts and decrypts data, never both, so
//! no key's value crosses the socket in plaintext through `WrapKey` then `Decrypt`, or
//! enters through `Encrypt` then `UnwrapKey`.

use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesKeySize, Attribute, AttributeReading, AttributeType as T, Bytes, HashAlg, KeyPairSpec,
    KeySpec, KeyType, Mechanism, ObjectClass, ResponseBody, Role, RsaKeySize, RsaOaepParams,
    Status,
};

use super::ciphers::{decrypt, encrypt, kek, key};
use super::fixtures::*;
use super::keys::try_pair;
use super::objects::{generate_aes, read, template};

fn generate_pair(
    user: &mut TestClient,
    session: ihsm_proto::SessionId,
    public: Vec<Attribute>,
    private: Vec<Attribute>,
) -> Result<(ihsm_proto::Handle, ihsm_proto::Handle), Status> {
    try_pair(
        user,
        session,
        KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
        public,
        private,
    )
}

fn oaep() -> Mechanism {
    Mechanism::RsaOaep(RsaOaepParams {
        hash: HashAlg::Sha256,
        label: None,
    })
}

/// Wraps `key` under `wrapping_key`; the wrapped bytes.
fn wrap(
    user: &mut TestClient,
    session: ihsm_proto::SessionId,
    mechanism: Mechanism,
    wrapping_key: ihsm_proto::Handle,
    key: ihsm_proto::Handle,
) -> Result<Vec<u8>, Status> {
    super::keys::wrap(user, session, mechanism, wrapping_key, key).map(|(wrapped, _)| wrapped)
}

fn set(
    user: &mut TestClient,
    session: ihsm_proto::SessionId,
    handle: ihsm_proto::Handle,
    attribute: Attribute,
) -> Status {
    let request = SetAttributesRequest {
        handle,
        template: template(vec![attribute]),
    };
    status(user.call(Some(session), request))
}

#[test]
fn a_key_that_wraps_never_decrypts_and_one_that_decrypts_never_unwraps() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("purposes");
    // Asking for both purposes at once is inconsistent.
    assert_eq!(
        status(generate_aes(
            &mut user,
            session,
            vec![Attribute::Wrap(true), Attribute::Decrypt(true)]
        )),
        Status::TemplateInconsistent
    );
    let transport = kek(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    let data = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    assert_eq!(
        read(
            &mut user,
            session,
            transport,
            &[T::Encrypt, T::Decrypt, T::Wrap]
        ),
        [
            AttributeReading::Value(Attribute::Encrypt(false)),
            AttributeReading::Value(Attribute::Decrypt(false)),
            AttributeReading::Value(Attribute::Wrap(true)),
        ]
    );
    assert_eq!(
        read(&mut user, session, data, &[T::Wrap, T::Unwrap, T::Encrypt]),
        [
            AttributeReading::Value(Attribute::Wrap(false)),
            AttributeReading::Value(Attribute::Unwrap(false)),
            AttributeReading::Value(Attribute::Encrypt(true)),
        ]
    );
    // The attack: wrap a sensitive, extractable key, then decrypt the result with the same
    // key. The decryption is refused.
    let target = generate_aes(&mut user, session, vec![Attribute::Extractable(true)]).unwrap();
    let wrapped = wrap(
        &mut user,
        session,
        Mechanism::AesKeyWrapPad,
        transport,
        target,
    )
    .unwrap();
    assert_eq!(
        decrypt(
            &mut user,
            session,
            Mechanism::AesKeyWrapPad,
            transport,
            &wrapped
        ),
        Err(Status::KeyUsageNotPermitted)
    );
    // The other way in: encrypt chosen bytes in the key-wrap format, then unwrap them.
    let chosen = [0x5a; 32];
    let (blob, _) = encrypt(&mut user, session, Mechanism::AesKeyWrapPad, data, &chosen).unwrap();
    let unwrap = UnwrapKeyRequest {
        mechanism: Mechanism::AesKeyWrapPad,
        unwrapping_key: data,
        wrapped: Bytes::new(blob).unwrap(),
        template: template(vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(KeyType::Aes),
        ]),
    };
    assert_eq!(
        status(user.call(Some(session), unwrap)),
        Status::KeyUsageNotPermitted
    );
    // Neither purpose can be switched on later, by a change or by a copy.
    assert_eq!(
        set(&mut user, session, transport, Attribute::Decrypt(true)),
        Status::AttributeReadOnly
    );
    assert_eq!(
        set(&mut user, session, data, Attribute::Unwrap(true)),
        Status::AttributeReadOnly
    );
    // Turning the own purpose's usages off and on again is allowed.
    assert_eq!(
        set(&mut user, session, transport, Attribute::Wrap(false)),
        Status::Ok
    );
    assert_eq!(
        set(&mut user, session, transport, Attribute::Wrap(true)),
        Status::Ok
    );
    let copied = CopyObjectRequest {
        handle: transport,
        template: template(vec![Attribute::Wrap(false), Attribute::Encrypt(true)]),
    };
    assert_eq!(
        status(user.call(Some(session), copied)),
        Status::AttributeReadOnly
    );
}

#[test]
fn rsa_key_pairs_serve_one_purpose_and_persist_it() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("rsa-purposes");
    assert_eq!(
        generate_pair(
            &mut user,
            session,
            vec![Attribute::Wrap(true)],
            vec![Attribute::Decrypt(true)]
        ),
        Err(Status::TemplateInconsistent)
    );
    // A pair that wraps: its private half does not decrypt.
    let (public, private) = generate_pair(
        &mut user,
        session,
        vec![Attribute::Wrap(true), Attribute::Token(true)],
        vec![Attribute::Unwrap(true), Attribute::Token(true)],
    )
    .unwrap();
    assert_eq!(
        read(&mut user, session, public, &[T::Encrypt]),
        [AttributeReading::Value(Attribute::Encrypt(false))]
    );
    let target = generate_aes(&mut user, session, vec![Attribute::Extractable(true)]).unwrap();
    let wrapped = wrap(&mut user, session, oaep(), public, target).unwrap();
    assert_eq!(
        decrypt(&mut user, session, oaep(), private, &wrapped),
        Err(Status::KeyUsageNotPermitted)
    );
    // A data pair's public key entered again on its own, with Wrap: wrapping to it would let
    // the private half decrypt the result, so it is refused.
    let (data_public, _data_private) = generate_pair(&mut user, session, vec![], vec![]).unwrap();
    let [AttributeReading::Value(Attribute::PublicKeyInfo(spki))] =
        &read(&mut user, session, data_public, &[T::PublicKeyInfo])[..]
    else {
        panic!("no public key info")
    };
    let entered = CreateObjectRequest {
        template: template(vec![
            Attribute::Class(ObjectClass::PublicKey),
            Attribute::KeyType(KeyType::Rsa),
            Attribute::PublicKeyInfo(spki.clone()),
            Attribute::Wrap(true),
        ]),
    };
    let ResponseBody::CreateObject(entered) = user.call(Some(session), entered).unwrap().0 else {
        unreachable!()
    };
    assert_eq!(
        wrap(&mut user, session, oaep(), entered.handle, target),
        Err(Status::KeyUsageNotPermitted)
    );
    // The purpose survives a restart.
    drop(user);
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition("rsa-purposes");
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    assert_eq!(
        set(&mut user, session, private, Attribute::Decrypt(true)),
        Status::AttributeReadOnly
    );
}
