//! Merchant statements (invoices). Named `invoices` so as not to clash with the ledger's read
//! side for dashboards (`service::statements`).

use crate::domain::{
    MarkPaid, MerchantId, MerchantStatement, PaymentReference, StatementId, StatementIssue,
};
use crate::earning::StatementRequest;
use crate::store::{Page, RepoResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Merchant statements (invoices): issued by core's rule
/// ([`crate::earning::invoice::build_statement`]), immutable once issued, then paid.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait StatementRepo: Send + Sync {
    /// Issues the statement `request` names unless the merchant has one for that period and
    /// currency already ([`StatementIssue::Existing`], nothing billed again): hands every
    /// event of the merchant that no statement billed yet to `build_statement` and stores
    /// what it returns, atomically. Concurrent calls issue one statement and bill each event
    /// once.
    async fn issue_statement(&self, request: &StatementRequest) -> RepoResult<StatementIssue>;
    /// The statement `id`, with its lines.
    async fn statement_by_id(&self, id: StatementId) -> RepoResult<Option<MerchantStatement>>;
    /// The merchant's statements, in id order (oldest first), one page at a time.
    async fn statements_by_merchant(
        &self,
        merchant: MerchantId,
        page: Page<StatementId>,
    ) -> RepoResult<Vec<MerchantStatement>>;
    /// Every merchant's statements, in id order, one page at a time.
    async fn statements(&self, page: Page<StatementId>) -> RepoResult<Vec<MerchantStatement>>;
    /// Records the merchant's payment of statement `id` with `reference` at `at`: marks it
    /// paid, funds its lines and applies [`crate::earning::TotalsDelta::funding`], atomically;
    /// a statement paid before is returned as it is and moves nothing. `NotFound(Statement)`
    /// if there is no such statement.
    async fn mark_statement_paid(
        &self,
        id: StatementId,
        reference: &PaymentReference,
        at: DateTime<Utc>,
    ) -> RepoResult<MarkPaid>;
    /// Every merchant with an event no statement billed yet: whom `invoices create` bills.
    async fn merchants_with_unbilled_events(&self) -> RepoResult<Vec<MerchantId>>;
}
