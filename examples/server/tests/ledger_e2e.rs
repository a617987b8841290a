//! From a shopper's click to a payout file and a refund after it, on PostgreSQL: the click is
//! stored through the click sink, the order arrives as a signed Shopify webhook body, the
//! commission waits out its hold, `approve-due`, `invoices create | mark-paid | export` and
//! `payouts create` run as real processes, and every total is checked against the ledger at
//! each step. Nothing is paid out before the merchant's statement is paid.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, SubsecRound, Utc};
use common::{block_on, cli_lines, merchant_pays, FreshDatabase, SECRET_KEY};
use rust_decimal::Decimal;
use skinstack_core::earning::ledger::ConversionStatus;
use skinstack_core::service::conversions::{record_conversion, record_refund};
use skinstack_core::shopify::{parse_order, parse_refund, sign, verify_hmac};
use skinstack_core::store::{InfluencerRepo, LinkRepo, MerchantRepo};
use skinstack_core::store::{LedgerQueries, WebhookSecrets};
use skinstack_core::testkit::conversions::assert_totals_match_ledger;
use skinstack_core::testkit::{new_link, Fixture};
use skinstack_core::{Click, ClickId, ClickSink, Secret};
use skinstack_pg::{Cipher, PgStore, MIGRATOR};

#[test]
fn a_click_becomes_a_paid_commission_and_a_later_refund_a_carried_balance() {
    let db = FreshDatabase::create();
    let url = db.url.clone();
    let out_dir = std::env::temp_dir().join(format!("skinstack-payouts-{}", uuid_like()));
    block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        let store = PgStore::new(pool, Some(Cipher::from_key_base64(SECRET_KEY).unwrap()));
        let f = Fixture::create(&store).await;
        let link = store.insert_link(new_link(&f, "ana-glow")).await.unwrap();
        let secret = Secret::parse("shpss_e2e_webhook_secret").unwrap();
        store
            .set_shopify_webhook_secret(f.merchant.id, Some(secret.clone()))
            .await
            .unwrap();
        let check = |step: &'static str| {
            let store = store.clone();
            let (merchant, link, influencer) = (f.merchant.id, link.id, f.influencer.id);
            async move {
                assert_totals_match_ledger(&store, merchant, &[link], &[influencer]).await;
                eprintln!("totals exact after: {step}");
            }
        };

        // The shopper clicks an hour before ordering.
        let now = Utc::now().trunc_subsecs(0);
        let mut click = Click::new(link.id, None, Some("Mozilla/5.0 (iPhone)"), None);
        // A click is stored at its id's time: an hour-old click needs an hour-old id.
        click.id = ClickId::issued(now - Duration::hours(1));
        click.at = click.id.issued_at();
        store.record_clicks(&[click.clone()]).await.unwrap();

        // The shop reports the order: a signed orders/create webhook.
        let body = format!(
            r#"{{"id": 820982911946154508, "created_at": "{}", "currency": "USD",
                "current_subtotal_price": "40.50", "total_price": "47.83",
                "landing_site": "/products/vitamin-c-serum?utm_source=skinstack&ssclid={}",
                "discount_codes": [], "line_items": [{{"product_id": 1, "quantity": 1}}]}}"#,
            now.to_rfc3339(),
            click.id
        );
        let header = sign(&secret, body.as_bytes());
        let stored_secret = store
            .shopify_webhook_secret(f.merchant.id)
            .await
            .unwrap()
            .unwrap();
        verify_hmac(&stored_secret, body.as_bytes(), &header).unwrap();
        let order = parse_order(f.merchant.id, body.as_bytes()).unwrap();
        let recorded = record_conversion(&store, now, order.clone()).await.unwrap();
        assert_eq!(
            recorded.conversion.attribution.as_ref().map(|a| a.link_id),
            Some(link.id)
        );
        // Shopify retries webhooks: a second delivery changes nothing.
        assert!(
            record_conversion(&store, now, order)
                .await
                .unwrap()
                .duplicate
        );
        let summary = skinstack_core::testkit::usd_earnings(&store, f.influencer.id).await;
        // 40.50 × 20 % = 8.10, of which the platform keeps 1.62.
        assert_eq!(summary.pending, Decimal::new(648, 2));
        assert_eq!(summary.approved, Decimal::ZERO);
        check("the order").await;

        // A month and a day later the hold has passed.
        let later = (now + Duration::days(31)).to_rfc3339();
        let lines = cli_lines(&url, &["approve-due", "--as-of", &later]);
        assert_eq!(lines, vec![format!("approved 1 conversion as of {later}")]);
        assert_eq!(
            cli_lines(&url, &["approve-due", "--as-of", &later])[0],
            format!("approved 0 conversions as of {later}")
        );
        check("approval").await;

        let out = out_dir.to_str().unwrap();
        // Approved, but the merchant has not paid for it: nothing is paid out.
        let summary = skinstack_core::testkit::usd_earnings(&store, f.influencer.id).await;
        assert_eq!(
            (summary.awaiting_merchant, summary.approved),
            (Decimal::new(648, 2), Decimal::ZERO)
        );
        let unfunded = cli_lines(
            &url,
            &[
                "payouts", "create", "--min", "5.00", "--out", out, "--as-of", &later,
            ],
        );
        assert_eq!(
            unfunded,
            vec![
                "nothing to pay".to_owned(),
                format!(
                    "skipped influencer {} balance 6.48 USD: awaiting the merchant (its statement is not paid yet)",
                    f.influencer.id
                )
            ]
        );
        // The merchant is billed 8.10 for it and pays.
        let (statement, rows) = merchant_pays(&url, &later);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0][0], statement);
        assert_eq!(rows[0][3], "820982911946154508");
        assert_eq!(
            &rows[0][4..9],
            [
                "charge",
                &f.influencer.id.to_string(),
                "8.10",
                "1.62",
                "6.48"
            ]
        );
        check("the merchant's payment").await;
        let lines = cli_lines(
            &url,
            &[
                "payouts", "create", "--min", "5.00", "--out", out, "--as-of", &later,
            ],
        );
        assert!(lines[0].ends_with(": 1 payout, 6.48 USD"), "{lines:?}");
        let file = lines[1].strip_prefix("wrote ").unwrap();
        assert!(file.ends_with("-paypal.csv"), "{file}");
        let csv = std::fs::read_to_string(file).unwrap();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(
            rows[0],
            "influencer_id,display_name,payout_account,amount,currency,reference"
        );
        assert!(
            rows[1].starts_with(&format!(
                "{},Ana Glow,ana@paypal.example.com,6.48,USD,skinstack-",
                f.influencer.id
            )),
            "{csv}"
        );
        assert_eq!(rows.len(), 2);
        let influencer = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(
            (influencer.total_earned, influencer.total_paid),
            (Decimal::new(648, 2), Decimal::new(648, 2))
        );
        let merchant = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(merchant.total_commissions_paid, Decimal::new(810, 2));
        assert_eq!(merchant.total_sales, Decimal::new(4050, 2));
        let views = store
            .conversions_by_influencer(f.influencer.id, Default::default())
            .await
            .unwrap();
        assert_eq!(views[0].status, ConversionStatus::Paid);
        check("the payout").await;

        // Nothing is paid twice.
        let again = cli_lines(
            &url,
            &[
                "payouts", "create", "--min", "5.00", "--out", out, "--as-of", &later,
            ],
        );
        assert_eq!(again, vec!["nothing to pay"]);

        // Half the order comes back after the payout: a signed refunds/create webhook.
        let refund_body = r#"{"id": 509562969, "order_id": 820982911946154508,
            "refund_line_items": [{"quantity": 1, "subtotal_set":
                {"shop_money": {"amount": "20.25", "currency_code": "USD"}}}],
            "transactions": [{"kind": "refund", "amount": "23.92"}]}"#;
        let refund_header = sign(&secret, refund_body.as_bytes());
        verify_hmac(&stored_secret, refund_body.as_bytes(), &refund_header).unwrap();
        let refund = parse_refund(f.merchant.id, refund_body.as_bytes()).unwrap();
        let reversed = record_refund(&store, now, refund.clone()).await.unwrap();
        assert_eq!(
            reversed.reversal.unwrap().influencer_earnings,
            Decimal::new(-324, 2)
        );
        assert!(record_refund(&store, now, refund).await.unwrap().duplicate);
        let summary = skinstack_core::testkit::usd_earnings(&store, f.influencer.id).await;
        assert_eq!(
            (summary.awaiting_merchant, summary.paid, summary.balance),
            (
                Decimal::new(-324, 2),
                Decimal::new(648, 2),
                Decimal::new(-324, 2)
            )
        );
        let link_now = store.link_by_id(link.id).await.unwrap();
        assert_eq!(
            (
                link_now.total_clicks,
                link_now.total_conversions,
                link_now.total_revenue,
                link_now.total_commission
            ),
            (1, 1, Decimal::new(2025, 2), Decimal::new(405, 2))
        );
        check("the refund after the payout").await;

        // The refund is credited to the merchant on next month's statement, exactly.
        let next_month = skinstack_core::BillingPeriod::containing(
            chrono::DateTime::parse_from_rfc3339(&later)
                .unwrap()
                .with_timezone(&Utc),
        )
        .end()
        .to_rfc3339();
        let (_, credit) = merchant_pays(&url, &next_month);
        assert_eq!(credit.len(), 1, "{credit:?}");
        assert_eq!(
            &credit[0][4..9],
            [
                "credit",
                &f.influencer.id.to_string(),
                "-4.05",
                "-0.81",
                "-3.24"
            ]
        );
        let merchant = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(merchant.total_commissions_paid, Decimal::new(405, 2));
        check("the credit").await;

        // The debt is carried, reported, and not paid.
        let carried = cli_lines(
            &url,
            &[
                "payouts", "create", "--min", "0.01", "--out", out, "--as-of", &later,
            ],
        );
        assert_eq!(carried[0], "nothing to pay");
        assert_eq!(
            carried[1],
            format!(
                "skipped influencer {} balance -3.24 USD: not positive (carried to the next payout)",
                f.influencer.id
            )
        );
        let statements = cli_lines(&url, &["invoices", "list"]);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[0].contains(" paid on "), "{statements:?}");
        assert!(
            statements[1].contains("1 line, -4.05 USD gross"),
            "{statements:?}"
        );
        assert_eq!(statements[2], "due 0 USD");
        let listed = cli_lines(&url, &["payouts", "list"]);
        assert_eq!(listed.len(), 1);
        assert!(
            listed[0].contains(" 1 payout 6.48 USD (minimum 5.00)"),
            "{listed:?}"
        );
    });
    std::fs::remove_dir_all(&out_dir).unwrap();
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}
