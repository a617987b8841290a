//! Merchant statements (invoices): issuing a month's statements, recording a merchant's
//! payment, and a merchant's view of its statements and what it owes. The billing rule is
//! [`crate::earning::invoice`]; this module decides who may do what and walks the merchants.

use super::profiles::own_merchant;
use super::{Actor, Rejection, ServiceError, ServiceResult};
use crate::domain::{
    BillingPeriod, Currency, MarkPaid, MerchantId, MerchantStatement, PaymentReference, Role,
    StatementId, StatementIssue,
};
use crate::earning::{amount_due, StatementRequest};
use crate::store::{Entity, MerchantRepo, Page, RepoError, StatementRepo};
use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;

/// Issues `period`'s statement of `merchant`, or of every merchant with unbilled events when
/// `None`, as of `now`; one result per merchant, in merchant order. Running it again bills
/// nothing twice (the statements issued before are returned as [`StatementIssue::Existing`]).
/// `Rejected` naming `period` if the period has not started.
pub async fn create_statements<S>(
    store: &S,
    period: BillingPeriod,
    merchant: Option<MerchantId>,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<(MerchantId, StatementIssue)>>
where
    S: StatementRepo + MerchantRepo + ?Sized,
{
    // The time as PostgreSQL keeps it (microseconds), whichever store holds it.
    let now = now.trunc_subsecs(6);
    if period.start() > now {
        return Err(Rejection::PeriodNotStarted.into());
    }
    let merchants = match merchant {
        Some(id) => vec![store.merchant_by_id(id).await?],
        None => {
            let mut found = Vec::new();
            for id in store.merchants_with_unbilled_events().await? {
                match store.merchant_by_id(id).await {
                    Ok(merchant) => found.push(merchant),
                    // A deleted merchant has nobody to bill; its events stay unbilled.
                    Err(RepoError::NotFound(_)) => {}
                    Err(other) => return Err(other.into()),
                }
            }
            found
        }
    };
    let mut issued = Vec::with_capacity(merchants.len());
    for merchant in merchants {
        let merchant_id = merchant.id;
        let request = StatementRequest {
            merchant_id,
            period,
            // A merchant's commissions are all in its settlement currency.
            currency: merchant.currency,
            issued_at: now,
        };
        issued.push((merchant_id, store.issue_statement(&request).await?));
    }
    Ok(issued)
}

/// Records the merchant's payment of statement `id` (`NotFound(Statement)` if none): its
/// commissions become payable to influencers. A statement paid before is returned unchanged.
pub async fn mark_statement_paid<S>(
    store: &S,
    id: StatementId,
    reference: &PaymentReference,
    now: DateTime<Utc>,
) -> ServiceResult<MarkPaid>
where
    S: StatementRepo + ?Sized,
{
    Ok(store
        .mark_statement_paid(id, reference, now.trunc_subsecs(6))
        .await?)
}

/// [`create_statements`], for an administrator.
pub async fn admin_create_statements<S>(
    store: &S,
    actor: &Actor,
    period: BillingPeriod,
    merchant: Option<MerchantId>,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<(MerchantId, StatementIssue)>>
where
    S: StatementRepo + MerchantRepo + ?Sized,
{
    actor.require(Role::Admin)?;
    create_statements(store, period, merchant, now).await
}

/// [`mark_statement_paid`], for an administrator.
pub async fn admin_mark_statement_paid<S>(
    store: &S,
    actor: &Actor,
    id: StatementId,
    reference: &PaymentReference,
    now: DateTime<Utc>,
) -> ServiceResult<MarkPaid>
where
    S: StatementRepo + ?Sized,
{
    actor.require(Role::Admin)?;
    mark_statement_paid(store, id, reference, now).await
}

/// The actor's merchant's statements, oldest first, one page at a time.
pub async fn merchant_statements<S>(
    store: &S,
    actor: &Actor,
    page: Page<StatementId>,
) -> ServiceResult<Vec<MerchantStatement>>
where
    S: StatementRepo + MerchantRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    Ok(store.statements_by_merchant(merchant.id, page).await?)
}

/// One of the actor's merchant's statements; another merchant's is `NotFound`, exactly as if
/// it did not exist.
pub async fn merchant_statement<S>(
    store: &S,
    actor: &Actor,
    id: StatementId,
) -> ServiceResult<MerchantStatement>
where
    S: StatementRepo + MerchantRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    match store.statement_by_id(id).await? {
        Some(statement) if statement.merchant_id == merchant.id => Ok(statement),
        _ => Err(ServiceError::NotFound(Entity::Statement)),
    }
}

/// What the actor's merchant owes on its issued statements ([`amount_due`]).
pub async fn merchant_amount_due<S>(store: &S, actor: &Actor) -> ServiceResult<(Currency, Decimal)>
where
    S: StatementRepo + MerchantRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let due = amount_due(&all_statements_of(store, merchant.id).await?);
    Ok((merchant.currency, due))
}

/// Every statement of `merchant`, walking the pages.
pub async fn all_statements_of<S>(
    store: &S,
    merchant: MerchantId,
) -> ServiceResult<Vec<MerchantStatement>>
where
    S: StatementRepo + ?Sized,
{
    let mut all = Vec::new();
    let mut page = Page::largest(None);
    loop {
        let batch = store.statements_by_merchant(merchant, page).await?;
        let next = page.next_cursor(&batch, |s| s.id);
        all.extend(batch);
        match next {
            Some(after) => page = Page::largest(Some(after)),
            None => return Ok(all),
        }
    }
}
