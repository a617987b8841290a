//! Program memberships and invitations.
//!
//! The store keeps what [`transition`](crate::domain::transition) decided and nothing more:
//! every state change is a compare-and-set on the state the service read, so two merchants'
//! tabs (or an influencer withdrawing while the merchant approves) cannot both win.

use crate::auth::TokenHash;
use crate::domain::*;
use crate::store::{Page, RepoResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Program memberships and invitations.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MembershipRepo: Send + Sync {
    /// Stores a membership; [`RepoError::MembershipExists`](crate::RepoError::MembershipExists)
    /// if the influencer already has one in the program (decided atomically: of two concurrent
    /// inserts exactly one succeeds), `NotFound(..)` for a missing program or influencer.
    async fn insert_membership(&self, membership: NewMembership) -> RepoResult<Membership>;

    /// The influencer's membership of the program, if any.
    async fn membership_of(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
    ) -> RepoResult<Option<Membership>>;

    /// Moves the membership `id` from `from` to `to`; `None` if it is no longer in `from`
    /// (someone changed it since it was read), `NotFound(Membership)` if it is gone.
    async fn set_membership_state(
        &self,
        id: MembershipId,
        from: MembershipState,
        to: MembershipState,
    ) -> RepoResult<Option<Membership>>;

    /// Deletes the membership `id` if it is still in `from`; `false` if it is not (or gone).
    async fn delete_membership(&self, id: MembershipId, from: MembershipState) -> RepoResult<bool>;

    /// The influencer's memberships, oldest first.
    async fn memberships_of_influencer(
        &self,
        influencer: InfluencerId,
    ) -> RepoResult<Vec<Membership>>;

    /// The program's memberships in `state` (all states if `None`), in id order, one page at a
    /// time, each with the sums of the member's links' totals on the program
    /// ([`MemberStats`]).
    async fn members_of_program(
        &self,
        program: ProgramId,
        state: Option<MembershipState>,
        page: Page<MembershipId>,
    ) -> RepoResult<Vec<MemberStats>>;

    /// Stores an invitation; `NotFound(Program)` if the program does not exist.
    async fn insert_invitation(&self, invitation: NewInvitation) -> RepoResult<Invitation>;

    /// The invitation whose token hashes to `hash`, accepted or not.
    async fn invitation_by_token(&self, hash: &TokenHash) -> RepoResult<Invitation>;

    /// Marks the invitation accepted at `now` if it is still open then; `false` if it was
    /// accepted already (by a concurrent call too: exactly one caller gets `true`) or expired.
    async fn accept_invitation(&self, id: InvitationId, now: DateTime<Utc>) -> RepoResult<bool>;
}
