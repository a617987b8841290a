//! Charts as SVG drawn on the server: no script, no chart library, and they scale to any
//! screen (the daily panels and sparklines through their `viewBox`, the bar charts through
//! percentages). Colours come from the stylesheet (the CSP forbids inline styles), by class.

use super::layout::{count, money};
use chrono::NaiveDate;
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

/// One bar of a [`bars`] chart.
pub(super) struct Bar {
    /// What the bar stands for, as a reader names it.
    pub label: String,
    /// Its length, against the longest bar of the chart.
    pub value: f64,
    /// The figure printed at its end (`120 · 48%`, `$616.00`).
    pub figure: String,
}

/// Height of one bar's row, its label above the bar, in CSS pixels.
const BAR_ROW: f64 = 34.0;
/// Characters of a label drawn in the chart; the table beside it has the whole of it.
const BAR_LABEL_CHARS: usize = 24;

/// Horizontal bars, one per row in the order given, each under its label and figure. The
/// geometry is in percentages of the SVG's width rather than a `viewBox`, so the bars stretch
/// to the container while the text keeps its size at any width (a scaled `viewBox` would
/// shrink it on a phone). The accessible name lists every bar; callers put the same numbers
/// in a table beside the chart for reading exact figures.
pub(super) fn bars(title: &str, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let summary = bars
        .iter()
        .map(|b| format!("{} {}", b.label, b.figure))
        .collect::<Vec<_>>()
        .join(", ");
    let name = format!("{title}: {summary}");
    let height = BAR_ROW * bars.len().max(1) as f64;
    html! {
        svg.bar-chart width="100%" height=(format!("{height:.0}")) role="img" aria-label=(name) {
            title { (name) }
            @for (i, bar) in bars.iter().enumerate() {
                @let top = i as f64 * BAR_ROW;
                @let share = if bar.value > 0.0 { (bar.value / scale * 100.0).max(0.5) } else { 0.0 };
                text.label x="0" y=(format!("{:.0}", top + 14.0)) { (clipped(&bar.label)) }
                text.figure x="100%" y=(format!("{:.0}", top + 14.0)) text-anchor="end" { (bar.figure) }
                rect.track x="0" y=(format!("{:.0}", top + 20.0)) width="100%" height="10" rx="3" {}
                rect.fill x="0" y=(format!("{:.0}", top + 20.0)) width=(format!("{share:.1}%")) height="10" rx="3" {}
            }
        }
    }
}

/// `label`, cut to [`BAR_LABEL_CHARS`] with an ellipsis, so that it never runs into the
/// figure on a phone.
fn clipped(label: &str) -> String {
    if label.chars().count() <= BAR_LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(BAR_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Height of a sparkline's `viewBox`; its width is one unit a day.
const SPARK_HEIGHT: f64 = 20.0;

/// A small line of `what` per day, for a table cell: no axis, the busiest day at the top.
/// Its accessible name has the total and the best day, its `<title>` every day's number.
pub(super) fn sparkline(what: &str, days: &[(NaiveDate, i64)]) -> Markup {
    let max = days.iter().map(|d| d.1).max().unwrap_or(0);
    let total: i64 = days.iter().map(|d| d.1).sum();
    let scale = if max > 0 { max as f64 } else { 1.0 };
    let width = days.len().saturating_sub(1).max(1);
    let points = days
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            let y = SPARK_HEIGHT - 1.0 - (*n as f64 / scale) * (SPARK_HEIGHT - 2.0);
            format!("{i},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let every_day = days
        .iter()
        .map(|(day, n)| format!("{} {}", day.format("%b %-d"), count(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    let name = format!(
        "{what} per day: {} in all, best day {}",
        count(total),
        count(max)
    );
    html! {
        svg.spark viewBox=(format!("0 0 {width} {SPARK_HEIGHT}")) preserveAspectRatio="none" role="img" aria-label=(name) {
            title { (name) ". " (every_day) }
            polyline points=(points) vector-effect="non-scaling-stroke" {}
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

    #[test]
    fn bars_stretch_by_percentage_and_name_every_value() {
        let svg = bars(
            "Top platforms",
            &[
                Bar {
                    label: "Instagram".into(),
                    value: 3.0,
                    figure: "3 · 60%".into(),
                },
                Bar {
                    label: "<TikTok>".into(),
                    value: 1.5,
                    figure: "2 · 40%".into(),
                },
                Bar {
                    label: "Nobody".into(),
                    value: 0.0,
                    figure: "0".into(),
                },
            ],
        )
        .into_string();
        assert!(svg.contains("role=\"img\""), "{svg}");
        assert!(
            svg.contains(
                "aria-label=\"Top platforms: Instagram 3 · 60%, &lt;TikTok&gt; 2 · 40%, Nobody 0\""
            ),
            "{svg}"
        );
        assert!(svg.contains("<title>Top platforms: Instagram"), "{svg}");
        assert!(
            svg.contains("width=\"100.0%\""),
            "the longest bar fills: {svg}"
        );
        assert!(svg.contains("width=\"50.0%\""), "half as long: {svg}");
        assert!(
            svg.contains("width=\"0.0%\""),
            "an empty value has no bar: {svg}"
        );
        assert!(!svg.contains("viewBox"), "text keeps its size: {svg}");
        assert!(svg.contains("height=\"102\""), "three rows: {svg}");
    }

    #[test]
    fn long_labels_are_cut_in_the_chart_only() {
        assert_eq!(clipped("Vitamin C Serum"), "Vitamin C Serum");
        let long = "Hyaluronic Acid Overnight Recovery Mask, 50 ml";
        let cut = clipped(long);
        assert_eq!(cut.chars().count(), BAR_LABEL_CHARS);
        assert!(cut.ends_with('…') && long.starts_with(cut.trim_end_matches('…')));
    }

    #[test]
    fn a_sparkline_puts_the_busiest_day_on_top_and_lists_every_day() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 3, n).unwrap_or_default();
        let svg = sparkline("Clicks", &[(d(1), 0), (d(2), 4), (d(3), 2)]).into_string();
        assert!(svg.contains("viewBox=\"0 0 2 20\""), "{svg}");
        assert!(svg.contains("points=\"0,19.0 1,1.0 2,10.0\""), "{svg}");
        assert!(
            svg.contains("aria-label=\"Clicks per day: 6 in all, best day 4\""),
            "{svg}"
        );
        assert!(svg.contains("Mar 1 0, Mar 2 4, Mar 3 2"), "{svg}");
        let empty = sparkline("Clicks", &[]).into_string();
        assert!(empty.contains("0 in all"), "{empty}");
    }
}
