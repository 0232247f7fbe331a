//! The commands: one file per command family, each function serving one opcode after the
//! gate in [`crate::device`] has checked state, socket, session and role.

pub(crate) mod auth;
pub(crate) mod device;
pub(crate) mod partition;
pub(crate) mod session;

use ihsm_proto::{RequestBody, Status};

use crate::device::Ctx;
use crate::fault::Outcome;

pub(crate) fn dispatch(ctx: &Ctx<'_>, body: RequestBody) -> Outcome {
    use RequestBody as B;
    match body {
        B::GetStatus(_) => device::status(ctx.shared),
        B::InitializeAdmin(r) => device::initialize_admin(ctx, r),
        B::GetCredentialKey(_) => device::credential_key(ctx),
        B::Login(r) => auth::login(ctx, r),
        B::Logout(r) => auth::logout(ctx, r),
        B::IssueTicket(r) => auth::issue_ticket(ctx, r),
        B::AttachLogin(r) => auth::attach_login(ctx, r),
        B::SetPin(r) => auth::set_pin(ctx, r),
        B::ChangePin(r) => auth::change_pin(ctx, r),
        B::UnlockRole(r) => auth::unlock_role(ctx, r),
        B::OpenSession(r) => session::open(ctx, r),
        B::CloseSession(_) => session::close(ctx),
        B::CloseAllSessions(r) => session::close_all(ctx, r),
        B::GetSessionInfo(_) => session::info(ctx),
        B::CreatePartition(r) => partition::create(ctx, r),
        B::ListPartitions(_) => partition::list(ctx),
        B::DeletePartition(r) => partition::delete(ctx, r),
        B::GetPartitionPolicy(_) => partition::policy(ctx),
        B::SetPartitionPolicy(r) => partition::set_policy(ctx, r),
        B::ZeroizePartition(_) => partition::zeroize(ctx),
        _ => Err(Status::NotSupported.into()),
    }
}
