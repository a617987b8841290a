//! The influencer's pages: links with copy buttons, QR codes and counters, a new-link form,
//! earnings, where the clicks of the last 30 days come from, and per link 30-day charts and
//! the same breakdowns of that link's clicks.

use super::layout::{self, count, money};
use super::session::Viewer;
use super::{chart, PageError};
use crate::qr;
use crate::state::ApiState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use skinstack_core::service::links::{self, CreateLink};
use skinstack_core::service::statements::{self, DayRange};
use skinstack_core::service::{products, profiles, programs, ServiceError};
use skinstack_core::ProductQuery;
use skinstack_core::{
    LinkId, Page, Product, ProductId, Program, ProgramId, Slug, TrackingLink, Utm,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Days the link page's charts and every breakdown cover.
pub(super) const CHART_DAYS: i64 = 30;
/// How many open programs and products the new-link form offers.
const CHOICES: u32 = 100;

/// `?created=<link id>` after a link was made, to point it out.
#[derive(Debug, Default, Deserialize)]
pub(super) struct HomeQuery {
    created: Option<Uuid>,
}

/// The new-link form's fields; empty optional fields are absent.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NewLinkForm {
    csrf: String,
    #[serde(default)]
    program_id: String,
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    slug: String,
}

/// What the form was refused for, shown above it with the values kept.
pub(super) struct FormError {
    status: StatusCode,
    message: String,
    form: NewLinkForm,
}

/// The influencer's home page.
pub(super) async fn home(
    state: &ApiState,
    viewer: &Viewer,
    query: HomeQuery,
    form_error: Option<FormError>,
) -> Result<Response, PageError> {
    let store = &*state.store;
    let actor = &viewer.actor;
    let profile = match profiles::own_influencer(store, actor).await {
        Ok(profile) => profile,
        Err(ServiceError::NotFound(_)) => return Ok(no_profile(viewer)),
        Err(other) => return Err(other.into()),
    };
    let (primary, mut balances) = statements::influencer_earnings(store, actor).await?;
    if balances.is_empty() {
        balances.push(primary);
    }
    let mine = links::list_own(store, actor).await?;
    let open_programs = programs::list(store, actor, page()?).await?;
    let open_products = products::list(
        store,
        actor,
        ProductQuery {
            page: page()?,
            ..ProductQuery::default()
        },
    )
    .await?;
    let program_names: HashMap<ProgramId, &str> = open_programs
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let product_names: HashMap<ProductId, &str> = open_products
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let coupon_codes = super::coupons::influencer_section(state, viewer, &mine).await?;
    let breakdowns = super::breakdowns::influencer_section(
        state,
        viewer,
        profile.primary_currency.unwrap_or_default(),
    )
    .await?;
    let created = query.created.map(LinkId::from_uuid);
    let status = form_error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let body = html! {
        section.hello {
            h1 { "Hi, " (profile.display_name.as_str()) }
            p.muted { "Share a link, and every click and sale it brings shows up here." }
        }
        // One row of balances per currency: amounts of two currencies are never added.
        @for earnings in &balances {
            section.stats aria-label=(format!("Earnings in {}", earnings.currency)) {
                (stat("Pending", &money(earnings.pending, earnings.currency), "in their hold period"))
                (stat("Awaiting the merchant", &money(earnings.awaiting_merchant, earnings.currency), "approved; paid out once the merchant pays"))
                (stat("Approved", &money(earnings.approved, earnings.currency), "to be paid out"))
                (stat("Paid", &money(earnings.paid, earnings.currency), "paid to you so far"))
            }
        }
        div.columns {
            div {
                section.card.new-link {
                    h2 { "New link" }
                    (new_link_form(viewer, &open_programs, &open_products, &program_names, form_error.as_ref()))
                }
                (coupon_codes)
            }
            section.links {
                h2 { "Your links " span.muted { "(" (mine.len()) ")" } }
                @if mine.is_empty() {
                    p.card.muted { "No links yet: pick a program and make your first one." }
                }
                @for link in &mine {
                    (link_card(state, link, &program_names, &product_names, created == Some(link.id)))
                }
            }
        }
        (breakdowns)
    };
    Ok((status, layout::page("Your links", Some(viewer), body)).into_response())
}

fn page<Id>() -> Result<Page<Id>, PageError> {
    Page::new(CHOICES, None).map_err(|e| {
        PageError::Internal(Box::new(skinstack_core::ValidationError::new("limit", e)))
    })
}

fn no_profile(viewer: &Viewer) -> Response {
    layout::page(
        "Welcome",
        Some(viewer),
        html! {
            section.card {
                h1 { "Welcome" }
                p { "Your account has no influencer profile yet. Create one with "
                    code { "POST /v1/influencer" } ", then come back to make links." }
            }
        },
    )
    .into_response()
}

fn stat(label: &str, value: &str, hint: &str) -> Markup {
    html! {
        div.stat {
            span.label { (label) }
            span.value { (value) }
            span.hint { (hint) }
        }
    }
}

fn new_link_form(
    viewer: &Viewer,
    open_programs: &[Program],
    open_products: &[Product],
    program_names: &HashMap<ProgramId, &str>,
    error: Option<&FormError>,
) -> Markup {
    let kept = error.map(|e| &e.form);
    let chosen = |value: &str, kept: Option<&str>| kept == Some(value);
    html! {
        @if let Some(error) = error {
            p.notice.error role="alert" { (error.message) }
        }
        @if open_programs.is_empty() {
            p.muted { "No program is open right now." }
        } @else {
            form.stack method="post" action="/dashboard/links" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { "Program"
                    select name="program_id" required {
                        @for program in open_programs {
                            @let id = program.id.to_string();
                            option value=(id) selected[chosen(&id, kept.map(|f| f.program_id.as_str()))] {
                                (program.name.as_str()) " · " (commission_text(program))
                            }
                        }
                    }
                }
                label { span { "Product " span.muted { "(optional)" } }
                    select name="product_id" {
                        option value="" { "The brand's website" }
                        @for product in open_products {
                            @let id = product.id.to_string();
                            option value=(id) selected[chosen(&id, kept.map(|f| f.product_id.as_str()))] {
                                (product.name.as_str()) " · " (money(product.price.amount(), product.currency))
                                @if let Some(name) = product.program_id.and_then(|p| program_names.get(&p)) {
                                    " · " (name)
                                }
                            }
                        }
                    }
                }
                label { span { "Custom slug " span.muted { "(optional)" } }
                    input type="text" name="slug" value=(kept.map_or("", |f| f.slug.as_str()))
                        placeholder="ana-glow" pattern="[a-z0-9_-]{3,64}" autocapitalize="off" spellcheck="false";
                    span.hint { "3–64 of a–z, 0–9, - and _; random if left empty." }
                }
                button.primary type="submit" { "Create link" }
            }
        }
    }
}

/// A program's commission as its influencers read it: `15%`, or `€5,00 a sale` in the
/// merchant's currency.
pub(super) fn commission_text(program: &Program) -> String {
    match &program.commission {
        skinstack_core::Commission::Percentage(rate) => format!("{}%", rate.percent()),
        skinstack_core::Commission::Fixed(amount) => {
            format!("{} a sale", money(amount.amount(), program.currency))
        }
    }
}

fn link_card(
    state: &ApiState,
    link: &TrackingLink,
    program_names: &HashMap<ProgramId, &str>,
    product_names: &HashMap<ProductId, &str>,
    is_new: bool,
) -> Markup {
    let short = state.short_url(&link.slug);
    let detail = format!("/dashboard/links/{}", link.id);
    html! {
        @if is_new { p.notice.ok role="status" { "Your new link " strong { (link.slug.as_str()) } " is ready to share." } }
        article.card.link.new[is_new] id=(format!("link-{}", link.slug.as_str())) {
            a.qr href=(detail) title="QR code and chart" {
                img src=(format!("{detail}/qr.svg?size=128")) width="96" height="96" alt=(format!("QR code for {short}")) loading="lazy";
            }
            p.meta {
                @if let Some(product) = link.product_id.and_then(|p| product_names.get(&p)) {
                    strong { (product) } br;
                }
                (program_names.get(&link.program_id).copied().unwrap_or("Program"))
                @if !link.is_active { " " span.badge { "off" } }
            }
            div.copy {
                input.short type="text" readonly value=(short) aria-label="Short link";
                button.copy-button type="button" data-copy=(short) { "Copy" }
            }
            dl.counters {
                div { dt { "Clicks" } dd { (count(link.total_clicks)) } }
                div { dt { "Sales" } dd { (count(link.total_conversions)) } }
                div { dt { "Revenue" } dd { (money(link.total_revenue, link.currency)) } }
            }
            a.more href=(detail) { "Chart & QR code →" }
        }
    }
}

/// Makes a link from the form, then shows it in the list; a refusal re-shows the form with
/// the reason and the values typed.
pub(super) async fn create_link(
    State(state): State<ApiState>,
    viewer: Viewer,
    form: Result<Form<NewLinkForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let refuse = |status, message: String, form| {
        Some(FormError {
            status,
            message,
            form,
        })
    };
    let Ok(program) = Uuid::parse_str(form.program_id.trim()) else {
        let error = refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a program.".to_owned(),
            form,
        );
        return home(&state, &viewer, HomeQuery::default(), error).await;
    };
    let product = match form.product_id.trim() {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(id) => Some(ProductId::from_uuid(id)),
            Err(_) => {
                let error = refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Choose a product from the list.".to_owned(),
                    form,
                );
                return home(&state, &viewer, HomeQuery::default(), error).await;
            }
        },
    };
    let slug = match form.slug.trim() {
        "" => None,
        text => match Slug::custom(text) {
            Ok(slug) => Some(slug),
            Err(reason) => {
                let error = refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("The slug {reason}."),
                    form,
                );
                return home(&state, &viewer, HomeQuery::default(), error).await;
            }
        },
    };
    let request = CreateLink {
        program_id: ProgramId::from_uuid(program),
        product_id: product,
        destination_url: None,
        custom_slug: slug,
        campaign_code: None,
        utm: Utm::default(),
        expires_at: None,
    };
    let created = links::create_own(
        &*state.store,
        &state.slug_policy,
        chrono::Utc::now(),
        &viewer.actor,
        request,
    )
    .await;
    let (status, message) = match created {
        Ok(link) => {
            let to = format!("/dashboard?created={}#link-{}", link.id, link.slug.as_str());
            return Ok(Redirect::to(&to).into_response());
        }
        Err(ServiceError::Conflict(conflict)) => (
            StatusCode::CONFLICT,
            format!("That {conflict}: try another."),
        ),
        Err(ServiceError::NotFound(entity)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("That {entity} is not open for links."),
        ),
        Err(ServiceError::Invalid(invalid)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, invalid.to_string())
        }
        Err(ServiceError::Rejected(rejection)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            capitalise(&rejection.to_string()),
        ),
        Err(other) => return Err(other.into()),
    };
    home(
        &state,
        &viewer,
        HomeQuery::default(),
        refuse(status, message, form),
    )
    .await
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One link: its QR code, short URL, counters and a 30-day chart. Someone else's is 404.
pub(super) async fn link_page(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = link_id(&id)?;
    let store = &*state.store;
    let link = links::owned(store, &viewer.actor, id).await?;
    // Only a clock set beyond year 9999 fails here: a bug of the host, so a 500.
    let range = DayRange::last(CHART_DAYS, chrono::Utc::now().date_naive())?;
    let (currency, series) = statements::link_daily_series(store, &viewer.actor, id, range).await?;
    let breakdowns = super::breakdowns::link_section(&state, &viewer, id, currency).await?;
    let short = state.short_url(&link.slug);
    let base = format!("/dashboard/links/{}", link.id);
    let body = html! {
        p { a href="/dashboard" { "← Your links" } }
        div.columns.detail {
            section.card.qr-card {
                h1 { (link.slug.as_str()) }
                img.qr-large src=(format!("{base}/qr.svg?size=320")) width="240" height="240" alt=(format!("QR code for {short}"));
                p.muted { "Scans are counted apart from clicks on the link." }
                div.copy {
                    input.short type="text" readonly value=(short) aria-label="Short link";
                    button.copy-button type="button" data-copy=(short) { "Copy" }
                }
                p { a.button href=(format!("{base}/qr.png?size=1024")) download=(format!("{}-qr.png", link.slug.as_str())) { "Download QR (PNG)" } }
                dl.counters {
                    div { dt { "Clicks" } dd { (count(link.total_clicks)) } }
                    div { dt { "Sales" } dd { (count(link.total_conversions)) } }
                    div { dt { "Revenue" } dd { (money(link.total_revenue, currency)) } }
                }
                p.meta.break { "Goes to " a href=(link.destination_url.as_str()) rel="noreferrer" { (link.destination_url.as_str()) } }
            }
            div {
                section.card {
                    h2 { "Last " (CHART_DAYS) " days" }
                    (chart::daily(&series, currency))
                }
                (breakdowns)
            }
        }
    };
    Ok(layout::page(link.slug.as_str(), Some(&viewer), body).into_response())
}

fn link_id(raw: &str) -> Result<LinkId, PageError> {
    Uuid::parse_str(raw)
        .map(LinkId::from_uuid)
        .map_err(|_| PageError::NotFound)
}

/// `?size=` of a QR image.
#[derive(Debug, Default, Deserialize)]
pub(super) struct QrQuery {
    size: Option<u32>,
}

async fn qr_image(
    state: &ApiState,
    viewer: &Viewer,
    id: &str,
    format: qr::Format,
    size: Option<u32>,
) -> Result<Response, PageError> {
    let link = links::owned(&*state.store, &viewer.actor, link_id(id)?).await?;
    qr::response(&state.short_url(&link.slug), format, size)
        .await
        .map_err(|err| match err {
            qr::QrError::Render(_) => PageError::Internal(Box::new(err)),
            other => PageError::BadRequest(other.to_string()),
        })
}

/// The QR code of one of the viewer's links, as SVG.
pub(super) async fn qr_svg(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<QrQuery>,
) -> Result<Response, PageError> {
    qr_image(&state, &viewer, &id, qr::Format::Svg, query.size).await
}

/// The QR code of one of the viewer's links, as PNG.
pub(super) async fn qr_png(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<QrQuery>,
) -> Result<Response, PageError> {
    qr_image(&state, &viewer, &id, qr::Format::Png, query.size).await
}
