//! The merchant's page: commissions owed, the commissions held for review (with release and
//! void buttons), the members, products and countries that sold in the last 30 days, its
//! statements, programs, products, the links that sell most, and the shop's webhook
//! deliveries that could not be recorded.

use super::influencer::commission_text;
use super::layout::{self, count, money};
use super::session::Viewer;
use super::PageError;
use crate::state::ApiState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use skinstack_core::earning::ConversionFilter;
use skinstack_core::service::holds::{self, HoldAction};
use skinstack_core::service::{products, profiles, programs, ServiceError};
use skinstack_core::service::{shopify_webhooks, statements};
use skinstack_core::ConversionId;
use skinstack_core::ProductQuery;
use skinstack_core::{Page, ProgramId};
use std::collections::HashMap;
use uuid::Uuid;

/// Links shown in the top list.
const TOP_LINKS: usize = 10;
/// Products listed (the API pages through the rest).
const PRODUCTS: u32 = 100;
/// Rejected webhook deliveries shown, newest first (the API pages through the rest).
const REJECTED_DELIVERIES: u32 = 10;
/// Held commissions shown, oldest first (the API pages through the rest).
const HELD: u32 = 50;

/// A release or void button's form: only the CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    csrf: String,
}

/// `POST /dashboard/conversions/{id}/release` and `.../void`: the merchant's decision on a
/// held commission, through the same core service (and ownership rule) as the API; back to
/// the dashboard.
pub(super) async fn decide(
    state: &ApiState,
    viewer: &Viewer,
    id: &str,
    form: Result<Form<DecisionForm>, FormRejection>,
    action: HoldAction,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| PageError::NotFound)?;
    holds::decide(
        &*state.store,
        &viewer.actor,
        ConversionId::from_uuid(id),
        action,
        state.now(),
    )
    .await?;
    Ok(Redirect::to("/dashboard#held").into_response())
}

pub(super) async fn release(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, PageError> {
    decide(&state, &viewer, &id, form, HoldAction::Release).await
}

pub(super) async fn void(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, PageError> {
    decide(&state, &viewer, &id, form, HoldAction::Void).await
}

/// The merchant's home page.
pub(super) async fn home(state: &ApiState, viewer: &Viewer) -> Result<Response, PageError> {
    let store = &*state.store;
    let actor = &viewer.actor;
    let merchant = match profiles::own_merchant(store, actor).await {
        Ok(merchant) => merchant,
        Err(ServiceError::NotFound(_)) => {
            return Ok(layout::page(
                "Welcome",
                Some(viewer),
                html! {
                    section.card {
                        h1 { "Welcome" }
                        p { "Your account has no merchant profile yet. Create one with "
                            code { "POST /v1/merchant" } "." }
                    }
                },
            )
            .into_response())
        }
        Err(other) => return Err(other.into()),
    };
    let currency = merchant.currency;
    let internal = |e: skinstack_core::Invalid| {
        PageError::Internal(Box::new(skinstack_core::ValidationError::new("limit", e)))
    };
    let commissions = statements::merchant_commissions(store, actor).await?;
    let mine = programs::list(store, actor, Page::new(100, None).map_err(internal)?).await?;
    let catalogue = products::list(
        store,
        actor,
        ProductQuery {
            page: Page::new(PRODUCTS, None).map_err(internal)?,
            ..ProductQuery::default()
        },
    )
    .await?;
    let top = statements::merchant_top_links(store, actor, TOP_LINKS).await?;
    let rejected = shopify_webhooks::rejected_deliveries(
        store,
        actor,
        Page::new(REJECTED_DELIVERIES, None).map_err(internal)?,
    )
    .await?;
    let coupon_codes = super::coupons::merchant_section(state, viewer).await?;
    let statements = super::invoices::merchant_section(state, &merchant).await?;
    let breakdowns = super::breakdowns::merchant_section(state, viewer, &merchant).await?;
    let held = statements::merchant_conversions(
        store,
        actor,
        ConversionFilter::Held,
        Page::new(HELD, None).map_err(internal)?,
    )
    .await?;
    let signalled = statements::merchant_conversions(
        store,
        actor,
        ConversionFilter::Signalled,
        Page::new(HELD, None).map_err(internal)?,
    )
    .await?;
    let program_names: HashMap<ProgramId, &str> =
        mine.iter().map(|p| (p.id, p.name.as_str())).collect();
    let body = html! {
        section.hello {
            h1 { (merchant.business_name.as_str()) }
            p.muted { (merchant.website_url.as_str()) }
        }
        section.stats aria-label="Commissions" {
            div.stat { span.label { "Owed" } span.value { (money(commissions.owed, currency)) } span.hint { (money(commissions.pending, currency)) " pending · " (money(commissions.approved, currency)) " approved" } }
            div.stat { span.label { "Paid" } span.value { (money(commissions.paid, currency)) } span.hint { "commissions you paid for" } }
            div.stat { span.label { "Unattributed" } span.value { (money(commissions.unattributed_sales, currency)) } span.hint { (count(commissions.unattributed_orders)) " orders without a link" } }
        }
        section.card #held {
            h2 { "Held commissions" }
            @if held.is_empty() {
                p.muted { "None: no commission is waiting for your review." }
            } @else {
                p.muted { "Never approved until you release them; a void takes the commission back in full (the sale stays recorded)." }
                table {
                    thead { tr { th { "Order" } th.num { "Amount" } th.num { "Commission" } th { "Why" } th { "Signals" } th { "Decide" } } }
                    tbody {
                        @for view in &held {
                            @let c = &view.conversion;
                            tr {
                                td { code { (c.order_id.as_str()) } }
                                td.num { (money(c.amount.amount(), currency)) }
                                td.num { (money(view.net_commission.gross, currency)) }
                                td { @for reason in &c.hold_reasons { span.badge { (reason.as_str()) } " " } }
                                td { @for signal in &c.signals { span.badge { (signal.as_str()) } " " } }
                                td {
                                    form method="post" action=(format!("/dashboard/conversions/{}/release", c.id)) {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button type="submit" { "Release" }
                                    }
                                    form method="post" action=(format!("/dashboard/conversions/{}/void", c.id)) {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button type="submit" { "Void" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #signals {
            h2 { "Fraud signals" }
            @if signalled.is_empty() {
                p.muted { "None: no order has raised a fraud signal." }
            } @else {
                p.muted { "Orders a fraud signal fired on. click_reuse: the order's click id had already attributed its orders, so it did not attribute this one; the others hold the commission until you decide." }
                table {
                    thead { tr { th { "Order" } th.num { "Amount" } th { "Signals" } th { "Commission" } } }
                    tbody {
                        @for view in &signalled {
                            @let c = &view.conversion;
                            tr {
                                td { code { (c.order_id.as_str()) } }
                                td.num { (money(c.amount.amount(), currency)) }
                                td { @for signal in &c.signals { span.badge { (signal.as_str()) } " " } }
                                td {
                                    @if c.attribution.is_none() { "unattributed" }
                                    @else if c.voided_at.is_some() { "voided" }
                                    @else if c.is_held() { "held" }
                                    @else if c.approved_at.is_some() { "approved" }
                                    @else { "pending" }
                                }
                            }
                        }
                    }
                }
            }
        }
        (breakdowns)
        div.columns {
            section.card {
                h2 { "Programs" }
                @if mine.is_empty() { p.muted { "No programs yet." } }
                ul.plain {
                    @for program in &mine {
                        li {
                            strong { (program.name.as_str()) }
                            " · " (commission_text(program))
                            " · " (program.cookie_window.days()) "-day window"
                            @if !program.is_active { " " span.badge { "closed" } }
                        }
                    }
                }
            }
            section.card {
                h2 { "Top links" }
                @if top.is_empty() {
                    p.muted { "No sale has come through a link yet." }
                } @else {
                    table {
                        thead { tr { th { "Link" } th.num { "Sales" } th.num { "Revenue" } th.num { "Commission" } } }
                        tbody {
                            @for link in &top {
                                tr {
                                    td { code { (link.slug.as_str()) } }
                                    td.num { (count(link.conversions)) }
                                    td.num { (money(link.revenue, currency)) }
                                    td.num { (money(link.commission, currency)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Products " span.muted { "(" (catalogue.len()) ")" } }
            @if catalogue.is_empty() { p.muted { "No products yet." } }
            @else {
                table {
                    thead { tr { th { "Product" } th { "Program" } th.num { "Price" } th { "Stock" } } }
                    tbody {
                        @for product in &catalogue {
                            tr {
                                td { (product.name.as_str()) }
                                td { (product.program_id.and_then(|p| program_names.get(&p)).copied().unwrap_or("—")) }
                                td.num { (money(product.price.amount(), currency)) }
                                td { @if product.in_stock { "in stock" } @else { span.badge { "out" } } }
                            }
                        }
                    }
                }
            }
        }
        (statements)
        (coupon_codes)
        section.card #rejected-deliveries {
            h2 { "Rejected webhook deliveries" }
            @if rejected.is_empty() {
                p.muted { "None: every signed delivery from your shop was recorded." }
            } @else {
                p.muted { "Acknowledged so that Shopify stops retrying them, but never recorded. The newest "
                    (rejected.len()) "; all of them: " code { "GET /v1/merchant/webhook-deliveries" } "." }
                table {
                    thead { tr { th { "Received (UTC)" } th { "Topic" } th { "Reason" } th { "Details" } } }
                    tbody {
                        @for delivery in &rejected {
                            tr {
                                td { (delivery.received_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { (delivery.topic.as_ref().map_or("—", |t| t.as_str())) }
                                td { @if let Some(r) = &delivery.rejection { code { (r.reason.code()) } } }
                                td { @if let Some(r) = &delivery.rejection { (r.message) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(merchant.business_name.as_str(), Some(viewer), body).into_response())
}
