//! The contract for merchants' Shopify webhook secrets.

use super::*;

/// The contract cases for webhook secrets.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn webhook_secrets_round_trip<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        assert_eq!(
            store.shopify_webhook_secret(f.merchant.id).await.unwrap(),
            None
        );
        let secret = Secret::parse("shpss_webhook_fixture").unwrap();
        store
            .set_shopify_webhook_secret(f.merchant.id, Some(secret.clone()))
            .await
            .unwrap();
        assert_eq!(
            store.shopify_webhook_secret(f.merchant.id).await.unwrap(),
            Some(secret)
        );
        store
            .set_shopify_webhook_secret(f.merchant.id, None)
            .await
            .unwrap();
        assert_eq!(
            store.shopify_webhook_secret(f.merchant.id).await.unwrap(),
            None
        );
        assert!(matches!(
            store.shopify_webhook_secret(MerchantId::new()).await,
            Err(crate::RepoError::NotFound(crate::Entity::Merchant))
        ));
    }
}
