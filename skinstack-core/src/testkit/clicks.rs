//! The contract for the click sink: a batch is stored and counted once however often it is
//! retried, robots are stored but not counted, and clicks on a link deleted since are dropped.
//! And for the daily roll-ups: after any sequence of batches, retried or overlapping, they hold
//! exactly what the stored clicks add up to by the rule of [`crate::tracking::rollup`].

use super::*;

/// The contract cases for the click sink.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::tracking::rollup::{ClickCounts, DailyClicks, DailyRollups};
    use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashSet;
    use std::net::{IpAddr, Ipv4Addr};

    /// A click on `link` that happened at `at`, as the redirect would have recorded it.
    fn click_of(link: LinkId, at: DateTime<Utc>, agent: &str, source: ClickSource) -> Click {
        let mut click = Click::new(link, None, Some(agent), None).from_source(source);
        click.id = ClickId::issued(at);
        click.at = click.id.issued_at();
        click
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn human(link: LinkId) -> Click {
        Click::new(
            link,
            Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
            Some("Mozilla/5.0 (iPhone)"),
            None,
        )
    }

    pub async fn click_batches_are_stored_and_counted_once_even_when_retried<S: LedgerStore>(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let a = store.insert_link(new_link(&f, "link-a")).await.unwrap();
        let mut b = new_link(&f, "link-b");
        b.campaign_code = None;
        let b = store.insert_link(b).await.unwrap();
        let mut batch: Vec<Click> = (0..30)
            .map(|i| human(if i % 3 == 0 { b.id } else { a.id }))
            .collect();
        batch.push(Click::new(a.id, None, Some("Twitterbot/1.0"), None));
        store.record_clicks(&batch).await.unwrap();
        // The flusher's retry after an ambiguous failure changes nothing.
        store.record_clicks(&batch).await.unwrap();
        assert_eq!(
            store.link_by_id(a.id).await.unwrap().total_clicks,
            20,
            "the robot is stored, not counted"
        );
        assert_eq!(store.link_by_id(b.id).await.unwrap().total_clicks, 10);
        for click in &batch {
            let facts = store.click_facts(click.id).await.unwrap();
            let facts = facts.expect("every click of the batch is stored");
            assert_eq!(facts.is_bot, click.is_bot);
        }
    }

    /// An iPhone's Instagram in-app browser, as it opens a link from a story.
    pub const INSTAGRAM_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 537288532)";

    pub async fn a_stored_click_keeps_what_its_headers_said_about_the_visitor_and_its_country<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        use crate::tracking::visitor::{Browser, Device, Os, Platform, UserAgentFacts, Visitor};
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "visitor")).await.unwrap();
        let germany = Country::parse("DE").unwrap();
        let story = Click::new(
            link.id,
            None,
            Some(INSTAGRAM_IPHONE),
            Some("https://l.instagram.com/?u=https%3A%2F%2Fskin.st%2Fvisitor"),
        )
        .in_country(Some(germany));
        let desktop = Click::new(
            link.id,
            None,
            Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
            Some("https://www.google.co.uk/"),
        );
        let bare = Click::new(link.id, None, None, None);
        let robot = Click::new(link.id, None, Some("Twitterbot/1.0"), None);
        let batch = [story.clone(), desktop.clone(), bare.clone(), robot.clone()];
        store.record_clicks(&batch).await.unwrap();
        let visitor = |click: &Click| {
            let id = click.id;
            async move {
                let visit = store.click_facts(id).await.unwrap().unwrap().visit;
                Visitor {
                    agent: visit.key.agent,
                    referrer_domain: visit.referrer_domain,
                }
            }
        };
        assert_eq!(
            visitor(&story).await,
            Visitor {
                agent: UserAgentFacts {
                    device: Device::Mobile,
                    os: Os::Ios,
                    browser: Browser::Other,
                    platform: Some(Platform::Instagram),
                },
                referrer_domain: Some("instagram.com".to_owned()),
            }
        );
        assert_eq!(
            visitor(&desktop).await,
            Visitor {
                agent: UserAgentFacts {
                    device: Device::Desktop,
                    os: Os::Windows,
                    browser: Browser::Chrome,
                    platform: None,
                },
                referrer_domain: Some("google.co.uk".to_owned()),
            }
        );
        let country = |click: &Click| {
            let id = click.id;
            async move { store.click_facts(id).await.unwrap().unwrap().visit.country }
        };
        assert_eq!(country(&story).await, Some(germany));
        assert_eq!(country(&desktop).await, None);
        for unknown in [&bare, &robot] {
            assert_eq!(
                visitor(unknown).await,
                Visitor::of(None, None),
                "nothing to tell"
            );
        }
    }

    pub async fn clicks_on_a_link_deleted_since_are_dropped_not_failed<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        let keep = store.insert_link(new_link(&f, "keeper")).await.unwrap();
        let mut gone = new_link(&f, "goner");
        gone.campaign_code = None;
        let gone = store.insert_link(gone).await.unwrap();
        let batch = vec![human(keep.id), human(gone.id)];
        store.delete_link(gone.id).await.unwrap();
        store.record_clicks(&batch).await.unwrap();
        assert_eq!(store.link_by_id(keep.id).await.unwrap().total_clicks, 1);
        assert!(store.click_facts(batch[0].id).await.unwrap().is_some());
        assert!(store.click_facts(batch[1].id).await.unwrap().is_none());
    }

    pub async fn roll_ups_equal_the_stored_clicks_after_random_batches_and_retries<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let a = store.insert_link(new_link(&f, "roll-a")).await.unwrap();
        let mut b = new_link(&f, "roll-b");
        b.campaign_code = None;
        let b = store.insert_link(b).await.unwrap();
        let links = [a.id, b.id];
        let start = Utc
            .with_ymd_and_hms(2026, 1, 30, 22, 0, 0)
            .single()
            .unwrap();
        let mut rng = StdRng::seed_from_u64(17);
        let mut sent: Vec<Click> = Vec::new();
        let mut expected = DailyRollups::new();
        let mut stored = HashSet::new();
        for _ in 0..40 {
            // A new batch, or a retry of earlier clicks mixed with new ones (the flusher's
            // retry after an ambiguous failure, a journal replay overlapping what was stored).
            let mut batch: Vec<Click> = Vec::new();
            if !sent.is_empty() && rng.random_bool(0.4) {
                for _ in 0..rng.random_range(1..=8) {
                    batch.push(sent[rng.random_range(0..sent.len())].clone());
                }
            }
            for _ in 0..rng.random_range(0..=12) {
                // Spread over four days across a month's end, to the millisecond.
                let at = start + Duration::milliseconds(rng.random_range(0..4 * 86_400_000));
                let agent = if rng.random_bool(0.2) {
                    "Twitterbot/1.0"
                } else {
                    "Mozilla/5.0 (iPhone)"
                };
                let source = if rng.random_bool(0.3) {
                    ClickSource::Qr
                } else {
                    ClickSource::Link
                };
                batch.push(click_of(links[rng.random_range(0..2)], at, agent, source));
            }
            store.record_clicks(&batch).await.unwrap();
            for click in batch {
                if stored.insert(click.id) {
                    DailyClicks::tally(&mut expected, &click);
                    sent.push(click);
                }
            }
        }
        let (from, to) = (day(2026, 1, 1), day(2026, 2, 28));
        for link in links {
            let rows = store.daily_clicks(link, from, to).await.unwrap();
            assert_eq!(rows, DailyClicks::of_link(&expected, link, from, to));
            let mut total = ClickCounts::default();
            for row in &rows {
                total.add(row.counts);
            }
            assert_eq!(
                total.clicks,
                store.link_by_id(link).await.unwrap().total_clicks,
                "the roll-ups add up to the link's counter"
            );
            let raw = sent.iter().filter(|c| c.link_id == link);
            assert_eq!(
                total.robot_hits,
                i64::try_from(raw.filter(|c| c.is_bot).count()).unwrap()
            );
            let stats = store.link_daily_stats(link, from, to).await.unwrap();
            for row in &rows {
                let shown = stats.iter().find(|s| s.day == row.day).unwrap();
                assert_eq!(
                    shown.clicks, row.counts.clicks,
                    "statistics read the roll-ups"
                );
            }
        }
    }

    /// User agents of the breakdown cases: apps' in-app browsers, a desktop, a robot, none.
    const AGENTS: &[Option<&str>] = &[
        Some(INSTAGRAM_IPHONE),
        Some("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36 trill_330304 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/33.3.4 ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6"),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
        Some("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"),
        Some("Twitterbot/1.0"),
        None,
    ];

    /// Every breakdown of every scope equals what the distinct stored clicks add up to, value
    /// by value, after random batches with retries and overlaps; and each sums to the daily
    /// roll-ups, so no click is counted under two values or none.
    pub async fn breakdowns_equal_the_stored_clicks_per_dimension_after_random_and_retried_batches<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        use crate::tracking::breakdown::{Dimension, Scope, Visit, NONE};
        use std::collections::BTreeMap;
        let f = Fixture::create(store).await;
        let a = store.insert_link(new_link(&f, "split-a")).await.unwrap();
        let mut b = new_link(&f, "split-b");
        b.campaign_code = None;
        b.product_id = None;
        let b = store.insert_link(b).await.unwrap();
        let links = [&a, &b];
        let referers = [
            None,
            Some("https://l.instagram.com/?u=x"),
            Some("https://www.google.co.uk/search?q=serum"),
            Some("https://blog.example.com/best-serums"),
        ];
        let countries = [None, Some("DE"), Some("FR"), Some("US")];
        let start = Utc
            .with_ymd_and_hms(2026, 1, 30, 22, 0, 0)
            .single()
            .unwrap();
        // Each seed's clicks fall on days of their own, ten days apart, so each is checked apart.
        for (round, seed) in [(0, 3), (1, 29)] {
            let start = start + Duration::days(10 * round);
            let mut rng = StdRng::seed_from_u64(seed);
            let mut sent: Vec<Click> = Vec::new();
            let mut stored = HashSet::new();
            for _ in 0..30 {
                let mut batch: Vec<Click> = Vec::new();
                if !sent.is_empty() && rng.random_bool(0.4) {
                    for _ in 0..rng.random_range(1..=8) {
                        batch.push(sent[rng.random_range(0..sent.len())].clone());
                    }
                }
                for _ in 0..rng.random_range(0..=12) {
                    let at = start + Duration::milliseconds(rng.random_range(0..3 * 86_400_000));
                    let link = links[rng.random_range(0..links.len())];
                    let mut click = Click::new(
                        link.id,
                        None,
                        AGENTS[rng.random_range(0..AGENTS.len())],
                        referers[rng.random_range(0..referers.len())],
                    )
                    .in_country(
                        countries[rng.random_range(0..countries.len())]
                            .map(|c| Country::parse(c).unwrap()),
                    );
                    if rng.random_bool(0.3) {
                        click = click.from_source(ClickSource::Qr);
                    }
                    click.id = ClickId::issued(at);
                    click.at = click.id.issued_at();
                    batch.push(click);
                }
                store.record_clicks(&batch).await.unwrap();
                for click in batch {
                    if stored.insert(click.id) {
                        sent.push(click);
                    }
                }
            }
            let from = start.date_naive();
            let to = from + chrono::Days::new(3);
            let link_value = |id: LinkId, dimension: Dimension| {
                let link = links.iter().find(|l| l.id == id).unwrap();
                match dimension {
                    Dimension::Link => link.id.to_string(),
                    Dimension::Product => link
                        .product_id
                        .map_or_else(|| NONE.to_owned(), |p| p.to_string()),
                    _ => link.influencer_id.to_string(),
                }
            };
            let scopes = [
                (Scope::Link(a.id), vec![a.id]),
                (Scope::Link(b.id), vec![b.id]),
                (Scope::Influencer(f.influencer.id), vec![a.id, b.id]),
                (Scope::Program(f.program.id), vec![a.id, b.id]),
                (Scope::Merchant(f.merchant.id), vec![a.id, b.id]),
            ];
            for (scope, members) in &scopes {
                let mut total = ClickCounts::default();
                for link in members {
                    for row in store.daily_clicks(*link, from, to).await.unwrap() {
                        total.add(row.counts);
                    }
                }
                for dimension in Dimension::ALL.iter().copied() {
                    let mut expected: BTreeMap<String, ClickCounts> = BTreeMap::new();
                    for click in sent.iter().filter(|c| members.contains(&c.link_id)) {
                        let value = match Visit::of(click).value(dimension) {
                            Some(value) => value.to_owned(),
                            None => link_value(click.link_id, dimension),
                        };
                        expected.entry(value).or_default().tally(click);
                    }
                    let got: BTreeMap<String, ClickCounts> = store
                        .click_breakdown(*scope, dimension, from, to)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|row| (row.value, row.counts))
                        .collect();
                    assert_eq!(got, expected, "seed {seed}, {scope:?} by {dimension}");
                    let mut sum = ClickCounts::default();
                    for counts in got.values() {
                        sum.add(*counts);
                    }
                    assert_eq!(sum, total, "{scope:?} by {dimension} sums to the roll-ups");
                }
            }
            // A one-day range holds that day's clicks only; a reversed range nothing.
            let first = from + chrono::Days::new(1);
            let got: i64 = store
                .click_breakdown(
                    Scope::Program(f.program.id),
                    Dimension::Device,
                    first,
                    first,
                )
                .await
                .unwrap()
                .iter()
                .map(|row| row.counts.clicks)
                .sum();
            let want = sent
                .iter()
                .filter(|c| !c.is_bot && c.stored_at().date_naive() == first)
                .count();
            assert_eq!(got, i64::try_from(want).unwrap());
            assert!(store
                .click_breakdown(Scope::Link(a.id), Dimension::Os, to, from)
                .await
                .unwrap()
                .is_empty());
        }
    }

    /// Clicks that dropped their user agent and referer at the redirect
    /// (`Click::without_headers`, the server's `--no-visitor-headers`) are stored without them,
    /// keep the families derived before, and roll up by those families.
    pub async fn clicks_without_headers_keep_their_families_and_break_down_by_them<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        use crate::tracking::breakdown::{Dimension, Scope, NONE};
        use crate::tracking::visitor::Platform;
        use std::collections::BTreeMap;
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "headerless")).await.unwrap();
        let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
        let headerless = |agent: &str, referer: Option<&str>| {
            Click::new(link.id, None, Some(agent), referer).without_headers()
        };
        let story = headerless(INSTAGRAM_IPHONE, Some("https://l.instagram.com/?u=x"));
        let clicks = [
            story.clone(),
            headerless(INSTAGRAM_IPHONE, None),
            headerless(safari, Some("https://www.google.co.uk/search?q=serum")),
            headerless("Twitterbot/1.0", None),
        ];
        store.record_clicks(&clicks).await.unwrap();
        let facts = store.click_facts(story.id).await.unwrap().unwrap();
        assert_eq!(facts.visit.key.agent.platform, Some(Platform::Instagram));
        assert_eq!(
            facts.visit.referrer_domain.as_deref(),
            Some("instagram.com")
        );
        let day = story.stored_at().date_naive();
        let by = |dimension| async move {
            store
                .click_breakdown(Scope::Link(link.id), dimension, day, day)
                .await
                .unwrap()
                .into_iter()
                .map(|row| (row.value, (row.counts.clicks, row.counts.robot_hits)))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            by(Dimension::Platform).await,
            BTreeMap::from([
                ("instagram".to_owned(), (2, 0)),
                // Safari, and the robot: still told apart by the flag decided at the redirect.
                (NONE.to_owned(), (1, 1)),
            ])
        );
        assert_eq!(
            by(Dimension::Referrer).await,
            BTreeMap::from([
                ("google.co.uk".to_owned(), (1, 0)),
                ("instagram.com".to_owned(), (1, 0)),
                (NONE.to_owned(), (1, 1)),
            ])
        );
    }

    pub async fn roll_ups_count_by_utc_day_and_go_with_their_link<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "midnight")).await.unwrap();
        let midnight = Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0).single().unwrap();
        let human = "Mozilla/5.0 (iPhone)";
        let batch = vec![
            click_of(
                link.id,
                midnight - Duration::milliseconds(1),
                human,
                ClickSource::Link,
            ),
            click_of(link.id, midnight, human, ClickSource::Qr),
            click_of(link.id, midnight, "Twitterbot/1.0", ClickSource::Qr),
        ];
        store.record_clicks(&batch).await.unwrap();
        let rows = store
            .daily_clicks(link.id, day(2026, 3, 14), day(2026, 3, 15))
            .await
            .unwrap();
        let counts = |clicks, qr_scans, robot_hits| ClickCounts {
            clicks,
            qr_scans,
            robot_hits,
        };
        assert_eq!(
            rows,
            vec![
                DailyClicks {
                    day: day(2026, 3, 14),
                    counts: counts(1, 0, 0)
                },
                DailyClicks {
                    day: day(2026, 3, 15),
                    counts: counts(1, 1, 1)
                },
            ]
        );
        assert!(store
            .daily_clicks(link.id, day(2026, 3, 15), day(2026, 3, 14))
            .await
            .unwrap()
            .is_empty());
        store.delete_link(link.id).await.unwrap();
        assert!(store
            .daily_clicks(link.id, day(2026, 3, 1), day(2026, 3, 31))
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn a_click_is_stored_at_its_ids_time_so_a_retry_with_another_time_is_no_copy<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "one-time")).await.unwrap();
        let first = human(link.id);
        let mut skewed = first.clone();
        skewed.at -= Duration::days(45);
        store
            .record_clicks(std::slice::from_ref(&first))
            .await
            .unwrap();
        store.record_clicks(&[skewed]).await.unwrap();
        assert_eq!(store.link_by_id(link.id).await.unwrap().total_clicks, 1);
        let facts = store.click_facts(first.id).await.unwrap().unwrap();
        assert_eq!(facts.clicked_at, first.stored_at());
    }
}
