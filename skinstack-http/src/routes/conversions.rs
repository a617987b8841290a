//! Orders and refunds reported by a merchant's own back end with a merchant API key
//! (`Authorization: Bearer ssk_...`). Both are idempotent: the same order (or refund) again is
//! 200 with what was stored, never a second record; the same id with another amount is 409.

use crate::error::{ErrorBody, Result};
use crate::extract::{Check, Checked, DecimalInput, Json, MerchantKey};
use crate::responses::{JsonBody, MerchantKeyAuth};
use crate::routes::money;
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::domain::AttributedBy;
use skinstack_core::earning::attribution::ClickRejection;
use skinstack_core::error::Invalid;
use skinstack_core::service::conversions::{
    record_conversion_within, record_refund, RecordConversion, RecordRefund,
};
use skinstack_core::{
    CampaignCode, ClickId, CommissionSplit, Conversion, Currency, Email, ExternalId, FraudSignal,
    HoldReason, Money, ShopRef,
};
use std::net::IpAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Most product ids one order may list: core's rule, for the API's and the webhook's orders.
pub use skinstack_core::service::conversions::MAX_PRODUCTS_PER_ORDER;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(record))
        .routes(routes!(refund))
}

/// `POST /v1/conversions`: an order as the merchant's shop saw it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionRequest {
    /// The shop's order id (1–255 characters); one conversion per order id.
    #[schema(value_type = skinstack_core::ShopRef, example = "1001")]
    pub order_id: String,
    /// The subtotal commission is computed on (after discounts, before tax and shipping): a
    /// decimal string (preferred) or number, at most two decimal places.
    #[schema(value_type = skinstack_core::Price, example = "45.00")]
    pub amount: DecimalInput,
    /// ISO 4217 code; only `USD` is accepted.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: String,
    /// When the shopper ordered (RFC 3339).
    #[schema(value_type = String, format = DateTime, example = "2026-03-01T12:00:00Z")]
    pub ordered_at: String,
    /// The `ssclid` the shopper arrived with.
    #[schema(value_type = Option<Uuid>)]
    pub click_id: Option<String>,
    /// The coupon used; a link's campaign code attributes the order to it.
    #[schema(value_type = Option<skinstack_core::CampaignCode>)]
    pub coupon_code: Option<String>,
    /// The products ordered, by the shop's ids (at most 250).
    #[serde(default)]
    #[schema(value_type = Vec<skinstack_core::ExternalId>, max_items = 250)]
    pub product_external_ids: Vec<String>,
    /// The customer's email, if known: an order whose customer is the credited influencer
    /// (compared without case or `+tag`) is held as a self-referral. Compared, never stored.
    #[schema(value_type = Option<skinstack_core::Email>)]
    pub customer_email: Option<String>,
    /// The address the shopper ordered from, if known (Shopify's `browser_ip`): an order whose
    /// network differs from the attributing click's is held as a shopper mismatch. Compared,
    /// never stored.
    #[schema(schema_with = ip_address, example = "203.0.113.10")]
    pub shopper_ip: Option<String>,
}

/// An IPv4 or IPv6 address in its standard text form, what [`ip`] parses.
fn ip_address() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let form = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    OneOfBuilder::new()
        .item(form(KnownFormat::Ipv4))
        .item(form(KnownFormat::Ipv6))
        .build()
        .into()
}

/// `POST /v1/refunds`: part or all of a reported order refunded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The refunded order's id.
    #[schema(value_type = skinstack_core::ShopRef, example = "1001")]
    pub order_id: String,
    /// The shop's refund id; one refund per id.
    #[schema(value_type = skinstack_core::ShopRef, example = "r-1")]
    pub refund_id: String,
    /// How much of the order's subtotal is refunded (decimal string or number).
    #[schema(value_type = skinstack_core::Money, example = "15.00")]
    pub amount: DecimalInput,
}

/// How a commission divides (decimal strings; negative for a reversal).
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitView {
    /// The whole commission the merchant owes.
    #[schema(value_type = String, example = "9.00")]
    pub gross: Decimal,
    /// The platform's share.
    #[schema(value_type = String, example = "1.80")]
    pub platform_fee: Decimal,
    /// The influencer's share.
    #[schema(value_type = String, example = "7.20")]
    pub influencer_earnings: Decimal,
}

impl From<CommissionSplit> for SplitView {
    fn from(s: CommissionSplit) -> Self {
        Self {
            gross: money(s.gross),
            platform_fee: money(s.platform_fee),
            influencer_earnings: money(s.influencer_earnings),
        }
    }
}

/// What attributed an order.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributedByView {
    /// The shopper's click on the link, within the program's cookie window.
    Click,
    /// The order's coupon is the link's campaign code.
    Coupon,
}

/// The link credited with an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributionView {
    /// The link.
    pub link_id: Uuid,
    /// Its influencer.
    pub influencer_id: Uuid,
    /// Its program.
    pub program_id: Uuid,
    /// The rule that decided it.
    pub by: AttributedByView,
}

/// A recorded order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionView {
    /// Its id.
    pub id: Uuid,
    /// The shop's order id.
    pub order_id: String,
    /// The subtotal (decimal string).
    #[schema(value_type = String, example = "45.00")]
    pub amount: Decimal,
    /// `USD`.
    pub currency: String,
    /// When the shopper ordered.
    pub ordered_at: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The click id reported, attributed or not.
    pub click_id: Option<String>,
    /// The coupon reported, attributed or not.
    pub coupon_code: Option<String>,
    /// The products ordered.
    pub product_external_ids: Vec<String>,
    /// The link credited; `null` for an unattributed order (kept, earns nothing).
    pub attribution: Option<AttributionView>,
    /// The commission accrued when recorded, before refunds.
    pub commission: SplitView,
    /// When the commission may be approved.
    pub hold_until: Option<DateTime<Utc>>,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// Refunded so far (decimal string).
    #[schema(value_type = String, example = "0.00")]
    pub refunded_amount: Decimal,
    /// Every reason its commission was held for, sorted (kept after a release or a void).
    #[schema(example = json!(["order_above_maximum"]))]
    pub hold_reasons: Vec<HoldReason>,
    /// The fraud signals that fired when it was recorded, sorted; each but `click_reuse` holds
    /// the commission.
    #[schema(example = json!(["click_reuse"]))]
    pub signals: Vec<FraudSignal>,
    /// Since when its commission is held for review, while it is: never approved until
    /// released.
    pub held_at: Option<DateTime<Utc>>,
    /// When its commission was voided (it earns nothing).
    pub voided_at: Option<DateTime<Utc>>,
}

impl From<Conversion> for ConversionView {
    fn from(c: Conversion) -> Self {
        Self {
            id: c.id.as_uuid(),
            order_id: c.order_id.as_str().to_owned(),
            amount: money(c.amount.amount()),
            currency: c.currency.as_str().to_owned(),
            ordered_at: c.ordered_at,
            recorded_at: c.recorded_at,
            click_id: c.click_id.map(|id| id.to_string()),
            coupon_code: c.coupon_code.map(|code| code.as_str().to_owned()),
            product_external_ids: c
                .product_external_ids
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect(),
            attribution: c.attribution.map(|a| AttributionView {
                link_id: a.link_id.as_uuid(),
                influencer_id: a.influencer_id.as_uuid(),
                program_id: a.program_id.as_uuid(),
                by: match a.by {
                    AttributedBy::Click { .. } => AttributedByView::Click,
                    AttributedBy::Coupon { .. } => AttributedByView::Coupon,
                },
            }),
            commission: c.commission.into(),
            hold_until: c.hold_until,
            approved_at: c.approved_at,
            refunded_amount: money(c.refunded_amount.amount()),
            hold_reasons: c.hold_reasons,
            signals: c.signals,
            held_at: c.held_at,
            voided_at: c.voided_at,
        }
    }
}

/// Why a reported click id did not attribute the order.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClickRejectedView {
    /// No such click was recorded.
    Unknown,
    /// The click was on another merchant's link.
    OtherMerchant,
    /// A robot made it.
    Bot,
    /// It came after the order.
    AfterOrder,
    /// It is older than the program's cookie window.
    OutsideWindow,
    /// The order was placed before the clicked link was created.
    BeforeLink,
    /// The click had already attributed as many orders as one click may (signal
    /// `click_reuse`).
    Reused,
}

impl From<ClickRejection> for ClickRejectedView {
    fn from(r: ClickRejection) -> Self {
        match r {
            ClickRejection::Unknown => Self::Unknown,
            ClickRejection::OtherMerchant => Self::OtherMerchant,
            ClickRejection::Bot => Self::Bot,
            ClickRejection::AfterOrder => Self::AfterOrder,
            ClickRejection::OutsideWindow => Self::OutsideWindow,
            ClickRejection::BeforeLink => Self::BeforeLink,
            ClickRejection::Reused => Self::Reused,
        }
    }
}

/// The answer to `POST /v1/conversions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedView {
    /// The conversion as stored.
    #[serde(flatten)]
    pub conversion: ConversionView,
    /// Set when `click_id` was given but did not attribute the order (only on 201).
    pub click_rejected: Option<ClickRejectedView>,
}

/// The answer to `POST /v1/refunds`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    /// The shop's refund id.
    pub refund_id: String,
    /// The refunded order's id.
    pub order_id: String,
    /// The refunded conversion.
    pub conversion_id: Uuid,
    /// The amount refunded (decimal string).
    #[schema(value_type = String, example = "15.00")]
    pub amount: Decimal,
    /// Its currency: the order's.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The commission this request reversed (≤ 0); `null` for a repeated refund or an
    /// unattributed order.
    pub reversal: Option<SplitView>,
}

fn rfc3339(value: &str) -> Result<DateTime<Utc>, Invalid> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| Invalid::Format("an RFC 3339 date-time such as 2026-03-01T12:00:00Z"))
}

fn ip(value: &str) -> Result<IpAddr, Invalid> {
    // Exactly the schema's forms: no surrounding space, as a generated client never sends.
    value
        .parse()
        .map_err(|_| Invalid::Format("an IPv4 or IPv6 address such as 203.0.113.10"))
}

fn click_id(value: &str) -> Result<ClickId, Invalid> {
    ClickId::parse(value.trim()).ok_or(Invalid::Format("an ssclid issued by SkinStack (a UUIDv7)"))
}

/// Records an order reported by the key's merchant: attributed by `click_id` or
/// `coupon_code` to an influencer's link (or kept unattributed), its commission computed
/// with the program's split.
#[utoipa::path(
    post,
    path = "/v1/conversions",
    tag = "conversions",
    security(("merchant_api_key" = [])),
    request_body = ConversionRequest,
    responses(
        (status = 201, description = "Recorded", body = RecordedView),
        (status = 200, description = "Already recorded with this amount: nothing changed", body = RecordedView),
        JsonBody, MerchantKeyAuth,
        (status = 409, description = "The order id was recorded with another amount", body = ErrorBody),
        (status = 422, description = "Invalid fields, or a currency other than USD", body = ErrorBody),
    )
)]
async fn record(
    State(state): State<ApiState>,
    key: MerchantKey,
    Json(body): Json<ConversionRequest>,
) -> Result<(StatusCode, axum::Json<RecordedView>)> {
    let mut c = Check::default();
    let order_id = c.req("order_id", ShopRef::parse(&body.order_id));
    let amount = c.req("amount", Money::parse(&body.amount.text()));
    let currency = c.req("currency", Currency::parse(&body.currency));
    let ordered_at = c.req("ordered_at", rfc3339(&body.ordered_at));
    let click = c.opt("click_id", body.click_id.as_deref(), click_id);
    let coupon_code = c.opt(
        "coupon_code",
        body.coupon_code.as_deref(),
        CampaignCode::parse,
    );
    // Core refuses a list over the cap; parsing one id beyond it is enough for core to see it.
    let products: Checked<Vec<ExternalId>> = body
        .product_external_ids
        .iter()
        .take(MAX_PRODUCTS_PER_ORDER + 1)
        .enumerate()
        .map(|(i, id)| c.req(&format!("product_external_ids[{i}]"), ExternalId::parse(id)))
        .collect();
    let customer_email = c.opt(
        "customer_email",
        body.customer_email.as_deref(),
        Email::parse,
    );
    let shopper_ip = c.opt("shopper_ip", body.shopper_ip.as_deref(), ip);
    let (
        order_id,
        amount,
        currency,
        ordered_at,
        click_id,
        coupon_code,
        products,
        customer_email,
        shopper_ip,
    ) = c.finish((
        order_id,
        amount,
        currency,
        ordered_at,
        click,
        coupon_code,
        products,
        customer_email,
        shopper_ip,
    ))?;
    let recorded = record_conversion_within(
        &*state.store,
        Utc::now(),
        RecordConversion {
            merchant_id: key.merchant_id,
            order_id,
            amount,
            currency,
            ordered_at,
            click_id,
            coupon_code,
            product_external_ids: products,
            customer_email,
            shopper_ip,
        },
        state.order_rules,
    )
    .await?;
    let status = if recorded.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(RecordedView {
            conversion: recorded.conversion.into(),
            click_rejected: recorded.click_rejected.map(Into::into),
        }),
    ))
}

/// Records a refund of a reported order: the commission is reversed in proportion to the
/// amount refunded.
#[utoipa::path(
    post,
    path = "/v1/refunds",
    tag = "conversions",
    security(("merchant_api_key" = [])),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "Recorded", body = RefundView),
        (status = 200, description = "Already recorded with this order and amount: nothing changed", body = RefundView),
        JsonBody, MerchantKeyAuth,
        (status = 404, description = "The merchant never reported this order", body = ErrorBody),
        (status = 409, description = "The refund id was recorded for another order or amount", body = ErrorBody),
        (status = 422, description = "Invalid fields, or refunds beyond the order amount", body = ErrorBody),
        (status = 503, description = "Concurrent refunds of the order kept changing it; retry", body = ErrorBody),
    )
)]
async fn refund(
    State(state): State<ApiState>,
    key: MerchantKey,
    Json(body): Json<RefundRequest>,
) -> Result<(StatusCode, axum::Json<RefundView>)> {
    let mut c = Check::default();
    let order_id = c.req("order_id", ShopRef::parse(&body.order_id));
    let refund_id = c.req("refund_id", ShopRef::parse(&body.refund_id));
    let amount = c.req("amount", Money::parse(&body.amount.text()));
    let (order_id, refund_id, amount) = c.finish((order_id, refund_id, amount))?;
    let recorded = record_refund(
        &*state.store,
        Utc::now(),
        RecordRefund {
            merchant_id: key.merchant_id,
            order_id: order_id.clone(),
            refund_id,
            amount,
            // The API's refunds are of an order, in its currency by definition.
            currency: None,
        },
    )
    .await?;
    let status = if recorded.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let r = recorded.refund;
    // An order is in its merchant's currency, fixed once it has one.
    let currency = state
        .store
        .merchant_by_id(key.merchant_id)
        .await
        .map_err(skinstack_core::service::ServiceError::from)?
        .currency;
    Ok((
        status,
        axum::Json(RefundView {
            refund_id: r.refund_id.as_str().to_owned(),
            order_id: order_id.as_str().to_owned(),
            conversion_id: r.conversion_id.as_uuid(),
            amount: money(r.amount.amount()),
            currency: currency.to_string(),
            recorded_at: r.recorded_at,
            reversal: recorded.reversal.map(Into::into),
        }),
    ))
}
