//! The API's routes, one module per group; [`api_routes`] joins them with their OpenAPI
//! description, so a route cannot exist without being documented.

pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod breakdowns;
pub mod conversions;
pub mod coupon_codes;
pub mod holds;
pub mod invoices;
pub mod links;
pub mod memberships;
pub mod ops;
pub mod products;
pub mod profiles;
pub mod programs;
pub mod statements;
pub mod webhooks;

use crate::error::{Error, ErrorBody};
use crate::state::ApiState;
use axum::http::header;
use axum::response::IntoResponse;
use rust_decimal::Decimal;
use serde::Deserialize;
use skinstack_core::{Page, ValidationError};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

/// Paging for lists: `?limit=50&after=<id>`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–100 (50 if absent).
    #[param(schema_with = skinstack_core::openapi::page_limit)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

impl PageQuery {
    pub(crate) fn page<Id>(&self, id: impl Fn(Uuid) -> Id) -> Result<Page<Id>, Error> {
        Page::new(
            self.limit.unwrap_or(Page::<Id>::DEFAULT_LIMIT),
            self.after.map(id),
        )
        .map_err(|reason| Error::invalid(&ValidationError::new("limit", reason)))
    }
}

/// An amount of money as the API writes it: a decimal string with exactly two places
/// (`"0.00"`, `"9.00"`), whichever store computed it and however it summed.
pub(crate) fn money(mut amount: Decimal) -> Decimal {
    amount.rescale(2);
    amount
}

/// A CSV download named `filename`: every CSV the API answers is UTF-8 and an attachment.
pub(crate) fn csv_download(filename: &str, csv: Vec<u8>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv,
    )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SkinStack API",
        description = "Influencer affiliate platform for skincare brands: accounts, profiles, programs, products, tracking links, conversions and the statements of the commissions they earn.",
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "profiles", description = "Influencer and merchant profiles"),
        (name = "programs", description = "Commission programs"),
        (name = "products", description = "Merchants' catalogues"),
        (name = "links", description = "Influencers' tracking links"),
        (name = "memberships", description = "Program enrollment: the directory, applications, members, invitations"),
        (name = "api_keys", description = "Merchants' API keys, for reporting orders and refunds"),
        (name = "conversions", description = "Orders and refunds reported with a merchant API key"),
        (name = "coupon_codes", description = "Coupon codes owned by one influencer's link, assigned by the merchant"),
        (name = "holds", description = "Commission holds: hold, release or void a commission; the merchant's maximum order amount"),
        (name = "statements", description = "Earnings, conversions, daily series and commissions from the ledger"),
        (name = "breakdowns", description = "Clicks, conversions and their worth split by source, device, country, referrer, product, member and more; JSON or CSV"),
        (name = "invoices", description = "Merchant statements (invoices): what merchants owe and pay"),
        (name = "webhooks", description = "Shopify webhooks, signed with the merchant's secret"),
        (name = "admin", description = "Administration"),
        (name = "ops", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

/// Declares the schemes the routes' `security(..)` refer to: `bearer` (a session token),
/// `merchant_api_key` (an `ssk_` key, sent as a bearer token too) and `shopify_hmac` (the
/// webhook route's signature header).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The token from POST /v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "merchant_api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ssk_...")
                    .description(Some(
                        "A merchant API key from POST /v1/merchant/api-keys; a session token is refused",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "shopify_hmac",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                skinstack_core::shopify::HMAC_HEADER,
                "Base64 HMAC-SHA256 of the raw body under the merchant's webhook secret",
            ))),
        );
    }
}

/// Every API route with its OpenAPI description.
pub(crate) fn api_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(profiles::router())
        .merge(programs::router())
        .merge(products::router())
        .merge(links::router())
        .merge(memberships::router())
        .merge(api_keys::router())
        .merge(conversions::router())
        .merge(coupon_codes::router())
        .merge(holds::router())
        .merge(statements::router())
        .merge(breakdowns::router())
        .merge(invoices::router())
        .merge(webhooks::router())
        .merge(admin::router())
        .merge(ops::router())
}
