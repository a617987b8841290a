//! Profiles: an influencer account's one influencer profile, a merchant account's one merchant.

use super::{Actor, Conflict, ServiceError, ServiceResult};
use crate::domain::*;
use crate::store::WebhookSecrets;
use crate::store::{Entity, InfluencerRepo, MerchantRepo, RepoError};

/// An influencer's profile as they describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct InfluencerProfile {
    /// Public name.
    pub display_name: Name,
    /// Instagram handle.
    pub instagram_handle: Option<Handle>,
    /// TikTok handle.
    pub tiktok_handle: Option<Handle>,
    /// YouTube handle.
    pub youtube_handle: Option<Handle>,
    /// Payout details.
    pub payout: PayoutSettings,
    /// Audience size.
    pub total_followers: Followers,
}

/// Changes to an influencer's profile; `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfluencerChanges {
    /// New public name.
    pub display_name: Option<Name>,
    /// New or cleared Instagram handle.
    pub instagram_handle: Option<Option<Handle>>,
    /// New or cleared TikTok handle.
    pub tiktok_handle: Option<Option<Handle>>,
    /// New or cleared YouTube handle.
    pub youtube_handle: Option<Option<Handle>>,
    /// New or cleared Stripe account.
    pub stripe_account_id: Option<Option<StripeAccountId>>,
    /// New or cleared PayPal address.
    pub paypal_email: Option<Option<Email>>,
    /// New or cleared preferred payout method.
    pub preferred_payout_method: Option<Option<PayoutMethod>>,
    /// New audience size.
    pub total_followers: Option<Followers>,
}

/// The actor's influencer profile: `Forbidden` for other roles, `NotFound` before it is created.
pub async fn own_influencer<S>(store: &S, actor: &Actor) -> ServiceResult<Influencer>
where
    S: InfluencerRepo + ?Sized,
{
    actor.require(Role::Influencer)?;
    Ok(store.influencer_by_user(actor.id()).await?)
}

/// Creates the actor's influencer profile; `Conflict` if they have one.
pub async fn create_influencer<S>(
    store: &S,
    actor: &Actor,
    profile: InfluencerProfile,
) -> ServiceResult<Influencer>
where
    S: InfluencerRepo + ?Sized,
{
    actor.require(Role::Influencer)?;
    Ok(store
        .create_influencer(NewInfluencer {
            user_id: actor.id(),
            display_name: profile.display_name,
            instagram_handle: profile.instagram_handle,
            tiktok_handle: profile.tiktok_handle,
            youtube_handle: profile.youtube_handle,
            payout: profile.payout,
            total_followers: profile.total_followers,
        })
        .await?)
}

/// Updates the actor's influencer profile. The payout details are merged with the stored ones
/// and must still agree (PayPal needs a PayPal email, Stripe a Stripe account).
pub async fn update_influencer<S>(
    store: &S,
    actor: &Actor,
    changes: InfluencerChanges,
) -> ServiceResult<Influencer>
where
    S: InfluencerRepo + ?Sized,
{
    let current = own_influencer(store, actor).await?;
    let payout_changed = changes.stripe_account_id.is_some()
        || changes.paypal_email.is_some()
        || changes.preferred_payout_method.is_some();
    let payout = if payout_changed {
        let old = &current.payout;
        Some(PayoutSettings::new(
            changes
                .stripe_account_id
                .unwrap_or_else(|| old.stripe_account_id().cloned()),
            changes
                .paypal_email
                .unwrap_or_else(|| old.paypal_email().cloned()),
            changes
                .preferred_payout_method
                .unwrap_or_else(|| old.preferred()),
        )?)
    } else {
        None
    };
    let patch = InfluencerPatch {
        display_name: changes.display_name,
        instagram_handle: changes.instagram_handle,
        tiktok_handle: changes.tiktok_handle,
        youtube_handle: changes.youtube_handle,
        payout,
        total_followers: changes.total_followers,
    };
    Ok(store.update_influencer(current.id, patch).await?)
}

/// A merchant's profile as they describe it. Credentials are write-only: accepted here,
/// stored encrypted, never shown back.
#[derive(Debug, Clone, PartialEq)]
pub struct MerchantProfile {
    /// The brand's name.
    pub business_name: Name,
    /// The brand's website: links may only lead there.
    pub website_url: SiteUrl,
    /// The Shopify shop.
    pub shopify_shop_domain: Option<ShopifyDomain>,
    /// Shopify API credential.
    pub shopify_api_key: Option<Secret>,
    /// Refersion public key.
    pub refersion_public_key: Option<Name>,
    /// Refersion secret key.
    pub refersion_secret_key: Option<Secret>,
    /// The settlement currency ([`Currency::USD`] unless chosen).
    pub currency: Currency,
}

/// The actor's merchant: `Forbidden` for other roles, `NotFound` before it is created.
pub async fn own_merchant<S>(store: &S, actor: &Actor) -> ServiceResult<Merchant>
where
    S: MerchantRepo + ?Sized,
{
    actor.require(Role::Merchant)?;
    // The schema lets one account manage several merchants; the API gives each merchant
    // account one, its first.
    store
        .merchants_by_user(actor.id())
        .await?
        .into_iter()
        .next()
        .ok_or(ServiceError::NotFound(Entity::Merchant))
}

/// Creates the actor's merchant, unverified; `Conflict` if they have one. The check before the
/// insert gives the usual answer a clear path; the store's own uniqueness decides a race.
pub async fn create_merchant<S>(
    store: &S,
    actor: &Actor,
    profile: MerchantProfile,
) -> ServiceResult<Merchant>
where
    S: MerchantRepo + ?Sized,
{
    match own_merchant(store, actor).await {
        Ok(_) => return Err(Conflict::ProfileExists.into()),
        Err(ServiceError::NotFound(_)) => {}
        Err(other) => return Err(other),
    }
    Ok(store
        .create_merchant(NewMerchant {
            user_id: Some(actor.id()),
            business_name: profile.business_name,
            website_url: profile.website_url,
            shopify_shop_domain: profile.shopify_shop_domain,
            shopify_api_key: profile.shopify_api_key,
            refersion_public_key: profile.refersion_public_key,
            refersion_secret_key: profile.refersion_secret_key,
            currency: profile.currency,
        })
        .await?)
}

/// Updates the actor's merchant. A different website puts it back to unverified
/// ([`MerchantPatch::verification_after`]): its links stop redirecting until an administrator
/// verifies it again.
pub async fn update_merchant<S>(
    store: &S,
    actor: &Actor,
    patch: MerchantPatch,
) -> ServiceResult<Merchant>
where
    S: MerchantRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    match store.update_merchant(merchant.id, patch).await {
        Err(RepoError::NotFound(_)) => Err(ServiceError::NotFound(Entity::Merchant)),
        other => Ok(other?),
    }
}

/// Sets (`Some`) or removes (`None`) the actor's merchant's Shopify webhook secret: the key
/// Shopify signs that shop's webhooks with. Write-only: no service returns it.
///
/// A new secret replaces the current one at `now`, which keeps signing for
/// [`SECRET_ROTATION_GRACE`](crate::domain::SECRET_ROTATION_GRACE) (Shopify signs
/// with both meanwhile); setting the current secret again changes nothing. Removing it ends
/// both at once.
pub async fn set_shopify_webhook_secret<S>(
    store: &S,
    actor: &Actor,
    secret: Option<Secret>,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()>
where
    S: MerchantRepo + WebhookSecrets + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let Some(secret) = secret else {
        return Ok(store.set_shopify_webhook_secret(merchant.id, None).await?);
    };
    let previous = match store.shopify_webhook_secret(merchant.id).await? {
        Some(current) if current == secret => return Ok(()),
        Some(current) => Some(crate::RotatedSecret {
            secret: current,
            rotated_at: chrono::SubsecRound::trunc_subsecs(now, 6),
        }),
        None => None,
    };
    Ok(store
        .replace_shopify_webhook_secret(merchant.id, secret, previous)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{new_influencer, new_user};
    use crate::{MemoryStore, UserRepo};

    async fn actor(store: &MemoryStore, role: Role) -> Actor {
        Actor::new(store.create_user(new_user(role)).await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn payout_changes_are_merged_and_must_stay_consistent() {
        let store = MemoryStore::new();
        let ana = actor(&store, Role::Influencer).await;
        let new = new_influencer(ana.id());
        create_influencer(
            &store,
            &ana,
            InfluencerProfile {
                display_name: new.display_name,
                instagram_handle: None,
                tiktok_handle: None,
                youtube_handle: None,
                payout: new.payout, // PayPal, with a PayPal email
                total_followers: Followers::new(10).unwrap(),
            },
        )
        .await
        .unwrap();
        let clear_paypal = InfluencerChanges {
            paypal_email: Some(None),
            ..Default::default()
        };
        let err = update_influencer(&store, &ana, clear_paypal)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(e) if e.field == "paypal_email"));
        let to_ach = InfluencerChanges {
            paypal_email: Some(None),
            preferred_payout_method: Some(Some(PayoutMethod::Ach)),
            total_followers: Some(Followers::new(11).unwrap()),
            ..Default::default()
        };
        let updated = update_influencer(&store, &ana, to_ach).await.unwrap();
        assert_eq!(updated.payout.preferred(), Some(PayoutMethod::Ach));
        assert_eq!(updated.payout.paypal_email(), None);
        assert_eq!(updated.total_followers.get(), 11);
    }

    #[tokio::test]
    async fn a_merchant_account_has_one_merchant_and_other_roles_none() {
        let store = MemoryStore::new();
        let shop = actor(&store, Role::Merchant).await;
        let profile = MerchantProfile {
            business_name: Name::parse("Glow Co").unwrap(),
            website_url: SiteUrl::parse("https://glowco.com").unwrap(),
            shopify_shop_domain: None,
            shopify_api_key: None,
            refersion_public_key: None,
            refersion_secret_key: None,
            currency: Currency::USD,
        };
        create_merchant(&store, &shop, profile.clone())
            .await
            .unwrap();
        assert!(matches!(
            create_merchant(&store, &shop, profile.clone()).await,
            Err(ServiceError::Conflict(Conflict::ProfileExists))
        ));
        let ana = actor(&store, Role::Influencer).await;
        assert!(matches!(
            create_merchant(&store, &ana, profile).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
}
