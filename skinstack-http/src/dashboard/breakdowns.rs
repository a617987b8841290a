//! The breakdowns over the last [`CHART_DAYS`] days: for the influencer, where the clicks of
//! all their links (home page) or of one link (its page) come from — app, device, country, QR
//! code or link; for the merchant, which members, products and countries sell.
//!
//! The figures come from [`skinstack_core::service::analytics`], whose ownership rules are the
//! API's, and read roll-ups only. Each chart is an SVG bar chart ([`chart::bars`]) with the
//! same numbers again in a table under it, with the conversion rate and EPC beside the counts:
//! the table is what a screen reader reads and where exact figures are looked up.

use super::influencer::CHART_DAYS;
use super::layout::{count, money, percent};
use super::session::Viewer;
use super::{chart, PageError};
use crate::state::ApiState;
use maud::{html, Markup};
use skinstack_core::service::analytics::{self, Breakdown, OTHERS};
use skinstack_core::service::statements::DayRange;
use skinstack_core::service::ServiceError;
use skinstack_core::tracking::breakdown::{sum_rows, BreakdownRow, COUPON, NONE};
use skinstack_core::tracking::{Device, Dimension, Platform, Scope};
use skinstack_core::{ClickSource, Country, Currency, LinkId, Merchant};
use std::collections::HashMap;

/// Values charted per breakdown; the rest are left to the API (the page says how many).
const ROWS: usize = 8;
/// Members ranked on the merchant's page, each with a sparkline of their clicks.
const MEMBERS: usize = 10;
/// Products and countries listed on the merchant's page.
const MERCHANT_ROWS: usize = 10;

/// Where clicks come from, in the order the sections show them.
const VISITOR: [(Dimension, &str, &str); 4] = [
    (Dimension::Platform, "Top platforms", "Platform"),
    (Dimension::Device, "Devices", "Device"),
    (Dimension::Country, "Countries", "Country"),
    (Dimension::Source, "QR code or link", "Source"),
];

/// The days every section covers, ending today (UTC).
fn range(state: &ApiState) -> Result<DayRange, PageError> {
    // Only a clock set beyond year 9999 fails here: a bug of the host.
    Ok(DayRange::last(CHART_DAYS, state.now().date_naive())?)
}

/// The influencer's home page section: every link's clicks together. EPC is in the
/// influencer's primary currency when a row has clicks but no sale yet.
pub(super) async fn influencer_section(
    state: &ApiState,
    viewer: &Viewer,
    currency: Currency,
) -> Result<Markup, PageError> {
    let range = range(state)?;
    let mut breakdowns = Vec::with_capacity(VISITOR.len());
    for (dimension, ..) in VISITOR {
        let breakdown =
            analytics::influencer_breakdown(&*state.store, &viewer.actor, dimension, range).await?;
        breakdowns.push(breakdown);
    }
    Ok(visitor_section(
        "Where your clicks come from",
        &breakdowns,
        currency,
    ))
}

/// A link's page section: that link's clicks only. Someone else's link is `NotFound`.
pub(super) async fn link_section(
    state: &ApiState,
    viewer: &Viewer,
    link: LinkId,
    currency: Currency,
) -> Result<Markup, PageError> {
    let range = range(state)?;
    let mut breakdowns = Vec::with_capacity(VISITOR.len());
    for (dimension, ..) in VISITOR {
        let breakdown =
            analytics::link_breakdown(&*state.store, &viewer.actor, link, dimension, range).await?;
        breakdowns.push(breakdown);
    }
    Ok(visitor_section(
        "Where this link's clicks come from",
        &breakdowns,
        currency,
    ))
}

/// `breakdowns` in the order of [`VISITOR`], under a row of totals (from the source
/// breakdown: every click and conversion is under exactly one source).
fn visitor_section(heading: &str, breakdowns: &[Breakdown], currency: Currency) -> Markup {
    let source = breakdowns
        .iter()
        .find(|b| b.dimension == Dimension::Source)
        .map_or(&[][..], |b| b.rows.as_slice());
    let all = total(source);
    html! {
        section.card.breakdowns #breakdowns {
            h2 { (heading) " " span.muted { "· last " (CHART_DAYS) " days" } }
            @if all.clicks == 0 && all.conversions == 0 {
                p.muted { "No clicks in the last " (CHART_DAYS) " days yet: once people open your links, this shows which apps, devices and countries they come from." }
            } @else {
                dl.counters.totals aria-label="Totals" {
                    div { dt { "Clicks" } dd { (count(all.clicks)) } }
                    div { dt { "QR scans" } dd { (count(all.qr_scans)) } }
                    div { dt { "Sales" } dd { (count(all.conversions)) } }
                    div { dt { abbr title="Conversion rate: sales per click" { "Conv. rate" } } dd { (rate_text(&all)) } }
                    div { dt { abbr title="Your earnings per 100 clicks" { "EPC" } } dd { (epc_text(&all, currency)) } }
                }
                div.breakdown-grid {
                    @for ((_, title, column), breakdown) in VISITOR.iter().zip(breakdowns) {
                        @let totals = Totals { clicks: all.clicks, currency };
                        @let panel = Panel {
                            title,
                            chart_name: &format!("{title} by clicks"),
                            column,
                            breakdown,
                            bars: click_bars(breakdown, ROWS, all.clicks),
                            figures: &[Figure::Clicks, Figure::Share, Figure::Sales, Figure::Rate, Figure::Epc],
                            sparklines: None,
                        };
                        (panel.render(&totals))
                    }
                }
            }
        }
    }
}

/// The merchant's section: members ranked by revenue (each with a sparkline of their clicks
/// per day), the products that sell, and the countries clicks come from, in every program of
/// `merchant` (the viewer's own, which [`analytics::merchant_breakdown`] checks again).
pub(super) async fn merchant_section(
    state: &ApiState,
    viewer: &Viewer,
    merchant: &Merchant,
) -> Result<Markup, PageError> {
    let store = &*state.store;
    let actor = &viewer.actor;
    let range = range(state)?;
    let currency = merchant.currency;
    let revenue_of = |row: &BreakdownRow| {
        row.money
            .iter()
            .filter(|m| m.currency == currency)
            .map(|m| m.revenue)
            .sum::<rust_decimal::Decimal>()
    };
    // Best sellers first; the row summing the values beyond the API's cap stays last, as it
    // is no single member or product.
    let by_revenue = |mut breakdown: Breakdown| {
        breakdown.rows.sort_by(|a, b| {
            (a.value == OTHERS)
                .cmp(&(b.value == OTHERS))
                .then(revenue_of(b).cmp(&revenue_of(a)))
        });
        breakdown
    };
    let members =
        by_revenue(analytics::merchant_breakdown(store, actor, Dimension::Member, range).await?);
    let products =
        by_revenue(analytics::merchant_breakdown(store, actor, Dimension::Product, range).await?);
    let countries = analytics::merchant_breakdown(store, actor, Dimension::Country, range).await?;
    let shown: Vec<&str> = members
        .rows
        .iter()
        .take(MEMBERS)
        .map(|r| r.value.as_str())
        .filter(|v| *v != OTHERS)
        .collect();
    let sparklines = member_daily_clicks(state, merchant, &shown, range).await?;
    let clicks: i64 = countries.rows.iter().map(|r| r.clicks).sum();
    let totals = Totals { clicks, currency };
    let revenue_bars = |breakdown: &Breakdown, limit: usize| -> Vec<chart::Bar> {
        breakdown
            .rows
            .iter()
            .take(limit)
            .map(|row| chart::Bar {
                label: value_name(breakdown.dimension, row),
                value: rust_decimal::prelude::ToPrimitive::to_f64(&revenue_of(row)).unwrap_or(0.0),
                figure: money(revenue_of(row), currency),
            })
            .collect()
    };
    let nothing = members.rows.is_empty() && products.rows.is_empty() && countries.rows.is_empty();
    Ok(html! {
        section.card.breakdowns #breakdowns {
            h2 { "Who sells " span.muted { "· last " (CHART_DAYS) " days" } }
            @if nothing {
                p.muted { "No clicks or sales in the last " (CHART_DAYS) " days yet: once your members' links are opened, this ranks them, your products and the countries their shoppers are in." }
            } @else {
                div.breakdown-grid {
                    (Panel {
                        title: "Members by revenue",
                        chart_name: "Members by revenue",
                        column: "Member",
                        breakdown: &members,
                        bars: revenue_bars(&members, MEMBERS),
                        figures: &[Figure::Revenue, Figure::Sales, Figure::Clicks, Figure::Rate, Figure::Epc],
                        sparklines: Some(&sparklines),
                    }.render(&totals))
                    (Panel {
                        title: "Top products",
                        chart_name: "Products by revenue",
                        column: "Product",
                        breakdown: &products,
                        bars: revenue_bars(&products, MERCHANT_ROWS),
                        figures: &[Figure::Revenue, Figure::Sales, Figure::Clicks, Figure::Rate],
                        sparklines: None,
                    }.render(&totals))
                    (Panel {
                        title: "Countries",
                        chart_name: "Countries by clicks",
                        column: "Country",
                        breakdown: &countries,
                        bars: click_bars(&countries, MERCHANT_ROWS, clicks),
                        figures: &[Figure::Clicks, Figure::Share, Figure::Sales, Figure::Revenue],
                        sparklines: None,
                    }.render(&totals))
                }
            }
        }
    })
}

/// Each of the `members`' human clicks per day of `range`, in `merchant`'s programs only.
///
/// One roll-up read per day — the merchant's clicks of that day split by member — so a page
/// costs [`CHART_DAYS`] reads whatever the number of members or of their links (summing each
/// member's links instead would cost a read per link). The scope is the merchant the service
/// layer just found to be the viewer's own, so no one else's clicks can be read.
async fn member_daily_clicks(
    state: &ApiState,
    merchant: &Merchant,
    members: &[&str],
    range: DayRange,
) -> Result<Sparklines, PageError> {
    let mut series: Sparklines = members
        .iter()
        .map(|m| ((*m).to_owned(), Vec::new()))
        .collect();
    if series.is_empty() {
        return Ok(series);
    }
    let days = range
        .from()
        .iter_days()
        .take_while(|day| *day <= range.to());
    for day in days {
        let rows = state
            .store
            .click_breakdown(Scope::Merchant(merchant.id), Dimension::Member, day, day)
            .await
            .map_err(ServiceError::from)?;
        for days in series.values_mut() {
            days.push((day, 0));
        }
        for row in rows {
            if let Some((_, clicks)) = series.get_mut(&row.value).and_then(|d| d.last_mut()) {
                *clicks = row.counts.clicks;
            }
        }
    }
    Ok(series)
}

/// A column of a breakdown's table.
#[derive(Debug, Clone, Copy)]
enum Figure {
    Clicks,
    Share,
    Sales,
    Rate,
    Epc,
    Revenue,
}

/// What the cells of a table are measured against.
struct Totals {
    /// Human clicks over every row (shares are of them).
    clicks: i64,
    /// The currency of a zero amount (EPC or revenue of a row without sales).
    currency: Currency,
}

impl Figure {
    /// The cells' class: the share is left out on a phone (the chart shows it).
    fn class(self) -> &'static str {
        match self {
            Figure::Share => "num share",
            _ => "num",
        }
    }

    fn head(self) -> Markup {
        match self {
            Figure::Clicks => html! { "Clicks" },
            Figure::Share => html! { "Share" },
            Figure::Sales => html! { "Sales" },
            Figure::Rate => html! { abbr title="Conversion rate: sales per click" { "Conv." } },
            Figure::Epc => html! { abbr title="Earnings per 100 clicks" { "EPC" } },
            Figure::Revenue => html! { "Revenue" },
        }
    }

    fn cell(self, row: &BreakdownRow, totals: &Totals) -> String {
        match self {
            Figure::Clicks => count(row.clicks),
            Figure::Share => share(row.clicks, totals.clicks),
            Figure::Sales => count(row.conversions),
            Figure::Rate => rate_text(row),
            Figure::Epc => epc_text(row, totals.currency),
            Figure::Revenue => revenue_text(row, totals.currency),
        }
    }
}

/// Daily clicks of some of a breakdown's values, by value.
type Sparklines = HashMap<String, Vec<(chrono::NaiveDate, i64)>>;

/// One breakdown as shown: caption, chart, and the table of the same rows.
struct Panel<'a> {
    /// The caption.
    title: &'a str,
    /// The chart's accessible name, saying what the bars measure.
    chart_name: &'a str,
    /// The head of the table's first column (what the values are).
    column: &'a str,
    breakdown: &'a Breakdown,
    /// One per row shown, in order: the table lists as many rows as the chart has bars.
    bars: Vec<chart::Bar>,
    /// The table's other columns.
    figures: &'a [Figure],
    /// Drawn under the names of the rows that have one.
    sparklines: Option<&'a Sparklines>,
}

impl Panel<'_> {
    fn render(&self, totals: &Totals) -> Markup {
        let dimension = self.breakdown.dimension;
        let rows = &self.breakdown.rows;
        let shown = self.bars.len();
        let class = format!("bars {}", dimension.as_str());
        html! {
            figure class=(class) {
                figcaption { (self.title) }
                @if rows.is_empty() {
                    p.muted.empty { "None yet" }
                } @else {
                    (chart::bars(self.chart_name, &self.bars))
                    table.figures {
                        thead {
                            tr {
                                th scope="col" { (self.column) }
                                @for f in self.figures { th class=(f.class()) scope="col" { (f.head()) } }
                            }
                        }
                        tbody {
                            @for row in rows.iter().take(shown) {
                                tr {
                                    th scope="row" {
                                        (value_name(dimension, row))
                                        @if let Some(days) = self.sparklines.and_then(|s| s.get(&row.value)) {
                                            (chart::sparkline("Clicks", days))
                                        }
                                    }
                                    @for f in self.figures { td class=(f.class()) { (f.cell(row, totals)) } }
                                }
                            }
                        }
                    }
                    @if rows.len() > shown {
                        p.hint { "The top " (shown) " of " (rows.len()) "." }
                    }
                }
            }
        }
    }
}

/// The first `limit` rows' bars by human clicks, each with its count and share of `all`.
fn click_bars(breakdown: &Breakdown, limit: usize, all: i64) -> Vec<chart::Bar> {
    breakdown
        .rows
        .iter()
        .take(limit)
        .map(|row| chart::Bar {
            label: value_name(breakdown.dimension, row),
            value: row.clicks as f64,
            figure: format!("{} · {}", count(row.clicks), share(row.clicks, all)),
        })
        .collect()
}

/// Every row summed into one, with its rates by core's rule.
fn total(rows: &[BreakdownRow]) -> BreakdownRow {
    sum_rows("", rows)
}

/// `part` of `whole` in whole percent (`<1%` for a sliver), `—` without a whole.
fn share(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".to_owned();
    }
    let rounded = (part.saturating_mul(100) + whole / 2) / whole;
    if rounded == 0 && part > 0 {
        "<1%".to_owned()
    } else {
        format!("{rounded}%")
    }
}

/// The conversion rate, `—` without clicks.
fn rate_text(row: &BreakdownRow) -> String {
    row.conversion_rate.map_or_else(|| "—".to_owned(), percent)
}

/// EPC in each currency with sales; zero in `currency` for clicks that sold nothing yet, `—`
/// without clicks. Amounts of two currencies are listed, never added.
fn epc_text(row: &BreakdownRow, currency: Currency) -> String {
    if row.clicks <= 0 {
        return "—".to_owned();
    }
    let each: Vec<String> = row
        .money
        .iter()
        .filter_map(|m| m.epc.map(|epc| money(epc, m.currency)))
        .collect();
    if each.is_empty() {
        money(rust_decimal::Decimal::ZERO, currency)
    } else {
        each.join(" · ")
    }
}

/// Revenue in each currency with sales, zero in `currency` without any.
fn revenue_text(row: &BreakdownRow, currency: Currency) -> String {
    if row.money.is_empty() {
        return money(rust_decimal::Decimal::ZERO, currency);
    }
    row.money
        .iter()
        .map(|m| money(m.revenue, m.currency))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The name a reader knows a row's value by: an app, a device, a country's name, a product or
/// a member. The one place the dashboard names values, so charts and tables agree.
fn value_name(dimension: Dimension, row: &BreakdownRow) -> String {
    if row.value == OTHERS {
        return "Others".to_owned();
    }
    let value = row.value.as_str();
    let named: Option<&str> = match dimension {
        Dimension::Platform if value == NONE => Some("Browser (no app)"),
        Dimension::Platform => Platform::parse(value).ok().map(platform_name),
        Dimension::Device => Device::parse(value).ok().map(|d| match d {
            Device::Mobile => "Phone",
            Device::Tablet => "Tablet",
            Device::Desktop => "Computer",
            Device::Other => "Other",
        }),
        Dimension::Source if value == COUPON => Some("Coupon code"),
        Dimension::Source if value == ClickSource::Qr.as_str() => Some("QR code"),
        Dimension::Source if value == ClickSource::Link.as_str() => Some("Link"),
        Dimension::Country if value == NONE => Some("Unknown"),
        Dimension::Country => {
            return Country::parse(value)
                .map(|c| country_name(&c).to_owned())
                .unwrap_or_else(|_| value.to_owned())
        }
        Dimension::Product if value == NONE => Some("No product (the shop's site)"),
        Dimension::Product => Some(row.label.as_deref().unwrap_or("A removed product")),
        Dimension::Member => Some(row.label.as_deref().unwrap_or("A former member")),
        Dimension::Link => Some(row.label.as_deref().unwrap_or("A deleted link")),
        _ => None,
    };
    named.unwrap_or(value).to_owned()
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Instagram => "Instagram",
        Platform::Threads => "Threads",
        Platform::Facebook => "Facebook",
        Platform::TikTok => "TikTok",
        Platform::Pinterest => "Pinterest",
        Platform::Snapchat => "Snapchat",
        Platform::YouTube => "YouTube",
        Platform::X => "X",
        Platform::LinkedIn => "LinkedIn",
        Platform::WeChat => "WeChat",
        Platform::Line => "LINE",
        Platform::Reddit => "Reddit",
    }
}

/// The country's name as people say it: ISO 3166's English short name, except where that
/// is a formal one nobody reads on a dashboard.
fn country_name(country: &Country) -> &'static str {
    let code = country.as_str();
    let common = match code {
        "US" => "United States",
        "GB" => "United Kingdom",
        "KR" => "South Korea",
        "KP" => "North Korea",
        "RU" => "Russia",
        "VN" => "Vietnam",
        "TW" => "Taiwan",
        "IR" => "Iran",
        "BO" => "Bolivia",
        "VE" => "Venezuela",
        "TZ" => "Tanzania",
        "MD" => "Moldova",
        "SY" => "Syria",
        "LA" => "Laos",
        "MK" => "North Macedonia",
        "CD" => "DR Congo",
        "PS" => "Palestine",
        "BN" => "Brunei",
        "FM" => "Micronesia",
        _ => "",
    };
    if !common.is_empty() {
        return common;
    }
    // `Country` holds only codes of this table, so the lookup does not fail.
    isocountry::CountryCode::for_alpha2(code).map_or("Unknown", |c| c.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn row(value: &str, clicks: i64) -> BreakdownRow {
        BreakdownRow {
            value: value.to_owned(),
            label: None,
            clicks,
            qr_scans: 0,
            robot_hits: 0,
            conversions: 0,
            conversion_rate: None,
            money: Vec::new(),
        }
    }

    #[test]
    fn values_read_as_names() {
        let name = |d, v: &str| value_name(d, &row(v, 1));
        assert_eq!(name(Dimension::Platform, "instagram"), "Instagram");
        assert_eq!(name(Dimension::Platform, "tiktok"), "TikTok");
        assert_eq!(name(Dimension::Platform, "none"), "Browser (no app)");
        assert_eq!(name(Dimension::Device, "mobile"), "Phone");
        assert_eq!(name(Dimension::Source, "qr"), "QR code");
        assert_eq!(name(Dimension::Source, "coupon"), "Coupon code");
        assert_eq!(name(Dimension::Country, "DE"), "Germany");
        assert_eq!(name(Dimension::Country, "US"), "United States");
        assert_eq!(name(Dimension::Country, "none"), "Unknown");
        assert_eq!(name(Dimension::Member, "*"), "Others");
        assert_eq!(
            name(Dimension::Product, "none"),
            "No product (the shop's site)"
        );
        // Every platform core knows has a name of its own.
        for platform in Platform::ALL {
            assert_ne!(
                name(Dimension::Platform, platform.as_str()),
                platform.as_str()
            );
        }
    }

    #[test]
    fn shares_round_to_whole_percent_and_slivers_still_show() {
        assert_eq!(share(1, 3), "33%");
        assert_eq!(share(2, 3), "67%");
        assert_eq!(share(1, 1000), "<1%");
        assert_eq!(share(0, 10), "0%");
        assert_eq!(share(0, 0), "—");
    }

    #[test]
    fn totals_sum_rows_and_take_their_rates_from_core() {
        let mut sold = row("link", 40);
        sold.qr_scans = 0;
        sold.conversions = 1;
        sold.money = vec![skinstack_core::tracking::breakdown::MoneyFigures {
            currency: Currency::USD,
            conversions: 1,
            revenue: Decimal::new(3850, 2),
            commission: Decimal::new(770, 2),
            earnings: Decimal::new(616, 2),
            epc: None,
        }];
        let mut scans = row("qr", 10);
        scans.qr_scans = 10;
        let all = total(&[sold, scans]);
        assert_eq!((all.clicks, all.qr_scans, all.conversions), (50, 10, 1));
        assert_eq!(rate_text(&all), "2%");
        // 6.16 over 50 clicks is 12.32 per 100.
        assert_eq!(epc_text(&all, Currency::USD), "$12.32");
        assert_eq!(epc_text(&row("x", 5), Currency::USD), "$0.00");
        assert_eq!(epc_text(&row("x", 0), Currency::USD), "—");
        assert_eq!(total(&[]).clicks, 0);
    }
}
