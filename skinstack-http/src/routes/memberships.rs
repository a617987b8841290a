//! Program enrollment: the directory, an influencer's applications and memberships, a
//! merchant's members and its decisions on them, invitations.

use crate::error::{ErrorBody, Result};
use crate::extract::{AuthUser, Check, Json, Path, Query};
use crate::responses::{Forbidden, JsonBody, QueryErrors, Session};
use crate::routes::programs::ProgramView;
use crate::routes::{money, PageQuery};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::service::memberships::{self, Decision, DirectoryEntry};
use skinstack_core::{
    ApplicationMessage, Email, InfluencerId, InviteToken, MemberStats, Membership, MembershipId,
    MembershipState, ProgramId,
};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(directory))
        .routes(routes!(own))
        .routes(routes!(apply))
        .routes(routes!(withdraw))
        .routes(routes!(accept))
        .routes(routes!(members))
        .routes(routes!(invite))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(ban))
}

/// One influencer's membership of one program.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    /// Its id.
    pub id: Uuid,
    /// The program.
    pub program_id: Uuid,
    /// The influencer.
    pub influencer_id: Uuid,
    /// Where the influencer stands with the program.
    pub state: MembershipState,
    /// What the influencer wrote when applying.
    pub message: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Membership> for MembershipView {
    fn from(m: Membership) -> Self {
        Self {
            id: m.id.as_uuid(),
            program_id: m.program_id.as_uuid(),
            influencer_id: m.influencer_id.as_uuid(),
            state: m.state,
            message: m.message.map(|m| m.as_str().to_owned()),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A member with what they brought the program through their links in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The membership.
    pub membership: MembershipView,
    /// Human clicks on their links in the program.
    pub clicks: i64,
    /// Conversions attributed to those links, net of reversals.
    pub conversions: i64,
    /// Commission earned through those links, net of reversals (decimal string).
    #[schema(value_type = String, example = "12.40")]
    pub earnings: Decimal,
}

impl From<MemberStats> for MemberView {
    fn from(s: MemberStats) -> Self {
        Self {
            membership: s.membership.into(),
            clicks: s.clicks,
            conversions: s.conversions,
            earnings: money(s.earnings),
        }
    }
}

/// A page of a program's members.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// This page.
    pub items: Vec<MemberView>,
    /// The currency of the amounts: the program's merchant's settlement currency.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: skinstack_core::Currency,

    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
}

/// An influencer's memberships.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipList {
    /// Every membership, oldest first.
    pub items: Vec<MembershipView>,
}

/// An open program with the caller's state in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryItem {
    /// The program.
    pub program: ProgramView,
    /// The caller's membership state; `null` if they have none.
    pub state: Option<MembershipState>,
}

impl From<DirectoryEntry> for DirectoryItem {
    fn from(e: DirectoryEntry) -> Self {
        Self {
            program: e.program.into(),
            state: e.state,
        }
    }
}

/// A page of the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct Directory {
    /// This page.
    pub items: Vec<DirectoryItem>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
}

/// `POST /v1/programs/{id}/apply`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// A note to the merchant; `null` or absent for none.
    #[schema(value_type = Option<skinstack_core::ApplicationMessage>)]
    pub message: Option<String>,
}

/// `POST /v1/programs/{id}/invitations`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// Whose influencer account may accept it; it need not have an account yet.
    #[schema(value_type = skinstack_core::Email, example = "ana@example.com")]
    pub email: String,
}

/// An invitation, with its token shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated {
    /// Its id.
    pub id: Uuid,
    /// The program.
    pub program_id: Uuid,
    /// Whose account may accept it.
    pub email: String,
    /// Until when it can be accepted.
    pub expires_at: DateTime<Utc>,
    /// Pass it on to the invitee, who accepts with it. Only its hash is kept.
    #[schema(example = "ssi_…")]
    pub token: String,
}

/// `POST /v1/invitations/accept`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The invitation's token. An unknown, expired, spent or someone else's token is 404:
    /// only the stored invitations decide, never the token's form.
    #[schema(value_type = skinstack_core::InviteToken)]
    pub token: String,
}

/// `?state=&limit=&after=` of a program's members.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// Only members in this state (`pending` lists the applications); all if absent.
    #[param(schema_with = membership_state)]
    pub state: Option<MembershipState>,
    /// Page size, 1–100 (50 if absent).
    #[param(schema_with = skinstack_core::openapi::page_limit)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// A membership state as a query parameter: the domain's schema, inline.
fn membership_state() -> RefOr<Schema> {
    MembershipState::schema()
}

/// The open programs (active programs of active merchants), each with the caller's
/// membership state.
#[utoipa::path(
    get,
    path = "/v1/directory",
    tag = "memberships",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Directory),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No influencer profile yet", body = ErrorBody),
    )
)]
async fn directory(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<Directory>> {
    let page = query.page(ProgramId::from_uuid)?;
    let items = memberships::directory(&*state.store, &auth.actor, page).await?;
    let next_after = page
        .next_cursor(&items, |e| e.program.id)
        .map(|id| id.as_uuid());
    Ok(axum::Json(Directory {
        items: items.into_iter().map(DirectoryItem::from).collect(),
        next_after,
    }))
}

/// The caller's memberships, oldest first.
#[utoipa::path(
    get,
    path = "/v1/memberships",
    tag = "memberships",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every membership", body = MembershipList),
        Session, Forbidden,
        (status = 404, description = "No influencer profile yet", body = ErrorBody),
    )
)]
async fn own(State(state): State<ApiState>, auth: AuthUser) -> Result<axum::Json<MembershipList>> {
    let items = memberships::own_memberships(&*state.store, &auth.actor).await?;
    Ok(axum::Json(MembershipList {
        items: items.into_iter().map(MembershipView::from).collect(),
    }))
}

/// Applies to an open program: an `open` one approves at once, an `approval` one waits for
/// the merchant, an `invite` one refuses (409).
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/apply",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = ApplyRequest,
    responses(
        (status = 201, description = "Applied (or joined)", body = MembershipView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such open program, or no influencer profile", body = ErrorBody),
        (status = 409, description = "Already applied, a member, rejected, banned, or invite only", body = ErrorBody),
    )
)]
async fn apply(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<ApplyRequest>,
) -> Result<(StatusCode, axum::Json<MembershipView>)> {
    let mut c = Check::default();
    let message = c.opt(
        "message",
        body.message.as_deref(),
        ApplicationMessage::parse,
    );
    let message = c.finish(message)?;
    let membership = memberships::apply(
        &*state.store,
        &auth.actor,
        ProgramId::from_uuid(id),
        message,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(membership.into())))
}

/// Withdraws the caller's pending application.
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/withdraw",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    responses(
        (status = 204, description = "Withdrawn"),
        Session, Forbidden,
        (status = 404, description = "No such program, or no membership of it", body = ErrorBody),
        (status = 409, description = "Not a pending application", body = ErrorBody),
    )
)]
async fn withdraw(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode> {
    memberships::withdraw(&*state.store, &auth.actor, ProgramId::from_uuid(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts an invitation addressed to the caller's email: the caller becomes an approved
/// member. An unknown, expired, spent or someone else's token is 404 alike.
#[utoipa::path(
    post,
    path = "/v1/invitations/accept",
    tag = "memberships",
    security(("bearer" = [])),
    request_body = AcceptRequest,
    responses(
        (status = 200, description = "A member now", body = MembershipView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such open invitation for you", body = ErrorBody),
        (status = 409, description = "Already a member, or banned", body = ErrorBody),
    )
)]
async fn accept(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<AcceptRequest>,
) -> Result<axum::Json<MembershipView>> {
    let mut c = Check::default();
    let token = c.req("token", InviteToken::parse(&body.token));
    let token = c.finish(token)?;
    let membership =
        memberships::accept_invite(&*state.store, &auth.actor, &token, Utc::now()).await?;
    Ok(axum::Json(membership.into()))
}

/// The members of one of the caller's programs, with each one's clicks, conversions and
/// earnings in it; `?state=pending` lists the applications.
#[utoipa::path(
    get,
    path = "/v1/programs/{id}/members",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), MembersQuery),
    responses(
        (status = 200, description = "One page", body = MemberList),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No such program, or not yours", body = ErrorBody),
    )
)]
async fn members(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Query(query): Query<MembersQuery>,
) -> Result<axum::Json<MemberList>> {
    let page = PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .page(MembershipId::from_uuid)?;
    let (program, items) = memberships::members(
        &*state.store,
        &auth.actor,
        ProgramId::from_uuid(id),
        query.state,
        page,
    )
    .await?;
    let next_after = page
        .next_cursor(&items, |m| m.membership.id)
        .map(|id| id.as_uuid());
    Ok(axum::Json(MemberList {
        items: items.into_iter().map(MemberView::from).collect(),
        currency: program.currency,
        next_after,
    }))
}

/// Invites whoever holds an email to one of the caller's programs. The answer is the same
/// whether the address has an account or not; the token is shown this once.
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/invitations",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited", body = InvitationCreated),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such program, or not yours", body = ErrorBody),
        (status = 409, description = "The influencer already applied, is a member or is banned", body = ErrorBody),
    )
)]
async fn invite(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<InviteRequest>,
) -> Result<(StatusCode, axum::Json<InvitationCreated>)> {
    let mut c = Check::default();
    let email = c.req("email", Email::parse(&body.email));
    let email = c.finish(email)?;
    let invited = memberships::invite(
        &*state.store,
        &auth.actor,
        ProgramId::from_uuid(id),
        email,
        Utc::now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(InvitationCreated {
            id: invited.invitation.id.as_uuid(),
            program_id: invited.invitation.program_id.as_uuid(),
            email: invited.invitation.email.as_str().to_owned(),
            expires_at: invited.invitation.expires_at,
            token: invited.token.expose().to_owned(),
        }),
    ))
}

async fn decide(
    state: &ApiState,
    auth: &AuthUser,
    (program, influencer): (Uuid, Uuid),
    decision: Decision,
) -> Result<axum::Json<MembershipView>> {
    let membership = memberships::decide(
        &*state.store,
        &auth.actor,
        ProgramId::from_uuid(program),
        InfluencerId::from_uuid(influencer),
        decision,
        state.now(),
    )
    .await?;
    Ok(axum::Json(membership.into()))
}

/// Approves an influencer's application (or a rejected one after all).
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/members/{influencer_id}/approve",
    tag = "memberships",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("influencer_id" = Uuid, Path, description = "Influencer id"),
    ),
    responses(
        (status = 200, description = "Approved", body = MembershipView),
        Session, Forbidden,
        (status = 404, description = "No such program of yours, or no membership", body = ErrorBody),
        (status = 409, description = "Not pending or rejected", body = ErrorBody),
    )
)]
async fn approve(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(ids): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<MembershipView>> {
    decide(&state, &auth, ids, Decision::Approve).await
}

/// Rejects an influencer's pending application.
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/members/{influencer_id}/reject",
    tag = "memberships",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("influencer_id" = Uuid, Path, description = "Influencer id"),
    ),
    responses(
        (status = 200, description = "Rejected", body = MembershipView),
        Session, Forbidden,
        (status = 404, description = "No such program of yours, or no membership", body = ErrorBody),
        (status = 409, description = "Not pending", body = ErrorBody),
    )
)]
async fn reject(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(ids): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<MembershipView>> {
    decide(&state, &auth, ids, Decision::Reject).await
}

/// Bans an influencer from the program: their links in it answer 410 at once, in every
/// server process.
#[utoipa::path(
    post,
    path = "/v1/programs/{id}/members/{influencer_id}/ban",
    tag = "memberships",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("influencer_id" = Uuid, Path, description = "Influencer id"),
    ),
    responses(
        (status = 200, description = "Banned", body = MembershipView),
        Session, Forbidden,
        (status = 404, description = "No such program of yours, or no membership", body = ErrorBody),
        (status = 409, description = "Already banned", body = ErrorBody),
    )
)]
async fn ban(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(ids): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<MembershipView>> {
    decide(&state, &auth, ids, Decision::Ban).await
}
