//! Statements from the commission ledger: an influencer's earnings, conversions and per-link
//! daily series; a merchant's conversions (or only the unattributed ones) and commissions.

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Check, Path, Query};
use crate::responses::{Forbidden, QueryErrors, Session};
use crate::routes::conversions::{ConversionView, SplitView};
use crate::routes::{money, PageQuery};
use crate::state::ApiState;
use axum::extract::State;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::earning::ledger::{
    ConversionFilter, ConversionStatus, ConversionView as LedgerConversion, EarningsSummary,
};
use skinstack_core::error::Invalid;
use skinstack_core::service::statements::{self, DayRange};
use skinstack_core::Page;
use skinstack_core::{ConversionId, Currency, LinkId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Days a daily series covers when `from` is not given.
pub const DEFAULT_SERIES_DAYS: i64 = 30;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(influencer_earnings))
        .routes(routes!(influencer_conversions))
        .routes(routes!(link_daily))
        .routes(routes!(merchant_conversions))
        .routes(routes!(merchant_commissions))
}

/// An influencer's earnings, net of refunds (decimal strings): the top-level amounts are in
/// their primary `currency` (that of their first earning; USD before it), and `balances` has
/// one entry per currency they earn in. Amounts of two currencies are never added.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsView {
    /// The primary currency's balance, as below.
    #[serde(flatten)]
    pub primary: BalanceView,
    /// One balance per currency, by code.
    pub balances: Vec<BalanceView>,
}

/// An influencer's earnings in one currency, net of refunds (decimal strings).
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The currency of every amount.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: Currency,
    /// On conversions still in their hold period.
    #[schema(value_type = String, example = "7.20")]
    pub pending: Decimal,
    /// Approved and funded (the merchant paid its statement), not yet paid out: what the
    /// next payout pays (negative when refunds after a payout exceed new approvals: carried
    /// into the next payout).
    #[schema(value_type = String, example = "0.00")]
    pub approved: Decimal,
    /// Approved, awaiting the merchant: not payable until the merchant's statement is paid.
    #[schema(value_type = String, example = "0.00")]
    pub awaiting_merchant: Decimal,
    /// Paid out.
    #[schema(value_type = String, example = "0.00")]
    pub paid: Decimal,
    /// Earned and not yet paid: `pending + awaiting_merchant + approved`.
    #[schema(value_type = String, example = "7.20")]
    pub balance: Decimal,
}

/// A merchant's commissions, gross (decimal strings), in its settlement currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommissionsView {
    /// The merchant's settlement currency, which every amount is in.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: Currency,
    /// Still in the hold period.
    #[schema(value_type = String, example = "9.00")]
    pub pending: Decimal,
    /// Approved, not yet paid for (billed on a statement or not).
    #[schema(value_type = String, example = "0.00")]
    pub approved: Decimal,
    /// Owed in all: `pending + approved`.
    #[schema(value_type = String, example = "9.00")]
    pub owed: Decimal,
    /// Paid for: on merchant statements marked paid.
    #[schema(value_type = String, example = "0.00")]
    pub paid: Decimal,
    /// Orders recorded without attribution.
    pub unattributed_orders: i64,
    /// Their amounts, net of refunds.
    #[schema(value_type = String, example = "0.00")]
    pub unattributed_sales: Decimal,
}

/// Where a conversion's commission stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusView {
    /// No link credited: no commission.
    Unattributed,
    /// In its hold period.
    Pending,
    /// Held for review (see `hold_reasons`): never approved until released.
    Held,
    /// Its commission was voided: it earns nothing.
    Voided,
    /// Approved; some of it not yet paid out.
    Approved,
    /// Approved and paid out.
    Paid,
}

/// A conversion in a statement, with where its commission stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementConversionView {
    /// The conversion.
    #[serde(flatten)]
    pub conversion: ConversionView,
    /// Its commission net of refunds.
    pub net_commission: SplitView,
    /// What of it was paid out.
    pub paid_commission: SplitView,
    /// Where it stands.
    pub status: StatusView,
}

impl From<LedgerConversion> for StatementConversionView {
    fn from(v: LedgerConversion) -> Self {
        Self {
            conversion: v.conversion.into(),
            net_commission: v.net_commission.into(),
            paid_commission: v.paid_commission.into(),
            status: match v.status {
                ConversionStatus::Unattributed => StatusView::Unattributed,
                ConversionStatus::Pending => StatusView::Pending,
                ConversionStatus::Held => StatusView::Held,
                ConversionStatus::Voided => StatusView::Voided,
                ConversionStatus::Approved => StatusView::Approved,
                ConversionStatus::Paid => StatusView::Paid,
            },
        }
    }
}

/// A page of conversions, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionPageView {
    /// The conversions.
    pub items: Vec<StatementConversionView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<Uuid>,
}

fn conversion_page(items: Vec<LedgerConversion>, page: Page<ConversionId>) -> ConversionPageView {
    let next_after = page
        .next_cursor(&items, |v| v.conversion.id)
        .map(|id| id.as_uuid());
    ConversionPageView {
        items: items.into_iter().map(Into::into).collect(),
        next_after,
    }
}

impl PageQuery {
    fn conversion_page(&self) -> Result<Page<ConversionId>> {
        self.page(ConversionId::from_uuid)
    }
}

/// One UTC day of a link.
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyView {
    /// The day.
    #[schema(value_type = String, format = Date, example = "2026-03-01")]
    pub day: NaiveDate,
    /// Human clicks that day.
    pub clicks: i64,
    /// Conversions ordered that day.
    pub conversions: i64,
    /// Their amounts net of refunds (decimal string).
    #[schema(value_type = String, example = "45.00")]
    pub revenue: Decimal,
    /// Their gross commission net of refunds (decimal string).
    #[schema(value_type = String, example = "9.00")]
    pub commission: Decimal,
    /// The influencer's share of that commission, net of refunds (decimal string).
    #[schema(value_type = String, example = "7.20")]
    pub earnings: Decimal,
    /// The currency of the amounts: the link's merchant's.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: Currency,
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD`: UTC days, both inclusive.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The first day; if absent, the range is the 30 days ending with `to`.
    #[param(schema_with = skinstack_core::openapi::day)]
    pub from: Option<String>,
    /// The last day; today (UTC) if absent.
    #[param(schema_with = skinstack_core::openapi::day)]
    pub to: Option<String>,
}

/// Exactly `YYYY-MM-DD`, as the document's `format: date` says: chrono alone would also take
/// unpadded fields and a sign, and a trim would take white space the format refuses.
fn date(value: &str) -> Result<NaiveDate, Invalid> {
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or(Invalid::Format("a date such as 2026-03-01"))
}

impl DayQuery {
    /// The days asked for: 422 naming `from` or `to` for a malformed or out-of-span date, and
    /// for a reversed or too long range (see [`DayRange::new`]).
    pub(crate) fn range(&self, today: NaiveDate) -> Result<DayRange> {
        let mut c = Check::default();
        let from = c.opt("from", self.from.as_deref(), date);
        let to = c.opt("to", self.to.as_deref(), date);
        let (from, to) = c.finish((from, to))?;
        let to = to.unwrap_or(today);
        Ok(match from {
            Some(from) => DayRange::new(from, to)?,
            None => DayRange::last(DEFAULT_SERIES_DAYS, to)?,
        })
    }
}

/// `?limit&after&unattributed=true`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MerchantConversionsQuery {
    /// Page size, 1–100 (50 if absent).
    #[param(schema_with = skinstack_core::openapi::page_limit)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
    /// Only orders attributed to no link.
    pub unattributed: Option<bool>,
}

/// The caller's earnings: pending, approved, paid and balance.
#[utoipa::path(
    get,
    path = "/v1/influencer/earnings",
    tag = "statements",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's earnings", body = EarningsView),
        Session, Forbidden,
        (status = 404, description = "No influencer profile", body = ErrorBody),
    )
)]
async fn influencer_earnings(
    State(state): State<ApiState>,
    auth: AuthUser,
) -> Result<axum::Json<EarningsView>> {
    let (primary, all) = statements::influencer_earnings(&*state.store, &auth.actor).await?;
    let view = |e: &EarningsSummary| BalanceView {
        currency: e.currency,
        pending: money(e.pending),
        approved: money(e.approved),
        awaiting_merchant: money(e.awaiting_merchant),
        paid: money(e.paid),
        balance: money(e.balance),
    };
    Ok(axum::Json(EarningsView {
        primary: view(&primary),
        balances: all.iter().map(view).collect(),
    }))
}

/// The conversions attributed to the caller's links, oldest first.
#[utoipa::path(
    get,
    path = "/v1/influencer/conversions",
    tag = "statements",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of conversions", body = ConversionPageView),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No influencer profile", body = ErrorBody),
    )
)]
async fn influencer_conversions(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<ConversionPageView>> {
    let page = query.conversion_page()?;
    let items = statements::influencer_conversions(&*state.store, &auth.actor, page).await?;
    Ok(axum::Json(conversion_page(items, page)))
}

/// One of the caller's links, day by day: clicks, conversions, revenue, commission and the
/// caller's earnings.
#[utoipa::path(
    get,
    path = "/v1/links/{id}/daily",
    tag = "statements",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id"), DayQuery),
    responses(
        (status = 200, description = "One row per day, zeros included", body = Vec<DailyView>),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such link, or not yours", body = ErrorBody),
        (status = 422, description = "Invalid dates, dates outside 1970-01-01..=9999-12-31, to before from, or more than 366 days", body = ErrorBody),
    )
)]
async fn link_daily(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Query(query): Query<DayQuery>,
) -> Result<axum::Json<Vec<DailyView>>> {
    let range = query.range(state.now().date_naive())?;
    let (currency, days) =
        statements::link_daily_series(&*state.store, &auth.actor, LinkId::from_uuid(id), range)
            .await?;
    Ok(axum::Json(
        days.into_iter()
            .map(|d| DailyView {
                day: d.day,
                clicks: d.clicks,
                conversions: d.conversions,
                revenue: money(d.revenue),
                commission: money(d.commission),
                earnings: money(d.earnings),
                currency,
            })
            .collect(),
    ))
}

/// The caller's merchant's conversions (or only the unattributed ones), oldest first.
#[utoipa::path(
    get,
    path = "/v1/merchant/conversions",
    tag = "statements",
    security(("bearer" = [])),
    params(MerchantConversionsQuery),
    responses(
        (status = 200, description = "A page of conversions", body = ConversionPageView),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
    )
)]
async fn merchant_conversions(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<MerchantConversionsQuery>,
) -> Result<axum::Json<ConversionPageView>> {
    let page = PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .conversion_page()?;
    let filter = if query.unattributed.unwrap_or(false) {
        ConversionFilter::Unattributed
    } else {
        ConversionFilter::All
    };
    let items = statements::merchant_conversions(&*state.store, &auth.actor, filter, page).await?;
    Ok(axum::Json(conversion_page(items, page)))
}

/// The caller's merchant's commissions: pending, approved, owed, paid, and unattributed sales.
#[utoipa::path(
    get,
    path = "/v1/merchant/commissions",
    tag = "statements",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The merchant's commissions", body = CommissionsView),
        Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
    )
)]
async fn merchant_commissions(
    State(state): State<ApiState>,
    auth: AuthUser,
) -> Result<axum::Json<CommissionsView>> {
    let m = statements::merchant_commissions(&*state.store, &auth.actor).await?;
    Ok(axum::Json(CommissionsView {
        currency: m.currency,
        pending: money(m.pending),
        approved: money(m.approved),
        owed: money(m.owed),
        paid: money(m.paid),
        unattributed_orders: m.unattributed_orders,
        unattributed_sales: money(m.unattributed_sales),
    }))
}
