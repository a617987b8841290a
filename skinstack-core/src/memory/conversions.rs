//! The in-memory store's conversions, ledger and payouts. Every write happens under the
//! store's one lock, so an event and the totals it changes are never seen apart.

use super::link_value;
use super::{MemoryStore, State};
use crate::domain::ClickId;
use crate::domain::*;
use crate::earning::attribution::{ClickFacts, CouponFacts, LinkTerms};
use crate::earning::commission::CommissionSplit;
use crate::earning::ledger::*;
use crate::earning::{Balance, PayoutBatch, UnattributedOrders};
use crate::store::{ConversionRepo, Entity, LedgerQueries, Page, RepoError, RepoResult};
use crate::tracking::breakdown::{self, Dimension, Scope, ValueConversions, Visit};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The ledger's part of the store's state.
#[derive(Default)]
pub(super) struct LedgerState {
    pub(super) conversions: HashMap<ConversionId, Conversion>,
    pub(super) by_order: HashMap<(MerchantId, OrderId), ConversionId>,
    pub(super) refunds: HashMap<(MerchantId, RefundId), Refund>,
    /// Append-only, oldest first.
    pub(super) events: Vec<CommissionEvent>,
    pub(super) settled: HashSet<EventId>,
    pub(super) batches: Vec<PayoutBatch>,
    pub(super) hold_days: HashMap<ProgramId, HoldDays>,
    pub(super) max_order_amounts: HashMap<MerchantId, MaxOrderAmount>,
    /// Each click's uses taken by the conversions it attributed: the unique
    /// `(attributed_click_id, attributed_click_use)` of PostgreSQL.
    pub(super) click_uses: HashMap<ClickId, HashSet<u32>>,
    pub(super) webhook_secrets: HashMap<MerchantId, Secret>,
    /// What the attributing click said, by conversion: the conversions' dimension columns.
    pub(super) visits: HashMap<ConversionId, Visit>,
    pub(super) previous_webhook_secrets: HashMap<MerchantId, RotatedSecret>,
}

impl State {
    pub(super) fn link_terms(&self, link: &TrackingLink) -> RepoResult<LinkTerms> {
        let program = self
            .programs
            .get(&link.program_id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        Ok(LinkTerms {
            link_id: link.id,
            influencer_id: link.influencer_id,
            program_id: program.id,
            merchant_id: program.merchant_id,
            is_active: link.is_active,
            created_at: link.created_at,
            commission: program.commission,
            platform_fee_rate: program.platform_fee_rate,
            cookie_window: program.cookie_window,
            hold_days: self
                .ledger
                .hold_days
                .get(&program.id)
                .copied()
                .unwrap_or_default(),
        })
    }

    /// Appends `event` and applies its [`TotalsDelta`] to the rows that still exist (a deleted
    /// link's or profile's totals went with it; the ledger keeps its history).
    pub(super) fn append(&mut self, event: CommissionEvent) {
        let delta = TotalsDelta::of_event(&event);
        if let Some(link) = self.links.get_mut(&event.link_id) {
            link.total_conversions += delta.conversions;
            link.total_revenue += delta.sales;
            link.total_commission += delta.commission;
        }
        if let Some(influencer) = self.influencers.get_mut(&event.influencer_id) {
            let mut seed = SeedTotals {
                primary_currency: influencer.primary_currency,
                earned: influencer.total_earned,
                paid: influencer.total_paid,
            };
            seed.apply(event.currency, &delta);
            influencer.primary_currency = seed.primary_currency;
            influencer.total_earned = seed.earned;
            influencer.total_paid = seed.paid;
        }
        if let Some(merchant) = self.merchants.get_mut(&event.merchant_id) {
            merchant.total_sales += delta.sales;
            merchant.total_commissions_paid += delta.commissions_paid;
        }
        self.ledger.events.push(event);
    }

    pub(super) fn view(&self, conversion: &Conversion) -> ConversionView {
        let mut net = CommissionSplit::default();
        let mut paid = CommissionSplit::default();
        let mut unsettled = false;
        for e in self
            .ledger
            .events
            .iter()
            .filter(|e| e.conversion_id == conversion.id)
        {
            match e.kind {
                EventKind::Accrued | EventKind::Reversed | EventKind::Voided => {
                    net = net.plus(&e.split);
                    unsettled |= !self.ledger.settled.contains(&e.id);
                }
                EventKind::Paid => paid = paid.plus(&e.split),
                EventKind::Approved | EventKind::Released => {}
            }
        }
        ConversionView::new(conversion.clone(), net, paid, unsettled)
    }

    pub(super) fn page(
        &self,
        keep: impl Fn(&Conversion) -> bool,
        page: Page<ConversionId>,
    ) -> Vec<ConversionView> {
        let mut mine: Vec<&Conversion> = self
            .ledger
            .conversions
            .values()
            .filter(|c| keep(c) && page.after.is_none_or(|after| c.id > after))
            .collect();
        mine.sort_by_key(|c| c.id);
        mine.into_iter()
            .take(page.limit() as usize)
            .map(|c| self.view(c))
            .collect()
    }

    /// The events `keep` selects, bucketed by core's one rule ([`Balance::add`]).
    fn balance(&self, keep: impl Fn(&CommissionEvent) -> bool) -> Balance {
        let mut balance = Balance::default();
        for e in self.ledger.events.iter().filter(|e| keep(e)) {
            balance.add(
                e.kind,
                self.approved(e.conversion_id),
                self.funded(e.id),
                self.ledger.settled.contains(&e.id),
                &e.split,
            );
        }
        balance
    }

    pub(super) fn approved(&self, conversion: ConversionId) -> bool {
        self.ledger
            .conversions
            .get(&conversion)
            .is_some_and(|c| c.approved_at.is_some())
    }
}

#[async_trait]
impl ConversionRepo for MemoryStore {
    async fn click_facts(&self, id: ClickId) -> RepoResult<Option<ClickFacts>> {
        let state = self.lock();
        let Some(click) = state.clicks.get(&id) else {
            return Ok(None);
        };
        let Some(link) = state.links.get(&click.link_id) else {
            return Ok(None);
        };
        let attributed_orders = state
            .ledger
            .click_uses
            .get(&id)
            .map_or(0, |uses| uses.len()) as u64;
        Ok(Some(ClickFacts {
            click_id: click.id,
            clicked_at: click.at,
            is_bot: click.is_bot,
            ip: click.ip,
            attributed_orders,
            // The memory store keeps the click itself, headers and all.
            visit: Visit::of(click),
            link: state.link_terms(link)?,
        }))
    }

    async fn coupon_facts(
        &self,
        merchant: MerchantId,
        code: &CampaignCode,
    ) -> RepoResult<Vec<CouponFacts>> {
        self.lock().coupon_facts(merchant, code)
    }

    async fn link_terms(&self, link: LinkId) -> RepoResult<LinkTerms> {
        let state = self.lock();
        let link = state
            .links
            .get(&link)
            .ok_or(RepoError::NotFound(Entity::Link))?;
        state.link_terms(link)
    }

    async fn influencer_email(&self, influencer: InfluencerId) -> RepoResult<Option<Email>> {
        let state = self.lock();
        Ok(state
            .influencers
            .get(&influencer)
            .and_then(|i| state.users.get(&i.user_id))
            .map(|u| u.email.clone()))
    }

    async fn insert_conversion(&self, new: NewConversion) -> RepoResult<ConversionInsert> {
        let mut state = self.lock();
        let key = (new.merchant_id, new.order_id.clone());
        if let Some(id) = state.ledger.by_order.get(&key) {
            let existing = state.ledger.conversions[id].clone();
            return Ok(ConversionInsert::Existing(existing));
        }
        // Under the same lock as a currency change: PostgreSQL's row lock on the merchant.
        let settles_in = state
            .merchants
            .get(&new.merchant_id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?
            .currency;
        if settles_in != new.currency {
            return Ok(ConversionInsert::WrongCurrency(settles_in));
        }
        let click_use = match (&new.attribution, new.click_use) {
            (
                Some(Attribution {
                    by: AttributedBy::Click { click_id },
                    ..
                }),
                Some(n),
            ) => Some((*click_id, n)),
            _ => None,
        };
        if let Some((click, n)) = click_use {
            if !state.ledger.click_uses.entry(click).or_default().insert(n) {
                return Ok(ConversionInsert::ClickSpent);
            }
        }
        if let Some(visit) = new.visit.clone() {
            state.ledger.visits.insert(new.id, visit);
        }
        let conversion = Conversion {
            id: new.id,
            merchant_id: new.merchant_id,
            order_id: new.order_id,
            amount: new.amount,
            currency: new.currency,
            ordered_at: new.ordered_at,
            recorded_at: new.recorded_at,
            click_id: new.click_id,
            coupon_code: new.coupon_code,
            product_external_ids: new.product_external_ids,
            attribution: new.attribution,
            commission: new.commission,
            hold_until: new.hold_until,
            approved_at: None,
            refunded_amount: Money::ZERO,
            held_at: (!new.hold_reasons.is_empty()).then_some(new.recorded_at),
            hold_reasons: new.hold_reasons,
            signals: new.signals,
            voided_at: None,
        };
        state.ledger.by_order.insert(key, conversion.id);
        state
            .ledger
            .conversions
            .insert(conversion.id, conversion.clone());
        if let Some(accrued) = CommissionEvent::accrual(new.accrual_event_id, &conversion) {
            state.append(accrued);
        }
        Ok(ConversionInsert::Inserted(conversion))
    }

    async fn conversion_by_order(
        &self,
        merchant: MerchantId,
        order: &OrderId,
    ) -> RepoResult<Option<Conversion>> {
        let state = self.lock();
        Ok(state
            .ledger
            .by_order
            .get(&(merchant, order.clone()))
            .map(|id| state.ledger.conversions[id].clone()))
    }

    async fn refund_by_id(
        &self,
        merchant: MerchantId,
        refund: &RefundId,
    ) -> RepoResult<Option<Refund>> {
        Ok(self
            .lock()
            .ledger
            .refunds
            .get(&(merchant, refund.clone()))
            .cloned())
    }

    async fn insert_refund(&self, new: NewRefund) -> RepoResult<RefundInsert> {
        let mut state = self.lock();
        let key = (new.merchant_id, new.refund_id.clone());
        if let Some(existing) = state.ledger.refunds.get(&key) {
            return Ok(RefundInsert::Existing(existing.clone()));
        }
        let Some(conversion) = state.ledger.conversions.get_mut(&new.conversion_id) else {
            return Ok(RefundInsert::Stale);
        };
        if conversion.refunded_amount != new.refunded_before
            || conversion.voided_at.is_some() != new.voided_before
        {
            return Ok(RefundInsert::Stale);
        }
        let refunded = Money::new(conversion.refunded_amount.amount() + new.amount.amount())
            .map_err(|reason| crate::ValidationError::new("amount", reason))?;
        if refunded > conversion.amount {
            return Err(RepoError::Invalid(crate::ValidationError::new(
                "amount",
                crate::error::Invalid::OutOfRange("at most the order's unrefunded amount"),
            )));
        }
        conversion.refunded_amount = refunded;
        let conversion = conversion.clone();
        let refund = Refund {
            merchant_id: new.merchant_id,
            refund_id: new.refund_id.clone(),
            conversion_id: new.conversion_id,
            amount: new.amount,
            recorded_at: new.recorded_at,
        };
        state.ledger.refunds.insert(key, refund.clone());
        if let Some(reversed) = CommissionEvent::reversal(&conversion, &new) {
            state.append(reversed);
        }
        Ok(RefundInsert::Inserted(refund))
    }

    async fn approve_due(&self, now: DateTime<Utc>) -> RepoResult<Vec<ConversionId>> {
        let mut state = self.lock();
        let mut due: Vec<ConversionId> = state
            .ledger
            .conversions
            .values()
            .filter(|c| c.is_due(now))
            .map(|c| c.id)
            .collect();
        due.sort();
        for id in &due {
            let Some(conversion) = state.ledger.conversions.get_mut(id) else {
                continue;
            };
            conversion.approved_at = Some(now);
            let conversion = conversion.clone();
            if let Some(approved) =
                CommissionEvent::approval(EventId::new(), &conversion, &state.ledger.events, now)
            {
                state.append(approved);
            }
        }
        Ok(due)
    }

    async fn program_hold_days(&self, program: ProgramId) -> RepoResult<HoldDays> {
        let state = self.lock();
        if !state.programs.contains_key(&program) {
            return Err(RepoError::NotFound(Entity::Program));
        }
        Ok(state
            .ledger
            .hold_days
            .get(&program)
            .copied()
            .unwrap_or_default())
    }

    async fn set_program_hold_days(&self, program: ProgramId, days: HoldDays) -> RepoResult<()> {
        let mut state = self.lock();
        if !state.programs.contains_key(&program) {
            return Err(RepoError::NotFound(Entity::Program));
        }
        state.ledger.hold_days.insert(program, days);
        Ok(())
    }
}

#[async_trait]
impl LedgerQueries for MemoryStore {
    async fn events_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<CommissionEvent>> {
        Ok(self
            .lock()
            .ledger
            .events
            .iter()
            .filter(|e| e.merchant_id == merchant)
            .cloned()
            .collect())
    }

    async fn conversions_by_merchant(
        &self,
        merchant: MerchantId,
        filter: ConversionFilter,
        page: Page<ConversionId>,
    ) -> RepoResult<Vec<ConversionView>> {
        let state = self.lock();
        Ok(state.page(|c| c.merchant_id == merchant && filter.keeps(c), page))
    }

    async fn conversions_by_influencer(
        &self,
        influencer: InfluencerId,
        page: Page<ConversionId>,
    ) -> RepoResult<Vec<ConversionView>> {
        let state = self.lock();
        Ok(state.page(
            |c| {
                c.attribution
                    .as_ref()
                    .is_some_and(|a| a.influencer_id == influencer)
            },
            page,
        ))
    }

    async fn earnings_summary(&self, influencer: InfluencerId) -> RepoResult<Vec<EarningsSummary>> {
        let state = self.lock();
        let currencies: BTreeSet<Currency> = state
            .ledger
            .events
            .iter()
            .filter(|e| e.influencer_id == influencer)
            .map(|e| e.currency)
            .collect();
        Ok(currencies
            .into_iter()
            .map(|c| {
                state
                    .balance(|e| e.influencer_id == influencer && e.currency == c)
                    .earnings(c)
            })
            .collect())
    }

    async fn merchant_commissions(&self, merchant: MerchantId) -> RepoResult<MerchantCommissions> {
        let state = self.lock();
        let merchant_currency = state
            .merchants
            .get(&merchant)
            .ok_or(RepoError::NotFound(Entity::Merchant))?
            .currency;
        let mut unattributed = UnattributedOrders::default();
        for c in state
            .ledger
            .conversions
            .values()
            .filter(|c| c.merchant_id == merchant && c.attribution.is_none())
        {
            unattributed.add(c);
        }
        Ok(state
            .balance(|e| e.merchant_id == merchant)
            .commissions(merchant_currency, &unattributed))
    }

    async fn link_daily_stats(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyLinkStats>> {
        let state = self.lock();
        let mut days: Vec<DailyLinkStats> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|day| DailyLinkStats {
                day,
                clicks: 0,
                conversions: 0,
                revenue: Decimal::ZERO,
                commission: Decimal::ZERO,
                earnings: Decimal::ZERO,
            })
            .collect();
        let len = days.len();
        let slot = |day: NaiveDate| {
            usize::try_from((day - from).num_days())
                .ok()
                .filter(|i| *i < len)
        };
        // The roll-ups, as PostgreSQL reads them: O(days), and still there after a prune.
        for row in crate::tracking::rollup::DailyClicks::of_link(&state.rollups, link, from, to) {
            if let Some(i) = slot(row.day) {
                days[i].clicks += row.counts.clicks;
            }
        }
        for e in state.ledger.events.iter().filter(|e| e.link_id == link) {
            let conversions = match e.kind {
                EventKind::Accrued => 1,
                EventKind::Reversed | EventKind::Voided => 0,
                _ => continue,
            };
            let Some(conversion) = state.ledger.conversions.get(&e.conversion_id) else {
                continue;
            };
            let Some(i) = slot(conversion.ordered_at.date_naive()) else {
                continue;
            };
            let d = &mut days[i];
            d.conversions += conversions;
            d.revenue += e.sales;
            d.commission += e.split.gross;
            d.earnings += e.split.influencer_earnings;
        }
        Ok(days)
    }

    async fn conversion_breakdown(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<ValueConversions>> {
        let state = self.lock();
        let mut sums: HashMap<(String, Currency), ValueConversions> = HashMap::new();
        for e in &state.ledger.events {
            let conversions = match e.kind {
                EventKind::Accrued => 1,
                EventKind::Reversed | EventKind::Voided => 0,
                _ => continue,
            };
            let (Some(conversion), Some(link)) = (
                state.ledger.conversions.get(&e.conversion_id),
                state.links.get(&e.link_id),
            ) else {
                continue;
            };
            let day = conversion.ordered_at.date_naive();
            if day < from || day > to || !state.in_scope(scope, link) {
                continue;
            }
            let value = if dimension.is_per_click() {
                conversion_value(
                    conversion,
                    state.ledger.visits.get(&conversion.id),
                    dimension,
                )
            } else {
                link_value(link, dimension)
            };
            let sum = sums
                .entry((value.clone(), conversion.currency))
                .or_insert_with(|| ValueConversions {
                    value,
                    currency: conversion.currency,
                    conversions: 0,
                    revenue: Decimal::ZERO,
                    commission: Decimal::ZERO,
                    earnings: Decimal::ZERO,
                });
            sum.conversions += conversions;
            sum.revenue += e.sales;
            sum.commission += e.split.gross;
            sum.earnings += e.split.influencer_earnings;
        }
        Ok(sums.into_values().collect())
    }
}

/// A conversion's value for a click dimension, by core's rule.
fn conversion_value(
    conversion: &Conversion,
    visit: Option<&Visit>,
    dimension: Dimension,
) -> String {
    let by_coupon = matches!(
        conversion.attribution,
        Some(Attribution {
            by: AttributedBy::Coupon { .. },
            ..
        })
    );
    breakdown::conversion_value(by_coupon, visit, dimension).to_owned()
}
