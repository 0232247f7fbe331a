//! Object commands: create, copy, destroy, read and change attributes, search; and the one
//! path every new object takes into its partition ([`store_new_all`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use ihsm_proto::msgs::{
    CopyObjectRequest, CopyObjectResponse, CreateObjectRequest, CreateObjectResponse,
    DestroyObjectRequest, DestroyObjectResponse, FindObjectsRequest, FindObjectsResponse,
    GetAttributesRequest, GetAttributesResponse, SetAttributesRequest, SetAttributesResponse,
};
use ihsm_proto::{
    Attribute, AttributeReading, AttributeType, Bytes, Handle, KeyType, List, MechanismId,
    ObjectClass, PartitionName, Status,
};

use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{
    apply_changes, build, engine_curve, intrinsic, purpose_of, GcmClaim, Key, KeyId, KeyMaterial,
    Object, Origin, Purpose, Search, SessionOwner,
};
use crate::partition::{Change, LedgerEntry, Partition, Reservation};
use crate::record;
use crate::store::{Store, Write};

pub(crate) fn create(ctx: &Ctx<'_>, request: CreateObjectRequest) -> Outcome {
    let partition = ctx.partition()?;
    let template = request.template.into_vec();
    let class = match find(&template, AttributeType::Class) {
        Some(Attribute::Class(class)) => *class,
        _ => return Err(Status::TemplateIncomplete.into()),
    };
    let (value, rest): (Vec<_>, Vec<_>) = template
        .into_iter()
        .partition(|a| a.attribute_type() == AttributeType::Value);
    let value = value.into_iter().next();
    let handle = match class {
        ObjectClass::Data | ObjectClass::Certificate => {
            if class == ObjectClass::Certificate
                && (find(&rest, AttributeType::CertificateType).is_none() || value.is_none())
            {
                return Err(Status::TemplateIncomplete.into());
            }
            let mut template = rest;
            template.extend(value);
            let fixed = vec![Attribute::Class(class)];
            let attributes = build(class, None, &template, fixed, Origin::NotAKey, None)?;
            let object = new_object(ctx, class, attributes, None)?;
            let reservation = partition.reserve(object.data_bytes())?;
            store_new(ctx, &partition.change()?, reservation, object)?
        }
        ObjectClass::PublicKey => {
            if value.is_some() {
                return Err(Status::AttributeTypeInvalid.into());
            }
            partition.locked_room(crate::partition::ANY_KEY_ROOM)?;
            let material = public_key(ctx, &rest)?;
            add_key(ctx, &rest, material, false, Origin::Entered)?
        }
        ObjectClass::SecretKey | ObjectClass::PrivateKey => {
            // A key's value in plaintext: only for test vectors, never approved.
            partition.permit_non_approved(MechanismId::KeyValueImport)?;
            if !cfg!(feature = "test-hooks") {
                return Err(Status::NotSupported.into());
            }
            let Some(Attribute::Value(value)) = value else {
                return Err(Status::TemplateIncomplete.into());
            };
            partition.locked_room(crate::partition::ANY_KEY_ROOM)?;
            let material = entering_material(ctx, &rest, value.expose())?;
            let handle = add_key(ctx, &rest, material, false, Origin::Entered)?;
            return Ok(Served::new(CreateObjectResponse { handle }, false));
        }
    };
    Ok(Served::plain(CreateObjectResponse { handle }))
}

pub(crate) fn copy(ctx: &Ctx<'_>, request: CopyObjectRequest) -> Outcome {
    let partition = ctx.partition()?;
    let change = partition.change()?;
    // A new holder of a key: not while its last holder is being destroyed.
    let _objects = change.objects();
    let original = partition.object(request.handle, ctx.session()?.login)?;
    if !original.flag(AttributeType::Copyable) {
        return Err(Status::ActionProhibited.into());
    }
    let attributes = apply_changes(&original, &request.template, true)?;
    let mut object = new_object(ctx, original.class, attributes, original.key.clone())?;
    object.owner = owner(ctx, &object.attributes)?;
    let reservation = partition.reserve(object.data_bytes())?;
    let handle = store_new(ctx, &change, reservation, object)?;
    Ok(Served::plain(CopyObjectResponse { handle }))
}

pub(crate) fn destroy(ctx: &Ctx<'_>, request: DestroyObjectRequest) -> Outcome {
    let partition = ctx.partition()?;
    let change = partition.change()?;
    // Whether this is the key's last holder must not change before the commit.
    let _objects = change.objects();
    let object = partition.object(request.handle, ctx.session()?.login)?;
    if !object.flag(AttributeType::Destroyable) {
        return Err(Status::ActionProhibited.into());
    }
    let mut writes = Vec::new();
    if object.is_token() {
        writes.push(Write::Delete(record::object(
            &partition.name,
            object.handle,
        )));
    }
    // The last holder of a key that may have blobs leaves a tombstone: its blobs are refused
    // from now on. A ledger entry of a key without blobs (a GCM count) goes with the key.
    let last = object
        .key
        .as_ref()
        .filter(|key| partition.holders(&key.id, Some(object.handle)).is_empty());
    let mut ledger = None;
    if let Some(key) = last {
        let known = partition.read().ledger.get(&key.id).copied();
        if let Some(entry) = known {
            let left = entry.after_destruction();
            if left != Some(entry) {
                writes.push(record::ledger_write(&partition.name, &key.id, left));
                ledger = Some((key.id, left));
            }
        }
    }
    change.commit(&*ctx.shared.platform.store, writes)?;
    drop(partition.remove(object.handle));
    if let Some((id, left)) = ledger {
        partition.set_ledger(id, left);
    }
    Ok(Served::plain(DestroyObjectResponse {}))
}

pub(crate) fn get_attributes(ctx: &Ctx<'_>, request: GetAttributesRequest) -> Outcome {
    let object = ctx
        .partition()?
        .object(request.handle, ctx.session()?.login)?;
    let readings: Vec<_> = request
        .types
        .iter()
        .map(|ty| {
            let secret = matches!(
                object.class,
                ObjectClass::SecretKey | ObjectClass::PrivateKey
            );
            if *ty == AttributeType::Value && secret {
                // A key's value never leaves the module in plaintext.
                return AttributeReading::Sensitive(*ty);
            }
            match object.attribute(*ty) {
                Some(attribute) => AttributeReading::Value(attribute.clone()),
                None => AttributeReading::Invalid(*ty),
            }
        })
        .collect();
    let values = List::new(readings).map_err(|_| Status::Internal)?;
    Ok(Served::plain(GetAttributesResponse { values }))
}

pub(crate) fn set_attributes(ctx: &Ctx<'_>, request: SetAttributesRequest) -> Outcome {
    let partition = ctx.partition()?;
    let change = partition.change()?;
    // From reading the object to replacing it, no other change may intervene (it would be
    // lost, or a destroyed object would come back).
    let _objects = change.objects();
    let object = partition.object(request.handle, ctx.session()?.login)?;
    let attributes = apply_changes(&object, &request.template, false)?;
    let changed = Object {
        handle: object.handle,
        class: object.class,
        attributes,
        key: object.key.clone(),
        owner: object.owner,
    };
    partition.adjust_data(object.data_bytes(), changed.data_bytes())?;
    if changed.is_token() {
        let committed = object_write(&partition.name, &changed)
            .and_then(|write| change.commit(&*ctx.shared.platform.store, vec![write]));
        if let Err(fault) = committed {
            partition.adjust_data(changed.data_bytes(), object.data_bytes())?;
            return Err(fault);
        }
    }
    partition.replace(changed);
    Ok(Served::plain(SetAttributesResponse {}))
}

pub(crate) fn find_objects(ctx: &Ctx<'_>, request: FindObjectsRequest) -> Outcome {
    let partition = ctx.partition()?;
    let session = ctx.session()?;
    // Drawn before the search lock is taken: no lock is held across the engine.
    let mut cursor = [0; 16];
    let _ = ctx.engine().random(&mut cursor)?;
    let mut search = session.search();
    let mut remaining = match &request.cursor {
        Some(given) => match search.take() {
            // A cursor is single-use, and valid only for the search that issued it.
            Some(s) if s.cursor[..] == given[..] && s.template == request.template => s.remaining,
            _ => return Err(Status::CursorInvalid.into()),
        },
        None => {
            let mut handles: Vec<_> = partition
                .read()
                .objects
                .values()
                .filter(|o| o.visible_to(session.login) && o.matches(&request.template))
                .map(|o| o.handle)
                .collect();
            handles.sort_unstable();
            handles
        }
    };
    // Objects destroyed since the search began are skipped.
    {
        let state = partition.read();
        remaining.retain(|handle| state.objects.contains_key(handle));
    }
    let count = usize::try_from(request.max_count.get()).unwrap_or(usize::MAX);
    let rest = remaining.split_off(count.min(remaining.len()));
    let next_cursor = if rest.is_empty() {
        *search = None;
        None
    } else {
        *search = Some(Search {
            cursor,
            template: request.template,
            remaining: rest,
        });
        Some(Bytes::new(cursor.to_vec()).map_err(|_| Status::Internal)?)
    };
    let handles = List::new(remaining).map_err(|_| Status::Internal)?;
    Ok(Served::plain(FindObjectsResponse {
        handles,
        next_cursor,
    }))
}

/// A new key with a random identity.
pub(crate) fn new_key(
    ctx: &Ctx<'_>,
    material: KeyMaterial,
    kdf_input_only: bool,
    purpose: Purpose,
) -> Result<Arc<Key>, Fault> {
    let mut id = [0; 16];
    let _ = ctx.engine().random(&mut id)?;
    Ok(Arc::new(Key::new(id, material, kdf_input_only, purpose)))
}

/// A new object with a random handle, owned by the session unless it is a token object.
pub(crate) fn new_object(
    ctx: &Ctx<'_>,
    class: ObjectClass,
    attributes: BTreeMap<AttributeType, Attribute>,
    key: Option<Arc<Key>>,
) -> Result<Object, Fault> {
    let handle = Handle::new(ctx.shared.random_id()?).ok_or(Status::Internal)?;
    let owner = owner(ctx, &attributes)?;
    Ok(Object {
        handle,
        class,
        attributes,
        key,
        owner,
    })
}

fn owner(
    ctx: &Ctx<'_>,
    attributes: &BTreeMap<AttributeType, Attribute>,
) -> Result<Option<SessionOwner>, Fault> {
    let session = ctx.session()?;
    Ok(match attributes.get(&AttributeType::Token) {
        Some(Attribute::Token(true)) => None,
        _ => Some(SessionOwner {
            login: session.login,
            session: session.id,
        }),
    })
}

/// Persists token objects (durably, in one commit, before anything is answered) and inserts
/// them all, under `change`. A token object makes its AES key durable: the key ledger then
/// accounts for the key's GCM encryptions so far (a reservation the caller must hold the
/// object lock for; a new key has made none).
pub(crate) fn store_new_all(
    ctx: &Ctx<'_>,
    change: &Change<'_>,
    objects: Vec<(Reservation, Object)>,
) -> Result<Vec<Handle>, Fault> {
    let partition = ctx.partition()?;
    let store = &*ctx.shared.platform.store;
    let mut writes = Vec::new();
    for (_, object) in objects.iter().filter(|(_, o)| o.is_token()) {
        if let Some(key) = object.key.as_ref() {
            if matches!(key.material, KeyMaterial::Aes(_)) {
                make_durable(ctx, change, key)?;
            }
        }
        writes.push(object_write(&partition.name, object)?);
    }
    change.commit(store, writes)?;
    let session = ctx.session()?;
    partition.insert_all(objects, || session.is_open())
}

/// Marks a key durable and has the key ledger account for its GCM encryptions so far. The
/// caller holds the object lock (a key destroyed meanwhile is `ObjectNotFound`).
pub(crate) fn make_durable(ctx: &Ctx<'_>, change: &Change<'_>, key: &Key) -> Result<(), Fault> {
    match key.gcm.make_durable() {
        GcmClaim::Covered => Ok(()),
        GcmClaim::Reserve(n) => reserve_gcm(ctx, change, key, n),
    }
}

/// Has the key ledger account for claim `n` of `key` (see [`crate::object::GcmBudget`]).
/// The caller holds the object lock.
pub(crate) fn reserve_gcm(
    ctx: &Ctx<'_>,
    change: &Change<'_>,
    key: &Key,
    n: u64,
) -> Result<(), Fault> {
    let partition = ctx.partition()?;
    let store = &*ctx.shared.platform.store;
    key.gcm
        .reserve(n, ctx.shared.config.gcm_reservation, |next| {
            put_ledger(change, store, partition, &key.id, next, false)
        })
}

/// Records in the ledger that a live key's GCM count is at most `gcm_reserved` and, with
/// `blobs`, that blobs of it may exist. Values only ever rise, and nothing is written when
/// the ledger knows as much already. Refuses (`ObjectNotFound`) for a key whose tombstone is
/// written. The caller holds the object lock.
pub(crate) fn put_ledger(
    change: &Change<'_>,
    store: &dyn Store,
    partition: &Partition,
    id: &KeyId,
    gcm_reserved: u64,
    blobs: bool,
) -> Result<(), Fault> {
    let entry = match partition.read().ledger.get(id) {
        Some(LedgerEntry::Tombstone) => return Err(Status::ObjectNotFound.into()),
        Some(
            known @ LedgerEntry::Live {
                gcm_reserved: reserved,
                blobs: masked,
            },
        ) => {
            let entry = LedgerEntry::Live {
                gcm_reserved: gcm_reserved.max(*reserved),
                blobs: blobs || *masked,
            };
            if entry == *known {
                return Ok(());
            }
            entry
        }
        None => LedgerEntry::Live {
            gcm_reserved,
            blobs,
        },
    };
    change.commit(
        store,
        vec![Write::Put(
            record::ledger(&partition.name, id),
            record::ledger_value(entry),
        )],
    )?;
    partition.write().ledger.insert(*id, entry);
    Ok(())
}

/// The store write that persists a token object.
pub(crate) fn object_write(partition: &PartitionName, object: &Object) -> Result<Write, Fault> {
    let record = object.to_record()?.encode().ok_or(Status::Internal)?;
    Ok(Write::Put(record::object(partition, object.handle), record))
}

/// [`store_new_all`] for one object.
pub(crate) fn store_new(
    ctx: &Ctx<'_>,
    change: &Change<'_>,
    reservation: Reservation,
    object: Object,
) -> Result<Handle, Fault> {
    store_new_all(ctx, change, vec![(reservation, object)])?
        .pop()
        .ok_or(Fault::Status(Status::Internal))
}

/// A public key from a template: an EC point on a curve, or an RSA SubjectPublicKeyInfo.
fn public_key(ctx: &Ctx<'_>, template: &[Attribute]) -> Result<KeyMaterial, Fault> {
    let invalid = |_| Fault::Status(Status::AttributeValueInvalid);
    match find(template, AttributeType::KeyType) {
        Some(Attribute::KeyType(KeyType::Ec)) => {
            let (Some(Attribute::EcCurve(curve)), Some(Attribute::EcPoint(point))) = (
                find(template, AttributeType::EcCurve),
                find(template, AttributeType::EcPoint),
            ) else {
                return Err(Status::TemplateIncomplete.into());
            };
            let key = ctx
                .engine()
                .ec_public_key(engine_curve(*curve), point)
                .map_err(invalid)?;
            Ok(KeyMaterial::EcPublic(key))
        }
        Some(Attribute::KeyType(KeyType::Rsa)) => {
            let Some(Attribute::PublicKeyInfo(spki)) = find(template, AttributeType::PublicKeyInfo)
            else {
                return Err(Status::TemplateIncomplete.into());
            };
            let key = ctx.engine().rsa_public_key(spki).map_err(invalid)?;
            Ok(KeyMaterial::RsaPublic(key))
        }
        Some(_) => Err(Status::TemplateInconsistent.into()),
        None => Err(Status::TemplateIncomplete.into()),
    }
}

/// The material of a secret or private key entering the module (unwrapped, imported, or in
/// plaintext with test hooks): the template names its class and type (and an EC key's
/// curve, which the PKCS#8 must match); `bytes` are the raw value or the PKCS#8.
pub(crate) fn entering_material(
    ctx: &Ctx<'_>,
    template: &[Attribute],
    bytes: &[u8],
) -> Result<KeyMaterial, Fault> {
    let (Some(Attribute::Class(class)), Some(Attribute::KeyType(key_type))) = (
        find(template, AttributeType::Class),
        find(template, AttributeType::KeyType),
    ) else {
        return Err(Status::TemplateIncomplete.into());
    };
    if !matches!(class, ObjectClass::SecretKey | ObjectClass::PrivateKey) {
        return Err(Status::TemplateInconsistent.into());
    }
    let curve = match find(template, AttributeType::EcCurve) {
        Some(Attribute::EcCurve(curve)) => Some(engine_curve(*curve)),
        _ => None,
    };
    KeyMaterial::parse(ctx.engine(), *class, *key_type, curve, bytes)
}

/// Makes a new key (its purpose from the template), its object, and stores it.
pub(crate) fn add_key(
    ctx: &Ctx<'_>,
    template: &[Attribute],
    material: KeyMaterial,
    kdf_input_only: bool,
    origin: Origin,
) -> Result<Handle, Fault> {
    let partition = ctx.partition()?;
    let key = new_key(ctx, material, kdf_input_only, purpose_of(&[template]))?;
    let reservation = partition.reserve(0)?;
    let (class, key_type) = (key.material.class(), key.material.key_type());
    let fixed = intrinsic(&key.material)?;
    let attributes = build(
        class,
        Some(key_type),
        template,
        fixed,
        origin,
        Some(key.flags()),
    )?;
    let object = new_object(ctx, class, attributes, Some(key))?;
    store_new(ctx, &partition.change()?, reservation, object)
}

pub(crate) fn find(template: &[Attribute], ty: AttributeType) -> Option<&Attribute> {
    template.iter().find(|a| a.attribute_type() == ty)
}
