//! Recording orders and refunds reported by a merchant's shop, and approving commissions
//! whose hold has passed.
//!
//! Both recordings are idempotent: the same order id (per merchant) or refund id delivered any
//! number of times, one after another or at once, is stored and counted once. A redelivery
//! that disagrees with what was stored (another amount) is a conflict, never a second record.

use crate::domain::{CampaignCode, ClickId, ExternalId, MerchantId, Money, *};
use crate::earning::attribution::{attribute, ClickRejection};
use crate::earning::commission::{CommissionError, CommissionSplit};
use crate::earning::signals::{self, Buyer, ClickReuseLimit};
use crate::error::{ForField, Invalid, ValidationError};
use crate::store::{ConversionRepo, Entity, HoldRepo, MerchantRepo, RepoError};
use chrono::{DateTime, SubsecRound, Utc};
use std::net::IpAddr;

/// Most product ids one order may list, however it is reported (the API or a Shopify
/// webhook): a bound on what one delivery can make the store keep.
pub const MAX_PRODUCTS_PER_ORDER: usize = 250;

/// An order as the shop reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConversion {
    /// The merchant whose shop reports it (the caller has authenticated the shop).
    pub merchant_id: MerchantId,
    /// The shop's order id.
    pub order_id: OrderId,
    /// The subtotal the commission is computed on (after discounts, before tax and shipping).
    pub amount: Money,
    /// Its currency: it must be the merchant's settlement currency, and `amount` must be
    /// in whole minor units of it.
    pub currency: Currency,
    /// When the shopper ordered.
    pub ordered_at: DateTime<Utc>,
    /// The `ssclid` the shopper arrived with, if any.
    pub click_id: Option<ClickId>,
    /// The coupon used, if any.
    pub coupon_code: Option<CampaignCode>,
    /// The products ordered, by the shop's ids (at most [`MAX_PRODUCTS_PER_ORDER`]).
    pub product_external_ids: Vec<ExternalId>,
    /// The customer's email, if the shop reports it: compared with the influencer's for
    /// self-referral, never stored.
    pub customer_email: Option<Email>,
    /// The address the shopper ordered from (Shopify's `browser_ip`), if the shop reports it:
    /// compared with the click's anonymised prefix, never stored.
    pub shopper_ip: Option<IpAddr>,
}

/// The operator's rules for recording orders: how old an order may be and how many orders one
/// click may attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderRules {
    /// The accepted range of `ordered_at` around its receipt.
    pub window: OrderWindow,
    /// How many orders one click id may attribute.
    pub click_reuse: ClickReuseLimit,
}

/// A recorded order.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The conversion as stored.
    pub conversion: Conversion,
    /// `true` if it was stored by an earlier delivery and nothing changed now.
    pub duplicate: bool,
    /// Why the reported click id did not attribute, if it did not (for the merchant's logs).
    pub click_rejected: Option<ClickRejection>,
}

/// A refund as the shop reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRefund {
    /// The merchant.
    pub merchant_id: MerchantId,
    /// The refunded order.
    pub order_id: OrderId,
    /// The shop's refund id.
    pub refund_id: RefundId,
    /// How much of the order's subtotal is refunded, in whole minor units of its currency.
    pub amount: Money,
    /// The refund's currency when the shop reports one: it must be the order's.
    pub currency: Option<Currency>,
}

/// A recorded refund.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecorded {
    /// The refund as stored.
    pub refund: Refund,
    /// `true` if an earlier delivery stored it and nothing changed now.
    pub duplicate: bool,
    /// The commission reversed now (≤ 0); `None` for a duplicate or an unattributed order.
    pub reversal: Option<CommissionSplit>,
}

/// Why an order or refund was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// No such merchant.
    #[error("merchant not found")]
    MerchantNotFound,
    /// The order or refund is not in the merchant's settlement currency; nothing is
    /// converted.
    #[error("currency {reported} is not the merchant's: its orders are recorded in {expected}")]
    WrongCurrency {
        /// The merchant's settlement currency.
        expected: Currency,
        /// The currency reported.
        reported: Currency,
    },
    /// The order id was recorded before with another amount.
    #[error("order {order_id} was recorded with amount {stored}, not {reported}")]
    OrderConflict {
        /// The order.
        order_id: OrderId,
        /// The amount stored.
        stored: Money,
        /// The amount reported now.
        reported: Money,
    },
    /// A refund names an order the merchant never reported.
    #[error("order {order_id} not found")]
    OrderNotFound {
        /// The order.
        order_id: OrderId,
    },
    /// The refund id was recorded before for another order or amount.
    #[error("refund {refund_id} was recorded before with another order or amount")]
    RefundConflict {
        /// The refund.
        refund_id: RefundId,
    },
    /// The refunds would add up to more than the order.
    #[error(transparent)]
    RefundExceedsOrder(#[from] CommissionError),
    /// A value the store cannot keep.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Concurrent refunds of one order, or concurrent orders with one click, kept changing
    /// what it was decided from; retry later.
    #[error("the order is being changed concurrently; retry")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Storage(RepoError),
}

impl From<RepoError> for ConversionError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::NotFound(Entity::Merchant) => ConversionError::MerchantNotFound,
            RepoError::Invalid(invalid) => ConversionError::Invalid(invalid),
            other => ConversionError::Storage(other),
        }
    }
}

/// How often a refund is recomputed when concurrent refunds of the same order change it.
// Each failed attempt means another refund of the order succeeded, and an order takes only so
// many before it is fully refunded; 16 outlasts any realistic burst.
const REFUND_ATTEMPTS: usize = 16;

/// How often an order's attribution is decided again when concurrent orders take its click's
/// uses meanwhile. Each failed attempt means another order took a use, and a click has only
/// its limit of them: once spent, the next attempt falls back to the coupon.
const CLICK_ATTEMPTS: usize = 16;

/// Records an order as [`record_conversion_within`] does, under the default [`OrderRules`]
/// (30 days back to 5 minutes ahead, one order per click).
pub async fn record_conversion<S>(
    store: &S,
    now: DateTime<Utc>,
    order: RecordConversion,
) -> Result<Recorded, ConversionError>
where
    S: MerchantRepo + ConversionRepo + HoldRepo + ?Sized,
{
    record_conversion_within(store, now, order, OrderRules::default()).await
}

/// Records an order: attributes it ([`crate::earning::attribution`]), computes its commission with the
/// program's split and hold, and stores it with its `accrued` event and totals. A redelivery
/// with the same amount returns the stored conversion (`duplicate`); with another amount it
/// is [`ConversionError::OrderConflict`]. An order in another currency than the merchant's
/// is [`ConversionError::WrongCurrency`]. Orders of a deactivated
/// merchant are still recorded: the sale happened, and its links may have earned it.
///
/// `ordered_at` must lie in `rules.window` around `now` (else `Invalid` naming `ordered_at`),
/// and the hold runs from [`hold_start`]: the later of `ordered_at` and `now`, so back-dating an
/// order never shortens its hold.
///
/// The fraud signals ([`crate::earning::signals`]) never refuse an order: a click that already
/// attributed `rules.click_reuse` orders does not attribute (the order falls back to its coupon
/// or stays unattributed, with [`FraudSignal::ClickReuse`]); an order above the merchant's
/// [`MaxOrderAmount`], one whose customer is the influencer, or one whose buyer's network
/// differs from the clicker's is recorded with its commission held for that reason. Every
/// signal that fired is listed on the conversion.
pub async fn record_conversion_within<S>(
    store: &S,
    now: DateTime<Utc>,
    order: RecordConversion,
    rules: OrderRules,
) -> Result<Recorded, ConversionError>
where
    S: MerchantRepo + ConversionRepo + HoldRepo + ?Sized,
{
    if order.product_external_ids.len() > MAX_PRODUCTS_PER_ORDER {
        return Err(ConversionError::Invalid(ValidationError::new(
            "product_external_ids",
            crate::error::Invalid::OutOfRange("a list of at most 250 products"),
        )));
    }
    // PostgreSQL keeps microseconds: deciding on the stored precision keeps every store's
    // window and hold boundaries identical.
    let (now, ordered_at) = (now.trunc_subsecs(6), order.ordered_at.trunc_subsecs(6));
    // One order must fit tracking_links.total_revenue (DECIMAL(10,2)).
    let amount = order.amount.fit_digits(10).field("amount")?;
    let merchant = store.merchant_by_id(order.merchant_id).await?;
    if order.currency != merchant.currency {
        return Err(wrong_currency(&order, merchant.currency));
    }
    order.currency.check(amount.amount()).field("amount")?;
    // Most redeliveries stop here, before the attribution lookups.
    if let Some(stored) = store
        .conversion_by_order(order.merchant_id, &order.order_id)
        .await?
    {
        return duplicate(stored, amount);
    }
    // After the redelivery check: a delivery retried days later still finds its order.
    rules.window.check(ordered_at, now).field("ordered_at")?;
    for _ in 0..CLICK_ATTEMPTS {
        let attempt = decide(store, now, ordered_at, amount, &order, rules.click_reuse).await?;
        let click_rejected = attempt.click_rejected;
        match store.insert_conversion(attempt.new).await? {
            ConversionInsert::Inserted(conversion) => {
                return Ok(Recorded {
                    conversion,
                    duplicate: false,
                    click_rejected,
                })
            }
            // Another delivery of the same order won the race.
            ConversionInsert::Existing(stored) => return duplicate(stored, amount),
            // Another order took the click's use meanwhile: decide again.
            ConversionInsert::ClickSpent => continue,
            // The merchant's currency changed since it was read.
            ConversionInsert::WrongCurrency(expected) => {
                return Err(wrong_currency(&order, expected))
            }
        }
    }
    Err(ConversionError::Busy)
}

/// The refusal of `order`, not in `expected`, the merchant's currency: logged, since a shop
/// set up in another currency than its merchant loses every order until it is fixed.
fn wrong_currency(order: &RecordConversion, expected: Currency) -> ConversionError {
    tracing::warn!(
        merchant = %order.merchant_id,
        order_id = %order.order_id,
        currency = %order.currency,
        %expected,
        "order refused: not in the merchant's currency"
    );
    ConversionError::WrongCurrency {
        expected,
        reported: order.currency,
    }
}

/// One attempt's decision: the conversion to insert and why its click did not attribute.
struct Attempt {
    new: NewConversion,
    click_rejected: Option<ClickRejection>,
}

/// Attributes `order` on the facts as stored now, computes its commission and fires its
/// signals.
async fn decide<S>(
    store: &S,
    now: DateTime<Utc>,
    ordered_at: DateTime<Utc>,
    amount: Money,
    order: &RecordConversion,
    click_reuse: ClickReuseLimit,
) -> Result<Attempt, ConversionError>
where
    S: MerchantRepo + ConversionRepo + HoldRepo + ?Sized,
{
    let click = match order.click_id {
        Some(id) => store.click_facts(id).await?,
        None => None,
    };
    // The codes the merchant ever assigned under this spelling, never links' campaign codes.
    let coupon_codes = match &order.coupon_code {
        Some(code) => store.coupon_facts(order.merchant_id, code).await?,
        None => Vec::new(),
    };
    let decision = attribute(
        order.merchant_id,
        ordered_at,
        order.click_id,
        click.as_ref(),
        order.coupon_code.as_ref(),
        &coupon_codes,
        click_reuse,
    );
    let (commission, hold_until) = match &decision.winner {
        Some((terms, _)) => {
            // chrono panics on `+` past its own range.
            let hold_until = hold_start(ordered_at, now)
                .checked_add_signed(terms.hold_days.duration())
                .ok_or(Invalid::OutOfRange(
                    "a date-time whose hold period ends within the calendar",
                ))
                .field("ordered_at")?;
            (terms.split(amount, order.currency), Some(hold_until))
        }
        None => (CommissionSplit::default(), None),
    };
    let (above_maximum, influencer_email) = match &decision.winner {
        Some((terms, _)) => (
            store
                .max_order_amount(order.merchant_id)
                .await?
                .exceeded_by(amount),
            match order.customer_email {
                // Only an order that names its customer can be a self-referral.
                Some(_) => store.influencer_email(terms.influencer_id).await?,
                None => None,
            },
        ),
        None => (false, None),
    };
    let signals = signals::fired(
        &decision,
        click.as_ref(),
        Buyer {
            email: order.customer_email.as_ref(),
            ip: order.shopper_ip,
        },
        influencer_email.as_ref(),
        above_maximum,
    );
    let (click_use, visit) = match (&decision.winner, &click) {
        (Some((_, AttributedBy::Click { .. })), Some(click)) => (
            Some(u32::try_from(click.attributed_orders.saturating_add(1)).unwrap_or(u32::MAX)),
            Some(click.visit.clone()),
        ),
        _ => (None, None),
    };
    Ok(Attempt {
        new: NewConversion {
            id: ConversionId::new(),
            merchant_id: order.merchant_id,
            order_id: order.order_id.clone(),
            amount,
            currency: order.currency,
            ordered_at,
            recorded_at: now,
            click_id: order.click_id,
            coupon_code: order.coupon_code.clone(),
            product_external_ids: order.product_external_ids.clone(),
            attribution: decision.attribution(),
            commission,
            hold_until,
            hold_reasons: signals::hold_reasons(&signals),
            signals,
            click_use,
            accrual_event_id: EventId::new(),
            visit,
        },
        click_rejected: decision.click_rejected,
    })
}

fn duplicate(stored: Conversion, reported: Money) -> Result<Recorded, ConversionError> {
    if stored.amount != reported {
        return Err(ConversionError::OrderConflict {
            order_id: stored.order_id,
            stored: stored.amount,
            reported,
        });
    }
    Ok(Recorded {
        conversion: stored,
        duplicate: true,
        click_rejected: None,
    })
}

/// Records a refund of part or all of an order: reverses the commission in proportion
/// ([`CommissionSplit::reversal`], on the cumulative refunded amount), with its `reversed`
/// event and totals. A redelivered refund id changes nothing; refunds beyond the order are
/// refused. A reversal after the commission was paid leaves a negative balance that the next
/// payout nets.
pub async fn record_refund<S>(
    store: &S,
    now: DateTime<Utc>,
    refund: RecordRefund,
) -> Result<RefundRecorded, ConversionError>
where
    S: MerchantRepo + ConversionRepo + ?Sized,
{
    let now = now.trunc_subsecs(6);
    // A refund in another currency than the merchant's can never be recorded, whether its
    // order has arrived or not: refused now, so that a shop does not retry it for nothing.
    if let Some(reported) = refund.currency {
        let expected = store.merchant_by_id(refund.merchant_id).await?.currency;
        if reported != expected {
            return Err(ConversionError::WrongCurrency { expected, reported });
        }
    }
    for _ in 0..REFUND_ATTEMPTS {
        if let Some(stored) = store
            .refund_by_id(refund.merchant_id, &refund.refund_id)
            .await?
        {
            return same_refund(stored, &refund, None);
        }
        let conversion = store
            .conversion_by_order(refund.merchant_id, &refund.order_id)
            .await?
            .ok_or_else(|| ConversionError::OrderNotFound {
                order_id: refund.order_id.clone(),
            })?;
        // The refund's own currency was checked against the merchant's above; an order is in
        // its merchant's currency, fixed once it has one.
        conversion
            .currency
            .check(refund.amount.amount())
            .field("amount")?;
        // The zero split of an unattributed order reverses nothing but still refuses refunds
        // beyond the order, with the same rule; so does a voided one, whose commission the
        // void already reversed in full.
        let voided_before = conversion.voided_at.is_some();
        let reversal = conversion.commission.reversal(
            conversion.amount,
            conversion.refunded_amount,
            refund.amount,
            conversion.currency,
        )?;
        let reversal = if voided_before {
            CommissionSplit::default()
        } else {
            reversal
        };
        let new = NewRefund {
            merchant_id: refund.merchant_id,
            refund_id: refund.refund_id.clone(),
            conversion_id: conversion.id,
            amount: refund.amount,
            refunded_before: conversion.refunded_amount,
            reversal: conversion
                .attribution
                .as_ref()
                .map(|_| (EventId::new(), reversal)),
            voided_before,
            recorded_at: now,
        };
        let reversed = new.reversal.map(|(_, split)| split);
        match store.insert_refund(new).await? {
            RefundInsert::Inserted(stored) => {
                return Ok(RefundRecorded {
                    refund: stored,
                    duplicate: false,
                    reversal: reversed,
                })
            }
            RefundInsert::Existing(stored) => {
                return same_refund(stored, &refund, Some(conversion.id))
            }
            RefundInsert::Stale => continue,
        }
    }
    Err(ConversionError::Busy)
}

fn same_refund(
    stored: Refund,
    reported: &RecordRefund,
    conversion: Option<ConversionId>,
) -> Result<RefundRecorded, ConversionError> {
    let same_order = conversion.is_none_or(|c| c == stored.conversion_id);
    if stored.amount != reported.amount || !same_order {
        return Err(ConversionError::RefundConflict {
            refund_id: stored.refund_id,
        });
    }
    Ok(RefundRecorded {
        refund: stored,
        duplicate: true,
        reversal: None,
    })
}

/// Approves every commission whose hold has passed as of `now` (the `approve-due` job), never
/// a held or voided one ([`Conversion::is_due`]). Idempotent: running it again approves nothing
/// twice.
pub async fn approve_due<S>(store: &S, now: DateTime<Utc>) -> Result<Vec<ConversionId>, RepoError>
where
    S: ConversionRepo + ?Sized,
{
    store.approve_due(now.trunc_subsecs(6)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Fixture;
    use crate::MemoryStore;
    use rust_decimal_macros::dec;

    fn order(f: &Fixture, id: &str, amount: rust_decimal::Decimal) -> RecordConversion {
        RecordConversion {
            merchant_id: f.merchant.id,
            order_id: ShopRef::parse(id).unwrap(),
            amount: Money::new(amount).unwrap(),
            currency: Currency::USD,
            ordered_at: Utc::now(),
            click_id: None,
            coupon_code: Some(CampaignCode::parse("ANA20").unwrap()),
            product_external_ids: Vec::new(),
            customer_email: None,
            shopper_ip: None,
        }
    }

    #[tokio::test]
    async fn an_order_may_list_250_products_and_one_more_is_refused_storing_nothing() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let products = |n: usize| {
            (0..n)
                .map(|i| ExternalId::parse(&format!("gid://shopify/Product/{i}")).unwrap())
                .collect::<Vec<_>>()
        };
        let mut full = order(&f, "250", dec!(10));
        full.product_external_ids = products(MAX_PRODUCTS_PER_ORDER);
        let recorded = record_conversion(&store, Utc::now(), full).await.unwrap();
        assert_eq!(recorded.conversion.product_external_ids.len(), 250);
        let mut over = order(&f, "251", dec!(10));
        over.product_external_ids = products(MAX_PRODUCTS_PER_ORDER + 1);
        match record_conversion(&store, Utc::now(), over).await {
            Err(ConversionError::Invalid(err)) => {
                assert_eq!(err.field, "product_external_ids");
                assert_eq!(
                    err.to_string(),
                    "product_external_ids must be a list of at most 250 products"
                );
            }
            other => panic!("expected the product cap, got {other:?}"),
        }
        assert!(store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("251").unwrap())
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn orders_in_another_currency_than_the_merchant_s_are_refused_not_converted() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let mut eur = order(&f, "1001", dec!(45));
        eur.currency = Currency::parse("EUR").unwrap();
        let err = record_conversion(&store, Utc::now(), eur)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConversionError::WrongCurrency { expected: Currency::USD, reported } if reported.as_str() == "EUR")
        );
        assert_eq!(
            err.to_string(),
            "currency EUR is not the merchant's: its orders are recorded in USD"
        );
        assert!(store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("1001").unwrap())
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn orders_of_unknown_merchants_and_refunds_of_unknown_orders_are_refused() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let mut stray = order(&f, "1", dec!(10));
        stray.merchant_id = MerchantId::new();
        assert!(matches!(
            record_conversion(&store, Utc::now(), stray).await,
            Err(ConversionError::MerchantNotFound)
        ));
        let refund = RecordRefund {
            merchant_id: f.merchant.id,
            order_id: ShopRef::parse("nope").unwrap(),
            refund_id: ShopRef::parse("r1").unwrap(),
            amount: Money::new(dec!(1)).unwrap(),
            currency: None,
        };
        assert!(matches!(
            record_refund(&store, Utc::now(), refund).await,
            Err(ConversionError::OrderNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn orders_beyond_the_link_revenue_column_are_invalid() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let huge = order(&f, "1", dec!(100000000.00));
        match record_conversion(&store, Utc::now(), huge).await {
            Err(ConversionError::Invalid(err)) => assert_eq!(err.field, "amount"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_order_whose_hold_would_end_beyond_the_calendar_is_invalid_not_a_panic() {
        use crate::store::LinkRepo;
        use crate::testkit::new_link;
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let link = store.insert_link(new_link(&f, "far-future")).await.unwrap();
        let end = DateTime::<Utc>::MAX_UTC;
        let mut late = order(&f, "1", dec!(10));
        late.ordered_at = end;
        // Attributed by the link's coupon: a click cannot be this late (a UUIDv7 id, which a
        // click is stored by, carries times up to the year 10889 only).
        crate::testkit::coupon_codes::assign_code(&store, &f, link.id, "FAR20", Utc::now()).await;
        late.click_id = None;
        late.coupon_code = Some(crate::domain::CampaignCode::parse("FAR20").unwrap());
        match record_conversion(&store, end, late).await {
            Err(ConversionError::Invalid(err)) => assert_eq!(err.field, "ordered_at"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("1").unwrap())
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_configured_order_window_refuses_what_the_default_would_accept() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let now = Utc::now();
        let mut old = order(&f, "1", dec!(10));
        old.ordered_at = now - chrono::Duration::days(10);
        let week = OrderWindow::new(7).unwrap();
        match record_conversion_within(
            &store,
            now,
            old.clone(),
            OrderRules {
                window: week,
                ..OrderRules::default()
            },
        )
        .await
        {
            Err(ConversionError::Invalid(err)) => assert_eq!(err.field, "ordered_at"),
            other => panic!("expected ordered_at to be refused, got {other:?}"),
        }
        let recorded = record_conversion(&store, now, old).await.unwrap();
        assert!(!recorded.duplicate);
    }
}
