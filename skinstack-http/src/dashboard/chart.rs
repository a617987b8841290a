//! Daily charts as SVG drawn on the server: no script, no chart library, and they scale to any
//! screen through their `viewBox`. Colours come from the stylesheet (the CSP forbids inline
//! styles), by class.

use super::layout::{count, dollars};
use maud::{html, Markup};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use skinstack_core::ledger::DailyLinkStats;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 18.0;

/// One panel per measure — clicks, conversions, commission — over the same days, so a spike
/// in one can be read against the others.
pub(super) fn daily(series: &[DailyLinkStats]) -> Markup {
    let clicks: Vec<f64> = series.iter().map(|d| d.clicks as f64).collect();
    let conversions: Vec<f64> = series.iter().map(|d| d.conversions as f64).collect();
    let commission: Vec<f64> = series
        .iter()
        .map(|d| d.commission.to_f64().unwrap_or(0.0))
        .collect();
    let total_clicks: i64 = series.iter().map(|d| d.clicks).sum();
    let total_conversions: i64 = series.iter().map(|d| d.conversions).sum();
    let total_commission: Decimal = series.iter().map(|d| d.commission).sum();
    html! {
        div.charts {
            (panel(series, "Clicks", &count(total_clicks), "clicks", &clicks, |v| count(v as i64)))
            (panel(series, "Conversions", &count(total_conversions), "conversions", &conversions, |v| count(v as i64)))
            (panel(series, "Commission", &dollars(total_commission), "commission", &commission, |v| {
                dollars(Decimal::from_f64_retain(v).unwrap_or_default())
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
    let plot = HEIGHT - TOP - BOTTOM;
    let first = series.first().map(|d| d.day.format("%b %-d").to_string());
    let last = series.last().map(|d| d.day.format("%b %-d").to_string());
    html! {
        figure.chart {
            figcaption { span.title { (title) } " " span.total { (total) } span.muted { " · last " (series.len()) " days" } }
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(format!("{title} per day, {total} in all")) preserveAspectRatio="none" {
                line.axis x1="0" y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
                line.grid x1="0" y1=(TOP) x2=(WIDTH) y2=(TOP) {}
                text.label x="2" y=(TOP - 6.0) { "max " (label(max)) }
                @for (i, (value, day)) in values.iter().zip(series).enumerate() {
                    @let h = if *value > 0.0 { (value / scale * plot).max(2.0) } else { 0.0 };
                    rect class=(format!("bar {class}")) x=(format!("{:.1}", i as f64 * slot + (slot - bar) / 2.0))
                        y=(format!("{:.1}", HEIGHT - BOTTOM - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                        title { (day.day.format("%b %-d")) ": " (label(*value)) }
                    }
                }
                @if let Some(first) = first { text.label x="2" y=(HEIGHT - 4.0) { (first) } }
                @if let Some(last) = last { text.label.end x=(WIDTH - 2.0) y=(HEIGHT - 4.0) { (last) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(d: u32, clicks: i64, commission: i64) -> DailyLinkStats {
        DailyLinkStats {
            day: NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default(),
            clicks,
            conversions: i64::from(commission > 0),
            revenue: Decimal::new(commission * 5, 0),
            commission: Decimal::new(commission, 0),
        }
    }

    #[test]
    fn the_tallest_bar_is_the_busiest_day_and_empty_days_have_none() {
        let svg = daily(&[day(1, 0, 0), day(2, 10, 3), day(3, 5, 0)]).into_string();
        assert_eq!(svg.matches("<svg").count(), 3);
        // The busiest day fills the plot (120 - 26 - 18 = 76 units); half as busy is half.
        assert!(
            svg.contains("height=\"76.0\"><title>Mar 2: 10</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("height=\"38.0\"><title>Mar 3: 5</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("height=\"0.0\"><title>Mar 1: 0</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>Mar 2: $3.00</title>"), "{svg}");
        assert!(svg.contains("15</span>"), "total clicks: {svg}");
    }
}
