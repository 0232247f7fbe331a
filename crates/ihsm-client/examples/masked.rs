//! Masked key blobs: a key leaves the module only masked with the partition's masking key,
//! and comes back from the blob. Run `sign` first (it makes `example-signer`).

use ihsm_client::proto::{layout, Attribute, ObjectClass, PartitionName, Template, Text};
use ihsm_client::{Client, Role};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = layout::default_state_dir();
    let socket = layout::partition_socket(&dir, &PartitionName::new("example")?);
    let pin = std::env::var("IHSM_PIN").unwrap_or_else(|_| "example-user-pin".into());
    let session = Client::connect(socket)?
        .login(Role::CryptoUser, pin.as_bytes())?
        .open_session()?;
    let private = session.find_objects(Template::new(vec![
        Attribute::Label(Text::new("example-signer")?),
        Attribute::Class(ObjectClass::PrivateKey),
    ])?)?;
    let key = *private.first().ok_or("run the sign example first")?;
    let blob = session.mask_key(key)?;
    let restored = session.unmask_key(&blob)?;
    println!(
        "masked into {} bytes and restored as {restored:?}",
        blob.len()
    );
    Ok(())
}
