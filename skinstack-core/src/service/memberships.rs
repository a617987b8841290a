//! Program enrollment: influencers apply, withdraw and accept invitations; merchants invite,
//! approve, reject and ban; both see where they stand.
//!
//! Every move asks [`transition`] whether it is legal and applies its answer as a
//! compare-and-set on the state it read, so a concurrent move makes this one fail with
//! [`Conflict::MembershipChanged`] instead of silently overwriting it. Ownership is checked
//! here: an influencer only ever sees their own memberships, a merchant only its own
//! programs' (someone else's is `NotFound`, exactly as if it did not exist).

use super::profiles::{own_influencer, own_merchant};
use super::programs;
use super::{Actor, Conflict, ServiceError, ServiceResult};
use crate::domain::*;
use crate::service::links::LinkRefusal;
use crate::store::*;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// An open program with where the asking influencer stands in it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    /// The program.
    pub program: Program,
    /// The influencer's membership state, `None` if they have none.
    pub state: Option<MembershipState>,
}

/// The decisions a merchant takes on a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept an application (or a rejected one after all).
    Approve,
    /// Turn an application down.
    Reject,
    /// Remove the influencer: their links stop redirecting.
    Ban,
}

impl From<Decision> for MembershipAction {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve => MembershipAction::Approve,
            Decision::Reject => MembershipAction::Reject,
            Decision::Ban => MembershipAction::Ban,
        }
    }
}

/// A fresh invitation and its token, which is shown this once.
#[derive(Debug, Clone)]
pub struct Invited {
    /// The stored invitation.
    pub invitation: Invitation,
    /// The token the invitee accepts it with; only its hash is stored.
    pub token: InviteToken,
}

/// Applies `action` to the influencer's membership `current` of `program`, as
/// [`transition`] rules: creates, moves or removes it. `None` when it was removed.
async fn apply_transition<S>(
    store: &S,
    program: &Program,
    influencer: InfluencerId,
    current: Option<Membership>,
    action: MembershipAction,
    message: Option<ApplicationMessage>,
) -> ServiceResult<Option<Membership>>
where
    S: MembershipRepo + ?Sized,
{
    let next = transition(
        program.enrollment_mode,
        current.as_ref().map(|m| m.state),
        action,
    )?;
    match (current, next) {
        (None, Transition::To(state)) => {
            let created = store
                .insert_membership(NewMembership {
                    program_id: program.id,
                    influencer_id: influencer,
                    state,
                    message,
                })
                .await;
            match created {
                Ok(m) => Ok(Some(m)),
                // A concurrent call created it first: the store kept one membership.
                Err(RepoError::MembershipExists) => Err(Conflict::MembershipExists.into()),
                Err(other) => Err(other.into()),
            }
        }
        (Some(m), Transition::To(state)) if m.state == state => Ok(Some(m)),
        (Some(m), Transition::To(state)) => store
            .set_membership_state(m.id, m.state, state)
            .await?
            .map(Some)
            .ok_or(Conflict::MembershipChanged.into()),
        (Some(m), Transition::Remove) => {
            if store.delete_membership(m.id, m.state).await? {
                Ok(None)
            } else {
                Err(Conflict::MembershipChanged.into())
            }
        }
        (None, Transition::Remove) => Ok(None),
    }
}

/// A program an influencer may see: it is open (active, of an active merchant).
async fn open_program<S>(store: &S, id: ProgramId) -> ServiceResult<Program>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    let program = store.program_by_id(id).await?;
    let merchant = store.merchant_by_id(program.merchant_id).await?;
    if program.is_open(&merchant) {
        Ok(program)
    } else {
        Err(ServiceError::NotFound(Entity::Program))
    }
}

/// The actor (an influencer) applies to the open program `id`, with an optional message: in
/// an `open` program they are a member at once, in an `approval` one the application waits
/// for the merchant, an `invite` one refuses.
pub async fn apply<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    message: Option<ApplicationMessage>,
) -> ServiceResult<Membership>
where
    S: InfluencerRepo + MerchantRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let program = open_program(store, id).await?;
    let current = store.membership_of(program.id, influencer.id).await?;
    apply_transition(
        store,
        &program,
        influencer.id,
        current,
        MembershipAction::Apply,
        message,
    )
    .await?
    .ok_or(ServiceError::NotFound(Entity::Membership))
}

/// The actor withdraws their pending application to program `id`.
pub async fn withdraw<S>(store: &S, actor: &Actor, id: ProgramId) -> ServiceResult<()>
where
    S: InfluencerRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let program = store.program_by_id(id).await?;
    let current = store
        .membership_of(program.id, influencer.id)
        .await?
        .ok_or(ServiceError::NotFound(Entity::Membership))?;
    apply_transition(
        store,
        &program,
        influencer.id,
        Some(current),
        MembershipAction::Withdraw,
        None,
    )
    .await?;
    Ok(())
}

/// The actor's memberships, oldest first.
pub async fn own_memberships<S>(store: &S, actor: &Actor) -> ServiceResult<Vec<Membership>>
where
    S: InfluencerRepo + MembershipRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    Ok(store.memberships_of_influencer(influencer.id).await?)
}

/// The open programs, a page at a time, each with the actor's (an influencer's) state in it.
pub async fn directory<S>(
    store: &S,
    actor: &Actor,
    page: Page<ProgramId>,
) -> ServiceResult<Vec<DirectoryEntry>>
where
    S: InfluencerRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let states: HashMap<ProgramId, MembershipState> = store
        .memberships_of_influencer(influencer.id)
        .await?
        .into_iter()
        .map(|m| (m.program_id, m.state))
        .collect();
    Ok(store
        .open_programs(page)
        .await?
        .into_iter()
        .map(|program| DirectoryEntry {
            state: states.get(&program.id).copied(),
            program,
        })
        .collect())
}

/// The actor (a merchant) invites whoever holds `email` to its program `id`. The invitation
/// is accepted with the returned token, by that address's influencer account, once, before
/// [`INVITATION_TTL`] has passed. If the address already has an influencer profile, it also
/// shows as `invited` on their Programs page and among the program's members (so the merchant
/// learns that this address has an influencer account, as it would from any application); the
/// answer itself is the same either way.
pub async fn invite<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    email: Email,
    now: DateTime<Utc>,
) -> ServiceResult<Invited>
where
    S: UserRepo + InfluencerRepo + MerchantRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let program = programs::owned(store, actor, id).await?;
    if let Some(influencer) = influencer_of_email(store, &email).await? {
        let current = store.membership_of(program.id, influencer.id).await?;
        apply_transition(
            store,
            &program,
            influencer.id,
            current,
            MembershipAction::Invite,
            None,
        )
        .await?;
    }
    let token = InviteToken::generate().map_err(|e| ServiceError::Internal(Box::new(e)))?;
    let invitation = store
        .insert_invitation(NewInvitation {
            program_id: program.id,
            email,
            token_hash: token.hash(),
            expires_at: now + INVITATION_TTL,
        })
        .await?;
    Ok(Invited { invitation, token })
}

async fn influencer_of_email<S>(store: &S, email: &Email) -> ServiceResult<Option<Influencer>>
where
    S: UserRepo + InfluencerRepo + ?Sized,
{
    let user = match store.user_by_email(email).await {
        Ok(user) => user,
        Err(RepoError::NotFound(_)) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    if user.role != Role::Influencer {
        return Ok(None);
    }
    match store.influencer_by_user(user.id).await {
        Ok(influencer) => Ok(Some(influencer)),
        Err(RepoError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The actor (an influencer) accepts the invitation `token`: it must be addressed to their
/// account's email, unexpired and not yet accepted. Anything else is `NotFound`, so a token
/// cannot be probed. Accepting makes them an approved member.
pub async fn accept_invite<S>(
    store: &S,
    actor: &Actor,
    token: &InviteToken,
    now: DateTime<Utc>,
) -> ServiceResult<Membership>
where
    S: InfluencerRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let invitation = store.invitation_by_token(&token.hash()).await?;
    if invitation.email != actor.user().email || !invitation.is_open_at(now) {
        return Err(ServiceError::NotFound(Entity::Invitation));
    }
    let program = store.program_by_id(invitation.program_id).await?;
    let current = store.membership_of(program.id, influencer.id).await?;
    // Decide before spending the invitation: a banned influencer's token stays unspent.
    transition(
        program.enrollment_mode,
        current.as_ref().map(|m| m.state),
        MembershipAction::AcceptInvite,
    )?;
    if !store.accept_invitation(invitation.id, now).await? {
        return Err(ServiceError::NotFound(Entity::Invitation));
    }
    apply_transition(
        store,
        &program,
        influencer.id,
        current,
        MembershipAction::AcceptInvite,
        None,
    )
    .await?
    .ok_or(ServiceError::NotFound(Entity::Membership))
}

/// The actor (a merchant) approves, rejects or bans `influencer` in its program `id`; a ban
/// goes through [`ban`].
pub async fn decide<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    influencer: InfluencerId,
    decision: Decision,
    now: DateTime<Utc>,
) -> ServiceResult<Membership>
where
    S: MerchantRepo + ProgramRepo + MembershipRepo + HoldRepo + ?Sized,
{
    if decision == Decision::Ban {
        return ban(store, actor, id, influencer, now).await;
    }
    move_member(store, actor, id, influencer, decision).await
}

/// The actor (a merchant) bans `influencer` from its program `id`. The ban takes effect on
/// the redirect at once: the resolvers read the membership with the link, and PostgreSQL's
/// change feed tells every process's cache (migration 0024). Every commission of the member in
/// that program not yet approved is held at `now` ([`HoldReason::MemberBanned`]) for the
/// merchant to release or void.
pub async fn ban<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    influencer: InfluencerId,
    now: DateTime<Utc>,
) -> ServiceResult<Membership>
where
    S: MerchantRepo + ProgramRepo + MembershipRepo + HoldRepo + ?Sized,
{
    let banned = move_member(store, actor, id, influencer, Decision::Ban).await?;
    store
        .hold_open_commissions(id, influencer, HoldReason::MemberBanned, now)
        .await?;
    Ok(banned)
}

async fn move_member<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    influencer: InfluencerId,
    decision: Decision,
) -> ServiceResult<Membership>
where
    S: MerchantRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let program = programs::owned(store, actor, id).await?;
    let current = store
        .membership_of(program.id, influencer)
        .await?
        .ok_or(ServiceError::NotFound(Entity::Membership))?;
    apply_transition(
        store,
        &program,
        influencer,
        Some(current),
        decision.into(),
        None,
    )
    .await?
    .ok_or(ServiceError::NotFound(Entity::Membership))
}

/// The memberships of the actor's (a merchant's) program `id` in `state` (any if `None`),
/// with each member's clicks, conversions and earnings in the program.
pub async fn members<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    state: Option<MembershipState>,
    page: Page<MembershipId>,
) -> ServiceResult<(Program, Vec<MemberStats>)>
where
    S: MerchantRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let program = programs::owned(store, actor, id).await?;
    let members = store.members_of_program(program.id, state, page).await?;
    Ok((program, members))
}

/// The memberships of every program of the actor's (a merchant's) merchant in `state`, for
/// the dashboard: one page of each program, programs oldest first.
pub async fn members_of_merchant<S>(
    store: &S,
    actor: &Actor,
    state: Option<MembershipState>,
) -> ServiceResult<Vec<(Program, Vec<MemberStats>)>>
where
    S: MerchantRepo + ProgramRepo + MembershipRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let mut all = Vec::new();
    for program in store.programs_by_merchant(merchant.id).await? {
        let members = store
            .members_of_program(program.id, state, Page::largest(None))
            .await?;
        all.push((program, members));
    }
    Ok(all)
}

/// Whether `influencer` may create a link in `program`: only an approved member may. In an
/// `open` program, someone with no membership yet joins by linking (joining approves at
/// once there), so the membership is recorded here.
pub(crate) async fn require_member<S>(
    store: &S,
    program: &Program,
    influencer: InfluencerId,
) -> Result<(), MemberCheck>
where
    S: MembershipRepo + ?Sized,
{
    let current = store
        .membership_of(program.id, influencer)
        .await
        .map_err(MemberCheck::Storage)?;
    match current.map(|m| m.state) {
        Some(MembershipState::Approved) => Ok(()),
        None if program.enrollment_mode == EnrollmentMode::Open => {
            let joined = store
                .insert_membership(NewMembership {
                    program_id: program.id,
                    influencer_id: influencer,
                    state: MembershipState::Approved,
                    message: None,
                })
                .await;
            match joined {
                Ok(_) => Ok(()),
                // A concurrent join (or application) won: decide on what it stored.
                Err(RepoError::MembershipExists) => {
                    match store
                        .membership_of(program.id, influencer)
                        .await
                        .map_err(MemberCheck::Storage)?
                        .map(|m| m.state)
                    {
                        Some(MembershipState::Approved) => Ok(()),
                        _ => Err(MemberCheck::Refused(LinkRefusal::NotAMember)),
                    }
                }
                Err(other) => Err(MemberCheck::Storage(other)),
            }
        }
        _ => Err(MemberCheck::Refused(LinkRefusal::NotAMember)),
    }
}

/// Whether `influencer` is an approved member of `program` now: what a coupon code for one
/// of their links needs.
pub(crate) async fn is_approved_member<S>(
    store: &S,
    program: ProgramId,
    influencer: InfluencerId,
) -> Result<bool, RepoError>
where
    S: MembershipRepo + ?Sized,
{
    let membership = store.membership_of(program, influencer).await?;
    Ok(membership.is_some_and(|m| m.state == MembershipState::Approved))
}

/// Why [`require_member`] said no.
#[derive(Debug)]
pub(crate) enum MemberCheck {
    Refused(LinkRefusal),
    Storage(RepoError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::memberships::newcomer;
    use crate::testkit::Fixture;
    use crate::MemoryStore;
    use chrono::Duration;

    async fn cast() -> (MemoryStore, Fixture, Actor, Actor, Influencer) {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let bea = newcomer(&store).await;
        let user = store.user_by_id(bea.user_id).await.unwrap();
        (store, f, merchant, Actor::new(user).unwrap(), bea)
    }

    #[tokio::test]
    async fn an_invitation_is_accepted_once_by_its_addressee_before_it_expires() {
        let (store, f, merchant, bea_actor, bea) = cast().await;
        let now = Utc::now();
        let email = bea_actor.user().email.clone();
        let invited = invite(&store, &merchant, f.program.id, email.clone(), now)
            .await
            .unwrap();
        let shown = store.membership_of(f.program.id, bea.id).await.unwrap();
        assert_eq!(shown.map(|m| m.state), Some(MembershipState::Invited));

        // Someone else's account, and the addressee once it has expired: not found alike.
        let ana = Actor::new(f.influencer_user.clone()).unwrap();
        assert!(matches!(
            accept_invite(&store, &ana, &invited.token, now).await,
            Err(ServiceError::NotFound(Entity::Invitation))
        ));
        let late = invited.invitation.expires_at;
        assert!(matches!(
            accept_invite(&store, &bea_actor, &invited.token, late).await,
            Err(ServiceError::NotFound(Entity::Invitation))
        ));

        let member = accept_invite(&store, &bea_actor, &invited.token, now + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(member.state, MembershipState::Approved);
        assert!(matches!(
            accept_invite(&store, &bea_actor, &invited.token, now + Duration::hours(2)).await,
            Err(ServiceError::NotFound(Entity::Invitation))
        ));
    }

    /// The ban holds what the member has not been paid for yet in that program, so
    /// `approve-due` cannot approve it behind the merchant's back.
    #[tokio::test]
    async fn a_ban_holds_the_members_open_commissions_in_that_program() {
        use crate::service::conversions::record_conversion;
        use crate::testkit::conversions::{cast as ledger_cast, cents, order, t0};
        let store = MemoryStore::new();
        let (f, _link) = ledger_cast(&store).await;
        let mut o = order(&f, "ban-1", cents(4500), t0());
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        let recorded = record_conversion(&store, t0(), o).await.unwrap();
        assert!(recorded.conversion.attribution.is_some());
        assert!(recorded.conversion.hold_reasons.is_empty());
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        ban(
            &store,
            &merchant,
            f.program.id,
            f.influencer.id,
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
        let held = store
            .conversion_by_id(recorded.conversion.id)
            .await
            .unwrap()
            .expect("the conversion is kept");
        assert_eq!(held.hold_reasons, vec![HoldReason::MemberBanned]);
        assert_eq!(held.held_at, Some(t0() + Duration::hours(1)));
    }

    #[tokio::test]
    async fn a_banned_influencer_stays_out_and_other_merchants_cannot_decide() {
        let (store, f, merchant, bea_actor, bea) = cast().await;
        let applied = apply(&store, &bea_actor, f.program.id, None).await.unwrap();
        assert_eq!(applied.state, MembershipState::Pending);
        let other = Fixture::create(&store).await;
        let stranger = Actor::new(other.merchant_user.clone()).unwrap();
        assert!(matches!(
            decide(
                &store,
                &stranger,
                f.program.id,
                bea.id,
                Decision::Ban,
                Utc::now()
            )
            .await,
            Err(ServiceError::NotFound(Entity::Program))
        ));
        let banned = ban(&store, &merchant, f.program.id, bea.id, Utc::now())
            .await
            .unwrap();
        assert_eq!(banned.state, MembershipState::Banned);
        assert!(matches!(
            apply(&store, &bea_actor, f.program.id, None).await,
            Err(ServiceError::Conflict(Conflict::Enrollment(
                TransitionRefused::Banned
            )))
        ));
        assert!(matches!(
            decide(
                &store,
                &merchant,
                f.program.id,
                bea.id,
                Decision::Approve,
                Utc::now()
            )
            .await,
            Err(ServiceError::Conflict(Conflict::Enrollment(
                TransitionRefused::Banned
            )))
        ));
    }

    #[tokio::test]
    async fn the_directory_shows_the_influencers_own_state_and_members_come_with_counts() {
        let (store, f, merchant, bea_actor, bea) = cast().await;
        apply(&store, &bea_actor, f.program.id, None).await.unwrap();
        let entries = directory(&store, &bea_actor, Page::first()).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].state, Some(MembershipState::Pending));
        let ana = Actor::new(f.influencer_user.clone()).unwrap();
        let entries = directory(&store, &ana, Page::first()).await.unwrap();
        assert_eq!(entries[0].state, Some(MembershipState::Approved));
        let (program, pending) = members(
            &store,
            &merchant,
            f.program.id,
            Some(MembershipState::Pending),
            Page::first(),
        )
        .await
        .unwrap();
        assert_eq!((program.id, pending.len()), (f.program.id, 1));
        assert_eq!(pending[0].membership.influencer_id, bea.id);
        assert!(matches!(
            members(&store, &ana, f.program.id, None, Page::first()).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
}
