//! Programs: a merchant's own (create, update, deactivate, list) and, for influencers, the
//! open ones.

use crate::error::{ErrorBody, Result};
use crate::extract::{
    whole_number_or_null, AuthUser, Check, Checked, DecimalInput, Json, Path, Query,
};
use crate::responses::{Forbidden, JsonBody, QueryErrors, Session};
use crate::routes::PageQuery;
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::error::Invalid;
use skinstack_core::service::programs::{self, ProgramInput};
use skinstack_core::{
    Commission, CommissionRate, CookieWindow, EnrollmentMode, Money, Name, Network, Program,
    ProgramId, ProgramPatch,
};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update))
        .routes(routes!(deactivate))
}

/// How a program pays.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CommissionType {
    /// `commission_rate` percent of the order.
    Percentage,
    /// `fixed_amount` per order.
    Fixed,
}

/// `POST /v1/programs`. Its schema is a `oneOf` on `commission_type` (see
/// [`program_schema`]): a percentage program has a `commission_rate` and no `fixed_amount`,
/// a fixed one the reverse.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRequest {
    /// Its name.
    pub name: String,
    /// `shopify_refersion`, `impact`, `amazon` or `levanta`.
    pub network: Network,
    /// `percentage` (needs `commission_rate`) or `fixed` (needs `fixed_amount`).
    pub commission_type: CommissionType,
    /// Percent, 0 < rate ≤ 100, two decimals at most.
    pub commission_rate: Option<DecimalInput>,
    /// Amount per order.
    pub fixed_amount: Option<DecimalInput>,
    /// Attribution window in days, 1–365 (30 if absent).
    #[serde(default, deserialize_with = "whole_number_or_null")]
    pub cookie_window_days: Option<i64>,
    /// How influencers join: `open`, `approval` (if absent) or `invite`.
    pub enrollment_mode: Option<EnrollmentMode>,
}

/// `PATCH /v1/programs/{id}`: absent fields stay. A commission change gives the type and its
/// value together (the schema's `oneOf`: no commission change, a percentage or a fixed one).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramPatchRequest {
    /// New name.
    pub name: Option<String>,
    /// New network.
    pub network: Option<Network>,
    /// New commission type.
    pub commission_type: Option<CommissionType>,
    /// New rate, with `commission_type: percentage`.
    pub commission_rate: Option<DecimalInput>,
    /// New amount, with `commission_type: fixed`.
    pub fixed_amount: Option<DecimalInput>,
    /// New attribution window in days.
    #[serde(default, deserialize_with = "whole_number_or_null")]
    pub cookie_window_days: Option<i64>,
    /// New enrollment mode; memberships already decided stay as they are.
    pub enrollment_mode: Option<EnrollmentMode>,
}

/// The schema of a program's fields: one object per commission type (and, for a patch, one
/// that changes no commission), each naming only the fields it takes, so that a request a
/// client builds from it is never refused for a field that must be absent.
fn program_schema(patch: bool) -> RefOr<Schema> {
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    // A patch's `null` keeps the stored value; a new program's optional fields take `null` too.
    let maybe = |schema: RefOr<Schema>, nullable: bool| -> RefOr<Schema> {
        if nullable {
            OneOfBuilder::new().item(null()).item(schema).into()
        } else {
            schema
        }
    };
    let reference = |name: &str| -> RefOr<Schema> { Ref::from_schema_name(name).into() };
    let variant = |commission: Option<(CommissionType, &str, RefOr<Schema>)>| {
        let mut object = ObjectBuilder::new()
            .property("name", maybe(reference("Name"), patch))
            .property("network", maybe(reference("Network"), patch))
            .property("cookie_window_days", maybe(reference("CookieWindow"), true))
            .property("enrollment_mode", maybe(reference("EnrollmentMode"), true));
        let (kind, value) = match &commission {
            Some((kind, field, schema)) => {
                let kind_name = match kind {
                    CommissionType::Percentage => "percentage",
                    CommissionType::Fixed => "fixed",
                };
                let other = match kind {
                    CommissionType::Percentage => "fixed_amount",
                    CommissionType::Fixed => "commission_rate",
                };
                object = object
                    .property(*field, schema.clone())
                    .property(other, null())
                    .required(*field);
                (
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([kind_name])),
                    Some(kind_name),
                )
            }
            None => {
                object = object
                    .property("commission_rate", null())
                    .property("fixed_amount", null());
                (ObjectBuilder::new().schema_type(Type::Null), None)
            }
        };
        object = object.property("commission_type", kind);
        if value.is_some() {
            object = object.required("commission_type");
        }
        if !patch {
            object = object.required("name").required("network");
        }
        let _ = value;
        object.additional_properties(Some(AdditionalProperties::FreeForm(false)))
    };
    let percentage = variant(Some((
        CommissionType::Percentage,
        "commission_rate",
        reference("CommissionRate"),
    )))
    .description(Some(
        "A program paying `commission_rate` percent of each order",
    ));
    let fixed = variant(Some((
        CommissionType::Fixed,
        "fixed_amount",
        Commission::fixed_amount_schema(),
    )))
    .description(Some("A program paying `fixed_amount` per order"));
    let mut one_of = OneOfBuilder::new();
    if patch {
        one_of = one_of
            .item(variant(None).description(Some("Changes no commission: no `commission_type`")));
    }
    one_of.item(percentage).item(fixed).into()
}

impl PartialSchema for ProgramRequest {
    fn schema() -> RefOr<Schema> {
        program_schema(false)
    }
}

impl ToSchema for ProgramRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        program_components(schemas);
    }
}

impl PartialSchema for ProgramPatchRequest {
    fn schema() -> RefOr<Schema> {
        program_schema(true)
    }
}

impl ToSchema for ProgramPatchRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        program_components(schemas);
    }
}

/// The components [`program_schema`] refers to.
fn program_components(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((Name::name().into(), Name::schema()));
    schemas.push((Network::name().into(), Network::schema()));
    schemas.push((CookieWindow::name().into(), CookieWindow::schema()));
    schemas.push((CommissionRate::name().into(), CommissionRate::schema()));
    schemas.push((EnrollmentMode::name().into(), EnrollmentMode::schema()));
}

/// A program.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramView {
    /// Its id.
    pub id: Uuid,
    /// The merchant running it.
    pub merchant_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its network.
    #[schema(value_type = String)]
    pub network: Network,
    /// How it pays.
    pub commission_type: CommissionType,
    /// Percent, for `percentage` (decimal string).
    #[schema(value_type = Option<String>, example = "20")]
    pub commission_rate: Option<Decimal>,
    /// Amount, for `fixed` (decimal string).
    #[schema(value_type = Option<String>)]
    pub fixed_amount: Option<Decimal>,
    /// The currency of its amounts: its merchant's settlement currency.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: String,
    /// Attribution window in days.
    pub cookie_window_days: u16,
    /// The platform's share of each commission (decimal string).
    #[schema(value_type = String, example = "0.2")]
    pub platform_fee_rate: Decimal,
    /// How influencers join: `open`, `approval` or `invite`.
    pub enrollment_mode: EnrollmentMode,
    /// Inactive programs take no links and their links stop redirecting.
    pub is_active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Program> for ProgramView {
    fn from(p: Program) -> Self {
        let (commission_type, commission_rate, fixed_amount) = match p.commission {
            Commission::Percentage(rate) => {
                (CommissionType::Percentage, Some(rate.percent()), None)
            }
            Commission::Fixed(amount) => (CommissionType::Fixed, None, Some(amount.amount())),
        };
        Self {
            id: p.id.as_uuid(),
            merchant_id: p.merchant_id.as_uuid(),
            name: p.name.as_str().to_owned(),
            network: p.network,
            commission_type,
            commission_rate,
            fixed_amount,
            currency: p.currency.to_string(),
            cookie_window_days: p.cookie_window.days(),
            // Normalised: the default is stored as 0.20 and a read-back as 0.2; one form only.
            platform_fee_rate: p.platform_fee_rate.fraction().normalize(),
            enrollment_mode: p.enrollment_mode,
            is_active: p.is_active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A list of programs with the cursor for the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramList {
    /// This page.
    pub items: Vec<ProgramView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
}

/// The commission a request describes, with the failing field named.
fn commission(
    c: &mut Check,
    kind: CommissionType,
    rate: Option<&DecimalInput>,
    fixed: Option<&DecimalInput>,
) -> Checked<Commission> {
    match kind {
        CommissionType::Percentage => {
            if fixed.is_some() {
                c.refuse("fixed_amount", "must be absent for a percentage commission");
            }
            let Some(rate) = rate else {
                return c.refused(
                    "commission_rate",
                    Invalid::Missing("for a percentage commission"),
                );
            };
            c.req("commission_rate", CommissionRate::parse(&rate.text()))
                .map(Commission::Percentage)
        }
        CommissionType::Fixed => {
            if rate.is_some() {
                c.refuse("commission_rate", "must be absent for a fixed commission");
            }
            let Some(fixed) = fixed else {
                return c.refused("fixed_amount", Invalid::Missing("for a fixed commission"));
            };
            c.req(
                "fixed_amount",
                Money::parse(&fixed.text()).and_then(Commission::fixed),
            )
        }
    }
}

/// Creates a program for the caller's merchant.
#[utoipa::path(
    post,
    path = "/v1/programs",
    tag = "programs",
    security(("bearer" = [])),
    request_body = ProgramRequest,
    responses(
        (status = 201, description = "Created", body = ProgramView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No merchant profile yet", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<ProgramRequest>,
) -> Result<(StatusCode, axum::Json<ProgramView>)> {
    let mut c = Check::default();
    let name = c.req("name", Name::parse(&body.name));
    let commission = commission(
        &mut c,
        body.commission_type,
        body.commission_rate.as_ref(),
        body.fixed_amount.as_ref(),
    );
    let cookie_window = match body.cookie_window_days {
        Some(days) => c.req("cookie_window_days", CookieWindow::new(days)),
        None => Checked::ok(CookieWindow::default()),
    };
    let (name, commission, cookie_window) = c.finish((name, commission, cookie_window))?;
    let input = ProgramInput {
        name,
        network: body.network,
        commission,
        cookie_window,
        enrollment_mode: body.enrollment_mode.unwrap_or_default(),
    };
    let program = programs::create(&*state.store, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, axum::Json(program.into())))
}

/// The programs the caller may see: a merchant's own, or the open ones (active programs of
/// active merchants) for influencers and administrators.
#[utoipa::path(
    get,
    path = "/v1/programs",
    tag = "programs",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = ProgramList),
        QueryErrors, Session,
        (status = 404, description = "A merchant account without a merchant profile", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<ProgramList>> {
    let page = query.page(ProgramId::from_uuid)?;
    let items = programs::list(&*state.store, &auth.actor, page).await?;
    let next_after = page.next_cursor(&items, |p| p.id).map(|id| id.as_uuid());
    Ok(axum::Json(ProgramList {
        items: items.into_iter().map(ProgramView::from).collect(),
        next_after,
    }))
}

/// One program: a merchant's own, an open one for an influencer, any for an administrator.
#[utoipa::path(
    get,
    path = "/v1/programs/{id}",
    tag = "programs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    responses(
        (status = 200, description = "The program", body = ProgramView),
        Session,
        (status = 404, description = "No such program, or not yours", body = ErrorBody),
    )
)]
async fn get_one(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ProgramView>> {
    let program = programs::get(&*state.store, &auth.actor, ProgramId::from_uuid(id)).await?;
    Ok(axum::Json(program.into()))
}

/// Changes one of the caller's merchant's programs.
#[utoipa::path(
    patch,
    path = "/v1/programs/{id}",
    tag = "programs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = ProgramPatchRequest,
    responses(
        (status = 200, description = "Updated", body = ProgramView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such program, or not yours", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<ProgramPatchRequest>,
) -> Result<axum::Json<ProgramView>> {
    let mut c = Check::default();
    let name = c.opt("name", body.name.as_deref(), Name::parse);
    let commission = match body.commission_type {
        Some(kind) => commission(
            &mut c,
            kind,
            body.commission_rate.as_ref(),
            body.fixed_amount.as_ref(),
        )
        .map(Some),
        None => {
            if body.commission_rate.is_some() || body.fixed_amount.is_some() {
                c.refuse(
                    "commission_type",
                    Invalid::Missing("when the commission changes"),
                );
            }
            Checked::ok(None)
        }
    };
    let cookie_window = c.opt(
        "cookie_window_days",
        body.cookie_window_days,
        CookieWindow::new,
    );
    let (name, commission, cookie_window) = c.finish((name, commission, cookie_window))?;
    let patch = ProgramPatch {
        name,
        network: body.network,
        commission,
        cookie_window,
        enrollment_mode: body.enrollment_mode,
    };
    let program =
        programs::update(&*state.store, &auth.actor, ProgramId::from_uuid(id), patch).await?;
    Ok(axum::Json(program.into()))
}

/// Deactivates one of the caller's merchant's programs: no new links, and its links stop
/// redirecting.
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/deactivate",
    tag = "programs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    responses(
        (status = 200, description = "Deactivated", body = ProgramView),
        Session, Forbidden,
        (status = 404, description = "No such program, or not yours", body = ErrorBody),
    )
)]
async fn deactivate(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ProgramView>> {
    let program =
        programs::deactivate(&*state.store, &auth.actor, ProgramId::from_uuid(id)).await?;
    Ok(axum::Json(program.into()))
}
