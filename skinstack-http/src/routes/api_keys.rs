//! A merchant's API keys: create (the key is shown once), list (never the key), revoke.

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Check, Json, Path};
use crate::responses::{Forbidden, JsonBody, Session};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skinstack_core::service::api_keys;
use skinstack_core::{ApiKeyId, ApiKeyInfo, Name};
use std::fmt;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
}

/// `POST /v1/merchant/api-keys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRequest {
    /// A label to tell keys apart (1–200 characters).
    #[schema(value_type = skinstack_core::Name, example = "Shop back end")]
    pub name: String,
}

/// A key as listed: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Its id.
    pub id: Uuid,
    /// Its label.
    pub name: String,
    /// Its first characters, to recognise it.
    #[schema(example = "ssk_AbCdEfGh")]
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyInfo> for ApiKeyView {
    fn from(k: ApiKeyInfo) -> Self {
        Self {
            id: k.id.as_uuid(),
            name: k.name.as_str().to_owned(),
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just created: the key, shown this once, and its description. `Debug` hides the key.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKeyView {
    /// The key: send it as `Authorization: Bearer <key>`. Only its hash is stored, so it
    /// cannot be shown again.
    #[schema(example = "ssk_AbCdEfGh...")]
    pub key: String,
    /// Its description.
    #[serde(flatten)]
    pub info: ApiKeyView,
}

impl fmt::Debug for CreatedApiKeyView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedApiKeyView")
            .field("key", &"[redacted]")
            .field("info", &self.info)
            .finish()
    }
}

/// Creates an API key for the caller's merchant, for `POST /v1/conversions` and
/// `POST /v1/refunds`.
#[utoipa::path(
    post,
    path = "/v1/merchant/api-keys",
    tag = "api_keys",
    security(("bearer" = [])),
    request_body = ApiKeyRequest,
    responses(
        (status = 201, description = "Created; the key is in this response only", body = CreatedApiKeyView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<ApiKeyRequest>,
) -> Result<(StatusCode, axum::Json<CreatedApiKeyView>)> {
    let mut c = Check::default();
    let name = c.req("name", Name::parse(&body.name));
    let name = c.finish(name)?;
    let created = api_keys::create_own(&*state.store, &auth.actor, name, Utc::now()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiKeyView {
            key: created.key.expose().to_owned(),
            info: created.info.into(),
        }),
    ))
}

/// The caller's merchant's keys, revoked ones included, oldest first.
#[utoipa::path(
    get,
    path = "/v1/merchant/api-keys",
    tag = "api_keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The keys, without the keys themselves", body = Vec<ApiKeyView>),
        Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<ApiState>,
    auth: AuthUser,
) -> Result<axum::Json<Vec<ApiKeyView>>> {
    let keys = api_keys::list_own(&*state.store, &auth.actor).await?;
    Ok(axum::Json(keys.into_iter().map(ApiKeyView::from).collect()))
}

/// Revokes one of the caller's merchant's keys: from now on it is refused.
#[utoipa::path(
    delete,
    path = "/v1/merchant/api-keys/{id}",
    tag = "api_keys",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        Session, Forbidden,
        (status = 404, description = "No such key, or not yours", body = ErrorBody),
    )
)]
async fn revoke(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode> {
    api_keys::revoke_own(
        &*state.store,
        &auth.actor,
        ApiKeyId::from_uuid(id),
        Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
