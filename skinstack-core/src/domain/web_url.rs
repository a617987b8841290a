//! Absolute http(s) URLs, and the host rule that keeps short links from becoming open redirects.

use crate::error::Invalid;
use serde::Serialize;
use std::fmt;
use url::Url;

/// An absolute `http` or `https` URL with a host and no user-info, at most 2048 bytes.
///
/// Parsing follows the WHATWG URL standard (what browsers do), so the host this type reports is
/// the host a browser would visit: lower-cased, IDN hosts in punycode, backslashes treated as
/// slashes. User-info (`https://shop.com@evil.com`) is refused outright because it exists
/// mostly to disguise the real host.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct WebUrl(Url);

impl WebUrl {
    /// Longest URL accepted.
    pub const MAX_LEN: usize = 2048;

    /// Parses and checks `value`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid::ControlCharacter);
        }
        let url = Url::parse(value).map_err(|_| Invalid::Format("an absolute http(s) URL"))?;
        // The bound holds for what is kept, too: the standard's serialisation can be longer than
        // the input (`/` for an empty path, escapes), and a store reads it back through here.
        if url.as_str().len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::Format("an absolute http(s) URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::Format("a URL without user name or password"));
        }
        match url.host_str() {
            Some(host) if !host.is_empty() && host != "." => {}
            _ => return Err(Invalid::Format("an absolute http(s) URL with a host")),
        }
        Ok(Self(url))
    }

    /// Parses a URL as the API takes it, exactly what its document's pattern allows: an
    /// RFC 3986 `http(s)` URI as written, without white space around it, whose host is a DNS
    /// name (letters, digits and `-`, the last label starting with a letter) or a dotted-quad
    /// IPv4 address, with an optional
    /// port, and a path, query and fragment of RFC 3986's characters and `%` escapes. Then as
    /// [`WebUrl::parse`]. The URL standard alone also takes what a client generated from the
    /// document must never send, and what no RFC 3986 client writes (spaces, `<`, `\`, a `*`
    /// in a host); imports and webhooks, which read what shops wrote, use [`WebUrl::parse`].
    pub fn parse_uri(value: &str) -> Result<Self, Invalid> {
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if !is_api_uri(value) {
            return Err(Invalid::Format(
                "an http(s) URI (RFC 3986) with a host name, such as https://glowco.com/serum",
            ));
        }
        Self::parse(value)
    }

    /// The URL as text (serialised by the URL standard).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The host, lower-case, punycode for IDNs, without a trailing dot.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default().trim_end_matches('.')
    }

    /// Whether `self` may be a short link's destination for a merchant whose website is `site`:
    /// the same host or a subdomain of it, the same scheme (or https for an http site) and the
    /// same port, defaults included. Comparing normalised hosts (punycode, no trailing dot)
    /// defeats look-alike and mixed-case tricks.
    pub fn is_within_site(&self, site: &WebUrl) -> bool {
        let (host, site_host) = (self.host(), site.host());
        let same_host = host == site_host
            || (host.len() > site_host.len()
                && host.ends_with(site_host)
                && host.as_bytes()[host.len() - site_host.len() - 1] == b'.');
        let (scheme, site_scheme) = (self.0.scheme(), site.0.scheme());
        let same_origin = if scheme == site_scheme {
            self.0.port_or_known_default() == site.0.port_or_known_default()
        } else {
            // An http site's links may upgrade to https on the default port, never downgrade.
            site_scheme == "http" && scheme == "https" && self.0.port().is_none()
        };
        same_host && same_origin
    }
}

/// A merchant's website: a [`WebUrl`] whose host someone can own. Short links may lead only to
/// this host and its subdomains, so a host that is itself a public suffix would let one
/// merchant vouch for everyone's sites under it: `com`, `co.uk`, and the multi-tenant hosting
/// domains of the list's private section (`github.io`, `blogspot.com`, `myshopify.com`) are
/// refused, while a site under one of them (`brand.myshopify.com`, `ana.github.io`) is fine.
///
/// The list is Mozilla's Public Suffix List as the `psl` crate compiles it in (ICANN and
/// private sections both). A host of one label (`localhost`) is a suffix by the list's default
/// rule and is refused too; an IP address names no domain and is accepted as it is.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SiteUrl(WebUrl);

impl SiteUrl {
    /// Parses `value` as a [`WebUrl`] and refuses a public-suffix host.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        Self::try_from(WebUrl::parse(value)?)
    }

    /// [`SiteUrl::parse`] for a URL as the API takes it ([`WebUrl::parse_uri`]).
    pub fn parse_uri(value: &str) -> Result<Self, Invalid> {
        Self::try_from(WebUrl::parse_uri(value)?)
    }

    /// The website as a URL, for the host rule ([`WebUrl::is_within_site`]) and as the
    /// default destination of a link.
    pub fn as_web_url(&self) -> &WebUrl {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host, as [`WebUrl::host`] normalises it.
    pub fn host(&self) -> &str {
        self.0.host()
    }
}

impl TryFrom<WebUrl> for SiteUrl {
    type Error = Invalid;

    fn try_from(url: WebUrl) -> Result<Self, Invalid> {
        if matches!(url.as_url().host(), Some(url::Host::Domain(_)))
            && psl::domain(url.host().as_bytes()).is_none()
        {
            return Err(Invalid::Format(
                "a website on a domain of its own, not a public suffix or shared hosting domain",
            ));
        }
        Ok(Self(url))
    }
}

impl fmt::Debug for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Whether `value` is in the language of [`WebUrl`]'s schema pattern, spelled out by hand (core
/// has no regex engine); `openapi`'s tests check the two agree on generated values.
fn is_api_uri(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return false;
    }
    // The authority runs to the first `/`, `?` or `#`.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if let Some(port) = port {
        // 1–4 digits, or 5 without a leading zero up to 65535: the pattern's spelling of a
        // port the URL standard takes.
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        let in_range = port.len() <= 4
            || (port.len() == 5
                && !port.starts_with('0')
                && port.parse::<u32>().is_ok_and(|n| n <= 65535));
        if !(digits && in_range) {
            return false;
        }
    }
    if is_dotted_quad(host) {
        return tail_ok(tail);
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok =
        |l: &&str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !labels.iter().all(label_ok)
        || !labels
            .last()
            .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic())
    {
        return false;
    }
    tail_ok(tail)
}

/// Whether `s` is RFC 3986 path characters (and `/`) or `%` escapes, or one of `also`.
fn uri_chars(s: &str, also: &[u8]) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => match (b.get(i + 1), b.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    i += 3;
                    continue;
                }
                _ => return false,
            },
            c if c.is_ascii_alphanumeric() || b"._~!$&'()*+,;=:@/-".contains(&c) => {}
            c if also.contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// An IPv4 address as four decimal numbers 0–255 without leading zeros, the one form of an IP
/// host the API takes (the URL standard also reads `0x7f.1` and `127.1` as addresses).
fn is_dotted_quad(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// `/path`, `?query` (which may hold `?`) and `#fragment` (which may hold `?`), each optional,
/// in that order, of RFC 3986's characters and `%` escapes.
fn tail_ok(tail: &str) -> bool {
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    (path.is_empty() || (path.starts_with('/') && uri_chars(path, b"")))
        && query.is_none_or(|q| uri_chars(q, b"?"))
        && fragment.is_none_or(|f| uri_chars(f, b"?"))
}

impl fmt::Debug for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// A dotted-quad IPv4 address, each number 0–255 without leading zeros, as a pattern.
#[cfg(feature = "openapi")]
const IPV4: &str = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

/// A port the URL standard takes, 0–65535, as a pattern (leading zeros only below 5 digits).
#[cfg(feature = "openapi")]
const PORT: &str =
    r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// One character of an RFC 3986 path segment or `/` (unreserved, sub-delims, `:`, `@`, `/`),
/// or a `%` escape, as a pattern.
#[cfg(feature = "openapi")]
const URI_CHARS: &str = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})";

/// The schema of a URL as the API takes it ([`WebUrl::parse_uri`]); a `site` has a host of two
/// labels at least, as a public suffix's site does.
#[cfg(feature = "openapi")]
fn url_schema(site: bool, description: String) -> utoipa::openapi::schema::ObjectBuilder {
    let leading_labels = if site { "+" } else { "*" };
    crate::openapi::string()
        .format(Some(utoipa::openapi::schema::SchemaFormat::Custom(
            "uri".to_owned(),
        )))
        // One under the bound: a URL this pattern allows grows by at most the `/` of an empty
        // path when serialised, and the serialisation is what must fit.
        .max_length(Some(WebUrl::MAX_LEN - 1))
        // What `parse_uri` takes, which is also an RFC 3986 URI (the `format`): http(s), a
        // dotted-quad IPv4 address or a host name whose last label starts with a letter (so it
        // is never read as an IPv4 number), an optional port, then a path, query and fragment of RFC 3986's characters
        // and %-escapes. No white space around it, though `parse` would trim it.
        .pattern(Some(format!(
            r"^[hH][tT][tT][pP][sS]?://(?:{IPV4}|(?:[A-Za-z0-9-]+\.){leading_labels}[A-Za-z][A-Za-z0-9-]*\.?)(?::{PORT})?(?:/{URI_CHARS}*)?(?:\?(?:{URI_CHARS}|\?)*)?(?:#(?:{URI_CHARS}|[?])*)?$"
        )))
        .description(Some(description))
}

schema!(
    WebUrl,
    "WebUrl",
    url_schema(
        false,
        format!(
            "An absolute http(s) URI (RFC 3986: international hosts in punycode, other characters %-escaped) whose host is a domain name, with no user name or password, at most {} bytes as the URL standard writes it (which adds a `/` to an empty path).",
            WebUrl::MAX_LEN
        )
    )
);
schema!(
    SiteUrl,
    "SiteUrl",
    url_schema(
        true,
        format!(
            "A merchant's website: a URL as `WebUrl` says, whose host someone can own: not itself a public suffix or shared hosting domain (`co.uk`, `github.io`, `myshopify.com`; Mozilla's Public Suffix List decides, else 422), while a site under one (`brand.myshopify.com`) is fine. At most {} bytes as written by the URL standard.",
            WebUrl::MAX_LEN
        )
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> WebUrl {
        WebUrl::parse("https://glowco.com").unwrap()
    }

    #[test]
    fn accepts_http_and_https_urls() {
        assert_eq!(
            WebUrl::parse(" https://Glowco.COM/p/serum?x=1 ")
                .unwrap()
                .as_str(),
            "https://glowco.com/p/serum?x=1"
        );
        assert!(WebUrl::parse("http://shop.glowco.com").is_ok());
    }

    #[test]
    fn the_api_takes_exactly_the_uris_its_pattern_allows() {
        for good in [
            "https://glowco.com",
            "HTTP://Shop.Glowco.com.:8080/p/serum;v=2?x=1&y=a?b#top?",
            "https://glowco.com/%C3%A9t%C3%A9/(1)*+,;=:@~",
            "http://a-b.c1/?",
            "http://127.0.0.1:8080/products/serum",
            "http://127.0.0.1:43521/",
            "https://glowco.com:65535",
        ] {
            assert!(WebUrl::parse_uri(good).is_ok(), "{good}");
        }
        for bad in [
            " https://glowco.com",
            "https://glowco.com ",
            "https://glowco.com/a b",
            "https://glowco.com/<x>",
            "https://glowco.com/%zz",
            "https://glowco.com/%4",
            "https://glowco.com/#a#b",
            "https://glowco.com/[x]",
            "https://glowco.com\\evil.com",
            "https://1jb.n2w0lmwu.net*",
            "https://bücher.de",
            "https://192.168.0.01",
            "https://127.1",
            "https://0x7f.0.0.1",
            "https://glowco.com:",
            "https://glowco.com:80000",
            "https://glowco.com:65536",
            "https://glowco.com:08080",
            "https://ana@glowco.com",
            "https://glowco..com",
            "ftp://glowco.com",
            "https:/glowco.com",
        ] {
            assert!(WebUrl::parse_uri(bad).is_err(), "{bad}");
        }
        // What shops write is still read as browsers read it.
        assert!(WebUrl::parse(" https://bücher.de/a b ").is_ok());
    }

    #[test]
    fn the_bound_holds_for_the_url_as_kept_so_a_store_can_read_it_back() {
        let host = format!(
            "https://{}.com",
            "a".repeat(WebUrl::MAX_LEN - "https://.com".len())
        );
        assert_eq!(host.len(), WebUrl::MAX_LEN);
        // Kept as `https://aaa….com/`: one byte over.
        assert_eq!(
            WebUrl::parse(&host),
            Err(Invalid::TooLong {
                max: WebUrl::MAX_LEN
            })
        );
        let with_path = format!("{}/", &host[..host.len() - 1]);
        let kept = WebUrl::parse(&with_path).expect("2048 bytes as kept");
        assert_eq!(WebUrl::parse(kept.as_str()), Ok(kept));
    }

    #[test]
    fn refuses_other_schemes_relative_urls_and_userinfo() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://glowco.com",
            "//evil.com",
            "/relative",
            "https://glowco.com@evil.com",
            "https://user:pw@glowco.com",
            "https://glowco.com/\r\nLocation: evil",
            "",
        ] {
            assert!(WebUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn destinations_must_stay_on_the_merchants_site() {
        let within = |u: &str| WebUrl::parse(u).unwrap().is_within_site(&site());
        assert!(within("https://glowco.com/serum"));
        assert!(within("https://shop.glowco.com/serum"));
        assert!(
            within("https://GLOWCO.com./serum"),
            "mixed case and a trailing dot are the same host"
        );
        assert!(
            !within("https://evilglowco.com/"),
            "a suffix is not a subdomain"
        );
        assert!(!within("https://glowco.com.evil.com/"));
        assert!(
            !within("https://glowco.com:8443/"),
            "another port is another site"
        );
        assert!(
            !within("https://glowcо.com/"),
            "Cyrillic о is a different (punycode) host"
        );
    }

    #[test]
    fn a_website_must_be_a_domain_someone_can_own() {
        for refused in [
            "https://github.io",
            "https://myshopify.com/",
            "https://blogspot.com",
            "https://com",
            "https://co.uk",
            "https://GitHub.IO./",
            "http://localhost:8080",
        ] {
            assert_eq!(
                SiteUrl::parse(refused)
                    .err()
                    .map(|e| matches!(e, Invalid::Format(_))),
                Some(true),
                "{refused:?} accepted"
            );
        }
        for accepted in [
            "https://glowco.com",
            "https://shop.glowco.co.uk/",
            "https://brand.myshopify.com",
            "https://ana.github.io/shop",
            "https://glowco.example",
            "http://127.0.0.1:4000",
            "http://[::1]:4000",
        ] {
            assert!(SiteUrl::parse(accepted).is_ok(), "{accepted:?} refused");
        }
        assert!(SiteUrl::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn backslash_tricks_resolve_to_the_host_a_browser_would_visit() {
        let url = WebUrl::parse("https://glowco.com\\@evil.com/").unwrap();
        assert_eq!(url.host(), "glowco.com");
        let url = WebUrl::parse("https://evil.com\\.glowco.com/").unwrap();
        assert_eq!(url.host(), "evil.com");
        assert!(!url.is_within_site(&site()));
    }
}
