//! Coupon codes that belong to one influencer: the merchant assigns codes to members' links,
//! approves the codes members request, revokes codes and lists its own; an influencer requests
//! codes for her links and lists her own. The rules are in
//! [`skinstack_core::service::coupon_codes`].

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Check, Json, Path, Query};
use crate::routes::PageQuery;
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skinstack_core::service::coupon_codes;
use skinstack_core::{CodeText, CouponCode, CouponCodeId, CouponState, LinkId, Page};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(assign, list_merchant))
        .routes(routes!(approve))
        .routes(routes!(revoke))
        .routes(routes!(request, list_influencer))
}

/// `POST /v1/merchant/coupon-codes` and `POST /v1/influencer/coupon-codes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponCodeRequest {
    /// The link that will own the code: one of the merchant's programs' (assigning), or one of
    /// the influencer's own (requesting).
    pub link_id: Uuid,
    /// The code as the shop knows it: 1–64 of `A-Z a-z 0-9 _ -`, kept as spelled and compared
    /// in any case.
    #[schema(example = "ANA20")]
    pub code: String,
}

/// Where a code is in its life.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponStateView {
    /// Asked for by the influencer; attributes nothing until the merchant approves it.
    Requested,
    /// Attributes the merchant's orders placed from `assigned_at` on.
    Assigned,
    /// Attributes no order placed from `revoked_at` on; earlier attributions stand.
    Revoked,
}

impl From<CouponState> for CouponStateView {
    fn from(state: CouponState) -> Self {
        match state {
            CouponState::Requested => CouponStateView::Requested,
            CouponState::Assigned => CouponStateView::Assigned,
            CouponState::Revoked => CouponStateView::Revoked,
        }
    }
}

/// A coupon code and the link that owns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponCodeView {
    /// Its id.
    pub id: Uuid,
    /// The merchant whose shop honours it.
    pub merchant_id: Uuid,
    /// The code as spelled.
    #[schema(example = "ANA20")]
    pub code: String,
    /// The owning link.
    pub link_id: Uuid,
    /// The owning link's influencer.
    pub influencer_id: Uuid,
    /// Where it is in its life.
    pub state: CouponStateView,
    /// When it was requested or assigned.
    pub created_at: DateTime<Utc>,
    /// When the merchant assigned it; absent while requested.
    pub assigned_at: Option<DateTime<Utc>>,
    /// When it was revoked; absent unless revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<CouponCode> for CouponCodeView {
    fn from(c: CouponCode) -> Self {
        Self {
            id: c.id.as_uuid(),
            merchant_id: c.merchant_id.as_uuid(),
            code: c.code.as_str().to_owned(),
            link_id: c.link_id.as_uuid(),
            influencer_id: c.influencer_id.as_uuid(),
            state: c.state.into(),
            created_at: c.created_at,
            assigned_at: c.assigned_at,
            revoked_at: c.revoked_at,
        }
    }
}

/// A page of coupon codes with the cursor for the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponCodeList {
    /// This page, in id order.
    pub items: Vec<CouponCodeView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
}

impl CouponCodeList {
    fn new(page: Page<CouponCodeId>, items: Vec<CouponCode>) -> Self {
        let next_after = page.next_cursor(&items, |c| c.id).map(|id| id.as_uuid());
        Self {
            items: items.into_iter().map(CouponCodeView::from).collect(),
            next_after,
        }
    }
}

fn parse(body: &CouponCodeRequest) -> Result<(LinkId, CodeText)> {
    let mut c = Check::default();
    let code = c.req("code", CodeText::parse(&body.code));
    let code = c.finish(code)?;
    Ok((LinkId::from_uuid(body.link_id), code))
}

/// Assigns a code to a link on one of the caller's programs: it attributes the merchant's
/// orders placed from now on to that link's influencer.
#[utoipa::path(
    post,
    path = "/v1/merchant/coupon-codes",
    tag = "coupon_codes",
    security(("bearer" = [])),
    request_body = CouponCodeRequest,
    responses(
        (status = 201, description = "Assigned", body = CouponCodeView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a merchant account", body = ErrorBody),
        (status = 404, description = "No merchant profile, or no such link on your programs", body = ErrorBody),
        (status = 409, description = "You have this code already (in any case), requested or assigned", body = ErrorBody),
        (status = 422, description = "Invalid code", body = ErrorBody),
    )
)]
async fn assign(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<CouponCodeRequest>,
) -> Result<(StatusCode, axum::Json<CouponCodeView>)> {
    let (link, code) = parse(&body)?;
    let assigned =
        coupon_codes::assign(&*state.store, &auth.actor, state.now(), link, code).await?;
    Ok((StatusCode::CREATED, axum::Json(assigned.into())))
}

/// The caller's merchant's codes, requested, assigned and revoked, in id order.
#[utoipa::path(
    get,
    path = "/v1/merchant/coupon-codes",
    tag = "coupon_codes",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = CouponCodeList),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a merchant account", body = ErrorBody),
        (status = 404, description = "No merchant profile", body = ErrorBody),
        (status = 422, description = "Invalid limit", body = ErrorBody),
    )
)]
async fn list_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<CouponCodeList>> {
    let page = query.page(CouponCodeId::from_uuid)?;
    let items = coupon_codes::list_for_merchant(&*state.store, &auth.actor, page).await?;
    Ok(axum::Json(CouponCodeList::new(page, items)))
}

/// Approves a code an influencer requested: it attributes orders placed from now on.
#[utoipa::path(
    post,
    path = "/v1/merchant/coupon-codes/{id}/approve",
    tag = "coupon_codes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Coupon code id")),
    responses(
        (status = 200, description = "Assigned", body = CouponCodeView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a merchant account", body = ErrorBody),
        (status = 404, description = "No such code, or not yours", body = ErrorBody),
        (status = 409, description = "The code is not awaiting approval", body = ErrorBody),
    )
)]
async fn approve(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<CouponCodeView>> {
    let approved = coupon_codes::approve(
        &*state.store,
        &auth.actor,
        state.now(),
        CouponCodeId::from_uuid(id),
    )
    .await?;
    Ok(axum::Json(approved.into()))
}

/// Revokes one of the caller's codes, or declines a request: it attributes no order placed
/// from now on; the orders it attributed stay attributed. Revoking twice changes nothing.
#[utoipa::path(
    post,
    path = "/v1/merchant/coupon-codes/{id}/revoke",
    tag = "coupon_codes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Coupon code id")),
    responses(
        (status = 200, description = "Revoked", body = CouponCodeView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a merchant account", body = ErrorBody),
        (status = 404, description = "No such code, or not yours", body = ErrorBody),
    )
)]
async fn revoke(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<CouponCodeView>> {
    let revoked = coupon_codes::revoke(
        &*state.store,
        &auth.actor,
        state.now(),
        CouponCodeId::from_uuid(id),
    )
    .await?;
    Ok(axum::Json(revoked.into()))
}

/// Asks the link's merchant for a code on one of the caller's links. Nobody else can claim the
/// code meanwhile, but it attributes nothing until the merchant approves it.
#[utoipa::path(
    post,
    path = "/v1/influencer/coupon-codes",
    tag = "coupon_codes",
    security(("bearer" = [])),
    request_body = CouponCodeRequest,
    responses(
        (status = 201, description = "Requested", body = CouponCodeView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an influencer account", body = ErrorBody),
        (status = 404, description = "No influencer profile, or no such link of yours", body = ErrorBody),
        (status = 409, description = "The merchant has this code already (in any case)", body = ErrorBody),
        (status = 422, description = "Invalid code", body = ErrorBody),
    )
)]
async fn request(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<CouponCodeRequest>,
) -> Result<(StatusCode, axum::Json<CouponCodeView>)> {
    let (link, code) = parse(&body)?;
    let requested =
        coupon_codes::request(&*state.store, &auth.actor, state.now(), link, code).await?;
    Ok((StatusCode::CREATED, axum::Json(requested.into())))
}

/// The codes of the caller's links, requested, assigned and revoked, in id order.
#[utoipa::path(
    get,
    path = "/v1/influencer/coupon-codes",
    tag = "coupon_codes",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = CouponCodeList),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an influencer account", body = ErrorBody),
        (status = 404, description = "No influencer profile", body = ErrorBody),
        (status = 422, description = "Invalid limit", body = ErrorBody),
    )
)]
async fn list_influencer(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<CouponCodeList>> {
    let page = query.page(CouponCodeId::from_uuid)?;
    let items = coupon_codes::list_own(&*state.store, &auth.actor, page).await?;
    Ok(axum::Json(CouponCodeList::new(page, items)))
}
