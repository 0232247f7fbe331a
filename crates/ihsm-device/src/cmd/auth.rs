//! Authentication: logins, tickets, and the PIN of each role.
//!
//! A PIN check increments the role's failure counter durably before it compares, so a crash
//! or a cut connection cannot buy a free guess; the fifth consecutive failure locks the role.

use std::sync::Arc;

use ihsm_proto::msgs::{
    AttachLoginRequest, AttachLoginResponse, ChangePinRequest, ChangePinResponse,
    IssueTicketRequest, IssueTicketResponse, LoginRequest, LoginResponse, LogoutRequest,
    LogoutResponse, SetPinRequest, SetPinResponse, UnlockRoleRequest, UnlockRoleResponse,
};
use ihsm_proto::{LoginId, PartitionName, Role, SealedSecret, Status, Ticket};

use crate::cmd::session::discard_all;
use crate::credential::{open_sealed, Opened, Pin, PinVerifier};
use crate::device::{Ctx, Shared};
use crate::fault::{Fault, Outcome, Served};
use crate::partition::Partition;
use crate::realm::{Realm, MAX_PIN_FAILURES};
use crate::record;
use crate::roles::role_on_socket;
use crate::store::Write;

pub(crate) fn login(ctx: &Ctx<'_>, request: LoginRequest) -> Outcome {
    let nonce = ctx.conn.consume_nonce(&[&request.credential.nonce])?;
    if !role_on_socket(request.role, ctx.partition.is_none()) {
        return Err(Status::RoleNotPermitted.into());
    }
    let opened = open_for_socket(ctx, &request.credential, &nonce, 1)?;
    let approved = opened.approved;
    let target = Target {
        partition: ctx.partition.clone(),
        role: request.role,
    };
    check_pin(ctx.shared, &target, &opened.into_pin())?;
    let login = LoginId::new(ctx.shared.random_id()?).ok_or(Status::Internal)?;
    ctx.realm()
        .add_login(login, request.role, ctx.conn.id, ctx.realm_limits())?;
    ctx.conn.state().logins.insert(login);
    Ok(Served::new(LoginResponse { login }, approved))
}

pub(crate) fn logout(ctx: &Ctx<'_>, request: LogoutRequest) -> Outcome {
    let sessions = ctx.realm().logout(request.login, ctx.conn.id)?;
    ctx.conn.state().logins.remove(&request.login);
    discard_all(ctx.partition.as_ref(), &sessions);
    Ok(Served::plain(LogoutResponse {}))
}

pub(crate) fn issue_ticket(ctx: &Ctx<'_>, request: IssueTicketRequest) -> Outcome {
    let mut bytes = [0; 32];
    let random = ctx.engine().random(&mut bytes)?;
    let ticket = Ticket::new(bytes);
    let now = ctx.shared.platform.clock.now();
    let expires = now.saturating_add(ctx.shared.config.ticket_lifetime);
    ctx.realm()
        .issue_ticket(request.login, ctx.conn.id, ticket.clone(), expires, now)?;
    Ok(Served::new(IssueTicketResponse { ticket }, random.approved))
}

pub(crate) fn attach_login(ctx: &Ctx<'_>, request: AttachLoginRequest) -> Outcome {
    let now = ctx.shared.platform.clock.now();
    let (login, role) = ctx
        .realm()
        .redeem_ticket(&request.ticket, ctx.conn.id, now)?;
    ctx.conn.state().logins.insert(login);
    Ok(Served::plain(AttachLoginResponse { login, role }))
}

pub(crate) fn set_pin(ctx: &Ctx<'_>, request: SetPinRequest) -> Outcome {
    let nonce = ctx.conn.consume_nonce(&[&request.credential.nonce])?;
    let target = managed(ctx, request.role)?;
    let opened = open_for_socket(ctx, &request.credential, &nonce, 1)?;
    let approved = opened.approved;
    let pin = opened.into_pin().checked()?;
    store_pin(ctx.shared, &target, &pin)?;
    Ok(Served::new(SetPinResponse {}, approved))
}

pub(crate) fn change_pin(ctx: &Ctx<'_>, request: ChangePinRequest) -> Outcome {
    let nonce = ctx
        .conn
        .consume_nonce(&[&request.old.nonce, &request.new.nonce])?;
    let session = ctx.session()?;
    if request.role != session.role {
        return Err(Status::RoleNotPermitted.into());
    }
    let old = open_for_socket(ctx, &request.old, &nonce, 1)?;
    let new = open_for_socket(ctx, &request.new, &nonce, 2)?;
    let approved = old.approved && new.approved;
    let target = Target {
        partition: ctx.partition.clone(),
        role: session.role,
    };
    let new = new.into_pin().checked()?;
    check_pin(ctx.shared, &target, &old.into_pin())?;
    store_pin(ctx.shared, &target, &new)?;
    Ok(Served::new(ChangePinResponse {}, approved))
}

pub(crate) fn unlock_role(ctx: &Ctx<'_>, request: UnlockRoleRequest) -> Outcome {
    let target = managed(ctx, request.role)?;
    target.commit(
        ctx.shared,
        vec![Write::Put(
            record::counter(target.name(), target.role),
            record::zero_count(),
        )],
    )?;
    target
        .realm(ctx.shared)
        .credential(target.role)
        .set_failures(0);
    Ok(Served::plain(UnlockRoleResponse {}))
}

/// Opens a secret sealed to the credential key of the request's socket, carried in `field`.
fn open_for_socket(
    ctx: &Ctx<'_>,
    sealed: &SealedSecret,
    nonce: &[u8; 32],
    field: u8,
) -> Result<Opened, Fault> {
    let keys = ctx.socket_keys()?;
    open_sealed(
        ctx.engine(),
        keys.credential(),
        sealed,
        nonce,
        ctx.opcode,
        field,
    )
}

/// A role in a realm.
struct Target {
    /// `None`: the admin realm.
    partition: Option<Arc<Partition>>,
    role: Role,
}

impl Target {
    fn name(&self) -> Option<&PartitionName> {
        self.partition.as_ref().map(|p| &p.name)
    }

    fn realm<'a>(&'a self, shared: &'a Shared) -> &'a Realm {
        self.partition.as_ref().map_or(&shared.admin, |p| &p.realm)
    }

    /// Commits writes to the role's records (through its partition's gate, so none lands
    /// after the partition's deletion).
    fn commit(&self, shared: &Shared, writes: Vec<Write>) -> Result<(), Fault> {
        let store = &*shared.platform.store;
        match &self.partition {
            Some(partition) => partition.change()?.commit(store, writes),
            None => Ok(store.commit(writes)?),
        }
    }

    /// Counts a PIN attempt durably; returns the consecutive failures, this one included.
    fn count_attempt(&self, shared: &Shared) -> Result<u32, Fault> {
        let counter = record::counter(self.name(), self.role);
        let store = &*shared.platform.store;
        Ok(match &self.partition {
            Some(partition) => {
                let _change = partition.change()?;
                store.increment(&counter)?
            }
            None => store.increment(&counter)?,
        })
    }
}

/// The role the session's role manages: the officer manages its partition's user, and no
/// one else manages anyone. (The admin never sets or unlocks an officer: that would be a
/// path to the partition's keys. A lost officer means `ResetPartition`.)
fn managed(ctx: &Ctx<'_>, role: Role) -> Result<Target, Fault> {
    let session = ctx.session()?;
    match (session.role, role) {
        (Role::CryptoOfficer, Role::CryptoUser) => Ok(Target {
            partition: ctx.partition.clone(),
            role,
        }),
        _ => Err(Status::RoleNotPermitted.into()),
    }
}

/// Checks `pin` against the role's verifier, counting the attempt durably first.
///
/// A role with no PIN yet answers `PinIncorrect`, as a wrong PIN does, after the same work:
/// its attempt is counted and a decoy verifier (that nothing matches) is computed at the
/// configured cost, so neither the status nor the time of the answer tells whether a role
/// has a PIN. A locked role answers `PinLocked` without comparing. Concurrent attempts each
/// get their own count from the store, and an attempt counted past the limit is refused
/// before comparing, so at most five wrong PINs are ever compared before an unlock.
fn check_pin(shared: &Shared, target: &Target, pin: &Pin) -> Result<(), Fault> {
    let slot = target.realm(shared).credential(target.role);
    if slot.locked() {
        return Err(Status::PinLocked.into());
    }
    let failures = target.count_attempt(shared)?;
    slot.set_failures(failures);
    if failures > MAX_PIN_FAILURES {
        return Err(Status::PinLocked.into());
    }
    let matched = match slot.verifier() {
        Some(verifier) => verifier.matches(&shared.engine, pin)?,
        None => {
            let decoy = PinVerifier::decoy(&shared.engine, shared.config.pin_iterations)?;
            let _ = decoy.matches(&shared.engine, pin)?;
            false
        }
    };
    if !matched {
        return Err(Status::PinIncorrect.into());
    }
    target.commit(
        shared,
        vec![Write::Put(
            record::counter(target.name(), target.role),
            record::zero_count(),
        )],
    )?;
    slot.set_failures(0);
    Ok(())
}

/// Sets a role's PIN and clears its failure counter, durably first.
fn store_pin(shared: &Shared, target: &Target, pin: &Pin) -> Result<(), Fault> {
    let verifier = PinVerifier::new(&shared.engine, pin, shared.config.pin_iterations)?;
    target.commit(
        shared,
        vec![
            Write::Put(
                record::credential(target.name(), target.role),
                verifier.to_bytes(),
            ),
            Write::Put(
                record::counter(target.name(), target.role),
                record::zero_count(),
            ),
        ],
    )?;
    let slot = target.realm(shared).credential(target.role);
    slot.set_verifier(Some(verifier));
    slot.set_failures(0);
    Ok(())
}
