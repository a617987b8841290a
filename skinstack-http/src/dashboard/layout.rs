//! The page shell every dashboard page shares, and small formatting helpers.

use super::session::Viewer;
use maud::{html, Markup, DOCTYPE};
use rust_decimal::Decimal;

/// A whole page: head, header with the account and a logout button, then `body`.
pub(super) fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) " · SkinStack" }
                link rel="stylesheet" href=(super::assets::STYLESHEET);
                script src=(super::assets::SCRIPT) defer {}
            }
            body {
                header.top {
                    a.brand href="/dashboard" { span.logo aria-hidden="true" { "◐" } "SkinStack" }
                    @if let Some(viewer) = viewer {
                        nav.sections aria-label="Sections" {
                            @match viewer.actor.role() {
                                skinstack_core::Role::Influencer => {
                                    a href="/dashboard" { "Links" }
                                    a href="/dashboard/programs" { "Programs" }
                                }
                                skinstack_core::Role::Merchant => {
                                    a href="/dashboard" { "Overview" }
                                    a href="/dashboard/applications" { "Applications" }
                                    a href="/dashboard/members" { "Members" }
                                }
                                skinstack_core::Role::Admin => {}
                            }
                        }
                    }
                    @if let Some(viewer) = viewer {
                        div.account {
                            span.who { (viewer.actor.user().email.as_str()) }
                            form method="post" action="/dashboard/logout" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button.link type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// `$1,234.50` from a decimal amount in dollars (negative amounts keep their sign).
pub(super) fn dollars(amount: Decimal) -> String {
    let rounded = amount.round_dp(2);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{}${grouped}.{cents}", if negative { "−" } else { "" })
}

/// `1,234` for counters.
pub(super) fn count(value: i64) -> String {
    let text = value.unsigned_abs().to_string();
    let mut out = String::new();
    if value < 0 {
        out.push('−');
    }
    for (i, digit) in text.chars().enumerate() {
        if i > 0 && (text.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_dollars_and_counts_are_grouped() {
        assert_eq!(dollars(Decimal::new(123_450, 2)), "$1,234.50");
        assert_eq!(dollars(Decimal::new(5, 1)), "$0.50");
        assert_eq!(dollars(Decimal::ZERO), "$0.00");
        assert_eq!(dollars(Decimal::new(-1_000_000, 2)), "−$10,000.00");
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-12), "−12");
    }
}
