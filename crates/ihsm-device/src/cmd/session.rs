//! Session commands, and what closing a session destroys.

use std::sync::Arc;

use ihsm_proto::msgs::{
    CloseAllSessionsRequest, CloseAllSessionsResponse, CloseSessionResponse,
    GetSessionInfoResponse, OpenSessionRequest, OpenSessionResponse,
};
use ihsm_proto::{SessionId, Status};

use crate::device::Ctx;
use crate::fault::{Outcome, Served};
use crate::partition::Partition;
use crate::session::Session;

pub(crate) fn open(ctx: &Ctx<'_>, request: OpenSessionRequest) -> Outcome {
    let role = ctx.realm().login_role(request.login, ctx.conn.id)?;
    let id = SessionId::new(ctx.shared.random_id()?).ok_or(Status::Internal)?;
    ctx.realm().open_session(
        request.login,
        ctx.conn.id,
        Session::new(id, request.login, role),
        ctx.realm_limits(),
    )?;
    Ok(Served::plain(OpenSessionResponse { session: id }))
}

pub(crate) fn close(ctx: &Ctx<'_>) -> Outcome {
    let session = ctx.session()?;
    if let Some(session) = ctx.realm().close_session(session.id) {
        discard_all(ctx.partition.as_ref(), &[session]);
    }
    Ok(Served::plain(CloseSessionResponse {}))
}

pub(crate) fn close_all(ctx: &Ctx<'_>, request: CloseAllSessionsRequest) -> Outcome {
    let sessions = ctx.realm().close_all_sessions(request.login, ctx.conn.id)?;
    discard_all(ctx.partition.as_ref(), &sessions);
    Ok(Served::plain(CloseAllSessionsResponse {}))
}

pub(crate) fn info(ctx: &Ctx<'_>) -> Outcome {
    let session = ctx.session()?;
    Ok(Served::plain(GetSessionInfoResponse {
        role: session.role,
        partition: ctx.partition.as_ref().map(|p| p.name.clone()),
        login: session.login,
    }))
}

/// Ends sessions already removed from their realm: their operations stop and their session
/// objects are destroyed (each key zeroizes when its last holder drops it).
pub(crate) fn discard_all(partition: Option<&Arc<Partition>>, sessions: &[Arc<Session>]) {
    for session in sessions {
        match partition {
            Some(partition) => discard(partition, session),
            None => session.close(),
        }
    }
}

pub(crate) fn discard(partition: &Partition, session: &Session) {
    session.close();
    // Under the object lock, so a change of attributes in flight cannot put a destroyed
    // session object back. A deleted partition has no objects left to discard.
    let Ok(change) = partition.change() else {
        return;
    };
    let _objects = change.objects();
    let doomed: Vec<_> = partition
        .read()
        .objects
        .values()
        .filter(|object| {
            object
                .owner
                .is_some_and(|owner| owner.session == session.id)
        })
        .map(|object| object.handle)
        .collect();
    for handle in doomed {
        drop(partition.remove(handle));
    }
}
