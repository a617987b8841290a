//! The webhook deliveries' contract: kept with their reason and body, listed newest first per
//! merchant, unique per merchant by webhook id (also under concurrent retries), gone with
//! their merchant; and the previous webhook secret kept with its rotation time.

use super::Fixture;
use crate::domain::*;
use crate::store::{Entity, LedgerStore, Page, RepoError};
use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use std::collections::HashSet;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn id(value: &str) -> WebhookId {
    WebhookId::parse(value).unwrap()
}

/// A delivery of `merchant` with webhook id `webhook`, rejected with `reason` if given.
pub fn delivery(
    merchant: MerchantId,
    webhook: Option<&str>,
    reason: Option<RejectionReason>,
    at: DateTime<Utc>,
) -> WebhookDelivery {
    WebhookDelivery::new(
        merchant,
        webhook.map(id),
        Some(Topic::parse("orders/create").unwrap()),
        at,
        reason.map(|r| Rejection::new(r, format!("{} for a reason", r.code()))),
        br#"{"id": 1001, "currency": "EUR", "note": "caf\xc3\xa9 \x00 'quoted'"}"#,
    )
}

#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn rejected_deliveries_are_kept_with_their_reason_and_listed_newest_first<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let other = Fixture::create(store).await;
        let mut kept = Vec::new();
        for (i, reason) in RejectionReason::ALL.into_iter().enumerate() {
            let at = t0() + Duration::minutes(i as i64);
            let d = delivery(f.merchant.id, Some(&format!("wh-{i}")), Some(reason), at);
            assert_eq!(
                store.record_delivery(d.clone()).await.unwrap(),
                DeliveryInsert::Inserted(d.clone())
            );
            kept.push(d);
        }
        // Accepted deliveries and another merchant's are not in the merchant's list.
        let accepted = delivery(f.merchant.id, Some("accepted"), None, t0());
        assert!(accepted.body.is_empty());
        store.record_delivery(accepted.clone()).await.unwrap();
        let theirs = delivery(
            other.merchant.id,
            Some("wh-0"),
            Some(RejectionReason::MalformedPayload),
            t0(),
        );
        store.record_delivery(theirs.clone()).await.unwrap();
        // Without a webhook id each delivery is kept, and every field round-trips.
        let bare = WebhookDelivery::new(
            f.merchant.id,
            None,
            None,
            t0() + Duration::hours(1) + Duration::nanoseconds(1_234_567),
            Some(Rejection::new(RejectionReason::MissingTopic, "no topic ✓")),
            &[0xff, 0xfe, b'{', 0],
        );
        store.record_delivery(bare.clone()).await.unwrap();
        assert_eq!(bare.received_at, bare.received_at.trunc_subsecs(6));
        kept.push(bare.clone());

        kept.reverse();
        let first = store
            .rejected_deliveries(f.merchant.id, Page::new(3, None).unwrap())
            .await
            .unwrap();
        assert_eq!(first, kept[..3].to_vec());
        let rest = store
            .rejected_deliveries(f.merchant.id, Page::new(100, Some(first[2].id)).unwrap())
            .await
            .unwrap();
        assert_eq!(rest, kept[3..].to_vec());
        assert_eq!(
            store
                .rejected_deliveries(other.merchant.id, Page::first())
                .await
                .unwrap(),
            vec![theirs.clone()]
        );
        assert_eq!(
            store
                .delivery_by_webhook_id(f.merchant.id, &id("accepted"))
                .await
                .unwrap(),
            Some(accepted)
        );
        assert_eq!(
            store
                .delivery_by_webhook_id(f.merchant.id, &id("never"))
                .await
                .unwrap(),
            None
        );
        match store
            .record_delivery(delivery(MerchantId::new(), Some("x"), None, t0()))
            .await
        {
            Err(RepoError::NotFound(Entity::Merchant)) => {}
            other => panic!("expected NotFound(Merchant), got {other:?}"),
        }
        // They go with their merchant.
        store.delete_merchant(other.merchant.id).await.unwrap();
        assert!(store
            .delivery_by_webhook_id(other.merchant.id, &id("wh-0"))
            .await
            .unwrap()
            .is_none());
        assert!(store
            .rejected_deliveries(other.merchant.id, Page::first())
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn a_webhook_id_is_kept_once_per_merchant<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        let other = Fixture::create(store).await;
        let first = delivery(
            f.merchant.id,
            Some("b3f1-retry"),
            Some(RejectionReason::UnsupportedCurrency),
            t0(),
        );
        store.record_delivery(first.clone()).await.unwrap();
        // A retry, even one answered otherwise, changes nothing and gets the first back.
        let retry = delivery(
            f.merchant.id,
            Some("b3f1-retry"),
            None,
            t0() + Duration::hours(1),
        );
        assert_eq!(
            store.record_delivery(retry).await.unwrap(),
            DeliveryInsert::Existing(first.clone())
        );
        // Webhook ids are compared exactly, and per merchant.
        for (merchant, webhook) in [
            (f.merchant.id, "B3F1-RETRY"),
            (other.merchant.id, "b3f1-retry"),
        ] {
            let d = delivery(merchant, Some(webhook), None, t0());
            assert_eq!(
                store.record_delivery(d.clone()).await.unwrap(),
                DeliveryInsert::Inserted(d)
            );
        }
        assert_eq!(
            store
                .rejected_deliveries(f.merchant.id, Page::first())
                .await
                .unwrap(),
            vec![first]
        );
    }

    pub async fn concurrent_retries_of_one_webhook_id_keep_one_delivery<
        S: LedgerStore + Clone + 'static,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                let d = delivery(
                    f.merchant.id,
                    Some("4a7c-concurrent"),
                    Some(RejectionReason::RefundExceedsOrder),
                    t0(),
                );
                tokio::spawn(async move { store.record_delivery(d).await })
            })
            .collect();
        let (mut inserted, mut ids) = (0, HashSet::new());
        for task in tasks {
            match task.await.expect("task ran").expect("kept") {
                DeliveryInsert::Inserted(d) => {
                    inserted += 1;
                    ids.insert(d.id);
                }
                DeliveryInsert::Existing(d) => {
                    ids.insert(d.id);
                }
            }
        }
        assert_eq!((inserted, ids.len()), (1, 1));
        let listed = store
            .rejected_deliveries(f.merchant.id, Page::first())
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert!(ids.contains(&listed[0].id));
    }

    pub async fn the_previous_webhook_secret_is_kept_with_its_rotation_time<S: LedgerStore>(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        assert_eq!(
            store
                .previous_shopify_webhook_secret(f.merchant.id)
                .await
                .unwrap(),
            None
        );
        let (old, new) = (
            Secret::parse("shpss_before_rotation").unwrap(),
            Secret::parse("shpss_after_rotation").unwrap(),
        );
        let previous = RotatedSecret {
            secret: old.clone(),
            rotated_at: t0(),
        };
        store
            .replace_shopify_webhook_secret(f.merchant.id, new.clone(), Some(previous.clone()))
            .await
            .unwrap();
        assert_eq!(
            store.shopify_webhook_secret(f.merchant.id).await.unwrap(),
            Some(new.clone())
        );
        assert_eq!(
            store
                .previous_shopify_webhook_secret(f.merchant.id)
                .await
                .unwrap(),
            Some(previous)
        );
        // Replacing without a previous one forgets it; so does setting or removing the secret.
        store
            .replace_shopify_webhook_secret(f.merchant.id, old.clone(), None)
            .await
            .unwrap();
        assert_eq!(
            store
                .previous_shopify_webhook_secret(f.merchant.id)
                .await
                .unwrap(),
            None
        );
        for secret in [Some(new), None] {
            store
                .replace_shopify_webhook_secret(
                    f.merchant.id,
                    old.clone(),
                    Some(RotatedSecret {
                        secret: old.clone(),
                        rotated_at: t0(),
                    }),
                )
                .await
                .unwrap();
            store
                .set_shopify_webhook_secret(f.merchant.id, secret.clone())
                .await
                .unwrap();
            assert_eq!(
                store.shopify_webhook_secret(f.merchant.id).await.unwrap(),
                secret
            );
            assert_eq!(
                store
                    .previous_shopify_webhook_secret(f.merchant.id)
                    .await
                    .unwrap(),
                None
            );
        }
        for result in [
            store
                .previous_shopify_webhook_secret(MerchantId::new())
                .await
                .map(|_| ()),
            store
                .replace_shopify_webhook_secret(MerchantId::new(), old, None)
                .await,
        ] {
            assert!(
                matches!(result, Err(RepoError::NotFound(Entity::Merchant))),
                "{result:?}"
            );
        }
    }
}
