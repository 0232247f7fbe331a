//! Keys shared by the tests, generated once per test binary.

use std::sync::OnceLock;

use ihsm_crypto::{Curve, EcPrivateKey, Engine, RsaBits, RsaPrivateKey};

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::power_on)
}

pub fn ec_key(curve: Curve) -> &'static EcPrivateKey {
    static KEYS: OnceLock<Vec<EcPrivateKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Curve::ALL
            .iter()
            .map(|c| engine().generate_ec_key(*c).unwrap().value)
            .collect()
    });
    &keys[Curve::ALL.iter().position(|c| *c == curve).unwrap()]
}

pub fn rsa_key(bits: RsaBits) -> &'static RsaPrivateKey {
    static KEYS: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        RsaBits::ALL
            .iter()
            .map(|b| engine().generate_rsa_key(*b).unwrap().value)
            .collect()
    });
    &keys[RsaBits::ALL.iter().position(|b| *b == bits).unwrap()]
}
