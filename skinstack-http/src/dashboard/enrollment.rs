//! Enrollment pages: the influencer's "Programs" (the directory, applying, where they stand)
//! and the merchant's "Applications" (approve, reject, ban) and "Members" (counts, ban).
//!
//! Every form carries the session's CSRF token and every action goes through
//! `service::memberships`, so the ownership rules are the API's: a merchant acting on another
//! merchant's program, or an influencer on someone else's membership, gets the 404 page.

use super::layout::{self, count, money};
use super::session::Viewer;
use super::PageError;
use crate::state::ApiState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use skinstack_core::service::memberships::{self, Decision};
use skinstack_core::service::{profiles, ServiceError};
use skinstack_core::{
    ApplicationMessage, Currency, InfluencerId, MemberStats, MembershipState, Page, ProgramId,
};
use uuid::Uuid;

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// The apply form: the CSRF token and an optional message.
#[derive(Debug, Deserialize)]
pub(super) struct ApplyForm {
    csrf: String,
    #[serde(default)]
    message: String,
}

fn state_badge(state: Option<MembershipState>) -> Markup {
    match state {
        None => html! { span.muted { "not joined" } },
        Some(state) => html! { span.badge { (state.as_str()) } },
    }
}

fn parse_id(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| PageError::NotFound)
}

/// The influencer's "Programs": every open program, their state in it, and a way to apply.
pub(super) async fn programs_page(
    State(state): State<ApiState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let entries = memberships::directory(&*state.store, &viewer.actor, Page::largest(None)).await?;
    let body = html! {
        section.card {
            h1 { "Programs" }
            p.muted { "Apply to a brand's program; once approved you can make links for it." }
            @if entries.is_empty() {
                p.muted { "No programs are open yet." }
            }
            table {
                thead { tr { th { "Program" } th { "Joining" } th { "You" } th {} } }
                tbody {
                    @for entry in &entries {
                        tr {
                            td { (entry.program.name.as_str()) }
                            td { (entry.program.enrollment_mode.as_str()) }
                            td { (state_badge(entry.state)) }
                            td {
                                @if entry.state.is_none() && entry.program.enrollment_mode != skinstack_core::EnrollmentMode::Invite {
                                    form method="post" action=(format!("/dashboard/programs/{}/apply", entry.program.id)) {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        input type="text" name="message" maxlength="1000" placeholder="A note to the brand (optional)" aria-label="Message";
                                        button type="submit" { "Apply" }
                                    }
                                }
                                @if entry.state == Some(MembershipState::Pending) {
                                    form method="post" action=(format!("/dashboard/programs/{}/withdraw", entry.program.id)) {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button.link type="submit" { "Withdraw" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Programs", Some(&viewer), body).into_response())
}

/// Applies to a program from the "Programs" page.
pub(super) async fn apply(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Result<Form<ApplyForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let id = ProgramId::from_uuid(parse_id(&id)?);
    let message = match form.message.trim() {
        "" => None,
        text => Some(
            ApplicationMessage::parse(text)
                .map_err(|reason| PageError::BadRequest(format!("The message {reason}.")))?,
        ),
    };
    memberships::apply(&*state.store, &viewer.actor, id, message).await?;
    Ok(Redirect::to("/dashboard/programs").into_response())
}

/// Withdraws a pending application from the "Programs" page.
pub(super) async fn withdraw(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let id = ProgramId::from_uuid(parse_id(&id)?);
    memberships::withdraw(&*state.store, &viewer.actor, id).await?;
    Ok(Redirect::to("/dashboard/programs").into_response())
}

/// One row of a merchant's members table, with the decisions the state allows.
fn member_row(
    viewer: &Viewer,
    program: ProgramId,
    name: &str,
    member: &MemberStats,
    currency: Currency,
    back: &str,
) -> Markup {
    let m = &member.membership;
    let action = |verb: &str| {
        format!(
            "/dashboard/programs/{program}/members/{}/{verb}?back={back}",
            m.influencer_id
        )
    };
    html! {
        tr {
            td { (name) }
            td { (state_badge(Some(m.state))) }
            td { (m.message.as_ref().map(|m| m.as_str()).unwrap_or("")) }
            td { (count(member.clicks)) }
            td { (count(member.conversions)) }
            td { (money(member.earnings, currency)) }
            td {
                @for (verb, label, shown) in [
                    ("approve", "Approve", matches!(m.state, MembershipState::Pending | MembershipState::Rejected)),
                    ("reject", "Reject", m.state == MembershipState::Pending),
                    ("ban", "Ban", m.state != MembershipState::Banned),
                ] {
                    @if shown {
                        form method="post" action=(action(verb)) {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button.link type="submit" { (label) }
                        }
                    }
                }
            }
        }
    }
}

async fn members_page(
    state: &ApiState,
    viewer: &Viewer,
    title: &str,
    intro: &str,
    wanted: &[MembershipState],
    back: &str,
) -> Result<Response, PageError> {
    let store = &*state.store;
    let programs = memberships::members_of_merchant(store, &viewer.actor, None).await?;
    let currency = profiles::own_merchant(store, &viewer.actor).await?.currency;
    let mut sections = Vec::new();
    for (program, members) in programs {
        let mut rows = Vec::new();
        for member in members
            .iter()
            .filter(|m| wanted.contains(&m.membership.state))
        {
            let name = match store
                .influencer_by_id(member.membership.influencer_id)
                .await
            {
                Ok(influencer) => influencer.display_name.as_str().to_owned(),
                Err(_) => "(gone)".to_owned(),
            };
            rows.push(member_row(
                viewer, program.id, &name, member, currency, back,
            ));
        }
        sections.push((program.name.as_str().to_owned(), rows));
    }
    let body = html! {
        section.card {
            h1 { (title) }
            p.muted { (intro) }
            @for (program, rows) in &sections {
                h2 { (program) " " span.muted { "(" (rows.len()) ")" } }
                @if rows.is_empty() {
                    p.muted { "None." }
                } @else {
                    table {
                        thead { tr {
                            th { "Influencer" } th { "State" } th { "Message" } th { "Clicks" }
                            th { "Sales" } th { "Earned" } th {}
                        } }
                        tbody { @for row in rows { (row) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(title, Some(viewer), body).into_response())
}

/// The merchant's "Applications": pending (and rejected) applications to its programs.
pub(super) async fn applications_page(
    State(state): State<ApiState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    members_page(
        &state,
        &viewer,
        "Applications",
        "Influencers who applied to your programs. Approved ones can make links.",
        &[MembershipState::Pending, MembershipState::Rejected],
        "applications",
    )
    .await
}

/// The merchant's "Members": approved, invited and banned members with what they brought.
pub(super) async fn members_list_page(
    State(state): State<ApiState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    members_page(
        &state,
        &viewer,
        "Members",
        "Your programs' members, with their clicks, sales and earnings. A ban stops their links at once.",
        &[
            MembershipState::Approved,
            MembershipState::Invited,
            MembershipState::Banned,
        ],
        "members",
    )
    .await
}

/// `?back=` of a decision: which page to return to.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Back {
    back: Option<String>,
}

/// Approves, rejects or bans a member from the "Applications" or "Members" page.
pub(super) async fn decide(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path((program, influencer, verb)): Path<(String, String, String)>,
    axum::extract::Query(back): axum::extract::Query<Back>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let decision = match verb.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "ban" => Decision::Ban,
        _ => return Err(PageError::NotFound),
    };
    let program = ProgramId::from_uuid(parse_id(&program)?);
    let influencer = InfluencerId::from_uuid(parse_id(&influencer)?);
    match memberships::decide(
        &*state.store,
        &viewer.actor,
        program,
        influencer,
        decision,
        state.now(),
    )
    .await
    {
        Ok(_) => {}
        Err(ServiceError::Conflict(conflict)) => {
            return Err(PageError::BadRequest(conflict.to_string()))
        }
        Err(other) => return Err(other.into()),
    }
    // Only the two pages this form appears on: never an open redirect.
    let to = match back.back.as_deref() {
        Some("members") => "/dashboard/members",
        _ => "/dashboard/applications",
    };
    Ok(Redirect::to(to).into_response())
}
