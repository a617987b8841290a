//! The contract for merchant statements (invoices): approved commissions billed once per
//! period, credits for later refunds, funding before payouts, idempotent and concurrent
//! issuing.

use super::conversions::*;
use super::*;
use crate::earning::payout::SkipReason;
use crate::earning::EventKind;
use crate::service::conversions::*;
use crate::service::invoices::{create_statements, mark_statement_paid};
use crate::service::payouts::create_payouts;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// Issues every merchant's statement of the month containing `now` and records each unpaid
/// one as paid: what an operator does once merchants have paid. Returns the statements paid.
pub async fn fund_everything<S: LedgerStore + ?Sized>(
    store: &S,
    now: DateTime<Utc>,
) -> Vec<MerchantStatement> {
    let period = BillingPeriod::containing(now);
    let issued = create_statements(store, period, None, now)
        .await
        .expect("statements issued");
    let reference = PaymentReference::parse("wire-test").unwrap();
    let mut paid = Vec::new();
    for (_, issue) in issued {
        let statement = match issue {
            StatementIssue::Issued(s) | StatementIssue::Existing(s) => s,
            StatementIssue::NothingToBill => continue,
        };
        if let MarkPaid::Marked(s) = mark_statement_paid(store, statement.id, &reference, now)
            .await
            .expect("marked paid")
        {
            paid.push(s);
        }
    }
    paid
}

fn issued(issue: StatementIssue) -> MerchantStatement {
    match issue {
        StatementIssue::Issued(s) => s,
        other => panic!("expected a new statement, got {other:?}"),
    }
}

fn coupon(f: &Fixture, id: &str, amount: Money, at: DateTime<Utc>) -> RecordConversion {
    let mut o = order(f, id, amount, at);
    o.coupon_code = Some(CampaignCode::parse("ANA20").unwrap());
    o
}

/// The contract cases for merchant statements.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn statements_bill_approved_commissions_once_per_period_and_stay_as_issued<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let march = BillingPeriod::parse("2025-03").unwrap();
        // 100.00 → 20.00 gross, 4.00 fee, 16.00 earnings; 50.00 → 10.00 / 2.00 / 8.00.
        record_conversion(store, t0(), coupon(&f, "s-1", cents(10_000), t0()))
            .await
            .unwrap();
        record_conversion(store, t0(), coupon(&f, "s-2", cents(5_000), t0()))
            .await
            .unwrap();
        let unattributed = order(&f, "s-none", cents(9_000), t0());
        record_conversion(store, t0(), unattributed).await.unwrap();
        // In their hold, nothing is billable.
        let early = t0() + Duration::days(1);
        let none = create_statements(store, march, Some(f.merchant.id), early)
            .await
            .unwrap();
        assert_eq!(none, [(f.merchant.id, StatementIssue::NothingToBill)]);
        let approved_at = t0() + Duration::days(30); // 2025-03-31
        approve_due(store, approved_at).await.unwrap();
        let issue_at = approved_at + Duration::hours(1);
        let all = create_statements(store, march, None, issue_at)
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "only merchants with unbilled events: {all:?}");
        let s = issued(all.into_iter().next().unwrap().1);
        assert_eq!(
            (s.merchant_id, s.period, s.status),
            (f.merchant.id, march, StatementStatus::Issued)
        );
        assert_eq!(s.issued_at, issue_at);
        let orders: Vec<&str> = s.lines.iter().map(|l| l.order_id.as_str()).collect();
        assert_eq!(orders, ["s-1", "s-2"]);
        assert!(s
            .lines
            .iter()
            .all(|l| l.kind == EventKind::Accrued && l.influencer_id == f.influencer.id));
        let total = s.total();
        assert_eq!(
            (total.gross, total.platform_fee, total.influencer_earnings),
            (
                Decimal::new(3000, 2),
                Decimal::new(600, 2),
                Decimal::new(2400, 2)
            )
        );
        assert_eq!(s.amount_due(), Decimal::new(3000, 2));
        // Issuing the period again, for one merchant or all, bills nothing twice.
        let again = create_statements(
            store,
            march,
            Some(f.merchant.id),
            issue_at + Duration::hours(1),
        )
        .await
        .unwrap();
        assert_eq!(
            again,
            [(f.merchant.id, StatementIssue::Existing(s.clone()))]
        );
        assert!(create_statements(store, march, None, issue_at)
            .await
            .unwrap()
            .is_empty());
        // Read back exactly as issued, by id, by merchant and in the list of all.
        assert_eq!(store.statement_by_id(s.id).await.unwrap(), Some(s.clone()));
        assert_eq!(
            store.statement_by_id(StatementId::new()).await.unwrap(),
            None
        );
        let other = Fixture::create(store).await;
        assert!(store
            .statements_by_merchant(other.merchant.id, Page::first())
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .statements_by_merchant(f.merchant.id, Page::first())
                .await
                .unwrap(),
            std::slice::from_ref(&s)
        );
        assert_eq!(
            store.statements(Page::first()).await.unwrap(),
            std::slice::from_ref(&s)
        );
        // Issued is not paid for: total_commissions_paid has not moved.
        let m = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(m.total_commissions_paid, Decimal::ZERO);
        let due = store.merchant_commissions(f.merchant.id).await.unwrap();
        assert_eq!(
            (due.approved, due.paid),
            (Decimal::new(3000, 2), Decimal::ZERO)
        );
        // The payment is recorded once, with its reference.
        let reference = PaymentReference::parse("WIRE-2025-04-02-77").unwrap();
        let paid_at = issue_at + Duration::days(2);
        let MarkPaid::Marked(paid) = store
            .mark_statement_paid(s.id, &reference, paid_at)
            .await
            .unwrap()
        else {
            panic!("expected the statement to be marked paid");
        };
        assert_eq!(paid.status, StatementStatus::Paid);
        assert_eq!(paid.paid_at, Some(paid_at));
        assert_eq!(paid.payment_reference.as_ref(), Some(&reference));
        assert_eq!(paid.lines, s.lines, "paying changes no line");
        assert_eq!(paid.amount_due(), Decimal::ZERO);
        let other_reference = PaymentReference::parse("again").unwrap();
        assert_eq!(
            store
                .mark_statement_paid(s.id, &other_reference, paid_at + Duration::days(1))
                .await
                .unwrap(),
            MarkPaid::AlreadyPaid(paid.clone())
        );
        assert_err!(
            store
                .mark_statement_paid(StatementId::new(), &reference, paid_at)
                .await,
            RepoError::NotFound(Entity::Statement)
        );
        let m = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(m.total_commissions_paid, Decimal::new(3000, 2));
        let due = store.merchant_commissions(f.merchant.id).await.unwrap();
        assert_eq!(
            (due.approved, due.paid),
            (Decimal::ZERO, Decimal::new(3000, 2))
        );
        assert_eq!(store.statement_by_id(s.id).await.unwrap(), Some(paid));
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn unfunded_approved_commissions_are_not_paid_out_until_their_statement_is_paid<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        let provider = RecordingProvider::default();
        record_conversion(store, t0(), coupon(&f, "u-1", cents(50_000), t0()))
            .await
            .unwrap();
        let approved_at = t0() + Duration::days(30);
        approve_due(store, approved_at).await.unwrap();
        // Approved, 80.00 earned, but the merchant has not paid: awaiting the merchant.
        let s = usd_earnings(store, f.influencer.id).await;
        assert_eq!(
            (
                s.pending,
                s.awaiting_merchant,
                s.approved,
                s.paid,
                s.balance
            ),
            (
                Decimal::ZERO,
                Decimal::new(8000, 2),
                Decimal::ZERO,
                Decimal::ZERO,
                Decimal::new(8000, 2)
            )
        );
        let run = create_payouts(store, &provider, approved_at, cents(100))
            .await
            .unwrap();
        assert_eq!(run.batch, None, "nothing unfunded is paid out");
        assert_eq!(run.skipped.len(), 1);
        assert_eq!(run.skipped[0].reason, SkipReason::AwaitingMerchant);
        assert_eq!(run.skipped[0].balance, Decimal::new(8000, 2));
        // Issued is still not paid.
        let march = BillingPeriod::parse("2025-03").unwrap();
        let statement = issued(
            create_statements(store, march, None, approved_at)
                .await
                .unwrap()
                .remove(0)
                .1,
        );
        let run = create_payouts(store, &provider, approved_at, cents(100))
            .await
            .unwrap();
        assert_eq!(run.batch, None);
        // Once the merchant's payment is recorded, the commission is paid out, once.
        let reference = PaymentReference::parse("wire-1").unwrap();
        mark_statement_paid(store, statement.id, &reference, approved_at)
            .await
            .unwrap();
        let s = usd_earnings(store, f.influencer.id).await;
        assert_eq!(
            (s.awaiting_merchant, s.approved),
            (Decimal::ZERO, Decimal::new(8000, 2))
        );
        let run = create_payouts(store, &provider, approved_at, cents(100))
            .await
            .unwrap();
        let batch = run.batch.expect("a batch");
        assert_eq!(batch.items[0].amount, cents(8000));
        let again = create_payouts(store, &provider, approved_at, cents(1))
            .await
            .unwrap();
        assert_eq!(again.batch, None);
        let i = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(
            (i.total_earned, i.total_paid),
            (Decimal::new(8000, 2), Decimal::new(8000, 2))
        );
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn a_refund_after_a_statement_was_issued_is_a_credit_on_the_next_one<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        record_conversion(store, t0(), coupon(&f, "c-1", cents(10_000), t0()))
            .await
            .unwrap();
        let approved_at = t0() + Duration::days(30);
        approve_due(store, approved_at).await.unwrap();
        let march = BillingPeriod::parse("2025-03").unwrap();
        let first = issued(
            create_statements(store, march, None, approved_at)
                .await
                .unwrap()
                .remove(0)
                .1,
        );
        // A third of the order refunded in April: a credit of exactly what the reversal took.
        let april_day = t0() + Duration::days(40);
        record_refund(store, april_day, refund(&f, "c-1", "cr-1", cents(3_333)))
            .await
            .unwrap();
        let reversal = store
            .events_by_merchant(f.merchant.id)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.kind == EventKind::Reversed)
            .expect("a reversal");
        // March's statement is not rewritten, and issuing March again bills nothing more.
        assert_eq!(
            store.statement_by_id(first.id).await.unwrap(),
            Some(first.clone())
        );
        let march_again = create_statements(store, march, None, april_day)
            .await
            .unwrap();
        assert_eq!(
            march_again,
            [(f.merchant.id, StatementIssue::Existing(first.clone()))]
        );
        let april = BillingPeriod::parse("2025-04").unwrap();
        let second = issued(
            create_statements(store, april, Some(f.merchant.id), april_day)
                .await
                .unwrap()
                .remove(0)
                .1,
        );
        assert_eq!(second.lines.len(), 1);
        let credit = &second.lines[0];
        assert_eq!(
            (credit.event_id, credit.kind),
            (reversal.id, EventKind::Reversed)
        );
        assert_eq!(credit.split, reversal.split);
        assert_eq!(credit.order_id.as_str(), "c-1");
        assert_eq!(second.total(), reversal.split);
        assert!(reversal.split.gross < Decimal::ZERO);
        let net = Decimal::new(2000, 2) + reversal.split.gross;
        assert_eq!(crate::earning::amount_due([&first, &second]), net);
        // Paying both moves total_commissions_paid by exactly their sum.
        let reference = PaymentReference::parse("wire-2").unwrap();
        for s in [&first, &second] {
            mark_statement_paid(store, s.id, &reference, april_day)
                .await
                .unwrap();
        }
        let m = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(m.total_commissions_paid, net);
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }

    pub async fn concurrent_creation_of_one_period_issues_one_statement<S: LedgerStore + Clone>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        for n in 0..5 {
            record_conversion(
                store,
                t0(),
                coupon(&f, &format!("cc-{n}"), cents(1_000), t0()),
            )
            .await
            .unwrap();
        }
        let approved_at = t0() + Duration::days(30);
        approve_due(store, approved_at).await.unwrap();
        let march = BillingPeriod::parse("2025-03").unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { create_statements(&store, march, None, approved_at).await },
                )
            })
            .collect();
        let mut fresh = 0;
        let mut ids = HashSet::new();
        for task in tasks {
            for (_, issue) in task.await.expect("task ran").expect("issued") {
                match issue {
                    StatementIssue::Issued(s) => {
                        fresh += 1;
                        ids.insert(s.id);
                    }
                    StatementIssue::Existing(s) => {
                        ids.insert(s.id);
                    }
                    StatementIssue::NothingToBill => {}
                }
            }
        }
        assert_eq!((fresh, ids.len()), (1, 1));
        let all = store.statements(Page::first()).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].lines.len(), 5, "each event billed once");
        assert_totals_match_ledger(store, f.merchant.id, &[link.id], &[f.influencer.id]).await;
    }
}
