//! Merchant statements (invoices), under the store's one lock like the ledger they bill.

use super::*;
use crate::earning::{build_statement, BillableEvent, StatementRequest, TotalsDelta};
use chrono::DateTime;
use std::collections::HashSet;

/// The statements' part of the store's state.
#[derive(Default)]
pub(super) struct InvoiceState {
    statements: HashMap<StatementId, MerchantStatement>,
    by_period: HashMap<(MerchantId, BillingPeriod, Currency), StatementId>,
    /// Every event billed, with its statement: each is billed once, ever.
    billed: HashMap<EventId, StatementId>,
    /// The events of statements marked paid.
    pub(super) funded: HashSet<EventId>,
}

impl State {
    /// The events no statement billed yet, with the facts core's billing rule reads.
    fn unbilled(&self, keep: impl Fn(&CommissionEvent) -> bool) -> Vec<BillableEvent> {
        self.ledger
            .events
            .iter()
            .filter(|e| !self.invoices.billed.contains_key(&e.id) && keep(e))
            .filter_map(|e| {
                let conversion = self.ledger.conversions.get(&e.conversion_id)?;
                Some(BillableEvent {
                    event: e.clone(),
                    order_id: conversion.order_id.clone(),
                    currency: conversion.currency,
                    approved_at: conversion.approved_at,
                })
            })
            .collect()
    }

    pub(super) fn funded(&self, event: EventId) -> bool {
        self.invoices.funded.contains(&event)
    }
}

#[async_trait]
impl StatementRepo for MemoryStore {
    async fn issue_statement(&self, request: &StatementRequest) -> RepoResult<StatementIssue> {
        let mut state = self.lock();
        let key = (request.merchant_id, request.period, request.currency);
        if let Some(id) = state.invoices.by_period.get(&key) {
            return Ok(StatementIssue::Existing(
                state.invoices.statements[id].clone(),
            ));
        }
        let unbilled = state.unbilled(|e| e.merchant_id == request.merchant_id);
        let Some(statement) = build_statement(StatementId::new(), request, &unbilled) else {
            return Ok(StatementIssue::NothingToBill);
        };
        let invoices = &mut state.invoices;
        for line in &statement.lines {
            invoices.billed.insert(line.event_id, statement.id);
        }
        invoices.by_period.insert(key, statement.id);
        invoices.statements.insert(statement.id, statement.clone());
        Ok(StatementIssue::Issued(statement))
    }

    async fn statement_by_id(&self, id: StatementId) -> RepoResult<Option<MerchantStatement>> {
        Ok(self.lock().invoices.statements.get(&id).cloned())
    }

    async fn statements_by_merchant(
        &self,
        merchant: MerchantId,
        page: Page<StatementId>,
    ) -> RepoResult<Vec<MerchantStatement>> {
        let state = self.lock();
        let mine = state
            .invoices
            .statements
            .values()
            .filter(|s| s.merchant_id == merchant)
            .cloned();
        Ok(paged(mine, |s| s.id, page))
    }

    async fn statements(&self, page: Page<StatementId>) -> RepoResult<Vec<MerchantStatement>> {
        let state = self.lock();
        Ok(paged(
            state.invoices.statements.values().cloned(),
            |s| s.id,
            page,
        ))
    }

    async fn mark_statement_paid(
        &self,
        id: StatementId,
        reference: &PaymentReference,
        at: DateTime<Utc>,
    ) -> RepoResult<MarkPaid> {
        let mut state = self.lock();
        let statement = state
            .invoices
            .statements
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Statement))?;
        if statement.status == StatementStatus::Paid {
            return Ok(MarkPaid::AlreadyPaid(statement.clone()));
        }
        statement.status = StatementStatus::Paid;
        statement.paid_at = Some(at);
        statement.payment_reference = Some(reference.clone());
        let statement = statement.clone();
        state
            .invoices
            .funded
            .extend(statement.lines.iter().map(|l| l.event_id));
        let delta = TotalsDelta::funding(&statement);
        if let Some(merchant) = state.merchants.get_mut(&statement.merchant_id) {
            merchant.total_commissions_paid += delta.commissions_paid;
        }
        Ok(MarkPaid::Marked(statement))
    }

    async fn merchants_with_unbilled_events(&self) -> RepoResult<Vec<MerchantId>> {
        let state = self.lock();
        let mut merchants: Vec<MerchantId> = state
            .unbilled(|e| e.kind.carries_commission())
            .into_iter()
            .map(|e| e.event.merchant_id)
            .collect();
        merchants.sort();
        merchants.dedup();
        Ok(merchants)
    }
}
