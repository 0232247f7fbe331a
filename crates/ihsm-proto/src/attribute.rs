//! Object attributes: a typed value per attribute type, and templates of them.
//!
//! An attribute is a tagged map `{0: type, 1: value}`; key 0 comes first, and the value's CBOR
//! type is fixed by the attribute type (a value of another type is
//! [`Status::WrongType`](crate::Status::WrongType)). A template names each attribute type at
//! most once (a repeated type is [`Status::DuplicateField`](crate::Status::DuplicateField)),
//! and so does the list of types `GetAttributes` reads.

use core::fmt;
use core::ops::Deref;

use zeroize::Zeroizing;

use crate::bounded::decode_items;
use crate::codec::{Reader, Wire, Writer};
use crate::{
    BoundsError, Bytes, CertificateType, Curve, DecodeError, EcPoint, KeyType, MechanismId,
    ObjectClass, SecretBytes, Status, Text, MAX_DATA_LEN, MAX_PUBLIC_KEY_LEN,
};

/// The most attributes in a template: 64.
pub const MAX_TEMPLATE_LEN: usize = 64;
/// The bound of short attribute values (label, id, application, object identifier): 256
/// bytes.
pub const MAX_ATTRIBUTE_TEXT_LEN: usize = 256;
/// The bound of DER names (subject, issuer): 1024 bytes.
pub const MAX_NAME_DER_LEN: usize = 1024;

/// A set of attributes, each of a different type: what to create, change or match.
pub type Template = AttributeList<Attribute>;

/// Attribute types to read, each at most once; the readings come back in this order.
pub type AttributeTypes = AttributeList<AttributeType>;

/// At most [`MAX_TEMPLATE_LEN`] items, no two of the same attribute type: a [`Template`] or
/// an [`AttributeTypes`]. A repeated type would leave the device to choose which one counts,
/// so it is refused, on the wire with [`Status::DuplicateField`].
#[derive(Clone, PartialEq, Eq)]
pub struct AttributeList<T>(Vec<T>);

impl AttributeList<Attribute> {
    /// Takes `attributes` if there are at most [`MAX_TEMPLATE_LEN`], of distinct types.
    pub fn new(attributes: impl Into<Vec<Attribute>>) -> Result<Self, BoundsError> {
        distinct(attributes.into(), Attribute::attribute_type).map(Self)
    }

    /// The template's CBOR encoding, exactly as on the wire: for the device to store a
    /// template or bind one into a seal as associated data.
    #[must_use]
    pub fn to_cbor(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::with_reserved(0);
        self.encode(&mut w);
        w.into_bytes()
    }

    /// Decodes what [`AttributeList::to_cbor`] made, as strictly as the wire: one template,
    /// nothing after it.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let template = Self::decode(&mut r)?;
        r.finish()?;
        Ok(template)
    }
}

impl AttributeList<AttributeType> {
    /// Takes `types` if there are at most [`MAX_TEMPLATE_LEN`], none twice.
    pub fn new(types: impl Into<Vec<AttributeType>>) -> Result<Self, BoundsError> {
        distinct(types.into(), |ty| *ty).map(Self)
    }
}

impl<T> AttributeList<T> {
    /// The items.
    #[must_use]
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> Default for AttributeList<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> Deref for AttributeList<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for AttributeList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl Wire for AttributeList<Attribute> {
    fn encode(&self, w: &mut Writer) {
        encode_items(&self.0, w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_distinct(r, Attribute::attribute_type).map(Self)
    }
}

impl Wire for AttributeList<AttributeType> {
    fn encode(&self, w: &mut Writer) {
        encode_items(&self.0, w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_distinct(r, |ty| *ty).map(Self)
    }
}

/// Defines [`AttributeType`], [`Attribute`] and the mapping between them from one table.
macro_rules! attributes {
    ( $( $(#[$doc:meta])* $variant:ident = $value:literal: $ty:ty, )+ ) => {
        wire_enum! {
            /// An attribute type. Grouped by the high byte: `0x00` every object, `0x01` keys,
            /// `0x02` RSA keys, `0x03` EC keys, `0x04` certificates.
            pub enum AttributeType: u16 {
                $( $(#[$doc])* $variant = $value, )+
            }
        }

        /// An attribute with its value.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Attribute {
            $( $(#[$doc])* $variant($ty), )+
        }

        impl Attribute {
            /// The attribute's type.
            #[must_use]
            pub fn attribute_type(&self) -> AttributeType {
                match self {
                    $( Self::$variant(_) => AttributeType::$variant, )+
                }
            }

            fn encode_value(&self, w: &mut Writer) {
                match self {
                    $( Self::$variant(value) => value.encode(w), )+
                }
            }

            fn decode_value(ty: AttributeType, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match ty {
                    $( AttributeType::$variant => <$ty>::decode(r).map(Self::$variant), )+
                }
            }
        }
    };
}

attributes! {
    /// The object's class (enum [`ObjectClass`]).
    Class = 0x0001: ObjectClass,
    /// Whether the object persists (true) or dies with its session (false).
    Token = 0x0002: bool,
    /// Whether the object is visible only to a logged-in user.
    Private = 0x0003: bool,
    /// A label (UTF-8, at most 256 bytes).
    Label = 0x0004: Text<MAX_ATTRIBUTE_TEXT_LEN>,
    /// Whether the object's attributes may be changed.
    Modifiable = 0x0005: bool,
    /// Whether the object may be copied.
    Copyable = 0x0006: bool,
    /// Whether the object may be destroyed.
    Destroyable = 0x0007: bool,
    /// A data object's application (UTF-8, at most 256 bytes).
    Application = 0x0008: Text<MAX_ATTRIBUTE_TEXT_LEN>,
    /// The object's value: a secret key's bytes, a certificate's DER, a data object's
    /// bytes. Secret-bearing: zeroized on drop, redacted in `Debug`.
    Value = 0x0009: SecretBytes<MAX_DATA_LEN>,
    /// A data object's object identifier (DER, at most 256 bytes).
    ObjectIdentifier = 0x000A: Bytes<MAX_ATTRIBUTE_TEXT_LEN>,
    /// The key's type (enum [`KeyType`]).
    KeyType = 0x0101: KeyType,
    /// A key identifier (at most 256 bytes), shared by the keys of a pair.
    Id = 0x0102: Bytes<MAX_ATTRIBUTE_TEXT_LEN>,
    /// Whether the key was generated in the module (read-only).
    Local = 0x0103: bool,
    /// The mechanism that generated the key (read-only).
    KeyGenMechanism = 0x0104: MechanismId,
    /// Whether the key may derive other keys.
    Derive = 0x0105: bool,
    /// Whether the key's secret value may never be revealed.
    Sensitive = 0x0106: bool,
    /// Whether the key may be wrapped out of the module.
    Extractable = 0x0107: bool,
    /// Whether the key has always been sensitive (read-only).
    AlwaysSensitive = 0x0108: bool,
    /// Whether the key has never been extractable (read-only).
    NeverExtractable = 0x0109: bool,
    /// Whether the key may encrypt.
    Encrypt = 0x010A: bool,
    /// Whether the key may decrypt.
    Decrypt = 0x010B: bool,
    /// Whether the key may sign (or compute MACs).
    Sign = 0x010C: bool,
    /// Whether the key may verify (or check MACs).
    Verify = 0x010D: bool,
    /// Whether the key may wrap other keys.
    Wrap = 0x010E: bool,
    /// Whether the key may unwrap other keys.
    Unwrap = 0x010F: bool,
    /// A secret key's length in bytes.
    ValueLen = 0x0110: u32,
    /// The public key's DER SubjectPublicKeyInfo (at most 2048 bytes).
    PublicKeyInfo = 0x0111: Bytes<MAX_PUBLIC_KEY_LEN>,
    /// An RSA key's modulus length in bits.
    ModulusBits = 0x0201: u32,
    /// An RSA key's modulus, big-endian (at most 512 bytes).
    Modulus = 0x0202: Bytes<512>,
    /// An RSA key's public exponent, big-endian (at most 16 bytes).
    PublicExponent = 0x0203: Bytes<16>,
    /// An EC key's curve (enum [`Curve`]).
    EcCurve = 0x0301: Curve,
    /// An EC public key's point, SEC1 uncompressed (not DER-wrapped).
    EcPoint = 0x0302: EcPoint,
    /// A certificate's type (enum [`CertificateType`]).
    CertificateType = 0x0401: CertificateType,
    /// The DER subject name (of a certificate, or of a key's certificate).
    Subject = 0x0402: Bytes<MAX_NAME_DER_LEN>,
    /// A certificate's DER issuer name.
    Issuer = 0x0403: Bytes<MAX_NAME_DER_LEN>,
    /// A certificate's DER serial number (at most 64 bytes).
    SerialNumber = 0x0404: Bytes<64>,
}

impl Wire for Attribute {
    const MIN_LEN: usize = 5;

    fn encode(&self, w: &mut Writer) {
        w.map(2);
        w.uint(0);
        self.attribute_type().encode(w);
        w.uint(1);
        self.encode_value(w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let ty = map.tag(r)?;
        map.expect_key(r, 1)?;
        let attribute = Self::decode_value(ty, r)?;
        map.end(r)?;
        Ok(attribute)
    }
}

/// One answer of `GetAttributes`: the value, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeReading {
    /// The attribute's value.
    Value(Attribute),
    /// The attribute exists but may not be revealed (a sensitive key's value).
    Sensitive(AttributeType),
    /// The attribute does not apply to the object.
    Invalid(AttributeType),
}

impl AttributeReading {
    /// The attribute type asked for.
    #[must_use]
    pub fn attribute_type(&self) -> AttributeType {
        match self {
            Self::Value(attribute) => attribute.attribute_type(),
            Self::Sensitive(ty) | Self::Invalid(ty) => *ty,
        }
    }
}

wire_enum! {
    /// Key 2 of an [`AttributeReading`] map: why the value is absent.
    pub(crate) enum Unavailable: u8 {
        /// [`AttributeReading::Sensitive`].
        Sensitive = 1,
        /// [`AttributeReading::Invalid`].
        Invalid = 2,
    }
}

/// `{0: type, 1: value}` for a value, `{0: type, 2: reason}` otherwise; never both.
impl Wire for AttributeReading {
    const MIN_LEN: usize = 5;

    fn encode(&self, w: &mut Writer) {
        let (ty, reason) = match self {
            Self::Value(attribute) => return attribute.encode(w),
            Self::Sensitive(ty) => (ty, Unavailable::Sensitive),
            Self::Invalid(ty) => (ty, Unavailable::Invalid),
        };
        w.map(2);
        w.uint(0);
        ty.encode(w);
        w.uint(2);
        reason.encode(w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut map = r.map()?;
        let ty = map.tag(r)?;
        let reading = match map.next(r, 1 << 1 | 1 << 2)? {
            Some(1) => Self::Value(Attribute::decode_value(ty, r)?),
            Some(_) => match Unavailable::decode(r)? {
                Unavailable::Sensitive => Self::Sensitive(ty),
                Unavailable::Invalid => Self::Invalid(ty),
            },
            None => return Err(r.error(Status::MissingField)),
        };
        map.end(r)?;
        Ok(reading)
    }
}

/// `items` if there are at most [`MAX_TEMPLATE_LEN`] and `ty` gives each a different type.
fn distinct<T>(items: Vec<T>, ty: impl Fn(&T) -> AttributeType) -> Result<Vec<T>, BoundsError> {
    let repeats = items
        .iter()
        .enumerate()
        .any(|(i, item)| items.iter().take(i).any(|seen| ty(seen) == ty(item)));
    if items.len() <= MAX_TEMPLATE_LEN && !repeats {
        Ok(items)
    } else {
        Err(BoundsError)
    }
}

fn encode_items<T: Wire>(items: &[T], w: &mut Writer) {
    w.array(items.len());
    for item in items {
        item.encode(w);
    }
}

/// Reads at most [`MAX_TEMPLATE_LEN`] items, refusing the first whose type repeats an
/// earlier one with [`Status::DuplicateField`] (at most 64 × 63 / 2 comparisons).
fn decode_distinct<T: Wire>(
    r: &mut Reader<'_>,
    ty: impl Fn(&T) -> AttributeType,
) -> Result<Vec<T>, DecodeError> {
    decode_items(r, MAX_TEMPLATE_LEN, |seen: &[T], item: &T| {
        if seen.iter().any(|earlier| ty(earlier) == ty(item)) {
            Err(Status::DuplicateField)
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::codec::decode_one as decode;

    #[test]
    fn templates_round_trip_through_cbor_strictly() {
        let template = Template::new([Attribute::Token(true), Attribute::Sign(false)]).unwrap();
        let bytes = template.to_cbor();
        assert_eq!(
            &bytes[..],
            [0x82, 0xa2, 0, 2, 1, 0xf5, 0xa2, 0, 0x19, 1, 0x0c, 1, 0xf4]
        );
        assert_eq!(Template::from_cbor(&bytes), Ok(template));
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert_eq!(
            Template::from_cbor(&trailing).map_err(|e| e.status()),
            Err(Status::TrailingBytes)
        );
    }

    #[test]
    fn values_have_the_type_of_their_attribute() {
        // {0: Token, 1: true}
        assert_eq!(
            decode::<Attribute>(&[0xa2, 0, 2, 1, 0xf5]),
            Ok(Attribute::Token(true))
        );
        // {0: Token, 1: 1}
        assert_eq!(
            decode::<Attribute>(&[0xa2, 0, 2, 1, 1]),
            Err(Status::WrongType)
        );
        // {0: Token}
        assert_eq!(
            decode::<Attribute>(&[0xa1, 0, 2]),
            Err(Status::MissingField)
        );
        // {1: true, 0: Token}: the type must come first.
        assert_eq!(
            decode::<Attribute>(&[0xa2, 1, 0xf5, 0, 2]),
            Err(Status::MissingField)
        );
        // {0: 0x7777, 1: true}
        assert_eq!(
            decode::<Attribute>(&[0xa2, 0, 0x19, 0x77, 0x77, 1, 0xf5]),
            Err(Status::UnknownEnumValue)
        );
        // {0: Token, 1: true, 2: 0}
        assert_eq!(
            decode::<Attribute>(&[0xa3, 0, 2, 1, 0xf5, 2, 0]),
            Err(Status::UnknownField)
        );
    }

    #[test]
    fn readings_carry_a_value_or_a_reason() {
        assert_eq!(
            decode::<AttributeReading>(&[0xa2, 0, 9, 2, 1]),
            Ok(AttributeReading::Sensitive(AttributeType::Value))
        );
        assert_eq!(
            decode::<AttributeReading>(&[0xa2, 0, 9, 2, 2]),
            Ok(AttributeReading::Invalid(AttributeType::Value))
        );
        assert_eq!(
            decode::<AttributeReading>(&[0xa2, 0, 9, 2, 3]),
            Err(Status::UnknownEnumValue)
        );
        assert_eq!(
            decode::<AttributeReading>(&[0xa1, 0, 9]),
            Err(Status::MissingField)
        );
        assert_eq!(
            decode::<AttributeReading>(&[0xa3, 0, 2, 1, 0xf5, 2, 1]),
            Err(Status::UnknownField)
        );
    }

    #[test]
    fn attribute_types_appear_at_most_once() {
        // [{0: Token, 1: true}, {0: Private, 1: false}]
        let two = [0x82, 0xa2, 0, 2, 1, 0xf5, 0xa2, 0, 3, 1, 0xf4];
        assert_eq!(
            decode::<Template>(&two).map(AttributeList::into_vec),
            Ok(vec![Attribute::Token(true), Attribute::Private(false)])
        );
        // [{0: Token, 1: true}, {0: Token, 1: false}]: the same type, even with another value.
        let twice = [0x82, 0xa2, 0, 2, 1, 0xf5, 0xa2, 0, 2, 1, 0xf4];
        assert_eq!(decode::<Template>(&twice), Err(Status::DuplicateField));
        // The repeated item is refused as soon as it is read, before a later fault.
        let then_malformed = [0x83, 0xa2, 0, 2, 1, 0xf5, 0xa2, 0, 2, 1, 0xf4, 0xff];
        assert_eq!(
            decode::<Template>(&then_malformed),
            Err(Status::DuplicateField)
        );
        assert_eq!(
            decode::<AttributeTypes>(&[0x82, 0x09, 0x19, 0x01, 0x06]).map(AttributeList::into_vec),
            Ok(vec![AttributeType::Value, AttributeType::Sensitive])
        );
        assert_eq!(
            decode::<AttributeTypes>(&[0x83, 0x09, 0x02, 0x09]),
            Err(Status::DuplicateField)
        );
        assert_eq!(
            Template::new(vec![Attribute::Token(true), Attribute::Token(true)]),
            Err(BoundsError)
        );
        assert_eq!(
            AttributeTypes::new(vec![AttributeType::Label; 2]),
            Err(BoundsError)
        );
        assert_eq!(
            AttributeTypes::new(vec![AttributeType::Label, AttributeType::Id]).map(|t| t.len()),
            Ok(2)
        );
    }
}
