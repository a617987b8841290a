//! Merchant statements (invoices): a merchant sees its statements, what it owes and each
//! statement's CSV; an administrator issues a month's statements and records payments.

use crate::error::{Error, ErrorBody, Result};
use crate::extract::{AuthUser, Check, Json, Path, Query};
use crate::responses::{Forbidden, JsonBody, QueryErrors, Session};
use crate::routes::{csv_download, money, PageQuery};
use crate::state::ApiState;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::earning::invoice;
use skinstack_core::service::invoices;
use skinstack_core::{
    BillingPeriod, MarkPaid, MerchantId, MerchantStatement, PaymentReference, StatementId,
    StatementIssue, StatementStatus,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(export_csv))
        .routes(routes!(issue))
        .routes(routes!(mark_paid))
}

/// One commission event billed (decimal strings; ≤ 0 on a credit).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineView {
    /// The ledger event billed.
    pub event_id: Uuid,
    /// Its conversion.
    pub conversion_id: Uuid,
    /// The shop's order id.
    pub order_id: String,
    /// `charge` (a commission) or `credit` (a refund's reversal).
    #[schema(example = "charge")]
    pub kind: &'static str,
    /// Who earns the commission.
    pub influencer_id: Uuid,
    /// What the merchant owes for it.
    #[schema(value_type = String, example = "9.00")]
    pub gross_commission: Decimal,
    /// The platform's fee, out of the gross.
    #[schema(value_type = String, example = "1.80")]
    pub platform_fee: Decimal,
    /// The influencer's share, out of the gross.
    #[schema(value_type = String, example = "7.20")]
    pub influencer_share: Decimal,
    /// When the event was written.
    pub occurred_at: DateTime<Utc>,
}

/// A merchant statement (invoice), immutable once issued but for being marked paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    /// Its id.
    pub id: Uuid,
    /// Who is billed.
    pub merchant_id: Uuid,
    /// The month billed.
    #[schema(example = "2026-03")]
    pub period: String,
    /// The currency of every amount.
    #[schema(example = "USD")]
    pub currency: String,
    /// Where it stands.
    pub status: StatementStatus,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When its payment was recorded.
    pub paid_at: Option<DateTime<Utc>>,
    /// The payment's reference.
    pub payment_reference: Option<String>,
    /// Σ gross commission of its lines: what the merchant owes (negative: a credit).
    #[schema(value_type = String, example = "9.00")]
    pub total: Decimal,
    /// What is still due on it: `total` while issued, 0 once paid.
    #[schema(value_type = String, example = "9.00")]
    pub amount_due: Decimal,
    /// Its lines, in event order.
    pub lines: Vec<InvoiceLineView>,
}

impl From<MerchantStatement> for InvoiceView {
    fn from(s: MerchantStatement) -> Self {
        Self {
            id: s.id.as_uuid(),
            merchant_id: s.merchant_id.as_uuid(),
            period: s.period.to_string(),
            currency: s.currency.to_string(),
            status: s.status,
            issued_at: s.issued_at,
            paid_at: s.paid_at,
            payment_reference: s.payment_reference.as_ref().map(|r| r.as_str().to_owned()),
            total: money(s.total().gross),
            amount_due: money(s.amount_due()),
            lines: s
                .lines
                .iter()
                .map(|l| InvoiceLineView {
                    event_id: l.event_id.as_uuid(),
                    conversion_id: l.conversion_id.as_uuid(),
                    order_id: l.order_id.as_str().to_owned(),
                    kind: if l.is_credit() { "credit" } else { "charge" },
                    influencer_id: l.influencer_id.as_uuid(),
                    gross_commission: money(l.split.gross),
                    platform_fee: money(l.split.platform_fee),
                    influencer_share: money(l.split.influencer_earnings),
                    occurred_at: l.occurred_at,
                })
                .collect(),
        }
    }
}

/// A page of the merchant's statements, with what it owes on all of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceList {
    /// This page, oldest first.
    pub items: Vec<InvoiceView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
    /// What the merchant owes on every issued statement (not just this page).
    #[schema(value_type = String, example = "9.00")]
    pub amount_due: Decimal,
    /// The currency of the amounts: the merchant's settlement currency.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: skinstack_core::Currency,
}

/// The caller's merchant statements (invoices) and what it owes.
#[utoipa::path(
    get,
    path = "/v1/merchant/invoices",
    tag = "invoices",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of statements", body = InvoiceList),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<InvoiceList>> {
    let page = query.page(StatementId::from_uuid)?;
    let items = invoices::merchant_statements(&*state.store, &auth.actor, page).await?;
    let (currency, amount_due) = invoices::merchant_amount_due(&*state.store, &auth.actor).await?;
    let next_after = page.next_cursor(&items, |s| s.id).map(|id| id.as_uuid());
    Ok(axum::Json(InvoiceList {
        items: items.into_iter().map(InvoiceView::from).collect(),
        next_after,
        amount_due: money(amount_due),
        currency,
    }))
}

/// One of the caller's statements, with its lines.
#[utoipa::path(
    get,
    path = "/v1/merchant/invoices/{id}",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement", body = InvoiceView),
        Session, Forbidden,
        (status = 404, description = "No such statement, or not yours", body = ErrorBody),
    )
)]
async fn show(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<InvoiceView>> {
    let s = invoices::merchant_statement(&*state.store, &auth.actor, StatementId::from_uuid(id))
        .await?;
    Ok(axum::Json(s.into()))
}

/// One of the caller's statements as CSV (formula-like order ids made inert).
#[utoipa::path(
    get,
    path = "/v1/merchant/invoices/{id}/csv",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement's lines", content_type = "text/csv", body = String),
        Session, Forbidden,
        (status = 404, description = "No such statement, or not yours", body = ErrorBody),
    )
)]
async fn export_csv(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse> {
    let s = invoices::merchant_statement(&*state.store, &auth.actor, StatementId::from_uuid(id))
        .await?;
    let written = statement_csv(&s).map_err(|err| Error::Internal(err.into()))?;
    Ok(csv_attachment(&s, written))
}

/// `statement` as CSV: core's columns ([`invoice::CSV_HEADER`]) and rows, the one writer the
/// API, the dashboard and the server's `invoices export` share.
pub fn statement_csv(statement: &MerchantStatement) -> std::result::Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(invoice::CSV_HEADER)?;
    for row in invoice::csv_rows(statement) {
        out.write_record(&row)?;
    }
    out.into_inner().map_err(|err| err.into_error().into())
}

/// A CSV download of `statement`, named after it.
pub(crate) fn csv_attachment(statement: &MerchantStatement, csv: Vec<u8>) -> impl IntoResponse {
    csv_download(&format!("statement-{}.csv", statement.id), csv)
}

/// Which month's statements to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The month billed; it must have started.
    #[schema(value_type = skinstack_core::BillingPeriod, example = "2026-03")]
    pub period: String,
    /// Only this merchant (every merchant with unbilled commissions when absent).
    pub merchant_id: Option<Uuid>,
}

/// What issuing did for one merchant.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedView {
    /// The merchant.
    pub merchant_id: Uuid,
    /// `issued` (new), `existing` (issued before: nothing billed twice) or `nothing_to_bill`.
    #[schema(example = "issued")]
    pub outcome: &'static str,
    /// The statement, unless there was nothing to bill.
    pub statement: Option<InvoiceView>,
}

/// Issues a month's merchant statements (administrators); idempotent.
#[utoipa::path(
    post,
    path = "/v1/admin/invoices",
    tag = "invoices",
    security(("bearer" = [])),
    request_body = IssueRequest,
    responses(
        (status = 200, description = "One result per merchant", body = Vec<IssuedView>),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such merchant", body = ErrorBody),
        (status = 422, description = "An invalid period, or a month that has not started", body = ErrorBody),
    )
)]
async fn issue(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<IssueRequest>,
) -> Result<axum::Json<Vec<IssuedView>>> {
    let mut c = Check::default();
    let period = c.req("period", BillingPeriod::parse(&body.period));
    let period = c.finish(period)?;
    let merchant = body.merchant_id.map(MerchantId::from_uuid);
    let issued =
        invoices::admin_create_statements(&*state.store, &auth.actor, period, merchant, Utc::now())
            .await?;
    Ok(axum::Json(
        issued
            .into_iter()
            .map(|(merchant_id, issue)| {
                let (outcome, statement) = match issue {
                    StatementIssue::Issued(s) => ("issued", Some(s.into())),
                    StatementIssue::Existing(s) => ("existing", Some(s.into())),
                    StatementIssue::NothingToBill => ("nothing_to_bill", None),
                };
                IssuedView {
                    merchant_id: merchant_id.as_uuid(),
                    outcome,
                    statement,
                }
            })
            .collect(),
    ))
}

/// The merchant's payment of a statement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// The payment's reference (a transfer id).
    #[schema(value_type = skinstack_core::PaymentReference, example = "WIRE-2026-04-02-0017")]
    pub reference: String,
}

/// Records a merchant's payment of a statement (administrators): its commissions become
/// payable to influencers. A statement paid before is returned unchanged.
#[utoipa::path(
    post,
    path = "/v1/admin/invoices/{id}/paid",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Statement id")),
    request_body = PaymentRequest,
    responses(
        (status = 200, description = "The statement, paid", body = InvoiceView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such statement", body = ErrorBody),
    )
)]
async fn mark_paid(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<PaymentRequest>,
) -> Result<axum::Json<InvoiceView>> {
    let mut c = Check::default();
    let reference = c.req("reference", PaymentReference::parse(&body.reference));
    let reference = c.finish(reference)?;
    let paid = invoices::admin_mark_statement_paid(
        &*state.store,
        &auth.actor,
        StatementId::from_uuid(id),
        &reference,
        Utc::now(),
    )
    .await?;
    let (MarkPaid::Marked(s) | MarkPaid::AlreadyPaid(s)) = paid;
    Ok(axum::Json(s.into()))
}
