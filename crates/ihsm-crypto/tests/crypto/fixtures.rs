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
    &rsa_generated(bits).0
}

/// An RSA key generated once per size, with the (ihsm, AWS-LC) indicators of its generation.
pub fn rsa_generated(bits: RsaBits) -> &'static (RsaPrivateKey, bool, bool) {
    static KEYS: OnceLock<Vec<(RsaPrivateKey, bool, bool)>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        RsaBits::ALL
            .iter()
            .map(|b| {
                let out = engine().generate_rsa_key(*b).unwrap();
                (out.value, out.approved, out.aws_lc_indicator)
            })
            .collect()
    });
    &keys[RsaBits::ALL.iter().position(|b| *b == bits).unwrap()]
}
