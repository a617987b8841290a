//! Breakdowns: clicks, conversions and what they were worth, split by one dimension (source,
//! device, country, ...), for an influencer's link or all their links, and for a merchant's
//! program or all its programs; as JSON, or as CSV with `?format=csv`.
//!
//! Core computes every figure ([`skinstack_core::service::analytics`]); this module only reads
//! the request, writes amounts as the rest of the API does, and lays the rows out as CSV.

use crate::error::{Error, ErrorBody, Result};
use crate::extract::{AuthUser, Path, Query};
use crate::responses::{Forbidden, QueryErrors, Session};
use crate::routes::statements::DayQuery;
use crate::routes::{csv_download, money};
use crate::state::ApiState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::export::spreadsheet_cell;
use skinstack_core::service::analytics::{self, Breakdown};
use skinstack_core::service::statements::DayRange;
use skinstack_core::tracking::breakdown::{BreakdownRow, MoneyFigures, RATE_PLACES};
use skinstack_core::tracking::Dimension;
use skinstack_core::{Currency, LinkId, ProgramId};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(link_breakdown))
        .routes(routes!(influencer_breakdown))
        .routes(routes!(program_breakdown))
        .routes(routes!(merchant_breakdown))
}

/// The OpenAPI schema of a dimension's name: exactly the names [`Dimension::parse`] takes,
/// listed from [`Dimension::ALL`].
pub struct DimensionName;

impl utoipa::PartialSchema for DimensionName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Dimension::ALL.iter().map(|d| d.as_str())))
            .description(Some(
                "What a breakdown splits by: source (link, qr; coupon for conversions), device, \
                 os, browser, platform (the in-app browser's app), country (ISO 3166-1 alpha-2), \
                 referrer (the referring page's registrable domain), link, product or member \
                 (the influencer)",
            ))
            .into()
    }
}

impl ToSchema for DimensionName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Dimension")
    }
}

/// The dimension a path names; any other name is 404, as a path naming nothing is, with the
/// names that exist in the message.
fn dimension(name: &str) -> Result<Dimension> {
    Dimension::parse(name).map_err(|_| {
        let known: Vec<&str> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
        Error::NotFound(format!(
            "no such dimension; expected one of: {}",
            known.join(", ")
        ))
    })
}

/// What a breakdown is answered as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BreakdownFormat {
    /// JSON: a [`BreakdownView`].
    #[default]
    Json,
    /// A download: [`CSV_HEADER`], one line per value and currency.
    Csv,
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv`: UTC days, both inclusive, as the daily series
/// takes them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreakdownQuery {
    /// The first day; if absent, the range is the 30 days ending with `to`.
    #[param(schema_with = skinstack_core::openapi::day)]
    pub from: Option<String>,
    /// The last day; today (UTC) if absent.
    #[param(schema_with = skinstack_core::openapi::day)]
    pub to: Option<String>,
    /// `json` (if absent) or `csv`: the same rows as a download.
    #[param(inline)]
    pub format: Option<BreakdownFormat>,
}

impl BreakdownQuery {
    /// The days asked for, by the daily series' rule (defaults, bounds and messages alike).
    fn range(&self, today: NaiveDate) -> Result<DayRange> {
        DayQuery {
            from: self.from.clone(),
            to: self.to.clone(),
        }
        .range(today)
    }
}

/// One breakdown: a row per value of `dimension` over `from..=to` (UTC days), most human
/// clicks first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownView {
    /// What the rows split by.
    #[schema(value_type = DimensionName)]
    pub dimension: Dimension,
    /// The first day.
    #[schema(value_type = String, format = Date, example = "2026-03-01")]
    pub from: NaiveDate,
    /// The last day, inclusive.
    #[schema(value_type = String, format = Date, example = "2026-03-30")]
    pub to: NaiveDate,
    /// At most 100 values, most human clicks first (then most conversions, then by value);
    /// beyond them, one row valued `*` sums the rest.
    pub rows: Vec<BreakdownRowView>,
}

/// One value of a breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownRowView {
    /// The dimension's value: `none` where the click or conversion had none (no country, no
    /// referer, a conversion by coupon), `*` for the sum of the values beyond the first 100.
    #[schema(example = "instagram")]
    pub value: String,
    /// The slug, product name or influencer name behind a `link`, `product` or `member`
    /// value, while it exists; `null` otherwise.
    pub label: Option<String>,
    /// Human clicks (robots are never counted here).
    pub clicks: i64,
    /// Human clicks through the QR code: a part of `clicks`.
    pub qr_scans: i64,
    /// Robot hits, apart from `clicks`.
    pub robot_hits: i64,
    /// Conversions ordered in the range, net of refunds, in every currency.
    pub conversions: i64,
    /// `conversions / clicks` as a decimal string at 4 places (`"0.0125"` is 1.25 %); `null`
    /// without human clicks.
    #[schema(value_type = Option<String>, example = "0.0125")]
    pub conversion_rate: Option<Decimal>,
    /// One entry per currency with conversions, by code.
    pub money: Vec<MoneyView>,
}

/// What one value's conversions in one currency were worth (decimal strings, net of refunds).
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyView {
    /// The currency of the amounts.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: Currency,
    /// Conversions in this currency.
    pub conversions: i64,
    /// Their amounts.
    #[schema(value_type = String, example = "45.00")]
    pub revenue: Decimal,
    /// Their gross commission: what the merchant owes.
    #[schema(value_type = String, example = "9.00")]
    pub commission: Decimal,
    /// The influencers' share of it.
    #[schema(value_type = String, example = "7.20")]
    pub earnings: Decimal,
    /// Earnings per 100 human clicks (EPC), rounded half to even to the currency's minor
    /// unit; `null` without human clicks.
    #[schema(value_type = Option<String>, example = "360.00")]
    pub epc: Option<Decimal>,
}

impl From<Breakdown> for BreakdownView {
    fn from(b: Breakdown) -> Self {
        Self {
            dimension: b.dimension,
            from: b.from,
            to: b.to,
            rows: b.rows.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<BreakdownRow> for BreakdownRowView {
    fn from(r: BreakdownRow) -> Self {
        Self {
            value: r.value,
            label: r.label,
            clicks: r.clicks,
            qr_scans: r.qr_scans,
            robot_hits: r.robot_hits,
            conversions: r.conversions,
            conversion_rate: r.conversion_rate.map(|mut rate| {
                // Every rate at the same places, so "0.5000" and "0.0125" line up.
                rate.rescale(RATE_PLACES);
                rate
            }),
            money: r.money.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<MoneyFigures> for MoneyView {
    fn from(m: MoneyFigures) -> Self {
        Self {
            currency: m.currency,
            conversions: m.conversions,
            revenue: money(m.revenue),
            commission: money(m.commission),
            earnings: money(m.earnings),
            epc: m.epc.map(money),
        }
    }
}

/// The columns of a breakdown's CSV. Those before `currency` are the value's own (all its
/// currencies together) and repeat on each of its currency's lines; the rest are that
/// currency's.
pub const CSV_HEADER: [&str; 12] = [
    "value",
    "label",
    "clicks",
    "qr_scans",
    "robot_hits",
    "conversions",
    "conversion_rate",
    "currency",
    "revenue",
    "commission",
    "earnings",
    "epc",
];

/// `view` as CSV: [`CSV_HEADER`], then one line per value and currency, in the rows' order; a
/// value without conversions is one line whose money cells are empty, as is a `null` rate or
/// EPC. Values and labels can be anyone's text (a referring domain, a product's name), so
/// they go through [`spreadsheet_cell`]; the figures are ours and stay numbers a spreadsheet
/// can sum.
pub fn breakdown_csv(view: &BreakdownView) -> std::result::Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    let figure = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    for row in &view.rows {
        let value = [
            spreadsheet_cell(&row.value).into_owned(),
            spreadsheet_cell(row.label.as_deref().unwrap_or("")).into_owned(),
            row.clicks.to_string(),
            row.qr_scans.to_string(),
            row.robot_hits.to_string(),
            row.conversions.to_string(),
            figure(row.conversion_rate),
        ];
        if row.money.is_empty() {
            out.write_record(value.iter().map(String::as_str).chain([""; 5]))?;
        }
        for m in &row.money {
            let money = [
                m.currency.to_string(),
                m.revenue.to_string(),
                m.commission.to_string(),
                m.earnings.to_string(),
                figure(m.epc),
            ];
            out.write_record(value.iter().chain(&money))?;
        }
    }
    out.into_inner().map_err(|err| err.into_error().into())
}

/// `breakdown` as the query asked: JSON, or a CSV download named after `scope`, the dimension
/// and the days.
fn answer(breakdown: Breakdown, format: BreakdownFormat, scope: &str) -> Result<Response> {
    let view = BreakdownView::from(breakdown);
    match format {
        BreakdownFormat::Json => Ok(axum::Json(view).into_response()),
        BreakdownFormat::Csv => {
            let csv = breakdown_csv(&view).map_err(|err| Error::Internal(err.into()))?;
            let filename = format!(
                "breakdown-{scope}-{}-{}-{}.csv",
                view.dimension, view.from, view.to
            );
            Ok(csv_download(&filename, csv).into_response())
        }
    }
}

/// One of the caller's links, split by `dimension`: clicks, conversions, revenue, commission,
/// earnings and EPC per value.
#[utoipa::path(
    get,
    path = "/v1/links/{id}/breakdowns/{dimension}",
    tag = "breakdowns",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Link id"),
        ("dimension" = DimensionName, Path, description = "What to split by"),
        BreakdownQuery,
    ),
    responses(
        (status = 200, description = "The breakdown (a CSV download with `format=csv`)", content(
            (BreakdownView = "application/json"),
            (String = "text/csv"),
        )),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such link or dimension, or not your link", body = ErrorBody),
        (status = 422, description = "Invalid dates, dates outside 1970-01-01..=9999-12-31, to before from, or more than 366 days", body = ErrorBody),
    )
)]
async fn link_breakdown(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path((id, name)): Path<(Uuid, String)>,
    Query(query): Query<BreakdownQuery>,
) -> Result<Response> {
    let dimension = dimension(&name)?;
    let range = query.range(state.now().date_naive())?;
    let link = LinkId::from_uuid(id);
    let b = analytics::link_breakdown(&*state.store, &auth.actor, link, dimension, range).await?;
    answer(b, query.format.unwrap_or_default(), &format!("link-{id}"))
}

/// All of the caller's links together, split by `dimension`.
#[utoipa::path(
    get,
    path = "/v1/influencer/breakdowns/{dimension}",
    tag = "breakdowns",
    security(("bearer" = [])),
    params(
        ("dimension" = DimensionName, Path, description = "What to split by"),
        BreakdownQuery,
    ),
    responses(
        (status = 200, description = "The breakdown (a CSV download with `format=csv`)", content(
            (BreakdownView = "application/json"),
            (String = "text/csv"),
        )),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such dimension, or no influencer profile", body = ErrorBody),
        (status = 422, description = "Invalid dates, dates outside 1970-01-01..=9999-12-31, to before from, or more than 366 days", body = ErrorBody),
    )
)]
async fn influencer_breakdown(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(name): Path<String>,
    Query(query): Query<BreakdownQuery>,
) -> Result<Response> {
    let dimension = dimension(&name)?;
    let range = query.range(state.now().date_naive())?;
    let b = analytics::influencer_breakdown(&*state.store, &auth.actor, dimension, range).await?;
    answer(b, query.format.unwrap_or_default(), "influencer")
}

/// One of the caller's merchant's programs, split by `dimension` (`member`: by influencer).
#[utoipa::path(
    get,
    path = "/v1/programs/{id}/breakdowns/{dimension}",
    tag = "breakdowns",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("dimension" = DimensionName, Path, description = "What to split by"),
        BreakdownQuery,
    ),
    responses(
        (status = 200, description = "The breakdown (a CSV download with `format=csv`)", content(
            (BreakdownView = "application/json"),
            (String = "text/csv"),
        )),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such program or dimension, or not your program", body = ErrorBody),
        (status = 422, description = "Invalid dates, dates outside 1970-01-01..=9999-12-31, to before from, or more than 366 days", body = ErrorBody),
    )
)]
async fn program_breakdown(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path((id, name)): Path<(Uuid, String)>,
    Query(query): Query<BreakdownQuery>,
) -> Result<Response> {
    let dimension = dimension(&name)?;
    let range = query.range(state.now().date_naive())?;
    let program = ProgramId::from_uuid(id);
    let b =
        analytics::program_breakdown(&*state.store, &auth.actor, program, dimension, range).await?;
    answer(
        b,
        query.format.unwrap_or_default(),
        &format!("program-{id}"),
    )
}

/// All of the caller's merchant's programs together, split by `dimension`.
#[utoipa::path(
    get,
    path = "/v1/merchant/breakdowns/{dimension}",
    tag = "breakdowns",
    security(("bearer" = [])),
    params(
        ("dimension" = DimensionName, Path, description = "What to split by"),
        BreakdownQuery,
    ),
    responses(
        (status = 200, description = "The breakdown (a CSV download with `format=csv`)", content(
            (BreakdownView = "application/json"),
            (String = "text/csv"),
        )),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such dimension, or no merchant profile", body = ErrorBody),
        (status = 422, description = "Invalid dates, dates outside 1970-01-01..=9999-12-31, to before from, or more than 366 days", body = ErrorBody),
    )
)]
async fn merchant_breakdown(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(name): Path<String>,
    Query(query): Query<BreakdownQuery>,
) -> Result<Response> {
    let dimension = dimension(&name)?;
    let range = query.range(state.now().date_naive())?;
    let b = analytics::merchant_breakdown(&*state.store, &auth.actor, dimension, range).await?;
    answer(b, query.format.unwrap_or_default(), "merchant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn row(value: &str, label: Option<&str>, money: Vec<MoneyView>) -> BreakdownRowView {
        BreakdownRowView {
            value: value.to_owned(),
            label: label.map(str::to_owned),
            clicks: 2,
            qr_scans: 1,
            robot_hits: 0,
            conversions: money.iter().map(|m| m.conversions).sum(),
            conversion_rate: Some(dec!(0.5000)),
            money,
        }
    }

    fn usd(earnings: Decimal) -> MoneyView {
        MoneyView {
            currency: Currency::USD,
            conversions: 1,
            revenue: dec!(45.00),
            commission: dec!(9.00),
            earnings,
            epc: None,
        }
    }

    #[test]
    fn a_value_has_a_line_per_currency_or_one_with_empty_money_cells() {
        let eur = MoneyView {
            currency: Currency::parse("EUR").expect("EUR"),
            ..usd(dec!(1.00))
        };
        let view = BreakdownView {
            dimension: Dimension::Product,
            from: NaiveDate::MIN,
            to: NaiveDate::MIN,
            rows: vec![
                row("a", Some("Serum"), vec![usd(dec!(7.20)), eur]),
                row("none", None, Vec::new()),
            ],
        };
        let csv = String::from_utf8(breakdown_csv(&view).expect("csv")).expect("UTF-8");
        assert_eq!(
            csv,
            "value,label,clicks,qr_scans,robot_hits,conversions,conversion_rate,currency,revenue,commission,earnings,epc\n\
             a,Serum,2,1,0,2,0.5000,USD,45.00,9.00,7.20,\n\
             a,Serum,2,1,0,2,0.5000,EUR,45.00,9.00,1.00,\n\
             none,,2,1,0,0,0.5000,,,,,\n"
        );
    }

    #[test]
    fn formula_like_values_and_labels_are_written_as_text() {
        let view = BreakdownView {
            dimension: Dimension::Referrer,
            from: NaiveDate::MIN,
            to: NaiveDate::MIN,
            rows: vec![row("-evil.example", Some("=1+1"), Vec::new())],
        };
        let csv = String::from_utf8(breakdown_csv(&view).expect("csv")).expect("UTF-8");
        assert_eq!(
            csv.lines().nth(1),
            Some("'-evil.example,'=1+1,2,1,0,0,0.5000,,,,,")
        );
    }

    #[test]
    fn an_unknown_dimension_is_a_404_naming_every_known_one() {
        let Err(Error::NotFound(message)) = dimension("Device") else {
            panic!("expected a 404");
        };
        for d in Dimension::ALL {
            assert!(message.contains(d.as_str()), "{message}");
        }
        assert_eq!(dimension("device").ok(), Some(Dimension::Device));
    }
}
