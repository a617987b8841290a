//! Tracking links: an influencer's own (create, list with counters, get, update, delete).

use crate::error::{ErrorBody, Result};
use crate::extract::{double_option, object, AuthUser, Check, Checked, Json, Path, Query};
use crate::qr;
use crate::responses::{Forbidden, JsonBody, QueryErrors, Session};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::service::links::{self, CreateLink};
use skinstack_core::{
    CampaignCode, LinkId, LinkPatch, ProductId, ProgramId, Slug, TrackingLink, Utm, UtmValue,
    WebUrl,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(qr_svg))
        .routes(routes!(qr_png))
}

/// `?size=` of a QR code.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// Side in pixels, 64–2048 (512 if absent).
    #[param(schema_with = qr::size_schema)]
    pub size: Option<u32>,
}

/// The QR code of one of the caller's links, as SVG: it encodes the short URL with `?via=qr`,
/// so scans are counted as their own source.
#[utoipa::path(
    get,
    path = "/v1/links/{id}/qr.svg",
    tag = "links",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id"), QrQuery),
    responses(
        (status = 200, description = "The QR code", content_type = "image/svg+xml", body = String),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such link, or not yours", body = ErrorBody),
        (status = 422, description = "Size out of range", body = ErrorBody),
    )
)]
async fn qr_svg(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Query(query): Query<QrQuery>,
) -> Result<Response> {
    qr_image(&state, &auth, id, qr::Format::Svg, query.size).await
}

/// The QR code of one of the caller's links, as PNG (see the SVG route).
#[utoipa::path(
    get,
    path = "/v1/links/{id}/qr.png",
    tag = "links",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id"), QrQuery),
    responses(
        (status = 200, description = "The QR code", content_type = "image/png", body = Vec<u8>),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such link, or not yours", body = ErrorBody),
        (status = 422, description = "Size out of range", body = ErrorBody),
    )
)]
async fn qr_png(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Query(query): Query<QrQuery>,
) -> Result<Response> {
    qr_image(&state, &auth, id, qr::Format::Png, query.size).await
}

async fn qr_image(
    state: &ApiState,
    auth: &AuthUser,
    id: Uuid,
    format: qr::Format,
    size: Option<u32>,
) -> Result<Response> {
    let link = links::owned(&*state.store, &auth.actor, LinkId::from_uuid(id)).await?;
    Ok(qr::response(&state.short_url(&link.slug), format, size).await?)
}

/// UTM parameters; an absent one gets the default (`skinstack`, `affiliate`, none), `null`
/// leaves it out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UtmRequest {
    /// `utm_source`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::UtmValue>)]
    pub source: Option<Option<String>>,
    /// `utm_medium`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::UtmValue>)]
    pub medium: Option<Option<String>>,
    /// `utm_campaign`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::UtmValue>)]
    pub campaign: Option<Option<String>>,
}

impl UtmRequest {
    fn parse(self, c: &mut Check) -> Checked<Utm> {
        let defaults = Utm::default();
        let mut one =
            |field: &str, value: Option<Option<String>>, default: Option<UtmValue>| match value {
                None => Checked::ok(default),
                Some(None) => Checked::ok(None),
                Some(Some(v)) => c.req(field, UtmValue::parse(&v)).map(Some),
            };
        let source = one("utm.source", self.source, defaults.source);
        let medium = one("utm.medium", self.medium, defaults.medium);
        let campaign = one("utm.campaign", self.campaign, defaults.campaign);
        Checked::all((source, medium, campaign)).map(|(source, medium, campaign)| Utm {
            source,
            medium,
            campaign,
        })
    }
}

/// `POST /v1/links`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCreateRequest {
    /// An open program.
    pub program_id: Uuid,
    /// One of the program's merchant's products.
    pub product_id: Option<Uuid>,
    /// Where it leads; defaults to the product's page, else the merchant's website. Must be on
    /// the merchant's website or a subdomain.
    #[schema(value_type = Option<skinstack_core::WebUrl>)]
    pub destination_url: Option<String>,
    /// A chosen slug (3–64 of `a-z 0-9 _ -`); six random characters if absent.
    #[schema(value_type = Option<skinstack_core::Slug>, example = "ana-glow")]
    pub slug: Option<String>,
    /// A campaign label (the seed's field). It attributes no order: coupon codes do, once the
    /// merchant assigns one (`POST /v1/influencer/coupon-codes` asks for one).
    #[schema(value_type = Option<skinstack_core::CampaignCode>)]
    pub campaign_code: Option<String>,
    /// UTM parameters.
    #[serde(default, deserialize_with = "object")]
    pub utm: Option<UtmRequest>,
    /// When it stops redirecting; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `PATCH /v1/links/{id}`: absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkPatchRequest {
    /// Turn the link on or off.
    pub is_active: Option<bool>,
    /// New expiry (in the future), or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New UTM parameters, replacing all three.
    #[serde(default, deserialize_with = "object")]
    pub utm: Option<UtmRequest>,
}

/// UTM parameters of a link.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtmView {
    /// `utm_source`.
    pub source: Option<String>,
    /// `utm_medium`.
    pub medium: Option<String>,
    /// `utm_campaign`.
    pub campaign: Option<String>,
}

/// A tracking link with its counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// Its id.
    pub id: Uuid,
    /// Its slug: share `https://<short host>/<slug>`.
    pub slug: String,
    /// The program it earns under.
    pub program_id: Uuid,
    /// The product it promotes.
    pub product_id: Option<Uuid>,
    /// Where it leads.
    pub destination_url: String,
    /// Its campaign label; it attributes no order (see the coupon codes).
    pub campaign_code: Option<String>,
    /// Its UTM parameters.
    pub utm: UtmView,
    /// Human clicks recorded.
    pub total_clicks: i64,
    /// Conversions attributed.
    pub total_conversions: i64,
    /// Revenue attributed (decimal string).
    #[schema(value_type = String, example = "0.00")]
    pub total_revenue: Decimal,
    /// Commission earned (decimal string).
    #[schema(value_type = String, example = "0.00")]
    pub total_commission: Decimal,
    /// The currency of its amounts: its merchant's settlement currency.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: String,
    /// Whether it redirects.
    pub is_active: bool,
    /// When it stops redirecting.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<TrackingLink> for LinkView {
    fn from(l: TrackingLink) -> Self {
        let text = |v: Option<UtmValue>| v.map(|v| v.as_str().to_owned());
        Self {
            id: l.id.as_uuid(),
            slug: l.slug.as_str().to_owned(),
            program_id: l.program_id.as_uuid(),
            product_id: l.product_id.map(|p| p.as_uuid()),
            destination_url: l.destination_url.as_str().to_owned(),
            campaign_code: l.campaign_code.map(|c| c.as_str().to_owned()),
            utm: UtmView {
                source: text(l.utm.source),
                medium: text(l.utm.medium),
                campaign: text(l.utm.campaign),
            },
            total_clicks: l.total_clicks,
            total_conversions: l.total_conversions,
            total_revenue: l.total_revenue,
            total_commission: l.total_commission,
            currency: l.currency.to_string(),
            is_active: l.is_active,
            expires_at: l.expires_at,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// Creates a link for the caller (an influencer with a profile) under an open program.
#[utoipa::path(
    post,
    path = "/v1/links",
    tag = "links",
    security(("bearer" = [])),
    request_body = LinkCreateRequest,
    responses(
        (status = 201, description = "Created", body = LinkView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No influencer profile, or no such program or product", body = ErrorBody),
        (status = 409, description = "Slug taken", body = ErrorBody),
        (status = 422, description = "Invalid fields, inactive program, destination off the merchant's site, expiry in the past", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<LinkCreateRequest>,
) -> Result<(StatusCode, axum::Json<LinkView>)> {
    let mut c = Check::default();
    let destination_url = c.opt(
        "destination_url",
        body.destination_url.as_deref(),
        WebUrl::parse_uri,
    );
    let custom_slug = c.opt("slug", body.slug.as_deref(), Slug::custom);
    let campaign_code = c.opt(
        "campaign_code",
        body.campaign_code.as_deref(),
        CampaignCode::parse,
    );
    let utm = body.utm.unwrap_or_default().parse(&mut c);
    let (destination_url, custom_slug, campaign_code, utm) =
        c.finish((destination_url, custom_slug, campaign_code, utm))?;
    let request = CreateLink {
        program_id: ProgramId::from_uuid(body.program_id),
        product_id: body.product_id.map(ProductId::from_uuid),
        destination_url,
        custom_slug,
        campaign_code,
        utm,
        expires_at: body.expires_at,
    };
    let link = links::create_own(
        &*state.store,
        &state.slug_policy,
        Utc::now(),
        &auth.actor,
        request,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(link.into())))
}

/// The caller's links with their counters, newest first.
#[utoipa::path(
    get,
    path = "/v1/links",
    tag = "links",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's links", body = Vec<LinkView>),
        Session, Forbidden,
        (status = 404, description = "No influencer profile", body = ErrorBody),
    )
)]
async fn list(State(state): State<ApiState>, auth: AuthUser) -> Result<axum::Json<Vec<LinkView>>> {
    let links = links::list_own(&*state.store, &auth.actor).await?;
    Ok(axum::Json(links.into_iter().map(LinkView::from).collect()))
}

/// One of the caller's links.
#[utoipa::path(
    get,
    path = "/v1/links/{id}",
    tag = "links",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id")),
    responses(
        (status = 200, description = "The link", body = LinkView),
        Session, Forbidden,
        (status = 404, description = "No such link, or not yours", body = ErrorBody),
    )
)]
async fn get_one(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<LinkView>> {
    let link = links::owned(&*state.store, &auth.actor, LinkId::from_uuid(id)).await?;
    Ok(axum::Json(link.into()))
}

/// Changes one of the caller's links: on/off, expiry, UTM parameters.
#[utoipa::path(
    patch,
    path = "/v1/links/{id}",
    tag = "links",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id")),
    request_body = LinkPatchRequest,
    responses(
        (status = 200, description = "Updated", body = LinkView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such link, or not yours", body = ErrorBody),
        (status = 422, description = "Invalid fields or an expiry in the past", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<LinkPatchRequest>,
) -> Result<axum::Json<LinkView>> {
    let mut c = Check::default();
    let utm = match body.utm {
        Some(utm) => utm.parse(&mut c).map(Some),
        None => Checked::ok(None),
    };
    let utm = c.finish(utm)?;
    let patch = LinkPatch {
        is_active: body.is_active,
        expires_at: body.expires_at,
        utm,
    };
    let link = links::update_own(
        &*state.store,
        Utc::now(),
        &auth.actor,
        LinkId::from_uuid(id),
        patch,
    )
    .await?;
    Ok(axum::Json(link.into()))
}

/// Deletes one of the caller's links; its slug becomes free.
#[utoipa::path(
    delete,
    path = "/v1/links/{id}",
    tag = "links",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id")),
    responses(
        (status = 204, description = "Deleted"),
        Session, Forbidden,
        (status = 404, description = "No such link, or not yours", body = ErrorBody),
    )
)]
async fn delete(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode> {
    links::delete_own(&*state.store, &auth.actor, LinkId::from_uuid(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
