//! The device benchmark: ECDSA P-256 signatures through the whole device core (frame
//! decoding, the gate, the key lookup, the engine, the response encoding) at one and two
//! threads, beside the raw engine at one and two threads, in one run.
//!
//! `cargo bench -p ihsm-device --bench device` prints a Markdown table. Each cell runs for
//! `IHSM_BENCH_SECS` seconds (default 2.0). The device must scale: each thread has its own
//! connection and session, and no lock is held across the signature, so two threads should
//! do nearly twice the signatures of one on a machine with two free cores.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ihsm_crypto::{Curve as EngineCurve, Engine, HashAlg};
use ihsm_device::{
    DevelopmentFuses, Device, DeviceConfig, ManualClock, MemoryStore, Platform, Socket,
};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    Attribute, Curve, Data, KeyPairSpec, Limits, Mechanism, Opcode, PartitionName, Request,
    RequestId, ResponseBody, Role, Template,
};
use ihsm_testkit::client::{quotas, Client, InProcess, Transport};

const ADMIN_PIN: &str = "bench-admin-pin";
const OFFICER_PIN: &str = "bench-officer-pin";
const USER_PIN: &str = "bench-user-pin";

fn main() {
    let secs: f64 = std::env::var("IHSM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(secs);
    let device = Device::power_on(
        Platform {
            clock: Arc::new(ManualClock::default()),
            fuses: Arc::new(DevelopmentFuses::new([7; 32])),
            store: Arc::new(MemoryStore::new()),
        },
        DeviceConfig::for_tests(),
    );
    let key = setup(&device);

    let engine = Engine::power_on();
    let raw_key = Arc::new(engine.generate_ec_key(EngineCurve::P256).unwrap().value);

    println!(
        "AWS-LC {} (FIPS mode: {}), {} threads available, {secs} s per cell\n",
        ihsm_crypto::aws_lc_version(),
        engine.fips_mode(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| ECDSA P-256 sign | 1 thread ops/s | 2 threads ops/s | 2 / 1 |");
    println!("|---|---:|---:|---:|");
    let mut rows = Vec::new();
    for round in 0..2 {
        let device_counts = [1, 2].map(|threads| {
            run(threads, budget, |_| {
                let (mut client, frame) = signer(&device, key);
                move || {
                    black_box(client.transport().round_trip(&frame));
                }
            })
        });
        let engine_counts = [1, 2].map(|threads| {
            run(threads, budget, |_| {
                let engine = engine.clone();
                let key = Arc::clone(&raw_key);
                move || {
                    let _ = black_box(
                        engine
                            .ecdsa_sign(&key, HashAlg::Sha256, &[0x5a; 32])
                            .unwrap(),
                    );
                }
            })
        });
        rows.push((round, device_counts, engine_counts));
    }
    for (round, device, engine) in &rows {
        for (name, counts) in [("through the device", device), ("raw engine", engine)] {
            println!(
                "| {name} (round {}) | {:.0} | {:.0} | {:.2} |",
                round + 1,
                counts[0],
                counts[1],
                counts[1] / counts[0]
            );
        }
    }
    let (_, device, engine) = rows.last().unwrap();
    println!(
        "\ndevice / raw engine: {:.2} at 1 thread, {:.2} at 2 threads",
        device[0] / engine[0],
        device[1] / engine[1]
    );
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

/// A device with a partition, a user, and a token P-256 key; returns the key's handle.
fn setup(device: &Device) -> ihsm_proto::Handle {
    let mut admin = Client::new(InProcess::connect(device, Socket::Admin));
    admin.initialize_admin(ADMIN_PIN).unwrap();
    let session = admin.session(Role::Admin, ADMIN_PIN).unwrap();
    admin
        .create_partition(session, "bench", quotas(), OFFICER_PIN)
        .unwrap();
    let mut officer = partition_client(device);
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
                partition: None,
            },
        )
        .unwrap();
    let mut user = partition_client(device);
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    let request = GenerateKeyPairRequest {
        spec: KeyPairSpec::Ec(Curve::P256),
        public_template: Template::new(vec![Attribute::Token(true)]).unwrap(),
        private_template: Template::new(vec![Attribute::Token(true)]).unwrap(),
    };
    match user.call(Some(session), request).unwrap().0 {
        ResponseBody::GenerateKeyPair(pair) => pair.private_handle,
        _ => unreachable!(),
    }
}

fn partition_client(device: &Device) -> Client<InProcess> {
    let name = PartitionName::new("bench").unwrap();
    Client::new(InProcess::connect(device, Socket::Partition(name)))
}

/// A connection of its own with a user session, and the frame body of a signature request
/// in that session, encoded once.
fn signer(device: &Device, key: ihsm_proto::Handle) -> (Client<InProcess>, Vec<u8>) {
    let mut client = partition_client(device);
    let session = client.session(Role::CryptoUser, USER_PIN).unwrap();
    let request = Request {
        request_id: RequestId::new(1).unwrap(),
        session: Some(session),
        body: SignRequest {
            mechanism: Mechanism::EcdsaSha256,
            key,
            data: Data::copy_from(&[0x5a; 32]).unwrap(),
        }
        .into(),
    };
    let frame = request.encode_frame(&Limits::default()).unwrap();
    (client, frame[4..].to_vec())
}
