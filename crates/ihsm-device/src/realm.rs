//! A realm: the logins, sessions, tickets and credentials behind one socket (the admin
//! socket, or one partition's). Every partition has its own, so no lock is shared between
//! partitions.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use ihsm_proto::{LoginId, Role, SessionId, Status, Ticket};

use crate::credential::PinVerifier;
use crate::fault::Fault;
use crate::session::Session;

/// Consecutive wrong PINs after which a role is locked.
pub const MAX_PIN_FAILURES: u32 = 5;

/// A role's credential: its PIN verifier and its failure count (a mirror of the persisted
/// counter, which is incremented first).
#[derive(Default)]
pub(crate) struct CredentialSlot {
    verifier: RwLock<Option<Arc<PinVerifier>>>,
    failures: AtomicU32,
}

impl CredentialSlot {
    pub(crate) fn verifier(&self) -> Option<Arc<PinVerifier>> {
        self.verifier
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_verifier(&self, verifier: Option<PinVerifier>) {
        *self
            .verifier
            .write()
            .unwrap_or_else(PoisonError::into_inner) = verifier.map(Arc::new);
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures.load(Ordering::Acquire)
    }

    pub(crate) fn set_failures(&self, count: u32) {
        self.failures.store(count, Ordering::Release);
    }

    pub(crate) fn locked(&self) -> bool {
        self.failures() >= MAX_PIN_FAILURES
    }
}

/// The limits a realm enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RealmLimits {
    pub(crate) max_logins: u32,
    pub(crate) max_sessions: u32,
}

pub(crate) struct Realm {
    state: Mutex<RealmState>,
    admin: CredentialSlot,
    officer: CredentialSlot,
    user: CredentialSlot,
}

#[derive(Default)]
struct RealmState {
    logins: HashMap<LoginId, Login>,
    sessions: HashMap<SessionId, Arc<Session>>,
    tickets: Vec<IssuedTicket>,
}

struct Login {
    role: Role,
    /// The connections (by id) that hold the login.
    holders: BTreeSet<u64>,
    sessions: BTreeSet<SessionId>,
}

struct IssuedTicket {
    ticket: Ticket,
    login: LoginId,
    expires: Duration,
}

impl Realm {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(RealmState::default()),
            admin: CredentialSlot::default(),
            officer: CredentialSlot::default(),
            user: CredentialSlot::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RealmState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn credential(&self, role: Role) -> &CredentialSlot {
        match role {
            Role::Admin => &self.admin,
            Role::CryptoOfficer => &self.officer,
            Role::CryptoUser => &self.user,
        }
    }

    /// Adds a login of `role` held by connection `holder`, with the id `id` (random, drawn by
    /// the caller; a collision is `Internal`, astronomically rare).
    pub(crate) fn add_login(
        &self,
        id: LoginId,
        role: Role,
        holder: u64,
        limits: RealmLimits,
    ) -> Result<(), Fault> {
        let mut state = self.lock();
        if u32::try_from(state.logins.len()).unwrap_or(u32::MAX) >= limits.max_logins {
            return Err(Status::LoginLimit.into());
        }
        if state.logins.contains_key(&id) {
            return Err(Status::Internal.into());
        }
        state.logins.insert(
            id,
            Login {
                role,
                holders: BTreeSet::from([holder]),
                sessions: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// The role of a login held by `holder`.
    pub(crate) fn login_role(&self, id: LoginId, holder: u64) -> Result<Role, Fault> {
        match self.lock().logins.get(&id) {
            Some(login) if login.holders.contains(&holder) => Ok(login.role),
            _ => Err(Status::NotLoggedIn.into()),
        }
    }

    pub(crate) fn issue_ticket(
        &self,
        login: LoginId,
        holder: u64,
        ticket: Ticket,
        expires: Duration,
        now: Duration,
    ) -> Result<(), Fault> {
        let mut state = self.lock();
        match state.logins.get(&login) {
            Some(l) if l.holders.contains(&holder) => {}
            _ => return Err(Status::NotLoggedIn.into()),
        }
        state.tickets.retain(|t| t.expires > now);
        state.tickets.push(IssuedTicket {
            ticket,
            login,
            expires,
        });
        Ok(())
    }

    /// Redeems a ticket: single use, whether or not the login still exists.
    pub(crate) fn redeem_ticket(
        &self,
        ticket: &Ticket,
        holder: u64,
        now: Duration,
    ) -> Result<(LoginId, Role), Fault> {
        let mut state = self.lock();
        state.tickets.retain(|t| t.expires > now);
        // Every issued ticket is compared (in constant time each), so the time taken does
        // not say how far into the list a match was.
        let position = state
            .tickets
            .iter()
            .enumerate()
            .fold(
                None,
                |found, (i, t)| if t.ticket == *ticket { Some(i) } else { found },
            );
        let Some(position) = position else {
            return Err(Status::TicketInvalid.into());
        };
        let issued = state.tickets.swap_remove(position);
        let login = state
            .logins
            .get_mut(&issued.login)
            .ok_or(Status::TicketInvalid)?;
        login.holders.insert(holder);
        Ok((issued.login, login.role))
    }

    /// Ends a login held by `holder`; returns its sessions, now closed.
    pub(crate) fn logout(&self, id: LoginId, holder: u64) -> Result<Vec<Arc<Session>>, Fault> {
        let mut state = self.lock();
        match state.logins.get(&id) {
            Some(login) if login.holders.contains(&holder) => {}
            _ => return Err(Status::NotLoggedIn.into()),
        }
        Ok(end_login(&mut state, id))
    }

    /// Ends every login (partition deletion, the error state); returns the closed sessions.
    pub(crate) fn end_all(&self) -> Vec<Arc<Session>> {
        let mut state = self.lock();
        state.tickets.clear();
        state.logins.clear();
        state.sessions.drain().map(|(_, s)| s).collect()
    }

    /// Drops connection `holder`'s hold on `logins`; a login nobody holds any more ends.
    /// Returns the sessions closed.
    pub(crate) fn release(&self, holder: u64, logins: &BTreeSet<LoginId>) -> Vec<Arc<Session>> {
        let mut state = self.lock();
        let mut closed = Vec::new();
        for id in logins {
            let orphaned = match state.logins.get_mut(id) {
                Some(login) => {
                    login.holders.remove(&holder);
                    login.holders.is_empty()
                }
                None => false,
            };
            if orphaned {
                closed.extend(end_login(&mut state, *id));
            }
        }
        closed
    }

    /// Opens a session of a login held by `holder`.
    pub(crate) fn open_session(
        &self,
        login: LoginId,
        holder: u64,
        session: Session,
        limits: RealmLimits,
    ) -> Result<(), Fault> {
        let mut state = self.lock();
        if u32::try_from(state.sessions.len()).unwrap_or(u32::MAX) >= limits.max_sessions {
            return Err(Status::SessionLimit.into());
        }
        if state.sessions.contains_key(&session.id) {
            return Err(Status::Internal.into());
        }
        let entry = match state.logins.get_mut(&login) {
            Some(entry) if entry.holders.contains(&holder) => entry,
            _ => return Err(Status::NotLoggedIn.into()),
        };
        entry.sessions.insert(session.id);
        state.sessions.insert(session.id, Arc::new(session));
        Ok(())
    }

    /// A session whose login `holder` holds.
    pub(crate) fn session(&self, id: SessionId, holder: u64) -> Result<Arc<Session>, Fault> {
        let state = self.lock();
        let session = state.sessions.get(&id).ok_or(Status::SessionNotFound)?;
        match state.logins.get(&session.login) {
            Some(login) if login.holders.contains(&holder) => Ok(Arc::clone(session)),
            _ => Err(Status::SessionNotFound.into()),
        }
    }

    pub(crate) fn close_session(&self, id: SessionId) -> Option<Arc<Session>> {
        let mut state = self.lock();
        let session = state.sessions.remove(&id)?;
        if let Some(login) = state.logins.get_mut(&session.login) {
            login.sessions.remove(&id);
        }
        Some(session)
    }

    /// Closes every session of a login held by `holder`.
    pub(crate) fn close_all_sessions(
        &self,
        login: LoginId,
        holder: u64,
    ) -> Result<Vec<Arc<Session>>, Fault> {
        let mut state = self.lock();
        let ids = match state.logins.get_mut(&login) {
            Some(entry) if entry.holders.contains(&holder) => core::mem::take(&mut entry.sessions),
            _ => return Err(Status::NotLoggedIn.into()),
        };
        Ok(ids
            .iter()
            .filter_map(|id| state.sessions.remove(id))
            .collect())
    }

    /// Every open session.
    pub(crate) fn sessions(&self) -> Vec<Arc<Session>> {
        self.lock().sessions.values().cloned().collect()
    }

    /// How many logins and sessions are open (for tests and status).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.logins.len(), state.sessions.len())
    }
}

fn end_login(state: &mut RealmState, id: LoginId) -> Vec<Arc<Session>> {
    let Some(login) = state.logins.remove(&id) else {
        return Vec::new();
    };
    state.tickets.retain(|t| t.login != id);
    login
        .sessions
        .iter()
        .filter_map(|s| state.sessions.remove(s))
        .collect()
}
