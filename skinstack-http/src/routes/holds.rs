//! Commission holds: the merchant whose sale it was (or an administrator) holds a commission
//! for review, releases it to approval or voids it; and sets the merchant's maximum order
//! amount, above which new orders' commissions are held. The rules are core's
//! (`service::holds`); these routes only parse and answer.

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Check, DecimalInput, Json, Path};
use crate::responses::{Forbidden, JsonBody, Session};
use crate::routes::conversions::ConversionView;
use crate::routes::money;
use crate::state::ApiState;
use axum::extract::State;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::service::holds::{self, HoldAction};
use skinstack_core::{ConversionId, MaxOrderAmount, Money};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(hold))
        .routes(routes!(release))
        .routes(routes!(void))
        .routes(routes!(set_max_order_amount))
}

async fn decide(
    state: &ApiState,
    auth: &AuthUser,
    id: Uuid,
    action: HoldAction,
) -> Result<axum::Json<ConversionView>> {
    let conversion = holds::decide(
        &*state.store,
        &auth.actor,
        ConversionId::from_uuid(id),
        action,
        state.now(),
    )
    .await?;
    Ok(axum::Json(conversion.into()))
}

/// Holds a commission for review (reason `manual`): `approve-due` skips it until it is
/// released.
#[utoipa::path(
    post,
    path = "/v1/conversions/{id}/hold",
    tag = "holds",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversion id")),
    responses(
        (status = 200, description = "Held", body = ConversionView),
        Session, Forbidden,
        (status = 404, description = "No such conversion of the caller's merchant", body = ErrorBody),
        (status = 409, description = "Unattributed, approved or voided: cannot be held", body = ErrorBody),
    )
)]
async fn hold(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ConversionView>> {
    decide(&state, &auth, id, HoldAction::Hold).await
}

/// Releases a held commission: it is approved once its hold period has passed. The ledger
/// records a `released` event.
#[utoipa::path(
    post,
    path = "/v1/conversions/{id}/release",
    tag = "holds",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversion id")),
    responses(
        (status = 200, description = "Released", body = ConversionView),
        Session, Forbidden,
        (status = 404, description = "No such conversion of the caller's merchant", body = ErrorBody),
        (status = 409, description = "Not held", body = ErrorBody),
    )
)]
async fn release(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ConversionView>> {
    decide(&state, &auth, id, HoldAction::Release).await
}

/// Voids a held commission: a `voided` ledger event reverses what it still carries, exactly;
/// the sale itself stays recorded.
#[utoipa::path(
    post,
    path = "/v1/conversions/{id}/void",
    tag = "holds",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Conversion id")),
    responses(
        (status = 200, description = "Voided", body = ConversionView),
        Session, Forbidden,
        (status = 404, description = "No such conversion of the caller's merchant", body = ErrorBody),
        (status = 409, description = "Not held", body = ErrorBody),
    )
)]
async fn void(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ConversionView>> {
    decide(&state, &auth, id, HoldAction::Void).await
}

/// `PUT /v1/merchant/max-order-amount`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxOrderAmountRequest {
    /// Orders above this amount are recorded with their commission held for review.
    #[schema(value_type = skinstack_core::MaxOrderAmount, example = "10000.00")]
    pub max_order_amount: DecimalInput,
}

/// The merchant's maximum order amount.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaxOrderAmountView {
    /// Orders above it have their commission held (decimal string).
    #[schema(value_type = String, example = "10000.00")]
    pub max_order_amount: Decimal,
    /// The currency of the amounts: the merchant's settlement currency.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: skinstack_core::Currency,
}

/// Sets the caller's merchant's maximum order amount; applies to orders recorded afterwards.
#[utoipa::path(
    put,
    path = "/v1/merchant/max-order-amount",
    tag = "holds",
    security(("bearer" = [])),
    request_body = MaxOrderAmountRequest,
    responses(
        (status = 200, description = "Set", body = MaxOrderAmountView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
    )
)]
async fn set_max_order_amount(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<MaxOrderAmountRequest>,
) -> Result<axum::Json<MaxOrderAmountView>> {
    let mut c = Check::default();
    let max = c.req(
        "max_order_amount",
        Money::parse(&body.max_order_amount.text()).and_then(MaxOrderAmount::new),
    );
    let max = c.finish(max)?;
    let currency = holds::set_max_order_amount(&*state.store, &auth.actor, max).await?;
    Ok(axum::Json(MaxOrderAmountView {
        max_order_amount: money(max.amount().amount()),
        currency,
    }))
}
