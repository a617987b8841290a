//! The redirect's reads and writes: resolving a slug in one indexed query, and writing click
//! batches with one statement each.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::recorder::ClickSink;
use skinstack_core::redirect::{LinkResolver, LinkSnapshot, PreviewCard, SnapshotParts};
use skinstack_core::repo::RepoResult;
use skinstack_core::{
    Click, InfluencerId, LinkId, MerchantId, Money, ProductId, ProgramId, Slug, Utm, UtmValue,
    WebUrl,
};
use std::sync::Arc;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct PreviewRow {
    destination_url: String,
    business_name: String,
    name: Option<String>,
    description: Option<String>,
    image_url: Option<String>,
    price: Option<rust_decimal::Decimal>,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    slug: String,
    id: Uuid,
    influencer_id: Uuid,
    program_id: Uuid,
    merchant_id: Uuid,
    product_id: Option<Uuid>,
    destination_url: String,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    link_active: bool,
    program_active: bool,
    merchant_active: bool,
    expires_at: Option<DateTime<Utc>>,
}

/// The snapshot query, completed with `$tail` (a WHERE or ORDER BY clause). By slug it is one
/// round trip through idx_tracking_links_slug and two primary keys. A NULL is_active (the seed
/// allows it) does not redirect: fail closed.
macro_rules! snapshot_query {
    ($tail:literal) => {
        concat!("\
    SELECT l.slug, l.id, l.influencer_id, l.program_id, p.merchant_id, l.product_id, l.destination_url, \
           l.utm_source, l.utm_medium, l.utm_campaign, \
           COALESCE(l.is_active, false) AS link_active, \
           COALESCE(p.is_active, false) AS program_active, \
           COALESCE(m.is_active, false) AS merchant_active, \
           l.expires_at \
    FROM tracking_links l \
    JOIN programs p ON p.id = l.program_id \
    JOIN merchants m ON m.id = p.merchant_id ", $tail)
    };
}

impl SnapshotRow {
    fn into_snapshot(self) -> RepoResult<(Slug, Arc<LinkSnapshot>)> {
        let row = self;
        let p = RowParser::new("tracking_links", row.id);
        let slug = p.field("slug", Slug::parse(&row.slug))?;
        let destination = p.field("destination_url", WebUrl::parse(&row.destination_url))?;
        let utm = Utm {
            source: p.optional("utm_source", row.utm_source.as_deref(), UtmValue::parse)?,
            medium: p.optional("utm_medium", row.utm_medium.as_deref(), UtmValue::parse)?,
            campaign: p.optional("utm_campaign", row.utm_campaign.as_deref(), UtmValue::parse)?,
        };
        let snapshot = LinkSnapshot::new(SnapshotParts {
            link_id: LinkId::from_uuid(row.id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            program_id: ProgramId::from_uuid(row.program_id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            product_id: row.product_id.map(ProductId::from_uuid),
            destination: &destination,
            utm: &utm,
            link_active: row.link_active,
            program_active: row.program_active,
            merchant_active: row.merchant_active,
            expires_at: row.expires_at,
        });
        Ok((slug, Arc::new(snapshot)))
    }
}

#[async_trait]
impl LinkResolver for PgStore {
    async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
        let row: Option<SnapshotRow> = sqlx::query_as(snapshot_query!("WHERE l.slug = $1"))
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await
            .repo()?;
        row.map(|row| row.into_snapshot().map(|(_, snapshot)| snapshot))
            .transpose()
    }

    async fn hottest(&self, limit: u64) -> RepoResult<Vec<(Slug, Arc<LinkSnapshot>)>> {
        let rows: Vec<SnapshotRow> = sqlx::query_as(snapshot_query!(
            "ORDER BY COALESCE(l.total_clicks, 0) DESC LIMIT $1"
        ))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(SnapshotRow::into_snapshot).collect()
    }

    async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>> {
        let row: Option<PreviewRow> = sqlx::query_as(
            "SELECT l.destination_url, m.business_name, pr.name, pr.description, pr.image_url, pr.price \
             FROM tracking_links l \
             JOIN programs p ON p.id = l.program_id \
             JOIN merchants m ON m.id = p.merchant_id \
             LEFT JOIN products pr ON pr.id = l.product_id \
             WHERE l.id = $1",
        )
        .bind(link.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        let Some(row) = row else { return Ok(None) };
        let p = RowParser::new("tracking_links", link.as_uuid());
        let destination = p.field("destination_url", WebUrl::parse(&row.destination_url))?;
        let image = p.optional("image_url", row.image_url.as_deref(), WebUrl::parse)?;
        let product = match (row.name.as_deref(), row.price) {
            (Some(name), Some(price)) => Some((
                name,
                row.description.as_deref(),
                image.as_ref(),
                p.field("price", Money::new(price))?,
            )),
            _ => None,
        };
        Ok(Some(PreviewCard::new(
            &row.business_name,
            &destination,
            product,
        )))
    }
}

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
