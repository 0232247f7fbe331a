//! One login, many threads: a ticket attaches a second connection to the login without the
//! PIN, and threads share each connection. Run `sign` first.

use ihsm_client::proto::{
    layout, Attribute, Mechanism, ObjectClass, PartitionName, Template, Text,
};
use ihsm_client::{Client, Role};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = layout::default_state_dir();
    let socket = layout::partition_socket(&dir, &PartitionName::new("example")?);
    let pin = std::env::var("IHSM_PIN").unwrap_or_else(|_| "example-user-pin".into());
    let first = Client::connect(&socket)?;
    let login = first.login(Role::CryptoUser, pin.as_bytes())?;
    let ticket = login.issue_ticket()?;
    let second = Client::connect(&socket)?.attach(ticket)?;
    let sessions = [login.open_session()?, second.open_session()?];
    let [first_session, second_session] = &sessions;
    let key = *first_session
        .find_objects(Template::new(vec![
            Attribute::Label(Text::new("example-signer")?),
            Attribute::Class(ObjectClass::PrivateKey),
        ])?)?
        .first()
        .ok_or("run the sign example first")?;
    let threads: Vec<_> = [first_session, second_session, first_session, second_session]
        .into_iter()
        .map(|session| {
            let session = session.clone();
            std::thread::spawn(move || {
                (0u8..50)
                    .filter(|i| session.sign(Mechanism::EcdsaSha256, key, &[*i]).is_ok())
                    .count()
            })
        })
        .collect();
    let signed: usize = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    println!("{signed} signatures from 4 threads on 2 connections of one login");
    Ok(())
}
