//! Keys and what they do: generate, list, show, delete, masked export and import, wrapped
//! import; sign, verify, encrypt, decrypt, random. Keys are named by their label; both
//! halves of a key pair share it, and each command picks the half it needs.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use ihsm_client::proto::{
    AesGcmParams, AesKeySize, Attribute, AttributeReading, AttributeType, AttributeTypes, Curve,
    GenericSecretLen, Handle, KeyPairSpec, KeySpec, KeyType, Mechanism, ObjectClass, RsaKeySize,
    RsaOaepParams, Template, Text,
};
use ihsm_client::{Role, Session};
use serde_json::json;

use crate::{describe, progress, write_private, Ctx, PartitionArg};

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generates a persistent key: ec-p256, ec-p384, ec-p521, rsa-2048, rsa-3072, rsa-4096,
    /// aes-128, aes-192, aes-256, hmac (a 32-byte secret for HMAC).
    Generate {
        #[command(flatten)]
        partition: PartitionArg,
        /// The key type.
        #[arg(long = "type", short = 't', value_name = "TYPE")]
        kind: String,
        /// The key's label (its name for the other commands).
        #[arg(long, short = 'l')]
        label: String,
        /// A transport key (wraps and unwraps keys) instead of a data key.
        #[arg(long)]
        transport: bool,
    },
    /// Lists the partition's keys.
    List(PartitionArg),
    /// Shows a key's attributes.
    Show {
        #[command(flatten)]
        partition: PartitionArg,
        /// The key's label.
        label: String,
    },
    /// Destroys a key (both halves of a pair).
    Delete {
        #[command(flatten)]
        partition: PartitionArg,
        /// The key's label.
        label: String,
    },
    /// Writes a key as a blob masked with the partition's masking key.
    ExportMasked {
        #[command(flatten)]
        partition: PartitionArg,
        /// The key's label.
        label: String,
        /// The blob file (mode 0600).
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
    /// Restores a key from a masked blob.
    ImportMasked {
        #[command(flatten)]
        partition: PartitionArg,
        /// The blob file.
        #[arg(long = "in", short = 'i')]
        input: PathBuf,
    },
    /// Imports a key from a file, wrapped to the partition's import key on the way: an AES
    /// or HMAC key as raw bytes, an EC or RSA private key as PKCS#8 DER.
    Import {
        #[command(flatten)]
        partition: PartitionArg,
        /// aes, hmac, ec or rsa.
        #[arg(long = "type", short = 't', value_name = "TYPE")]
        kind: String,
        /// The key file.
        #[arg(long = "in", short = 'i')]
        input: PathBuf,
        /// The label to give it.
        #[arg(long, short = 'l')]
        label: String,
    },
}

/// The partition, the key (by label) and the input file of a cryptographic command.
#[derive(Args, Debug)]
pub struct KeyInput {
    #[command(flatten)]
    partition: PartitionArg,
    /// The key's label.
    #[arg(long, short = 'k')]
    key: String,
    /// The input file.
    #[arg(long = "in", short = 'i')]
    input: PathBuf,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    target: KeyInput,
    /// Where to write the signature [default: hex on standard output].
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// The hash: sha256, sha384 or sha512.
    #[arg(long, default_value = "sha256")]
    hash: String,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    target: KeyInput,
    /// The signature file (raw bytes).
    #[arg(long, short = 's')]
    signature: PathBuf,
    /// The hash: sha256, sha384 or sha512.
    #[arg(long, default_value = "sha256")]
    hash: String,
}

#[derive(Args, Debug)]
pub struct CipherArgs {
    #[command(flatten)]
    target: KeyInput,
    /// The output file (mode 0600, must not exist).
    #[arg(long, short = 'o')]
    out: PathBuf,
}

#[derive(Args, Debug)]
pub struct RandomArgs {
    #[command(flatten)]
    partition: PartitionArg,
    /// How many bytes (1 to 1048576).
    #[arg(long, short = 'n', default_value_t = 32)]
    bytes: u32,
    /// Where to write them [default: hex on standard output].
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
}

fn text(s: &str) -> Result<Text<256>, String> {
    Text::new(s).map_err(|_| format!("the label {s:?} is too long"))
}

fn template(attributes: Vec<Attribute>) -> Result<Template, String> {
    Template::new(attributes).map_err(|_| "an invalid template".to_string())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn user(ctx: &Ctx, partition: &PartitionArg) -> Result<Session, String> {
    ctx.partition_session(partition, Role::CryptoUser)
}

/// A key of the partition by label: its objects, with class and key type.
struct Found {
    handle: Handle,
    class: Option<ObjectClass>,
    key_type: Option<KeyType>,
}

fn find(session: &Session, label: &str) -> Result<Vec<Found>, String> {
    let handles = session
        .find_objects(template(vec![Attribute::Label(text(label)?)])?)
        .map_err(|e| describe(&e))?;
    if handles.is_empty() {
        return Err(format!("no key labelled {label:?} in this partition"));
    }
    handles
        .into_iter()
        .map(|handle| {
            let values = session
                .get_attributes(
                    handle,
                    AttributeTypes::new(vec![AttributeType::Class, AttributeType::KeyType])
                        .map_err(|_| "attribute list")?,
                )
                .map_err(|e| describe(&e))?;
            let mut found = Found {
                handle,
                class: None,
                key_type: None,
            };
            for value in values {
                match value {
                    AttributeReading::Value(Attribute::Class(c)) => found.class = Some(c),
                    AttributeReading::Value(Attribute::KeyType(k)) => found.key_type = Some(k),
                    _ => {}
                }
            }
            Ok(found)
        })
        .collect()
}

/// The half of the key labelled `label` that can do `job`: the private or secret key, or the
/// public (or secret) key.
fn pick(session: &Session, label: &str, private: bool) -> Result<Found, String> {
    let found = find(session, label)?;
    let wanted = |f: &Found| match f.class {
        Some(ObjectClass::SecretKey) => true,
        Some(ObjectClass::PrivateKey) => private,
        Some(ObjectClass::PublicKey) => !private,
        _ => false,
    };
    found.into_iter().find(wanted).ok_or_else(|| {
        format!(
            "the key {label:?} has no {} half",
            if private { "private" } else { "public" }
        )
    })
}

fn signing_mechanism(key_type: Option<KeyType>, hash: &str) -> Result<Mechanism, String> {
    Ok(match (key_type, hash) {
        (Some(KeyType::Ec), "sha256") => Mechanism::EcdsaSha256,
        (Some(KeyType::Ec), "sha384") => Mechanism::EcdsaSha384,
        (Some(KeyType::Ec), "sha512") => Mechanism::EcdsaSha512,
        (Some(KeyType::Rsa), "sha256") => Mechanism::RsaPkcs1Sha256,
        (Some(KeyType::Rsa), "sha384") => Mechanism::RsaPkcs1Sha384,
        (Some(KeyType::Rsa), "sha512") => Mechanism::RsaPkcs1Sha512,
        (Some(KeyType::GenericSecret), "sha256") => Mechanism::HmacSha256,
        (Some(KeyType::GenericSecret), "sha384") => Mechanism::HmacSha384,
        (Some(KeyType::GenericSecret), "sha512") => Mechanism::HmacSha512,
        (Some(kind), hash) => return Err(format!("a {kind:?} key does not sign with {hash}")),
        (None, _) => return Err("the key has no key type".into()),
    })
}

fn gcm(iv: Option<[u8; 12]>) -> Mechanism {
    Mechanism::AesGcm(AesGcmParams {
        iv,
        aad: None,
        tag_bits: None,
    })
}

fn oaep() -> Mechanism {
    Mechanism::RsaOaep(RsaOaepParams {
        hash: ihsm_client::proto::HashAlg::Sha256,
        label: None,
    })
}

fn output(ctx: &Ctx, out: Option<&PathBuf>, bytes: &[u8], what: &str) -> Result<(), String> {
    match out {
        Some(path) => {
            write_private(path, bytes)?;
            ctx.print(&json!({what: path}), || {
                format!("{what} written to {}", path.display())
            });
        }
        None => {
            let hex = zeroize::Zeroizing::new(hex::encode(bytes));
            ctx.print(&json!({what: hex.as_str()}), || hex.to_string());
        }
    }
    Ok(())
}

pub fn key(ctx: &Ctx, command: KeyCommand) -> Result<(), String> {
    match command {
        KeyCommand::Generate {
            partition,
            kind,
            label,
            transport,
        } => generate(ctx, &partition, &kind, &label, transport),
        KeyCommand::List(partition) => list(ctx, &partition),
        KeyCommand::Show { partition, label } => show(ctx, &partition, &label),
        KeyCommand::Delete { partition, label } => {
            let session = user(ctx, &partition)?;
            let found = find(&session, &label)?;
            for key in &found {
                session
                    .destroy_object(key.handle)
                    .map_err(|e| describe(&e))?;
            }
            ctx.print(&json!({"deleted": label, "objects": found.len()}), || {
                format!("key {label} deleted ({} objects)", found.len())
            });
            Ok(())
        }
        KeyCommand::ExportMasked {
            partition,
            label,
            out,
        } => {
            let session = user(ctx, &partition)?;
            let key = pick(&session, &label, true)?;
            let blob = session.mask_key(key.handle).map_err(|e| describe(&e))?;
            write_private(&out, &blob)?;
            ctx.print(&json!({"exported": label, "blob": out}), || {
                format!(
                    "key {label} masked to {} ({} bytes)",
                    out.display(),
                    blob.len()
                )
            });
            Ok(())
        }
        KeyCommand::ImportMasked { partition, input } => {
            let session = user(ctx, &partition)?;
            let blob = read(&input)?;
            let handle = session.unmask_key(&blob).map_err(|e| describe(&e))?;
            let label = label_of(&session, handle).unwrap_or_default();
            ctx.print(&json!({"imported": label, "handle": handle.get()}), || {
                format!("key {label} restored from {}", input.display())
            });
            Ok(())
        }
        KeyCommand::Import {
            partition,
            kind,
            input,
            label,
        } => {
            let session = user(ctx, &partition)?;
            let material = zeroize::Zeroizing::new(read(&input)?);
            let (class, key_type, usages) = match kind.as_str() {
                "aes" => (
                    ObjectClass::SecretKey,
                    KeyType::Aes,
                    vec![Attribute::Encrypt(true), Attribute::Decrypt(true)],
                ),
                "hmac" => (
                    ObjectClass::SecretKey,
                    KeyType::GenericSecret,
                    vec![Attribute::Sign(true), Attribute::Verify(true)],
                ),
                "ec" => (
                    ObjectClass::PrivateKey,
                    KeyType::Ec,
                    vec![Attribute::Sign(true)],
                ),
                "rsa" => (
                    ObjectClass::PrivateKey,
                    KeyType::Rsa,
                    vec![Attribute::Sign(true), Attribute::Decrypt(true)],
                ),
                other => return Err(format!("unknown key type {other:?}: aes, hmac, ec or rsa")),
            };
            let mut attributes = vec![
                Attribute::Class(class),
                Attribute::KeyType(key_type),
                Attribute::Token(true),
                Attribute::Label(text(&label)?),
            ];
            attributes.extend(usages);
            let imported = session
                .import_wrapped(&material, template(attributes)?)
                .map_err(|e| match e.status() {
                    Some(ihsm_client::Status::AttributeValueInvalid) => format!(
                        "{} is not a {kind} key the module accepts ({})",
                        input.display(),
                        if matches!(kind.as_str(), "ec" | "rsa") {
                            "an unencrypted PKCS#8 DER private key is needed"
                        } else {
                            "the raw key bytes are needed: 16, 24 or 32 for AES"
                        }
                    ),
                    _ => describe(&e),
                })?;
            ctx.print(
                &json!({"imported": label, "approved": imported.approved}),
                || format!("key {label} imported (wrapped to the partition's import key)"),
            );
            Ok(())
        }
    }
}

fn generate(
    ctx: &Ctx,
    partition: &PartitionArg,
    kind: &str,
    label: &str,
    transport: bool,
) -> Result<(), String> {
    let session = user(ctx, partition)?;
    let common = |extra: Vec<Attribute>| -> Result<Template, String> {
        let mut attributes = vec![Attribute::Token(true), Attribute::Label(text(label)?)];
        attributes.extend(extra);
        template(attributes)
    };
    let (secret_use, public_use) = if transport {
        (
            vec![Attribute::Wrap(true), Attribute::Unwrap(true)],
            vec![Attribute::Wrap(true)],
        )
    } else {
        (
            vec![Attribute::Encrypt(true), Attribute::Decrypt(true)],
            vec![Attribute::Encrypt(true)],
        )
    };
    let pair = |spec: KeyPairSpec,
                public: Vec<Attribute>,
                private: Vec<Attribute>|
     -> Result<bool, String> {
        let _progress = progress(&format!("generating {kind}"));
        session
            .generate_key_pair(spec, common(public)?, common(private)?)
            .map(|made| made.approved)
            .map_err(|e| describe(&e))
    };
    let approved = match kind {
        "ec-p256" | "ec-p384" | "ec-p521" => {
            let curve = match kind {
                "ec-p256" => Curve::P256,
                "ec-p384" => Curve::P384,
                _ => Curve::P521,
            };
            pair(KeyPairSpec::Ec(curve), vec![Attribute::Verify(true)], vec![Attribute::Sign(true)])?
        }
        "rsa-2048" | "rsa-3072" | "rsa-4096" => {
            let size = match kind {
                "rsa-2048" => RsaKeySize::Rsa2048,
                "rsa-3072" => RsaKeySize::Rsa3072,
                _ => RsaKeySize::Rsa4096,
            };
            let mut public = vec![Attribute::Verify(true)];
            public.extend(public_use);
            let mut private = vec![Attribute::Sign(true)];
            private.extend(secret_use.iter().filter(|a| !matches!(a, Attribute::Encrypt(_) | Attribute::Wrap(_))).cloned());
            pair(KeyPairSpec::Rsa(size), public, private)?
        }
        "aes-128" | "aes-192" | "aes-256" => {
            let size = match kind {
                "aes-128" => AesKeySize::Aes128,
                "aes-192" => AesKeySize::Aes192,
                _ => AesKeySize::Aes256,
            };
            session
                .generate_key(KeySpec::Aes(size), common(secret_use)?)
                .map(|made| made.approved)
                .map_err(|e| describe(&e))?
        }
        "hmac" => {
            let len = GenericSecretLen::new(32).map_err(|_| "length")?;
            session
                .generate_key(
                    KeySpec::GenericSecret(len),
                    common(vec![Attribute::Sign(true), Attribute::Verify(true)])?,
                )
                .map(|made| made.approved)
                .map_err(|e| describe(&e))?
        }
        other => {
            return Err(format!(
                "unknown key type {other:?}: ec-p256, ec-p384, ec-p521, rsa-2048, rsa-3072, rsa-4096, aes-128, aes-192, aes-256 or hmac"
            ))
        }
    };
    ctx.print(
        &json!({"generated": label, "type": kind, "approved": approved}),
        || format!("generated {kind} key {label}"),
    );
    Ok(())
}

fn label_of(session: &Session, handle: Handle) -> Option<String> {
    let values = session
        .get_attributes(
            handle,
            AttributeTypes::new(vec![AttributeType::Label]).ok()?,
        )
        .ok()?;
    values.into_iter().find_map(|v| match v {
        AttributeReading::Value(Attribute::Label(l)) => Some(l.to_string()),
        _ => None,
    })
}

fn list(ctx: &Ctx, partition: &PartitionArg) -> Result<(), String> {
    let session = user(ctx, partition)?;
    let handles = session
        .find_objects(template(vec![])?)
        .map_err(|e| describe(&e))?;
    let mut rows = Vec::new();
    for handle in handles {
        let values = session
            .get_attributes(
                handle,
                AttributeTypes::new(vec![
                    AttributeType::Label,
                    AttributeType::Class,
                    AttributeType::KeyType,
                ])
                .map_err(|_| "attribute list")?,
            )
            .map_err(|e| describe(&e))?;
        let mut row = (String::new(), String::new(), String::new());
        for value in values {
            match value {
                AttributeReading::Value(Attribute::Label(l)) => row.0 = l.to_string(),
                AttributeReading::Value(Attribute::Class(c)) => row.1 = format!("{c:?}"),
                AttributeReading::Value(Attribute::KeyType(k)) => row.2 = format!("{k:?}"),
                _ => {}
            }
        }
        rows.push(row);
    }
    rows.sort();
    let value = json!(rows
        .iter()
        .map(
            |(label, class, key_type)| json!({"label": label, "class": class, "key_type": key_type})
        )
        .collect::<Vec<_>>());
    ctx.print(&value, || {
        let mut text = format!("{:<32} {:<12} {}", "LABEL", "CLASS", "TYPE");
        for (label, class, key_type) in &rows {
            text.push_str(&format!("\n{label:<32} {class:<12} {key_type}"));
        }
        text
    });
    Ok(())
}

fn show(ctx: &Ctx, partition: &PartitionArg, label: &str) -> Result<(), String> {
    let session = user(ctx, partition)?;
    let mut objects = Vec::new();
    for found in find(&session, label)? {
        let types = AttributeTypes::new(vec![
            AttributeType::Class,
            AttributeType::KeyType,
            AttributeType::Token,
            AttributeType::Sensitive,
            AttributeType::Extractable,
            AttributeType::Local,
            AttributeType::Encrypt,
            AttributeType::Decrypt,
            AttributeType::Sign,
            AttributeType::Verify,
            AttributeType::Wrap,
            AttributeType::Unwrap,
            AttributeType::Derive,
            AttributeType::EcCurve,
            AttributeType::ModulusBits,
            AttributeType::ValueLen,
            AttributeType::EcPoint,
        ])
        .map_err(|_| "attribute list")?;
        let mut fields = serde_json::Map::new();
        for value in session
            .get_attributes(found.handle, types)
            .map_err(|e| describe(&e))?
        {
            if let AttributeReading::Value(attribute) = value {
                let (name, value) = match attribute {
                    Attribute::EcPoint(p) => ("EcPoint".to_string(), json!(hex::encode(&*p))),
                    Attribute::Class(c) => ("Class".into(), json!(format!("{c:?}"))),
                    Attribute::KeyType(k) => ("KeyType".into(), json!(format!("{k:?}"))),
                    Attribute::EcCurve(c) => ("EcCurve".into(), json!(format!("{c:?}"))),
                    Attribute::ModulusBits(b) => ("ModulusBits".into(), json!(b)),
                    Attribute::ValueLen(b) => ("ValueLen".into(), json!(b)),
                    other => {
                        let debug = format!("{other:?}");
                        let (name, rest) = debug.split_once('(').unwrap_or((&debug, ""));
                        (
                            name.to_string(),
                            json!(rest.trim_end_matches(')') == "true"),
                        )
                    }
                };
                fields.insert(name, value);
            }
        }
        objects.push(serde_json::Value::Object(fields));
    }
    let value = json!({"label": label, "objects": objects});
    ctx.print(&value, || {
        let mut text = format!("key {label}");
        for object in &objects {
            text.push('\n');
            if let Some(map) = object.as_object() {
                for (name, value) in map {
                    text.push_str(&format!("\n  {name:<12} {value}"));
                }
            }
        }
        text
    });
    Ok(())
}

/// A user session, the key's half that does the job (`private`: the private or secret key),
/// and the input file's bytes.
fn open_target(
    ctx: &Ctx,
    target: &KeyInput,
    private: bool,
) -> Result<(Session, Found, Vec<u8>), String> {
    let session = user(ctx, &target.partition)?;
    let key = pick(&session, &target.key, private)?;
    let input = read(&target.input)?;
    Ok((session, key, input))
}

pub fn sign(ctx: &Ctx, args: &SignArgs) -> Result<(), String> {
    let (session, key, message) = open_target(ctx, &args.target, true)?;
    let mechanism = signing_mechanism(key.key_type, &args.hash)?;
    let signature = session
        .sign(mechanism, key.handle, &message)
        .map_err(|e| describe(&e))?
        .value;
    output(ctx, args.out.as_ref(), &signature, "signature")
}

pub fn verify(ctx: &Ctx, args: &VerifyArgs) -> Result<(), String> {
    let (session, key, message) = open_target(ctx, &args.target, false)?;
    let mechanism = signing_mechanism(key.key_type, &args.hash)?;
    let signature = read(&args.signature)?;
    session
        .verify(mechanism, key.handle, &message, &signature)
        .map_err(|e| match e.status() {
            Some(ihsm_client::Status::VerificationFailed) => {
                "the signature does not verify".to_string()
            }
            _ => describe(&e),
        })?;
    ctx.print(&json!({"verified": true}), || "signature verified".into());
    Ok(())
}

pub fn encrypt(ctx: &Ctx, args: &CipherArgs) -> Result<(), String> {
    let (session, key, plaintext) = open_target(ctx, &args.target, false)?;
    let plaintext = zeroize::Zeroizing::new(plaintext);
    let bytes = match key.key_type {
        Some(KeyType::Aes) => {
            let sealed = session
                .encrypt(gcm(None), key.handle, &plaintext)
                .map_err(|e| describe(&e))?
                .value;
            let iv = sealed.iv.ok_or("the module returned no IV")?;
            [&iv[..], &sealed.ciphertext].concat()
        }
        Some(KeyType::Rsa) => {
            session
                .encrypt(oaep(), key.handle, &plaintext)
                .map_err(|e| describe(&e))?
                .value
                .ciphertext
        }
        other => return Err(format!("a {other:?} key does not encrypt")),
    };
    write_private(&args.out, &bytes)?;
    ctx.print(&json!({"encrypted": args.out}), || {
        format!(
            "encrypted {} bytes to {}",
            plaintext.len(),
            args.out.display()
        )
    });
    Ok(())
}

pub fn decrypt(ctx: &Ctx, args: &CipherArgs) -> Result<(), String> {
    let (session, key, input) = open_target(ctx, &args.target, true)?;
    let plaintext = match key.key_type {
        Some(KeyType::Aes) => {
            let (iv, ciphertext) = input
                .split_at_checked(12)
                .ok_or("the input is too short to be AES-GCM output")?;
            let iv: [u8; 12] = iv.try_into().map_err(|_| "IV")?;
            session.decrypt(gcm(Some(iv)), key.handle, ciphertext)
        }
        Some(KeyType::Rsa) => session.decrypt(oaep(), key.handle, &input),
        other => return Err(format!("a {other:?} key does not decrypt")),
    }
    .map_err(|e| match e.status() {
        Some(ihsm_client::Status::VerificationFailed) => {
            "the ciphertext does not authenticate under this key".to_string()
        }
        _ => describe(&e),
    })?
    .value;
    write_private(&args.out, &plaintext)?;
    ctx.print(&json!({"decrypted": args.out}), || {
        format!(
            "decrypted {} bytes to {}",
            plaintext.len(),
            args.out.display()
        )
    });
    Ok(())
}

pub fn random(ctx: &Ctx, args: &RandomArgs) -> Result<(), String> {
    let session = user(ctx, &args.partition)?;
    let bytes = session.random(args.bytes).map_err(|e| describe(&e))?.value;
    output(ctx, args.out.as_ref(), &bytes, "random")
}
