//! The device benchmark: operations through the whole device core (frame decoding, the gate,
//! the key lookup and checks, the engine, the response encoding) at one and two threads,
//! beside the raw engine and SoftHSM2 (in process, through PKCS#11) in the same run.
//!
//! `cargo bench -p ihsm-device --bench device` prints a Markdown table. Each cell runs for
//! `IHSM_BENCH_SECS` seconds (default 2.0), and the whole table is measured twice, the
//! implementations taking turns, so the noise of a shared machine shows. The device must
//! scale: each thread has its own connection and session, and no lock is held across the
//! cryptography, so two threads should do nearly twice the work of one on two free cores.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism as Ck;
use cryptoki::object::{Attribute as CkAttribute, ObjectHandle};
use ihsm_crypto::{AesKey, Curve as EngineCurve, Engine, HashAlg};
use ihsm_device::{
    DevelopmentFuses, Device, DeviceConfig, ManualClock, MemoryStore, Platform, Socket,
};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesGcmParams, AesKeySize, Attribute, Curve, Data, Handle, KeyPairSpec, KeySpec, Limits,
    Mechanism, Opcode, PartitionName, Request, RequestBody, RequestId, ResponseBody, Role,
    Template,
};
use ihsm_testkit::client::{quotas, Client, InProcess, Transport};
use ihsm_testkit::softhsm::SoftHsm;

const ADMIN_PIN: &str = "bench-admin-pin";
const OFFICER_PIN: &str = "bench-officer-pin";
const USER_PIN: &str = "bench-user-pin";
const GCM_LEN: usize = 1024;

#[derive(Clone, Copy, PartialEq)]
enum Operation {
    EcdsaP256Sign,
    AesGcmEncrypt,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256Sign => "ECDSA P-256 sign (SHA-256)",
            Self::AesGcmEncrypt => "AES-256-GCM encrypt 1 KiB",
        }
    }
}

/// The keys of each implementation.
struct Keys {
    device_ec: Handle,
    device_aes: Handle,
    engine_ec: Arc<ihsm_crypto::EcPrivateKey>,
    engine_aes: Arc<AesKey>,
    softhsm: Option<(SoftHsm, ObjectHandle, ObjectHandle)>,
}

fn main() {
    let secs: f64 = std::env::var("IHSM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(secs);
    // SoftHSM2 first: it sets its configuration in the environment before any thread runs.
    let softhsm = match SoftHsm::new() {
        Ok(softhsm) => Some(softhsm),
        Err(why) => {
            println!("SoftHSM2 column skipped: {why}\n");
            None
        }
    };
    let device = Device::power_on(
        Platform {
            clock: Arc::new(ManualClock::default()),
            fuses: Arc::new(DevelopmentFuses::new(&[7; 32])),
            store: Arc::new(MemoryStore::new()),
        },
        DeviceConfig::for_tests(),
    );
    let (device_ec, device_aes) = setup(&device);
    let engine = Engine::power_on();
    let keys = Keys {
        device_ec,
        device_aes,
        engine_ec: Arc::new(engine.generate_ec_key(EngineCurve::P256).unwrap().value),
        engine_aes: Arc::new(AesKey::from_bytes(&[0x42; 32]).unwrap()),
        softhsm: softhsm.map(|softhsm| {
            let (ec, aes) = softhsm_keys(&softhsm);
            (softhsm, ec, aes)
        }),
    };

    println!(
        "AWS-LC {} (FIPS mode: {}); {}; {} threads available; {secs} s per cell\n",
        ihsm_crypto::aws_lc_version(),
        engine.fips_mode(),
        keys.softhsm
            .as_ref()
            .map_or("no SoftHSM2".to_owned(), |(s, _, _)| s.describe()),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| operation | round | threads | ihsm device ops/s | raw engine ops/s | SoftHSM2 ops/s \
         | device / raw | device / SoftHSM2 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut last = Vec::new();
    for round in 1..=2 {
        last.clear();
        for operation in [Operation::EcdsaP256Sign, Operation::AesGcmEncrypt] {
            for threads in [1, 2] {
                let device_rate = measure_device(&device, &keys, operation, threads, budget);
                let engine_rate = measure_engine(&engine, &keys, operation, threads, budget);
                let softhsm_rate = keys
                    .softhsm
                    .as_ref()
                    .map(|(s, ec, aes)| measure_softhsm(s, *ec, *aes, operation, threads, budget));
                let softhsm_cell = softhsm_rate.map_or("-".to_owned(), |r| format!("{r:.0}"));
                let softhsm_ratio =
                    softhsm_rate.map_or("-".to_owned(), |r| format!("{:.2}", device_rate / r));
                println!(
                    "| {} | {round} | {threads} | {device_rate:.0} | {engine_rate:.0} | \
                     {softhsm_cell} | {:.2} | {softhsm_ratio} |",
                    operation.name(),
                    device_rate / engine_rate,
                );
                last.push((operation, threads, device_rate, engine_rate, softhsm_rate));
            }
        }
    }
    println!("\nScaling in round 2 (2 threads / 1 thread):\n");
    println!("| operation | ihsm device | raw engine | SoftHSM2 |");
    println!("|---|---:|---:|---:|");
    for operation in [Operation::EcdsaP256Sign, Operation::AesGcmEncrypt] {
        let rates: Vec<_> = last.iter().filter(|r| r.0 == operation).collect();
        let (one, two) = (rates[0], rates[1]);
        let softhsm = match (one.4, two.4) {
            (Some(a), Some(b)) => format!("{:.2}", b / a),
            _ => "-".to_owned(),
        };
        println!(
            "| {} | {:.2} | {:.2} | {softhsm} |",
            operation.name(),
            two.2 / one.2,
            two.3 / one.3
        );
    }
}

fn measure_device(
    device: &Device,
    keys: &Keys,
    operation: Operation,
    threads: usize,
    budget: Duration,
) -> f64 {
    run(threads, budget, |_| {
        let body: RequestBody = match operation {
            Operation::EcdsaP256Sign => SignRequest {
                mechanism: Mechanism::EcdsaSha256,
                key: keys.device_ec,
                data: Data::copy_from(&[0x5a; 32]).unwrap(),
            }
            .into(),
            Operation::AesGcmEncrypt => EncryptRequest {
                mechanism: Mechanism::AesGcm(AesGcmParams {
                    iv: None,
                    aad: None,
                    tag_bits: None,
                }),
                key: keys.device_aes,
                data: Data::copy_from(&[0x5a; GCM_LEN]).unwrap(),
            }
            .into(),
        };
        let (mut client, frame) = caller(device, body);
        move || {
            black_box(client.transport().round_trip(&frame));
        }
    })
}

fn measure_engine(
    engine: &Engine,
    keys: &Keys,
    operation: Operation,
    threads: usize,
    budget: Duration,
) -> f64 {
    run(threads, budget, |_| {
        let engine = engine.clone();
        let ec = Arc::clone(&keys.engine_ec);
        // A key of its own per worker: the GCM count is per key, as in the device.
        let aes = AesKey::from_bytes(keys.engine_aes.expose()).unwrap();
        let data = vec![0x5a; GCM_LEN];
        move || match operation {
            Operation::EcdsaP256Sign => {
                let _ = black_box(
                    engine
                        .ecdsa_sign(&ec, HashAlg::Sha256, &[0x5a; 32])
                        .unwrap(),
                );
            }
            Operation::AesGcmEncrypt => {
                let _ = black_box(engine.aes_gcm_encrypt(&aes, &[], &data).unwrap());
            }
        }
    })
}

fn measure_softhsm(
    softhsm: &SoftHsm,
    ec: ObjectHandle,
    aes: ObjectHandle,
    operation: Operation,
    threads: usize,
    budget: Duration,
) -> f64 {
    run(threads, budget, |_| {
        let session = softhsm.session().unwrap();
        let data = vec![0x5a; GCM_LEN];
        let mut iv = [0u8; 12];
        let mut counter = 0u64;
        // SoftHSM2 2.6 has no CKM_ECDSA_SHA256: it signs the digest (the hash of 32 bytes
        // costs well under 1% of a signature).
        let digest = ihsm_testkit::client::client_engine()
            .digest(HashAlg::Sha256, &[0x5a; 32])
            .unwrap()
            .value;
        move || match operation {
            Operation::EcdsaP256Sign => {
                let _ = black_box(session.sign(&Ck::Ecdsa, ec, &digest).unwrap());
            }
            Operation::AesGcmEncrypt => {
                // SoftHSM2 takes the IV from the caller; a counter keeps them distinct.
                counter += 1;
                iv[4..].copy_from_slice(&counter.to_be_bytes());
                let params = GcmParams::new(&mut iv, &[], 128.into()).unwrap();
                let _ = black_box(session.encrypt(&Ck::AesGcm(params), aes, &data).unwrap());
            }
        }
    })
}

/// Runs `threads` workers, each made by `make`, for `budget`; returns operations per second.
fn run<F, W>(threads: usize, budget: Duration, make: F) -> f64
where
    F: Fn(usize) -> W,
    W: FnMut() + Send + 'static,
{
    let workers: Vec<W> = (0..threads).map(&make).collect();
    let start = Instant::now();
    let handles: Vec<_> = workers
        .into_iter()
        .map(|mut work| {
            std::thread::spawn(move || {
                let mut count = 0u64;
                while start.elapsed() < budget {
                    work();
                    count += 1;
                }
                count
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

/// A device with a partition, a user, a token P-256 key and a token AES-256 key.
fn setup(device: &Device) -> (Handle, Handle) {
    let mut admin = Client::new(InProcess::connect(device, Socket::Admin));
    admin.initialize_admin(ADMIN_PIN).unwrap();
    let session = admin.session(Role::Admin, ADMIN_PIN).unwrap();
    admin.create_partition(session, "bench", quotas()).unwrap();
    let mut officer = partition_client(device);
    officer.initialize_partition(OFFICER_PIN).unwrap();
    let session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let credential = officer
        .sealed(Opcode::SetPin, 1, USER_PIN.as_bytes())
        .secret;
    officer
        .call(
            Some(session),
            SetPinRequest {
                role: Role::CryptoUser,
                credential,
            },
        )
        .unwrap();
    let mut user = partition_client(device);
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    let token = || Template::new(vec![Attribute::Token(true)]).unwrap();
    let request = GenerateKeyPairRequest {
        spec: KeyPairSpec::Ec(Curve::P256),
        public_template: token(),
        private_template: token(),
    };
    let ec = match user.call(Some(session), request).unwrap().0 {
        ResponseBody::GenerateKeyPair(pair) => pair.private_handle,
        _ => unreachable!(),
    };
    let request = GenerateKeyRequest {
        spec: KeySpec::Aes(AesKeySize::Aes256),
        template: token(),
    };
    let aes = match user.call(Some(session), request).unwrap().0 {
        ResponseBody::GenerateKey(key) => key.handle,
        _ => unreachable!(),
    };
    (ec, aes)
}

/// A P-256 key pair and an AES-256 key on the SoftHSM2 token.
fn softhsm_keys(softhsm: &SoftHsm) -> (ObjectHandle, ObjectHandle) {
    let session = softhsm.session().unwrap();
    // The DER of the P-256 curve's OID.
    let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let (_, ec) = session
        .generate_key_pair(
            &Ck::EccKeyPairGen,
            &[CkAttribute::Token(true), CkAttribute::EcParams(p256)],
            &[
                CkAttribute::Token(true),
                CkAttribute::Private(true),
                CkAttribute::Sign(true),
            ],
        )
        .unwrap();
    let aes = session
        .generate_key(
            &Ck::AesKeyGen,
            &[
                CkAttribute::Token(true),
                CkAttribute::ValueLen(32.into()),
                CkAttribute::Encrypt(true),
            ],
        )
        .unwrap();
    (ec, aes)
}

fn partition_client(device: &Device) -> Client<InProcess> {
    let name = PartitionName::new("bench").unwrap();
    Client::new(InProcess::connect(device, Socket::Partition(name)))
}

/// A connection of its own with a user session, and the frame body of `body` in that
/// session, encoded once.
fn caller(device: &Device, body: RequestBody) -> (Client<InProcess>, Vec<u8>) {
    let mut client = partition_client(device);
    let session = client.session(Role::CryptoUser, USER_PIN).unwrap();
    let request = Request {
        request_id: RequestId::new(1).unwrap(),
        session: Some(session),
        body,
    };
    let frame = request.encode_frame(&Limits::default()).unwrap();
    (client, frame[4..].to_vec())
}
