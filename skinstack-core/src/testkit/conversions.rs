//! The ledger's contract: conversions, attribution through the store, refunds, approvals,
//! payouts and the read side, with every denormalized total checked against the ledger.

use super::coupon_codes::{assign_code, codes_assigned_at};
use super::{new_link, usd_earnings, Fixture};
use crate::domain::*;
use crate::earning::attribution::ClickRejection;
use crate::earning::ledger::*;
use crate::earning::signals::ClickReuseLimit;
use crate::earning::{
    Balance, CommissionSplit, DeliveryError, PayoutBatch, PayoutProvider, UnattributedOrders,
};
use crate::service::conversions::*;
use crate::service::payouts::create_payouts;
use crate::store::*;
use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// A provider that keeps the batches it is handed, for tests.
#[derive(Debug, Default)]
pub struct RecordingProvider {
    /// Every batch delivered, in order.
    pub batches: Mutex<Vec<PayoutBatch>>,
}

#[async_trait]
impl PayoutProvider for RecordingProvider {
    async fn deliver(&self, batch: &PayoutBatch) -> Result<Vec<String>, DeliveryError> {
        self.batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(batch.clone());
        Ok(vec![format!("batch {}", batch.id)])
    }
}

/// A fixed instant (whole seconds: every store keeps at least microseconds).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0)
        .single()
        .expect("a valid instant")
}

/// Cents as money.
pub fn cents(value: i64) -> Money {
    Money::new(Decimal::new(value, 2)).expect("non-negative cents")
}

/// An order of the fixture's merchant, in USD, with neither click nor coupon.
pub fn order(f: &Fixture, id: &str, amount: Money, at: DateTime<Utc>) -> RecordConversion {
    RecordConversion {
        merchant_id: f.merchant.id,
        order_id: ShopRef::parse(id).expect("valid order id"),
        amount,
        currency: Currency::USD,
        ordered_at: at,
        click_id: None,
        coupon_code: None,
        product_external_ids: Vec::new(),
        customer_email: None,
        shopper_ip: None,
    }
}

/// A refund of `order`.
pub fn refund(f: &Fixture, order: &str, id: &str, amount: Money) -> RecordRefund {
    RecordRefund {
        merchant_id: f.merchant.id,
        order_id: ShopRef::parse(order).expect("valid order id"),
        refund_id: ShopRef::parse(id).expect("valid refund id"),
        amount,
        currency: None,
    }
}

/// The fixture's cast with one link, `ana-serum`, to its product, owning the coupon code
/// `ANA20` since [`codes_assigned_at`].
pub async fn cast<S: LedgerStore>(store: &S) -> (Fixture, TrackingLink) {
    let f = Fixture::create(store).await;
    let link = store
        .insert_link(new_link(&f, "ana-serum"))
        .await
        .expect("link");
    assign_code(store, &f, link.id, "ANA20", codes_assigned_at()).await;
    (f, link)
}

/// Records a click on `link` at `at` through the store's click sink.
pub async fn click_at<S: LedgerStore + ?Sized>(
    store: &S,
    link: LinkId,
    at: DateTime<Utc>,
    is_bot: bool,
) -> ClickId {
    let mut click = Click::new(link, None, Some("Mozilla/5.0 (iPhone)"), None);
    // Stores keep a click at its id's time, so a click of the past needs an id of the past.
    click.id = ClickId::issued(at);
    click.at = click.id.issued_at();
    click.is_bot = is_bot;
    store
        .record_clicks(&[click.clone()])
        .await
        .expect("click stored");
    click.id
}

/// Checks every denormalized total of `merchant`, its `links` and `influencers` against the
/// ledger and the conversions, to the cent, plus the ledger's own rules: one accrual and at
/// most one approval per conversion, every settlement of an accrued or reversed event exactly
/// once, refunds within their order, and earned = pending + approved + paid.
pub async fn assert_totals_match_ledger<S: LedgerStore + ?Sized>(
    store: &S,
    merchant: MerchantId,
    links: &[LinkId],
    influencers: &[InfluencerId],
) {
    let events = store.events_by_merchant(merchant).await.expect("events");
    let mut conversions = Vec::new();
    let mut page = Page::new(100, None).unwrap();
    loop {
        let batch = store
            .conversions_by_merchant(merchant, ConversionFilter::All, page)
            .await
            .expect("conversions");
        let Some(last) = batch.last() else { break };
        page = Page::new(100, Some(last.conversion.id)).unwrap();
        conversions.extend(batch);
    }
    let by_id: HashMap<EventId, &CommissionEvent> = events.iter().map(|e| (e.id, e)).collect();
    let mut settled = HashSet::new();
    let mut accrued = HashSet::new();
    let mut approved = HashSet::new();
    let mut voided = HashSet::new();
    let mut paid_events = Vec::new();
    for e in &events {
        assert_eq!(
            e.split.platform_fee + e.split.influencer_earnings,
            e.split.gross,
            "{e:?}"
        );
        match e.kind {
            EventKind::Accrued => assert!(accrued.insert(e.conversion_id), "two accruals: {e:?}"),
            EventKind::Approved => {
                assert!(approved.insert(e.conversion_id), "two approvals: {e:?}")
            }
            EventKind::Reversed => assert!(e.refund_id.is_some()),
            EventKind::Released => assert_eq!(e.split, CommissionSplit::default()),
            EventKind::Voided => assert!(voided.insert(e.conversion_id), "two voids: {e:?}"),
            EventKind::Paid => {
                let target = e.settles.expect("a paid event settles one");
                assert!(settled.insert(target), "{target} settled twice");
                let original = by_id
                    .get(&target)
                    .expect("settles an event of this merchant");
                assert!(matches!(
                    original.kind,
                    EventKind::Accrued | EventKind::Reversed
                ));
                assert_eq!(original.split, e.split, "a payment copies what it settles");
                paid_events.push(target);
                assert!(e.payout_batch_id.is_some());
            }
        }
    }
    let mut net_sales = Decimal::ZERO;
    for view in &conversions {
        let c = &view.conversion;
        assert!(c.refunded_amount <= c.amount, "{c:?}");
        if c.attribution.is_some() {
            assert!(accrued.contains(&c.id), "attributed without accrual: {c:?}");
            net_sales += c.net_amount().amount();
            assert_eq!(c.approved_at.is_some(), approved.contains(&c.id));
            assert_eq!(c.voided_at.is_some(), voided.contains(&c.id), "{c:?}");
            assert!(!(c.is_held() && c.voided_at.is_some()), "{c:?}");
            assert!(c.approved_at.is_none() || (!c.is_held() && c.voided_at.is_none()));
            // What the ledger carries is what core says the conversion still carries.
            assert_eq!(view.net_commission, c.open_commission(), "{c:?}");
        } else {
            assert!(!accrued.contains(&c.id));
        }
    }
    let sum = |keep: &dyn Fn(&CommissionEvent) -> bool| -> TotalsDelta {
        events
            .iter()
            .filter(|e| keep(e))
            .map(TotalsDelta::of_event)
            .fold(TotalsDelta::default(), |a, d| TotalsDelta {
                conversions: a.conversions + d.conversions,
                sales: a.sales + d.sales,
                commission: a.commission + d.commission,
                earned: a.earned + d.earned,
                paid: a.paid + d.paid,
                commissions_paid: a.commissions_paid + d.commissions_paid,
            })
    };
    // Funded: billed on a statement marked paid; every event billed at most once, ever.
    let statements = crate::service::invoices::all_statements_of(store, merchant)
        .await
        .expect("statements");
    let mut billed = HashSet::new();
    let mut funded = HashSet::new();
    let mut paid_for = Decimal::ZERO;
    for statement in &statements {
        assert!(!statement.lines.is_empty(), "{statement:?}");
        for line in &statement.lines {
            assert!(
                billed.insert(line.event_id),
                "{} billed twice",
                line.event_id
            );
            let event = by_id
                .get(&line.event_id)
                .expect("bills an event of this merchant");
            assert!(event.kind.carries_commission(), "{event:?}");
            assert_eq!(event.split, line.split, "a line copies what it bills");
            assert!(
                approved.contains(&event.conversion_id),
                "billed in its hold: {event:?}"
            );
            if statement.status == StatementStatus::Paid {
                funded.insert(line.event_id);
            }
        }
        if statement.status == StatementStatus::Paid {
            paid_for += statement.total().gross;
        }
    }
    for target in &paid_events {
        assert!(
            funded.contains(target),
            "{target} paid out before it was funded"
        );
    }
    let m = store.merchant_by_id(merchant).await.expect("merchant");
    let all = sum(&|_| true);
    assert_eq!(m.total_sales, all.sales, "merchants.total_sales");
    assert_eq!(
        all.sales, net_sales,
        "sales in the ledger = attributed net order amounts"
    );
    assert_eq!(
        all.commissions_paid,
        Decimal::ZERO,
        "no event moves what merchants paid for"
    );
    assert_eq!(
        m.total_commissions_paid, paid_for,
        "merchants.total_commissions_paid = Σ gross of its statements marked paid"
    );
    let commissions = store.merchant_commissions(merchant).await.expect("summary");
    assert_eq!(commissions.paid, paid_for);
    assert_eq!(commissions.owed + commissions.paid, all.commission);
    // Whatever a store aggregates in, its summaries are core's one bucketing rule applied to
    // the events it lists.
    let balance = |keep: &dyn Fn(&CommissionEvent) -> bool| -> Balance {
        let mut balance = Balance::default();
        for e in events.iter().filter(|e| keep(e)) {
            let approved = approved.contains(&e.conversion_id);
            balance.add(
                e.kind,
                approved,
                funded.contains(&e.id),
                settled.contains(&e.id),
                &e.split,
            );
        }
        balance
    };
    let mut unattributed = UnattributedOrders::default();
    for view in conversions
        .iter()
        .filter(|v| v.conversion.attribution.is_none())
    {
        unattributed.add(&view.conversion);
    }
    assert_eq!(
        commissions,
        balance(&|_| true).commissions(m.currency, &unattributed),
        "merchant_commissions buckets the ledger by Balance::add"
    );
    for link in links {
        let l = store.link_by_id(*link).await.expect("link");
        let t = sum(&|e| e.link_id == *link);
        assert_eq!(
            l.total_conversions, t.conversions,
            "total_conversions of {link}"
        );
        assert_eq!(l.total_revenue, t.sales, "total_revenue of {link}");
        assert_eq!(
            l.total_commission, t.commission,
            "total_commission of {link}"
        );
        let attributed = conversions
            .iter()
            .filter(|v| {
                v.conversion
                    .attribution
                    .as_ref()
                    .is_some_and(|a| a.link_id == *link)
            })
            .count();
        assert_eq!(l.total_conversions, attributed as i64);
    }
    for influencer in influencers {
        let i = store
            .influencer_by_id(*influencer)
            .await
            .expect("influencer");
        let theirs = |e: &CommissionEvent| e.influencer_id == *influencer;
        let currencies: BTreeSet<Currency> = events
            .iter()
            .filter(|e| theirs(e) && !TotalsDelta::of_event(e).earned.is_zero())
            .map(|e| e.currency)
            .collect();
        // The seed totals hold the primary currency's events only (SeedTotals).
        assert_eq!(i.primary_currency.is_some(), !currencies.is_empty());
        let primary = i.primary_currency.unwrap_or_default();
        assert!(currencies.is_empty() || currencies.contains(&primary));
        let t = sum(&|e| theirs(e) && e.currency == primary);
        assert_eq!(i.total_earned, t.earned, "total_earned of {influencer}");
        assert_eq!(i.total_paid, t.paid, "total_paid of {influencer}");
        let summaries = store.earnings_summary(*influencer).await.expect("summary");
        let in_ledger: BTreeSet<Currency> = events
            .iter()
            .filter(|e| theirs(e))
            .map(|e| e.currency)
            .collect();
        assert_eq!(
            summaries.iter().map(|s| s.currency).collect::<Vec<_>>(),
            in_ledger.iter().copied().collect::<Vec<_>>(),
            "one summary per currency the influencer has events in, by code"
        );
        for s in &summaries {
            assert_eq!(
                *s,
                balance(&|e| theirs(e) && e.currency == s.currency).earnings(s.currency),
                "earnings_summary buckets the ledger by Balance::add, per currency"
            );
            let t = sum(&|e| theirs(e) && e.currency == s.currency);
            assert_eq!(
                s.pending + s.awaiting_merchant + s.approved + s.paid,
                t.earned,
                "{s:?}"
            );
            assert_eq!(s.paid, t.paid);
            assert_eq!(s.balance, s.pending + s.awaiting_merchant + s.approved);
            if s.currency == primary {
                assert_eq!(t.earned, i.total_earned);
            }
        }
    }
}

/// The contract cases for the ledger.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn conversions_are_recorded_once_per_order<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let mut o = order(&f, "1001", cents(4500), t0());
        o.coupon_code = Some(CampaignCode::parse("ana20").unwrap());
        let first = record_conversion(store, t0(), o.clone()).await.unwrap();
        assert!(!first.duplicate);
        let attribution = first
            .conversion
            .attribution
            .clone()
            .expect("attributed by coupon");
        assert_eq!(attribution.link_id, link.id);
        assert_eq!(first.conversion.commission.gross, Decimal::new(900, 2));
        assert_eq!(first.conversion.hold_until, Some(t0() + Duration::days(30)));
        for _ in 0..3 {
            let again = record_conversion(store, t0() + Duration::hours(1), o.clone())
                .await
                .unwrap();
            assert!(again.duplicate);
            assert_eq!(again.conversion, first.conversion);
        }
        let mut other_amount = o.clone();
        other_amount.amount = cents(4600);
        match record_conversion(store, t0(), other_amount).await {
            Err(ConversionError::OrderConflict {
                stored, reported, ..
            }) => {
                assert_eq!((stored, reported), (cents(4500), cents(4600)));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(
            (l.total_conversions, l.total_revenue),
            (1, Decimal::new(4500, 2))
        );
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(i.total_earned, Decimal::new(720, 2));
        // The same order id at another merchant is another order.
        let other = Fixture::create(store).await;
        let theirs = record_conversion(store, t0(), order(&other, "1001", cents(100), t0()))
            .await
            .unwrap();
        assert!(!theirs.duplicate);
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn fifty_concurrent_deliveries_of_one_order_make_one_conversion<
        S: LedgerStore + Clone,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let clicked = click_at(store, link.id, t0() - Duration::hours(2), false).await;
        let mut o = order(&f, "race-1", cents(8999), t0());
        o.click_id = Some(clicked);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, o) = (store.clone(), o.clone());
                tokio::spawn(async move { record_conversion(&store, t0(), o).await })
            })
            .collect();
        let mut ids = HashSet::new();
        let mut fresh = 0;
        for task in tasks {
            let recorded = task.await.expect("task ran").expect("recorded");
            fresh += usize::from(!recorded.duplicate);
            ids.insert(recorded.conversion.id);
        }
        assert_eq!((fresh, ids.len()), (1, 1));
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(l.total_conversions, 1);
        assert_eq!(l.total_revenue, Decimal::new(8999, 2));
        assert_eq!(l.total_commission, Decimal::new(1800, 2)); // 17.998 → 18.00
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn fifty_concurrent_orders_make_fifty_conversions_with_exact_totals<
        S: LedgerStore + Clone,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let mut o = order(&f, &format!("order-{n}"), cents(1000 + n), t0());
                o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
                let store = store.clone();
                tokio::spawn(async move { record_conversion(&store, t0(), o).await })
            })
            .collect();
        for task in tasks {
            assert!(!task.await.expect("task ran").expect("recorded").duplicate);
        }
        let expected_revenue: Decimal = (0..50).map(|n| Decimal::new(1000 + n, 2)).sum();
        let expected_gross: Decimal = (0..50)
            .map(|n| f.program.split(cents(1000 + n), Currency::USD).gross)
            .sum();
        let expected_earned: Decimal = (0..50)
            .map(|n| {
                f.program
                    .split(cents(1000 + n), Currency::USD)
                    .influencer_earnings
            })
            .sum();
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(l.total_conversions, 50);
        assert_eq!(l.total_revenue, expected_revenue);
        assert_eq!(l.total_commission, expected_gross);
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(i.total_earned, expected_earned);
        let m = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(m.total_sales, expected_revenue);
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn clicks_attribute_within_the_window_on_this_merchants_links_only<S: LedgerStore>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let window = f.program.cookie_window.duration();
        let cases = [
            ("at-window-end", t0() - window, false, true),
            (
                "after-window",
                t0() - window - Duration::seconds(1),
                false,
                false,
            ),
            ("robot", t0() - Duration::hours(1), true, false),
            ("after-order", t0() + Duration::seconds(1), false, false),
            ("same-instant", t0(), false, true),
        ];
        for (id, at, bot, attributes) in cases {
            let clicked = click_at(store, link.id, at, bot).await;
            let mut o = order(&f, id, cents(2000), t0());
            o.click_id = Some(clicked);
            let recorded = record_conversion(store, t0(), o).await.unwrap();
            assert_eq!(
                recorded.conversion.attribution.is_some(),
                attributes,
                "{id}"
            );
            assert_eq!(
                recorded.conversion.click_id,
                Some(clicked),
                "the reported click is kept"
            );
        }
        // A click on another merchant's link, and an id never stored.
        let other = Fixture::create(store).await;
        let their_link = store
            .insert_link(new_link(&other, "their-link"))
            .await
            .unwrap();
        let theirs = click_at(store, their_link.id, t0() - Duration::hours(1), false).await;
        for (id, click) in [("foreign", theirs), ("unknown", ClickId::new())] {
            let mut o = order(&f, id, cents(2000), t0());
            o.click_id = Some(click);
            let recorded = record_conversion(store, t0(), o).await.unwrap();
            assert_eq!(recorded.conversion.attribution, None, "{id}");
        }
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(l.total_conversions, 2);
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_click_attributes_its_limit_of_orders_and_later_ones_fall_back_to_the_coupon<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let clicked = click_at(store, link.id, t0() - Duration::hours(2), false).await;
        let with_click = |id: &str, coupon: bool| {
            let mut o = order(&f, id, cents(4000), t0());
            o.click_id = Some(clicked);
            o.coupon_code = coupon.then(|| CampaignCode::parse("ANA20").unwrap());
            o
        };
        let first = record_conversion(store, t0(), with_click("reuse-1", false))
            .await
            .unwrap();
        assert!(matches!(
            first.conversion.attribution.as_ref().map(|a| &a.by),
            Some(AttributedBy::Click { click_id }) if *click_id == clicked
        ));
        assert!(first.conversion.signals.is_empty());
        // The same click again: spent. With a coupon the order falls back to it...
        let second = record_conversion(store, t0(), with_click("reuse-2", true))
            .await
            .unwrap();
        assert_eq!(second.click_rejected, Some(ClickRejection::Reused));
        assert!(matches!(
            second.conversion.attribution.as_ref().map(|a| &a.by),
            Some(AttributedBy::Coupon { .. })
        ));
        assert_eq!(second.conversion.signals, [FraudSignal::ClickReuse]);
        assert!(!second.conversion.is_held(), "click reuse holds nothing");
        // ...without one it stays unattributed, the reported click kept.
        let third = record_conversion(store, t0(), with_click("reuse-3", false))
            .await
            .unwrap();
        assert_eq!(third.conversion.attribution, None);
        assert_eq!(third.conversion.click_id, Some(clicked));
        assert_eq!(third.conversion.signals, [FraudSignal::ClickReuse]);
        // A redelivery of the first order is still the first order, not a reuse.
        let again = record_conversion(store, t0(), with_click("reuse-1", false))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert!(again.conversion.signals.is_empty());
        // An operator allowing two orders per click lets one more through, then no more.
        let two = OrderRules {
            click_reuse: ClickReuseLimit::new(2).unwrap(),
            ..OrderRules::default()
        };
        let other = click_at(store, link.id, t0() - Duration::hours(1), false).await;
        for (id, by_click) in [("two-1", true), ("two-2", true), ("two-3", false)] {
            let mut o = order(&f, id, cents(1000), t0());
            o.click_id = Some(other);
            let recorded = record_conversion_within(store, t0(), o, two).await.unwrap();
            assert_eq!(recorded.conversion.attribution.is_some(), by_click, "{id}");
        }
        let counts = store.hold_counts().await.unwrap();
        assert!(
            counts.signals.contains(&(FraudSignal::ClickReuse, 3)),
            "{counts:?}"
        );
        let listed = store
            .conversions_by_merchant(f.merchant.id, ConversionFilter::Signalled, Page::first())
            .await
            .unwrap();
        let mut listed: Vec<&str> = listed
            .iter()
            .map(|v| v.conversion.order_id.as_str())
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, ["reuse-2", "reuse-3", "two-3"]);
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn concurrent_orders_with_one_click_attribute_at_most_its_limit<
        S: LedgerStore + Clone,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        for (limit, orders) in [(1_u32, 12_usize), (3, 12)] {
            let clicked = click_at(store, link.id, t0() - Duration::hours(2), false).await;
            let rules = OrderRules {
                click_reuse: ClickReuseLimit::new(limit).unwrap(),
                ..OrderRules::default()
            };
            let tasks: Vec<_> = (0..orders)
                .map(|n| {
                    let mut o = order(&f, &format!("k{limit}-{n}"), cents(1000), t0());
                    o.click_id = Some(clicked);
                    o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
                    let store = store.clone();
                    tokio::spawn(
                        async move { record_conversion_within(&store, t0(), o, rules).await },
                    )
                })
                .collect();
            let (mut by_click, mut by_coupon) = (0, 0);
            for task in tasks {
                let recorded = task.await.expect("task ran").expect("recorded");
                assert!(!recorded.duplicate);
                match recorded.conversion.attribution.map(|a| a.by) {
                    Some(AttributedBy::Click { .. }) => {
                        assert!(recorded.conversion.signals.is_empty());
                        by_click += 1;
                    }
                    Some(AttributedBy::Coupon { .. }) => {
                        assert_eq!(recorded.conversion.signals, [FraudSignal::ClickReuse]);
                        by_coupon += 1;
                    }
                    None => panic!("every order has the coupon to fall back to"),
                }
            }
            assert_eq!(
                (by_click, by_coupon),
                (limit as usize, orders - limit as usize),
                "limit {limit}"
            );
            let facts = store.click_facts(clicked).await.unwrap().unwrap();
            assert_eq!(facts.attributed_orders, u64::from(limit));
        }
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_click_use_is_taken_by_one_conversion_only<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let clicked = click_at(store, link.id, t0() - Duration::hours(2), false).await;
        let mut o = order(&f, "use-1", cents(2000), t0());
        o.click_id = Some(clicked);
        let first = record_conversion(store, t0(), o).await.unwrap().conversion;
        // What a second order decided on the same stale count would try to store.
        let stale = NewConversion {
            id: ConversionId::new(),
            merchant_id: f.merchant.id,
            order_id: ShopRef::parse("use-2").unwrap(),
            amount: first.amount,
            currency: Currency::USD,
            ordered_at: first.ordered_at,
            recorded_at: first.recorded_at,
            click_id: Some(clicked),
            coupon_code: None,
            product_external_ids: Vec::new(),
            attribution: first.attribution.clone(),
            commission: first.commission,
            hold_until: first.hold_until,
            hold_reasons: Vec::new(),
            signals: Vec::new(),
            click_use: Some(1),
            accrual_event_id: EventId::new(),
            visit: None,
        };
        assert_eq!(
            store.insert_conversion(stale.clone()).await.unwrap(),
            ConversionInsert::ClickSpent
        );
        assert!(store
            .conversion_by_order(f.merchant.id, &stale.order_id)
            .await
            .unwrap()
            .is_none());
        // The next use is free.
        let second = NewConversion {
            id: ConversionId::new(),
            click_use: Some(2),
            ..stale
        };
        assert!(matches!(
            store.insert_conversion(second).await.unwrap(),
            ConversionInsert::Inserted(_)
        ));
        let facts = store.click_facts(clicked).await.unwrap().unwrap();
        assert_eq!(facts.attributed_orders, 2);
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn clicks_attribute_only_orders_after_their_link_was_created_and_codes_after_assignment<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let created = t0();
        let link = store
            .insert_link(NewLink {
                created_at: created,
                ..new_link(&f, "new-link")
            })
            .await
            .unwrap();
        assert_eq!(link.created_at, created);
        // A click id from before the link existed: imported, or forged into a shop's pages.
        let forged = click_at(store, link.id, created - Duration::hours(1), false).await;
        let mut early = order(
            &f,
            "before-link",
            cents(2000),
            created - Duration::seconds(1),
        );
        early.click_id = Some(forged);
        let recorded = record_conversion(store, t0(), early).await.unwrap();
        assert_eq!(recorded.conversion.attribution, None);
        assert_eq!(recorded.click_rejected, Some(ClickRejection::BeforeLink));
        let mut at_creation = order(&f, "at-creation", cents(2000), created);
        at_creation.click_id = Some(forged);
        let recorded = record_conversion(store, t0(), at_creation).await.unwrap();
        assert_eq!(
            recorded.conversion.attribution.map(|a| a.link_id),
            Some(link.id)
        );
        // A code attributes only orders placed from its assignment on.
        assign_code(store, &f, link.id, "NEW10", created + Duration::hours(1)).await;
        let coupon = |id: &str, at| {
            let mut o = order(&f, id, cents(2000), at);
            o.coupon_code = Some(CampaignCode::parse("new10").unwrap());
            o
        };
        let before = record_conversion(
            store,
            t0() + Duration::hours(2),
            coupon("before-code", created + Duration::minutes(59)),
        )
        .await
        .unwrap();
        assert_eq!(before.conversion.attribution, None);
        let after = record_conversion(
            store,
            t0() + Duration::hours(2),
            coupon("after-code", created + Duration::hours(1)),
        )
        .await
        .unwrap();
        assert_eq!(
            after.conversion.attribution.map(|a| a.link_id),
            Some(link.id)
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn coupons_attribute_and_other_orders_stay_unattributed_but_visible<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        store
            .update_link(
                link.id,
                LinkPatch {
                    is_active: Some(false),
                    ..LinkPatch::default()
                },
            )
            .await
            .unwrap();
        let mut by_coupon = order(&f, "c-1", cents(5000), t0());
        by_coupon.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        let recorded = record_conversion(store, t0(), by_coupon).await.unwrap();
        assert_eq!(
            recorded.conversion.attribution.map(|a| (a.link_id, a.by)),
            Some((
                link.id,
                AttributedBy::Coupon {
                    code: CampaignCode::parse("ANA20").unwrap()
                }
            )),
            "an inactive link's coupon still attributes"
        );
        let mut unknown_code = order(&f, "c-2", cents(3000), t0());
        unknown_code.coupon_code = Some(CampaignCode::parse("NOBODY").unwrap());
        let plain = order(&f, "c-3", cents(1000), t0());
        for o in [unknown_code, plain] {
            let r = record_conversion(store, t0(), o).await.unwrap();
            assert_eq!(r.conversion.attribution, None);
            assert_eq!(r.conversion.commission, CommissionSplit::default());
            assert_eq!(r.conversion.hold_until, None);
        }
        let unattributed = store
            .conversions_by_merchant(f.merchant.id, ConversionFilter::Unattributed, Page::first())
            .await
            .unwrap();
        let ids: Vec<_> = unattributed
            .iter()
            .map(|v| v.conversion.order_id.as_str())
            .collect();
        assert_eq!(ids, ["c-2", "c-3"]);
        assert!(unattributed
            .iter()
            .all(|v| v.status == ConversionStatus::Unattributed));
        let s = store.merchant_commissions(f.merchant.id).await.unwrap();
        assert_eq!(
            (s.unattributed_orders, s.unattributed_sales),
            (2, Decimal::new(4000, 2))
        );
        let m = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(
            m.total_sales,
            Decimal::new(5000, 2),
            "only attributed sales"
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    /// Conversions break down by their attributing click's dimensions, copied when they are
    /// stored (so they outlive the click), coupon orders under source `coupon`; amounts are net
    /// of refunds, and every breakdown sums to the daily series.
    pub async fn conversions_break_down_by_their_clicks_dimensions_net_of_refunds<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        use crate::tracking::breakdown::{Dimension, Scope, COUPON, NONE};
        use std::collections::BTreeMap;
        let (f, link) = cast(store).await;
        let instagram = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 537288532)";
        let desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let clicked = |agent: &'static str, source: ClickSource, country: Option<&str>| {
            let mut click = Click::new(link.id, None, Some(agent), Some("https://www.google.com/"))
                .from_source(source)
                .in_country(country.map(|c| Country::parse(c).unwrap()));
            click.id = ClickId::issued(t0() - Duration::hours(3));
            click.at = click.id.issued_at();
            click
        };
        let scan = clicked(instagram, ClickSource::Qr, Some("DE"));
        let visit = clicked(desktop, ClickSource::Link, None);
        store
            .record_clicks(&[scan.clone(), visit.clone()])
            .await
            .unwrap();
        let by_click = |id: &str, amount, click: &Click| {
            let mut o = order(&f, id, cents(amount), t0());
            o.click_id = Some(click.id);
            o
        };
        record_conversion(store, t0(), by_click("b-1", 10000, &scan))
            .await
            .unwrap();
        record_conversion(store, t0(), by_click("b-2", 5000, &visit))
            .await
            .unwrap();
        let mut coupon = order(&f, "b-3", cents(2000), t0());
        coupon.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        record_conversion(store, t0(), coupon).await.unwrap();
        // Half of the QR order comes back.
        record_refund(store, t0(), refund(&f, "b-1", "b-1-r", cents(5000)))
            .await
            .unwrap();
        let day = t0().date_naive();
        let breakdown = |dimension| async move {
            store
                .conversion_breakdown(Scope::Program(f.program.id), dimension, day, day)
                .await
                .unwrap()
                .into_iter()
                .map(|row| {
                    assert_eq!(row.currency, Currency::USD);
                    (row.value, (row.conversions, row.revenue, row.earnings))
                })
                .collect::<BTreeMap<_, _>>()
        };
        let usd = |cents: i64| Decimal::new(cents, 2);
        // 20 % commission, of which the influencer keeps 80 %: 16 % of the net amount.
        let source = breakdown(Dimension::Source).await;
        assert_eq!(
            source,
            BTreeMap::from([
                ("qr".to_owned(), (1, usd(5000), usd(800))),
                ("link".to_owned(), (1, usd(5000), usd(800))),
                (COUPON.to_owned(), (1, usd(2000), usd(320))),
            ])
        );
        let platform = breakdown(Dimension::Platform).await;
        assert_eq!(platform["instagram"], (1, usd(5000), usd(800)));
        assert_eq!(
            platform[NONE].0, 2,
            "the desktop click and the coupon order"
        );
        let country = breakdown(Dimension::Country).await;
        assert_eq!(country["DE"].0, 1);
        assert_eq!(country[NONE].0, 2);
        let referrer = breakdown(Dimension::Referrer).await;
        assert_eq!(referrer["google.com"].0, 2);
        let product = breakdown(Dimension::Product).await;
        assert_eq!(
            product,
            BTreeMap::from([(f.product.id.to_string(), (3, usd(12000), usd(1920)))])
        );
        let series = store.link_daily_stats(link.id, day, day).await.unwrap();
        for dimension in Dimension::ALL.iter().copied() {
            let rows = breakdown(dimension).await;
            let conversions: i64 = rows.values().map(|r| r.0).sum();
            let earnings: Decimal = rows.values().map(|r| r.2).sum();
            assert_eq!(
                (conversions, earnings),
                (series[0].conversions, series[0].earnings),
                "{dimension} sums to the daily series"
            );
        }
        // Other scopes and days see only their own.
        assert_eq!(
            store
                .conversion_breakdown(Scope::Link(LinkId::new()), Dimension::Source, day, day)
                .await
                .unwrap(),
            Vec::new()
        );
        let next = day + chrono::Days::new(1);
        assert!(store
            .conversion_breakdown(
                Scope::Merchant(f.merchant.id),
                Dimension::Device,
                next,
                next
            )
            .await
            .unwrap()
            .is_empty());
        let merchant = store
            .conversion_breakdown(Scope::Merchant(f.merchant.id), Dimension::Device, day, day)
            .await
            .unwrap();
        assert_eq!(merchant.iter().map(|r| r.conversions).sum::<i64>(), 3);
    }

    pub async fn refunds_reverse_in_proportion_once_per_refund_id<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let mut o = order(&f, "r-1", cents(4500), t0());
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        record_conversion(store, t0(), o).await.unwrap();
        let half = record_refund(store, t0(), refund(&f, "r-1", "ref-1", cents(2250)))
            .await
            .unwrap();
        assert_eq!(
            half.reversal,
            Some(CommissionSplit {
                gross: Decimal::new(-450, 2),
                platform_fee: Decimal::new(-90, 2),
                influencer_earnings: Decimal::new(-360, 2)
            })
        );
        let again = record_refund(store, t0(), refund(&f, "r-1", "ref-1", cents(2250)))
            .await
            .unwrap();
        assert!(again.duplicate && again.reversal.is_none());
        assert!(matches!(
            record_refund(store, t0(), refund(&f, "r-1", "ref-1", cents(100))).await,
            Err(ConversionError::RefundConflict { .. })
        ));
        assert!(matches!(
            record_refund(store, t0(), refund(&f, "r-1", "ref-2", cents(2251))).await,
            Err(ConversionError::RefundExceedsOrder(_))
        ));
        record_refund(store, t0(), refund(&f, "r-1", "ref-3", cents(2250)))
            .await
            .unwrap();
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(
            (l.total_conversions, l.total_revenue, l.total_commission),
            (1, Decimal::new(0, 2), Decimal::new(0, 2)),
            "a fully refunded order still counts as a conversion, earning nothing"
        );
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(i.total_earned, Decimal::ZERO);
        // Refunds of unattributed orders are tracked too.
        record_conversion(store, t0(), order(&f, "u-1", cents(1000), t0()))
            .await
            .unwrap();
        let r = record_refund(store, t0(), refund(&f, "u-1", "ref-u", cents(400)))
            .await
            .unwrap();
        assert_eq!(r.reversal, None);
        let c = store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("u-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.refunded_amount, cents(400));
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn concurrent_refunds_of_one_order_never_exceed_it<S: LedgerStore + Clone>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let mut o = order(&f, "cr-1", cents(1000), t0());
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        record_conversion(store, t0(), o).await.unwrap();
        // Twelve refunds of 1.00 on a 10.00 order, some delivered twice: ten fit.
        let tasks: Vec<_> = (0..12)
            .flat_map(|n| [n, n])
            .map(|n| {
                let (store, r) = (
                    store.clone(),
                    refund(&f, "cr-1", &format!("cr-ref-{n}"), cents(100)),
                );
                tokio::spawn(async move { record_refund(&store, t0(), r).await })
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            match task.await.expect("task ran") {
                Ok(_) => {}
                Err(ConversionError::RefundExceedsOrder(_)) => refused += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert!(refused >= 2, "{refused}");
        let c = store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("cr-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.refunded_amount, cents(1000));
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(
            (l.total_revenue, l.total_commission),
            (Decimal::new(0, 2), Decimal::new(0, 2))
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn approval_waits_for_the_programs_hold_and_happens_once<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        assert_eq!(
            store.program_hold_days(f.program.id).await.unwrap(),
            HoldDays::default()
        );
        store
            .set_program_hold_days(f.program.id, HoldDays::new(10).unwrap())
            .await
            .unwrap();
        assert_eq!(
            store.program_hold_days(f.program.id).await.unwrap().days(),
            10
        );
        let mut o = order(&f, "a-1", cents(4500), t0());
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        let r = record_conversion(store, t0(), o).await.unwrap();
        assert_eq!(r.conversion.hold_until, Some(t0() + Duration::days(10)));
        record_conversion(store, t0(), order(&f, "a-2", cents(100), t0()))
            .await
            .unwrap(); // unattributed
        let due = t0() + Duration::days(10);
        assert!(approve_due(store, due - Duration::seconds(1))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            approve_due(store, due).await.unwrap(),
            vec![r.conversion.id]
        );
        assert!(approve_due(store, due + Duration::days(1))
            .await
            .unwrap()
            .is_empty());
        let s = usd_earnings(store, f.influencer.id).await;
        assert_eq!(
            (s.pending, s.awaiting_merchant, s.approved, s.paid),
            (
                Decimal::ZERO,
                Decimal::new(720, 2),
                Decimal::ZERO,
                Decimal::ZERO
            ),
            "approved, and awaiting the merchant's payment"
        );
        let views = store
            .conversions_by_influencer(f.influencer.id, Page::first())
            .await
            .unwrap();
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].status, ConversionStatus::Approved);
        assert_eq!(views[0].conversion.approved_at, Some(due));
        assert!(matches!(
            store
                .set_program_hold_days(ProgramId::new(), HoldDays::default())
                .await,
            Err(crate::RepoError::NotFound(crate::Entity::Program))
        ));
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn daily_link_stats_add_up_to_the_link_totals<S: LedgerStore>(store: &S) {
        let (f, link) = cast(store).await;
        let day = |n: i64| t0() + Duration::days(n);
        click_at(store, link.id, day(0), false).await;
        click_at(store, link.id, day(0) + Duration::hours(3), false).await;
        click_at(store, link.id, day(0), true).await; // robots do not count
        let c2 = click_at(store, link.id, day(2), false).await;
        let mut o = order(&f, "d-1", cents(5000), day(2) + Duration::hours(1));
        o.click_id = Some(c2);
        record_conversion(store, day(2) + Duration::hours(1), o)
            .await
            .unwrap();
        let mut o = order(&f, "d-2", cents(2000), day(3));
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        record_conversion(store, day(3), o).await.unwrap();
        record_refund(store, day(5), refund(&f, "d-2", "dr-1", cents(1000)))
            .await
            .unwrap();
        // 20 % of 19.99 is 4.00 (fee 0.80, earnings 3.20); refunding 7.77 of it later takes
        // back round(0.80 × 7.77 / 19.99) = 0.31 of the fee and round(3.20 × …) = 1.24 of the
        // earnings.
        let mut o = order(&f, "d-3", cents(1999), day(1));
        o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
        record_conversion(store, day(1), o).await.unwrap();
        record_refund(store, day(6), refund(&f, "d-3", "dr-2", cents(777)))
            .await
            .unwrap();
        let from = day(-1).date_naive();
        let stats = store
            .link_daily_stats(link.id, from, day(4).date_naive())
            .await
            .unwrap();
        assert_eq!(stats.len(), 6);
        assert_eq!(stats[0].day, from);
        let row = |n: usize| {
            let s = stats[n];
            (s.clicks, s.conversions, s.revenue, s.commission, s.earnings)
        };
        let zero = Decimal::ZERO;
        let c = |n: i64| Decimal::new(n, 2);
        assert_eq!(row(0), (0, 0, zero, zero, zero));
        assert_eq!(row(1), (2, 0, zero, zero, zero));
        assert_eq!(
            row(2),
            (0, 1, c(1222), c(245), c(196)),
            "net of the later partial refund"
        );
        assert_eq!(row(3), (1, 1, c(5000), c(1000), c(800)));
        assert_eq!(
            row(4),
            (0, 1, c(1000), c(200), c(160)),
            "net of the later refund"
        );
        assert_eq!(row(5), (0, 0, zero, zero, zero));
        let l = store.link_by_id(link.id).await.unwrap();
        assert_eq!(stats.iter().map(|s| s.clicks).sum::<i64>(), l.total_clicks);
        assert_eq!(
            stats.iter().map(|s| s.conversions).sum::<i64>(),
            l.total_conversions
        );
        assert_eq!(
            stats.iter().map(|s| s.revenue).sum::<Decimal>(),
            l.total_revenue
        );
        assert_eq!(
            stats.iter().map(|s| s.commission).sum::<Decimal>(),
            l.total_commission
        );
        let earned = usd_earnings(store, f.influencer.id).await;
        assert_eq!(
            stats.iter().map(|s| s.earnings).sum::<Decimal>(),
            earned.balance
        );
        assert!(store
            .link_daily_stats(link.id, day(4).date_naive(), day(3).date_naive())
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn balances_are_pending_approved_and_paid_by_one_rule_on_every_store<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let provider = RecordingProvider::default();
        let coupon = |id: &str, amount, at| {
            let mut o = order(&f, id, amount, at);
            o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
            o
        };
        let c = |n: i64| Decimal::new(n, 2);
        // At 20 % with a 20 % fee: 100.00 → 20.00 gross, 16.00 earned; 200.00 → 40.00, 32.00.
        record_conversion(store, t0(), coupon("b-paid-1", cents(10_000), t0()))
            .await
            .unwrap();
        record_conversion(store, t0(), coupon("b-paid-2", cents(20_000), t0()))
            .await
            .unwrap();
        approve_due(store, t0() + Duration::days(30)).await.unwrap();
        crate::testkit::invoices::fund_everything(store, t0() + Duration::days(30)).await;
        let paid = create_payouts(store, &provider, t0() + Duration::days(30), cents(100))
            .await
            .unwrap();
        assert_eq!(paid.batch.expect("a batch").items[0].amount, cents(4800));
        // Approved after the payout, not yet paid: 50.00 → 10.00 gross, 8.00 earned.
        record_conversion(store, t0(), coupon("b-approved", cents(5000), t0()))
            .await
            .unwrap();
        approve_due(store, t0() + Duration::days(31)).await.unwrap();
        // A whole refund of a paid order: −20.00 / −16.00, approved and unsettled.
        record_refund(store, t0(), refund(&f, "b-paid-1", "b-r1", cents(10_000)))
            .await
            .unwrap();
        // In its hold: 300.00 → 60.00 / 48.00, half refunded → 30.00 / 24.00 pending.
        let later = t0() + Duration::days(40);
        record_conversion(store, later, coupon("b-pending", cents(30_000), later))
            .await
            .unwrap();
        record_refund(store, later, refund(&f, "b-pending", "b-r2", cents(15_000)))
            .await
            .unwrap();
        // Unattributed: 80.00 ordered, 30.00 of it refunded.
        record_conversion(store, t0(), order(&f, "b-none", cents(8000), t0()))
            .await
            .unwrap();
        record_refund(store, t0(), refund(&f, "b-none", "b-r3", cents(3000)))
            .await
            .unwrap();

        let earnings = usd_earnings(store, f.influencer.id).await;
        assert_eq!(
            earnings,
            EarningsSummary {
                currency: Currency::USD,
                pending: c(2400),
                // Approved after March's statement was paid: awaiting the merchant.
                awaiting_merchant: c(800) - c(1600),
                approved: Decimal::ZERO,
                paid: c(4800),
                balance: c(1600),
            }
        );
        let commissions = store.merchant_commissions(f.merchant.id).await.unwrap();
        assert_eq!(
            commissions,
            MerchantCommissions {
                currency: Currency::USD,
                pending: c(3000),
                approved: c(1000) - c(2000),
                owed: c(2000),
                paid: c(6000),
                unattributed_orders: 1,
                unattributed_sales: c(5000),
            }
        );
        // Another influencer's and another merchant's ledgers are not in these sums.
        let other = Fixture::create(store).await;
        assert_eq!(
            usd_earnings(store, other.influencer.id).await,
            EarningsSummary::default()
        );
        assert_eq!(
            store.merchant_commissions(other.merchant.id).await.unwrap(),
            MerchantCommissions::default()
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn conversions_are_listed_in_pages<S: LedgerStore>(store: &S) {
        let (f, _) = cast(store).await;
        for n in 0..5 {
            let mut o = order(&f, &format!("pg-{n}"), cents(1000), t0());
            o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
            record_conversion(store, t0(), o).await.unwrap();
        }
        let first = store
            .conversions_by_influencer(f.influencer.id, Page::new(2, None).unwrap())
            .await
            .unwrap();
        let rest = store
            .conversions_by_influencer(
                f.influencer.id,
                Page::new(10, Some(first[1].conversion.id)).unwrap(),
            )
            .await
            .unwrap();
        let orders: Vec<_> = first
            .iter()
            .chain(&rest)
            .map(|v| v.conversion.order_id.as_str().to_owned())
            .collect();
        assert_eq!(orders, ["pg-0", "pg-1", "pg-2", "pg-3", "pg-4"]);
        assert!(first.iter().all(|v| v.status == ConversionStatus::Pending));
        assert_eq!(first[0].net_commission.gross, Decimal::new(200, 2));
    }

    pub async fn random_sequences_keep_every_total_equal_to_the_ledger<S: LedgerStore>(store: &S) {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let provider = RecordingProvider::default();
        let mut refunded = 0;
        let (mut decided, mut voided) = (0, 0);
        for seed in 0..8u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let f = Fixture::create(store).await;
            // Two seeds in each of a 2- and a 0-decimal currency of each kind.
            let currency = ["USD", "EUR", "JPY", "KRW"][seed as usize % 4];
            let currency = Currency::parse(currency).unwrap();
            let patch = MerchantPatch {
                currency: Some(currency),
                ..MerchantPatch::default()
            };
            store.update_merchant(f.merchant.id, patch).await.unwrap();
            // Amounts drawn in cents, kept in whole minor units of the currency.
            let amount_of =
                |cents: i64| Money::new(currency.round(Decimal::new(cents, 2))).unwrap();
            let minor_unit = Decimal::new(1, currency.minor_units());
            let link = store
                .insert_link(new_link(&f, &format!("first-{seed}")))
                .await
                .unwrap();
            assign_code(store, &f, link.id, "ANA20", codes_assigned_at()).await;
            let second = store
                .insert_link(new_link(&f, &format!("second-{seed}")))
                .await
                .unwrap();
            assign_code(store, &f, second.id, "GLOW5", codes_assigned_at()).await;
            let links = [link.id, second.id];
            let mut now = t0();
            let mut orders: Vec<(String, Money)> = Vec::new();
            let mut refunds: Vec<(String, String, Money)> = Vec::new();
            for step in 0..40 {
                now += Duration::hours(rng.random_range(1..=72));
                match rng.random_range(0..14) {
                    0..=3 => {
                        let amount = amount_of(rng.random_range(0..=50_000));
                        let id = format!("o-{seed}-{step}");
                        let mut o = order(
                            &f,
                            &id,
                            amount,
                            now - Duration::hours(rng.random_range(0..48)),
                        );
                        o.currency = currency;
                        match rng.random_range(0..4) {
                            0 => o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap()),
                            1 => o.coupon_code = Some(CampaignCode::parse("GLOW5").unwrap()),
                            2 => {
                                let back = Duration::days(rng.random_range(0..40));
                                let at = o.ordered_at - back;
                                let target = links[rng.random_range(0..2)];
                                o.click_id =
                                    Some(click_at(store, target, at, rng.random_bool(0.2)).await);
                            }
                            _ => {}
                        }
                        record_conversion(store, now, o).await.unwrap();
                        orders.push((id, amount));
                    }
                    4 if !orders.is_empty() => {
                        let (id, amount) = orders[rng.random_range(0..orders.len())].clone();
                        let mut o = order(&f, &id, amount, now);
                        o.currency = currency;
                        if rng.random_bool(0.3) {
                            o.amount = Money::new(amount.amount() + minor_unit).unwrap();
                            assert!(matches!(
                                record_conversion(store, now, o).await,
                                Err(ConversionError::OrderConflict { .. })
                            ));
                        } else {
                            assert!(record_conversion(store, now, o).await.unwrap().duplicate);
                        }
                    }
                    5 | 6 if !orders.is_empty() => {
                        let (id, amount) = orders[rng.random_range(0..orders.len())].clone();
                        let part = amount_of(
                            rng.random_range(0..=amount.amount().mantissa().max(1) as i64),
                        );
                        let refund_id = format!("r-{seed}-{step}");
                        match record_refund(store, now, refund(&f, &id, &refund_id, part)).await {
                            Ok(r) => {
                                assert!(!r.duplicate);
                                refunded += 1;
                                refunds.push((id, refund_id, part));
                            }
                            Err(ConversionError::RefundExceedsOrder(_)) => {}
                            Err(other) => panic!("unexpected {other:?}"),
                        }
                    }
                    7 if !refunds.is_empty() => {
                        let (id, refund_id, part) =
                            refunds[rng.random_range(0..refunds.len())].clone();
                        let r = record_refund(store, now, refund(&f, &id, &refund_id, part))
                            .await
                            .unwrap();
                        assert!(r.duplicate);
                    }
                    8 => {
                        approve_due(store, now).await.unwrap();
                    }
                    9 => {
                        crate::testkit::invoices::fund_everything(store, now).await;
                    }
                    10..=12 if !orders.is_empty() => {
                        let (id, _) = &orders[rng.random_range(0..orders.len())];
                        let c = store
                            .conversion_by_order(f.merchant.id, &ShopRef::parse(id).unwrap())
                            .await
                            .unwrap()
                            .unwrap();
                        let change = match rng.random_range(0..3) {
                            0 => store.hold_conversion(c.id, HoldReason::Manual, now).await,
                            1 => store.release_conversion(c.id, EventId::new(), now).await,
                            _ => store.void_conversion(c.id, EventId::new(), now).await,
                        };
                        if let HoldChange::Changed(after) = change.unwrap() {
                            decided += 1;
                            voided +=
                                usize::from(after.voided_at.is_some() && c.voided_at.is_none());
                        }
                    }
                    _ => {
                        let min = cents(rng.random_range(1..=8_000));
                        create_payouts(store, &provider, now, min).await.unwrap();
                    }
                }
                assert_totals_match_ledger(store, f.merchant.id, &links, &[f.influencer.id]).await;
            }
        }
        // The sequences must reach the interesting states, not just record orders.
        let paid = provider.batches.lock().unwrap().len();
        assert!(
            paid >= 2 && refunded >= 4 && decided >= 4 && voided >= 1,
            "{paid} payouts, {refunded} refunds, {decided} holds, releases or voids, {voided} voids"
        );
    }
}
