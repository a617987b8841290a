//! `clicks`: the flusher's batches, written with one statement each.

use crate::error::SqlxResultExt;
use crate::PgStore;
use async_trait::async_trait;
use skinstack_core::store::{ClickSink, RepoResult};
use skinstack_core::Click;

// One statement per batch, so a batch is stored and counted atomically:
// - ON CONFLICT (id) DO NOTHING makes a retried batch a no-op for the clicks it already stored;
// - only the rows actually inserted (RETURNING) are counted, human clicks only, one UPDATE
//   per link per batch — never one per click on the hot row;
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
        ON CONFLICT (id) DO NOTHING \
        RETURNING link_id, is_bot \
    ), counted AS ( \
        SELECT link_id, count(*) AS n FROM inserted WHERE NOT is_bot GROUP BY link_id \
    ) \
    UPDATE tracking_links t SET total_clicks = COALESCE(t.total_clicks, 0) + counted.n \
    FROM counted WHERE t.id = counted.link_id";

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
            ats.push(click.at);
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
