//! Objects: keys, public keys, certificates and data objects, with their attributes.
//!
//! An object's attributes live in one map by type, exactly as `GetAttributes` reads them and
//! `FindObjects` matches them; the secret part of a key never does (it lives in [`Key`]).
//! Objects are immutable: a change makes a new object that shares the same [`Key`], so an
//! operation holding an object never sees it change, and no lock is held while it runs.

mod attributes;
mod key;
mod search;

use std::collections::BTreeMap;
use std::sync::Arc;

use ihsm_proto::{Attribute, AttributeType, Handle, KeyType, LoginId, ObjectClass, SessionId};

pub(crate) use attributes::{
    apply_changes, build, engine_curve, intrinsic, purpose_of, restrain, Origin,
};
pub(crate) use key::{GcmBudget, GcmClaim, Key, KeyId, KeyMaterial, Purpose};
pub(crate) use search::Search;

/// Whose session a session object belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionOwner {
    pub(crate) login: LoginId,
    pub(crate) session: SessionId,
}

pub(crate) struct Object {
    pub(crate) handle: Handle,
    pub(crate) class: ObjectClass,
    pub(crate) attributes: BTreeMap<AttributeType, Attribute>,
    /// The key, for key objects.
    pub(crate) key: Option<Arc<Key>>,
    /// `None` for a token (persistent) object.
    pub(crate) owner: Option<SessionOwner>,
}

impl Object {
    pub(crate) fn attribute(&self, ty: AttributeType) -> Option<&Attribute> {
        self.attributes.get(&ty)
    }

    /// A boolean attribute; absent reads as false.
    pub(crate) fn flag(&self, ty: AttributeType) -> bool {
        matches!(
            self.attributes.get(&ty),
            Some(
                Attribute::Token(true)
                    | Attribute::Private(true)
                    | Attribute::Modifiable(true)
                    | Attribute::Copyable(true)
                    | Attribute::Destroyable(true)
                    | Attribute::Local(true)
                    | Attribute::Derive(true)
                    | Attribute::Sensitive(true)
                    | Attribute::Extractable(true)
                    | Attribute::AlwaysSensitive(true)
                    | Attribute::NeverExtractable(true)
                    | Attribute::Encrypt(true)
                    | Attribute::Decrypt(true)
                    | Attribute::Sign(true)
                    | Attribute::Verify(true)
                    | Attribute::Wrap(true)
                    | Attribute::Unwrap(true)
            )
        )
    }

    /// Fails with `KeyUsageNotPermitted` unless the object's `usage` attribute is true and
    /// its key is not the raw output of ECDH (which serves only as KDF input).
    pub(crate) fn require_usage(&self, usage: AttributeType) -> Result<(), crate::fault::Fault> {
        let kdf_input_only = self.key.as_ref().is_some_and(|key| key.kdf_input_only);
        if kdf_input_only || !self.flag(usage) {
            return Err(ihsm_proto::Status::KeyUsageNotPermitted.into());
        }
        Ok(())
    }

    pub(crate) fn is_token(&self) -> bool {
        self.owner.is_none()
    }

    pub(crate) fn key_type(&self) -> Option<KeyType> {
        match self.attributes.get(&AttributeType::KeyType) {
            Some(Attribute::KeyType(ty)) => Some(*ty),
            _ => None,
        }
    }

    /// The bytes a data object's value counts against the partition's data quota.
    pub(crate) fn data_bytes(&self) -> u64 {
        match (self.class, self.attributes.get(&AttributeType::Value)) {
            (ObjectClass::Data, Some(Attribute::Value(value))) => {
                u64::try_from(value.len()).unwrap_or(u64::MAX)
            }
            _ => 0,
        }
    }

    /// Whether a session of `login` may see the object: token objects are visible to every
    /// login of the partition, session objects to the sessions of their login.
    pub(crate) fn visible_to(&self, login: LoginId) -> bool {
        self.owner.is_none_or(|owner| owner.login == login)
    }

    /// Whether the object matches every attribute of a search template.
    pub(crate) fn matches(&self, template: &[Attribute]) -> bool {
        template
            .iter()
            .all(|wanted| self.attributes.get(&wanted.attribute_type()) == Some(wanted))
    }
}

impl Object {
    /// The object's persistent record.
    pub(crate) fn to_record(&self) -> Result<crate::record::ObjectRecord, crate::fault::Fault> {
        let attributes =
            ihsm_proto::Template::new(self.attributes.values().cloned().collect::<Vec<_>>())
                .map_err(|_| ihsm_proto::Status::Internal)?;
        Ok(crate::record::ObjectRecord {
            handle: self.handle,
            attributes,
            key: self.key.as_ref().map(|key| crate::record::KeyRecord {
                id: key.id,
                flags: key.flags(),
                material: key.material.to_bytes(),
            }),
        })
    }

    /// An object from its persistent record; `None` if the record is inconsistent. Objects
    /// that hold the same key share one [`Key`] (`keys`, by id), so its GCM count is one;
    /// `gcm_reserved` is what the key ledger accounts for.
    pub(crate) fn from_record(
        engine: &ihsm_crypto::Engine,
        record: crate::record::ObjectRecord,
        keys: &mut std::collections::HashMap<KeyId, Arc<Key>>,
        gcm_reserved: impl Fn(&KeyId) -> u64,
    ) -> Option<Self> {
        let attributes: BTreeMap<_, _> = record
            .attributes
            .into_vec()
            .into_iter()
            .map(|a| (a.attribute_type(), a))
            .collect();
        let class = match attributes.get(&AttributeType::Class) {
            Some(Attribute::Class(class)) => *class,
            _ => return None,
        };
        let key = match record.key {
            Some(key) => {
                let key_type = match attributes.get(&AttributeType::KeyType) {
                    Some(Attribute::KeyType(ty)) => *ty,
                    _ => return None,
                };
                let curve = match attributes.get(&AttributeType::EcCurve) {
                    Some(Attribute::EcCurve(curve)) => Some(engine_curve(*curve)),
                    _ => None,
                };
                let material =
                    KeyMaterial::parse(engine, class, key_type, curve, &key.material).ok()?;
                match keys.get(&key.id) {
                    // Copies hold the same key: the same material and flags, or the store
                    // is not what the device wrote.
                    Some(shared) => {
                        let same = shared.flags() == key.flags
                            && bool::from(subtle::ConstantTimeEq::ct_eq(
                                &shared.material.to_bytes()[..],
                                &key.material[..],
                            ));
                        if !same {
                            return None;
                        }
                        Some(Arc::clone(shared))
                    }
                    None => {
                        let reserved = gcm_reserved(&key.id);
                        let restored = Key::restored(
                            key.id,
                            material,
                            key.flags.kdf_input_only,
                            key.flags.purpose,
                            reserved,
                            reserved,
                        )
                        .ok()?;
                        restored.gcm.make_durable_restored();
                        let restored = Arc::new(restored);
                        keys.insert(key.id, Arc::clone(&restored));
                        Some(restored)
                    }
                }
            }
            None => None,
        };
        Some(Self {
            handle: record.handle,
            class,
            attributes,
            key,
            owner: None,
        })
    }
}
