//! What `GenerateKey` and `GenerateKeyPair` make: key sizes and the tagged key specs.

use crate::codec::{Reader, Wire, Writer};
use crate::{BoundedU32, Curve, DecodeError};

/// A generic secret's length in bytes: `14..=128`.
pub type GenericSecretLen = BoundedU32<14, 128>;

wire_enum! {
    /// An AES key size; the wire value is the size in bits.
    pub enum AesKeySize: u16 {
        /// 128 bits.
        Aes128 = 128,
        /// 192 bits.
        Aes192 = 192,
        /// 256 bits.
        Aes256 = 256,
    }
}

wire_enum! {
    /// An RSA modulus size; the wire value is the size in bits. The public exponent is 65537.
    pub enum RsaKeySize: u16 {
        /// 2048 bits.
        Rsa2048 = 2048,
        /// 3072 bits.
        Rsa3072 = 3072,
        /// 4096 bits.
        Rsa4096 = 4096,
    }
}

/// The secret key `GenerateKey` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    /// An AES key of the given size.
    Aes(AesKeySize),
    /// An AES-XTS key (512 bits: two AES-256 keys).
    AesXts,
    /// A generic secret of the given length in bytes.
    GenericSecret(GenericSecretLen),
}

wire_enum! {
    /// Key 0 of a [`KeySpec`] map.
    pub(crate) enum KeySpecKind: u8 {
        /// [`KeySpec::Aes`]; key 1: the size.
        Aes = 1,
        /// [`KeySpec::AesXts`]; no other key.
        AesXts = 2,
        /// [`KeySpec::GenericSecret`]; key 1: the length.
        GenericSecret = 3,
    }
}

impl Wire for KeySpec {
    const MIN_LEN: usize = 3;

    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Aes(size) => encode_tagged(w, KeySpecKind::Aes, Some(size)),
            Self::AesXts => encode_tagged::<u32>(w, KeySpecKind::AesXts, None),
            Self::GenericSecret(len) => encode_tagged(w, KeySpecKind::GenericSecret, Some(len)),
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let spec = match map.tag(r)? {
            KeySpecKind::Aes => {
                map.expect_key(r, 1)?;
                Self::Aes(AesKeySize::decode(r)?)
            }
            KeySpecKind::AesXts => Self::AesXts,
            KeySpecKind::GenericSecret => {
                map.expect_key(r, 1)?;
                Self::GenericSecret(GenericSecretLen::decode(r)?)
            }
        };
        map.end(r)?;
        Ok(spec)
    }
}

/// The key pair `GenerateKeyPair` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPairSpec {
    /// An elliptic-curve key pair on the given curve.
    Ec(Curve),
    /// An RSA key pair of the given size, public exponent 65537.
    Rsa(RsaKeySize),
}

wire_enum! {
    /// Key 0 of a [`KeyPairSpec`] map.
    pub(crate) enum KeyPairSpecKind: u8 {
        /// [`KeyPairSpec::Ec`]; key 1: the curve.
        Ec = 1,
        /// [`KeyPairSpec::Rsa`]; key 1: the size.
        Rsa = 2,
    }
}

impl Wire for KeyPairSpec {
    const MIN_LEN: usize = 5;

    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Ec(curve) => encode_tagged(w, KeyPairSpecKind::Ec, Some(curve)),
            Self::Rsa(size) => encode_tagged(w, KeyPairSpecKind::Rsa, Some(size)),
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let kind = map.tag(r)?;
        map.expect_key(r, 1)?;
        let spec = match kind {
            KeyPairSpecKind::Ec => Self::Ec(Curve::decode(r)?),
            KeyPairSpecKind::Rsa => Self::Rsa(RsaKeySize::decode(r)?),
        };
        map.end(r)?;
        Ok(spec)
    }
}

/// Writes a tagged map: key 0 = `tag`, then key 1 = `value` if any.
pub(crate) fn encode_tagged<V: Wire>(w: &mut Writer, tag: impl Wire, value: Option<&V>) {
    w.map(1 + u64::from(value.is_some()));
    w.uint(0);
    tag.encode(w);
    if let Some(value) = value {
        w.uint(1);
        value.encode(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    use crate::codec::decode_one as decode;

    #[test]
    fn key_specs_are_tagged_maps() {
        assert_eq!(decode::<KeySpec>(&[0xa1, 0, 2]), Ok(KeySpec::AesXts));
        assert_eq!(
            decode::<KeySpec>(&[0xa2, 0, 1, 1, 0x18, 0x80]),
            Ok(KeySpec::Aes(AesKeySize::Aes128))
        );
        assert_eq!(
            decode::<KeySpec>(&[0xa2, 0, 1, 1, 0x18, 0x81]),
            Err(Status::UnknownEnumValue)
        );
        assert_eq!(decode::<KeySpec>(&[0xa1, 0, 1]), Err(Status::MissingField));
        assert_eq!(
            decode::<KeySpec>(&[0xa2, 0, 2, 1, 0]),
            Err(Status::UnknownField)
        );
        assert_eq!(
            decode::<KeySpec>(&[0xa2, 1, 0, 0, 2]),
            Err(Status::MissingField)
        );
        assert_eq!(
            decode::<KeyPairSpec>(&[0xa2, 0, 1, 1, 2]),
            Ok(KeyPairSpec::Ec(Curve::P384))
        );
    }
}
