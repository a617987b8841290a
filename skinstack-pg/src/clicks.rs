//! `clicks`, `click_rollups_daily` and `click_rollups_daily_values`: the flusher's batches,
//! written with one statement each, the roll-ups statistics, click counts and breakdowns read,
//! and their mirror in `total_clicks`.

use crate::error::{RowParser, SqlxResultExt};
use crate::schedule::Schedule;
use crate::PgStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use skinstack_core::store::{ClickRollups, ClickSink, RepoResult};
use skinstack_core::tracking::breakdown::{Dimension, Scope, ValueClicks, Visit, VisitKey, NONE};
use skinstack_core::tracking::rollup::{ClickCounts, DailyClicks};
use skinstack_core::{Click, Country, LinkId};
use uuid::Uuid;

// One statement per batch, so a batch is stored and rolled up atomically:
// - ON CONFLICT (id, clicked_at) DO NOTHING makes a retried batch a no-op for the clicks it
//   already stored: clicked_at is the id's own time (`Click::stored_at`), so the pair is as
//   unique as the id and a retried click meets its own row in its own monthly partition;
// - only the rows actually inserted (RETURNING) are rolled up;
// - the roll-ups are the link's click count: the wide tracking_links row is not touched here
//   (migration 0032); `fold_click_totals` mirrors the sums into its total_clicks later;
// - the closed families (source, device, OS, browser, platform) are one integer, core's
//   `VisitKey::code`, stored with the click and keying its daily row (migrations 0035, 0036),
//   so they cost no extra upsert, little key width, and no join back to the input;
// - the open ones (country, referring domain) are one more CTE reading `inserted`, one row per
//   value a click carries (PostgreSQL runs every data-modifying CTE, read or not), left out of
//   the statement, with the columns themselves, when no click of the batch carries one;
// - rows are upserted in key order within each table, and every flusher runs this same
//   statement, so takes the two tables in the same order: two flushers never lock roll-up rows
//   crosswise;
// - clicks of links deleted since the redirect are skipped, as the FK cascade would drop them.
//
// `record_batch!(valued)` is the statement with the open values and their CTE,
// `record_batch!()` without either: it binds two arrays fewer.
macro_rules! record_batch {
    () => {
        record_batch!(@ "", "", "", "")
    };
    ($valued:literal) => {
        record_batch!(@ ", referrer_domain, country", ", c.referrer_domain, c.country",
                      ", $10::text[], $11::text[]", $valued)
    };
    (@ $open:literal, $c_open:literal, $open_params:literal, $valued:literal) => {
        concat!("\
    WITH inserted AS ( \
        INSERT INTO clicks (id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source, \
                            visit", $open, ") \
        SELECT c.id, c.link_id, c.clicked_at, c.ip_prefix::inet, c.user_agent, c.referer, c.is_bot, c.source, \
               c.visit", $c_open, " \
        FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::bool[], \
                    $8::text[], $9::int[]", $open_params, ") \
            AS c(id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source, visit", $open, ") \
        WHERE EXISTS (SELECT 1 FROM tracking_links t WHERE t.id = c.link_id) \
        ON CONFLICT (id, clicked_at) DO NOTHING \
        RETURNING link_id, (clicked_at AT TIME ZONE 'UTC')::date AS day, visit, is_bot, source", $open, " \
", $valued, "\
    ) \
    INSERT INTO click_rollups_daily AS r (link_id, day, visit, clicks, qr_scans, robot_hits) \
    SELECT link_id, day, visit, \
           count(*) FILTER (WHERE NOT is_bot), \
           count(*) FILTER (WHERE NOT is_bot AND source = 'qr'), \
           count(*) FILTER (WHERE is_bot) \
    FROM inserted \
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
    ON CONFLICT (link_id, day, visit) DO UPDATE SET \
        clicks = r.clicks + EXCLUDED.clicks, \
        qr_scans = r.qr_scans + EXCLUDED.qr_scans, \
        robot_hits = r.robot_hits + EXCLUDED.robot_hits")
    };
}

const RECORD_BATCH: &str = record_batch!("\
    ), valued AS ( \
        INSERT INTO click_rollups_daily_values AS r (link_id, day, dimension, value, clicks, qr_scans, robot_hits) \
        SELECT i.link_id, i.day, v.dimension, v.value, \
               count(*) FILTER (WHERE NOT i.is_bot), \
               count(*) FILTER (WHERE NOT i.is_bot AND i.source = 'qr'), \
               count(*) FILTER (WHERE i.is_bot) \
        FROM inserted i \
        CROSS JOIN LATERAL (VALUES ('country', i.country), ('referrer', i.referrer_domain)) AS v(dimension, value) \
        WHERE v.value IS NOT NULL \
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 \
        ON CONFLICT (link_id, day, dimension, value) DO UPDATE SET \
            clicks = r.clicks + EXCLUDED.clicks, \
            qr_scans = r.qr_scans + EXCLUDED.qr_scans, \
            robot_hits = r.robot_hits + EXCLUDED.robot_hits \
");

const RECORD_BATCH_NO_VALUES: &str = record_batch!();

// The mirror of the roll-ups in tracking_links.total_clicks, for every link; rows already
// equal are not written.
const FOLD_ALL_CLICK_TOTALS: &str = "\
    UPDATE tracking_links t SET total_clicks = s.clicks \
    FROM ( \
        SELECT link_id, LEAST(sum(clicks), 2147483647)::INTEGER AS clicks \
        FROM click_rollups_daily GROUP BY link_id \
    ) s \
    WHERE t.id = s.link_id AND t.total_clicks IS DISTINCT FROM s.clicks";

// The same for the links with a roll-up row on or after $1 only: found through
// click_rollups_daily_day, then each summed through the primary key and updated through its
// own (LATERAL keeps the planner from hashing whole tables), so the cost follows the recent
// links, not the table: checked with EXPLAIN on 50 000 links × 40 days.
const FOLD_RECENT_CLICK_TOTALS: &str = "\
    UPDATE tracking_links t SET total_clicks = s.clicks \
    FROM (SELECT DISTINCT link_id FROM click_rollups_daily WHERE day >= $1) recent, \
    LATERAL ( \
        SELECT LEAST(sum(r.clicks), 2147483647)::INTEGER AS clicks \
        FROM click_rollups_daily r WHERE r.link_id = recent.link_id \
    ) s \
    WHERE t.id = recent.link_id AND t.total_clicks IS DISTINCT FROM s.clicks";

// The roll-ups of one link, straight from the primary key: a day's rows (one per families)
// summed.
const DAILY_CLICKS: &str = "\
    SELECT day, sum(clicks)::bigint, sum(qr_scans)::bigint, sum(robot_hits)::bigint \
    FROM click_rollups_daily \
    WHERE link_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day ORDER BY day";

#[async_trait]
impl ClickSink for PgStore {
    async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
        if clicks.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(clicks.len());
        let mut links = Vec::with_capacity(clicks.len());
        let mut ats = Vec::with_capacity(clicks.len());
        let mut ips = Vec::with_capacity(clicks.len());
        let mut agents = Vec::with_capacity(clicks.len());
        let mut referers = Vec::with_capacity(clicks.len());
        let mut bots = Vec::with_capacity(clicks.len());
        let mut sources = Vec::with_capacity(clicks.len());
        let mut visits = Vec::with_capacity(clicks.len());
        let mut domains = Vec::with_capacity(clicks.len());
        let mut countries = Vec::with_capacity(clicks.len());
        for click in clicks {
            let visit = Visit::of(click);
            visits.push(visit.key.code());
            domains.push(visit.referrer_domain);
            countries.push(click.country.as_ref().map(Country::as_str));
            ids.push(click.id.as_uuid());
            links.push(click.link_id.as_uuid());
            ats.push(click.stored_at());
            ips.push(click.ip.map(|ip| ip.to_string()));
            agents.push(click.user_agent.as_deref());
            referers.push(click.referer.as_deref());
            bots.push(click.is_bot);
            sources.push(click.source.as_str());
        }
        let valued = domains.iter().any(Option::is_some) || countries.iter().any(Option::is_some);
        let query = sqlx::query(if valued {
            RECORD_BATCH
        } else {
            RECORD_BATCH_NO_VALUES
        })
        .bind(&ids)
        .bind(&links)
        .bind(&ats)
        .bind(&ips)
        .bind(&agents)
        .bind(&referers)
        .bind(&bots)
        .bind(&sources)
        .bind(&visits);
        let query = if valued {
            query.bind(&domains).bind(&countries)
        } else {
            query
        };
        query.execute(&self.pool).await.repo()?;
        Ok(())
    }
}

impl PgStore {
    /// Brings `tracking_links.total_clicks`, the seed's column, up to the roll-ups for every
    /// link clicked on or after `since` (every link when `None`); the number of links whose
    /// column changed. The library itself reads click counts from the roll-ups, so this only
    /// serves SQL readers of the column: the reference server runs it on an interval, after
    /// the last flush of a graceful stop, and for every link at start (migration 0032).
    pub async fn fold_click_totals(&self, since: Option<NaiveDate>) -> RepoResult<u64> {
        let done = match since {
            None => sqlx::query(FOLD_ALL_CLICK_TOTALS).execute(&self.pool).await,
            Some(day) => {
                sqlx::query(FOLD_RECENT_CLICK_TOTALS)
                    .bind(day)
                    .execute(&self.pool)
                    .await
            }
        }
        .repo()?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ClickRollups for PgStore {
    async fn daily_clicks(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyClicks>> {
        let rows: Vec<(NaiveDate, i64, i64, i64)> = sqlx::query_as(DAILY_CLICKS)
            .bind(link.as_uuid())
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .repo()?;
        Ok(rows
            .into_iter()
            .map(|(day, clicks, qr_scans, robot_hits)| DailyClicks {
                day,
                counts: ClickCounts {
                    clicks,
                    qr_scans,
                    robot_hits,
                },
            })
            .collect())
    }

    async fn click_breakdown(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<ValueClicks>> {
        if to < from {
            return Ok(Vec::new());
        }
        let (scoped, id) = scope_links(scope);
        let sums = "sum(r.clicks)::bigint, sum(r.qr_scans)::bigint, sum(r.robot_hits)::bigint";
        let sql = match Values::of(dimension) {
            Values::OfLink(value) => format!(
                "SELECT {value}, {sums} FROM tracking_links l \
                 JOIN click_rollups_daily r ON r.link_id = l.id \
                 WHERE {scoped} AND r.day BETWEEN $2 AND $3 GROUP BY 1"
            ),
            // The clicks without a value are what the day's totals have beyond the values'
            // rows: those rows are written only for clicks that carry one (migration 0035).
            Values::Column(_) if dimension.is_open() => format!(
                "WITH scoped AS (SELECT l.id FROM tracking_links l WHERE {scoped}), \
                 totals AS ( \
                     SELECT COALESCE(sum(r.clicks), 0) AS clicks, \
                            COALESCE(sum(r.qr_scans), 0) AS qr_scans, \
                            COALESCE(sum(r.robot_hits), 0) AS robot_hits \
                     FROM scoped s JOIN click_rollups_daily r ON r.link_id = s.id \
                     WHERE r.day BETWEEN $2 AND $3), \
                 valued AS ( \
                     SELECT r.value, sum(r.clicks) AS clicks, sum(r.qr_scans) AS qr_scans, \
                            sum(r.robot_hits) AS robot_hits \
                     FROM scoped s JOIN click_rollups_daily_values r ON r.link_id = s.id \
                     WHERE r.day BETWEEN $2 AND $3 AND r.dimension = $4 GROUP BY r.value), \
                 rest AS ( \
                     SELECT '{NONE}'::text AS value, t.clicks - v.clicks AS clicks, \
                            t.qr_scans - v.qr_scans AS qr_scans, \
                            t.robot_hits - v.robot_hits AS robot_hits \
                     FROM totals t, ( \
                         SELECT COALESCE(sum(clicks), 0) AS clicks, \
                                COALESCE(sum(qr_scans), 0) AS qr_scans, \
                                COALESCE(sum(robot_hits), 0) AS robot_hits FROM valued) v) \
                 SELECT r.value, {sums} FROM ( \
                     SELECT * FROM valued UNION ALL \
                     SELECT * FROM rest WHERE clicks <> 0 OR qr_scans <> 0 OR robot_hits <> 0 \
                 ) r GROUP BY r.value"
            ),
            // A closed family is a part of the rows' visit code: summed by code here, then by
            // the family's value in Rust (at most a few hundred codes).
            Values::Column(_) => {
                let sql = format!(
                    "SELECT r.visit, {sums} FROM tracking_links l \
                     JOIN click_rollups_daily r ON r.link_id = l.id \
                     WHERE {scoped} AND r.day BETWEEN $2 AND $3 GROUP BY 1"
                );
                let rows: Vec<(i32, i64, i64, i64)> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await
                    .repo()?;
                let mut sums: std::collections::HashMap<&'static str, ClickCounts> =
                    std::collections::HashMap::new();
                for (code, clicks, qr_scans, robot_hits) in rows {
                    let value = VisitKey::from_code(code)
                        .and_then(|key| key.value(dimension))
                        .ok_or_else(|| {
                            RowParser::new("click_rollups_daily", id)
                                .corrupt(format!("visit code {code} names no families"))
                        })?;
                    sums.entry(value).or_default().add(ClickCounts {
                        clicks,
                        qr_scans,
                        robot_hits,
                    });
                }
                return Ok(sums
                    .into_iter()
                    .map(|(value, counts)| ValueClicks {
                        value: value.to_owned(),
                        counts,
                    })
                    .collect());
            }
        };
        let mut query = sqlx::query_as(&sql).bind(id).bind(from).bind(to);
        if dimension.is_open() {
            // Stored under the dimension's own name (migration 0035).
            query = query.bind(dimension.as_str());
        }
        let rows: Vec<(String, i64, i64, i64)> = query.fetch_all(&self.pool).await.repo()?;
        Ok(rows
            .into_iter()
            .map(|(value, clicks, qr_scans, robot_hits)| ValueClicks {
                value,
                counts: ClickCounts {
                    clicks,
                    qr_scans,
                    robot_hits,
                },
            })
            .collect())
    }
}

/// The condition on `l` (tracking_links) that keeps `scope`'s links, and the id it binds as
/// `$1`.
pub(crate) fn scope_links(scope: Scope) -> (&'static str, Uuid) {
    match scope {
        Scope::Link(id) => ("l.id = $1", id.as_uuid()),
        Scope::Influencer(id) => ("l.influencer_id = $1", id.as_uuid()),
        Scope::Program(id) => ("l.program_id = $1", id.as_uuid()),
        Scope::Merchant(id) => (
            "l.program_id IN (SELECT p.id FROM programs p WHERE p.merchant_id = $1)",
            id.as_uuid(),
        ),
    }
}

/// Where a breakdown reads a dimension's values.
pub(crate) enum Values {
    /// A link dimension: this expression of the link `l`. PostgreSQL prints a uuid as core
    /// prints an id (lowercase, hyphenated), so the values match the memory store's.
    OfLink(String),
    /// A click dimension: the column named as in conversions (0035), where the source is
    /// `click_source`; the views click_families and click_rollups_daily_families name the
    /// closed families alike (0036).
    Column(&'static str),
}

impl Values {
    /// Where `dimension`'s values are.
    pub(crate) fn of(dimension: Dimension) -> Values {
        match dimension {
            Dimension::Link => Values::OfLink("l.id::text".to_owned()),
            Dimension::Product => Values::OfLink(format!("COALESCE(l.product_id::text, '{NONE}')")),
            Dimension::Member => Values::OfLink("l.influencer_id::text".to_owned()),
            Dimension::Source => Values::Column("source"),
            Dimension::Device => Values::Column("device"),
            Dimension::Os => Values::Column("os"),
            Dimension::Browser => Values::Column("browser"),
            Dimension::Platform => Values::Column("platform"),
            Dimension::Country => Values::Column("country"),
            Dimension::Referrer => Values::Column("referrer_domain"),
        }
    }
}

/// Days before today a periodic fold looks back: clicks are stored at their id's time, and a
/// journal replayed at start holds clicks of the last moments before a stop. Clicks older
/// than that reaching the database late are folded by the next start's full fold.
pub const FOLD_DAYS_BACK: u64 = 2;

/// Keeps `tracking_links.total_clicks` folded from the roll-ups while a server runs: the links
/// clicked in the last [`FOLD_DAYS_BACK`] days, every interval; [`ClickTotalFolding::finish`]
/// folds once more after the last flush. A server folds every link once at start, before
/// its cache warm-up reads the column ([`PgStore::fold_click_totals`] with `None`).
pub struct ClickTotalFolding {
    store: PgStore,
    schedule: Schedule,
}

impl ClickTotalFolding {
    /// Folds the recent links every `interval`, the first time one `interval` from now. A
    /// failed fold is logged and tried at the next tick.
    pub fn spawn(store: PgStore, interval: std::time::Duration) -> Self {
        let folding = store.clone();
        let schedule = Schedule::spawn(interval, move || {
            let folding = folding.clone();
            async move {
                match folding.fold_click_totals(Some(recent())).await {
                    Ok(links) => tracing::debug!(links, "link click totals folded"),
                    Err(error) => tracing::warn!(%error, "link click totals not folded; retrying"),
                }
                interval
            }
        });
        Self { store, schedule }
    }

    /// Waits until `count` folds have run since the start (passed or failed): lets a test
    /// observe the schedule without sleeping.
    pub async fn folded(&self, count: u64) {
        self.schedule.ran(count).await;
    }

    /// How many folds have run since the start.
    pub fn folds(&self) -> u64 {
        self.schedule.runs()
    }

    /// Stops the schedule and folds the recent links once more: called after the click
    /// flusher drained, so the column is exact for every click this process stored.
    pub async fn finish(self) -> RepoResult<u64> {
        self.schedule.stop();
        self.store.fold_click_totals(Some(recent())).await
    }
}

fn recent() -> NaiveDate {
    (chrono::Utc::now() - chrono::Days::new(FOLD_DAYS_BACK)).date_naive()
}
