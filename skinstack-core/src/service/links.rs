//! Creating tracking links: which links may exist, and getting each a unique slug.

use super::memberships::{require_member, MemberCheck};
use super::profiles::own_influencer;
use super::{Actor, ServiceError, ServiceResult};
use crate::domain::*;
use crate::domain::{Slug, SlugPolicy};
use crate::error::ValidationError;
use crate::store::*;
use chrono::{DateTime, Utc};

/// An influencer's request for a new link: the same whether the influencer is the actor
/// ([`create_own`]) or named by a trusted caller ([`create_link`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateLink {
    /// The program it earns under; must be active, and its merchant too.
    pub program_id: ProgramId,
    /// The product it promotes; must be the program's merchant's.
    pub product_id: Option<ProductId>,
    /// Where it leads; defaults to the product's page, else the merchant's website. Must be on
    /// the merchant's website host or a subdomain of it.
    pub destination_url: Option<WebUrl>,
    /// A chosen slug; generated when absent.
    pub custom_slug: Option<Slug>,
    /// A coupon code attributing orders to the link.
    pub campaign_code: Option<CampaignCode>,
    /// UTM parameters (the seed's defaults unless given).
    pub utm: Utm,
    /// When it stops redirecting; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a link could not be created.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The influencer, program or product does not exist.
    #[error("{0} not found")]
    NotFound(Entity),
    /// A link rule refused it.
    #[error(transparent)]
    Refused(#[from] LinkRefusal),
    /// The chosen slug is in use.
    #[error("slug is already taken")]
    SlugTaken,
    /// Every attempt the slug policy allows collided; the slug space is too crowded.
    #[error("no free slug found within the slug policy's attempts")]
    SlugSpaceExhausted,
    /// A value the store refused.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Storage(RepoError),
}

/// A link rule that refused a link, with the request field at fault ([`LinkRefusal::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// The program takes no new links.
    #[error("the program is not active")]
    ProgramInactive,
    /// The merchant is deactivated.
    #[error("the merchant is not active")]
    MerchantInactive,
    /// The merchant is not verified yet: its links could not redirect.
    #[error("the merchant is not verified yet")]
    MerchantUnverified,
    /// The product belongs to another merchant than the program.
    #[error("the product does not belong to the program's merchant")]
    ProductOfAnotherMerchant,
    /// The destination is not on the merchant's website: it would be an open redirect.
    #[error("destination host {host} is not the merchant's website or a subdomain of it")]
    DestinationNotAllowed {
        /// The refused host.
        host: String,
    },
    /// `expires_at` is not in the future.
    #[error("expires_at must be in the future")]
    ExpiryInPast,
    /// The influencer is not an approved member of the program.
    #[error("the influencer is not an approved member of the program")]
    NotAMember,
}

impl LinkRefusal {
    /// The request field at fault: an inactive program or merchant is the `program_id`'s.
    pub fn field(&self) -> &'static str {
        match self {
            LinkRefusal::ProgramInactive
            | LinkRefusal::MerchantInactive
            | LinkRefusal::NotAMember
            | LinkRefusal::MerchantUnverified => "program_id",
            LinkRefusal::ProductOfAnotherMerchant => "product_id",
            LinkRefusal::DestinationNotAllowed { .. } => "destination_url",
            LinkRefusal::ExpiryInPast => "expires_at",
        }
    }
}

impl From<RepoError> for LinkError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::NotFound(entity) => LinkError::NotFound(entity),
            RepoError::SlugTaken => LinkError::SlugTaken,
            RepoError::Invalid(invalid) => LinkError::Invalid(invalid),
            other => LinkError::Storage(other),
        }
    }
}

/// Creates a link for `influencer_id` (whom the caller has authenticated) after checking
/// every rule: the program and its merchant are active, the merchant is verified, the influencer
/// is an approved member of the program (in an `open` program, linking joins it), the product is
/// the merchant's, the destination stays on the merchant's site, the expiry is in the future. A
/// generated slug is
/// retried on collision as `policy` says.
pub async fn create_link<S>(
    store: &S,
    policy: &SlugPolicy,
    now: DateTime<Utc>,
    influencer_id: InfluencerId,
    request: CreateLink,
) -> Result<TrackingLink, LinkError>
where
    S: InfluencerRepo
        + MerchantRepo
        + ProgramRepo
        + ProductRepo
        + LinkRepo
        + MembershipRepo
        + ?Sized,
{
    store.influencer_by_id(influencer_id).await?;
    let program = store.program_by_id(request.program_id).await?;
    if !program.is_active {
        return Err(LinkRefusal::ProgramInactive.into());
    }
    let merchant = store.merchant_by_id(program.merchant_id).await?;
    if !merchant.is_active {
        return Err(LinkRefusal::MerchantInactive.into());
    }
    if !merchant.verification.is_verified() {
        return Err(LinkRefusal::MerchantUnverified.into());
    }
    let product = match request.product_id {
        Some(id) => {
            let product = store.product_by_id(id).await?;
            if product.merchant_id != merchant.id {
                return Err(LinkRefusal::ProductOfAnotherMerchant.into());
            }
            Some(product)
        }
        None => None,
    };
    let destination_url = request
        .destination_url
        .or_else(|| product.as_ref().map(|p| p.product_url.clone()))
        .unwrap_or_else(|| merchant.website_url.as_web_url().clone());
    if !destination_url.is_within_site(merchant.website_url.as_web_url()) {
        return Err(LinkRefusal::DestinationNotAllowed {
            host: destination_url.host().to_owned(),
        }
        .into());
    }
    if request.expires_at.is_some_and(|t| t <= now) {
        return Err(LinkRefusal::ExpiryInPast.into());
    }
    // Last of the checks that refuse, since in an open program it records the membership.
    match require_member(store, &program, influencer_id).await {
        Ok(()) => {}
        Err(MemberCheck::Refused(refusal)) => return Err(refusal.into()),
        Err(MemberCheck::Storage(err)) => return Err(err.into()),
    }
    let link = NewLink {
        slug: request
            .custom_slug
            .clone()
            .unwrap_or_else(|| policy.generate(6)),
        influencer_id,
        program_id: program.id,
        product_id: request.product_id,
        destination_url,
        campaign_code: request.campaign_code,
        utm: request.utm,
        expires_at: request.expires_at,
        created_at: now,
    };
    match request.custom_slug {
        Some(_) => Ok(store.insert_link(link).await?),
        None => insert_with_fresh_slug(store, policy, link).await,
    }
}

/// Inserts `link` under freshly generated slugs until one is free, growing the length as
/// `policy` says; [`LinkError::SlugSpaceExhausted`] once its attempts are spent. The store
/// decides uniqueness atomically, so concurrent callers never get the same slug.
pub async fn insert_with_fresh_slug<L>(
    links: &L,
    policy: &SlugPolicy,
    mut link: NewLink,
) -> Result<TrackingLink, LinkError>
where
    L: LinkRepo + ?Sized,
{
    for length in policy.lengths() {
        link.slug = policy.generate(length);
        match links.insert_link(link.clone()).await {
            Err(RepoError::SlugTaken) => continue,
            result => return Ok(result?),
        }
    }
    Err(LinkError::SlugSpaceExhausted)
}

/// Creates a link for the actor's influencer profile with [`create_link`]'s rules.
pub async fn create_own<S>(
    store: &S,
    policy: &SlugPolicy,
    now: DateTime<Utc>,
    actor: &Actor,
    request: CreateLink,
) -> ServiceResult<TrackingLink>
where
    S: InfluencerRepo
        + MerchantRepo
        + ProgramRepo
        + ProductRepo
        + LinkRepo
        + MembershipRepo
        + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    Ok(create_link(store, policy, now, influencer.id, request).await?)
}

/// The actor's links with their counters, newest first.
pub async fn list_own<S>(store: &S, actor: &Actor) -> ServiceResult<Vec<TrackingLink>>
where
    S: InfluencerRepo + LinkRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    Ok(store.links_by_influencer(influencer.id).await?)
}

/// The link `id` if it is the actor's; `NotFound` otherwise.
pub async fn owned<S>(store: &S, actor: &Actor, id: LinkId) -> ServiceResult<TrackingLink>
where
    S: InfluencerRepo + LinkRepo + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let link = store.link_by_id(id).await?;
    if link.influencer_id != influencer.id {
        return Err(ServiceError::NotFound(Entity::Link));
    }
    Ok(link)
}

/// Changes one of the actor's links: turns it on or off, sets or clears its expiry (a new
/// expiry must be in the future), replaces its UTM parameters.
pub async fn update_own<S>(
    store: &S,
    now: DateTime<Utc>,
    actor: &Actor,
    id: LinkId,
    patch: LinkPatch,
) -> ServiceResult<TrackingLink>
where
    S: InfluencerRepo + LinkRepo + ?Sized,
{
    let link = owned(store, actor, id).await?;
    if let Some(Some(expiry)) = patch.expires_at {
        if expiry <= now {
            return Err(LinkError::from(LinkRefusal::ExpiryInPast).into());
        }
    }
    Ok(store.update_link(link.id, patch).await?)
}

/// Deletes one of the actor's links; its slug becomes free.
pub async fn delete_own<S>(store: &S, actor: &Actor, id: LinkId) -> ServiceResult<()>
where
    S: InfluencerRepo + LinkRepo + ?Sized,
{
    let link = owned(store, actor, id).await?;
    Ok(store.delete_link(link.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MockLinkRepo;
    use crate::testkit::{new_influencer, new_user, Fixture};
    use crate::MemoryStore;
    use std::collections::HashSet;

    fn request(f: &Fixture) -> CreateLink {
        f.link_request()
    }

    fn template(f: &Fixture) -> NewLink {
        NewLink {
            slug: Slug::parse("placeholder").unwrap(),
            influencer_id: f.influencer.id,
            program_id: f.program.id,
            product_id: None,
            destination_url: f.merchant.website_url.as_web_url().clone(),
            campaign_code: None,
            utm: Utm::default(),
            expires_at: None,
            created_at: Utc::now(),
        }
    }

    /// What a store would return for `link`.
    fn stored(link: &NewLink) -> TrackingLink {
        let now = Utc::now();
        TrackingLink {
            id: LinkId::new(),
            slug: link.slug.clone(),
            influencer_id: link.influencer_id,
            program_id: link.program_id,
            product_id: link.product_id,
            destination_url: link.destination_url.clone(),
            campaign_code: link.campaign_code.clone(),
            utm: link.utm.clone(),
            total_clicks: 0,
            total_conversions: 0,
            total_revenue: rust_decimal::Decimal::ZERO,
            total_commission: rust_decimal::Decimal::ZERO,
            currency: Currency::USD,
            is_active: true,
            expires_at: link.expires_at,
            created_at: now,
            updated_at: now,
        }
    }

    async fn fixture() -> (MemoryStore, Fixture) {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        (store, f)
    }

    #[tokio::test]
    async fn a_link_defaults_to_the_products_page_with_a_six_character_slug() {
        let (store, f) = fixture().await;
        let link = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            request(&f),
        )
        .await
        .unwrap();
        assert_eq!(link.destination_url, f.product.product_url);
        assert_eq!(link.slug.as_str().len(), 6);
        assert_eq!(store.link_by_slug(&link.slug).await.unwrap().id, link.id);
    }

    #[tokio::test]
    async fn destinations_off_the_merchants_site_are_refused() {
        let (store, f) = fixture().await;
        for evil in [
            "https://evil.com/",
            "https://glowco.com.evil.com/",
            "https://glowco.com:444/",
        ] {
            let mut req = request(&f);
            req.destination_url = Some(WebUrl::parse(evil).unwrap());
            let err = create_link(
                &store,
                &SlugPolicy::default(),
                Utc::now(),
                f.influencer.id,
                req,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    LinkError::Refused(LinkRefusal::DestinationNotAllowed { .. })
                ),
                "{evil}: {err:?}"
            );
        }
        let mut req = request(&f);
        req.destination_url = Some(WebUrl::parse("https://shop.glowco.com/sale").unwrap());
        assert!(create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            req
        )
        .await
        .is_ok());
    }

    #[tokio::test]
    async fn inactive_programs_and_merchants_take_no_links() {
        let (store, f) = fixture().await;
        store.set_program_active(f.program.id, false).await.unwrap();
        let err = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            request(&f),
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            LinkError::Refused(LinkRefusal::ProgramInactive)
        ));
        store.set_program_active(f.program.id, true).await.unwrap();
        store
            .set_merchant_active(f.merchant.id, false)
            .await
            .unwrap();
        let err = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            request(&f),
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            LinkError::Refused(LinkRefusal::MerchantInactive)
        ));
    }

    #[tokio::test]
    async fn only_approved_members_link_and_linking_joins_an_open_program() {
        let (store, f) = fixture().await;
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let newcomer = store
            .create_influencer(new_influencer(user.id))
            .await
            .unwrap();
        let policy = SlugPolicy::default();
        let attempt =
            |who: InfluencerId| create_link(&store, &policy, Utc::now(), who, request(&f));
        assert!(matches!(
            attempt(newcomer.id).await,
            Err(LinkError::Refused(LinkRefusal::NotAMember))
        ));
        let pending = store
            .insert_membership(NewMembership {
                program_id: f.program.id,
                influencer_id: newcomer.id,
                state: MembershipState::Pending,
                message: None,
            })
            .await
            .unwrap();
        assert!(matches!(
            attempt(newcomer.id).await,
            Err(LinkError::Refused(LinkRefusal::NotAMember))
        ));
        store
            .set_membership_state(
                pending.id,
                MembershipState::Pending,
                MembershipState::Approved,
            )
            .await
            .unwrap();
        assert!(attempt(newcomer.id).await.is_ok());

        let open = store
            .update_program(
                f.program.id,
                ProgramPatch {
                    enrollment_mode: Some(EnrollmentMode::Open),
                    ..ProgramPatch::default()
                },
            )
            .await
            .unwrap();
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let walk_in = store
            .create_influencer(new_influencer(user.id))
            .await
            .unwrap();
        assert!(attempt(walk_in.id).await.is_ok());
        let joined = store.membership_of(open.id, walk_in.id).await.unwrap();
        assert_eq!(joined.map(|m| m.state), Some(MembershipState::Approved));
        store
            .set_membership_state(
                pending.id,
                MembershipState::Approved,
                MembershipState::Banned,
            )
            .await
            .unwrap();
        assert!(matches!(
            attempt(newcomer.id).await,
            Err(LinkError::Refused(LinkRefusal::NotAMember))
        ));
    }

    #[tokio::test]
    async fn an_unverified_merchant_takes_no_links() {
        let (store, f) = fixture().await;
        store
            .set_merchant_verification(f.merchant.id, Verification::Unverified)
            .await
            .unwrap();
        let err = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            request(&f),
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            LinkError::Refused(LinkRefusal::MerchantUnverified)
        ));
    }

    #[tokio::test]
    async fn products_of_another_merchant_are_refused() {
        let (store, f) = fixture().await;
        let other = Fixture::create(&store).await;
        let mut req = request(&f);
        req.product_id = Some(other.product.id);
        let err = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            req,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            LinkError::Refused(LinkRefusal::ProductOfAnotherMerchant)
        ));
    }

    #[tokio::test]
    async fn expiry_must_be_in_the_future() {
        let (store, f) = fixture().await;
        let now = Utc::now();
        let mut req = request(&f);
        req.expires_at = Some(now);
        let err = create_link(&store, &SlugPolicy::default(), now, f.influencer.id, req)
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::Refused(LinkRefusal::ExpiryInPast)));
    }

    #[tokio::test]
    async fn a_taken_custom_slug_is_reported_not_replaced() {
        let (store, f) = fixture().await;
        let mut req = request(&f);
        req.custom_slug = Some(Slug::custom("GlowUp").unwrap());
        let link = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            req.clone(),
        )
        .await
        .unwrap();
        assert_eq!(link.slug.as_str(), "glowup");
        let err = create_link(
            &store,
            &SlugPolicy::default(),
            Utc::now(),
            f.influencer.id,
            req,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, LinkError::SlugTaken));
    }

    #[tokio::test]
    async fn a_tiny_slug_space_never_yields_a_duplicate_and_ends_when_full() {
        let (store, f) = fixture().await;
        // 2³ + 2⁴ = 24 possible slugs, 4 attempts at each length.
        let policy = SlugPolicy::new("ab", 3, 4, 4).unwrap();
        let mut slugs = HashSet::new();
        let mut exhausted = 0;
        for _ in 0..60 {
            match create_link(&store, &policy, Utc::now(), f.influencer.id, request(&f)).await {
                Ok(link) => assert!(slugs.insert(link.slug.clone()), "duplicate {:?}", link.slug),
                Err(LinkError::SlugSpaceExhausted) => exhausted += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            slugs.len() >= 8 && slugs.len() <= 24,
            "{} slugs",
            slugs.len()
        );
        assert!(exhausted >= 36, "60 requests cannot all fit in 24 slugs");
        assert!(
            slugs.iter().any(|s| s.as_str().len() == 4),
            "length grows after collisions"
        );
    }

    #[tokio::test]
    async fn collisions_are_retried_with_fresh_slugs_then_longer_ones() {
        let (_, f) = fixture().await;
        let mut links = MockLinkRepo::new();
        let mut seq = mockall::Sequence::new();
        for _ in 0..3 {
            links
                .expect_insert_link()
                .times(1)
                .in_sequence(&mut seq)
                .withf(|l| l.slug.as_str().len() == 6)
                .returning(|_| Err(RepoError::SlugTaken));
        }
        let template = template(&f);
        let stored = stored(&template);
        links
            .expect_insert_link()
            .times(1)
            .in_sequence(&mut seq)
            .withf(|l| l.slug.as_str().len() == 7)
            .returning(move |l| {
                Ok(TrackingLink {
                    slug: l.slug,
                    ..stored.clone()
                })
            });
        let link = insert_with_fresh_slug(&links, &SlugPolicy::default(), template)
            .await
            .unwrap();
        assert_eq!(link.slug.as_str().len(), 7);
    }

    #[tokio::test]
    async fn storage_failures_are_not_retried() {
        let (_, f) = fixture().await;
        let mut links = MockLinkRepo::new();
        links
            .expect_insert_link()
            .times(1)
            .returning(|_| Err(RepoError::Backend("connection reset".into())));
        let template = template(&f);
        let err = insert_with_fresh_slug(&links, &SlugPolicy::default(), template)
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::Storage(RepoError::Backend(_))));
    }
}
