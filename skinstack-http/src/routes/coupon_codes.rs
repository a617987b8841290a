//! Coupon codes that belong to one influencer: the merchant assigns codes to members' links,
//! approves the codes members request, revokes codes and lists its own; an influencer requests
//! codes for her links and lists her own. The rules are in
//! [`skinstack_core::service::coupon_codes`].

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Check, Json, Path, Query};
use crate::responses::{Forbidden, JsonBody, NotFound, QueryErrors, Session};
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
    /// the influencer's own (requesting). Its influencer must be an approved member of its
    /// program (else 422): the stored membership decides, not the request.
    pub link_id: Uuid,
    /// The code as the shop knows it. Free for this merchant unless it already has the code
    /// requested or assigned, in any case (else 409).
    #[schema(value_type = skinstack_core::CodeText, example = "ANA20")]
    pub code: String,
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
    pub state: CouponState,
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
            state: c.state,
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
        JsonBody, Session, Forbidden,
        (status = 404, description = "No merchant profile, or no such link on your programs", body = ErrorBody),
        (status = 409, description = "You have this code already (in any case), requested or assigned", body = ErrorBody),
        (status = 422, description = "An invalid code, or the link's influencer is not an approved member of its program", body = ErrorBody),
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
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
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
        Session, Forbidden, NotFound,
        (status = 409, description = "The code is not awaiting approval", body = ErrorBody),
        (status = 422, description = "The link's influencer is no longer an approved member of its program", body = ErrorBody),
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
        Session, Forbidden, NotFound,
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
        JsonBody, Session, Forbidden,
        (status = 404, description = "No influencer profile, or no such link of yours", body = ErrorBody),
        (status = 409, description = "The merchant has this code already (in any case)", body = ErrorBody),
        (status = 422, description = "An invalid code, or you are not an approved member of the link's program", body = ErrorBody),
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
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No influencer profile", body = ErrorBody),
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
