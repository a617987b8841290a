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

/// Classifies `user_agent` in one pass over it. A missing or empty user agent is a robot:
/// every browser sends one.
pub fn classify(user_agent: Option<&str>) -> Agent {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return Agent::Robot;
    };
    // Building from fixed short literals cannot fail; if it ever did, every agent would count
    // as a shopper, which over-counts clicks rather than dropping any.
    let Some(robots) = ROBOTS.as_ref() else {
        return Agent::Shopper;
    };
    let mut agent = Agent::Shopper;
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
