//! Small closed sets the engine's services are parameterised by.

/// A SHA-2 hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Every hash the engine offers.
    pub const ALL: [HashAlg; 3] = [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512];

    /// Digest length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    pub(crate) fn digest_algorithm(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            HashAlg::Sha256 => &aws_lc_rs::digest::SHA256,
            HashAlg::Sha384 => &aws_lc_rs::digest::SHA384,
            HashAlg::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    pub(crate) fn hmac_algorithm(self) -> aws_lc_rs::hmac::Algorithm {
        match self {
            HashAlg::Sha256 => aws_lc_rs::hmac::HMAC_SHA256,
            HashAlg::Sha384 => aws_lc_rs::hmac::HMAC_SHA384,
            HashAlg::Sha512 => aws_lc_rs::hmac::HMAC_SHA512,
        }
    }
}

/// A NIST prime curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Every curve the engine offers.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// Length in bytes of a field element / scalar (and of each half of a fixed-size
    /// `r || s` signature).
    pub const fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Length in bytes of an uncompressed SEC1 point (`04 || X || Y`).
    pub const fn point_len(self) -> usize {
        1 + 2 * self.scalar_len()
    }

    pub(crate) fn agreement_algorithm(self) -> &'static aws_lc_rs::agreement::Algorithm {
        match self {
            Curve::P256 => &aws_lc_rs::agreement::ECDH_P256,
            Curve::P384 => &aws_lc_rs::agreement::ECDH_P384,
            Curve::P521 => &aws_lc_rs::agreement::ECDH_P521,
        }
    }
}

/// An RSA modulus size the engine generates and accepts for private keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RsaBits {
    /// 2048-bit modulus.
    Rsa2048,
    /// 3072-bit modulus.
    Rsa3072,
    /// 4096-bit modulus.
    Rsa4096,
}

impl RsaBits {
    /// Every size the engine offers.
    pub const ALL: [RsaBits; 3] = [RsaBits::Rsa2048, RsaBits::Rsa3072, RsaBits::Rsa4096];

    /// The modulus size in bits.
    pub const fn bits(self) -> usize {
        match self {
            RsaBits::Rsa2048 => 2048,
            RsaBits::Rsa3072 => 3072,
            RsaBits::Rsa4096 => 4096,
        }
    }

    /// Maps a modulus size in bits onto a supported size.
    pub fn from_bits(bits: usize) -> Option<Self> {
        RsaBits::ALL.into_iter().find(|b| b.bits() == bits)
    }
}

/// An AES key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AesBits {
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
}

impl AesBits {
    /// Every AES key size.
    pub const ALL: [AesBits; 3] = [AesBits::Aes128, AesBits::Aes192, AesBits::Aes256];

    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            AesBits::Aes128 => 16,
            AesBits::Aes192 => 24,
            AesBits::Aes256 => 32,
        }
    }

    /// Maps a key length in bytes onto a key size.
    pub fn from_key_len(len: usize) -> Option<Self> {
        AesBits::ALL.into_iter().find(|b| b.key_len() == len)
    }
}
