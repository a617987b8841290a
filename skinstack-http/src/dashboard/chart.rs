//! Daily charts as SVG drawn on the server: no script, no chart library, and they scale to any
//! screen through their `viewBox`. Colours come from the stylesheet (the CSP forbids inline
//! styles), by class.

use super::layout::{count, money};
use maud::{html, Markup};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use skinstack_core::earning::ledger::DailyLinkStats;
use skinstack_core::Currency;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 100.0;
/// Headroom above the best day's bar.
const TOP: f64 = 10.0;

/// One panel per measure — clicks, conversions, the influencer's earnings — over the same
/// days, so a spike in one can be read against the others. Earnings, not the gross commission:
/// the page is the influencer's, and the platform's fee is not theirs.
pub(super) fn daily(series: &[DailyLinkStats], currency: Currency) -> Markup {
    let clicks: Vec<f64> = series.iter().map(|d| d.clicks as f64).collect();
    let conversions: Vec<f64> = series.iter().map(|d| d.conversions as f64).collect();
    let earnings: Vec<f64> = series
        .iter()
        .map(|d| d.earnings.to_f64().unwrap_or(0.0))
        .collect();
    let total_clicks: i64 = series.iter().map(|d| d.clicks).sum();
    let total_conversions: i64 = series.iter().map(|d| d.conversions).sum();
    let total_earnings: Decimal = series.iter().map(|d| d.earnings).sum();
    html! {
        div.charts {
            (panel(series, "Clicks", &count(total_clicks), "clicks", &clicks, |v| count(v as i64)))
            (panel(series, "Conversions", &count(total_conversions), "conversions", &conversions, |v| count(v as i64)))
            (panel(series, "Your earnings", &money(total_earnings, currency), "earnings", &earnings, |v| {
                money(Decimal::from_f64_retain(v).unwrap_or_default(), currency)
            }))
        }
    }
}

fn panel(
    series: &[DailyLinkStats],
    title: &str,
    total: &str,
    class: &str,
    values: &[f64],
    label: impl Fn(f64) -> String,
) -> Markup {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let n = values.len().max(1) as f64;
    let slot = WIDTH / n;
    let bar = (slot * 0.7).max(1.0);
    let plot = HEIGHT - TOP;
    let first = series.first().map(|d| d.day.format("%b %-d").to_string());
    let last = series.last().map(|d| d.day.format("%b %-d").to_string());
    // The SVG stretches to its box (bars may widen, nothing else is drawn in it), so every
    // text stays HTML and keeps its size on a phone.
    html! {
        figure.chart {
            figcaption {
                span.title { (title) } " " span.total { (total) }
                @if max > 0.0 { span.muted { " · best day " (label(max)) } }
            }
            div.plot {
                svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(format!("{title} per day, {total} in all")) preserveAspectRatio="none" {
                    line.grid x1="0" y1=(TOP) x2=(WIDTH) y2=(TOP) vector-effect="non-scaling-stroke" {}
                    line.axis x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) vector-effect="non-scaling-stroke" {}
                    @for (i, (value, day)) in values.iter().zip(series).enumerate() {
                        @let h = if *value > 0.0 { (value / scale * plot).max(2.0) } else { 0.0 };
                        rect class=(format!("bar {class}")) x=(format!("{:.1}", i as f64 * slot + (slot - bar) / 2.0))
                            y=(format!("{:.1}", HEIGHT - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                            title { (day.day.format("%b %-d")) ": " (label(*value)) }
                        }
                    }
                }
                @if max == 0.0 { span.empty { "None yet" } }
            }
            div.days { span { (first.unwrap_or_default()) } span { (last.unwrap_or_default()) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// A day whose gross commission is `earnings` plus the platform's fee (20 % of the gross),
    /// so a chart of the commission would show other numbers.
    fn day(d: u32, clicks: i64, earnings: i64) -> DailyLinkStats {
        DailyLinkStats {
            day: NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default(),
            clicks,
            conversions: i64::from(earnings > 0),
            revenue: Decimal::new(earnings * 25, 1),
            commission: Decimal::new(earnings * 125, 2),
            earnings: Decimal::new(earnings, 0),
        }
    }

    #[test]
    fn the_tallest_bar_is_the_busiest_day_and_empty_days_have_none() {
        let svg = daily(&[day(1, 0, 0), day(2, 10, 3), day(3, 5, 0)], Currency::USD).into_string();
        assert_eq!(svg.matches("<svg").count(), 3);
        // The busiest day fills the plot (100 - 10 = 90 units); half as busy is half.
        assert!(
            svg.contains("height=\"90.0\"><title>Mar 2: 10</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("height=\"45.0\"><title>Mar 3: 5</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("height=\"0.0\"><title>Mar 1: 0</title>"),
            "{svg}"
        );
        assert!(svg.contains("Your earnings"), "{svg}");
        assert!(svg.contains("<title>Mar 2: $3.00</title>"), "{svg}");
        assert!(!svg.contains("$3.75"), "not the gross commission: {svg}");
        assert!(svg.contains("15</span>"), "total clicks: {svg}");
        assert!(svg.contains("best day 10"), "{svg}");
        assert_eq!(
            daily(&[day(1, 0, 0)], Currency::USD)
                .into_string()
                .matches("None yet")
                .count(),
            3
        );
    }
}
