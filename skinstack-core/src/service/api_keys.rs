//! Merchants' API keys: created, listed and revoked by the merchant's own account, and
//! turned back into the merchant they act for when a request presents one.
//!
//! A key acts for its merchant only while the key is unrevoked, the merchant is active and
//! verified, and the account that owns the merchant is active: an administrator deactivating
//! or un-verifying a merchant, or deactivating its owner, cuts off its keys at once, as
//! deactivating an account ends its sessions. A merchant whose owner account was deleted has
//! nobody answerable for its keys: they are refused too. (Orders arriving through the shop's signed webhooks are a
//! separate path: [`crate::service::conversions::record_conversion`] still records those.)

use super::profiles::own_merchant;
use super::{Actor, ServiceError, ServiceResult};
use crate::domain::{ApiKey, ApiKeyId, ApiKeyInfo, NewApiKey, LAST_USED_RESOLUTION};
use crate::domain::{MerchantId, Name};
use crate::store::ApiKeyRepo;
use crate::store::{Entity, MerchantRepo, RepoError, UserRepo};
use chrono::{DateTime, SubsecRound, Utc};

/// A key just created: the key itself, shown this once, and what is stored about it.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The key; only its hash is stored, so it cannot be shown again.
    pub key: ApiKey,
    /// Its stored description.
    pub info: ApiKeyInfo,
}

/// Creates a key named `name` for the actor's merchant.
pub async fn create_own<S>(
    store: &S,
    actor: &Actor,
    name: Name,
    now: DateTime<Utc>,
) -> ServiceResult<CreatedApiKey>
where
    S: MerchantRepo + ApiKeyRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let key = ApiKey::generate().map_err(|e| ServiceError::Internal(e.into()))?;
    let info = store
        .create_api_key(NewApiKey {
            id: ApiKeyId::new(),
            merchant_id: merchant.id,
            name,
            prefix: key.display_prefix(),
            key_hash: key.hash(),
            // PostgreSQL keeps microseconds: both stores answer the same instant.
            created_at: now.trunc_subsecs(6),
        })
        .await?;
    Ok(CreatedApiKey { key, info })
}

/// The actor's merchant's keys, revoked ones included, oldest first. Never the keys.
pub async fn list_own<S>(store: &S, actor: &Actor) -> ServiceResult<Vec<ApiKeyInfo>>
where
    S: MerchantRepo + ApiKeyRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    Ok(store.api_keys_by_merchant(merchant.id).await?)
}

/// Revokes one of the actor's merchant's keys; at once, every request presenting it is
/// refused. Revoking a revoked key changes nothing; another merchant's key is `NotFound`.
pub async fn revoke_own<S>(
    store: &S,
    actor: &Actor,
    id: ApiKeyId,
    now: DateTime<Utc>,
) -> ServiceResult<ApiKeyInfo>
where
    S: MerchantRepo + ApiKeyRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    Ok(store
        .revoke_api_key(merchant.id, id, now.trunc_subsecs(6))
        .await?)
}

/// The merchant a presented key acts for. A malformed, unknown or revoked key, and the key
/// of a merchant that is deactivated, unverified, deleted, or whose owner account is
/// deactivated or gone, are all the one [`ServiceError::Unauthenticated`].
/// Records the use, at most once per [`LAST_USED_RESOLUTION`].
pub async fn authenticate<S>(
    store: &S,
    presented: &str,
    now: DateTime<Utc>,
) -> ServiceResult<MerchantId>
where
    S: MerchantRepo + ApiKeyRepo + UserRepo + ?Sized,
{
    let key = ApiKey::parse(presented).map_err(|_| ServiceError::Unauthenticated)?;
    let info = store
        .active_api_key(&key.hash())
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    let merchant = match store.merchant_by_id(info.merchant_id).await {
        Ok(merchant) => merchant,
        Err(RepoError::NotFound(Entity::Merchant)) => return Err(ServiceError::Unauthenticated),
        Err(other) => return Err(other.into()),
    };
    if !merchant.is_open() {
        return Err(ServiceError::Unauthenticated);
    }
    let owner_active = match merchant.user_id {
        Some(owner) => match store.user_by_id(owner).await {
            Ok(user) => user.is_active,
            Err(RepoError::NotFound(Entity::User)) => false,
            Err(other) => return Err(other.into()),
        },
        None => false,
    };
    if !owner_active {
        return Err(ServiceError::Unauthenticated);
    }
    let now = now.trunc_subsecs(6);
    if info
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USED_RESOLUTION)
    {
        store.touch_api_key(info.id, now).await?;
    }
    Ok(merchant.id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::UserRepo;
    use crate::testkit::Fixture;
    use crate::MemoryStore;

    fn name(value: &str) -> Name {
        Name::parse(value).unwrap()
    }

    #[tokio::test]
    async fn only_the_merchant_owner_manages_its_keys() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let influencer = Actor::new(f.influencer_user.clone()).unwrap();
        let now = Utc::now();

        assert!(matches!(
            create_own(&store, &influencer, name("x"), now).await,
            Err(ServiceError::Forbidden(_))
        ));
        let created = create_own(&store, &merchant, name("Back end"), now)
            .await
            .unwrap();
        assert_eq!(created.info.merchant_id, f.merchant.id);
        assert_eq!(created.info.prefix, created.key.display_prefix());
        let listed = list_own(&store, &merchant).await.unwrap();
        assert_eq!(listed, vec![created.info.clone()]);
        assert!(matches!(
            list_own(&store, &influencer).await,
            Err(ServiceError::Forbidden(_))
        ));

        // Another merchant cannot see or revoke it.
        let other_user = store
            .create_user(crate::testkit::new_user(crate::Role::Merchant))
            .await
            .unwrap();
        store
            .create_merchant(crate::testkit::new_merchant(Some(other_user.id)))
            .await
            .unwrap();
        let other = Actor::new(other_user).unwrap();
        assert!(list_own(&store, &other).await.unwrap().is_empty());
        assert!(matches!(
            revoke_own(&store, &other, created.info.id, now).await,
            Err(ServiceError::NotFound(Entity::ApiKey))
        ));
        assert_eq!(
            authenticate(&store, created.key.expose(), now)
                .await
                .unwrap(),
            f.merchant.id
        );
    }

    #[tokio::test]
    async fn revoked_unknown_malformed_and_deactivated_keys_are_one_error() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let now = Utc::now();
        let revoked = create_own(&store, &merchant, name("old"), now)
            .await
            .unwrap();
        let kept = create_own(&store, &merchant, name("new"), now)
            .await
            .unwrap();
        let info = revoke_own(&store, &merchant, revoked.info.id, now)
            .await
            .unwrap();
        assert!(info.revoked_at.is_some());
        let unknown = ApiKey::generate().unwrap();
        for presented in [
            revoked.key.expose(),
            unknown.expose(),
            "ssk_nope",
            "not a key",
        ] {
            assert!(
                matches!(
                    authenticate(&store, presented, now).await,
                    Err(ServiceError::Unauthenticated)
                ),
                "{presented}"
            );
        }
        authenticate(&store, kept.key.expose(), now).await.unwrap();
        store
            .set_merchant_active(f.merchant.id, false)
            .await
            .unwrap();
        assert!(matches!(
            authenticate(&store, kept.key.expose(), now).await,
            Err(ServiceError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn keys_stop_working_while_the_merchant_is_unverified_or_its_owner_deactivated() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let now = Utc::now();
        let key = create_own(&store, &merchant, name("k"), now)
            .await
            .unwrap()
            .key;
        let refused = |store: MemoryStore, key: ApiKey| async move {
            matches!(
                authenticate(&store, key.expose(), now).await,
                Err(ServiceError::Unauthenticated)
            )
        };
        store
            .set_merchant_verification(f.merchant.id, crate::Verification::Unverified)
            .await
            .unwrap();
        assert!(refused(store.clone(), key.clone()).await, "unverified");
        store
            .set_merchant_verification(f.merchant.id, crate::testkit::verified_now())
            .await
            .unwrap();
        authenticate(&store, key.expose(), now).await.unwrap();
        store
            .set_user_active(f.merchant_user.id, false)
            .await
            .unwrap();
        assert!(
            refused(store.clone(), key.clone()).await,
            "owner deactivated"
        );
        store
            .set_user_active(f.merchant_user.id, true)
            .await
            .unwrap();
        authenticate(&store, key.expose(), now).await.unwrap();
        store.delete_user(f.merchant_user.id).await.unwrap();
        assert!(refused(store.clone(), key).await, "owner deleted");
    }

    #[tokio::test]
    async fn uses_are_recorded_once_a_minute() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let t = Utc::now().trunc_subsecs(6);
        let created = create_own(&store, &merchant, name("k"), t).await.unwrap();
        assert_eq!(created.info.last_used_at, None);
        for (at, expected) in [
            (t, t),
            (t + chrono::Duration::seconds(30), t),
            (
                t + chrono::Duration::seconds(61),
                t + chrono::Duration::seconds(61),
            ),
        ] {
            authenticate(&store, created.key.expose(), at)
                .await
                .unwrap();
            let listed = list_own(&store, &merchant).await.unwrap();
            assert_eq!(listed[0].last_used_at, Some(expected));
        }
    }
}
