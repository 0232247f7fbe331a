//! The approval policy: for every service and parameter set, whether ihsm counts it as an
//! approved service (FIPS 140-3 service indicator) and why.
//!
//! This table, not AWS-LC, decides what ihsm reports. AWS-LC's own indicator is a second
//! opinion: ihsm never calls a service approved that AWS-LC does not indicate (the engine
//! requires both at run time), and the table records what AWS-LC says for every entry so a
//! test can check the two agree (`tests/crypto/policy.rs`). ihsm may be stricter than AWS-LC
//! (HMAC with short keys, PBKDF2 with short passwords); each such row says why.

use crate::types::{AesBits, Curve, HashAlg, RsaBits};

/// One service with the parameters that decide its approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Random bytes from the DRBG.
    Random,
    /// SHA-2 message digest.
    Digest(HashAlg),
    /// HMAC generation or verification.
    Hmac {
        /// Hash.
        hash: HashAlg,
        /// Key shorter than 112 bits (14 bytes).
        short_key: bool,
    },
    /// AES-GCM encryption with the IV made inside the module.
    AesGcmEncrypt(AesBits),
    /// AES-GCM decryption.
    AesGcmDecrypt(AesBits),
    /// AES-CBC.
    AesCbc {
        /// Key size.
        bits: AesBits,
        /// PKCS#7 padding.
        padded: bool,
        /// Encrypt (true) or decrypt.
        encrypt: bool,
    },
    /// AES-256-XTS.
    AesXts {
        /// Encrypt (true) or decrypt.
        encrypt: bool,
    },
    /// AES key wrap (RFC 3394) or with padding (RFC 5649).
    AesKeyWrap {
        /// Key-encryption key size.
        bits: AesBits,
        /// RFC 5649 (KWP) rather than RFC 3394 (KW).
        padded: bool,
        /// Wrap (true) or unwrap.
        wrap: bool,
    },
    /// HKDF (RFC 5869, SP 800-56C two-step).
    Hkdf {
        /// Hash.
        hash: HashAlg,
        /// Called with an empty salt.
        empty_salt: bool,
        /// Called with an empty `info` (no context binding).
        empty_info: bool,
    },
    /// SP 800-108 KDF in counter mode with HMAC.
    KbkdfCounterHmac {
        /// Hash.
        hash: HashAlg,
        /// Key shorter than 112 bits (14 bytes).
        short_key: bool,
    },
    /// PBKDF2-HMAC-SHA-512.
    Pbkdf2 {
        /// Password shorter than 14 bytes (the PIN case).
        short_password: bool,
        /// Fewer than 1000 iterations.
        few_iterations: bool,
    },
    /// EC key-pair generation.
    EcKeyGen(Curve),
    /// ECDSA signature generation.
    EcdsaSign {
        /// Curve.
        curve: Curve,
        /// Hash.
        hash: HashAlg,
        /// The caller supplied the digest instead of the message.
        prehashed: bool,
    },
    /// ECDSA signature verification.
    EcdsaVerify {
        /// Curve.
        curve: Curve,
        /// Hash.
        hash: HashAlg,
        /// The caller supplied the digest instead of the message.
        prehashed: bool,
    },
    /// ECDH shared-secret computation (SP 800-56A).
    Ecdh(Curve),
    /// RSA key-pair generation.
    RsaKeyGen(RsaBits),
    /// RSASSA-PKCS1-v1_5 or RSASSA-PSS signature generation.
    RsaSign {
        /// Modulus size.
        bits: RsaBits,
        /// Hash.
        hash: HashAlg,
        /// Signature scheme.
        scheme: RsaScheme,
        /// The caller supplied the digest instead of the message.
        prehashed: bool,
    },
    /// RSASSA-PKCS1-v1_5 or RSASSA-PSS signature verification.
    RsaVerify {
        /// Modulus size.
        bits: RsaBits,
        /// Hash.
        hash: HashAlg,
        /// Signature scheme.
        scheme: RsaScheme,
        /// The caller supplied the digest instead of the message.
        prehashed: bool,
    },
    /// RSA-OAEP encryption.
    RsaOaepEncrypt {
        /// Modulus size.
        bits: RsaBits,
        /// Hash (and MGF1 hash).
        hash: HashAlg,
    },
    /// RSA-OAEP decryption.
    RsaOaepDecrypt {
        /// Modulus size.
        bits: RsaBits,
        /// Hash (and MGF1 hash).
        hash: HashAlg,
    },
}

/// RSA signature schemes, with the PSS salt-length class that decides approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RsaScheme {
    /// RSASSA-PKCS1-v1_5.
    Pkcs1,
    /// RSASSA-PSS with salt length equal to the hash length.
    PssSaltHashLen,
    /// RSASSA-PSS with any other salt length.
    PssSaltOther,
}

/// The policy's verdict on one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Approval {
    /// ihsm reports the service as approved.
    pub approved: bool,
    /// What AWS-LC's service indicator says for this service (checked by a test).
    pub aws_lc_indicator: bool,
    /// Why.
    pub reason: &'static str,
}

const APPROVED: Approval = Approval {
    approved: true,
    aws_lc_indicator: true,
    reason: "approved algorithm and parameters; AWS-LC indicates approved",
};

const fn not_approved(aws_lc_indicator: bool, reason: &'static str) -> Approval {
    Approval {
        approved: false,
        aws_lc_indicator,
        reason,
    }
}

/// The policy's verdict for `service`.
pub fn approval(service: Service) -> Approval {
    match service {
        Service::Random => APPROVED,
        Service::Digest(_) => APPROVED,
        Service::Hmac {
            short_key: true, ..
        } => not_approved(
            true,
            "HMAC key below 112 bits (SP 800-131A); AWS-LC does not check key length",
        ),
        Service::Hmac { .. } => APPROVED,
        Service::AesGcmEncrypt(AesBits::Aes192) => not_approved(
            false,
            "AWS-LC has no internal-IV AES-192-GCM; an IV made outside AWS-LC's approved \
             IV construction is not approved (SP 800-38D 8.2, IG C.H)",
        ),
        Service::AesGcmDecrypt(AesBits::Aes192) => not_approved(
            false,
            "AES-192-GCM is outside AWS-LC's approved GCM services in both directions",
        ),
        Service::AesGcmEncrypt(_) | Service::AesGcmDecrypt(_) => APPROVED,
        Service::AesCbc { .. } => APPROVED,
        Service::AesXts { .. } => APPROVED,
        Service::AesKeyWrap { .. } => APPROVED,
        Service::Hkdf {
            empty_info: true, ..
        } => not_approved(
            false,
            "SP 800-56C r2 4.1 needs FixedInfo: a derivation bound to no context is not \
             approved (AWS-LC agrees)",
        ),
        Service::Hkdf {
            empty_salt: true, ..
        } => not_approved(false, "AWS-LC approves HKDF only with a salt; ihsm follows"),
        Service::Hkdf { .. } => APPROVED,
        Service::KbkdfCounterHmac {
            short_key: true, ..
        } => not_approved(false, "KDF key below 112 bits (SP 800-131A)"),
        Service::KbkdfCounterHmac { .. } => APPROVED,
        Service::Pbkdf2 {
            short_password: true,
            ..
        } => not_approved(
            false,
            "SP 800-132 and IG D.N need a password of at least 14 bytes; PINs are shorter",
        ),
        Service::Pbkdf2 {
            few_iterations: true,
            ..
        } => not_approved(false, "fewer than 1000 iterations (SP 800-132 5.2)"),
        Service::Pbkdf2 { .. } => APPROVED,
        Service::EcKeyGen(_) => APPROVED,
        Service::EcdsaSign {
            prehashed: true, ..
        }
        | Service::RsaSign {
            prehashed: true, ..
        } => not_approved(
            false,
            "signing a caller-supplied digest: the module did not compute the hash it signs",
        ),
        Service::EcdsaVerify {
            prehashed: true, ..
        }
        | Service::RsaVerify {
            prehashed: true, ..
        } => not_approved(
            false,
            "verifying against a caller-supplied digest is outside AWS-LC's approved services",
        ),
        Service::EcdsaSign { .. } | Service::EcdsaVerify { .. } => APPROVED,
        Service::Ecdh(_) => APPROVED,
        Service::RsaKeyGen(_) => APPROVED,
        Service::RsaSign {
            scheme: RsaScheme::PssSaltOther,
            ..
        }
        | Service::RsaVerify {
            scheme: RsaScheme::PssSaltOther,
            ..
        } => not_approved(
            false,
            "PSS is approved only with salt length = hash length (AWS-LC's validated \
             configuration); other salt lengths are served flagged",
        ),
        Service::RsaSign { .. } | Service::RsaVerify { .. } => APPROVED,
        Service::RsaOaepEncrypt { .. } | Service::RsaOaepDecrypt { .. } => APPROVED,
    }
}

impl Service {
    /// Every service and parameter set the engine offers: the rows of the policy table.
    pub fn all() -> Vec<Service> {
        let mut all = vec![Service::Random];
        for hash in HashAlg::ALL {
            all.push(Service::Digest(hash));
            for short_key in [false, true] {
                all.push(Service::Hmac { hash, short_key });
            }
            for (empty_salt, empty_info) in
                [(false, false), (false, true), (true, false), (true, true)]
            {
                all.push(Service::Hkdf {
                    hash,
                    empty_salt,
                    empty_info,
                });
            }
            for short_key in [false, true] {
                all.push(Service::KbkdfCounterHmac { hash, short_key });
            }
        }
        for bits in AesBits::ALL {
            all.push(Service::AesGcmEncrypt(bits));
            all.push(Service::AesGcmDecrypt(bits));
            for padded in [false, true] {
                for encrypt in [false, true] {
                    all.push(Service::AesCbc {
                        bits,
                        padded,
                        encrypt,
                    });
                    all.push(Service::AesKeyWrap {
                        bits,
                        padded,
                        wrap: encrypt,
                    });
                }
            }
        }
        for encrypt in [false, true] {
            all.push(Service::AesXts { encrypt });
        }
        for short_password in [false, true] {
            for few_iterations in [false, true] {
                all.push(Service::Pbkdf2 {
                    short_password,
                    few_iterations,
                });
            }
        }
        for curve in Curve::ALL {
            all.push(Service::EcKeyGen(curve));
            all.push(Service::Ecdh(curve));
            for hash in HashAlg::ALL {
                for prehashed in [false, true] {
                    all.push(Service::EcdsaSign {
                        curve,
                        hash,
                        prehashed,
                    });
                    all.push(Service::EcdsaVerify {
                        curve,
                        hash,
                        prehashed,
                    });
                }
            }
        }
        for bits in RsaBits::ALL {
            all.push(Service::RsaKeyGen(bits));
            for hash in HashAlg::ALL {
                all.push(Service::RsaOaepEncrypt { bits, hash });
                all.push(Service::RsaOaepDecrypt { bits, hash });
                for scheme in [
                    RsaScheme::Pkcs1,
                    RsaScheme::PssSaltHashLen,
                    RsaScheme::PssSaltOther,
                ] {
                    for prehashed in [false, true] {
                        all.push(Service::RsaSign {
                            bits,
                            hash,
                            scheme,
                            prehashed,
                        });
                        all.push(Service::RsaVerify {
                            bits,
                            hash,
                            scheme,
                            prehashed,
                        });
                    }
                }
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_implies_indicator_or_documented_exemption() {
        for service in Service::all() {
            let a = approval(service);
            assert!(
                !a.approved || a.aws_lc_indicator,
                "{service:?} approved without AWS-LC's indicator: {}",
                a.reason
            );
            assert!(!a.reason.is_empty());
        }
    }

    #[test]
    fn rows_are_unique() {
        let all = Service::all();
        let set: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(set.len(), all.len());
    }
}
