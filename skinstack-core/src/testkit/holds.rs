//! The holds' contract: held commissions are never approved until released, a void reverses
//! exactly, a ban's bulk hold, the merchant's maximum order amount, the bounded order date and
//! totals past the seed's column limits.

use super::conversions::{
    assert_totals_match_ledger, cast, cents, order, refund, t0, RecordingProvider,
};
use super::Fixture;
use crate::domain::*;
use crate::earning::ledger::*;
use crate::earning::CommissionSplit;
use crate::service::conversions::*;
use crate::service::payouts::create_payouts;
use crate::store::*;
use chrono::Duration;
use rust_decimal::Decimal;

/// Records an order of the fixture's merchant attributed by the `ANA20` coupon at `t0()`.
async fn coupon_order<S: LedgerStore>(
    store: &S,
    f: &Fixture,
    id: &str,
    amount: Money,
) -> Conversion {
    let mut o = order(f, id, amount, t0());
    o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
    let recorded = record_conversion(store, t0(), o).await.unwrap();
    assert!(recorded.conversion.attribution.is_some());
    recorded.conversion
}

fn changed(change: HoldChange) -> Conversion {
    match change {
        HoldChange::Changed(c) => c,
        HoldChange::Refused(c) => panic!("refused: {c:?}"),
    }
}

fn refused(change: HoldChange) -> Conversion {
    match change {
        HoldChange::Refused(c) => c,
        HoldChange::Changed(c) => panic!("expected a refusal, changed: {c:?}"),
    }
}

/// The contract cases for holds.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn held_commissions_are_never_approved_until_released<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let c = coupon_order(store, &f, "h-1", cents(4500)).await;
        let free = coupon_order(store, &f, "h-2", cents(1000)).await;
        let held = changed(
            store
                .hold_conversion(c.id, HoldReason::Manual, t0() + Duration::days(1))
                .await
                .unwrap(),
        );
        assert_eq!(held.hold_reasons, [HoldReason::Manual]);
        assert_eq!(held.held_at, Some(t0() + Duration::days(1)));
        // A second reason is added; the hold keeps its start.
        let again = changed(
            store
                .hold_conversion(c.id, HoldReason::MemberBanned, t0() + Duration::days(2))
                .await
                .unwrap(),
        );
        assert_eq!(
            again.hold_reasons,
            [HoldReason::MemberBanned, HoldReason::Manual]
        );
        assert_eq!(again.held_at, Some(t0() + Duration::days(1)));
        let late = t0() + Duration::days(90);
        assert_eq!(approve_due(store, late).await.unwrap(), vec![free.id]);
        let views = store
            .conversions_by_merchant(f.merchant.id, ConversionFilter::All, Page::first())
            .await
            .unwrap();
        let view = views.iter().find(|v| v.conversion.id == c.id).unwrap();
        assert_eq!(view.status, ConversionStatus::Held);
        assert_eq!(store.hold_counts().await.unwrap().held, 1);
        let held_only = store
            .conversions_by_merchant(f.merchant.id, ConversionFilter::Held, Page::first())
            .await
            .unwrap();
        assert_eq!(
            held_only
                .iter()
                .map(|v| v.conversion.id)
                .collect::<Vec<_>>(),
            [c.id]
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;

        let released = changed(
            store
                .release_conversion(c.id, EventId::new(), late)
                .await
                .unwrap(),
        );
        assert_eq!(released.held_at, None);
        assert_eq!(released.hold_reasons.len(), 2, "the reasons stay on record");
        let events = store.events_by_merchant(f.merchant.id).await.unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.conversion_id == c.id && e.kind == EventKind::Released)
                .count(),
            1
        );
        // Released a second time: it is not held any more.
        refused(
            store
                .release_conversion(c.id, EventId::new(), late)
                .await
                .unwrap(),
        );
        assert_eq!(approve_due(store, late).await.unwrap(), vec![c.id]);
        // Approved commissions can no longer be held.
        refused(
            store
                .hold_conversion(c.id, HoldReason::Manual, late)
                .await
                .unwrap(),
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_void_reverses_the_commission_exactly_and_later_refunds_only_sales<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let c = coupon_order(store, &f, "v-1", cents(10_001)).await;
        record_refund(store, t0(), refund(&f, "v-1", "r-1", cents(3_333)))
            .await
            .unwrap();
        // Only a held commission can be voided.
        refused(
            store
                .void_conversion(c.id, EventId::new(), t0())
                .await
                .unwrap(),
        );
        store
            .hold_conversion(c.id, HoldReason::Manual, t0())
            .await
            .unwrap();
        let at = t0() + Duration::hours(3);
        let voided = changed(
            store
                .void_conversion(c.id, EventId::new(), at)
                .await
                .unwrap(),
        );
        assert_eq!((voided.voided_at, voided.held_at), (Some(at), None));
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(
            i.total_earned,
            Decimal::ZERO,
            "the void took back every cent"
        );
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(l.total_commission, Decimal::ZERO);
        assert_eq!(l.total_conversions, 1, "the sale still happened");
        assert_eq!(l.total_revenue, Decimal::new(6_668, 2));
        // A refund after the void reverses sales, and no commission a second time.
        let r = record_refund(store, at, refund(&f, "v-1", "r-2", cents(1_000)))
            .await
            .unwrap();
        assert_eq!(r.reversal, Some(CommissionSplit::default()));
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(i.total_earned, Decimal::ZERO);
        refused(
            store
                .void_conversion(c.id, EventId::new(), at)
                .await
                .unwrap(),
        );
        refused(
            store
                .hold_conversion(c.id, HoldReason::Manual, at)
                .await
                .unwrap(),
        );
        assert!(approve_due(store, at + Duration::days(90))
            .await
            .unwrap()
            .is_empty());
        let view = store
            .conversions_by_merchant(f.merchant.id, ConversionFilter::All, Page::first())
            .await
            .unwrap()
            .remove(0);
        assert_eq!(view.status, ConversionStatus::Voided);
        assert_eq!(view.net_commission, CommissionSplit::default());
        let counts = store.hold_counts().await.unwrap();
        assert_eq!((counts.held, counts.voided), (0, 1));
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn only_attributed_unapproved_commissions_can_be_held<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let unattributed = record_conversion(store, t0(), order(&f, "u-1", cents(100), t0()))
            .await
            .unwrap()
            .conversion;
        refused(
            store
                .hold_conversion(unattributed.id, HoldReason::Manual, t0())
                .await
                .unwrap(),
        );
        refused(
            store
                .release_conversion(unattributed.id, EventId::new(), t0())
                .await
                .unwrap(),
        );
        let pending = coupon_order(store, &f, "p-1", cents(100)).await;
        refused(
            store
                .release_conversion(pending.id, EventId::new(), t0())
                .await
                .unwrap(),
        );
        assert!(matches!(
            store
                .hold_conversion(ConversionId::new(), HoldReason::Manual, t0())
                .await,
            Err(RepoError::NotFound(Entity::Conversion))
        ));
        assert_eq!(
            store.conversion_by_id(pending.id).await.unwrap(),
            Some(pending.clone())
        );
        assert_eq!(
            store.conversion_by_id(ConversionId::new()).await.unwrap(),
            None
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_ban_holds_every_open_commission_of_that_member_in_that_program<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let approved = coupon_order(store, &f, "b-1", cents(100)).await;
        approve_due(store, t0() + Duration::days(30)).await.unwrap();
        let open = coupon_order(store, &f, "b-2", cents(200)).await;
        let also_open = coupon_order(store, &f, "b-3", cents(300)).await;
        let voided = coupon_order(store, &f, "b-4", cents(400)).await;
        store
            .hold_conversion(voided.id, HoldReason::Manual, t0())
            .await
            .unwrap();
        store
            .void_conversion(voided.id, EventId::new(), t0())
            .await
            .unwrap();
        // Another member's commission in another merchant's program is left alone.
        let other = Fixture::create(store).await;
        let other_link = store
            .insert_link(super::super::new_link(&other, "other-serum"))
            .await
            .unwrap();
        super::super::coupon_codes::assign_code(
            store,
            &other,
            other_link.id,
            "ANA20",
            t0() - Duration::days(1),
        )
        .await;
        let theirs = coupon_order(store, &other, "b-1", cents(500)).await;
        let at = t0() + Duration::days(31);
        let mut expected = vec![open.id, also_open.id];
        expected.sort();
        assert_eq!(
            store
                .hold_open_commissions(f.program.id, f.influencer.id, HoldReason::MemberBanned, at)
                .await
                .unwrap(),
            expected
        );
        for id in [open.id, also_open.id] {
            let c = store.conversion_by_id(id).await.unwrap().unwrap();
            assert_eq!(c.hold_reasons, [HoldReason::MemberBanned]);
            assert_eq!(c.held_at, Some(at));
        }
        for id in [approved.id, theirs.id] {
            let c = store.conversion_by_id(id).await.unwrap().unwrap();
            assert!(!c.is_held() && c.hold_reasons.is_empty(), "{c:?}");
        }
        assert!(approve_due(store, at + Duration::days(60))
            .await
            .unwrap()
            .into_iter()
            .all(|id| id == theirs.id));
        let counts = store.hold_counts().await.unwrap();
        assert_eq!(counts.held, 2);
        assert!(counts
            .held_by_reason
            .contains(&(HoldReason::MemberBanned, 2)));
        assert!(counts.held_by_reason.contains(&(HoldReason::Manual, 0)));
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
        assert_totals_match_ledger(
            store,
            other.merchant.id,
            &[other_link.id],
            &[other.influencer.id],
        )
        .await;
    }

    pub async fn orders_above_the_merchants_maximum_are_recorded_with_their_commission_held<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        assert_eq!(
            store.max_order_amount(f.merchant.id).await.unwrap(),
            MaxOrderAmount::default()
        );
        let max = MaxOrderAmount::new(cents(10_000)).unwrap();
        store
            .set_max_order_amount(f.merchant.id, max)
            .await
            .unwrap();
        assert_eq!(store.max_order_amount(f.merchant.id).await.unwrap(), max);
        let at_max = coupon_order(store, &f, "m-1", cents(10_000)).await;
        assert!(!at_max.is_held());
        let above = coupon_order(store, &f, "m-2", cents(10_001)).await;
        assert_eq!(above.hold_reasons, [HoldReason::OrderAboveMaximum]);
        assert_eq!(above.held_at, Some(t0()));
        assert_eq!(
            above.commission.gross,
            Decimal::new(2_000, 2),
            "still accrued"
        );
        let unattributed = record_conversion(store, t0(), order(&f, "m-3", cents(50_000), t0()))
            .await
            .unwrap()
            .conversion;
        assert!(unattributed.hold_reasons.is_empty(), "nothing to hold");
        assert_eq!(
            approve_due(store, t0() + Duration::days(30)).await.unwrap(),
            vec![at_max.id]
        );
        assert!(matches!(
            store.max_order_amount(MerchantId::new()).await,
            Err(RepoError::NotFound(Entity::Merchant))
        ));
        assert!(matches!(
            store.set_max_order_amount(MerchantId::new(), max).await,
            Err(RepoError::NotFound(Entity::Merchant))
        ));
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_back_dated_order_is_not_approved_on_the_next_approve_due<S: LedgerStore>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let now = t0();
        // Sixty days back is outside the window: refused, naming the field, nothing stored.
        let mut ancient = order(&f, "d-60", cents(4500), now - Duration::days(60));
        ancient.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        match record_conversion(store, now, ancient).await {
            Err(ConversionError::Invalid(err)) => assert_eq!(err.field, "ordered_at"),
            other => panic!("expected ordered_at to be refused, got {other:?}"),
        }
        assert!(store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("d-60").unwrap())
            .await
            .unwrap()
            .is_none());
        let mut ahead = order(&f, "d+6m", cents(4500), now + Duration::minutes(6));
        ahead.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        assert!(matches!(
            record_conversion(store, now, ahead).await,
            Err(ConversionError::Invalid(err)) if err.field == "ordered_at"
        ));
        // Twenty-nine days back is accepted, but its hold runs from receipt.
        let mut old = order(&f, "d-29", cents(4500), now - Duration::days(29));
        old.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        let recorded = record_conversion(store, now, old).await.unwrap().conversion;
        assert_eq!(recorded.hold_until, Some(now + Duration::days(30)));
        assert!(approve_due(store, now + Duration::minutes(1))
            .await
            .unwrap()
            .is_empty());
        assert!(
            approve_due(store, now + Duration::days(30) - Duration::seconds(1))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            approve_due(store, now + Duration::days(30)).await.unwrap(),
            vec![recorded.id]
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn conversions_past_the_seeds_total_limits_are_still_recorded<S: LedgerStore>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let everything = store
            .update_program(
                f.program.id,
                ProgramPatch {
                    commission: Some(Commission::Percentage(
                        CommissionRate::new(Decimal::ONE_HUNDRED).unwrap(),
                    )),
                    ..ProgramPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(everything.id, f.program.id);
        // The seed's DECIMAL(10,2) total_earned ends at 99,999,999.99: three of the largest
        // orders a conversion keeps go well past it, and the next order still counts.
        let largest = cents(9_999_999_999);
        for n in 0..3 {
            coupon_order(store, &f, &format!("x-{n}"), largest).await;
        }
        let small = coupon_order(store, &f, "x-small", cents(1_000)).await;
        assert_eq!(small.commission.gross, Decimal::new(1_000, 2));
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert!(
            i.total_earned > Decimal::new(9_999_999_999, 2),
            "{}",
            i.total_earned
        );
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(l.total_conversions, 4);
        assert_eq!(
            l.total_revenue,
            Decimal::new(9_999_999_999, 2) * Decimal::from(3) + Decimal::new(1_000, 2)
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_self_referral_is_held_and_never_approved_or_paid_until_released<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        // The influencer's own mailbox, spelt as a shop might report it.
        let own = f.influencer_user.email.as_str().replacen('@', "+deal@", 1);
        let own = Email::parse(&own.to_uppercase()).unwrap();
        let mut o = order(&f, "self-1", cents(5000), t0());
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        o.customer_email = Some(own);
        let held = record_conversion(store, t0(), o).await.unwrap().conversion;
        assert_eq!(held.signals, [FraudSignal::SelfReferral]);
        assert_eq!(held.hold_reasons, [HoldReason::SelfReferral]);
        assert_eq!(held.held_at, Some(t0()));
        assert_eq!(
            held.commission.gross,
            Decimal::new(1000, 2),
            "still accrued"
        );
        let mut shopper = order(&f, "self-2", cents(5000), t0());
        shopper.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        shopper.customer_email = Some(Email::parse("someone.else@example.com").unwrap());
        let honest = record_conversion(store, t0(), shopper)
            .await
            .unwrap()
            .conversion;
        assert!(honest.signals.is_empty() && !honest.is_held());
        let due = t0() + Duration::days(31);
        assert_eq!(approve_due(store, due).await.unwrap(), vec![honest.id]);
        // The merchant pays its statement (only the honest order is billed), then payouts run.
        crate::testkit::invoices::fund_everything(store, due).await;
        let provider = RecordingProvider::default();
        let run = create_payouts(store, &provider, due, cents(100))
            .await
            .unwrap();
        let batch = run.batch.expect("the honest order is paid");
        assert_eq!(batch.items.len(), 1);
        assert_eq!(batch.items[0].amount, cents(800), "only the honest 8.00");
        let counts = store.hold_counts().await.unwrap();
        assert!(counts
            .held_by_reason
            .contains(&(HoldReason::SelfReferral, 1)));
        assert!(counts.signals.contains(&(FraudSignal::SelfReferral, 1)));
        // Released by a person, it is approved like any other and keeps its signal.
        let released = changed(
            store
                .release_conversion(held.id, EventId::new(), due)
                .await
                .unwrap(),
        );
        assert_eq!(released.signals, [FraudSignal::SelfReferral]);
        assert_eq!(
            approve_due(store, due + Duration::days(1)).await.unwrap(),
            vec![held.id]
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_shopper_from_another_network_than_the_click_is_held<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let clicker: std::net::IpAddr = "203.0.113.77".parse().unwrap();
        let mut clicks = Vec::new();
        for n in 0..3 {
            let mut click = Click::new(link.id, Some(clicker), Some("Mozilla/5.0 (iPhone)"), None);
            click.id = ClickId::issued(t0() - Duration::hours(3 - n));
            click.at = click.id.issued_at();
            clicks.push(click);
        }
        store.record_clicks(&clicks).await.unwrap();
        assert_eq!(
            store.click_facts(clicks[0].id).await.unwrap().unwrap().ip,
            Some("203.0.113.0".parse().unwrap()),
            "stored anonymised"
        );
        let cases = [
            ("same-network", Some("203.0.113.5"), false),
            ("other-network", Some("198.51.100.9"), true),
            ("no-address", None, false),
        ];
        for ((id, ip, mismatch), click) in cases.into_iter().zip(&clicks) {
            let mut o = order(&f, id, cents(3000), t0());
            o.click_id = Some(click.id);
            o.shopper_ip = ip.map(|ip| ip.parse().unwrap());
            let c = record_conversion(store, t0(), o).await.unwrap().conversion;
            assert!(c.attribution.is_some(), "{id}");
            assert_eq!(
                c.signals == [FraudSignal::ShopperMismatch],
                mismatch,
                "{id}: {:?}",
                c.signals
            );
            assert_eq!(c.is_held(), mismatch, "{id}");
            if mismatch {
                assert_eq!(c.hold_reasons, [HoldReason::ShopperMismatch]);
            }
        }
        let counts = store.hold_counts().await.unwrap();
        assert!(counts.signals.contains(&(FraudSignal::ShopperMismatch, 1)));
        assert_eq!(
            approve_due(store, t0() + Duration::days(31))
                .await
                .unwrap()
                .len(),
            2
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }
}
