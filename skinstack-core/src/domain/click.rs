//! Clicks: what a redirect records, anonymised before it is kept.

use crate::domain::{Country, LinkId};
use crate::tracking::visitor::Visitor;
use chrono::{DateTime, TimeZone, Utc};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use uuid::Uuid;

/// A click's id: a UUIDv7, so ids sort by time and the id alone says when the click happened.
/// The redirect hands it to the shop as `ssclid`, which later attributes an order to the click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClickId(Uuid);

impl ClickId {
    /// A fresh id for a click happening now.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// A fresh id for a click that happened at `at` (kept to the millisecond), for importing
    /// or simulating past clicks: its [`issued_at`](Self::issued_at) is `at`. A UUIDv7 holds
    /// 48 bits of milliseconds, so times before 1970 or after the year 10889 are clamped.
    pub fn issued(at: DateTime<Utc>) -> Self {
        const MAX_MILLIS: u64 = (1 << 48) - 1;
        let millis = u64::try_from(at.timestamp_millis())
            .unwrap_or_default()
            .min(MAX_MILLIS);
        let nanos = u32::try_from(millis % 1000).unwrap_or_default() * 1_000_000;
        Self(Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            millis / 1000,
            nanos,
        )))
    }

    /// Parses an `ssclid` value (32 hex digits, or the hyphenated form). Only UUIDv7 ids are
    /// accepted: anything else was not issued by SkinStack.
    pub fn parse(value: &str) -> Option<Self> {
        Uuid::try_parse(value)
            .ok()
            .filter(|id| id.get_version_num() == 7)
            .map(Self)
    }

    /// Wraps an id read from storage.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// When the id was issued, from its embedded millisecond timestamp.
    pub fn issued_at(&self) -> DateTime<Utc> {
        let millis = self
            .0
            .get_timestamp()
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000)
                    + i64::from(nanos / 1_000_000)
            })
            .unwrap_or_default();
        Utc.timestamp_millis_opt(millis)
            .single()
            .unwrap_or_default()
    }
}

impl Default for ClickId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ClickId {
    /// 32 lower-case hex digits: short, and URL-safe without encoding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.simple(), f)
    }
}

/// Longest user agent kept; longer ones are cut (at a character boundary).
pub const MAX_USER_AGENT: usize = 512;
/// Longest referer kept.
pub const MAX_REFERER: usize = 1024;

/// One click on a short link, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// Its id (also its time).
    pub id: ClickId,
    /// The link clicked.
    pub link_id: LinkId,
    /// When (the id's timestamp, to the millisecond).
    pub at: DateTime<Utc>,
    /// The client's address with the host part zeroed ([`anonymize_ip`]).
    pub ip: Option<IpAddr>,
    /// The client's user agent, truncated.
    pub user_agent: Option<String>,
    /// The referring page, truncated.
    pub referer: Option<String>,
    /// Whether a robot made it ([`crate::tracking::robots::is_bot`]); robots are kept but not counted.
    pub is_bot: bool,
    /// How the shopper reached the link.
    pub source: ClickSource,
    /// Where the shopper was, when the operator trusts an edge that says so or gave a GeoIP
    /// database ([`Click::in_country`]).
    pub country: Option<Country>,
    /// The visitor's families, derived at the redirect when the headers themselves are not
    /// kept ([`Click::without_headers`]); `None` when they are to be derived from
    /// `user_agent` and `referer`. Read them through [`Click::visitor`], which knows both.
    pub families: Option<Visitor>,
}

/// How a shopper reached a link: the link itself, or a scan of its QR code (whose URL carries
/// `?via=qr`), so that print and packaging can be measured apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClickSource {
    /// The short link, as shared.
    #[default]
    Link,
    /// The link's QR code.
    Qr,
}

impl ClickSource {
    /// The value stored in `clicks.source`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClickSource::Link => "link",
            ClickSource::Qr => "qr",
        }
    }

    /// The source whose [`Self::as_str`] is `name`, as stored and journalled; `None` for any
    /// other text.
    pub fn parse(name: &str) -> Option<Self> {
        [ClickSource::Link, ClickSource::Qr]
            .into_iter()
            .find(|source| source.as_str() == name)
    }

    /// The source a redirect's query string names (`via=qr`); anything else is the link.
    pub fn from_query(query: Option<&str>) -> Self {
        match query {
            Some(q) if q.split('&').any(|pair| pair == "via=qr") => ClickSource::Qr,
            _ => ClickSource::Link,
        }
    }
}

impl Click {
    /// A click made now by the client described; anonymises the IP, truncates the headers and
    /// decides the bot flag.
    pub fn new(
        link_id: LinkId,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        referer: Option<&str>,
    ) -> Self {
        Self::by(
            crate::tracking::robots::classify(user_agent),
            link_id,
            ip,
            user_agent,
            referer,
        )
    }

    /// As [`Click::new`], for a caller that has already classified the user agent.
    pub fn by(
        agent: crate::tracking::robots::Agent,
        link_id: LinkId,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        referer: Option<&str>,
    ) -> Self {
        let id = ClickId::new();
        Click {
            id,
            link_id,
            at: id.issued_at(),
            ip: ip.map(anonymize_ip),
            is_bot: agent != crate::tracking::robots::Agent::Shopper,
            user_agent: user_agent.map(|ua| truncate(ua, MAX_USER_AGENT)),
            referer: referer.map(|r| truncate(r, MAX_REFERER)),
            source: ClickSource::Link,
            country: None,
            families: None,
        }
    }

    /// What this click's user agent and referer say about its visitor: the one derivation
    /// every store and breakdown uses. A click that dropped its headers
    /// ([`Click::without_headers`]) answers with the families it kept.
    pub fn visitor(&self) -> Visitor {
        match &self.families {
            Some(families) => families.clone(),
            None => Visitor::of(self.user_agent.as_deref(), self.referer.as_deref()),
        }
    }

    /// The same click without its user agent and referer, keeping only the families derived
    /// from them now: [`Click::visitor`] answers as before, and nothing finer is stored. The
    /// bot flag was decided already and stays.
    pub fn without_headers(mut self) -> Self {
        if self.families.is_none() {
            self.families = Some(self.visitor());
        }
        self.user_agent = None;
        self.referer = None;
        self
    }

    /// The same click, reached from `source`.
    pub fn from_source(mut self, source: ClickSource) -> Self {
        self.source = source;
        self
    }

    /// The same click, made from `country` (or from nowhere known).
    pub fn in_country(mut self, country: Option<Country>) -> Self {
        self.country = country;
        self
    }

    /// The time every store keeps and counts the click at: its id's own millisecond, whatever
    /// `at` says. The clicks table is partitioned and keyed by `(id, clicked_at)`, so a click
    /// retried by the flusher or replayed from the journal must always carry the same time to
    /// meet its own row and be skipped rather than stored twice.
    pub fn stored_at(&self) -> DateTime<Utc> {
        self.id.issued_at()
    }
}

fn truncate(value: &str, max: usize) -> String {
    prefix(value, max).to_owned()
}

/// At most `max` bytes of `value`, cut at a character boundary: what a stored click keeps of a
/// header.
pub(crate) fn prefix(value: &str, max: usize) -> &str {
    let mut end = value.len().min(max);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Zeroes the host part of an address as Shlink does by default: IPv4 keeps its /24,
/// IPv6 its /48. Enough for coarse geography and abuse patterns, not to identify a shopper.
pub fn anonymize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => anonymize_ip(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_via_qr_marks_a_qr_scan() {
        assert_eq!(ClickSource::from_query(Some("via=qr")), ClickSource::Qr);
        assert_eq!(ClickSource::from_query(Some("a=1&via=qr")), ClickSource::Qr);
        assert_eq!(ClickSource::from_query(Some("via=qrx")), ClickSource::Link);
        assert_eq!(ClickSource::from_query(None), ClickSource::Link);
    }

    #[test]
    fn ipv4_keeps_its_slash_24() {
        assert_eq!(
            anonymize_ip("203.0.113.77".parse().unwrap()),
            "203.0.113.0".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_keeps_its_slash_48_and_mapped_v4_is_treated_as_v4() {
        assert_eq!(
            anonymize_ip("2001:db8:abcd:12:34::1".parse().unwrap()),
            "2001:db8:abcd::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            anonymize_ip("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn click_ids_are_v7_and_round_trip_through_their_url_form() {
        let id = ClickId::new();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(ClickId::parse(&text), Some(id));
        assert_eq!(
            ClickId::parse(&id.as_uuid().hyphenated().to_string()),
            Some(id)
        );
        assert_eq!(
            ClickId::parse(&Uuid::new_v4().simple().to_string()),
            None,
            "v4 ids were not issued by us"
        );
        assert_eq!(ClickId::parse("not-an-id"), None);
    }

    #[test]
    fn an_id_issued_for_a_past_instant_carries_that_millisecond() {
        let at = Utc
            .with_ymd_and_hms(2025, 1, 31, 23, 59, 59)
            .single()
            .unwrap()
            + chrono::Duration::milliseconds(999);
        let id = ClickId::issued(at);
        assert_eq!(id.issued_at(), at);
        assert_ne!(
            ClickId::issued(at),
            id,
            "two ids of one instant still differ"
        );
    }

    #[test]
    fn a_click_is_stored_at_its_ids_time_even_when_at_says_otherwise() {
        let mut click = Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None);
        let issued = click.id.issued_at();
        click.at = issued - chrono::Duration::days(40);
        assert_eq!(click.stored_at(), issued);
    }

    #[test]
    fn a_click_knows_its_time_from_its_id() {
        let before = Utc::now() - chrono::Duration::milliseconds(1);
        let click = Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None);
        assert!(click.at >= before && click.at <= Utc::now());
        assert_eq!(click.at, click.id.issued_at());
    }

    #[test]
    fn clicks_anonymise_truncate_and_flag_robots() {
        let long_ua = "é".repeat(400); // 800 bytes
        let click = Click::new(
            LinkId::new(),
            Some("10.1.2.3".parse().unwrap()),
            Some(&long_ua),
            Some("https://instagram.com/"),
        );
        assert_eq!(click.ip, Some("10.1.2.0".parse().unwrap()));
        assert!(click.user_agent.as_ref().unwrap().len() <= MAX_USER_AGENT);
        assert!(!click.is_bot);
        assert!(Click::new(LinkId::new(), None, Some("Twitterbot/1.0"), None).is_bot);
    }

    #[test]
    fn a_click_without_headers_keeps_its_visitors_families_and_bot_flag_only() {
        let instagram = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)";
        let click = Click::new(
            LinkId::new(),
            None,
            Some(instagram),
            Some("https://l.instagram.com/?u=x"),
        );
        let before = click.visitor();
        let bare = click.clone().without_headers();
        assert_eq!(
            (bare.user_agent.as_deref(), bare.referer.as_deref()),
            (None, None)
        );
        assert_eq!(bare.visitor(), before);
        assert_eq!(
            bare.visitor().referrer_domain.as_deref(),
            Some("instagram.com")
        );
        assert_eq!(
            bare.clone().without_headers(),
            bare,
            "a second call changes nothing"
        );

        let robot = Click::new(LinkId::new(), None, Some("Twitterbot/1.0"), None).without_headers();
        assert!(robot.is_bot, "decided from the user agent before it went");
    }
}
