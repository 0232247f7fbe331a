//! The attribute rules: which attributes apply to which objects, their defaults, what the
//! device sets, and how they may change (PKCS#11's rules: sensitive and non-extractable are
//! one-way, a key's intrinsic attributes never change).

use std::collections::BTreeMap;

use ihsm_crypto::Curve as EngineCurve;
use ihsm_proto::{
    Attribute, AttributeType as T, Bytes, Curve, KeyType, MechanismId, ObjectClass, Status, Text,
};

use super::{KeyMaterial, Object, Purpose};
use crate::fault::Fault;
use crate::record::KeyFlags;

/// Attributes only the device sets: a template that names one is `AttributeReadOnly`.
pub(crate) const DEVICE_SET: &[T] = &[
    T::Local,
    T::KeyGenMechanism,
    T::AlwaysSensitive,
    T::NeverExtractable,
];

/// How a key came to be, which decides the attributes the device sets.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    /// Generated in the module by this mechanism.
    Generated(MechanismId),
    /// Derived from a base key with these flags.
    Derived {
        always_sensitive: bool,
        never_extractable: bool,
    },
    /// Entered from outside: unwrapped, imported, or (test hooks) given in plaintext.
    Entered,
    /// Not a key (data object, certificate).
    NotAKey,
}

const COMMON: &[T] = &[
    T::Class,
    T::Token,
    T::Private,
    T::Label,
    T::Modifiable,
    T::Copyable,
    T::Destroyable,
];
const KEY_COMMON: &[T] = &[T::KeyType, T::Id, T::Local, T::KeyGenMechanism, T::Derive];
const SECRET_ONLY: &[T] = &[
    T::Sensitive,
    T::Extractable,
    T::AlwaysSensitive,
    T::NeverExtractable,
    T::Encrypt,
    T::Decrypt,
    T::Sign,
    T::Verify,
    T::Wrap,
    T::Unwrap,
    T::ValueLen,
];
const PRIVATE_ONLY: &[T] = &[
    T::Sensitive,
    T::Extractable,
    T::AlwaysSensitive,
    T::NeverExtractable,
    T::Decrypt,
    T::Sign,
    T::Unwrap,
    T::Subject,
    T::PublicKeyInfo,
];
const PUBLIC_ONLY: &[T] = &[T::Encrypt, T::Verify, T::Wrap, T::Subject, T::PublicKeyInfo];
const RSA: &[T] = &[T::ModulusBits, T::Modulus, T::PublicExponent];
const EC: &[T] = &[T::EcCurve, T::EcPoint];
const DATA: &[T] = &[T::Application, T::ObjectIdentifier, T::Value];
const CERTIFICATE: &[T] = &[
    T::CertificateType,
    T::Subject,
    T::Issuer,
    T::SerialNumber,
    T::Value,
    T::Id,
];

/// Whether attribute `ty` applies to an object of `class` (and `key_type`, for keys). A
/// key's `Value` is not listed: it is never an attribute the device keeps or reveals.
pub(crate) fn applies(class: ObjectClass, key_type: Option<KeyType>, ty: T) -> bool {
    let lists: &[&[T]] = match (class, key_type) {
        (ObjectClass::Data, _) => &[COMMON, DATA],
        (ObjectClass::Certificate, _) => &[COMMON, CERTIFICATE],
        (ObjectClass::SecretKey, _) => &[COMMON, KEY_COMMON, SECRET_ONLY],
        (ObjectClass::PrivateKey, Some(KeyType::Rsa)) => &[COMMON, KEY_COMMON, PRIVATE_ONLY, RSA],
        (ObjectClass::PrivateKey, _) => &[COMMON, KEY_COMMON, PRIVATE_ONLY, EC],
        (ObjectClass::PublicKey, Some(KeyType::Rsa)) => &[COMMON, KEY_COMMON, PUBLIC_ONLY, RSA],
        (ObjectClass::PublicKey, _) => &[COMMON, KEY_COMMON, PUBLIC_ONLY, EC],
    };
    lists.iter().any(|list| list.contains(&ty))
}

/// The attributes an object has when its template is silent.
pub(crate) fn defaults_for(class: ObjectClass, key_type: Option<KeyType>) -> Vec<Attribute> {
    let secret_or_private = matches!(class, ObjectClass::SecretKey | ObjectClass::PrivateKey);
    let mut attributes = vec![
        Attribute::Token(false),
        Attribute::Private(secret_or_private),
        Attribute::Modifiable(true),
        Attribute::Copyable(true),
        Attribute::Destroyable(true),
        Attribute::Label(empty_text()),
    ];
    let usage = |encrypt, decrypt, sign, verify| {
        [
            Attribute::Encrypt(encrypt),
            Attribute::Decrypt(decrypt),
            Attribute::Sign(sign),
            Attribute::Verify(verify),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
        ]
    };
    let mut keep_applicable = |list: &[Attribute]| {
        attributes.extend(
            list.iter()
                .filter(|a| applies(class, key_type, a.attribute_type()))
                .cloned(),
        );
    };
    match class {
        ObjectClass::Data | ObjectClass::Certificate => {}
        _ => keep_applicable(&[
            Attribute::Id(empty_bytes()),
            Attribute::Derive(false),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ]),
    }
    match (class, key_type) {
        (ObjectClass::SecretKey, Some(KeyType::GenericSecret)) => {
            keep_applicable(&usage(false, false, true, true));
        }
        (ObjectClass::SecretKey, _) => keep_applicable(&usage(true, true, false, false)),
        (ObjectClass::PrivateKey, Some(KeyType::Rsa)) => {
            keep_applicable(&usage(false, true, true, false));
        }
        (ObjectClass::PrivateKey, _) => keep_applicable(&usage(false, false, true, false)),
        (ObjectClass::PublicKey, Some(KeyType::Rsa)) => {
            keep_applicable(&usage(true, false, false, true));
        }
        (ObjectClass::PublicKey, _) => keep_applicable(&usage(false, false, false, true)),
        _ => {}
    }
    if class == ObjectClass::Data {
        attributes.push(Attribute::Application(empty_text()));
    }
    attributes
}

/// What a key's material fixes: its class and type, sizes, curve, point, modulus, public
/// key. A template may repeat these only with the same value.
pub(crate) fn intrinsic(material: &KeyMaterial) -> Result<Vec<Attribute>, Fault> {
    let mut attributes = vec![
        Attribute::Class(material.class()),
        Attribute::KeyType(material.key_type()),
    ];
    let internal = |_: ihsm_proto::BoundsError| Fault::Status(Status::Internal);
    match material {
        KeyMaterial::Aes(key) => attributes.push(value_len(key.expose().len())),
        KeyMaterial::Xts(key) => attributes.push(value_len(key.expose().len())),
        KeyMaterial::Generic(key) => attributes.push(value_len(key.len())),
        KeyMaterial::EcPrivate(key) => {
            attributes.push(Attribute::EcCurve(wire_curve(key.curve())));
            attributes.push(Attribute::EcPoint(
                Bytes::new(key.public_point()).map_err(internal)?,
            ));
            let spki = key.public_key()?.spki();
            attributes.push(Attribute::PublicKeyInfo(
                Bytes::new(spki).map_err(internal)?,
            ));
        }
        KeyMaterial::EcPublic(key) => {
            attributes.push(Attribute::EcCurve(wire_curve(key.curve())));
            attributes.push(Attribute::EcPoint(
                Bytes::new(key.point()).map_err(internal)?,
            ));
            attributes.push(Attribute::PublicKeyInfo(
                Bytes::new(key.spki()).map_err(internal)?,
            ));
        }
        KeyMaterial::RsaPrivate(key) => rsa_attributes(key.public_key(), &mut attributes)?,
        KeyMaterial::RsaPublic(key) => rsa_attributes(key, &mut attributes)?,
    }
    Ok(attributes)
}

fn rsa_attributes(
    key: &ihsm_crypto::RsaPublicKey,
    attributes: &mut Vec<Attribute>,
) -> Result<(), Fault> {
    let internal = |_: ihsm_proto::BoundsError| Fault::Status(Status::Internal);
    let (modulus, exponent) = key.components()?;
    let bits = u32::try_from(key.bits().bits()).map_err(|_| Status::Internal)?;
    attributes.push(Attribute::ModulusBits(bits));
    attributes.push(Attribute::Modulus(Bytes::new(modulus).map_err(internal)?));
    attributes.push(Attribute::PublicExponent(
        Bytes::new(exponent).map_err(internal)?,
    ));
    attributes.push(Attribute::PublicKeyInfo(
        Bytes::new(key.spki()).map_err(internal)?,
    ));
    Ok(())
}

/// The purpose templates ask of a new key (both halves' templates for a key pair): key
/// transport if one turns `Wrap` or `Unwrap` on, data otherwise. [`build`] refuses a
/// template that also turns `Encrypt` or `Decrypt` on.
pub(crate) fn purpose_of(templates: &[&[Attribute]]) -> Purpose {
    let transport = templates
        .iter()
        .flat_map(|template| template.iter())
        .any(|a| matches!(a, Attribute::Wrap(true) | Attribute::Unwrap(true)));
    if transport {
        Purpose::Transport
    } else {
        Purpose::Data
    }
}

/// Builds a new object's attributes: the defaults, then the template, then what the key's
/// material, flags and origin fix (`key`: `None` for an object that is not a key).
/// `template` must not carry a key's `Value` (the caller takes it out first).
pub(crate) fn build(
    class: ObjectClass,
    key_type: Option<KeyType>,
    template: &[Attribute],
    intrinsic: Vec<Attribute>,
    origin: Origin,
    key: Option<KeyFlags>,
) -> Result<BTreeMap<T, Attribute>, Fault> {
    for attribute in template {
        let ty = attribute.attribute_type();
        if !applies(class, key_type, ty) {
            return Err(Status::AttributeTypeInvalid.into());
        }
        if DEVICE_SET.contains(&ty) {
            return Err(Status::AttributeReadOnly.into());
        }
    }
    let mut attributes: BTreeMap<T, Attribute> = defaults_for(class, key_type)
        .into_iter()
        .map(|a| (a.attribute_type(), a))
        .collect();
    for attribute in template {
        attributes.insert(attribute.attribute_type(), attribute.clone());
    }
    for fixed in intrinsic {
        let ty = fixed.attribute_type();
        if template
            .iter()
            .any(|a| a.attribute_type() == ty && *a != fixed)
        {
            return Err(Status::TemplateInconsistent.into());
        }
        attributes.insert(ty, fixed);
    }
    if let Some(flags) = key {
        // A template may not turn on what the key's flags keep off.
        for ty in kept_off(flags) {
            if template
                .iter()
                .any(|a| a.attribute_type() == *ty && *a != flag(*ty, false))
            {
                return Err(Status::TemplateInconsistent.into());
            }
        }
        restrain(&mut attributes, flags);
    }
    let is_key = !matches!(class, ObjectClass::Data | ObjectClass::Certificate);
    if is_key {
        let generated = matches!(origin, Origin::Generated(_));
        attributes.insert(T::Local, Attribute::Local(generated));
        if let Origin::Generated(mechanism) = origin {
            attributes.insert(T::KeyGenMechanism, Attribute::KeyGenMechanism(mechanism));
        }
    }
    if matches!(class, ObjectClass::SecretKey | ObjectClass::PrivateKey) {
        let sensitive = attributes.get(&T::Sensitive) == Some(&Attribute::Sensitive(true));
        let extractable = attributes.get(&T::Extractable) == Some(&Attribute::Extractable(true));
        let (always, never) = match origin {
            Origin::Generated(_) => (sensitive, !extractable),
            Origin::Derived {
                always_sensitive,
                never_extractable,
            } => (
                always_sensitive && sensitive,
                never_extractable && !extractable,
            ),
            Origin::Entered | Origin::NotAKey => (false, false),
        };
        attributes.insert(T::AlwaysSensitive, Attribute::AlwaysSensitive(always));
        attributes.insert(T::NeverExtractable, Attribute::NeverExtractable(never));
    }
    Ok(attributes)
}

/// The attributes of `object` after `changes` (`SetAttributes`, or the template of
/// `CopyObject` when `copying`). The rules, per attribute:
///
/// - label, id, application, object identifier, a key's subject, a data object's value, and
///   the usage flags: any value, except that a KDF-input-only key keeps every usage but
///   `Derive` off, and a key keeps the usages of the other [`Purpose`] off;
/// - `Sensitive` only to true, `Extractable` only to false (one-way, as PKCS#11);
/// - `Copyable` and `Destroyable` only to false; `Modifiable` only to false, and only in a copy;
/// - `Token` and `Private`: any value in a copy, never by `SetAttributes`;
/// - everything else (class, type, sizes, public values, what the device set): read-only.
///
/// A copy of an object whose `Modifiable` is false may change only `Token` and `Private`, and
/// tighten (`Sensitive` on; `Extractable`, `Copyable`, `Destroyable`, `Modifiable` off).
///
/// Writing an attribute's current value is always allowed.
pub(crate) fn apply_changes(
    object: &Object,
    changes: &[Attribute],
    copying: bool,
) -> Result<BTreeMap<T, Attribute>, Fault> {
    let modifiable = object.flag(T::Modifiable);
    if !copying && !modifiable {
        return Err(Status::ActionProhibited.into());
    }
    let kdf_input_only = object.key.as_ref().is_some_and(|k| k.kdf_input_only);
    let off = object.key.as_ref().map_or(&[][..], |k| off_for(k.purpose));
    let mut attributes = object.attributes.clone();
    for change in changes {
        let ty = change.attribute_type();
        if !applies(object.class, object.key_type(), ty) {
            return Err(Status::AttributeTypeInvalid.into());
        }
        if object.attribute(ty) == Some(change) {
            continue;
        }
        let tightens = matches!(
            change,
            Attribute::Sensitive(true)
                | Attribute::Extractable(false)
                | Attribute::Copyable(false)
                | Attribute::Destroyable(false)
                | Attribute::Modifiable(false)
        );
        let allowed = match (ty, change) {
            (T::Token | T::Private, _) => copying,
            (T::Modifiable, Attribute::Modifiable(false)) => copying,
            _ if tightens => true,
            // A read-only object's copy changes nothing else.
            _ if !modifiable => false,
            (T::Label | T::Id | T::Application | T::ObjectIdentifier, _) => true,
            (T::Subject, _) => object.class != ObjectClass::Certificate,
            (T::Value, _) => object.class == ObjectClass::Data,
            (T::Derive, _) => !kdf_input_only,
            // The usages of the other purpose are always off, so a change here turns one on.
            (T::Encrypt | T::Decrypt | T::Sign | T::Verify | T::Wrap | T::Unwrap, _) => {
                !kdf_input_only && !off.contains(&ty)
            }
            _ => false,
        };
        if !allowed {
            return Err(Status::AttributeReadOnly.into());
        }
        attributes.insert(ty, change.clone());
    }
    Ok(attributes)
}

/// Brings a key object's attributes in line with what its key was fixed to: the usages of
/// the other purpose off; for the raw output of ECDH (SP 800-56C: KDF input only) every
/// usage but `Derive` off, sensitive, and never extractable. Applied to new objects and to
/// objects restored from blobs alike.
pub(crate) fn restrain(attributes: &mut BTreeMap<T, Attribute>, flags: KeyFlags) {
    for ty in kept_off(flags) {
        if attributes.contains_key(ty) {
            attributes.insert(*ty, flag(*ty, false));
        }
    }
    if flags.kdf_input_only {
        attributes.insert(T::Derive, Attribute::Derive(true));
        attributes.insert(T::Sensitive, Attribute::Sensitive(true));
    }
}

/// What a key with `flags` keeps off.
fn kept_off(flags: KeyFlags) -> &'static [T] {
    if flags.kdf_input_only {
        &[
            T::Encrypt,
            T::Decrypt,
            T::Sign,
            T::Verify,
            T::Wrap,
            T::Unwrap,
            T::Extractable,
        ]
    } else {
        off_for(flags.purpose)
    }
}

/// The usages a key of `purpose` keeps off.
fn off_for(purpose: Purpose) -> &'static [T] {
    match purpose {
        Purpose::Data => &[T::Wrap, T::Unwrap],
        Purpose::Transport => &[T::Encrypt, T::Decrypt],
    }
}

fn flag(ty: T, value: bool) -> Attribute {
    match ty {
        T::Encrypt => Attribute::Encrypt(value),
        T::Decrypt => Attribute::Decrypt(value),
        T::Sign => Attribute::Sign(value),
        T::Verify => Attribute::Verify(value),
        T::Wrap => Attribute::Wrap(value),
        T::Unwrap => Attribute::Unwrap(value),
        T::Derive => Attribute::Derive(value),
        T::Sensitive => Attribute::Sensitive(value),
        _ => Attribute::Extractable(value),
    }
}

fn value_len(len: usize) -> Attribute {
    Attribute::ValueLen(u32::try_from(len).unwrap_or(u32::MAX))
}

fn empty_text() -> Text<{ ihsm_proto::MAX_ATTRIBUTE_TEXT_LEN }> {
    Text::default()
}

fn empty_bytes() -> Bytes<{ ihsm_proto::MAX_ATTRIBUTE_TEXT_LEN }> {
    Bytes::default()
}

pub(crate) fn wire_curve(curve: EngineCurve) -> Curve {
    match curve {
        EngineCurve::P256 => Curve::P256,
        EngineCurve::P384 => Curve::P384,
        EngineCurve::P521 => Curve::P521,
    }
}

pub(crate) fn engine_curve(curve: Curve) -> EngineCurve {
    match curve {
        Curve::P256 => EngineCurve::P256,
        Curve::P384 => EngineCurve::P384,
        Curve::P521 => EngineCurve::P521,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_their_object() {
        for class in [
            ObjectClass::Data,
            ObjectClass::Certificate,
            ObjectClass::SecretKey,
            ObjectClass::PrivateKey,
            ObjectClass::PublicKey,
        ] {
            for key_type in [
                None,
                Some(KeyType::Aes),
                Some(KeyType::Ec),
                Some(KeyType::Rsa),
            ] {
                for attribute in defaults_for(class, key_type) {
                    assert!(
                        applies(class, key_type, attribute.attribute_type()),
                        "{class:?} {key_type:?} {attribute:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn restored_attributes_keep_what_the_key_was_fixed_to() {
        let mut attributes: BTreeMap<T, Attribute> = [
            Attribute::Wrap(true),
            Attribute::Decrypt(true),
            Attribute::Extractable(true),
        ]
        .into_iter()
        .map(|a| (a.attribute_type(), a))
        .collect();
        let data = KeyFlags {
            kdf_input_only: false,
            purpose: Purpose::Data,
        };
        restrain(&mut attributes, data);
        assert_eq!(attributes[&T::Wrap], Attribute::Wrap(false));
        assert_eq!(attributes[&T::Decrypt], Attribute::Decrypt(true));
        let transport = KeyFlags {
            purpose: Purpose::Transport,
            ..data
        };
        restrain(&mut attributes, transport);
        assert_eq!(attributes[&T::Decrypt], Attribute::Decrypt(false));
        let ecdh = KeyFlags {
            kdf_input_only: true,
            ..data
        };
        restrain(&mut attributes, ecdh);
        assert_eq!(attributes[&T::Extractable], Attribute::Extractable(false));
        assert_eq!(attributes[&T::Derive], Attribute::Derive(true));
        assert_eq!(attributes[&T::Sensitive], Attribute::Sensitive(true));
    }

    #[test]
    fn device_set_attributes_are_refused_in_templates() {
        let built = build(
            ObjectClass::SecretKey,
            Some(KeyType::Aes),
            &[Attribute::Local(true)],
            Vec::new(),
            Origin::Entered,
            None,
        );
        assert_eq!(built.err(), Some(Fault::Status(Status::AttributeReadOnly)));
    }
}
