//! Merchant statements (invoices): what the platform bills a merchant for one calendar month
//! in one currency. The rule that decides what goes on one is
//! [`crate::earning::invoice::build_statement`]; this module holds the values.

use crate::domain::{BoundedText, ConversionId, Currency, EventId, InfluencerId, MerchantId};
use crate::domain::{OrderId, StatementId};
use crate::earning::commission::CommissionSplit;
use crate::earning::ledger::EventKind;
use crate::error::Invalid;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::fmt;

/// A calendar month (UTC), `YYYY-MM`: the period a statement bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillingPeriod {
    /// Always the first day of the month.
    first_day: NaiveDate,
}

impl BillingPeriod {
    /// The first year a period may be in.
    pub const FIRST_YEAR: i32 = 2000;

    /// Parses `YYYY-MM` (a month between 2000-01 and 9999-12).
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        const FORM: Invalid = Invalid::Format("a month as YYYY-MM, such as 2026-03");
        let (year, month) = value.trim().split_once('-').ok_or(FORM)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(FORM);
        }
        let year: i32 = year.parse().map_err(|_| FORM)?;
        let month: u32 = month.parse().map_err(|_| FORM)?;
        if year < Self::FIRST_YEAR {
            return Err(Invalid::OutOfRange("a month from 2000-01"));
        }
        let first_day = NaiveDate::from_ymd_opt(year, month, 1).ok_or(FORM)?;
        Ok(Self { first_day })
    }

    /// The month `at` falls in.
    pub fn containing(at: DateTime<Utc>) -> Self {
        let day = at.date_naive();
        Self {
            first_day: day.with_day(1).unwrap_or(day),
        }
    }

    /// The month whose first day is `day`, as a store keeps it; `None` for any other day.
    pub fn from_first_day(day: NaiveDate) -> Option<Self> {
        (day.day() == 1).then_some(Self { first_day: day })
    }

    /// Its first day.
    pub const fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// The first instant of the month.
    pub fn start(&self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.first_day.and_time(chrono::NaiveTime::MIN))
    }

    /// The first instant after the month: a statement bills what became billable before it.
    pub fn end(&self) -> DateTime<Utc> {
        let next = self
            .first_day
            .checked_add_months(Months::new(1))
            .unwrap_or(NaiveDate::MAX);
        Utc.from_utc_datetime(&next.and_time(chrono::NaiveTime::MIN))
    }
}

impl fmt::Display for BillingPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first_day.format("%Y-%m"))
    }
}

impl Serialize for BillingPeriod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

schema!(BillingPeriod, "BillingPeriod", {
    assert_eq!(
        BillingPeriod::FIRST_YEAR,
        2000,
        "the pattern below spells 2000..=9999"
    );
    string()
        .pattern(Some(trimmed("[2-9][0-9]{3}-(?:0[1-9]|1[0-2])")))
        .description(Some(
            "A calendar month (UTC) as YYYY-MM, 2000-01 to 9999-12. Issuing statements needs a month that has started (else 422): the clock decides, not the request.",
        ))
});

/// Where a statement stands. Issued statements never change but to become paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    /// Sent to the merchant; its total is due.
    Issued,
    /// The operator recorded the merchant's payment: its commissions are funded.
    Paid,
}

impl StatementStatus {
    /// The value stored in `merchant_statements.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatementStatus::Issued => "issued",
            StatementStatus::Paid => "paid",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "issued" => Some(StatementStatus::Issued),
            "paid" => Some(StatementStatus::Paid),
            _ => None,
        }
    }
}

schema!(
    StatementStatus,
    "StatementStatus",
    string()
        .enum_values(Some(
            [StatementStatus::Issued, StatementStatus::Paid].map(StatementStatus::as_str)
        ))
        .description(Some(
            "`issued` (its total is due) or `paid` (the payment is recorded: its commissions are funded).",
        ))
);

/// The operator's reference for a merchant's payment (a bank transfer id, a cheque number).
pub type PaymentReference = BoundedText<200>;

/// One commission event billed: an accrual is a charge, a reversal (refund) a credit (≤ 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// The ledger event billed; billed on exactly one statement, ever.
    pub event_id: EventId,
    /// Its conversion.
    pub conversion_id: ConversionId,
    /// The shop's order id.
    pub order_id: OrderId,
    /// `accrued` (a charge) or `reversed` (a credit).
    pub kind: EventKind,
    /// Who earns the commission.
    pub influencer_id: InfluencerId,
    /// The gross commission (what the merchant owes), the platform's fee and the influencer's
    /// share; all ≤ 0 on a credit.
    pub split: CommissionSplit,
    /// When the event was written.
    pub occurred_at: DateTime<Utc>,
}

impl StatementLine {
    /// Whether the line gives money back to the merchant (a refund's reversal), rather than
    /// charging it.
    pub fn is_credit(&self) -> bool {
        self.kind == EventKind::Reversed || self.split.gross < Decimal::ZERO
    }
}

/// A merchant statement (invoice): one per merchant, period and currency. Its lines never
/// change once issued; a refund after issue is a credit line on a later statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MerchantStatement {
    /// Its id (time-ordered).
    pub id: StatementId,
    /// Who is billed.
    pub merchant_id: MerchantId,
    /// The month billed.
    pub period: BillingPeriod,
    /// The currency of every line.
    pub currency: Currency,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Issued or paid.
    pub status: StatementStatus,
    /// When the payment was recorded.
    pub paid_at: Option<DateTime<Utc>>,
    /// The payment's reference, as the operator recorded it.
    pub payment_reference: Option<PaymentReference>,
    /// What is billed, in event order; never empty.
    pub lines: Vec<StatementLine>,
}

impl MerchantStatement {
    /// The sum of its lines: `gross` is what the merchant owes (negative: a credit).
    pub fn total(&self) -> CommissionSplit {
        self.lines
            .iter()
            .fold(CommissionSplit::default(), |acc, l| acc.plus(&l.split))
    }

    /// What the merchant still owes on it: its gross total while issued, nothing once paid.
    pub fn amount_due(&self) -> Decimal {
        match self.status {
            StatementStatus::Issued => self.total().gross,
            StatementStatus::Paid => Decimal::ZERO,
        }
    }
}

/// What issuing a statement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementIssue {
    /// A new statement, issued now.
    Issued(MerchantStatement),
    /// The merchant's statement of that period and currency, issued before: nothing billed
    /// twice.
    Existing(MerchantStatement),
    /// Nothing billable and unbilled before the period's end: no statement.
    NothingToBill,
}

/// What recording a statement's payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkPaid {
    /// Marked paid now: its commissions are funded and `total_commissions_paid` moved.
    Marked(MerchantStatement),
    /// Paid before (with the reference it holds): nothing moved again.
    AlreadyPaid(MerchantStatement),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_a_month_written_yyyy_mm_and_ends_where_the_next_begins() {
        let march = BillingPeriod::parse("2026-03").unwrap();
        assert_eq!(march.to_string(), "2026-03");
        assert_eq!(march.start().to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(march.end().to_rfc3339(), "2026-04-01T00:00:00+00:00");
        let december = BillingPeriod::parse("2025-12").unwrap();
        assert_eq!(december.end().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(
            BillingPeriod::containing(march.end()),
            BillingPeriod::parse("2026-04").unwrap()
        );
        assert_eq!(
            BillingPeriod::containing(march.end() - chrono::Duration::seconds(1)),
            march
        );
        for bad in [
            "2026-3",
            "2026-13",
            "26-03",
            "2026/03",
            "",
            "1999-12",
            "2026-03-01",
        ] {
            assert!(BillingPeriod::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            BillingPeriod::from_first_day(march.first_day()),
            Some(march)
        );
        assert_eq!(
            BillingPeriod::from_first_day(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()),
            None
        );
    }
}
