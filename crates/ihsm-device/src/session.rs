//! A session: the unit PKCS#11 sessions map onto. It belongs to one login, holds at most one
//! active operation of each kind, and the state of an object search.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ihsm_crypto::DigestContext;
use ihsm_proto::{LoginId, Role, SessionId, Status};

use crate::fault::Fault;
use crate::object::Search;
use crate::ops::{DecryptOperation, EncryptOperation, SignOperation, VerifyOperation};

pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) login: LoginId,
    pub(crate) role: Role,
    pub(crate) encrypt: Slot<EncryptOperation>,
    pub(crate) decrypt: Slot<DecryptOperation>,
    pub(crate) sign: Slot<SignOperation>,
    pub(crate) verify: Slot<VerifyOperation>,
    pub(crate) digest: Slot<DigestContext>,
    pub(crate) search: Mutex<Option<Search>>,
    closed: AtomicBool,
}

impl Session {
    pub(crate) fn new(id: SessionId, login: LoginId, role: Role) -> Self {
        Self {
            id,
            login,
            role,
            encrypt: Slot::default(),
            decrypt: Slot::default(),
            sign: Slot::default(),
            verify: Slot::default(),
            digest: Slot::default(),
            search: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// Marks the session closed and abandons its operations and search. Objects made for it
    /// after this point are refused.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.abandon_key_operations();
        self.digest.cancel();
    }

    /// Abandons every operation that holds a key, and the search (whose handles may name
    /// destroyed objects).
    pub(crate) fn abandon_key_operations(&self) {
        self.encrypt.cancel();
        self.decrypt.cancel();
        self.sign.cancel();
        self.verify.cancel();
        *self.search() = None;
    }

    pub(crate) fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn search(&self) -> MutexGuard<'_, Option<Search>> {
        self.search.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The slot of one kind of multi-part operation.
///
/// An update holds the slot's lock while the engine absorbs the part: the parts of one
/// operation must be applied in order, and nothing else ever waits on this lock (it belongs
/// to one operation of one session), so it is the one lock held across cryptography.
pub(crate) struct Slot<T>(Mutex<Option<T>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails with `OperationActive` if an operation of this kind is active.
    pub(crate) fn ensure_idle(&self) -> Result<(), Fault> {
        match *self.lock() {
            Some(_) => Err(Status::OperationActive.into()),
            None => Ok(()),
        }
    }

    /// Makes `operation` the active one, unless one is active already.
    pub(crate) fn start(&self, operation: T) -> Result<(), Fault> {
        let mut slot = self.lock();
        if slot.is_some() {
            return Err(Status::OperationActive.into());
        }
        *slot = Some(operation);
        Ok(())
    }

    /// Applies `f` to the active operation; a failure ends the operation.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut T) -> Result<R, Fault>) -> Result<R, Fault> {
        let mut slot = self.lock();
        let operation = slot.as_mut().ok_or(Status::OperationNotInitialized)?;
        let result = f(operation);
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// Ends the active operation and hands it to `f`.
    pub(crate) fn finish<R>(&self, f: impl FnOnce(T) -> Result<R, Fault>) -> Result<R, Fault> {
        let operation = self.lock().take().ok_or(Status::OperationNotInitialized)?;
        f(operation)
    }

    /// Abandons the active operation, if any.
    pub(crate) fn cancel(&self) {
        *self.lock() = None;
    }
}
