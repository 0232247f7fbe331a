//! Generates a persistent P-256 key pair in partition `example`, signs, and verifies.
//! Run `provision` first.

use ihsm_client::proto::{
    layout, Attribute, Curve, KeyPairSpec, Mechanism, PartitionName, Template, Text,
};
use ihsm_client::{Client, Role};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = layout::default_state_dir();
    let socket = layout::partition_socket(&dir, &PartitionName::new("example")?);
    let pin = std::env::var("IHSM_PIN").unwrap_or_else(|_| "example-user-pin".into());
    let session = Client::connect(socket)?
        .login(Role::CryptoUser, pin.as_bytes())?
        .open_session()?;
    let label = Attribute::Label(Text::new("example-signer")?);
    let made = session.generate_key_pair(
        KeyPairSpec::Ec(Curve::P256),
        Template::new(vec![
            Attribute::Token(true),
            Attribute::Verify(true),
            label.clone(),
        ])?,
        Template::new(vec![Attribute::Token(true), Attribute::Sign(true), label])?,
    )?;
    let (public, private) = made.value;
    let signature = session.sign(Mechanism::EcdsaSha256, private, b"a message")?;
    println!(
        "signed: {} bytes, approved service: {}",
        signature.value.len(),
        signature.approved
    );
    session.verify(
        Mechanism::EcdsaSha256,
        public,
        b"a message",
        &signature.value,
    )?;
    println!("verified");
    Ok(())
}
