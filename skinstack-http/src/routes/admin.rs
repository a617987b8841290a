//! Administration: list accounts, deactivate an account or a merchant, verify a merchant.

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Path, Query};
use crate::responses::{Forbidden, QueryErrors, Session};
use crate::routes::auth::UserView;
use crate::routes::profiles::MerchantView;
use crate::routes::PageQuery;
use crate::state::ApiState;
use axum::extract::State;
use serde::Serialize;
use skinstack_core::service::admin;
use skinstack_core::{MerchantId, UserId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(deactivate_user))
        .routes(routes!(deactivate_merchant))
        .routes(routes!(verify_merchant, unverify_merchant))
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// This page.
    pub items: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
}

/// Every account, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = UserList),
        QueryErrors, Session, Forbidden,
    )
)]
async fn list_users(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<UserList>> {
    let page = query.page(UserId::from_uuid)?;
    let users = admin::list_users(&*state.store, &auth.actor, page).await?;
    let next_after = page.next_cursor(&users, |u| u.id).map(|id| id.as_uuid());
    Ok(axum::Json(UserList {
        items: users.into_iter().map(UserView::from).collect(),
        next_after,
    }))
}

/// Deactivates an account: it cannot log in, and its tokens stop working at once.
#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/deactivate",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Deactivated", body = UserView),
        Session, Forbidden,
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 422, description = "An administrator's own account", body = ErrorBody),
    )
)]
async fn deactivate_user(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<UserView>> {
    let user =
        admin::set_user_active(&*state.store, &auth.actor, UserId::from_uuid(id), false).await?;
    Ok(axum::Json(user.into()))
}

/// Deactivates a merchant: its links stop redirecting and its programs are no longer open.
#[utoipa::path(
    post,
    path = "/v1/admin/merchants/{id}/deactivate",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "Deactivated", body = MerchantView),
        Session, Forbidden,
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn deactivate_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<MerchantView>> {
    let merchant =
        admin::set_merchant_active(&*state.store, &auth.actor, MerchantId::from_uuid(id), false)
            .await?;
    Ok(axum::Json(merchant.into()))
}

/// Verifies a merchant after checking it is who its website says: its programs open to
/// influencers and its links redirect. Verifying a verified merchant changes nothing.
#[utoipa::path(
    post,
    path = "/v1/admin/merchants/{id}/verify",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "Verified", body = MerchantView),
        Session, Forbidden,
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn verify_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<MerchantView>> {
    let merchant = admin::set_merchant_verified(
        &*state.store,
        &auth.actor,
        MerchantId::from_uuid(id),
        true,
        state.now(),
    )
    .await?;
    Ok(axum::Json(merchant.into()))
}

/// Puts a merchant back to unverified: its programs close to influencers, its links answer
/// 410 and its API keys stop working, until it is verified again.
#[utoipa::path(
    delete,
    path = "/v1/admin/merchants/{id}/verify",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "Unverified", body = MerchantView),
        Session, Forbidden,
        (status = 404, description = "No such merchant", body = ErrorBody),
    )
)]
async fn unverify_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<MerchantView>> {
    let merchant = admin::set_merchant_verified(
        &*state.store,
        &auth.actor,
        MerchantId::from_uuid(id),
        false,
        state.now(),
    )
    .await?;
    Ok(axum::Json(merchant.into()))
}
