//! The contract for payouts: approved balances paid once, negative ones carried, influencers
//! without a payout method skipped.

use super::conversions::*;
use super::invoices::fund_everything;
use super::*;
use crate::service::conversions::*;
use crate::service::payouts::create_payouts;
use chrono::Duration;

/// The contract cases for payouts.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn payouts_pay_approved_balances_once_and_carry_negative_ones<S: LedgerStore>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let provider = RecordingProvider::default();
        let min = cents(5000);
        let coupon = |id: &str, amount| {
            let mut o = order(&f, id, amount, t0());
            o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
            o
        };
        // 300.00 at 20 % → 60.00 gross, 48.00 earnings; 100.00 → 16.00 earnings.
        record_conversion(store, t0(), coupon("p-1", cents(30000)))
            .await
            .unwrap();
        let later = t0() + Duration::days(20);
        let mut o2 = coupon("p-2", cents(10000));
        o2.ordered_at = later;
        record_conversion(store, later, o2).await.unwrap();
        // Nothing approved yet: nothing to pay.
        let run = create_payouts(store, &provider, t0(), min).await.unwrap();
        assert_eq!(run.batch, None);
        // p-1 approved: 48.00 is below the 50.00 minimum, reported and kept.
        approve_due(store, t0() + Duration::days(30)).await.unwrap();
        fund_everything(store, t0() + Duration::days(30)).await;
        let run = create_payouts(store, &provider, t0() + Duration::days(30), min)
            .await
            .unwrap();
        assert_eq!(run.batch, None);
        assert_eq!(run.skipped.len(), 1);
        assert_eq!(run.skipped[0].balance, Decimal::new(4800, 2));
        assert_eq!(
            run.skipped[0].reason,
            crate::earning::payout::SkipReason::BelowMinimum
        );
        // With p-2 approved too: 64.00 paid in one batch, by PayPal.
        approve_due(store, later + Duration::days(30))
            .await
            .unwrap();
        fund_everything(store, later + Duration::days(30)).await;
        let run = create_payouts(store, &provider, later + Duration::days(30), min)
            .await
            .unwrap();
        let batch = run.batch.expect("a batch");
        assert_eq!(batch.items.len(), 1);
        assert_eq!(batch.items[0].amount, cents(6400));
        assert_eq!(batch.items[0].method, PayoutMethod::PayPal);
        assert_eq!(batch.items[0].account, "ana@paypal.example.com");
        assert_eq!(provider.batches.lock().unwrap().len(), 1);
        // Running it again pays nothing.
        let again = create_payouts(store, &provider, later + Duration::days(31), cents(1))
            .await
            .unwrap();
        assert_eq!(again.batch, None);
        assert!(again.skipped.is_empty());
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(
            (i.total_earned, i.total_paid),
            (Decimal::new(6400, 2), Decimal::new(6400, 2))
        );
        let m = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(m.total_commissions_paid, Decimal::new(8000, 2));
        // A full refund of p-2 after the payout, in May: −16.00, credited to the merchant on
        // May's statement, carried, never lost.
        let may = later + Duration::days(41);
        record_refund(store, may, refund(&f, "p-2", "pr-1", cents(10000)))
            .await
            .unwrap();
        let s = usd_earnings(store, f.influencer.id).await;
        assert_eq!(s.awaiting_merchant, Decimal::new(-1600, 2));
        let credit = fund_everything(store, may).await;
        assert_eq!(credit[0].total().gross, Decimal::new(-2000, 2));
        let s = usd_earnings(store, f.influencer.id).await;
        assert_eq!(
            (s.approved, s.paid, s.balance),
            (
                Decimal::new(-1600, 2),
                Decimal::new(6400, 2),
                Decimal::new(-1600, 2)
            )
        );
        let run = create_payouts(store, &provider, may, cents(1))
            .await
            .unwrap();
        assert_eq!(run.batch, None);
        assert_eq!(
            run.skipped[0].reason,
            crate::earning::payout::SkipReason::NotPositive
        );
        // The next 100.00 order (16.00) nets the debt to zero: still nothing to pay…
        let mut o3 = coupon("p-3", cents(10000));
        o3.ordered_at = later;
        record_conversion(store, later, o3).await.unwrap();
        approve_due(store, later + Duration::days(30))
            .await
            .unwrap();
        let june = may + Duration::days(31);
        fund_everything(store, june).await;
        let run = create_payouts(store, &provider, june, cents(1))
            .await
            .unwrap();
        assert_eq!(run.batch, None);
        // …and the one after it is paid net of nothing more.
        let mut o4 = coupon("p-4", cents(40000)); // 64.00
        o4.ordered_at = later;
        record_conversion(store, later, o4).await.unwrap();
        approve_due(store, later + Duration::days(30))
            .await
            .unwrap();
        let july = june + Duration::days(31);
        fund_everything(store, july).await;
        let run = create_payouts(store, &provider, july, min).await.unwrap();
        let batch = run.batch.expect("a batch");
        assert_eq!(batch.items[0].amount, cents(6400));
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(
            (i.total_earned, i.total_paid),
            (Decimal::new(12800, 2), Decimal::new(12800, 2))
        );
        let batches = store.payout_batches().await.unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].id, batch.id, "newest first");
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }
    pub async fn payouts_skip_influencers_without_a_payout_method<S: LedgerStore>(store: &S) {
        let (f, _) = cast(store).await;
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let undecided = store
            .create_influencer(NewInfluencer {
                payout: PayoutSettings::default(),
                ..new_influencer(user.id)
            })
            .await
            .unwrap();
        let link = store
            .insert_link(NewLink {
                influencer_id: undecided.id,
                ..new_link(&f, "undecided")
            })
            .await
            .unwrap();
        super::coupon_codes::assign_code(
            store,
            &f,
            link.id,
            "UNDECIDED",
            super::coupon_codes::codes_assigned_at(),
        )
        .await;
        let mut o = order(&f, "nd-1", cents(100000), t0());
        o.coupon_code = Some(CampaignCode::parse("UNDECIDED").unwrap());
        record_conversion(store, t0(), o).await.unwrap();
        approve_due(store, t0() + Duration::days(30)).await.unwrap();
        fund_everything(store, t0() + Duration::days(30)).await;
        let run = create_payouts(
            store,
            &RecordingProvider::default(),
            t0() + Duration::days(30),
            cents(5000),
        )
        .await
        .unwrap();
        assert_eq!(run.batch, None);
        assert_eq!(
            run.skipped[0].reason,
            crate::earning::payout::SkipReason::NoPayoutMethod
        );
        assert_eq!(run.skipped[0].balance, Decimal::new(16000, 2));
        let s = usd_earnings(store, undecided.id).await;
        assert_eq!(
            s.approved,
            Decimal::new(16000, 2),
            "funded, still payable later"
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[undecided.id]).await;
    }
}
