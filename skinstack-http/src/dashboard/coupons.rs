//! Coupon codes on the dashboard: the merchant's list with assign, approve and revoke; the
//! influencer's codes with a request form. Every form carries the session's CSRF token, and
//! every read and write goes through [`skinstack_core::service::coupon_codes`], whose
//! ownership rules are the API's.

use super::layout;
use super::session::Viewer;
use super::PageError;
use crate::state::ApiState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use skinstack_core::service::coupon_codes;
use skinstack_core::service::ServiceError;
use skinstack_core::{
    CodeText, CouponCode, CouponCodeId, CouponState, LinkId, Page, RepoError, Slug, TrackingLink,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Codes listed (the API pages through the rest).
const CODES: u32 = 100;

/// Where the sections sit on the home pages.
const ANCHOR: &str = "/dashboard#coupon-codes";

fn first_page() -> Result<Page<CouponCodeId>, PageError> {
    Page::new(CODES, None).map_err(|e| {
        PageError::Internal(Box::new(skinstack_core::ValidationError::new("limit", e)))
    })
}

fn state_badge(code: &CouponCode) -> Markup {
    html! {
        @match code.state {
            CouponState::Requested => span.badge { "requested" },
            CouponState::Assigned => "assigned",
            CouponState::Revoked => span.badge { "revoked" },
        }
    }
}

fn when(code: &CouponCode) -> String {
    let at = code
        .revoked_at
        .or(code.assigned_at)
        .unwrap_or(code.created_at);
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// The merchant's codes with their actions, and the form assigning a code to a member's link.
pub(super) async fn merchant_section(
    state: &ApiState,
    viewer: &Viewer,
) -> Result<Markup, PageError> {
    let store = &*state.store;
    let codes = coupon_codes::list_for_merchant(store, &viewer.actor, first_page()?).await?;
    let mut slugs: HashMap<LinkId, String> = HashMap::new();
    for code in &codes {
        if let Ok(link) = store.link_by_id(code.link_id).await {
            slugs.insert(link.id, link.slug.as_str().to_owned());
        }
    }
    Ok(html! {
        section.card #coupon-codes {
            h2 { "Coupon codes" }
            p.muted { "A code attributes your shop's orders to the link that owns it, from the moment you assign it until you revoke it." }
            @if codes.is_empty() { p.muted { "No codes yet." } }
            @else {
                table {
                    thead { tr { th { "Code" } th { "Link" } th { "State" } th { "Since (UTC)" } th { "" } } }
                    tbody {
                        @for code in &codes {
                            @let base = format!("/dashboard/coupon-codes/{}", code.id);
                            tr {
                                td { code { (code.code.as_str()) } }
                                td { code { (slugs.get(&code.link_id).map_or("—", String::as_str)) } }
                                td { (state_badge(code)) }
                                td { (when(code)) }
                                td {
                                    @if code.state == CouponState::Requested {
                                        form.inline method="post" action=(format!("{base}/approve")) {
                                            input type="hidden" name="csrf" value=(viewer.csrf);
                                            button type="submit" { "Approve" }
                                        }
                                    }
                                    @if code.state != CouponState::Revoked {
                                        form.inline method="post" action=(format!("{base}/revoke")) {
                                            input type="hidden" name="csrf" value=(viewer.csrf);
                                            button type="submit" {
                                                @if code.state == CouponState::Requested { "Decline" } @else { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.stack method="post" action="/dashboard/coupon-codes" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { "Link (its slug)"
                    input type="text" name="link" required placeholder="ana-glow" autocapitalize="off" spellcheck="false";
                }
                label { "Code"
                    input type="text" name="code" required placeholder="ANA20" pattern="[A-Za-z0-9_-]{1,64}" autocapitalize="characters" spellcheck="false";
                }
                button.primary type="submit" { "Assign code" }
            }
        }
    })
}

/// The influencer's codes, and the form asking a merchant for a code on one of her links.
pub(super) async fn influencer_section(
    state: &ApiState,
    viewer: &Viewer,
    links: &[TrackingLink],
) -> Result<Markup, PageError> {
    let codes = coupon_codes::list_own(&*state.store, &viewer.actor, first_page()?).await?;
    let slugs: HashMap<LinkId, &str> = links.iter().map(|l| (l.id, l.slug.as_str())).collect();
    Ok(html! {
        section.card #coupon-codes {
            h2 { "Coupon codes" }
            p.muted { "A code sells for you once the brand assigns it to one of your links." }
            @if codes.is_empty() { p.muted { "No codes yet." } }
            @else {
                ul.plain {
                    @for code in &codes {
                        li {
                            code { (code.code.as_str()) }
                            " · " (slugs.get(&code.link_id).copied().unwrap_or("—"))
                            " · " (state_badge(code)) " since " (when(code))
                        }
                    }
                }
            }
            @if !links.is_empty() {
                form.stack method="post" action="/dashboard/coupon-codes/requests" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label { "Link"
                        select name="link_id" required {
                            @for link in links {
                                option value=(link.id.to_string()) { (link.slug.as_str()) }
                            }
                        }
                    }
                    label { "Code"
                        input type="text" name="code" required placeholder="ANA20" pattern="[A-Za-z0-9_-]{1,64}" autocapitalize="characters" spellcheck="false";
                    }
                    button.primary type="submit" { "Request code" }
                }
            }
        }
    })
}

/// A form's refusal as a page with the reason, answered with `status`.
fn refused(status: StatusCode, viewer: &Viewer, message: String) -> Response {
    let body = html! {
        section.card {
            h1 { "Not saved" }
            p.notice.error role="alert" { (message) }
            p { a href=(ANCHOR) { "Back to your coupon codes" } }
        }
    };
    (status, layout::page("Coupon codes", Some(viewer), body)).into_response()
}

/// What a coupon form's outcome answers: back to the list, or the refusal's reason.
fn outcome(
    viewer: &Viewer,
    result: Result<CouponCode, ServiceError>,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to(ANCHOR).into_response()),
        Err(ServiceError::Conflict(conflict)) => Ok(refused(
            StatusCode::CONFLICT,
            viewer,
            format!("Not possible: {conflict}."),
        )),
        Err(ServiceError::Invalid(invalid)) => Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            viewer,
            format!("The {invalid}."),
        )),
        Err(ServiceError::NotFound(entity)) => Ok(refused(
            StatusCode::NOT_FOUND,
            viewer,
            format!("No such {entity} of yours."),
        )),
        Err(other) => Err(other.into()),
    }
}

/// The assign form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct AssignForm {
    csrf: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    code: String,
}

/// The merchant assigns a code to the link with the slug typed.
pub(super) async fn assign(
    State(state): State<ApiState>,
    viewer: Viewer,
    form: Result<Form<AssignForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let code = match CodeText::parse(&form.code) {
        Ok(code) => code,
        Err(reason) => {
            let message = format!("The code {reason}.");
            return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, &viewer, message));
        }
    };
    // The service decides whether the link is on this merchant's programs; an unknown slug
    // reads exactly like another merchant's link.
    let link = match Slug::parse(form.link.trim()) {
        Ok(slug) => match state.store.link_by_slug(&slug).await {
            Ok(link) => Some(link.id),
            Err(RepoError::NotFound(_)) => None,
            Err(other) => return Err(ServiceError::from(other).into()),
        },
        Err(_) => None,
    };
    let Some(link) = link else {
        let message = "No such link on your programs.".to_owned();
        return Ok(refused(StatusCode::NOT_FOUND, &viewer, message));
    };
    let result = coupon_codes::assign(&*state.store, &viewer.actor, state.now(), link, code).await;
    outcome(&viewer, result)
}

/// The request form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct RequestForm {
    csrf: String,
    #[serde(default)]
    link_id: String,
    #[serde(default)]
    code: String,
}

/// The influencer asks for a code on one of her links.
pub(super) async fn request(
    State(state): State<ApiState>,
    viewer: Viewer,
    form: Result<Form<RequestForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let link = Uuid::parse_str(form.link_id.trim()).map_err(|_| PageError::NotFound)?;
    let code = match CodeText::parse(&form.code) {
        Ok(code) => code,
        Err(reason) => {
            let message = format!("The code {reason}.");
            return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, &viewer, message));
        }
    };
    let result = coupon_codes::request(
        &*state.store,
        &viewer.actor,
        state.now(),
        LinkId::from_uuid(link),
        code,
    )
    .await;
    outcome(&viewer, result)
}

/// A form carrying only the CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

fn code_id(raw: &str) -> Result<CouponCodeId, PageError> {
    Uuid::parse_str(raw)
        .map(CouponCodeId::from_uuid)
        .map_err(|_| PageError::NotFound)
}

/// The merchant approves a requested code.
pub(super) async fn approve(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let result =
        coupon_codes::approve(&*state.store, &viewer.actor, state.now(), code_id(&id)?).await;
    outcome(&viewer, result)
}

/// The merchant revokes a code, or declines a request.
pub(super) async fn revoke(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let result =
        coupon_codes::revoke(&*state.store, &viewer.actor, state.now(), code_id(&id)?).await;
    outcome(&viewer, result)
}
