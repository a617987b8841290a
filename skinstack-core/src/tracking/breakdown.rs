//! Breakdowns: a scope's clicks and conversions split by one dimension (where clicks come from,
//! what converts, what a click is worth), read from roll-ups so that a year of a busy link costs
//! O(days × values), never a scan of clicks.
//!
//! The rule every store follows (the contract suite proves they agree):
//! - **click dimensions** ([`Dimension::is_per_click`]) are rolled up when a click is stored,
//!   in the same transaction, by the rule of [`super::rollup`]: the closed families
//!   ([`VisitKey`]: source, device, OS, browser, in-app platform) key the daily roll-up row
//!   itself, so they cost no extra write; the open ones (country, referring domain) have rows of
//!   their own, written only for clicks that carry a value. A click without a value counts under
//!   [`NONE`];
//! - **link dimensions** (link, product, member) group the same roll-ups by the clicked link's
//!   attributes as they are now;
//! - **conversions** break down by the dimensions of the click that attributed them, copied onto
//!   the conversion when it is stored ([`Visit`]), so they outlive the pruning of raw clicks. An
//!   order attributed by coupon has source [`COUPON`] and [`NONE`] for every other click
//!   dimension; one stored before its click's dimensions were kept has [`NONE`] for all of them.
//!   Conversions, revenue, commission and earnings are counted by order day and net of refunds,
//!   as in the daily series ([`crate::earning::DailyLinkStats`]).

use crate::domain::{Click, ClickSource, Country, Currency, InfluencerId, LinkId};
use crate::domain::{MerchantId, ProgramId};
use crate::tracking::rollup::ClickCounts;
use crate::tracking::visitor::{
    Browser, Device, Os, Platform, UnknownName, UserAgentFacts, Visitor,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::fmt;

/// The value a row has when its click or conversion says nothing for the dimension: no
/// in-app platform, no referer, no country, or a conversion with no click behind it.
pub const NONE: &str = "none";

/// The source of a conversion attributed by coupon code, which has no click.
pub const COUPON: &str = "coupon";

/// What a breakdown splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The short link or its QR code (`link`, `qr`; `coupon` for conversions).
    Source,
    /// [`crate::tracking::Device`].
    Device,
    /// [`crate::tracking::Os`].
    Os,
    /// [`crate::tracking::Browser`].
    Browser,
    /// [`crate::tracking::Platform`], the app whose in-app browser opened the link.
    Platform,
    /// ISO 3166-1 alpha-2 code, when the server knows it (edge header or GeoIP database).
    Country,
    /// The referring page's registrable domain.
    Referrer,
    /// The link clicked (its id).
    Link,
    /// The product the link points to (its id), [`NONE`] for a link to no product.
    Product,
    /// The influencer whose link it is (their id): a program's member.
    Member,
}

impl Dimension {
    /// Every dimension, in declaration order.
    pub const ALL: &'static [Dimension] = &[
        Dimension::Source,
        Dimension::Device,
        Dimension::Os,
        Dimension::Browser,
        Dimension::Platform,
        Dimension::Country,
        Dimension::Referrer,
        Dimension::Link,
        Dimension::Product,
        Dimension::Member,
    ];

    /// The stable lowercase name, as in URLs and stored rows.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Source => "source",
            Dimension::Device => "device",
            Dimension::Os => "os",
            Dimension::Browser => "browser",
            Dimension::Platform => "platform",
            Dimension::Country => "country",
            Dimension::Referrer => "referrer",
            Dimension::Link => "link",
            Dimension::Product => "product",
            Dimension::Member => "member",
        }
    }

    /// The dimension named `name` (exactly, lowercase).
    pub fn parse(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == name)
            .ok_or(UnknownName {
                family: "dimension",
            })
    }

    /// Whether each click has its own value (rolled up per click), as opposed to a value of
    /// the clicked link's.
    pub const fn is_per_click(self) -> bool {
        !matches!(
            self,
            Dimension::Link | Dimension::Product | Dimension::Member
        )
    }

    /// Whether the values are open-ended (country, referring domain), kept in roll-up rows of
    /// their own, rather than a closed family of the [`VisitKey`].
    pub const fn is_open(self) -> bool {
        matches!(self, Dimension::Country | Dimension::Referrer)
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose clicks and conversions a breakdown covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One link.
    Link(LinkId),
    /// Every link of one influencer.
    Influencer(InfluencerId),
    /// Every link in one program.
    Program(ProgramId),
    /// Every link in any of one merchant's programs.
    Merchant(MerchantId),
}

/// The closed families a click is rolled up under, beside its link and UTC day: the key of a
/// daily roll-up row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisitKey {
    /// The short link or its QR code.
    pub source: ClickSource,
    /// Device, OS, browser and in-app platform.
    pub agent: UserAgentFacts,
}

impl Default for VisitKey {
    /// A link click with a missing user agent: every family unknown.
    fn default() -> Self {
        VisitKey {
            source: ClickSource::Link,
            agent: UserAgentFacts::of(None),
        }
    }
}

/// How [`VisitKey::code`] packs the families: each one's position in its `ALL` (the source's in
/// [`SOURCES`], the platform's plus one, 0 for none) in a bit field of its own, from the lowest
/// bits up: `(shift, width)`. Every field has room for twice the values it holds today, so a
/// value appended to a family keeps every stored code; reordering one would change them.
const CODE_FIELDS: [(u32, u32); 5] = [(0, 2), (2, 3), (5, 4), (9, 4), (13, 5)];

/// Every click source, in the order of its code.
const SOURCES: [ClickSource; 2] = [ClickSource::Link, ClickSource::Qr];

impl VisitKey {
    /// The key as one number: how PostgreSQL stores a click's families and keys its daily
    /// roll-ups (migrations 0035, 0036), since a four-byte key costs each batch far less than
    /// text columns. Stable: see [`CODE_FIELDS`]. Decoded by [`VisitKey::from_code`] (and, for
    /// SQL readers, by the function `skinstack_visit_families` behind the views
    /// `click_families` and `click_rollups_daily_families`).
    pub fn code(&self) -> i32 {
        fn position<T: PartialEq>(all: &[T], value: &T) -> i32 {
            // Every value is in its own ALL; 0 keeps the code valid if one ever were not.
            all.iter()
                .position(|v| v == value)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(0)
        }
        let platform = self
            .agent
            .platform
            .map_or(0, |p| 1 + position(Platform::ALL, &p));
        let digits = [
            position(&SOURCES, &self.source),
            position(Device::ALL, &self.agent.device),
            position(Os::ALL, &self.agent.os),
            position(Browser::ALL, &self.agent.browser),
            platform,
        ];
        CODE_FIELDS
            .iter()
            .zip(digits)
            .fold(0, |code, ((shift, _), digit)| code | (digit << shift))
    }

    /// The key whose [`Self::code`] is `code`; `None` for a number no key has.
    pub fn from_code(code: i32) -> Option<Self> {
        let digit = |(shift, width): (u32, u32)| -> Option<usize> {
            usize::try_from((code >> shift) & ((1 << width) - 1)).ok()
        };
        let [source, device, os, browser, platform] = CODE_FIELDS;
        let top = CODE_FIELDS[4].0 + CODE_FIELDS[4].1;
        if code < 0 || code >> top != 0 {
            return None;
        }
        let platform = match digit(platform)? {
            0 => None,
            n => Some(*Platform::ALL.get(n - 1)?),
        };
        let key = VisitKey {
            source: *SOURCES.get(digit(source)?)?,
            agent: UserAgentFacts {
                device: *Device::ALL.get(digit(device)?)?,
                os: *Os::ALL.get(digit(os)?)?,
                browser: *Browser::ALL.get(digit(browser)?)?,
                platform,
            },
        };
        Some(key)
    }

    /// The value of a closed dimension; `None` for the others.
    pub fn value(&self, dimension: Dimension) -> Option<&'static str> {
        Some(match dimension {
            Dimension::Source => self.source.as_str(),
            Dimension::Device => self.agent.device.as_str(),
            Dimension::Os => self.agent.os.as_str(),
            Dimension::Browser => self.agent.browser.as_str(),
            Dimension::Platform => self.agent.platform.map_or(NONE, |p| p.as_str()),
            _ => return None,
        })
    }
}

/// What a stored click says for every click dimension: the one derivation both stores and the
/// conversions copied from a click use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Visit {
    /// The closed families.
    pub key: VisitKey,
    /// The referring page's registrable domain, if any.
    pub referrer_domain: Option<String>,
    /// The shopper's country, if the server knew it.
    pub country: Option<Country>,
}

impl Visit {
    /// The visit of `click`, from what it stored.
    pub fn of(click: &Click) -> Self {
        let Visitor {
            agent,
            referrer_domain,
        } = click.visitor();
        Visit {
            key: VisitKey {
                source: click.source,
                agent,
            },
            referrer_domain,
            country: click.country,
        }
    }

    /// The value of an open dimension ([`Dimension::is_open`]), `None` when the click carries
    /// none (it counts under [`NONE`]) or for another dimension.
    pub fn open_value(&self, dimension: Dimension) -> Option<&str> {
        match dimension {
            Dimension::Country => self.country.as_ref().map(Country::as_str),
            Dimension::Referrer => self.referrer_domain.as_deref(),
            _ => None,
        }
    }

    /// The value of any click dimension: [`NONE`] where the click carries nothing; `None` for
    /// a link dimension.
    pub fn value(&self, dimension: Dimension) -> Option<&str> {
        if dimension.is_open() {
            return Some(self.open_value(dimension).unwrap_or(NONE));
        }
        self.key.value(dimension)
    }
}

/// A conversion's value for a click dimension, by what it kept of its click (`visit`): the
/// click's values; [`COUPON`] as the source of an order attributed by coupon, which had no
/// click and so is [`NONE`] for every other click dimension, whatever was stored; [`NONE`]
/// where nothing is known. Both stores follow it (skinstack-pg says it in SQL, in its
/// conversion breakdown).
pub fn conversion_value(by_coupon: bool, visit: Option<&Visit>, dimension: Dimension) -> &str {
    match (visit, by_coupon) {
        (_, true) if dimension == Dimension::Source => COUPON,
        (Some(visit), false) => visit.value(dimension).unwrap_or(NONE),
        _ => NONE,
    }
}

/// One value's clicks, summed over a range of days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueClicks {
    /// The dimension's value ([`NONE`] for clicks that carried none).
    pub value: String,
    /// What the clicks with that value counted.
    #[serde(flatten)]
    pub counts: ClickCounts,
}

/// One value's conversions in one currency, summed over a range of order days, net of refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueConversions {
    /// The dimension's value.
    pub value: String,
    /// The currency of the amounts (the program's).
    pub currency: Currency,
    /// Conversions ordered in the range.
    pub conversions: i64,
    /// Their amounts, net of refunds.
    pub revenue: Decimal,
    /// Their gross commission, net of reversals.
    pub commission: Decimal,
    /// The influencers' share of it, net of reversals.
    pub earnings: Decimal,
}

/// One currency's money figures of a breakdown row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoneyFigures {
    /// The currency.
    pub currency: Currency,
    /// Conversions in this currency.
    pub conversions: i64,
    /// Their amounts, net of refunds.
    pub revenue: Decimal,
    /// Their gross commission (what the merchant owes), net of reversals.
    pub commission: Decimal,
    /// The influencers' share of it, net of reversals.
    pub earnings: Decimal,
    /// Earnings per 100 human clicks (EPC, the affiliate industry's figure), rounded half to
    /// even to the currency's minor unit; `None` without human clicks.
    pub epc: Option<Decimal>,
}

/// One value of a breakdown: its clicks, conversions, and what they were worth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakdownRow {
    /// The dimension's value.
    pub value: String,
    /// A readable name for a link, product or member value (slug, product or influencer name),
    /// when it still exists.
    pub label: Option<String>,
    /// Human clicks.
    pub clicks: i64,
    /// Human clicks through the QR code (a part of `clicks`).
    pub qr_scans: i64,
    /// Robots (never part of `clicks`).
    pub robot_hits: i64,
    /// Conversions, in every currency.
    pub conversions: i64,
    /// `conversions / clicks`, rounded half to even to 4 places (0.0125 is 1.25 %); `None`
    /// without human clicks.
    pub conversion_rate: Option<Decimal>,
    /// Revenue, commission, earnings and EPC, one entry per currency with conversions.
    pub money: Vec<MoneyFigures>,
}

/// Places a conversion rate is rounded to.
pub const RATE_PLACES: u32 = 4;

/// `part / whole` rounded half to even to `places`; `None` when `whole` is zero or less.
fn ratio(part: Decimal, whole: i64, places: u32) -> Option<Decimal> {
    (whole > 0).then(|| {
        (part / Decimal::from(whole))
            .round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven)
    })
}

/// Earnings per 100 human clicks, at the currency's minor unit; `None` without clicks.
pub fn epc(earnings: Decimal, clicks: i64, currency: Currency) -> Option<Decimal> {
    ratio(
        earnings * Decimal::ONE_HUNDRED,
        clicks,
        currency.minor_units(),
    )
}

/// Conversions per human click, at [`RATE_PLACES`]; `None` without clicks.
pub fn conversion_rate(conversions: i64, clicks: i64) -> Option<Decimal> {
    ratio(Decimal::from(conversions), clicks, RATE_PLACES)
}

/// The rows of one breakdown from its click and conversion sums: one row per value either has,
/// most human clicks first, then most conversions, then by value. A value listed twice in
/// either input is summed.
pub fn combine(clicks: Vec<ValueClicks>, conversions: Vec<ValueConversions>) -> Vec<BreakdownRow> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<String, (ClickCounts, BTreeMap<String, ValueConversions>)> =
        BTreeMap::new();
    for row in clicks {
        rows.entry(row.value).or_default().0.add(row.counts);
    }
    for row in conversions {
        let money = &mut rows.entry(row.value.clone()).or_default().1;
        match money.get_mut(row.currency.as_str()) {
            Some(sum) => {
                sum.conversions += row.conversions;
                sum.revenue += row.revenue;
                sum.commission += row.commission;
                sum.earnings += row.earnings;
            }
            None => {
                money.insert(row.currency.as_str().to_owned(), row);
            }
        }
    }
    let mut rows: Vec<BreakdownRow> = rows
        .into_iter()
        .map(|(value, (counts, money))| {
            let conversions = money.values().map(|m| m.conversions).sum();
            BreakdownRow {
                value,
                label: None,
                clicks: counts.clicks,
                qr_scans: counts.qr_scans,
                robot_hits: counts.robot_hits,
                conversions,
                conversion_rate: conversion_rate(conversions, counts.clicks),
                money: money
                    .into_values()
                    .map(|m| MoneyFigures {
                        currency: m.currency,
                        conversions: m.conversions,
                        revenue: m.revenue,
                        commission: m.commission,
                        earnings: m.earnings,
                        epc: epc(m.earnings, counts.clicks, m.currency),
                    })
                    .collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.clicks
            .cmp(&a.clicks)
            .then(b.conversions.cmp(&a.conversions))
            .then_with(|| a.value.cmp(&b.value))
    });
    rows
}

/// `rows` summed into one row valued `value`: counts and money add up per currency, and the
/// rates are recomputed from the sums by [`combine`]'s rule (never averaged).
pub fn sum_rows<'a>(value: &str, rows: impl IntoIterator<Item = &'a BreakdownRow>) -> BreakdownRow {
    let mut clicks = Vec::new();
    let mut money = Vec::new();
    for row in rows {
        clicks.push(ValueClicks {
            value: value.to_owned(),
            counts: ClickCounts {
                clicks: row.clicks,
                qr_scans: row.qr_scans,
                robot_hits: row.robot_hits,
            },
        });
        money.extend(row.money.iter().map(|m| ValueConversions {
            value: value.to_owned(),
            currency: m.currency,
            conversions: m.conversions,
            revenue: m.revenue,
            commission: m.commission,
            earnings: m.earnings,
        }));
    }
    combine(clicks, money).pop().unwrap_or(BreakdownRow {
        value: value.to_owned(),
        label: None,
        clicks: 0,
        qr_scans: 0,
        robot_hits: 0,
        conversions: 0,
        conversion_rate: None,
        money: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usd() -> Currency {
        Currency::USD
    }

    /// Every key there is.
    fn every_key() -> Vec<VisitKey> {
        let platforms = std::iter::once(None).chain(Platform::ALL.iter().copied().map(Some));
        let mut keys = Vec::new();
        for platform in platforms {
            for browser in Browser::ALL {
                for os in Os::ALL {
                    for device in Device::ALL {
                        for source in SOURCES {
                            keys.push(VisitKey {
                                source,
                                agent: UserAgentFacts {
                                    device: *device,
                                    os: *os,
                                    browser: *browser,
                                    platform,
                                },
                            });
                        }
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_has_its_own_code_and_reads_back_from_it() {
        let keys = every_key();
        let codes: std::collections::HashSet<i32> = keys.iter().map(VisitKey::code).collect();
        assert_eq!(codes.len(), keys.len());
        for key in &keys {
            assert_eq!(VisitKey::from_code(key.code()), Some(*key));
        }
        // Each field has room to grow: no family fills more than half of its bits.
        let sizes = [
            SOURCES.len(),
            Device::ALL.len(),
            Os::ALL.len(),
            Browser::ALL.len(),
            Platform::ALL.len() + 1,
        ];
        for ((_, width), size) in CODE_FIELDS.iter().zip(sizes) {
            assert!(
                size * 2 <= 1 << width,
                "a field of {width} bits for {size} values"
            );
        }
        for code in [-1, 1 << 18, 3, 7 << 2] {
            assert_eq!(VisitKey::from_code(code), None, "{code}");
        }
    }

    #[test]
    fn the_codes_migration_0035_writes_are_the_unknown_link_and_qr_keys() {
        // 0035 splits older roll-ups into these two codes, and its view decodes by the same
        // fields: changing CODE_FIELDS or an order needs a migration.
        assert_eq!(VisitKey::default().code(), 3276);
        let qr = VisitKey {
            source: ClickSource::Qr,
            ..VisitKey::default()
        };
        assert_eq!(qr.code(), 3277);
    }

    #[test]
    fn every_dimension_parses_back_from_its_name_and_nothing_else_does() {
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.as_str()), Ok(*d));
        }
        assert!(Dimension::parse("Device").is_err());
        assert!(Dimension::parse("").is_err());
    }

    #[test]
    fn epc_is_earnings_per_hundred_clicks_at_the_currencys_minor_unit() {
        assert_eq!(epc(dec!(12.34), 1000, usd()), Some(dec!(1.23)));
        // 0.125 per 100 clicks: half to even.
        assert_eq!(epc(dec!(1.25), 1000, usd()), Some(dec!(0.12)));
        let jpy = Currency::parse("JPY").expect("JPY");
        assert_eq!(epc(dec!(1500), 1000, jpy), Some(dec!(150)));
        assert_eq!(epc(dec!(5), 0, usd()), None);
    }

    #[test]
    fn conversion_rate_is_a_fraction_at_four_places() {
        assert_eq!(conversion_rate(1, 3), Some(dec!(0.3333)));
        assert_eq!(conversion_rate(0, 10), Some(dec!(0)));
        assert_eq!(conversion_rate(3, 0), None);
    }

    #[test]
    fn rows_merge_clicks_and_conversions_by_value_and_rank_by_clicks() {
        let clicks = |value: &str, n| ValueClicks {
            value: value.into(),
            counts: ClickCounts {
                clicks: n,
                qr_scans: 0,
                robot_hits: 1,
            },
        };
        let sale = |value: &str, earnings| ValueConversions {
            value: value.into(),
            currency: usd(),
            conversions: 1,
            revenue: dec!(50),
            commission: earnings * dec!(1.25),
            earnings,
        };
        let rows = combine(
            vec![
                clicks("tiktok", 10),
                clicks("instagram", 200),
                clicks("tiktok", 90),
            ],
            vec![
                sale("tiktok", dec!(4)),
                sale("tiktok", dec!(4)),
                sale("coupon", dec!(2)),
            ],
        );
        let order: Vec<&str> = rows.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(order, ["instagram", "tiktok", "coupon"]);
        let tiktok = &rows[1];
        assert_eq!(
            (tiktok.clicks, tiktok.robot_hits, tiktok.conversions),
            (100, 2, 2)
        );
        assert_eq!(tiktok.conversion_rate, Some(dec!(0.02)));
        assert_eq!(tiktok.money.len(), 1);
        assert_eq!(tiktok.money[0].earnings, dec!(8));
        assert_eq!(tiktok.money[0].epc, Some(dec!(8.00)));
        // Conversions with no click in the range still get a row, with no rate.
        assert_eq!(rows[2].clicks, 0);
        assert_eq!(rows[2].conversion_rate, None);
        assert_eq!(rows[2].money[0].epc, None);
    }

    #[test]
    fn a_coupon_order_is_the_coupon_source_and_knows_nothing_else_of_a_click() {
        let click = Click::new(
            LinkId::new(),
            None,
            Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Instagram 309.1"),
            Some("https://l.instagram.com/"),
        );
        let visit = Visit::of(&click);
        assert_eq!(
            conversion_value(true, Some(&visit), Dimension::Source),
            COUPON
        );
        assert_eq!(conversion_value(true, None, Dimension::Source), COUPON);
        assert_eq!(
            conversion_value(true, Some(&visit), Dimension::Platform),
            NONE
        );
        assert_eq!(
            conversion_value(false, Some(&visit), Dimension::Source),
            "link"
        );
        assert_eq!(
            conversion_value(false, Some(&visit), Dimension::Referrer),
            "instagram.com"
        );
        assert_eq!(
            conversion_value(false, Some(&visit), Dimension::Country),
            NONE
        );
        assert_eq!(conversion_value(false, None, Dimension::Device), NONE);
    }

    #[test]
    fn a_visit_without_country_or_referrer_counts_them_as_none() {
        let link = LinkId::new();
        let click = Click::new(link, None, Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21B74 Instagram 309.0.0.40.113"), None)
            .from_source(ClickSource::Qr);
        let visit = Visit::of(&click);
        assert_eq!(visit.value(Dimension::Source), Some("qr"));
        assert_eq!(visit.value(Dimension::Platform), Some("instagram"));
        assert_eq!(visit.value(Dimension::Country), Some(NONE));
        assert_eq!(visit.value(Dimension::Referrer), Some(NONE));
        assert_eq!(visit.open_value(Dimension::Referrer), None);
        assert_eq!(visit.value(Dimension::Product), None);
    }
}
