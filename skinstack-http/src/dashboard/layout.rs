//! The page shell every dashboard page shares, and small formatting helpers.

use super::session::Viewer;
use maud::{html, Markup, DOCTYPE};
use rust_decimal::Decimal;
use skinstack_core::Currency;

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

/// `amount` in `currency`'s convention (`$1,234.50`, `€1.234,50`, `¥1,235`), by
/// [`Currency::format`].
pub(super) fn money(amount: Decimal, currency: Currency) -> String {
    currency.format(amount)
}

/// A fraction as a percentage, every place it has and no trailing zeros: a conversion rate
/// of `0.0125` (rounded by core to four places) is `1.25%`, `0.5` is `50%`. Not rounded again
/// here, so the page shows the rate the API gives.
pub(super) fn percent(fraction: Decimal) -> String {
    format!("{}%", (fraction * Decimal::ONE_HUNDRED).normalize())
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
    fn amounts_read_in_their_currency_and_counts_are_grouped() {
        let usd = Currency::USD;
        assert_eq!(money(Decimal::new(123_450, 2), usd), "$1,234.50");
        assert_eq!(money(Decimal::new(5, 1), usd), "$0.50");
        assert_eq!(money(Decimal::ZERO, usd), "$0.00");
        assert_eq!(money(Decimal::new(-1_000_000, 2), usd), "-$10,000.00");
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(money(Decimal::new(123_450, 2), eur), "€1.234,50");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(money(Decimal::new(123_500, 2), jpy), "¥1,235");
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-12), "−12");
        assert_eq!(percent(Decimal::new(125, 4)), "1.25%");
        assert_eq!(percent(Decimal::new(3333, 4)), "33.33%");
        assert_eq!(percent(Decimal::new(5, 1)), "50%");
        assert_eq!(percent(Decimal::ZERO), "0%");
    }
}
