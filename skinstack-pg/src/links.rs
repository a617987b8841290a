//! `tracking_links`: the short links, and the redirect's read of them: a slug resolved to its
//! snapshot in one indexed query (and the preview card for link-preview fetchers).

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::store::{LinkRepo, LinkResolver, RepoResult};
use skinstack_core::tracking::{LinkSnapshot, PreviewCard, SnapshotParts};
use skinstack_core::{
    CampaignCode, Currency, Entity, InfluencerId, LinkId, LinkPatch, MembershipState, MerchantId,
    NewLink, Price, ProductId, ProgramId, RepoError, Slug, TrackingLink, Utm, UtmValue, WebUrl,
};
use std::sync::Arc;
use uuid::Uuid;

/// The columns a `LinkRow` reads; the seed's counters are nullable with DEFAULT 0. The click
/// count is the sum of the link's daily roll-ups, exact once a batch is stored (the column
/// `total_clicks` is a lagging mirror of it, migration 0032).
macro_rules! columns {
    () => {
        "id, slug, influencer_id, program_id, product_id, destination_url, campaign_code, \
         utm_source, utm_medium, utm_campaign, \
         (SELECT COALESCE(SUM(r.clicks), 0) FROM click_rollups_daily r \
          WHERE r.link_id = tracking_links.id)::BIGINT AS total_clicks, \
         COALESCE(total_conversions, 0) AS total_conversions, \
         COALESCE(total_revenue, 0) AS total_revenue, \
         COALESCE(total_commission, 0) AS total_commission, \
         is_active, expires_at, created_at, updated_at, \
         (SELECT cm.currency FROM programs cp JOIN merchants cm ON cm.id = cp.merchant_id \
          WHERE cp.id = tracking_links.program_id) AS currency"
    };
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: Uuid,
    slug: String,
    influencer_id: Uuid,
    program_id: Uuid,
    product_id: Option<Uuid>,
    destination_url: String,
    campaign_code: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    total_clicks: i64,
    total_conversions: i32,
    total_revenue: Decimal,
    total_commission: Decimal,
    is_active: bool,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    currency: String,
}

impl TryFrom<LinkRow> for TrackingLink {
    type Error = RepoError;

    fn try_from(row: LinkRow) -> RepoResult<TrackingLink> {
        let p = RowParser::new("tracking_links", row.id);
        Ok(TrackingLink {
            id: LinkId::from_uuid(row.id),
            slug: p.field("slug", Slug::parse(&row.slug))?,
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            program_id: ProgramId::from_uuid(row.program_id),
            product_id: row.product_id.map(ProductId::from_uuid),
            destination_url: p.field("destination_url", WebUrl::parse(&row.destination_url))?,
            campaign_code: p.optional(
                "campaign_code",
                row.campaign_code.as_deref(),
                CampaignCode::parse,
            )?,
            utm: Utm {
                source: p.optional("utm_source", row.utm_source.as_deref(), UtmValue::parse)?,
                medium: p.optional("utm_medium", row.utm_medium.as_deref(), UtmValue::parse)?,
                campaign: p.optional(
                    "utm_campaign",
                    row.utm_campaign.as_deref(),
                    UtmValue::parse,
                )?,
            },
            total_clicks: row.total_clicks,
            total_conversions: i64::from(row.total_conversions),
            total_revenue: row.total_revenue,
            total_commission: row.total_commission,
            currency: p.field("currency", Currency::parse(&row.currency))?,
            is_active: row.is_active,
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn found(row: Option<LinkRow>) -> RepoResult<TrackingLink> {
    row.ok_or(RepoError::NotFound(Entity::Link))?.try_into()
}

fn utm_str(value: &Option<UtmValue>) -> Option<&str> {
    value.as_ref().map(UtmValue::as_str)
}

#[async_trait]
impl LinkRepo for PgStore {
    async fn insert_link(&self, new: NewLink) -> RepoResult<TrackingLink> {
        // The unique slug index decides collisions atomically: no check-then-insert, so
        // concurrent inserts of one slug get exactly one winner and SlugTaken for the rest.
        // Absent UTM values are written as NULL on purpose: the column defaults would
        // otherwise put back a source or medium the caller removed.
        let row: LinkRow = sqlx::query_as(concat!(
            "INSERT INTO tracking_links (id, slug, influencer_id, program_id, product_id, \
             destination_url, campaign_code, utm_source, utm_medium, utm_campaign, expires_at, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING ",
            columns!()
        ))
        .bind(LinkId::new().as_uuid())
        .bind(new.slug.as_str())
        .bind(new.influencer_id.as_uuid())
        .bind(new.program_id.as_uuid())
        .bind(new.product_id.map(|p| p.as_uuid()))
        .bind(new.destination_url.as_str())
        .bind(new.campaign_code.as_ref().map(CampaignCode::as_str))
        .bind(utm_str(&new.utm.source))
        .bind(utm_str(&new.utm.medium))
        .bind(utm_str(&new.utm.campaign))
        .bind(new.expires_at)
        .bind(new.created_at)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn link_by_id(&self, id: LinkId) -> RepoResult<TrackingLink> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM tracking_links WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn link_by_slug(&self, slug: &Slug) -> RepoResult<TrackingLink> {
        // Slugs are stored lower-case and `Slug` is lower-case, so plain equality uses the
        // slug index.
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM tracking_links WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn links_by_influencer(&self, influencer: InfluencerId) -> RepoResult<Vec<TrackingLink>> {
        let rows: Vec<LinkRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM tracking_links WHERE influencer_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(influencer.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(TrackingLink::try_from).collect()
    }

    async fn update_link(&self, id: LinkId, patch: LinkPatch) -> RepoResult<TrackingLink> {
        // One statement, so a concurrent patch of other fields is never overwritten with stale
        // values; `updated_at` is set by the table's trigger.
        let utm = patch.utm.as_ref();
        let row = sqlx::query_as(concat!(
            "UPDATE tracking_links SET \
             is_active = COALESCE($2, is_active), \
             expires_at = CASE WHEN $3 THEN $4 ELSE expires_at END, \
             utm_source = CASE WHEN $5 THEN $6 ELSE utm_source END, \
             utm_medium = CASE WHEN $5 THEN $7 ELSE utm_medium END, \
             utm_campaign = CASE WHEN $5 THEN $8 ELSE utm_campaign END \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(patch.is_active)
        .bind(patch.expires_at.is_some())
        .bind(patch.expires_at.flatten())
        .bind(utm.is_some())
        .bind(utm.and_then(|u| utm_str(&u.source)))
        .bind(utm.and_then(|u| utm_str(&u.medium)))
        .bind(utm.and_then(|u| utm_str(&u.campaign)))
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn delete_link(&self, id: LinkId) -> RepoResult<()> {
        let deleted = sqlx::query("DELETE FROM tracking_links WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .repo()?;
        if deleted.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Link));
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct PreviewRow {
    destination_url: String,
    business_name: String,
    currency: String,
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
    membership_state: Option<String>,
    merchant_verified: bool,
    expires_at: Option<DateTime<Utc>>,
}

/// The snapshot query, completed with `$tail` (a WHERE or ORDER BY clause). By slug it is one
/// round trip through idx_tracking_links_slug, two primary keys and the memberships' unique
/// (program, influencer) index (a link without a membership redirects, so the join is LEFT).
/// A NULL is_active (the seed allows it) does not redirect: fail closed.
macro_rules! snapshot_query {
    ($tail:literal) => {
        concat!("\
    SELECT l.slug, l.id, l.influencer_id, l.program_id, p.merchant_id, l.product_id, l.destination_url, \
           l.utm_source, l.utm_medium, l.utm_campaign, \
           COALESCE(l.is_active, false) AS link_active, \
           COALESCE(p.is_active, false) AS program_active, \
           COALESCE(m.is_active, false) AS merchant_active, \
           pm.state AS membership_state, \
           (m.verified_at IS NOT NULL) AS merchant_verified, \
           l.expires_at \
    FROM tracking_links l \
    JOIN programs p ON p.id = l.program_id \
    JOIN merchants m ON m.id = p.merchant_id \
    LEFT JOIN program_memberships pm \
      ON pm.program_id = l.program_id AND pm.influencer_id = l.influencer_id ", $tail)
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
            membership: p.optional(
                "membership_state",
                row.membership_state.as_deref(),
                MembershipState::parse,
            )?,
            merchant_verified: row.merchant_verified,
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
            // The column, a mirror folded on an interval (0032): a warm-up needs only roughly
            // the hottest, and summing every roll-up row here would cost a scan.
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
            "SELECT l.destination_url, m.business_name, m.currency, pr.name, pr.description, \
             pr.image_url, pr.price \
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
                p.field("price", Price::from_decimal(price))?,
                p.field("currency", Currency::parse(&row.currency))?,
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
