//! What the database itself guarantees about the ledger, whatever code writes to it: one
//! conversion per order, one settlement per event, no rewriting history (of the ledger or of
//! issued merchant statements), and the webhook secret encrypted at rest.

// Helpers here are test code too: a failed query must fail the test, so they unwrap.
#![allow(clippy::unwrap_used)]

use chrono::Duration;
use skinstack_core::service::conversions::{approve_due, record_conversion};
use skinstack_core::service::payouts::create_payouts;
use skinstack_core::store::{ConversionRepo, WebhookSecrets};
use skinstack_core::store::{LinkRepo, MerchantRepo};
use skinstack_core::testkit::conversions::{cents, order, t0, RecordingProvider};
use skinstack_core::testkit::coupon_codes::{assign_code, codes_assigned_at};
use skinstack_core::testkit::invoices::fund_everything;
use skinstack_core::testkit::{new_link, new_merchant, Fixture};
use skinstack_core::{CampaignCode, Secret};
use skinstack_pg::{Cipher, PgStore, StartupError};
use sqlx::PgPool;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn store(pool: &PgPool) -> PgStore {
    PgStore::new(pool.clone(), Some(Cipher::from_key_base64(KEY).unwrap()))
}

/// The SQLSTATE of a statement's failure.
async fn sqlstate(pool: &PgPool, sql: &str) -> String {
    let err = sqlx::query(sql).execute(pool).await.unwrap_err();
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// A merchant with one coupon conversion of 100.00 (through the code `ANA20` the link owns),
/// approved.
async fn approved_conversion(store: &PgStore) -> Fixture {
    let f = Fixture::create(store).await;
    let link = store.insert_link(new_link(&f, "ana-pg")).await.unwrap();
    assign_code(store, &f, link.id, "ANA20", codes_assigned_at()).await;
    let mut o = order(&f, "1001", cents(10000), t0());
    o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
    record_conversion(store, t0(), o).await.unwrap();
    approve_due(store, t0() + Duration::days(30)).await.unwrap();
    f
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_second_row_for_the_same_order_is_refused_by_the_database(pool: PgPool) {
    let store = store(&pool);
    approved_conversion(&store).await;
    let copy = "INSERT INTO conversions (id, merchant_id, order_id, amount, currency, ordered_at, recorded_at) \
                SELECT gen_random_uuid(), merchant_id, order_id, 1, 'USD', now(), now() FROM conversions";
    assert_eq!(sqlstate(&pool, copy).await, "23505");
    // The currency column keeps its shape (three capital letters); which code is valid, and
    // whether it is the merchant's, is the library's rule.
    let junk = "INSERT INTO conversions (id, merchant_id, order_id, amount, currency, ordered_at, recorded_at) \
                 VALUES (gen_random_uuid(), gen_random_uuid(), 'x', 1, 'euro', now(), now())";
    assert_eq!(sqlstate(&pool, junk).await, "23514");
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn the_ledger_is_append_only(pool: PgPool) {
    let store = store(&pool);
    approved_conversion(&store).await;
    assert_eq!(
        sqlstate(&pool, "UPDATE commission_events SET gross = gross + 1").await,
        "23000"
    );
    assert_eq!(
        sqlstate(&pool, "DELETE FROM commission_events").await,
        "23000"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM commission_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "accrued and approved");
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn an_event_can_be_settled_by_one_payout_only(pool: PgPool) {
    let store = store(&pool);
    approved_conversion(&store).await;
    fund_everything(&store, t0() + Duration::days(30)).await;
    let run = create_payouts(
        &store,
        &RecordingProvider::default(),
        t0() + Duration::days(31),
        cents(1),
    )
    .await
    .unwrap();
    assert!(run.batch.is_some());
    // A second paid row for the same accrual, as a buggy or concurrent writer would insert it.
    let again = "INSERT INTO commission_events (id, conversion_id, kind, gross, platform_fee, \
                 influencer_earnings, link_id, influencer_id, merchant_id, payout_batch_id, \
                 payout_item_id, settles_event_id, occurred_at, currency) \
                 SELECT gen_random_uuid(), conversion_id, 'paid', gross, platform_fee, \
                 influencer_earnings, link_id, influencer_id, merchant_id, payout_batch_id, \
                 payout_item_id, settles_event_id, now(), currency FROM commission_events \
                 WHERE kind = 'paid'";
    assert_eq!(sqlstate(&pool, again).await, "23505");
    let paid_twice = create_payouts(
        &store,
        &RecordingProvider::default(),
        t0() + Duration::days(32),
        cents(1),
    )
    .await
    .unwrap();
    assert_eq!(paid_twice.batch, None);
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn an_issued_statement_cannot_be_rewritten_and_a_paid_one_not_changed_at_all(pool: PgPool) {
    let store = store(&pool);
    approved_conversion(&store).await;
    let paid = fund_everything(&store, t0() + Duration::days(30)).await;
    assert_eq!(paid.len(), 1);
    for refused in [
        "UPDATE merchant_statement_lines SET statement_id = statement_id",
        "DELETE FROM merchant_statement_lines",
        "UPDATE merchant_statements SET status = 'issued', paid_at = NULL, payment_reference = NULL",
        "UPDATE merchant_statements SET payment_reference = 'rewritten'",
        "DELETE FROM merchant_statements",
    ] {
        assert_eq!(sqlstate(&pool, refused).await, "23000", "{refused}");
    }
    // A second statement billing the same event is refused too.
    let twice = "INSERT INTO merchant_statements (id, merchant_id, period, currency, issued_at) \
                 SELECT gen_random_uuid(), merchant_id, period + interval '1 month', currency, now() \
                 FROM merchant_statements";
    sqlx::query(twice).execute(&pool).await.unwrap();
    let bill_again = "INSERT INTO merchant_statement_lines (event_id, statement_id) \
                      SELECT l.event_id, s.id FROM merchant_statement_lines l, merchant_statements s \
                      WHERE s.status = 'issued'";
    assert_eq!(sqlstate(&pool, bill_again).await, "23505");
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn webhook_secrets_are_encrypted_and_checked_at_start_up(pool: PgPool) {
    let store = store(&pool);
    let bare = skinstack_core::NewMerchant {
        shopify_api_key: None,
        refersion_secret_key: None,
        ..new_merchant(None)
    };
    let merchant = store.create_merchant(bare).await.unwrap();
    store
        .set_shopify_webhook_secret(
            merchant.id,
            Some(Secret::parse("shpss_webhook_plain").unwrap()),
        )
        .await
        .unwrap();
    let stored: String =
        sqlx::query_scalar("SELECT shopify_webhook_secret FROM merchants WHERE id = $1")
            .bind(merchant.id.as_uuid())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains("shpss"),
        "{stored}"
    );
    // The only secret in the database is the webhook secret: a keyless store must refuse.
    let keyless = PgStore::new(pool.clone(), None);
    assert!(matches!(
        keyless.check_secrets().await,
        Err(StartupError::SecretsWithoutKey)
    ));
    let wrong = PgStore::new(
        pool.clone(),
        Some(Cipher::from_key_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap()),
    );
    assert!(matches!(
        wrong.check_secrets().await,
        Err(StartupError::WrongKey(_))
    ));
    store.check_secrets().await.unwrap();
    // Moved to another merchant's row, it no longer decrypts.
    let other = store.create_merchant(new_merchant(None)).await.unwrap();
    sqlx::query("UPDATE merchants SET shopify_webhook_secret = $1 WHERE id = $2")
        .bind(&stored)
        .bind(other.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    assert!(store.shopify_webhook_secret(other.id).await.is_err());
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn hold_days_default_to_thirty_for_existing_programs(pool: PgPool) {
    let store = store(&pool);
    let f = Fixture::create(&store).await;
    let days: i32 = sqlx::query_scalar("SELECT hold_days FROM programs WHERE id = $1")
        .bind(f.program.id.as_uuid())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(days, 30);
    assert_eq!(
        store.program_hold_days(f.program.id).await.unwrap().days(),
        30
    );
}
