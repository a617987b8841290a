//! The API keys' contract: stored by hash, listed without it, revoked per merchant, gone
//! with their merchant.

use super::{new_merchant, new_user, Fixture};
use crate::domain::*;
use crate::domain::{ApiKey, ApiKeyId, NewApiKey};
use crate::store::ApiKeyRepo;
use crate::store::{Entity, RepoError, Store};
use chrono::{DateTime, Duration, SubsecRound, Utc};

/// A new key for `merchant`: the key and what to store.
pub fn new_api_key(merchant: MerchantId, name: &str, at: DateTime<Utc>) -> (ApiKey, NewApiKey) {
    let key = ApiKey::generate().expect("the OS has randomness");
    let new = NewApiKey {
        id: ApiKeyId::new(),
        merchant_id: merchant,
        name: Name::parse(name).expect("fixture name is valid"),
        prefix: key.display_prefix(),
        key_hash: key.hash(),
        created_at: at.trunc_subsecs(6),
    };
    (key, new)
}

#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn api_keys_are_found_by_hash_until_revoked<S: Store + ApiKeyRepo>(store: &S) {
        let f = Fixture::create(store).await;
        let now = Utc::now().trunc_subsecs(6);
        let (key, new) = new_api_key(f.merchant.id, "Back end", now);
        let info = store.create_api_key(new.clone()).await.unwrap();
        assert_eq!(
            (
                &info.id,
                &info.merchant_id,
                info.name.as_str(),
                &info.prefix
            ),
            (&new.id, &f.merchant.id, "Back end", &key.display_prefix())
        );
        assert_eq!(
            (info.created_at, info.last_used_at, info.revoked_at),
            (now, None, None)
        );
        let (_, second) = new_api_key(f.merchant.id, "Staging", now);
        let second = store.create_api_key(second).await.unwrap();
        assert_eq!(
            store.api_keys_by_merchant(f.merchant.id).await.unwrap(),
            vec![info.clone(), second.clone()]
        );
        assert_eq!(
            store.active_api_key(&key.hash()).await.unwrap(),
            Some(info.clone())
        );
        let stranger = ApiKey::generate().unwrap();
        assert_eq!(store.active_api_key(&stranger.hash()).await.unwrap(), None);

        // Another merchant's revocation finds nothing and changes nothing.
        let other_user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let other = store
            .create_merchant(new_merchant(Some(other_user.id)))
            .await
            .unwrap();
        assert!(store
            .api_keys_by_merchant(other.id)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            store.revoke_api_key(other.id, info.id, now).await,
            Err(RepoError::NotFound(Entity::ApiKey))
        ));
        assert!(matches!(
            store
                .revoke_api_key(f.merchant.id, ApiKeyId::new(), now)
                .await,
            Err(RepoError::NotFound(Entity::ApiKey))
        ));
        assert!(store.active_api_key(&key.hash()).await.unwrap().is_some());

        let revoked = store
            .revoke_api_key(f.merchant.id, info.id, now)
            .await
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(now));
        assert_eq!(store.active_api_key(&key.hash()).await.unwrap(), None);
        // Revoking again keeps the first instant.
        let again = store
            .revoke_api_key(f.merchant.id, info.id, now + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(again.revoked_at, Some(now));
        let listed = store.api_keys_by_merchant(f.merchant.id).await.unwrap();
        assert_eq!(listed[0].revoked_at, Some(now));
        assert_eq!(listed[1], second);
    }

    pub async fn api_keys_need_and_go_with_their_merchant<S: Store + ApiKeyRepo>(store: &S) {
        let f = Fixture::create(store).await;
        let now = Utc::now();
        let (_, stray) = new_api_key(MerchantId::new(), "stray", now);
        assert!(matches!(
            store.create_api_key(stray).await,
            Err(RepoError::NotFound(Entity::Merchant))
        ));
        let (key, new) = new_api_key(f.merchant.id, "Back end", now);
        store.create_api_key(new).await.unwrap();
        store.delete_merchant(f.merchant.id).await.unwrap();
        assert_eq!(store.active_api_key(&key.hash()).await.unwrap(), None);
        assert!(store
            .api_keys_by_merchant(f.merchant.id)
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn api_key_uses_only_move_forward<S: Store + ApiKeyRepo>(store: &S) {
        let f = Fixture::create(store).await;
        let now = Utc::now().trunc_subsecs(6);
        let (key, new) = new_api_key(f.merchant.id, "Back end", now);
        let info = store.create_api_key(new).await.unwrap();
        let later = now + Duration::minutes(5);
        store.touch_api_key(info.id, later).await.unwrap();
        store.touch_api_key(info.id, now).await.unwrap();
        let found = store.active_api_key(&key.hash()).await.unwrap().unwrap();
        assert_eq!(found.last_used_at, Some(later));
        // Touching a key that is gone is not an error: the request it authenticated is done.
        store.touch_api_key(ApiKeyId::new(), now).await.unwrap();
    }
}
