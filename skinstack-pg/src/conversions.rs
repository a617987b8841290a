//! `conversions`, `refunds` and `commission_events`: each write is one transaction holding the
//! row, its ledger event and the totals it changes. Idempotency is decided by unique
//! constraints (`ON CONFLICT DO NOTHING`), so concurrent deliveries store one row.
//!
//! Totals are updated link → influencer → merchant in every transaction, one statement each,
//! so concurrent writers always lock rows in the same order and cannot deadlock.

use crate::error::{RowParser, SqlxResultExt};
use crate::merchants::SECRET_COLUMNS;
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use skinstack_core::attribution::{ClickFacts, LinkTerms};
use skinstack_core::conversion::*;
use skinstack_core::ledger::*;
use skinstack_core::repo::RepoResult;
use skinstack_core::{
    CampaignCode, ClickId, Commission, CommissionSplit, CookieWindow, Entity, ExternalId, FeeRate,
    InfluencerId, LinkId, MerchantId, Money, ProgramId, RepoError, RotatedSecret, Secret,
};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// A link joined with its program: what [`LinkTerms`] needs. A NULL seed default reads as
/// the default, a NULL `is_active` as inactive.
macro_rules! terms_select {
    ($tail:literal) => {
        concat!(
            "SELECT l.id AS link_id, l.influencer_id, l.program_id, p.merchant_id, l.campaign_code, \
             COALESCE(l.is_active, false) AS link_active, \
             COALESCE(l.created_at, 'epoch'::timestamptz) AS link_created_at, \
             COALESCE(p.commission_type, 'percentage') AS commission_type, p.commission_rate, \
             p.fixed_amount, COALESCE(p.cookie_window_days, 30) AS cookie_window_days, \
             COALESCE(p.platform_fee_rate, 0.20) AS platform_fee_rate, p.hold_days ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct TermsRow {
    link_id: Uuid,
    influencer_id: Uuid,
    program_id: Uuid,
    merchant_id: Uuid,
    campaign_code: Option<String>,
    link_active: bool,
    link_created_at: DateTime<Utc>,
    commission_type: String,
    commission_rate: Option<Decimal>,
    fixed_amount: Option<Decimal>,
    cookie_window_days: i32,
    platform_fee_rate: Decimal,
    hold_days: i32,
}

impl TryFrom<TermsRow> for LinkTerms {
    type Error = RepoError;

    fn try_from(row: TermsRow) -> RepoResult<LinkTerms> {
        let p = RowParser::new("tracking_links", row.link_id);
        Ok(LinkTerms {
            link_id: LinkId::from_uuid(row.link_id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            program_id: ProgramId::from_uuid(row.program_id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            campaign_code: p.optional(
                "campaign_code",
                row.campaign_code.as_deref(),
                CampaignCode::parse,
            )?,
            is_active: row.link_active,
            created_at: row.link_created_at,
            commission: Commission::from_columns(
                &row.commission_type,
                row.commission_rate,
                row.fixed_amount,
            )
            .map_err(|err| p.corrupt(err))?,
            platform_fee_rate: p.field("platform_fee_rate", FeeRate::new(row.platform_fee_rate))?,
            cookie_window: p.field(
                "cookie_window_days",
                CookieWindow::new(i64::from(row.cookie_window_days)),
            )?,
            hold_days: p.field("hold_days", HoldDays::new(i64::from(row.hold_days)))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversionRow {
    id: Uuid,
    merchant_id: Uuid,
    order_id: String,
    amount: Decimal,
    currency: String,
    ordered_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    click_id: Option<Uuid>,
    coupon_code: Option<String>,
    product_external_ids: Vec<String>,
    link_id: Option<Uuid>,
    influencer_id: Option<Uuid>,
    program_id: Option<Uuid>,
    attributed_by: Option<String>,
    attributed_click_id: Option<Uuid>,
    commission_gross: Decimal,
    commission_fee: Decimal,
    commission_earnings: Decimal,
    hold_until: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    refunded_amount: Decimal,
}

impl TryFrom<ConversionRow> for Conversion {
    type Error = RepoError;

    fn try_from(row: ConversionRow) -> RepoResult<Conversion> {
        let p = RowParser::new("conversions", row.id);
        let coupon_code = p.optional(
            "coupon_code",
            row.coupon_code.as_deref(),
            CampaignCode::parse,
        )?;
        let attribution = match (row.link_id, row.influencer_id, row.program_id) {
            (Some(link), Some(influencer), Some(program)) => {
                let by = match (
                    row.attributed_by.as_deref(),
                    row.attributed_click_id,
                    &coupon_code,
                ) {
                    (Some("click"), Some(click), _) => AttributedBy::Click {
                        click_id: ClickId::from_uuid(click),
                    },
                    (Some("coupon"), _, Some(code)) => AttributedBy::Coupon { code: code.clone() },
                    _ => return Err(p.corrupt("attributed_by does not match its evidence")),
                };
                Some(Attribution {
                    link_id: LinkId::from_uuid(link),
                    influencer_id: InfluencerId::from_uuid(influencer),
                    program_id: ProgramId::from_uuid(program),
                    by,
                })
            }
            _ => None,
        };
        let product_external_ids = row
            .product_external_ids
            .iter()
            .map(|id| p.field("product_external_ids", ExternalId::parse(id)))
            .collect::<RepoResult<_>>()?;
        Ok(Conversion {
            id: ConversionId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            order_id: p.field("order_id", ShopRef::parse(&row.order_id))?,
            amount: p.field("amount", Money::new(row.amount))?,
            currency: p.field("currency", Currency::parse(&row.currency))?,
            ordered_at: row.ordered_at,
            recorded_at: row.recorded_at,
            click_id: row.click_id.map(ClickId::from_uuid),
            coupon_code,
            product_external_ids,
            attribution,
            commission: CommissionSplit {
                gross: row.commission_gross,
                platform_fee: row.commission_fee,
                influencer_earnings: row.commission_earnings,
            },
            hold_until: row.hold_until,
            approved_at: row.approved_at,
            refunded_amount: p.field("refunded_amount", Money::new(row.refunded_amount))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    merchant_id: Uuid,
    refund_id: String,
    conversion_id: Uuid,
    amount: Decimal,
    recorded_at: DateTime<Utc>,
}

impl TryFrom<RefundRow> for Refund {
    type Error = RepoError;

    fn try_from(row: RefundRow) -> RepoResult<Refund> {
        let p = RowParser::new("refunds", row.conversion_id);
        Ok(Refund {
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            refund_id: p.field("refund_id", ShopRef::parse(&row.refund_id))?,
            conversion_id: ConversionId::from_uuid(row.conversion_id),
            amount: p.field("amount", Money::new(row.amount))?,
            recorded_at: row.recorded_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: Uuid,
    conversion_id: Uuid,
    kind: String,
    gross: Decimal,
    platform_fee: Decimal,
    influencer_earnings: Decimal,
    sales: Decimal,
    link_id: Uuid,
    influencer_id: Uuid,
    merchant_id: Uuid,
    refund_id: Option<String>,
    payout_batch_id: Option<Uuid>,
    settles_event_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for CommissionEvent {
    type Error = RepoError;

    fn try_from(row: EventRow) -> RepoResult<CommissionEvent> {
        let p = RowParser::new("commission_events", row.id);
        Ok(CommissionEvent {
            id: EventId::from_uuid(row.id),
            conversion_id: ConversionId::from_uuid(row.conversion_id),
            kind: EventKind::parse(&row.kind).ok_or_else(|| p.corrupt("unknown kind"))?,
            split: CommissionSplit {
                gross: row.gross,
                platform_fee: row.platform_fee,
                influencer_earnings: row.influencer_earnings,
            },
            sales: row.sales,
            link_id: LinkId::from_uuid(row.link_id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            refund_id: p.optional("refund_id", row.refund_id.as_deref(), ShopRef::parse)?,
            payout_batch_id: row.payout_batch_id.map(PayoutBatchId::from_uuid),
            settles: row.settles_event_id.map(EventId::from_uuid),
            occurred_at: row.occurred_at,
        })
    }
}

/// Adds `delta` to the totals of a link, an influencer and a merchant, in that order.
pub(crate) async fn apply_totals(
    conn: &mut PgConnection,
    link: LinkId,
    influencer: InfluencerId,
    merchant: MerchantId,
    delta: TotalsDelta,
) -> RepoResult<()> {
    // A sum beyond a DECIMAL(10,2) total is refused (22003) and the transaction rolls back.
    sqlx::query(
        "UPDATE tracking_links SET total_conversions = COALESCE(total_conversions, 0) + $2, \
         total_revenue = COALESCE(total_revenue, 0) + $3, \
         total_commission = COALESCE(total_commission, 0) + $4 WHERE id = $1",
    )
    .bind(link.as_uuid())
    .bind(i32::try_from(delta.conversions).unwrap_or(i32::MAX))
    .bind(delta.sales)
    .bind(delta.commission)
    .execute(&mut *conn)
    .await
    .repo_numeric("amount")?;
    sqlx::query(
        "UPDATE influencers SET total_earned = COALESCE(total_earned, 0) + $2, \
         total_paid = COALESCE(total_paid, 0) + $3 WHERE id = $1",
    )
    .bind(influencer.as_uuid())
    .bind(delta.earned)
    .bind(delta.paid)
    .execute(&mut *conn)
    .await
    .repo_numeric("amount")?;
    sqlx::query(
        "UPDATE merchants SET total_sales = COALESCE(total_sales, 0) + $2, \
         total_commissions_paid = COALESCE(total_commissions_paid, 0) + $3 WHERE id = $1",
    )
    .bind(merchant.as_uuid())
    .bind(delta.sales)
    .bind(delta.commissions_paid)
    .execute(&mut *conn)
    .await
    .repo_numeric("amount")?;
    Ok(())
}

/// Appends an accrued or reversed event and applies its totals.
async fn append(conn: &mut PgConnection, event: &CommissionEvent) -> RepoResult<()> {
    sqlx::query(
        "INSERT INTO commission_events (id, conversion_id, kind, gross, platform_fee, \
         influencer_earnings, sales, link_id, influencer_id, merchant_id, refund_id, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(event.id.as_uuid())
    .bind(event.conversion_id.as_uuid())
    .bind(event.kind.as_str())
    .bind(event.split.gross)
    .bind(event.split.platform_fee)
    .bind(event.split.influencer_earnings)
    .bind(event.sales)
    .bind(event.link_id.as_uuid())
    .bind(event.influencer_id.as_uuid())
    .bind(event.merchant_id.as_uuid())
    .bind(event.refund_id.as_ref().map(ShopRef::as_str))
    .bind(event.occurred_at)
    .execute(&mut *conn)
    .await
    .repo()?;
    apply_totals(
        conn,
        event.link_id,
        event.influencer_id,
        event.merchant_id,
        TotalsDelta::of_event(event),
    )
    .await
}

#[async_trait]
impl ConversionRepo for PgStore {
    async fn click_facts(&self, id: ClickId) -> RepoResult<Option<ClickFacts>> {
        let row = sqlx::query(terms_select!(
            ", c.clicked_at, c.is_bot FROM clicks c \
             JOIN tracking_links l ON l.id = c.link_id JOIN programs p ON p.id = l.program_id \
             WHERE c.id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        let Some(row) = row else { return Ok(None) };
        let clicked_at: DateTime<Utc> = row.try_get("clicked_at").repo()?;
        let is_bot: bool = row.try_get("is_bot").repo()?;
        let terms: TermsRow = sqlx::FromRow::from_row(&row).repo()?;
        Ok(Some(ClickFacts {
            click_id: id,
            clicked_at,
            is_bot,
            link: terms.try_into()?,
        }))
    }

    async fn links_by_campaign_code(
        &self,
        merchant: MerchantId,
        code: &CampaignCode,
    ) -> RepoResult<Vec<LinkTerms>> {
        let rows: Vec<TermsRow> = sqlx::query_as(terms_select!(
            "FROM tracking_links l JOIN programs p ON p.id = l.program_id \
             WHERE p.merchant_id = $1 AND l.campaign_code = $2"
        ))
        .bind(merchant.as_uuid())
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(LinkTerms::try_from).collect()
    }

    async fn link_terms(&self, link: LinkId) -> RepoResult<LinkTerms> {
        let row: Option<TermsRow> = sqlx::query_as(terms_select!(
            "FROM tracking_links l JOIN programs p ON p.id = l.program_id WHERE l.id = $1"
        ))
        .bind(link.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.ok_or(RepoError::NotFound(Entity::Link))?.try_into()
    }

    async fn insert_conversion(&self, new: NewConversion) -> RepoResult<ConversionInsert> {
        let mut tx = self.pool.begin().await.repo()?;
        let (by, click) = match new.attribution.as_ref().map(|a| &a.by) {
            Some(AttributedBy::Click { click_id }) => (Some("click"), Some(click_id.as_uuid())),
            Some(AttributedBy::Coupon { .. }) => (Some("coupon"), None),
            None => (None, None),
        };
        let inserted: Option<ConversionRow> = sqlx::query_as(
            "INSERT INTO conversions (id, merchant_id, order_id, amount, currency, ordered_at, \
             recorded_at, click_id, coupon_code, product_external_ids, link_id, influencer_id, \
             program_id, attributed_by, attributed_click_id, commission_gross, commission_fee, \
             commission_earnings, hold_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (merchant_id, order_id) DO NOTHING RETURNING *",
        )
        .bind(new.id.as_uuid())
        .bind(new.merchant_id.as_uuid())
        .bind(new.order_id.as_str())
        .bind(new.amount.amount())
        .bind(new.currency.as_str())
        .bind(new.ordered_at)
        .bind(new.recorded_at)
        .bind(new.click_id.map(|c| c.as_uuid()))
        .bind(new.coupon_code.as_ref().map(CampaignCode::as_str))
        .bind(
            new.product_external_ids
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(new.attribution.as_ref().map(|a| a.link_id.as_uuid()))
        .bind(new.attribution.as_ref().map(|a| a.influencer_id.as_uuid()))
        .bind(new.attribution.as_ref().map(|a| a.program_id.as_uuid()))
        .bind(by)
        .bind(click)
        .bind(new.commission.gross)
        .bind(new.commission.platform_fee)
        .bind(new.commission.influencer_earnings)
        .bind(new.hold_until)
        .fetch_optional(&mut *tx)
        .await
        .repo_numeric("amount")?;
        let Some(row) = inserted else {
            // Read committed: this statement sees the row the conflicting delivery committed.
            let row: ConversionRow = sqlx::query_as(
                "SELECT * FROM conversions WHERE merchant_id = $1 AND order_id = $2",
            )
            .bind(new.merchant_id.as_uuid())
            .bind(new.order_id.as_str())
            .fetch_one(&mut *tx)
            .await
            .repo()?;
            tx.rollback().await.repo()?;
            return Ok(ConversionInsert::Existing(row.try_into()?));
        };
        let conversion = Conversion::try_from(row)?;
        if let Some(accrued) = CommissionEvent::accrual(new.accrual_event_id, &conversion) {
            append(&mut tx, &accrued).await?;
        }
        tx.commit().await.repo()?;
        Ok(ConversionInsert::Inserted(conversion))
    }

    async fn conversion_by_order(
        &self,
        merchant: MerchantId,
        order: &OrderId,
    ) -> RepoResult<Option<Conversion>> {
        let row: Option<ConversionRow> =
            sqlx::query_as("SELECT * FROM conversions WHERE merchant_id = $1 AND order_id = $2")
                .bind(merchant.as_uuid())
                .bind(order.as_str())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        row.map(Conversion::try_from).transpose()
    }

    async fn refund_by_id(
        &self,
        merchant: MerchantId,
        refund: &RefundId,
    ) -> RepoResult<Option<Refund>> {
        let row: Option<RefundRow> =
            sqlx::query_as("SELECT * FROM refunds WHERE merchant_id = $1 AND refund_id = $2")
                .bind(merchant.as_uuid())
                .bind(refund.as_str())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        row.map(Refund::try_from).transpose()
    }

    async fn insert_refund(&self, new: NewRefund) -> RepoResult<RefundInsert> {
        let mut tx = self.pool.begin().await.repo()?;
        let inserted: Option<RefundRow> = sqlx::query_as(
            "INSERT INTO refunds (merchant_id, refund_id, conversion_id, amount, recorded_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (merchant_id, refund_id) DO NOTHING RETURNING *",
        )
        .bind(new.merchant_id.as_uuid())
        .bind(new.refund_id.as_str())
        .bind(new.conversion_id.as_uuid())
        .bind(new.amount.amount())
        .bind(new.recorded_at)
        .fetch_optional(&mut *tx)
        .await
        .repo_numeric("amount")?;
        let Some(refund) = inserted else {
            let row: RefundRow =
                sqlx::query_as("SELECT * FROM refunds WHERE merchant_id = $1 AND refund_id = $2")
                    .bind(new.merchant_id.as_uuid())
                    .bind(new.refund_id.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .repo()?;
            tx.rollback().await.repo()?;
            return Ok(RefundInsert::Existing(row.try_into()?));
        };
        // Compare-and-set: the reversal was computed from `refunded_before`.
        let updated: Option<ConversionRow> = sqlx::query_as(
            "UPDATE conversions SET refunded_amount = refunded_amount + $2 \
             WHERE id = $1 AND merchant_id = $3 AND refunded_amount = $4 RETURNING *",
        )
        .bind(new.conversion_id.as_uuid())
        .bind(new.amount.amount())
        .bind(new.merchant_id.as_uuid())
        .bind(new.refunded_before.amount())
        .fetch_optional(&mut *tx)
        .await
        .repo_numeric("amount")?;
        let Some(conversion) = updated else {
            tx.rollback().await.repo()?;
            return Ok(RefundInsert::Stale);
        };
        let conversion = Conversion::try_from(conversion)?;
        if let (Some((id, split)), Some(attribution)) = (new.reversal, &conversion.attribution) {
            let mut reversed = CommissionEvent::of_conversion(
                id,
                &conversion,
                attribution,
                EventKind::Reversed,
                split,
                -new.amount.amount(),
                new.recorded_at,
            );
            reversed.refund_id = Some(new.refund_id.clone());
            append(&mut tx, &reversed).await?;
        }
        tx.commit().await.repo()?;
        Ok(RefundInsert::Inserted(refund.try_into()?))
    }

    async fn approve_due(&self, now: DateTime<Utc>) -> RepoResult<Vec<ConversionId>> {
        let mut tx = self.pool.begin().await.repo()?;
        // SKIP LOCKED: a conversion being refunded right now is approved by the next run.
        let due: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM conversions WHERE approved_at IS NULL AND link_id IS NOT NULL \
             AND hold_until <= $1 ORDER BY id FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        if due.is_empty() {
            tx.rollback().await.repo()?;
            return Ok(Vec::new());
        }
        let event_ids: Vec<Uuid> = due.iter().map(|_| EventId::new().as_uuid()).collect();
        let mut approved: Vec<Uuid> = sqlx::query_scalar(
            "WITH due AS (SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) AS d(conversion_id, event_id)), \
             marked AS ( \
                 UPDATE conversions c SET approved_at = $3 FROM due \
                 WHERE c.id = due.conversion_id AND c.approved_at IS NULL \
                 RETURNING c.id, c.link_id, c.influencer_id, c.merchant_id, due.event_id) \
             INSERT INTO commission_events (id, conversion_id, kind, gross, platform_fee, \
                 influencer_earnings, sales, link_id, influencer_id, merchant_id, occurred_at) \
             SELECT m.event_id, m.id, 'approved', COALESCE(s.gross, 0), COALESCE(s.fee, 0), \
                 COALESCE(s.earnings, 0), 0, m.link_id, m.influencer_id, m.merchant_id, $3 \
             FROM marked m LEFT JOIN LATERAL ( \
                 SELECT sum(e.gross) AS gross, sum(e.platform_fee) AS fee, \
                        sum(e.influencer_earnings) AS earnings \
                 FROM commission_events e \
                 WHERE e.conversion_id = m.id AND e.kind IN ('accrued', 'reversed')) s ON true \
             RETURNING conversion_id",
        )
        .bind(&due)
        .bind(&event_ids)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        tx.commit().await.repo()?;
        approved.sort();
        Ok(approved.into_iter().map(ConversionId::from_uuid).collect())
    }

    async fn program_hold_days(&self, program: ProgramId) -> RepoResult<HoldDays> {
        let days: Option<i32> = sqlx::query_scalar("SELECT hold_days FROM programs WHERE id = $1")
            .bind(program.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .repo()?;
        let days = days.ok_or(RepoError::NotFound(Entity::Program))?;
        RowParser::new("programs", program.as_uuid())
            .field("hold_days", HoldDays::new(i64::from(days)))
    }

    async fn set_program_hold_days(&self, program: ProgramId, days: HoldDays) -> RepoResult<()> {
        let updated = sqlx::query("UPDATE programs SET hold_days = $2 WHERE id = $1")
            .bind(program.as_uuid())
            .bind(i32::from(days.days()))
            .execute(&self.pool)
            .await
            .repo()?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Program));
        }
        Ok(())
    }
}

/// A conversion with its sums: `c.*` plus the view's columns.
macro_rules! view_select {
    ($tail:literal) => {
        concat!(
            "SELECT c.*, COALESCE(n.gross, 0) AS net_gross, COALESCE(n.fee, 0) AS net_fee, \
             COALESCE(n.earnings, 0) AS net_earnings, COALESCE(n.unsettled, false) AS unsettled, \
             COALESCE(pd.gross, 0) AS paid_gross, COALESCE(pd.fee, 0) AS paid_fee, \
             COALESCE(pd.earnings, 0) AS paid_earnings \
             FROM conversions c \
             LEFT JOIN LATERAL ( \
                 SELECT sum(e.gross) AS gross, sum(e.platform_fee) AS fee, \
                        sum(e.influencer_earnings) AS earnings, bool_or(p.id IS NULL) AS unsettled \
                 FROM commission_events e \
                 LEFT JOIN commission_events p ON p.kind = 'paid' AND p.settles_event_id = e.id \
                 WHERE e.conversion_id = c.id AND e.kind IN ('accrued', 'reversed')) n ON true \
             LEFT JOIN LATERAL ( \
                 SELECT sum(e.gross) AS gross, sum(e.platform_fee) AS fee, \
                        sum(e.influencer_earnings) AS earnings \
                 FROM commission_events e WHERE e.conversion_id = c.id AND e.kind = 'paid') pd ON true ",
            $tail
        )
    };
}

fn view_from_row(row: &sqlx::postgres::PgRow) -> RepoResult<ConversionView> {
    let conversion: ConversionRow = sqlx::FromRow::from_row(row).repo()?;
    let split = |prefix: &str| -> RepoResult<CommissionSplit> {
        Ok(CommissionSplit {
            gross: row.try_get(format!("{prefix}_gross").as_str()).repo()?,
            platform_fee: row.try_get(format!("{prefix}_fee").as_str()).repo()?,
            influencer_earnings: row.try_get(format!("{prefix}_earnings").as_str()).repo()?,
        })
    };
    let unsettled: bool = row.try_get("unsettled").repo()?;
    Ok(ConversionView::new(
        conversion.try_into()?,
        split("net")?,
        split("paid")?,
        unsettled,
    ))
}

#[async_trait]
impl LedgerQueries for PgStore {
    async fn events_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<CommissionEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, conversion_id, kind, gross, platform_fee, influencer_earnings, sales, \
             link_id, influencer_id, merchant_id, refund_id, payout_batch_id, settles_event_id, \
             occurred_at FROM commission_events WHERE merchant_id = $1 ORDER BY occurred_at, id",
        )
        .bind(merchant.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(CommissionEvent::try_from).collect()
    }

    async fn conversions_by_merchant(
        &self,
        merchant: MerchantId,
        filter: ConversionFilter,
        page: ConversionPage,
    ) -> RepoResult<Vec<ConversionView>> {
        let rows = sqlx::query(view_select!(
            "WHERE c.merchant_id = $1 AND (NOT $2 OR c.link_id IS NULL) \
             AND ($3::uuid IS NULL OR c.id > $3) ORDER BY c.id LIMIT $4"
        ))
        .bind(merchant.as_uuid())
        .bind(filter == ConversionFilter::Unattributed)
        .bind(page.after.map(|c| c.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.iter().map(view_from_row).collect()
    }

    async fn conversions_by_influencer(
        &self,
        influencer: InfluencerId,
        page: ConversionPage,
    ) -> RepoResult<Vec<ConversionView>> {
        let rows = sqlx::query(view_select!(
            "WHERE c.influencer_id = $1 AND ($2::uuid IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3"
        ))
        .bind(influencer.as_uuid())
        .bind(page.after.map(|c| c.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.iter().map(view_from_row).collect()
    }

    async fn earnings_summary(&self, influencer: InfluencerId) -> RepoResult<EarningsSummary> {
        let (pending, approved, paid): (Decimal, Decimal, Decimal) = sqlx::query_as(
            "SELECT \
               COALESCE(sum(e.influencer_earnings) FILTER (WHERE e.kind IN ('accrued', 'reversed') \
                   AND c.approved_at IS NULL), 0), \
               COALESCE(sum(e.influencer_earnings) FILTER (WHERE e.kind IN ('accrued', 'reversed') \
                   AND c.approved_at IS NOT NULL AND p.id IS NULL), 0), \
               COALESCE(sum(e.influencer_earnings) FILTER (WHERE e.kind = 'paid'), 0) \
             FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             LEFT JOIN commission_events p ON p.kind = 'paid' AND p.settles_event_id = e.id \
             WHERE e.influencer_id = $1",
        )
        .bind(influencer.as_uuid())
        .fetch_one(&self.pool)
        .await
        .repo()?;
        Ok(EarningsSummary {
            pending,
            approved,
            paid,
            balance: pending + approved,
        })
    }

    async fn merchant_commissions(&self, merchant: MerchantId) -> RepoResult<MerchantCommissions> {
        let (pending, approved, paid): (Decimal, Decimal, Decimal) = sqlx::query_as(
            "SELECT \
               COALESCE(sum(e.gross) FILTER (WHERE e.kind IN ('accrued', 'reversed') \
                   AND c.approved_at IS NULL), 0), \
               COALESCE(sum(e.gross) FILTER (WHERE e.kind IN ('accrued', 'reversed') \
                   AND c.approved_at IS NOT NULL AND p.id IS NULL), 0), \
               COALESCE(sum(e.gross) FILTER (WHERE e.kind = 'paid'), 0) \
             FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             LEFT JOIN commission_events p ON p.kind = 'paid' AND p.settles_event_id = e.id \
             WHERE e.merchant_id = $1",
        )
        .bind(merchant.as_uuid())
        .fetch_one(&self.pool)
        .await
        .repo()?;
        let (orders, sales): (i64, Decimal) = sqlx::query_as(
            "SELECT count(*), COALESCE(sum(amount - refunded_amount), 0) FROM conversions \
             WHERE merchant_id = $1 AND link_id IS NULL",
        )
        .bind(merchant.as_uuid())
        .fetch_one(&self.pool)
        .await
        .repo()?;
        Ok(MerchantCommissions {
            pending,
            approved,
            owed: pending + approved,
            paid,
            unattributed_orders: orders,
            unattributed_sales: sales,
        })
    }

    async fn link_daily_stats(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyLinkStats>> {
        let rows: Vec<(NaiveDate, i64, i64, Decimal, Decimal, Decimal)> = sqlx::query_as(
            "WITH days AS ( \
                 SELECT d::date AS day FROM generate_series($2::date, $3::date, interval '1 day') d), \
             clicked AS ( \
                 SELECT (clicked_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM clicks \
                 WHERE link_id = $1 AND NOT is_bot \
                   AND clicked_at >= ($2::date)::timestamp AT TIME ZONE 'UTC' \
                   AND clicked_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC' \
                 GROUP BY 1), \
             converted AS ( \
                 SELECT (c.ordered_at AT TIME ZONE 'UTC')::date AS day, \
                        count(*) FILTER (WHERE e.kind = 'accrued') AS n, \
                        sum(e.sales) AS revenue, sum(e.gross) AS commission, \
                        sum(e.influencer_earnings) AS earnings \
                 FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
                 WHERE e.link_id = $1 AND e.kind IN ('accrued', 'reversed') \
                   AND c.ordered_at >= ($2::date)::timestamp AT TIME ZONE 'UTC' \
                   AND c.ordered_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC' \
                 GROUP BY 1) \
             SELECT days.day, COALESCE(clicked.n, 0), COALESCE(converted.n, 0), \
                    COALESCE(converted.revenue, 0), COALESCE(converted.commission, 0), \
                    COALESCE(converted.earnings, 0) \
             FROM days LEFT JOIN clicked USING (day) LEFT JOIN converted USING (day) \
             ORDER BY days.day",
        )
        .bind(link.as_uuid())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .repo()?;
        Ok(rows
            .into_iter()
            .map(
                |(day, clicks, conversions, revenue, commission, earnings)| DailyLinkStats {
                    day,
                    clicks,
                    conversions,
                    revenue,
                    commission,
                    earnings,
                },
            )
            .collect())
    }
}

#[async_trait]
impl WebhookSecrets for PgStore {
    async fn shopify_webhook_secret(&self, merchant: MerchantId) -> RepoResult<Option<Secret>> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT shopify_webhook_secret FROM merchants WHERE id = $1")
                .bind(merchant.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        let stored = row.ok_or(RepoError::NotFound(Entity::Merchant))?;
        self.open(SECRET_COLUMNS[2], merchant, stored)
    }

    async fn set_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: Option<Secret>,
    ) -> RepoResult<()> {
        let sealed = self.seal(SECRET_COLUMNS[2], merchant, secret.as_ref())?;
        let updated = sqlx::query(
            "UPDATE merchants SET shopify_webhook_secret = $2, \
             shopify_webhook_previous_secret = NULL, shopify_webhook_secret_rotated_at = NULL \
             WHERE id = $1",
        )
        .bind(merchant.as_uuid())
        .bind(sealed)
        .execute(&self.pool)
        .await
        .repo()?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(())
    }

    async fn previous_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
    ) -> RepoResult<Option<RotatedSecret>> {
        let row: Option<(Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT shopify_webhook_previous_secret, shopify_webhook_secret_rotated_at \
             FROM merchants WHERE id = $1",
        )
        .bind(merchant.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        let (stored, rotated_at) = row.ok_or(RepoError::NotFound(Entity::Merchant))?;
        let secret = self.open(SECRET_COLUMNS[3], merchant, stored)?;
        // The schema's CHECK keeps the two columns set together.
        Ok(secret
            .zip(rotated_at)
            .map(|(secret, rotated_at)| RotatedSecret { secret, rotated_at }))
    }

    async fn replace_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        current: Secret,
        previous: Option<RotatedSecret>,
    ) -> RepoResult<()> {
        let sealed = self.seal(SECRET_COLUMNS[2], merchant, Some(&current))?;
        let sealed_previous = self.seal(
            SECRET_COLUMNS[3],
            merchant,
            previous.as_ref().map(|p| &p.secret),
        )?;
        let updated = sqlx::query(
            "UPDATE merchants SET shopify_webhook_secret = $2, \
             shopify_webhook_previous_secret = $3, shopify_webhook_secret_rotated_at = $4 \
             WHERE id = $1",
        )
        .bind(merchant.as_uuid())
        .bind(sealed)
        .bind(sealed_previous)
        .bind(previous.map(|p| p.rotated_at))
        .execute(&self.pool)
        .await
        .repo()?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(())
    }
}
