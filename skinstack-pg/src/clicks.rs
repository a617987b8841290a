//! `clicks` and `click_rollups_daily`: the flusher's batches, written with one statement each,
//! and the roll-ups statistics read.

use crate::error::SqlxResultExt;
use crate::PgStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use skinstack_core::store::{ClickRollups, ClickSink, RepoResult};
use skinstack_core::tracking::rollup::{ClickCounts, DailyClicks};
use skinstack_core::{Click, LinkId};

// One statement per batch, so a batch is stored, counted and rolled up atomically:
// - ON CONFLICT (id, clicked_at) DO NOTHING makes a retried batch a no-op for the clicks it
//   already stored: clicked_at is the id's own time (`Click::stored_at`), so the pair is as
//   unique as the id and a retried click meets its own row in its own monthly partition;
// - only the rows actually inserted (RETURNING) are counted and rolled up: human clicks into
//   total_clicks, one UPDATE per link per batch, never one per click on the hot row;
// - each roll-up is one CTE reading `inserted`, so a per-dimension roll-up added later is one
//   more CTE of the same shape (PostgreSQL runs every data-modifying CTE, read or not);
// - rows are upserted in key order, so two flushers never lock roll-up rows crosswise;
// - clicks of links deleted since the redirect are skipped, as the FK cascade would drop them.
const RECORD_BATCH: &str = "\
    WITH incoming AS ( \
        SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[]) \
            AS c(id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source) \
    ), inserted AS ( \
        INSERT INTO clicks (id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source) \
        SELECT c.id, c.link_id, c.clicked_at, c.ip_prefix::inet, c.user_agent, c.referer, c.is_bot, c.source \
        FROM incoming c \
        WHERE EXISTS (SELECT 1 FROM tracking_links t WHERE t.id = c.link_id) \
        ON CONFLICT (id, clicked_at) DO NOTHING \
        RETURNING link_id, clicked_at, is_bot, source \
    ), rolled_daily AS ( \
        INSERT INTO click_rollups_daily AS r (link_id, day, clicks, qr_scans, robot_hits) \
        SELECT link_id, (clicked_at AT TIME ZONE 'UTC')::date, \
               count(*) FILTER (WHERE NOT is_bot), \
               count(*) FILTER (WHERE NOT is_bot AND source = 'qr'), \
               count(*) FILTER (WHERE is_bot) \
        FROM inserted GROUP BY 1, 2 ORDER BY 1, 2 \
        ON CONFLICT (link_id, day) DO UPDATE SET \
            clicks = r.clicks + EXCLUDED.clicks, \
            qr_scans = r.qr_scans + EXCLUDED.qr_scans, \
            robot_hits = r.robot_hits + EXCLUDED.robot_hits \
    ), counted AS ( \
        SELECT link_id, count(*) AS n FROM inserted WHERE NOT is_bot GROUP BY link_id \
    ) \
    UPDATE tracking_links t SET total_clicks = COALESCE(t.total_clicks, 0) + counted.n \
    FROM counted WHERE t.id = counted.link_id";

// The roll-ups of one link, straight from the primary key: at most one row per day.
const DAILY_CLICKS: &str = "\
    SELECT day, clicks, qr_scans, robot_hits FROM click_rollups_daily \
    WHERE link_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day";

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
        for click in clicks {
            ids.push(click.id.as_uuid());
            links.push(click.link_id.as_uuid());
            ats.push(click.stored_at());
            ips.push(click.ip.map(|ip| ip.to_string()));
            agents.push(click.user_agent.as_deref());
            referers.push(click.referer.as_deref());
            bots.push(click.is_bot);
            sources.push(click.source.as_str());
        }
        sqlx::query(RECORD_BATCH)
            .bind(&ids)
            .bind(&links)
            .bind(&ats)
            .bind(&ips)
            .bind(&agents)
            .bind(&referers)
            .bind(&bots)
            .bind(&sources)
            .execute(&self.pool)
            .await
            .repo()?;
        Ok(())
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
}
