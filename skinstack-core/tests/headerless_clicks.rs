//! Clicks that dropped their user agent and referer at the redirect (`Click::without_headers`,
//! the server's `--no-visitor-headers`) still roll up by the families they kept.
#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use skinstack_core::store::{ClickRollups, ClickSink, LinkRepo};
use skinstack_core::testkit::{new_link, Fixture};
use skinstack_core::tracking::breakdown::{Dimension, Scope, ValueClicks, NONE};
use skinstack_core::{Click, LinkId, MemoryStore};

const INSTAGRAM: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)";
const TIKTOK: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US RevealType/Dialog isDarkMode/0 WKWebView/1 BytedanceWebview/d8a21c6";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";

fn headerless(link: LinkId, user_agent: &str, referer: Option<&str>) -> Click {
    Click::new(link, None, Some(user_agent), referer).without_headers()
}

/// `(value, human clicks)` of a breakdown, sorted by value.
fn clicks_by_value(rows: Vec<ValueClicks>) -> Vec<(String, i64)> {
    let mut rows: Vec<(String, i64)> = rows
        .into_iter()
        .map(|row| (row.value, row.counts.clicks))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn clicks_without_headers_still_break_down_by_platform_and_referrer_in_the_memory_store() {
    let store = MemoryStore::new();
    let cast = Fixture::create(&store).await;
    let link = store
        .insert_link(new_link(&cast, "headerless"))
        .await
        .unwrap();
    let clicks = vec![
        headerless(link.id, INSTAGRAM, Some("https://l.instagram.com/?u=x")),
        headerless(link.id, INSTAGRAM, None),
        headerless(link.id, TIKTOK, None),
        headerless(
            link.id,
            SAFARI,
            Some("https://www.google.co.uk/search?q=serum"),
        ),
        headerless(link.id, "Twitterbot/1.0", None),
    ];
    assert!(clicks
        .iter()
        .all(|c| c.user_agent.is_none() && c.referer.is_none()));
    store.record_clicks(&clicks).await.unwrap();
    assert!(
        store
            .clicks()
            .iter()
            .all(|c| c.user_agent.is_none() && c.referer.is_none()),
        "nothing finer than the families is stored"
    );

    let day = clicks[0].stored_at().date_naive();
    let breakdown = |dimension| store.click_breakdown(Scope::Link(link.id), dimension, day, day);
    assert_eq!(
        clicks_by_value(breakdown(Dimension::Platform).await.unwrap()),
        vec![
            ("instagram".to_owned(), 2),
            (NONE.to_owned(), 1), // Safari; the robot is a robot hit, not a click
            ("tiktok".to_owned(), 1),
        ]
    );
    assert_eq!(
        clicks_by_value(breakdown(Dimension::Referrer).await.unwrap()),
        vec![
            ("google.co.uk".to_owned(), 1),
            ("instagram.com".to_owned(), 1),
            (NONE.to_owned(), 2),
        ]
    );
    let robots: i64 = breakdown(Dimension::Platform)
        .await
        .unwrap()
        .iter()
        .map(|row| row.counts.robot_hits)
        .sum();
    assert_eq!(
        robots, 1,
        "the bot flag was decided before the user agent went"
    );
}
