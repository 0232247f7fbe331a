//! `ihsm bench`: ops/s and latency through the daemon, beside the same operation on the raw
//! engine in this process, in one run. It needs nothing set up: it makes its own partition
//! (initialising the module first if it has no admin yet) and deletes it at the end.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ihsm_client::proto::{
    AesGcmParams, AesKeySize, Attribute, Curve, GenericSecretLen, Handle, KeyPairSpec, KeySpec,
    Mechanism, Quotas, RsaKeySize, Template,
};
use ihsm_client::{Role, Session};
use ihsm_crypto::{Engine, HashAlg, RsaSignatureScheme};
use serde_json::json;

use crate::{describe, progress, Ctx};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Client threads to measure with (each has its own connection).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 2])]
    threads: Vec<usize>,
    /// Only the operations whose name contains this (e.g. "GCM", "ECDSA", "random").
    #[arg(long)]
    only: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    EcdsaP256,
    Rsa2048,
    Gcm4K,
    Gcm1M,
    HmacSha256,
    Random16,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::EcdsaP256,
        Op::Rsa2048,
        Op::Gcm4K,
        Op::Gcm1M,
        Op::HmacSha256,
        Op::Random16,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::EcdsaP256 => "ECDSA P-256 sign",
            Op::Rsa2048 => "RSA-2048 sign (PKCS#1 v1.5)",
            Op::Gcm4K => "AES-256-GCM encrypt 4 KiB",
            Op::Gcm1M => "AES-256-GCM encrypt 1 MiB",
            Op::HmacSha256 => "HMAC-SHA-256 64 B",
            Op::Random16 => "random 16 B",
        }
    }

    fn input_len(self) -> usize {
        match self {
            Op::Gcm4K => 4096,
            // The largest data field is 1 MiB, and GCM adds its 16-byte tag to the output.
            Op::Gcm1M => (1 << 20) - 16,
            Op::HmacSha256 => 64,
            _ => 32,
        }
    }
}

/// The keys of the bench partition, by label.
struct Keys {
    ec: Handle,
    rsa: Handle,
    aes: Handle,
    hmac: Handle,
}

/// One measurement: operations done, wall time, each operation's latency.
struct Cell {
    ops: u64,
    elapsed: Duration,
    latencies: Vec<u64>,
}

impl Cell {
    fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at `per_mille`/1000 of the sorted samples, in microseconds.
    fn percentile(&mut self, per_mille: usize) -> f64 {
        self.latencies.sort_unstable();
        let index = self.latencies.len().saturating_sub(1) * per_mille / 1000;
        self.latencies.get(index).copied().unwrap_or(0) as f64 / 1000.0
    }
}

fn measure(
    threads: usize,
    seconds: f64,
    work: impl Fn(usize) -> Box<dyn FnMut() -> bool + Send> + Sync,
) -> Cell {
    let deadline = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let results: Vec<(u64, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mut op = work(t);
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    let begun = Instant::now();
                    while begun.elapsed() < deadline {
                        let one = Instant::now();
                        if !op() {
                            break;
                        }
                        latencies.push(u64::try_from(one.elapsed().as_nanos()).unwrap_or(u64::MAX));
                    }
                    (latencies.len() as u64, latencies)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let elapsed = start.elapsed();
    let mut cell = Cell {
        ops: 0,
        elapsed,
        latencies: Vec::new(),
    };
    for (ops, latencies) in results {
        cell.ops += ops;
        cell.latencies.extend(latencies);
    }
    cell
}

fn random_pin(engine: &Engine) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let mut bytes = [0u8; 12];
    let _drawn = engine
        .random(&mut bytes)
        .map_err(|e| format!("random: {e}"))?;
    Ok(zeroize::Zeroizing::new(hex::encode(bytes).into_bytes()))
}

pub fn bench(ctx: &Ctx, args: &BenchArgs) -> Result<(), String> {
    let engine = Engine::power_on();
    let admin_client = ctx.admin_client()?;
    let status = admin_client.status().map_err(|e| describe(&e))?;
    let admin_pin = if status.initialized {
        ctx.pins.login("IHSM_ADMIN_PIN", "admin PIN")?
    } else {
        let pin = match std::env::var_os("IHSM_ADMIN_PIN") {
            Some(pin) => zeroize::Zeroizing::new(pin.into_encoded_bytes()),
            None => {
                let pin = random_pin(&engine)?;
                let _ = writeln!(
                    std::io::stderr(),
                    "ihsm bench: the module had no admin; its admin PIN is now {}",
                    String::from_utf8_lossy(&pin)
                );
                pin
            }
        };
        admin_client
            .initialize_admin(&pin)
            .map_err(|e| describe(&e))?;
        pin
    };
    let admin = admin_client
        .login(Role::Admin, &admin_pin)
        .and_then(|l| l.open_session())
        .map_err(|e| describe(&e))?;
    let name = format!("bench-{}", std::process::id());
    let officer_pin = random_pin(&engine)?;
    let user_pin = random_pin(&engine)?;
    admin
        .create_partition(
            &name,
            Quotas {
                max_objects: 100,
                max_sessions: 64,
                max_logins: 64,
                max_data_object_bytes: 1 << 20,
                max_connections: 64,
                max_locked_bytes: 1 << 20,
            },
        )
        .map_err(|e| describe(&e))?;
    let result = run(ctx, args, &engine, &name, &officer_pin, &user_pin);
    let deleted = admin.delete_partition(&name).map_err(|e| describe(&e));
    result.and(deleted)
}

fn run(
    ctx: &Ctx,
    args: &BenchArgs,
    engine: &Engine,
    name: &str,
    officer_pin: &[u8],
    user_pin: &[u8],
) -> Result<(), String> {
    let partition = crate::PartitionArg {
        partition: Some(name.to_string()),
    };
    let owner = ctx.partition_client(&partition)?;
    owner
        .initialize_partition(officer_pin, None)
        .map_err(|e| describe(&e))?;
    let officer = owner
        .login(Role::CryptoOfficer, officer_pin)
        .and_then(|l| l.open_session())
        .map_err(|e| describe(&e))?;
    officer
        .set_pin(Role::CryptoUser, user_pin)
        .map_err(|e| describe(&e))?;
    let user_client = ctx.partition_client(&partition)?;
    let login = user_client
        .login(Role::CryptoUser, user_pin)
        .map_err(|e| describe(&e))?;
    let setup = login.open_session().map_err(|e| describe(&e))?;
    let _progress = progress("making the bench keys");
    let keys = make_keys(&setup).map_err(|e| describe(&e))?;
    drop(_progress);
    // One connection (and session) per client thread, attached to the login by ticket.
    let max_threads = args.threads.iter().copied().max().unwrap_or(1);
    let mut sessions = Vec::new();
    for _ in 0..max_threads {
        let client = ctx.partition_client(&partition)?;
        let ticket = login.issue_ticket().map_err(|e| describe(&e))?;
        let session = client
            .attach(ticket)
            .and_then(|l| l.open_session())
            .map_err(|e| describe(&e))?;
        sessions.push(session);
    }
    let raw = RawKeys::new(engine)?;

    let mut rows = Vec::new();
    let chosen = Op::ALL.into_iter().filter(|op| {
        args.only
            .as_ref()
            .is_none_or(|only| op.name().to_lowercase().contains(&only.to_lowercase()))
    });
    for op in chosen {
        for &threads in &args.threads {
            let _progress = progress(&format!("{} x{threads}", op.name()));
            let input = Arc::new(vec![0x5au8; op.input_len()]);
            let mut daemon = measure(threads, args.seconds, |t| {
                let session = sessions.get(t % sessions.len().max(1)).cloned();
                let input = input.clone();
                let keys = (keys.ec, keys.rsa, keys.aes, keys.hmac);
                Box::new(move || {
                    session
                        .as_ref()
                        .is_some_and(|session| daemon_op(session, op, keys, &input))
                })
            });
            let mut raw_cell = measure(threads, args.seconds, |_| {
                let (engine, raw, input) = (engine.clone(), raw.clone(), input.clone());
                Box::new(move || raw_op(&engine, &raw, op, &input))
            });
            rows.push((
                op,
                threads,
                daemon.per_second(),
                daemon.percentile(500),
                daemon.percentile(990),
                raw_cell.per_second(),
                raw_cell.percentile(500),
            ));
        }
    }
    let value = json!(rows
        .iter()
        .map(|(op, threads, ops, p50, p99, raw, raw_p50)| json!({
            "operation": op.name(),
            "threads": threads,
            "ihsm_ops_per_s": ops.round(),
            "ihsm_p50_us": p50,
            "ihsm_p99_us": p99,
            "raw_ops_per_s": raw.round(),
            "raw_p50_us": raw_p50,
            "ratio": ops / raw.max(1e-9),
        }))
        .collect::<Vec<_>>());
    ctx.print(&value, || {
        let mut text = format!(
            "{:<30} {:>3} {:>12} {:>10} {:>10} {:>12} {:>10} {:>7}",
            "operation", "thr", "ihsm ops/s", "p50 us", "p99 us", "raw ops/s", "raw p50", "ratio"
        );
        for (op, threads, ops, p50, p99, raw, raw_p50) in &rows {
            text.push_str(&format!(
                "\n{:<30} {:>3} {:>12.0} {:>10.1} {:>10.1} {:>12.0} {:>10.1} {:>7.2}",
                op.name(),
                threads,
                ops,
                p50,
                p99,
                raw,
                raw_p50,
                ops / raw.max(1e-9)
            ));
        }
        text.push_str(&format!(
            "\nihsm: through ihsmd over its Unix socket, one connection per thread; raw: the same \
             AWS-LC engine in this process; {} s per cell; ratio = ihsm / raw",
            args.seconds
        ));
        text
    });
    Ok(())
}

fn template(attributes: Vec<Attribute>) -> ihsm_client::Result<Template> {
    Template::new(attributes).map_err(|_| ihsm_client::Error::InvalidArgument("template"))
}

fn make_keys(session: &Session) -> ihsm_client::Result<Keys> {
    let token = |usages: Vec<Attribute>| {
        let mut attributes = vec![Attribute::Token(true)];
        attributes.extend(usages);
        template(attributes)
    };
    let (_, ec) = session
        .generate_key_pair(
            KeyPairSpec::Ec(Curve::P256),
            token(vec![Attribute::Verify(true)])?,
            token(vec![Attribute::Sign(true)])?,
        )?
        .value;
    let (_, rsa) = session
        .generate_key_pair(
            KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
            token(vec![Attribute::Verify(true)])?,
            token(vec![Attribute::Sign(true)])?,
        )?
        .value;
    let aes = session
        .generate_key(
            KeySpec::Aes(AesKeySize::Aes256),
            token(vec![Attribute::Encrypt(true), Attribute::Decrypt(true)])?,
        )?
        .value;
    let len = GenericSecretLen::new(32).map_err(|_| ihsm_client::Error::InvalidArgument("len"))?;
    let hmac = session
        .generate_key(
            KeySpec::GenericSecret(len),
            token(vec![Attribute::Sign(true), Attribute::Verify(true)])?,
        )?
        .value;
    Ok(Keys { ec, rsa, aes, hmac })
}

fn daemon_op(
    session: &Session,
    op: Op,
    keys: (Handle, Handle, Handle, Handle),
    input: &[u8],
) -> bool {
    let (ec, rsa, aes, hmac) = keys;
    let gcm = || {
        Mechanism::AesGcm(AesGcmParams {
            iv: None,
            aad: None,
            tag_bits: None,
        })
    };
    match op {
        Op::EcdsaP256 => session.sign(Mechanism::EcdsaSha256, ec, input).is_ok(),
        Op::Rsa2048 => session.sign(Mechanism::RsaPkcs1Sha256, rsa, input).is_ok(),
        Op::Gcm4K | Op::Gcm1M => session.encrypt(gcm(), aes, input).is_ok(),
        Op::HmacSha256 => session.sign(Mechanism::HmacSha256, hmac, input).is_ok(),
        Op::Random16 => session.random(16).is_ok(),
    }
}

/// The same keys in the raw engine.
#[derive(Clone)]
struct RawKeys {
    ec: Arc<ihsm_crypto::EcPrivateKey>,
    rsa: Arc<ihsm_crypto::RsaPrivateKey>,
    aes: Arc<ihsm_crypto::AesKey>,
    hmac: Arc<ihsm_crypto::GenericSecret>,
}

impl RawKeys {
    fn new(engine: &Engine) -> Result<Self, String> {
        let fail = |e: ihsm_crypto::Error| format!("raw engine: {e}");
        let mut secret = [0u8; 32];
        let _drawn = engine.random(&mut secret).map_err(fail)?;
        Ok(Self {
            ec: Arc::new(
                engine
                    .generate_ec_key(ihsm_crypto::Curve::P256)
                    .map_err(fail)?
                    .value,
            ),
            rsa: Arc::new(
                engine
                    .generate_rsa_key(ihsm_crypto::RsaBits::Rsa2048)
                    .map_err(fail)?
                    .value,
            ),
            aes: Arc::new(ihsm_crypto::AesKey::from_bytes(&secret).map_err(fail)?),
            hmac: Arc::new(ihsm_crypto::GenericSecret::from_bytes(&secret).map_err(fail)?),
        })
    }
}

fn raw_op(engine: &Engine, raw: &RawKeys, op: Op, input: &[u8]) -> bool {
    match op {
        Op::EcdsaP256 => engine.ecdsa_sign(&raw.ec, HashAlg::Sha256, input).is_ok(),
        Op::Rsa2048 => engine
            .rsa_sign(&raw.rsa, RsaSignatureScheme::Pkcs1, HashAlg::Sha256, input)
            .is_ok(),
        Op::Gcm4K | Op::Gcm1M => engine.aes_gcm_encrypt(&raw.aes, &[], input).is_ok(),
        Op::HmacSha256 => engine.hmac_sign(&raw.hmac, HashAlg::Sha256, input).is_ok(),
        Op::Random16 => {
            let mut out = [0u8; 16];
            engine.random(&mut out).is_ok()
        }
    }
}
