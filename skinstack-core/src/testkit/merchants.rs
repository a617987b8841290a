//! The contract for merchants: their encrypted secrets round-trip, one per account, updates,
//! cascades, and verification (what it opens, what a new website undoes).

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
        let mine = store
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
        assert_eq!(ids, vec![mine.id]);
    }

    /// One merchant per account, decided by the store itself: of sixteen concurrent creations
    /// for one account exactly one succeeds, the rest are `ProfileExists`. Merchants without an
    /// account (the seed lets one outlive its user) are not limited.
    pub async fn one_merchant_per_account_even_when_created_concurrently<S: Store + Clone>(
        store: &S,
    ) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.create_merchant(new_merchant(Some(user.id))).await },
                )
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.expect("task ran") {
                Ok(_) => wins += 1,
                Err(RepoError::ProfileExists) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wins, 1);
        assert_eq!(store.merchants_by_user(user.id).await.unwrap().len(), 1);
        store.create_merchant(new_merchant(None)).await.unwrap();
        store.create_merchant(new_merchant(None)).await.unwrap();
    }

    /// A merchant starts unverified: its programs are not open and its links resolve as
    /// `Unverified`; verified, both open; un-verified, both close again.
    pub async fn merchants_start_unverified_and_verification_opens_their_programs_and_links<
        S: Store + LinkResolver,
    >(
        store: &S,
    ) {
        let fresh = store.create_merchant(new_merchant(None)).await.unwrap();
        assert_eq!(fresh.verification, Verification::Unverified);
        assert_eq!(
            store.merchant_by_id(fresh.id).await.unwrap().verification,
            Verification::Unverified
        );
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "verified")).await.unwrap();
        let open = || async {
            store
                .open_programs(Page::largest(None))
                .await
                .unwrap()
                .iter()
                .any(|p| p.id == f.program.id)
        };
        let status = || async {
            store
                .resolve(&link.slug)
                .await
                .unwrap()
                .expect("the link resolves")
                .status_at(chrono::Utc::now())
        };
        assert!(open().await);
        assert_eq!(status().await, crate::LinkStatus::Live);

        let undone = store
            .set_merchant_verification(f.merchant.id, Verification::Unverified)
            .await
            .unwrap();
        assert_eq!(undone.verification, Verification::Unverified);
        assert!(!open().await);
        assert_eq!(status().await, crate::LinkStatus::Unverified);

        let again = verified_now();
        let redone = store
            .set_merchant_verification(f.merchant.id, again)
            .await
            .unwrap();
        assert_eq!(redone.verification, again);
        assert_eq!(store.merchant_by_id(f.merchant.id).await.unwrap(), redone);
        assert!(open().await);
        assert_eq!(status().await, crate::LinkStatus::Live);
        assert_err!(
            store
                .set_merchant_verification(MerchantId::new(), again)
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    /// A new website undoes verification in the same update (core's
    /// `MerchantPatch::verification_after`); the same website, or another field, keeps it.
    pub async fn a_new_website_puts_a_verified_merchant_back_to_unverified<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let verified = f.merchant.verification;
        assert!(verified.is_verified());
        let same = MerchantPatch {
            business_name: Some(text("Glow Company")),
            website_url: Some(site("https://GLOWCO.com")),
            ..MerchantPatch::default()
        };
        let kept = store.update_merchant(f.merchant.id, same).await.unwrap();
        assert_eq!(kept.verification, verified);
        let moved = MerchantPatch {
            website_url: Some(site("https://evil.example")),
            ..MerchantPatch::default()
        };
        let moved = store.update_merchant(f.merchant.id, moved).await.unwrap();
        assert_eq!(moved.verification, Verification::Unverified);
        assert_eq!(
            store
                .merchant_by_id(f.merchant.id)
                .await
                .unwrap()
                .verification,
            Verification::Unverified
        );
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
            website_url: Some(site("https://shop.glowco.com")),
            shopify_shop_domain: Some(None),
            shopify_api_key: Some(Some(Secret::parse("shpat_rotated_key").unwrap())),
            refersion_public_key: None,
            refersion_secret_key: Some(None),
            currency: None,
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
