//! Short links must never become open redirects. This table holds the known ways to disguise a
//! destination's host, each with the verdict SkinStack reaches for a merchant whose website is
//! `https://glowco.com`: refused as a URL, refused as off-site, or allowed (and then only to a
//! host that really is the merchant's).

#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use skinstack_core::tracking::redirect::{LinkSnapshot, SnapshotParts};
use skinstack_core::{
    ClickId, InfluencerId, LinkId, MerchantId, ProgramId, Slug, Utm, UtmValue, WebUrl,
};

#[derive(Debug, PartialEq)]
enum Verdict {
    /// Not an acceptable URL at all.
    Refused,
    /// A URL, but not on the merchant's site.
    OffSite,
    /// On the merchant's site; the host a browser would visit is given.
    Allowed(&'static str),
}

fn verdict(destination: &str) -> Verdict {
    let site = WebUrl::parse("https://glowco.com").unwrap();
    match WebUrl::parse(destination) {
        Err(_) => Verdict::Refused,
        Ok(url) if !url.is_within_site(&site) => Verdict::OffSite,
        Ok(url) => Verdict::Allowed(match url.host() {
            "glowco.com" => "glowco.com",
            "shop.glowco.com" => "shop.glowco.com",
            other => panic!("{destination:?} allowed to {other}"),
        }),
    }
}

#[test]
fn known_open_redirect_tricks_are_refused_or_resolved_to_the_real_host() {
    use Verdict::*;
    let table: &[(&str, Verdict)] = &[
        // userinfo: the real host is after the @
        ("https://glowco.com@evil.com/", Refused),
        ("https://glowco.com:pw@evil.com/", Refused),
        ("https://user@glowco.com/", Refused),
        // scheme-relative and relative
        ("//evil.com/", Refused),
        ("/\\evil.com", Refused),
        ("evil.com", Refused),
        // backslashes are slashes to browsers (WHATWG), so the host ends at them
        ("https://evil.com\\@glowco.com/", OffSite),
        ("https://glowco.com\\@evil.com/", Allowed("glowco.com")),
        ("https:\\\\evil.com", OffSite),
        // mixed case and trailing dots name the same host
        ("https://GLOWCO.COM/serum", Allowed("glowco.com")),
        ("https://glowco.com./serum", Allowed("glowco.com")),
        ("https://Shop.GlowCo.com./", Allowed("shop.glowco.com")),
        // look-alike domains
        ("https://glowco.com.evil.com/", OffSite),
        ("https://evilglowco.com/", OffSite),
        ("https://glowco.co/", OffSite),
        // IDN homographs: Cyrillic о and а are other (punycode) hosts
        ("https://glowcо.com/", OffSite),
        ("https://shop.glowcо.com/", OffSite),
        // ports: another port is another site
        ("https://glowco.com:8443/", OffSite),
        ("http://glowco.com:443/", OffSite),
        ("https://glowco.com:443/", Allowed("glowco.com")),
        // schemes: no downgrade from an https site
        ("http://glowco.com/", OffSite),
        // other schemes
        ("javascript:alert(document.domain)", Refused),
        ("JaVaScRiPt:alert(1)", Refused),
        ("data:text/html,<script>alert(1)</script>", Refused),
        ("vbscript:msgbox(1)", Refused),
        ("file:///etc/passwd", Refused),
        ("ftp://glowco.com/", Refused),
        // percent-encoding cannot smuggle a host or a line break
        ("https://evil.com%2f@glowco.com/", Refused),
        ("https://glowco.com%2eevil.com/", OffSite),
        (
            "https://glowco.com/%0d%0aLocation:%20https://evil.com",
            Allowed("glowco.com"),
        ),
        // raw control characters are refused outright
        ("https://glowco.com/\r\nLocation: https://evil.com", Refused),
        ("https://glowco.com/\0", Refused),
        ("https://glow\tco.com/", Refused),
        // IP literals are not the merchant's host
        ("https://127.0.0.1/", OffSite),
        ("https://[::1]/", OffSite),
        ("https://2130706433/", OffSite),
        ("https://0x7f.0.0.1/", OffSite),
        ("https://0177.0.0.1/", OffSite),
        ("https://[::ffff:127.0.0.1]/", OffSite),
        // missing or extra slashes after the scheme: browsers still find the host
        ("https:evil.com", OffSite),
        ("https:/evil.com", OffSite),
        ("https:///evil.com", OffSite),
        ("https:glowco.com/serum", Allowed("glowco.com")),
        ("https:\\/\\/evil.com", OffSite),
        ("\\\\evil.com", Refused),
        // the host named only after a path, query or fragment delimiter is not the host
        ("https://glowco.com#@evil.com", Allowed("glowco.com")),
        ("https://glowco.com?@evil.com", Allowed("glowco.com")),
        ("https://glowco.com//evil.com", Allowed("glowco.com")),
        ("https://glowco.com/..//evil.com", Allowed("glowco.com")),
        ("https://evil.com#glowco.com", OffSite),
        ("https://evil.com?.glowco.com", OffSite),
        ("https://evil.com/glowco.com", OffSite),
        ("https://evil.com\\.glowco.com", OffSite),
        ("https://evil.glowco.com.evil.com/", OffSite),
        // unicode dots, full-width letters and signs are mapped (IDNA) before comparing
        ("https://glowco。com/", Allowed("glowco.com")),
        ("https://evil。com/", OffSite),
        ("https://ｇｌｏｗｃｏ.com/", Allowed("glowco.com")),
        ("https://glowco.com＠evil.com/", Refused),
        ("https://glowco.com／@evil.com/", Refused),
        ("https://glowco.com%40evil.com/", Refused),
        // case, padding and ports the parser normalises
        ("HTTPS://GLOWCO.COM/", Allowed("glowco.com")),
        ("  https://glowco.com/  ", Allowed("glowco.com")),
        ("  https://evil.com/", OffSite),
        ("https://glowco.com:/", Allowed("glowco.com")),
        ("https://glowco.com:0443/", Allowed("glowco.com")),
        // schemes disguised by case, whitespace or control characters
        (" javascript:alert(1)", Refused),
        ("java\tscript:alert(1)", Refused),
        ("\u{0}javascript:alert(1)", Refused),
        ("javascript://glowco.com/%0aalert(1)", Refused),
        ("blob:https://glowco.com/uuid", Refused),
    ];
    let wrong: Vec<String> = table
        .iter()
        .filter_map(|(url, expected)| {
            let got = verdict(url);
            (got != *expected).then(|| format!("{url:?}: expected {expected:?}, got {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn homograph_hosts_are_compared_in_punycode() {
    let cyrillic = WebUrl::parse("https://glowcо.com/").unwrap();
    assert!(cyrillic.host().starts_with("xn--"), "{}", cyrillic.host());
    assert_ne!(cyrillic.host(), "glowco.com");
}

#[test]
fn http_sites_may_link_to_https_but_not_the_reverse() {
    let http_site = WebUrl::parse("http://oldshop.com").unwrap();
    assert!(WebUrl::parse("https://oldshop.com/p")
        .unwrap()
        .is_within_site(&http_site));
    assert!(!WebUrl::parse("https://oldshop.com:8443/p")
        .unwrap()
        .is_within_site(&http_site));
}

#[test]
fn line_breaks_in_utm_values_or_custom_slugs_never_reach_a_header() {
    for hostile in [
        "a\r\nSet-Cookie: x=1",
        "a\nb",
        "a\rb",
        "a\u{0}b",
        "a\u{85}b",
    ] {
        assert!(
            UtmValue::parse(hostile).is_err(),
            "{hostile:?} accepted as a UTM value"
        );
        assert!(
            Slug::custom(hostile).is_err(),
            "{hostile:?} accepted as a slug"
        );
    }
    // Whatever a UTM value or destination holds, the Location is percent-encoded ASCII.
    let utm = Utm {
        campaign: Some(UtmValue::parse("sale ünïcødé \" < > %0d%0a").unwrap()),
        ..Utm::default()
    };
    let destination = WebUrl::parse("https://glowco.com/p?q=%0D%0A#frag ment").unwrap();
    let snapshot = LinkSnapshot::new(SnapshotParts {
        link_id: LinkId::new(),
        influencer_id: InfluencerId::new(),
        program_id: ProgramId::new(),
        merchant_id: MerchantId::new(),
        product_id: None,
        destination: &destination,
        utm: &utm,
        link_active: true,
        program_active: true,
        merchant_active: true,
        membership: None,
        merchant_verified: true,
        expires_at: None,
    });
    let location = snapshot.location(ClickId::new());
    assert!(location.bytes().all(|b| b.is_ascii_graphic()), "{location}");
}
