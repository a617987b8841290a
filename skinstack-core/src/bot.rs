//! Which user agents are robots: crawlers, monitors and the link-preview fetchers of social and
//! chat apps. One list, used both to flag clicks (robots are not shoppers) and, later, to answer
//! preview fetchers with a card instead of a redirect.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::sync::LazyLock;

/// Link-preview fetchers: they unfurl a pasted link into a card.
pub const PREVIEW_AGENTS: &[&str] = &[
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "twitterbot",
    "slackbot",
    "slack-imgproxy",
    "discordbot",
    "whatsapp",
    "telegrambot",
    "linkedinbot",
    "pinterest",
    "skypeuripreview",
    "redditbot",
    "applebot",
    "vkshare",
    "embedly",
    "iframely",
    "tiktokbot",
    "mastodon",
    "bluesky cardyb",
];

/// Crawlers, monitors and HTTP libraries: never a shopper with a browser.
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

fn first_match(user_agent: &str) -> Option<usize> {
    // Building from fixed short literals cannot fail; if it ever did, no user agent would be
    // flagged, which over-counts clicks rather than dropping any.
    ROBOTS
        .as_ref()?
        .find(user_agent)
        .map(|m| m.pattern().as_usize())
}

/// Whether `user_agent` is a link-preview fetcher.
pub fn is_preview_fetcher(user_agent: &str) -> bool {
    ROBOTS.as_ref().is_some_and(|m| {
        m.find_iter(user_agent)
            .any(|m| m.pattern().as_usize() < PREVIEW_AGENTS.len())
    })
}

/// Whether `user_agent` is any kind of robot (a preview fetcher, a crawler, a script).
/// A missing or empty user agent counts as a robot: every browser sends one.
pub fn is_bot(user_agent: Option<&str>) -> bool {
    match user_agent {
        None => true,
        Some(ua) if ua.trim().is_empty() => true,
        Some(ua) => first_match(ua).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
