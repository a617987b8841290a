//! The merchant's statements (invoices) on the dashboard: what it owes, each statement's
//! totals and payment, and its CSV, read through [`skinstack_core::service::invoices`] with
//! the API's ownership rule.

use super::layout::money;
use super::session::Viewer;
use super::PageError;
use crate::routes::invoices::{csv_attachment, statement_csv};
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use skinstack_core::service::invoices;
use skinstack_core::{Merchant, StatementId, StatementStatus};
use uuid::Uuid;

/// Statements shown, newest first; a merchant gets one a month per currency, so this is
/// two years (the API pages through the rest).
const SHOWN: usize = 24;

/// The merchant's statements section: the amount due, then the newest statements.
pub(super) async fn merchant_section(
    state: &ApiState,
    merchant: &Merchant,
) -> Result<Markup, PageError> {
    let all = invoices::all_statements_of(&*state.store, merchant.id).await?;
    let due = skinstack_core::earning::amount_due(&all);
    let currency = merchant.currency;
    Ok(html! {
        section.card #statements {
            h2 { "Statements" }
            @if all.is_empty() {
                p.muted { "None yet: approved commissions are billed once a month." }
            } @else {
                p { "Due: " strong { (money(due, currency)) } }
                p.muted { "Each statement bills the commissions approved in its month; a refund after it was issued is a credit on the next one. Influencers are paid once a statement is paid." }
                table {
                    thead { tr { th { "Month" } th { "Status" } th.num { "Lines" } th.num { "Commission" } th.num { "Due" } th { "Paid" } th { "CSV" } } }
                    tbody {
                        @for s in all.iter().rev().take(SHOWN) {
                            tr {
                                td { (s.period.to_string()) }
                                td {
                                    @match s.status {
                                        StatementStatus::Issued => span.badge { "issued" },
                                        StatementStatus::Paid => "paid",
                                    }
                                }
                                td.num { (s.lines.len()) }
                                td.num { (money(s.total().gross, currency)) }
                                td.num { (money(s.amount_due(), currency)) }
                                td {
                                    @if let (Some(at), Some(reference)) = (s.paid_at, &s.payment_reference) {
                                        (at.format("%Y-%m-%d")) " · " code { (reference.as_str()) }
                                    } @else { "—" }
                                }
                                td { a href=(format!("/dashboard/statements/{}/csv", s.id)) { "Download" } }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `GET /dashboard/statements/{id}/csv`: one of the merchant's statements as the API's CSV;
/// another merchant's is a 404, as if it did not exist.
pub(super) async fn csv(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| PageError::NotFound)?;
    let statement =
        invoices::merchant_statement(&*state.store, &viewer.actor, StatementId::from_uuid(id))
            .await?;
    let csv = statement_csv(&statement).map_err(|err| PageError::Internal(Box::new(err)))?;
    Ok(csv_attachment(&statement, csv).into_response())
}
