//! Coupon codes that belong to one influencer: a member asks for a code on one of her links,
//! the merchant assigns codes to members' links, approves requests and revokes codes.
//!
//! Only the merchant makes a code attribute: a requested code attributes nothing, and an
//! assigned one only orders placed from its assignment on
//! ([`crate::earning::attribution`]). A code is unique per merchant in any case among the codes
//! not revoked; the store decides it atomically, so two influencers claiming one code at once
//! get one owner and one [`Conflict::CodeTaken`].

use super::profiles::{own_influencer, own_merchant};
use super::{Actor, Conflict, Rejection, ServiceError, ServiceResult};
use crate::domain::*;
use crate::store::*;
use chrono::{DateTime, SubsecRound, Utc};

/// How often a revocation is retried when concurrent changes of the code keep moving it on.
// A code changes state at most twice (requested → assigned → revoked): three reads see it settle.
const REVOKE_ATTEMPTS: usize = 3;

impl From<CouponTransitionError> for ServiceError {
    fn from(err: CouponTransitionError) -> Self {
        match err {
            CouponTransitionError::NotRequested => Conflict::CodeNotRequested.into(),
        }
    }
}

/// The link `link_id` if it earns under one of `merchant`'s programs; `NotFound(Link)` if not,
/// exactly as if it did not exist.
async fn merchants_link<S>(
    store: &S,
    merchant: MerchantId,
    link_id: LinkId,
) -> ServiceResult<TrackingLink>
where
    S: ProgramRepo + LinkRepo + ?Sized,
{
    let link = store.link_by_id(link_id).await?;
    let program = store.program_by_id(link.program_id).await?;
    if program.merchant_id != merchant {
        return Err(ServiceError::NotFound(Entity::Link));
    }
    Ok(link)
}

/// The actor's merchant's code `id`; another merchant's is `NotFound`.
/// Refuses a code for an influencer who is not an approved member of the link's program.
async fn require_member<S>(
    store: &S,
    program: ProgramId,
    influencer: InfluencerId,
) -> ServiceResult<()>
where
    S: MembershipRepo + ?Sized,
{
    if super::memberships::is_approved_member(store, program, influencer).await? {
        Ok(())
    } else {
        Err(Rejection::CodeOwnerNotMember.into())
    }
}

async fn merchants_code<S>(store: &S, actor: &Actor, id: CouponCodeId) -> ServiceResult<CouponCode>
where
    S: MerchantRepo + CouponCodeRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let code = store.coupon_code_by_id(id).await?;
    if code.merchant_id != merchant.id {
        return Err(ServiceError::NotFound(Entity::CouponCode));
    }
    Ok(code)
}

/// Assigns `code` to `link_id`, a link on one of the actor's merchant's programs: it attributes
/// the merchant's orders placed from `now` on. [`Conflict::CodeTaken`] if the merchant has the
/// code (in any case) requested or assigned already.
pub async fn assign<S>(
    store: &S,
    actor: &Actor,
    now: DateTime<Utc>,
    link_id: LinkId,
    code: CodeText,
) -> ServiceResult<CouponCode>
where
    S: MerchantRepo + ProgramRepo + LinkRepo + MembershipRepo + CouponCodeRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let link = merchants_link(store, merchant.id, link_id).await?;
    require_member(store, link.program_id, link.influencer_id).await?;
    // PostgreSQL keeps microseconds: both stores answer the same instant.
    let now = now.trunc_subsecs(6);
    Ok(store
        .insert_coupon_code(NewCouponCode {
            id: CouponCodeId::new(),
            merchant_id: merchant.id,
            code,
            link_id: link.id,
            created_at: now,
            assigned_at: Some(now),
        })
        .await?)
}

/// Approves a code a member requested: it attributes orders placed from `now` on.
/// [`Conflict::CodeNotRequested`] unless it is awaiting approval.
pub async fn approve<S>(
    store: &S,
    actor: &Actor,
    now: DateTime<Utc>,
    id: CouponCodeId,
) -> ServiceResult<CouponCode>
where
    S: MerchantRepo + LinkRepo + MembershipRepo + CouponCodeRepo + ?Sized,
{
    let code = merchants_code(store, actor, id).await?;
    let link = store.link_by_id(code.link_id).await?;
    require_member(store, link.program_id, code.influencer_id).await?;
    let approved = code.approved(now.trunc_subsecs(6))?;
    if !store.transition_coupon_code(code.state, &approved).await? {
        // Approved or revoked by a concurrent request in between.
        return Err(Conflict::CodeNotRequested.into());
    }
    Ok(approved)
}

/// Revokes one of the actor's merchant's codes (or declines a request): it attributes no order
/// placed from `now` on, while the orders it attributed stay attributed. Revoking a revoked
/// code changes nothing.
pub async fn revoke<S>(
    store: &S,
    actor: &Actor,
    now: DateTime<Utc>,
    id: CouponCodeId,
) -> ServiceResult<CouponCode>
where
    S: MerchantRepo + CouponCodeRepo + ?Sized,
{
    let now = now.trunc_subsecs(6);
    let mut code = merchants_code(store, actor, id).await?;
    for _ in 0..REVOKE_ATTEMPTS {
        let revoked = code.revoked(now);
        if revoked == code || store.transition_coupon_code(code.state, &revoked).await? {
            return Ok(revoked);
        }
        code = store.coupon_code_by_id(id).await?;
    }
    Err(ServiceError::Internal(
        "the coupon code kept changing while being revoked".into(),
    ))
}

/// The actor's merchant's codes, revoked ones included, in id order.
pub async fn list_for_merchant<S>(
    store: &S,
    actor: &Actor,
    page: Page<CouponCodeId>,
) -> ServiceResult<Vec<CouponCode>>
where
    S: MerchantRepo + CouponCodeRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    Ok(store.coupon_codes_by_merchant(merchant.id, page).await?)
}

/// Asks the link's merchant for `code` on `link_id`, one of the actor's own links. The code is
/// reserved for her at once (nobody else can claim it) but attributes nothing until the
/// merchant approves it.
pub async fn request<S>(
    store: &S,
    actor: &Actor,
    now: DateTime<Utc>,
    link_id: LinkId,
    code: CodeText,
) -> ServiceResult<CouponCode>
where
    S: InfluencerRepo + ProgramRepo + LinkRepo + CouponCodeRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let link = store.link_by_id(link_id).await?;
    if link.influencer_id != influencer.id {
        return Err(ServiceError::NotFound(Entity::Link));
    }
    let program = store.program_by_id(link.program_id).await?;
    Ok(store
        .insert_coupon_code(NewCouponCode {
            id: CouponCodeId::new(),
            merchant_id: program.merchant_id,
            code,
            link_id: link.id,
            created_at: now.trunc_subsecs(6),
            assigned_at: None,
        })
        .await?)
}

/// The codes owned by the actor's links, revoked ones included, in id order.
pub async fn list_own<S>(
    store: &S,
    actor: &Actor,
    page: Page<CouponCodeId>,
) -> ServiceResult<Vec<CouponCode>>
where
    S: InfluencerRepo + CouponCodeRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    Ok(store
        .coupon_codes_by_influencer(influencer.id, page)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{new_link, new_user, Fixture};
    use crate::MemoryStore;

    async fn actor(store: &MemoryStore, user: &User) -> Actor {
        Actor::new(store.user_by_id(user.id).await.unwrap()).unwrap()
    }

    fn text(code: &str) -> CodeText {
        CodeText::parse(code).unwrap()
    }

    #[tokio::test]
    async fn a_merchant_assigns_only_to_links_of_its_own_programs() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let other = Fixture::create(&store).await;
        let theirs = store.insert_link(new_link(&other, "theirs")).await.unwrap();
        let merchant = actor(&store, &f.merchant_user).await;
        assert!(matches!(
            assign(&store, &merchant, Utc::now(), theirs.id, text("ANA20")).await,
            Err(ServiceError::NotFound(Entity::Link))
        ));
        let mine = store.insert_link(new_link(&f, "mine")).await.unwrap();
        let code = assign(&store, &merchant, Utc::now(), mine.id, text("Ana20"))
            .await
            .unwrap();
        assert_eq!(
            (code.state, code.influencer_id, code.code.as_str()),
            (CouponState::Assigned, f.influencer.id, "Ana20")
        );
        let influencer = actor(&store, &f.influencer_user).await;
        assert!(matches!(
            assign(&store, &influencer, Utc::now(), mine.id, text("X")).await,
            Err(ServiceError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn an_influencer_requests_codes_only_on_her_own_links_and_the_merchant_approves() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let link = store.insert_link(new_link(&f, "ana")).await.unwrap();
        let bea_user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        store
            .create_influencer(crate::testkit::new_influencer(bea_user.id))
            .await
            .unwrap();
        let bea = actor(&store, &bea_user).await;
        assert!(matches!(
            request(&store, &bea, Utc::now(), link.id, text("BEA10")).await,
            Err(ServiceError::NotFound(Entity::Link))
        ));
        let ana = actor(&store, &f.influencer_user).await;
        let asked = request(&store, &ana, Utc::now(), link.id, text("ana20"))
            .await
            .unwrap();
        assert_eq!(
            (asked.state, asked.assigned_at),
            (CouponState::Requested, None)
        );
        assert!(matches!(
            request(&store, &ana, Utc::now(), link.id, text("ANA20")).await,
            Err(ServiceError::Conflict(Conflict::CodeTaken))
        ));
        let other_merchant = Fixture::create(&store).await;
        let stranger = actor(&store, &other_merchant.merchant_user).await;
        assert!(matches!(
            approve(&store, &stranger, Utc::now(), asked.id).await,
            Err(ServiceError::NotFound(Entity::CouponCode))
        ));
        let merchant = actor(&store, &f.merchant_user).await;
        let approved = approve(&store, &merchant, Utc::now(), asked.id)
            .await
            .unwrap();
        assert_eq!(approved.state, CouponState::Assigned);
        assert_eq!(store.coupon_code_by_id(asked.id).await.unwrap(), approved);
        assert!(matches!(
            approve(&store, &merchant, Utc::now(), asked.id).await,
            Err(ServiceError::Conflict(Conflict::CodeNotRequested))
        ));
        let revoked = revoke(&store, &merchant, Utc::now(), asked.id)
            .await
            .unwrap();
        assert_eq!(revoked.state, CouponState::Revoked);
        let again = revoke(&store, &merchant, Utc::now(), asked.id)
            .await
            .unwrap();
        assert_eq!(again.revoked_at, revoked.revoked_at);
        let mine = list_own(&store, &ana, Page::first()).await.unwrap();
        assert_eq!(mine, vec![revoked]);
        assert!(list_own(&store, &bea, Page::first())
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            list_for_merchant(&store, &merchant, Page::first())
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(list_for_merchant(&store, &stranger, Page::first())
            .await
            .unwrap()
            .is_empty());
    }
}
