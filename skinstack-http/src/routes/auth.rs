//! Accounts: `POST /v1/auth/register`, `POST /v1/auth/login`, `POST /v1/auth/logout`,
//! `GET /v1/me`.

use crate::error::{Error, ErrorBody, Result};
use crate::extract::{AuthUser, Check, ClientIp, Json, WriteOnly};
use crate::responses::{JsonBody, Session};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skinstack_core::service::accounts::{self, Registration};
use skinstack_core::service::ServiceError;
use skinstack_core::{Email, Invalid, Password, Role, User, ValidationError};
use std::net::IpAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// The roles one can sign up as.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignUpRole {
    /// Creates links, earns commissions.
    Influencer,
    /// Runs programs, pays commissions.
    Merchant,
}

/// `POST /v1/auth/register`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Login address.
    #[schema(value_type = skinstack_core::Email, example = "ana@example.com")]
    pub email: String,
    /// The new password.
    #[schema(value_type = skinstack_core::Password, example = "correct horse battery staple")]
    pub password: WriteOnly,
    /// `influencer` or `merchant`.
    pub role: SignUpRole,
}

/// An account as the API shows it (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Its id.
    pub id: Uuid,
    /// Login address.
    pub email: String,
    /// `influencer`, `merchant` or `admin`.
    #[schema(value_type = String, example = "influencer")]
    pub role: Role,
    /// Deactivated accounts cannot log in.
    pub is_active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            role: user.role,
            is_active: user.is_active,
            created_at: user.created_at,
        }
    }
}

/// Signs up as an influencer or a merchant.
#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserView),
        JsonBody,
        (status = 409, description = "Email already registered", body = ErrorBody),
        (status = 422, description = "Invalid email (over 254 bytes, for one) or password", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address (an IPv6 address by its /64); see Retry-After", body = ErrorBody),
        (status = 503, description = "Every password-hashing slot is taken; see Retry-After", body = ErrorBody),
    )
)]
async fn register(
    State(state): State<ApiState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RegisterRequest>,
) -> Result<(StatusCode, axum::Json<UserView>)> {
    let mut check = Check::default();
    let email = check.req("email", Email::parse(&body.email));
    let password = check.req("password", Password::parse(&body.password));
    let (email, password) = check.finish((email, password))?;
    let role = match body.role {
        SignUpRole::Influencer => Role::Influencer,
        SignUpRole::Merchant => Role::Merchant,
    };
    // Only a well-formed sign-up spends the address's budget and a hashing slot.
    state
        .throttle
        .register(ip)
        .map_err(Error::TooManyRequests)?;
    let _slot = state.throttle.hash_slot().map_err(Error::Busy)?;
    let user = accounts::register(
        &*state.store,
        &*state.hasher,
        Registration {
            email,
            password,
            role,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// `POST /v1/auth/login`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login address.
    #[schema(example = "ana@example.com")]
    pub email: String,
    /// The password.
    #[schema(value_type = String)]
    pub password: WriteOnly,
}

/// A new session. Its `Debug` leaves the token out.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send it as `Authorization: Bearer <token>`. Shown once; only its hash is stored.
    pub token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The account.
    pub user: UserView,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Logs in. Wrong email and wrong password are the same 401; repeated failures for one
/// account, or many attempts from one address, are 429.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        JsonBody,
        (status = 401, description = "Wrong email or password, or deactivated", body = ErrorBody),
        (status = 422, description = "Email over 254 bytes (no account has one)", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this account, or attempts from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "Every password-hashing slot is taken; see Retry-After", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<ApiState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<LoginResponse>> {
    let session = guarded_login(&state, ip, &body.email, &body.password).await?;
    Ok(axum::Json(LoginResponse {
        token: session.token.expose().to_owned(),
        token_type: "Bearer",
        expires_at: session.session.expires_at,
        user: session.user.into(),
    }))
}

/// A login as the API and the dashboard both do it: the email read through [`Email`] (over
/// 254 bytes is a 422 before anything else), then the address's and the account's limits
/// (429), a hashing slot (503), and only then the password. A wrong password counts against
/// the account; a right one does not.
pub(crate) async fn guarded_login(
    state: &ApiState,
    ip: Option<IpAddr>,
    email: &str,
    password: &str,
) -> Result<accounts::LoggedIn> {
    let account = match Email::parse(email) {
        Ok(email) => Some(email),
        Err(too_long @ Invalid::TooLong { .. }) => {
            return Err(Error::invalid(&ValidationError::new("email", too_long)))
        }
        // Names no account: it still costs a (dummy) verification, like an unknown one.
        Err(_) => None,
    };
    let attempt = state
        .throttle
        .login(account.as_ref(), ip)
        .map_err(Error::TooManyRequests)?;
    let slot = match state.throttle.hash_slot() {
        Ok(slot) => slot,
        Err(seconds) => {
            state.throttle.login_ended(attempt, false);
            return Err(Error::Busy(seconds));
        }
    };
    let result = accounts::login(
        &*state.store,
        &*state.hasher,
        email,
        Password::offered(password),
        Utc::now(),
        state.session_ttl,
    )
    .await;
    drop(slot);
    // Only a wrong password (or unknown, deactivated account) counts against the account; a
    // store error is not the client's failure.
    let failed = matches!(result, Err(ServiceError::Unauthenticated));
    state.throttle.login_ended(attempt, failed);
    result.map_err(|err| match Error::from(err) {
        Error::Unauthorized(_) => Error::Unauthorized("wrong email or password"),
        other => other,
    })
}

/// Revokes the token the request carries.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        Session,
    )
)]
async fn logout(State(state): State<ApiState>, auth: AuthUser) -> Result<StatusCode> {
    accounts::logout(&*state.store, &auth.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account the token belongs to.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = UserView),
        Session,
    )
)]
async fn me(auth: AuthUser) -> axum::Json<UserView> {
    axum::Json(auth.actor.user().clone().into())
}
