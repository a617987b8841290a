//! `coupon_codes`: merchants' coupon codes, each owned by one tracking link. Uniqueness per
//! merchant in any case (among the codes not revoked) is the partial unique index
//! `coupon_codes_merchant_id_code_key` on `upper(code)`, so concurrent claims store one row.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::domain::{CodeText, CouponCode, CouponCodeId, CouponState, NewCouponCode};
use skinstack_core::store::{CouponCodeRepo, Page, RepoResult};
use skinstack_core::{Entity, InfluencerId, LinkId, MerchantId, RepoError};
use uuid::Uuid;

/// A code joined with its link, for the influencer it names.
const SELECT: &str = "SELECT c.id, c.merchant_id, c.code, c.link_id, l.influencer_id, c.state, \
     c.created_at, c.assigned_at, c.revoked_at \
     FROM coupon_codes c JOIN tracking_links l ON l.id = c.link_id";

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: Uuid,
    merchant_id: Uuid,
    code: String,
    link_id: Uuid,
    influencer_id: Uuid,
    state: String,
    created_at: DateTime<Utc>,
    assigned_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<CodeRow> for CouponCode {
    type Error = RepoError;

    fn try_from(row: CodeRow) -> RepoResult<CouponCode> {
        let p = RowParser::new("coupon_codes", row.id);
        Ok(CouponCode {
            id: CouponCodeId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            code: p.field("code", CodeText::parse(&row.code))?,
            link_id: LinkId::from_uuid(row.link_id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            state: p.field("state", CouponState::parse(&row.state))?,
            created_at: row.created_at,
            assigned_at: row.assigned_at,
            revoked_at: row.revoked_at,
        })
    }
}

impl PgStore {
    async fn coupon_page(
        &self,
        filter: &str,
        owner: Uuid,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>> {
        let rows: Vec<CodeRow> = sqlx::query_as(&format!(
            "{SELECT} WHERE {filter} = $1 AND ($2::uuid IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3"
        ))
        .bind(owner)
        .bind(page.after.map(|id| id.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}

#[async_trait]
impl CouponCodeRepo for PgStore {
    async fn insert_coupon_code(&self, new: NewCouponCode) -> RepoResult<CouponCode> {
        let state = match new.assigned_at {
            Some(_) => CouponState::Assigned,
            None => CouponState::Requested,
        };
        let row: CodeRow = sqlx::query_as(
            "WITH c AS (INSERT INTO coupon_codes \
                 (id, merchant_id, code, link_id, state, created_at, assigned_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *) \
             SELECT c.id, c.merchant_id, c.code, c.link_id, l.influencer_id, c.state, \
                 c.created_at, c.assigned_at, c.revoked_at \
             FROM c JOIN tracking_links l ON l.id = c.link_id",
        )
        .bind(new.id.as_uuid())
        .bind(new.merchant_id.as_uuid())
        .bind(new.code.as_str())
        .bind(new.link_id.as_uuid())
        .bind(state.as_str())
        .bind(new.created_at)
        .bind(new.assigned_at)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn coupon_code_by_id(&self, id: CouponCodeId) -> RepoResult<CouponCode> {
        let row: Option<CodeRow> = sqlx::query_as(&format!("{SELECT} WHERE c.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .repo()?;
        row.ok_or(RepoError::NotFound(Entity::CouponCode))?
            .try_into()
    }

    async fn transition_coupon_code(&self, from: CouponState, to: &CouponCode) -> RepoResult<bool> {
        // One statement: the state is compared and set under the row's lock.
        let (changed, exists): (bool, bool) = sqlx::query_as(
            "WITH u AS (UPDATE coupon_codes SET state = $3, assigned_at = $4, revoked_at = $5 \
                 WHERE id = $1 AND state = $2 RETURNING id) \
             SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM coupon_codes WHERE id = $1)",
        )
        .bind(to.id.as_uuid())
        .bind(from.as_str())
        .bind(to.state.as_str())
        .bind(to.assigned_at)
        .bind(to.revoked_at)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        if !exists {
            return Err(RepoError::NotFound(Entity::CouponCode));
        }
        Ok(changed)
    }

    async fn coupon_codes_by_merchant(
        &self,
        merchant: MerchantId,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>> {
        self.coupon_page("c.merchant_id", merchant.as_uuid(), page)
            .await
    }

    async fn coupon_codes_by_influencer(
        &self,
        influencer: InfluencerId,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>> {
        self.coupon_page("l.influencer_id", influencer.as_uuid(), page)
            .await
    }
}
