//! The contract for merchants: their encrypted secrets round-trip, listing by account, updates, cascades.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};

    pub async fn merchants_round_trip_with_their_secrets<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let new = new_merchant(Some(user.id));
        let merchant = store.create_merchant(new.clone()).await.unwrap();
        assert_eq!(merchant.business_name, new.business_name);
        assert_eq!(merchant.website_url, new.website_url);
        assert_eq!(merchant.shopify_shop_domain, new.shopify_shop_domain);
        assert_eq!(merchant.shopify_api_key, new.shopify_api_key);
        assert_eq!(merchant.refersion_public_key, new.refersion_public_key);
        assert_eq!(merchant.refersion_secret_key, new.refersion_secret_key);
        assert!(merchant.is_active);
        assert_eq!(store.merchant_by_id(merchant.id).await.unwrap(), merchant);
        let bare = NewMerchant {
            shopify_api_key: None,
            refersion_secret_key: None,
            user_id: None,
            ..new
        };
        let bare = store.create_merchant(bare).await.unwrap();
        assert_eq!(
            store.merchant_by_id(bare.id).await.unwrap().shopify_api_key,
            None
        );
        assert!(
            !store
                .set_merchant_active(bare.id, false)
                .await
                .unwrap()
                .is_active
        );
    }

    pub async fn merchants_are_listed_by_user<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let other = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let first = store
            .create_merchant(new_merchant(Some(user.id)))
            .await
            .unwrap();
        let second = store
            .create_merchant(new_merchant(Some(user.id)))
            .await
            .unwrap();
        store
            .create_merchant(new_merchant(Some(other.id)))
            .await
            .unwrap();
        let ids: Vec<_> = store
            .merchants_by_user(user.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec![first.id, second.id]);
    }

    pub async fn deleting_a_merchant_cascades<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "cascade")).await.unwrap();
        store.delete_merchant(f.merchant.id).await.unwrap();
        assert_err!(
            store.merchant_by_id(f.merchant.id).await,
            RepoError::NotFound(Entity::Merchant)
        );
        assert_err!(
            store.program_by_id(f.program.id).await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store.product_by_id(f.product.id).await,
            RepoError::NotFound(Entity::Product)
        );
        assert_err!(
            store.link_by_id(link.id).await,
            RepoError::NotFound(Entity::Link)
        );
        store.user_by_id(f.merchant_user.id).await.unwrap();
        store.influencer_by_id(f.influencer.id).await.unwrap();
    }

    pub async fn merchants_can_be_updated_with_their_secrets<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let patch = MerchantPatch {
            business_name: Some(text("Glow Company")),
            website_url: Some(url("https://shop.glowco.com")),
            shopify_shop_domain: Some(None),
            shopify_api_key: Some(Some(Secret::parse("shpat_rotated_key").unwrap())),
            refersion_public_key: None,
            refersion_secret_key: Some(None),
        };
        let updated = store.update_merchant(merchant.id, patch).await.unwrap();
        assert_eq!(updated.business_name.as_str(), "Glow Company");
        assert_eq!(updated.website_url.as_str(), "https://shop.glowco.com/");
        assert_eq!(updated.shopify_shop_domain, None);
        assert_eq!(
            updated.shopify_api_key.as_ref().map(Secret::expose),
            Some("shpat_rotated_key")
        );
        assert_eq!(updated.refersion_public_key, merchant.refersion_public_key);
        assert_eq!(updated.refersion_secret_key, None);
        assert_eq!(store.merchant_by_id(merchant.id).await.unwrap(), updated);
        assert_err!(
            store
                .update_merchant(MerchantId::new(), MerchantPatch::default())
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }
}
