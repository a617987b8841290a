//! What a click's user agent and referer say about the visitor, in coarse families for the
//! analytics breakdowns of "where clicks come from" (issue 19): the kind of device, its
//! operating system, the browser, the app whose in-app browser opened the link, and the
//! registrable domain of the referring page.
//!
//! Every family is a small closed enum with a stable lowercase name ([`Device::as_str`] and the
//! others), because the names are stored and become roll-up keys: their number must stay
//! bounded whatever user agents arrive.
//!
//! Device, OS and browser come from [`woothee`] (Project Woothee's shared data set, compiled
//! into the crate): it needs no regex file shipped or loaded at run time, unlike the uap-core
//! ports (`uaparser`, `ua-parser`, which take a `regexes.yaml` from the caller), and its own
//! published benchmark parses about a hundred times faster than theirs. Its data set changes
//! slowly, which the coarse families here tolerate (version numbers never matter); the table
//! test below pins today's agents. Its answers are folded into the families here:
//! - **device**: woothee's `pc` is [`Device::Desktop`]; `smartphone` and `mobilephone` are
//!   [`Device::Mobile`], except an iPad and an Android device whose user agent lacks `Mobile`
//!   (Android's own convention for tablets; Chrome and Firefox follow it), which are
//!   [`Device::Tablet`]. Since iPadOS 13 Safari asks for desktop pages with a Mac's user agent,
//!   so those iPads count as desktops running macOS: nothing in the header tells them apart.
//!   Consoles, TVs, unknown agents and every robot ([`super::robots::classify`]) are
//!   [`Device::Other`];
//! - **browser**: the browser the person chose. An app's in-app browser (any user agent with a
//!   [`Platform`]) is [`Browser::Other`] whatever engine it embeds, since the app is what the
//!   breakdown wants and it is in `platform`; woothee's bare `Webview` is Other too.
//!
//! The platform is read here, from the tokens apps append to their WebView's user agent, in
//! the same way as [`super::robots`] (which explains why an app's in-app browser and its
//! link-preview fetcher must never be confused): only in-app browser tokens are listed, and a
//! robot never has a platform.
//!
//! Parsing costs microseconds and runs once per click, so the user-agent part is memoised in
//! one bounded process-wide memo ([`UserAgentFacts::of`], `tracking::agent_memo`): random user
//! agents from an attacker cost parse time, never memory beyond the memo's
//! [`UA_CACHE_CAPACITY`] entries of at most [`MAX_USER_AGENT`] bytes each.

use crate::domain::{prefix, MAX_REFERER, MAX_USER_AGENT};
use crate::tracking::agent_memo::AgentMemo;
use crate::tracking::robots::{classify, Agent};
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// A name that is none of a family's stable names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {family} name")]
pub struct UnknownName {
    /// Which family was asked for (`"device"`, `"os"`, `"browser"`, `"platform"`).
    pub family: &'static str,
}

/// A closed enum with stable lowercase names, `as_str`, `parse`, `FromStr` and `Display`.
macro_rules! named_family {
    (
        $(#[$meta:meta])*
        $name:ident, $family:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The stable lowercase name, as stored: never changes for a value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The value whose [`Self::as_str`] is `name` (exactly, lowercase).
            pub fn parse(name: &str) -> Result<Self, UnknownName> {
                match name {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownName { family: $family }),
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                Self::parse(name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_family! {
    /// The kind of device a click came from.
    Device, "device" {
        /// A phone (and the feature phones woothee knows).
        Mobile => "mobile",
        /// An iPad or an Android tablet.
        Tablet => "tablet",
        /// A desktop or laptop computer, Chromebooks included.
        Desktop => "desktop",
        /// Unknown, a TV, a console, or a robot.
        Other => "other",
    }
}

named_family! {
    /// The operating system family. iPadOS counts as iOS: the breakdown is by ecosystem, and
    /// the tablet is in [`Device`].
    Os, "os" {
        /// iOS and iPadOS (iPhone, iPad, iPod).
        Ios => "ios",
        /// Android.
        Android => "android",
        /// Windows on a computer (Windows Phone is Other).
        Windows => "windows",
        /// macOS.
        MacOs => "macos",
        /// Linux on a computer (Android is Android).
        Linux => "linux",
        /// ChromeOS.
        ChromeOs => "chromeos",
        /// Anything else, unknown, or a robot.
        Other => "other",
    }
}

named_family! {
    /// The browser family the person chose. An in-app browser is Other (its app is the
    /// [`Platform`]).
    Browser, "browser" {
        /// Safari, on iOS or macOS.
        Safari => "safari",
        /// Chrome, on any OS (Chrome for iOS included).
        Chrome => "chrome",
        /// Firefox, on any OS (Firefox for iOS included).
        Firefox => "firefox",
        /// Microsoft Edge (Chromium or legacy).
        Edge => "edge",
        /// Samsung Internet.
        SamsungInternet => "samsung",
        /// Opera.
        Opera => "opera",
        /// Anything else: other browsers, in-app WebViews, unknown agents, robots.
        Other => "other",
    }
}

named_family! {
    /// The app whose in-app browser opened the link: someone tapped it inside that app.
    Platform, "platform" {
        /// Instagram.
        Instagram => "instagram",
        /// Threads.
        Threads => "threads",
        /// Facebook, and Messenger.
        Facebook => "facebook",
        /// TikTok.
        TikTok => "tiktok",
        /// Pinterest.
        Pinterest => "pinterest",
        /// Snapchat.
        Snapchat => "snapchat",
        /// YouTube.
        YouTube => "youtube",
        /// X (Twitter).
        X => "x",
        /// LinkedIn.
        LinkedIn => "linkedin",
        /// WeChat.
        WeChat => "wechat",
        /// LINE.
        Line => "line",
        /// Reddit.
        Reddit => "reddit",
    }
}

/// In-app browser tokens, matched case-sensitively (apps write them one way, and exact case
/// keeps `redditbot/` or `snapchat;` of the preview fetchers out). When several match, the
/// earliest row wins: an app's own token before a token it shares with its parent company.
const PLATFORM_TOKENS: &[(&str, Platform)] = &[
    // Threads' WebView is Instagram's under the app's code name:
    // `... Mobile/15E148 Barcelona 289.0.0.77.109 (iPhone15,2; iOS 17_0; ...)` (observed).
    ("Barcelona ", Platform::Threads),
    // `... Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; ...)` and, on Android,
    // `... Mobile Safari/537.36 Instagram 309.0.0.40.113 Android (34/14; ...)`.
    ("Instagram ", Platform::Instagram),
    // Facebook and Messenger: `[FBAN/FBIOS;FBAV/440.0...]`, `[FBAN/MessengerForiOS;...]`,
    // `[FB_IAB/FB4A;FBAV/440.0...]`, `[FB_IAB/MESSENGER;FBAV/...]`.
    ("FBAN/", Platform::Facebook),
    ("FBAV/", Platform::Facebook),
    ("FB_IAB/", Platform::Facebook),
    // TikTok (and its Chinese twin's shared WebView): `musical_ly_32.5.0 JsSdk/2.0 ...` on iOS,
    // `... musical_ly_2023203030 ... AppName/musical_ly` or `trill_...` on Android,
    // `BytedanceWebview/d8a21c6`, and newer builds' `TikTok 33.1.0`.
    ("musical_ly", Platform::TikTok),
    ("BytedanceWebview", Platform::TikTok),
    ("AppName/trill", Platform::TikTok),
    ("TikTok", Platform::TikTok),
    // `[Pinterest/iOS]`, `[Pinterest/Android]`; the fetcher is `Pinterest/0.2`, no bracket.
    ("[Pinterest/", Platform::Pinterest),
    // `Snapchat/12.62.0.36 (iPhone14,5; iOS 17.1; gzip)`; the fetcher says `snapchat;`.
    ("Snapchat/", Platform::Snapchat),
    // `com.google.ios.youtube/19.45.4` and `YouTube/19.45.4` after the iOS WebView's agent.
    ("com.google.ios.youtube", Platform::YouTube),
    ("YouTube/", Platform::YouTube),
    // X: `Twitter for iPhone/10.18`, `Twitter for iPad`, `TwitterAndroid`; the fetcher is
    // `Twitterbot`.
    ("Twitter for iP", Platform::X),
    ("TwitterAndroid", Platform::X),
    // `[LinkedInApp]` on iOS, `LinkedInApp/9.29` on Android; the fetcher is `LinkedInBot`.
    ("LinkedInApp", Platform::LinkedIn),
    // `MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI Language/zh_CN`.
    ("MicroMessenger/", Platform::WeChat),
    // `... Safari Line/13.21.0` (iOS), `... Safari/537.36 Line/13.21.0/IAB` (Android); the
    // space keeps out words ending in "line".
    (" Line/", Platform::Line),
    // `Reddit/Version 2023.45.0/Build 1234567/iOS Version 17.1`; the fetcher is `redditbot`.
    ("Reddit/", Platform::Reddit),
];

static PLATFORMS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .build(PLATFORM_TOKENS.iter().map(|(token, _)| token))
        .ok()
});

/// The app whose in-app browser sent `user_agent`, if any.
fn platform_of(user_agent: &str) -> Option<Platform> {
    // Building from fixed literals cannot fail; if it did, clicks would lose only their app.
    let automaton = PLATFORMS.as_ref()?;
    automaton
        .find_iter(user_agent)
        .map(|found| found.pattern().as_usize())
        .min()
        .and_then(|row| PLATFORM_TOKENS.get(row))
        .map(|(_, platform)| *platform)
}

/// What a user agent says, without the referer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserAgentFacts {
    /// The kind of device.
    pub device: Device,
    /// The operating system family.
    pub os: Os,
    /// The browser family (Other for an in-app browser).
    pub browser: Browser,
    /// The app whose in-app browser this is, if any.
    pub platform: Option<Platform>,
}

/// The facts of a missing, empty or robot user agent.
const UNKNOWN: UserAgentFacts = UserAgentFacts {
    device: Device::Other,
    os: Os::Other,
    browser: Browser::Other,
    platform: None,
};

/// How many distinct user agents each process-wide memo keeps: this one of the families, and
/// the robot check's (`tracking::robots::classify`).
pub const UA_CACHE_CAPACITY: usize = 10_000;

static UA_CACHE: LazyLock<AgentMemo<UserAgentFacts>> = LazyLock::new(AgentMemo::new);

impl UserAgentFacts {
    /// The facts of `user_agent`, from the process-wide cache when it was seen lately; the same
    /// answer as [`UserAgentFacts::parse`].
    pub fn of(user_agent: Option<&str>) -> Self {
        let Some(ua) = user_agent.map(capped).filter(|ua| !ua.trim().is_empty()) else {
            return UNKNOWN;
        };
        UA_CACHE.get_or(ua, Self::parse_capped)
    }

    /// The facts of `user_agent`, parsed now (no cache). Only its first [`MAX_USER_AGENT`]
    /// bytes are read, as a stored click keeps no more. Absent, empty or robot: all Other.
    pub fn parse(user_agent: Option<&str>) -> Self {
        match user_agent.map(capped) {
            Some(ua) if !ua.trim().is_empty() => Self::parse_capped(ua),
            _ => UNKNOWN,
        }
    }

    fn parse_capped(ua: &str) -> Self {
        if classify(Some(ua)) != Agent::Shopper {
            return UNKNOWN;
        }
        let Some(parsed) = woothee::parser::Parser::new().parse(ua) else {
            // Woothee knows nothing of it, but an app token is still worth reading.
            return UserAgentFacts {
                platform: platform_of(ua),
                ..UNKNOWN
            };
        };
        let os = match parsed.os {
            "iPhone" | "iPad" | "iPod" | "iOS" => Os::Ios,
            "Android" => Os::Android,
            "Mac OSX" => Os::MacOs,
            "Linux" => Os::Linux,
            "ChromeOS" => Os::ChromeOs,
            "Windows Phone OS" | "Windows CE" => Os::Other,
            windows if windows.starts_with("Windows") => Os::Windows,
            _ => Os::Other,
        };
        let device = match parsed.category {
            "pc" => Device::Desktop,
            "smartphone" | "mobilephone" => {
                let android_tablet = os == Os::Android && !ua.contains("Mobile");
                if parsed.os == "iPad" || android_tablet {
                    Device::Tablet
                } else {
                    Device::Mobile
                }
            }
            _ => Device::Other,
        };
        let platform = platform_of(ua);
        let browser = match (platform, parsed.name) {
            (Some(_), _) => Browser::Other,
            (None, "Safari") => Browser::Safari,
            (None, "Chrome") => Browser::Chrome,
            (None, "Firefox") => Browser::Firefox,
            (None, "Edge") => Browser::Edge,
            (None, "SamsungBrowser") => Browser::SamsungInternet,
            (None, "Opera") => Browser::Opera,
            _ => Browser::Other,
        };
        UserAgentFacts {
            device,
            os,
            browser,
            platform,
        }
    }
}

fn capped(user_agent: &str) -> &str {
    prefix(user_agent, MAX_USER_AGENT)
}

/// The registrable domain (eTLD+1, by the public suffix list's ICANN and private sections) of
/// an `http`/`https` referer, lowercase: `https://l.instagram.com/` is `instagram.com`,
/// `https://www.google.co.uk/search` is `google.co.uk`. `None` for an unparsable referer,
/// another scheme (`android-app://...`), an IP address, and a host under no listed suffix or
/// that is a suffix itself (`localhost`, `co.uk`). Only the first [`MAX_REFERER`] bytes are
/// read, as a stored click keeps no more.
pub fn referrer_domain(referer: &str) -> Option<String> {
    let url = url::Url::parse(prefix(referer.trim(), MAX_REFERER)).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // The URL parser has lowercased and punycoded the host, and parsed IP literals as such.
    let url::Host::Domain(host) = url.host()? else {
        return None;
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    // A DNS name is at most 253 bytes: a longer one is junk, or cut short by the cap above.
    if host.len() > 253 {
        return None;
    }
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_ascii_lowercase)
}

/// What a click's headers say about the visitor: its user agent's facts and the referring
/// domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Visitor {
    /// What the user agent says: device, OS, browser and in-app platform.
    pub agent: UserAgentFacts,
    /// The referring page's registrable domain ([`referrer_domain`]), if any.
    pub referrer_domain: Option<String>,
}

impl Visitor {
    /// The visitor behind a click's `User-Agent` and `Referer` headers. The user-agent part is
    /// cached ([`UserAgentFacts::of`]); no input panics.
    pub fn of(user_agent: Option<&str>, referer: Option<&str>) -> Self {
        Visitor {
            agent: UserAgentFacts::of(user_agent),
            referrer_domain: referer.and_then(referrer_domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Browser as B;
    use Device as D;
    use Os as O;
    use Platform as P;

    /// (user agent, device, os, browser, platform)
    const AGENTS: &[(&str, Device, Os, Browser, Option<Platform>)] = &[
        // Browsers.
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            D::Mobile, O::Ios, B::Safari, None),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            D::Mobile, O::Android, B::Chrome, None),
        ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            D::Tablet, O::Ios, B::Safari, None),
        ("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            D::Tablet, O::Android, B::Chrome, None),
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
            D::Mobile, O::Android, B::SamsungInternet, None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            D::Mobile, O::Ios, B::Chrome, None),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            D::Desktop, O::Windows, B::Chrome, None),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            D::Desktop, O::Windows, B::Edge, None),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            D::Desktop, O::Windows, B::Firefox, None),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
            D::Desktop, O::Windows, B::Opera, None),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
            D::Desktop, O::MacOs, B::Safari, None),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            D::Desktop, O::MacOs, B::Chrome, None),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            D::Desktop, O::Linux, B::Firefox, None),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            D::Desktop, O::ChromeOs, B::Chrome, None),
        // In-app browsers.
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)",
            D::Mobile, O::Ios, B::Other, Some(P::Instagram)),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.0.0.40.113 Android (34/14; 420dpi; 1080x2205; Google/google; Pixel 8; shiba; shiba; en_US; 541635863)",
            D::Mobile, O::Android, B::Other, Some(P::Instagram)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Barcelona 289.0.0.77.109 (iPhone15,2; iOS 17_0; en_US; en; scale=3.00; 1179x2556; 489720907)",
            D::Mobile, O::Ios, B::Other, Some(P::Threads)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US RevealType/Dialog isDarkMode/0 WKWebView/1 BytedanceWebview/d8a21c6",
            D::Mobile, O::Ios, B::Other, Some(P::TikTok)),
        ("Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 trill_320503 AppName/trill ByteLocale/en ByteFullLocale/en Region/US Spark/1.4.6.3-bugfix AppVersion/32.5.3 BytedanceWebview/d8a21c6",
            D::Mobile, O::Android, B::Other, Some(P::TikTok)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.33.117;FBBV/551337000;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/553013337]",
            D::Mobile, O::Ios, B::Other, Some(P::Facebook)),
        ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/440.0.0.31.105;]",
            D::Mobile, O::Android, B::Other, Some(P::Facebook)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 LightSpeed [FBAN/MessengerLiteForiOS;FBAV/440.0.0.35.111;FBBV/552093406;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/0]",
            D::Mobile, O::Ios, B::Other, Some(P::Facebook)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
            D::Mobile, O::Ios, B::Other, Some(P::Pinterest)),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [Pinterest/Android]",
            D::Mobile, O::Android, B::Other, Some(P::Pinterest)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.62.0.36 (like Safari/8617.2.4.10.8, panda)",
            D::Mobile, O::Ios, B::Other, Some(P::Snapchat)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Twitter for iPhone/10.18",
            D::Mobile, O::Ios, B::Other, Some(P::X)),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 TwitterAndroid",
            D::Mobile, O::Android, B::Other, Some(P::X)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.8962",
            D::Mobile, O::Ios, B::Other, Some(P::LinkedIn)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 YouTube/19.45.4 (iPhone14,5; U; CPU iOS 17_1 like Mac OS X; en_US)",
            D::Mobile, O::Ios, B::Other, Some(P::YouTube)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 com.google.ios.youtube/19.45.4 (iPhone14,5; U; CPU iOS 17_1 like Mac OS X)",
            D::Mobile, O::Ios, B::Other, Some(P::YouTube)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI Language/zh_CN",
            D::Mobile, O::Ios, B::Other, Some(P::WeChat)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.21.0",
            D::Mobile, O::Ios, B::Other, Some(P::Line)),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Reddit/Version 2023.45.0/Build 1234567/iOS Version 17.1 (Build 21B80)",
            D::Mobile, O::Ios, B::Other, Some(P::Reddit)),
        // Robots and nothing: all Other, no platform, even with a phone in the agent.
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            D::Other, O::Other, B::Other, None),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            D::Other, O::Other, B::Other, None),
        ("Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; +https://developers.snap.com/robots)",
            D::Other, O::Other, B::Other, None),
        ("Pinterest/0.2 (+http://www.pinterest.com/bot.html)", D::Other, O::Other, B::Other, None),
        ("curl/8.4.0", D::Other, O::Other, B::Other, None),
        ("", D::Other, O::Other, B::Other, None),
        ("   ", D::Other, O::Other, B::Other, None),
        ("\u{0}\u{ffff}é", D::Other, O::Other, B::Other, None),
    ];

    #[test]
    fn real_user_agents_fall_into_the_expected_families() {
        assert!(AGENTS.len() >= 25);
        let mut wrong = Vec::new();
        for &(ua, device, os, browser, platform) in AGENTS {
            let expected = UserAgentFacts {
                device,
                os,
                browser,
                platform,
            };
            let got = UserAgentFacts::parse(Some(ua));
            if got != expected {
                wrong.push(format!("{ua}\n  expected {expected:?}\n  got      {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn the_cache_answers_as_a_fresh_parse_does() {
        for &(ua, ..) in AGENTS {
            let fresh = UserAgentFacts::parse(Some(ua));
            assert_eq!(UserAgentFacts::of(Some(ua)), fresh, "{ua}");
            // The second call is a hit.
            assert_eq!(UserAgentFacts::of(Some(ua)), fresh, "{ua}");
        }
    }

    #[test]
    fn an_absent_user_agent_is_another_device_with_no_platform() {
        let visitor = Visitor::of(None, None);
        assert_eq!(visitor.agent.device, Device::Other);
        assert_eq!(visitor.agent.os, Os::Other);
        assert_eq!(visitor.agent.browser, Browser::Other);
        assert_eq!(visitor.agent.platform, None);
        assert_eq!(visitor.referrer_domain, None);
    }

    #[test]
    fn a_visitor_combines_the_user_agent_and_the_referer() {
        let visitor = Visitor::of(Some(AGENTS[14].0), Some("https://l.instagram.com/?u=x"));
        assert_eq!(visitor.agent.device, Device::Mobile);
        assert_eq!(visitor.agent.platform, Some(Platform::Instagram));
        assert_eq!(visitor.referrer_domain.as_deref(), Some("instagram.com"));
    }

    #[test]
    fn only_the_capped_prefix_of_a_user_agent_is_read() {
        // A platform token past the cap is not seen, as it is not stored either.
        let long = format!(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 {} Instagram 309.1.1.28.108",
            "x".repeat(MAX_USER_AGENT)
        );
        assert_eq!(UserAgentFacts::parse(Some(&long)).platform, None);
        assert_eq!(
            UserAgentFacts::of(Some(&long)),
            UserAgentFacts::parse(Some(&long))
        );
        // A cut inside a multi-byte character does not panic.
        let wide = "é".repeat(MAX_USER_AGENT);
        assert_eq!(
            UserAgentFacts::of(Some(&wide)),
            UserAgentFacts::parse(Some(&wide))
        );
    }

    #[test]
    fn referers_give_their_registrable_domain() {
        let long = format!("https://www.example.com/{}", "a".repeat(100_000));
        let long_host = format!("https://{}.example.com/", "a.".repeat(2_000));
        let cases: &[(&str, Option<&str>)] = &[
            ("https://l.instagram.com/", Some("instagram.com")),
            (
                "https://www.google.co.uk/search?q=serum",
                Some("google.co.uk"),
            ),
            ("https://t.co/x", Some("t.co")),
            ("https://m.facebook.com/", Some("facebook.com")),
            ("http://WWW.Pinterest.COM/pin/1/", Some("pinterest.com")),
            ("https://www.tiktok.com./@someone", Some("tiktok.com")),
            ("https://someone.github.io/post", Some("someone.github.io")),
            (
                "https://user:pw@shop.example.com:8443/a",
                Some("example.com"),
            ),
            ("  https://www.youtube.com/  ", Some("youtube.com")),
            ("https://bücher.de/", Some("xn--bcher-kva.de")),
            (&long, Some("example.com")),
            (&long_host, None),
            ("", None),
            ("garbage", None),
            ("://nothing", None),
            ("https://", None),
            ("android-app://com.google.android.gm/", None),
            ("ftp://ftp.example.com/file", None),
            ("javascript:alert(1)", None),
            ("https://192.168.1.20/admin", None),
            ("https://[2001:db8::1]/", None),
            ("http://localhost:3000/", None),
            ("https://co.uk/", None),
            ("https://intranet.corp/", None),
            ("https://\u{0}\u{ffff}/", None),
        ];
        for &(referer, expected) in cases {
            assert_eq!(
                referrer_domain(referer).as_deref(),
                expected,
                "{}",
                prefix(referer, 80)
            );
        }
    }

    #[test]
    fn every_name_parses_back_to_its_value() {
        fn round_trip<T>(
            all: &[T],
            name: fn(T) -> &'static str,
            parse: fn(&str) -> Result<T, UnknownName>,
        ) where
            T: Copy + PartialEq + fmt::Debug,
        {
            let mut names = std::collections::HashSet::new();
            for &value in all {
                let text = name(value);
                assert_eq!(parse(text), Ok(value));
                assert_eq!(text, text.to_ascii_lowercase());
                assert!(names.insert(text), "{text} twice");
            }
            assert!(parse("Unknown").is_err());
            assert!(parse("").is_err());
        }
        round_trip(Device::ALL, Device::as_str, Device::parse);
        round_trip(Os::ALL, Os::as_str, Os::parse);
        round_trip(Browser::ALL, Browser::as_str, Browser::parse);
        round_trip(Platform::ALL, Platform::as_str, Platform::parse);
        assert_eq!("tablet".parse::<Device>(), Ok(Device::Tablet));
        assert_eq!(Platform::TikTok.to_string(), "tiktok");
        assert_eq!(
            "nope".parse::<Browser>(),
            Err(UnknownName { family: "browser" })
        );
    }
}
