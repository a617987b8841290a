//! Which user agents are robots: crawlers, monitors and the link-preview fetchers of social and
//! chat apps. One list, used both to flag clicks (robots are not shoppers) and to answer
//! preview fetchers with a card instead of a redirect.
//!
//! Apps announce themselves twice, and the two must never be confused:
//! - their **in-app browser** (a WebView opening a link a person tapped) appends the app's
//!   name to a real browser's user agent: `... Mobile/15E148 [Pinterest/iOS]`,
//!   `... Instagram 309.1.1.28.108 (iPhone14,5; ...)`, `[FB_IAB/FB4A;FBAV/440...]`,
//!   `Snapchat/12.62`, `[LinkedInApp]`, `MicroMessenger/8.0`. That is a shopper;
//! - their **preview fetcher** (a server unfurling a pasted link into a card) has a token of its
//!   own: `Pinterestbot`, `Pinterest/0.2`, `facebookexternalhit`, `LinkedInBot`, `Snap URL
//!   Preview Service`.
//!
//! So every token below is a fetcher's own, never a bare app name (`pinterest`, `snapchat`,
//! `linkedin` would catch the app's shoppers). No maintained crate separates preview fetchers
//! from crawlers (the `isbot` crate, for one, lists robots without telling which unfurl links),
//! so the list is kept here, each token with where it is documented; the in-app browsers that
//! must stay shoppers are a table test in `skinstack-http/tests/traffic.rs`.

use crate::tracking::agent_memo::AgentMemo;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::sync::LazyLock;

/// Link-preview fetchers: they unfurl a pasted link into a card. Matched case-insensitively
/// anywhere in the user agent.
pub const PREVIEW_AGENTS: &[&str] = &[
    // Meta (Facebook, Instagram, Messenger, WhatsApp links shared on Facebook, Threads) and
    // iMessage, which sends `... facebookexternalhit/1.1 Facebot Twitterbot/1.0`; LINE's
    // fetcher is `facebookexternalhit/1.1;line-poker/1.0`. developers.facebook.com/docs/sharing/webmasters/web-crawlers
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    // X: `Twitterbot/1.0`. developer.x.com, "cards troubleshooting"
    "twitterbot",
    // Slack: `Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)`, and its image proxy.
    "slackbot",
    "slack-imgproxy",
    // Discord: `Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)`. The Discord
    // app itself is `discord/1.0.9023 ... Electron`: no `bot`.
    "discordbot",
    // WhatsApp's fetcher, also used by Signal: `WhatsApp/2.23.20.0 A` (A Android, i iOS, W web).
    // The slash keeps out any page that merely names WhatsApp.
    "whatsapp/",
    // Telegram: `TelegramBot (like TwitterBot)`. core.telegram.org/bots/webapps
    "telegrambot",
    // LinkedIn: `LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient ...)`. Its in-app
    // browser is `[LinkedInApp]`, a shopper.
    "linkedinbot",
    // Pinterest: `Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)`
    // and the older `Pinterest/0.2 (+http://www.pinterest.com/bot.html)`. Its in-app browser is
    // `[Pinterest/iOS]` / `[Pinterest/Android]`: a shopper, hence no bare `pinterest`.
    // help.pinterest.com, "Pinterest crawler"
    "pinterestbot",
    "pinterest/0.",
    // Skype and Microsoft Teams: `SkypeUriPreview Preview/0.5`; Teams and Outlook's newer
    // `MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview`.
    "skypeuripreview",
    "microsoftpreview/",
    // Reddit: `Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)`. The
    // Reddit app's browser says `Reddit/Version ...`: a shopper.
    "redditbot",
    // Snapchat: `Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat;
    // +https://developers.snap.com/robots)`. Its in-app browser says `Snapchat/12.62`.
    "snap url preview",
    // Apple's crawler (Siri and Spotlight suggestions show its cards). support.apple.com/HT204683
    "applebot",
    // KakaoTalk: `kakaotalk-scrap/1.0; +https://devtalk.kakao.com/...`.
    "kakaotalk-scrap",
    // Google Chat and Docs link previews: `... Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/)`.
    "google-pagerenderer",
    // VK: `Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)`.
    "vkshare",
    // Embedding services that unfurl for many apps: `Embedly/0.2`, `Iframely/1.3.1`.
    "embedly",
    "iframely",
    // Mastodon servers: `http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)`.
    "mastodon/",
    // Bluesky: `Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)`.
    "bluesky cardyb",
];

/// Crawlers, monitors and HTTP libraries: never a shopper with a browser. Their own tokens
/// (search engines' and SEO tools' published names, libraries' default user agents), then
/// the generic `crawler`, `spider`, `bot/`, `bot;` that most self-declared robots carry.
pub const CRAWLER_AGENTS: &[&str] = &[
    "googlebot",
    "bingbot",
    "yandexbot",
    "duckduckbot",
    "baiduspider",
    "ahrefsbot",
    "semrushbot",
    "petalbot",
    "bytespider",
    "gptbot",
    "claudebot",
    "ccbot",
    "uptimerobot",
    "pingdom",
    "headlesschrome",
    "curl/",
    "wget/",
    "python-requests",
    "go-http-client",
    "okhttp",
    "crawler",
    "spider",
    "bot/",
    "bot;",
];

/// One automaton over both lists; a match's pattern index says which list it came from.
static ROBOTS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    // A DFA costs a few hundred KiB once and makes each check a single pass over the header.
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(PREVIEW_AGENTS.iter().chain(CRAWLER_AGENTS))
        .ok()
});

/// Who sent a request, judged by its user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// A person's browser (or an in-app browser): a shopper.
    Shopper,
    /// A link-preview fetcher unfurling a pasted link into a card.
    Preview,
    /// A crawler, monitor or script, or a request without a user agent.
    Robot,
}

/// Verdicts by user agent: the check runs on every redirect, and a scan of a browser's user
/// agent cost several times a lookup (profiled under `scripts/bench-redirect`).
static VERDICTS: LazyLock<AgentMemo<Agent>> = LazyLock::new(AgentMemo::new);

/// Classifies `user_agent`: one pass over it, or the verdict on the same user agent seen
/// lately. A missing or empty user agent is a robot: every browser sends one.
pub fn classify(user_agent: Option<&str>) -> Agent {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return Agent::Robot;
    };
    VERDICTS.get_or(ua, scan)
}

/// The verdict of one pass over `ua`.
fn scan(ua: &str) -> Agent {
    // Building from fixed short literals cannot fail; if it ever did, every agent would count
    // as a shopper, which over-counts clicks rather than dropping any.
    let Some(robots) = ROBOTS.as_ref() else {
        return Agent::Shopper;
    };
    let mut agent = Agent::Shopper;
    // Matches are reported as they end, so a fetcher's token (`Discordbot`) is found before a
    // generic one that ends later (`bot/`); no crawler token ends inside a preview token
    // (`a_preview_token_wins_over_a_generic_robot_token_around_it`). Overlapping search would
    // not need that, but costs the prefilter that makes a shopper's user agent a fast scan.
    for found in robots.find_iter(ua) {
        if found.pattern().as_usize() < PREVIEW_AGENTS.len() {
            return Agent::Preview;
        }
        agent = Agent::Robot;
    }
    agent
}

/// Whether `user_agent` is a link-preview fetcher.
pub fn is_preview_fetcher(user_agent: &str) -> bool {
    classify(Some(user_agent)) == Agent::Preview
}

/// Whether `user_agent` is any kind of robot (a preview fetcher, a crawler, a script).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    classify(user_agent) != Agent::Shopper
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_seen_before_gets_the_same_verdict_from_the_memo() {
        for ua in [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile Safari/604.1",
            "Twitterbot/1.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ] {
            let first = classify(Some(ua));
            assert_eq!(classify(Some(ua)), first, "{ua}");
            assert_eq!(first, scan(ua), "{ua}");
        }
        let long = format!(
            "{} Twitterbot/1.0",
            "x".repeat(crate::domain::MAX_USER_AGENT)
        );
        assert_eq!(classify(Some(&long)), Agent::Preview);
    }

    #[test]
    fn social_preview_fetchers_are_bots() {
        for ua in [
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "WhatsApp/2.23.20.0 A",
            "TelegramBot (like TwitterBot)",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Pinterest/0.2 (+https://www.pinterest.com/bot.html)",
        ] {
            assert!(is_preview_fetcher(ua), "{ua}");
            assert!(is_bot(Some(ua)), "{ua}");
        }
    }

    #[test]
    fn crawlers_and_scripts_are_bots_but_not_previews() {
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.4.0",
            "python-requests/2.31",
        ] {
            assert!(is_bot(Some(ua)), "{ua}");
            assert!(!is_preview_fetcher(ua), "{ua}");
        }
        assert!(is_bot(None));
        assert!(is_bot(Some("  ")));
        assert_eq!(classify(Some("curl/8.4.0")), Agent::Robot);
        assert_eq!(classify(Some("Twitterbot/1.0")), Agent::Preview);
        assert_eq!(
            classify(Some("TelegramBot (like TwitterBot)")),
            Agent::Preview
        );
    }

    #[test]
    fn the_pinterest_app_is_a_shopper_and_its_fetcher_a_preview() {
        for app in [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [Pinterest/Android]",
        ] {
            assert_eq!(classify(Some(app)), Agent::Shopper, "{app}");
        }
        for fetcher in [
            "Pinterest/0.2 (+http://www.pinterest.com/bot.html)",
            "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
        ] {
            assert_eq!(classify(Some(fetcher)), Agent::Preview, "{fetcher}");
        }
    }

    #[test]
    fn a_preview_token_wins_over_a_generic_robot_token_around_it() {
        // `bot/` and `bot;` end before `discordbot/2.0;` would be reported without overlaps.
        assert_eq!(
            classify(Some(
                "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"
            )),
            Agent::Preview
        );
        assert_eq!(
            classify(Some("Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; +https://developers.snap.com/robots)")),
            Agent::Preview
        );
    }

    #[test]
    fn browsers_are_shoppers() {
        for ua in [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Instagram 309.0.0.40.113",
        ] {
            assert!(!is_bot(Some(ua)), "{ua}");
        }
    }
}
