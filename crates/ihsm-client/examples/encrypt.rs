//! AES-256-GCM in partition `example`: one call, then the same in parts (multi-part), with
//! the IV the module makes. Run `provision` first.

use ihsm_client::proto::{
    layout, AesGcmParams, AesKeySize, Attribute, KeySpec, Mechanism, PartitionName, Template,
};
use ihsm_client::{Client, Role};

fn gcm(iv: Option<[u8; 12]>) -> Mechanism {
    Mechanism::AesGcm(AesGcmParams {
        iv,
        aad: None,
        tag_bits: None,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = layout::default_state_dir();
    let socket = layout::partition_socket(&dir, &PartitionName::new("example")?);
    let pin = std::env::var("IHSM_PIN").unwrap_or_else(|_| "example-user-pin".into());
    let session = Client::connect(socket)?
        .login(Role::CryptoUser, pin.as_bytes())?
        .open_session()?;
    // A session key: it goes when the session closes.
    let key = session
        .generate_key(
            KeySpec::Aes(AesKeySize::Aes256),
            Template::new(vec![Attribute::Encrypt(true), Attribute::Decrypt(true)])?,
        )?
        .value;
    let sealed = session.encrypt(gcm(None), key, b"attack at dawn")?.value;
    let opened = session
        .decrypt(gcm(sealed.iv), key, &sealed.ciphertext)?
        .value;
    assert_eq!(&*opened, b"attack at dawn");

    session.encrypt_init(gcm(None), key)?;
    let mut ciphertext = session.encrypt_update(b"attack ")?;
    ciphertext.extend(session.encrypt_update(b"at dawn")?);
    let last = session.encrypt_final()?.value;
    ciphertext.extend(last.ciphertext);
    let opened = session.decrypt(gcm(last.iv), key, &ciphertext)?.value;
    assert_eq!(&*opened, b"attack at dawn");
    println!("encrypted and decrypted, in one call and in parts");
    session.close()?;
    Ok(())
}
