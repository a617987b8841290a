//! Merchant statements (invoices): what the platform bills, and when a commission is funded.
//!
//! The money loop is: an order accrues commission; the hold passes and it is approved; the
//! platform bills the merchant for it on a statement; the operator records the merchant's
//! payment (the statement is paid, its commissions *funded*); only then is the influencer paid
//! out ([`crate::earning::payout::plan_payouts`] skips unfunded events).
//!
//! [`build_statement`] is the one rule of what a statement bills:
//! - every `accrued` or `reversed` event of the merchant, in the statement's currency, whose
//!   conversion is approved, that no statement billed yet, and that became billable
//!   ([`billable_at`]: the later of the event and the approval) before the period's end;
//! - an `accrued` event is a charge of its gross commission, a `reversed` one a credit (≤ 0);
//!   so a refund recorded after a statement was issued is billed, exactly, as a credit on the
//!   next statement, and an issued statement is never rewritten;
//! - events left unbilled by an earlier period (recorded after its statement was issued) go on
//!   the next one; a period with nothing to bill gets no statement.
//!
//! Each event is billed at most once, ever (a unique constraint in PostgreSQL), and there is
//! at most one statement per merchant, period and currency, so issuing a period twice, or
//! twice at once, bills nothing twice.

use crate::domain::{
    BillingPeriod, Currency, MerchantId, MerchantStatement, OrderId, StatementId, StatementLine,
    StatementStatus,
};
use crate::earning::ledger::CommissionEvent;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// A ledger event with the facts [`build_statement`] reads, as a store hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct BillableEvent {
    /// The event.
    pub event: CommissionEvent,
    /// Its conversion's order id.
    pub order_id: OrderId,
    /// Its conversion's currency.
    pub currency: Currency,
    /// When its conversion was approved; `None` while in its hold.
    pub approved_at: Option<DateTime<Utc>>,
}

/// When `e` becomes billable: once its conversion is approved, at the later of the event and
/// the approval; `None` if it is not billable (an approval or payment event, or a conversion
/// still in its hold).
pub fn billable_at(e: &BillableEvent) -> Option<DateTime<Utc>> {
    if !e.event.kind.carries_commission() {
        return None;
    }
    let approved = e.approved_at?;
    Some(approved.max(e.event.occurred_at))
}

/// Which statement to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementRequest {
    /// Who is billed.
    pub merchant_id: MerchantId,
    /// The month billed.
    pub period: BillingPeriod,
    /// The currency billed.
    pub currency: Currency,
    /// When it is issued.
    pub issued_at: DateTime<Utc>,
}

/// The statement `request` issues under `id` from `unbilled`, the events no statement billed
/// yet (others, of other merchants or currencies, are ignored), by the module's rule; `None`
/// when nothing is billable. Both stores write what this returns.
pub fn build_statement(
    id: StatementId,
    request: &StatementRequest,
    unbilled: &[BillableEvent],
) -> Option<MerchantStatement> {
    let end = request.period.end();
    let mut billed: Vec<&BillableEvent> = unbilled
        .iter()
        .filter(|e| e.event.merchant_id == request.merchant_id && e.currency == request.currency)
        .filter(|e| billable_at(e).is_some_and(|at| at < end))
        .collect();
    if billed.is_empty() {
        return None;
    }
    billed.sort_by_key(|e| (e.event.occurred_at, e.event.id));
    Some(MerchantStatement {
        id,
        merchant_id: request.merchant_id,
        period: request.period,
        currency: request.currency,
        issued_at: request.issued_at,
        status: StatementStatus::Issued,
        paid_at: None,
        payment_reference: None,
        lines: billed
            .into_iter()
            .map(|e| StatementLine {
                event_id: e.event.id,
                conversion_id: e.event.conversion_id,
                order_id: e.order_id.clone(),
                kind: e.event.kind,
                influencer_id: e.event.influencer_id,
                split: e.event.split,
                occurred_at: e.event.occurred_at,
            })
            .collect(),
    })
}

/// What a merchant owes on `statements`, all in its one currency: the gross total of those
/// still issued (a credit statement lowers it).
pub fn amount_due<'a>(statements: impl IntoIterator<Item = &'a MerchantStatement>) -> Decimal {
    statements.into_iter().map(|s| s.amount_due()).sum()
}

/// The columns of a statement's CSV export.
pub const CSV_HEADER: [&str; 11] = [
    "statement_id",
    "period",
    "event_id",
    "order_id",
    "kind",
    "influencer_id",
    "gross_commission",
    "platform_fee",
    "influencer_share",
    "currency",
    "occurred_at",
];

/// One CSV row per line of `statement`, in [`CSV_HEADER`]'s order; a line's kind is `charge`
/// or `credit`. The order id is the shop's text, so it goes through
/// [`crate::export::spreadsheet_cell`]; every other cell is written by us (ids, periods,
/// amounts, a credit's amount negative) and is left as a number a spreadsheet can sum.
pub fn csv_rows(statement: &MerchantStatement) -> Vec<[String; 11]> {
    statement
        .lines
        .iter()
        .map(|l| {
            [
                statement.id.to_string(),
                statement.period.to_string(),
                l.event_id.to_string(),
                crate::export::spreadsheet_cell(l.order_id.as_str()).into_owned(),
                if l.is_credit() { "credit" } else { "charge" }.to_owned(),
                l.influencer_id.to_string(),
                l.split.gross.to_string(),
                l.split.platform_fee.to_string(),
                l.split.influencer_earnings.to_string(),
                statement.currency.to_string(),
                l.occurred_at.to_rfc3339(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::*;
    use crate::earning::commission::CommissionSplit;
    use crate::earning::ledger::EventKind;
    use chrono::{Duration, TimeZone};
    use rust_decimal_macros::dec;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    fn event(
        merchant: MerchantId,
        kind: EventKind,
        gross: Decimal,
        occurred: DateTime<Utc>,
        approved: Option<DateTime<Utc>>,
    ) -> BillableEvent {
        BillableEvent {
            event: CommissionEvent {
                id: EventId::new(),
                conversion_id: ConversionId::new(),
                kind,
                split: CommissionSplit {
                    gross,
                    platform_fee: gross / dec!(5),
                    influencer_earnings: gross - gross / dec!(5),
                },
                sales: Decimal::ZERO,
                link_id: LinkId::new(),
                influencer_id: InfluencerId::new(),
                merchant_id: merchant,
                currency: Currency::USD,
                refund_id: None,
                payout_batch_id: None,
                settles: None,
                occurred_at: occurred,
            },
            order_id: ShopRef::parse("=1+1").unwrap(),
            currency: Currency::USD,
            approved_at: approved,
        }
    }

    fn march(merchant: MerchantId) -> StatementRequest {
        StatementRequest {
            merchant_id: merchant,
            period: BillingPeriod::parse("2026-03").unwrap(),
            currency: Currency::USD,
            issued_at: at(31) + Duration::hours(11),
        }
    }

    #[test]
    fn a_statement_bills_approved_charges_and_credits_that_became_billable_in_time() {
        let m = MerchantId::new();
        let approved = Some(at(10));
        let charge = event(m, EventKind::Accrued, dec!(20.00), at(1), approved);
        let credit = event(m, EventKind::Reversed, dec!(-5.00), at(12), approved);
        let in_hold = event(m, EventKind::Accrued, dec!(30.00), at(2), None);
        let approval = event(m, EventKind::Approved, dec!(20.00), at(10), approved);
        let paid = event(m, EventKind::Paid, dec!(20.00), at(11), approved);
        // Approved one second after March ends: April's.
        let too_late = event(
            m,
            EventKind::Accrued,
            dec!(7.00),
            at(3),
            Some(march(m).period.end()),
        );
        let other_merchant = event(
            MerchantId::new(),
            EventKind::Accrued,
            dec!(9.00),
            at(1),
            approved,
        );
        let mut euro = event(m, EventKind::Accrued, dec!(9.00), at(1), approved);
        euro.currency = Currency::parse("EUR").unwrap();
        let unbilled = [
            credit.clone(),
            charge.clone(),
            in_hold,
            approval,
            paid,
            too_late.clone(),
            other_merchant,
            euro,
        ];
        let id = StatementId::new();
        let s = build_statement(id, &march(m), &unbilled).unwrap();
        assert_eq!(
            (s.id, s.merchant_id, s.status),
            (id, m, StatementStatus::Issued)
        );
        let billed: Vec<EventId> = s.lines.iter().map(|l| l.event_id).collect();
        assert_eq!(billed, [charge.event.id, credit.event.id], "in event order");
        assert_eq!(s.total().gross, dec!(15.00));
        assert_eq!(s.total().platform_fee, dec!(3.00));
        assert_eq!(s.total().influencer_earnings, dec!(12.00));
        assert_eq!(s.amount_due(), dec!(15.00));
        let april = StatementRequest {
            period: BillingPeriod::parse("2026-04").unwrap(),
            ..march(m)
        };
        let next =
            build_statement(StatementId::new(), &april, std::slice::from_ref(&too_late)).unwrap();
        assert_eq!(next.lines[0].event_id, too_late.event.id);
        assert_eq!(
            build_statement(StatementId::new(), &march(m), &[too_late]),
            None
        );
    }

    #[test]
    fn a_credit_only_statement_is_owed_back_and_a_paid_one_is_due_no_more() {
        let m = MerchantId::new();
        let credit = event(m, EventKind::Reversed, dec!(-5.00), at(12), Some(at(1)));
        let mut s = build_statement(StatementId::new(), &march(m), &[credit]).unwrap();
        assert_eq!(s.amount_due(), dec!(-5.00));
        let rows = csv_rows(&s);
        assert_eq!(rows[0][4], "credit");
        assert_eq!(
            rows[0][3], "'=1+1",
            "a formula in an order id is made inert"
        );
        assert_eq!(rows[0][6], "-5.00");
        let charge = event(m, EventKind::Accrued, dec!(8.00), at(1), Some(at(1)));
        let owed = build_statement(StatementId::new(), &march(m), &[charge]).unwrap();
        assert_eq!(amount_due([&s, &owed]), dec!(3.00));
        s.status = StatementStatus::Paid;
        assert_eq!(amount_due([&s, &owed]), dec!(8.00));
    }
}
