//! `payout_batches`, `payout_items` and the `paid` ledger events: a batch, its items, one paid
//! event per settled event and the totals commit together or not at all.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::domain::*;
use skinstack_core::earning::payout::{PayoutBatch, PayoutItem, PayoutPlan, UnsettledEvent};
use skinstack_core::store::PayoutRepo;
use skinstack_core::store::RepoResult;
use skinstack_core::{CommissionSplit, InfluencerId, MerchantId, Money, PayoutMethod, RepoError};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Serializes payout runs across processes: two runs planned at once would otherwise race to
/// settle the same events (the unique index would still refuse the second).
const PAYOUT_LOCK: i64 = 0x534b_5041_594f_5554; // "SKPAYOUT"

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: Uuid,
    batch_id: Uuid,
    influencer_id: Uuid,
    display_name: String,
    method: String,
    account: String,
    amount: Decimal,
    currency: String,
    reference: String,
}

impl TryFrom<ItemRow> for PayoutItem {
    type Error = RepoError;

    fn try_from(row: ItemRow) -> RepoResult<PayoutItem> {
        let p = RowParser::new("payout_items", row.id);
        Ok(PayoutItem {
            id: PayoutItemId::from_uuid(row.id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            display_name: row.display_name,
            method: p.field("method", PayoutMethod::parse(&row.method))?,
            account: row.account,
            amount: p.field("amount", Money::new(row.amount))?,
            currency: p.field("currency", Currency::parse(&row.currency))?,
            reference: row.reference,
        })
    }
}

#[async_trait]
impl PayoutRepo for PgStore {
    async fn unsettled_approved_events(&self) -> RepoResult<Vec<UnsettledEvent>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(Uuid, Uuid, Uuid, Uuid, Decimal, Decimal, Decimal)> = sqlx::query_as(
            "SELECT e.id, e.conversion_id, e.influencer_id, e.merchant_id, e.gross, \
             e.platform_fee, e.influencer_earnings \
             FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             WHERE e.kind IN ('accrued', 'reversed') AND c.approved_at IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM commission_events p \
                               WHERE p.kind = 'paid' AND p.settles_event_id = e.id) \
             ORDER BY e.id",
        )
        .fetch_all(&self.pool)
        .await
        .repo()?;
        Ok(rows
            .into_iter()
            .map(
                |(id, conversion, influencer, merchant, gross, fee, earnings)| UnsettledEvent {
                    event_id: EventId::from_uuid(id),
                    conversion_id: ConversionId::from_uuid(conversion),
                    influencer_id: InfluencerId::from_uuid(influencer),
                    merchant_id: MerchantId::from_uuid(merchant),
                    split: CommissionSplit {
                        gross,
                        platform_fee: fee,
                        influencer_earnings: earnings,
                    },
                },
            )
            .collect())
    }

    async fn commit_payout(&self, plan: &PayoutPlan) -> RepoResult<Option<PayoutBatch>> {
        let mut tx = self.pool.begin().await.repo()?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PAYOUT_LOCK)
            .execute(&mut *tx)
            .await
            .repo()?;
        sqlx::query("INSERT INTO payout_batches (id, created_at, minimum) VALUES ($1, $2, $3)")
            .bind(plan.batch_id.as_uuid())
            .bind(plan.created_at)
            .bind(plan.minimum.amount())
            .execute(&mut *tx)
            .await
            .repo()?;
        let mut settles = Vec::new();
        let mut paid_ids = Vec::new();
        let mut item_of = Vec::new();
        for planned in &plan.items {
            let item = &planned.item;
            sqlx::query(
                "INSERT INTO payout_items (id, batch_id, influencer_id, display_name, method, \
                 account, amount, currency, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(item.id.as_uuid())
            .bind(plan.batch_id.as_uuid())
            .bind(item.influencer_id.as_uuid())
            .bind(&item.display_name)
            .bind(item.method.as_str())
            .bind(&item.account)
            .bind(item.amount.amount())
            .bind(item.currency.as_str())
            .bind(&item.reference)
            .execute(&mut *tx)
            .await
            .repo_numeric("amount")?;
            for event in &planned.events {
                settles.push(event.as_uuid());
                paid_ids.push(EventId::new().as_uuid());
                item_of.push(item.id.as_uuid());
            }
        }
        // Only approved, unsettled accrued or reversed events of the item's influencer are
        // settled; anything else (settled meanwhile) leaves a row out and the count short.
        let inserted = sqlx::query(
            "INSERT INTO commission_events (id, conversion_id, kind, gross, platform_fee, \
                 influencer_earnings, sales, link_id, influencer_id, merchant_id, \
                 payout_batch_id, payout_item_id, settles_event_id, occurred_at) \
             SELECT u.paid_id, e.conversion_id, 'paid', e.gross, e.platform_fee, \
                 e.influencer_earnings, 0, e.link_id, e.influencer_id, e.merchant_id, \
                 $4, u.item_id, e.id, $5 \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) AS u(settles, paid_id, item_id) \
             JOIN commission_events e ON e.id = u.settles AND e.kind IN ('accrued', 'reversed') \
             JOIN payout_items i ON i.id = u.item_id AND i.influencer_id = e.influencer_id \
             JOIN conversions c ON c.id = e.conversion_id AND c.approved_at IS NOT NULL \
             ON CONFLICT (settles_event_id) WHERE kind = 'paid' DO NOTHING",
        )
        .bind(&settles)
        .bind(&paid_ids)
        .bind(&item_of)
        .bind(plan.batch_id.as_uuid())
        .bind(plan.created_at)
        .execute(&mut *tx)
        .await
        .repo()?;
        if inserted.rows_affected() != settles.len() as u64 {
            tx.rollback().await.repo()?;
            return Ok(None);
        }
        // Each item must be exactly the earnings it settles: the plan and the ledger agree.
        let sums: Vec<(Uuid, Decimal)> = sqlx::query_as(
            "SELECT payout_item_id, sum(influencer_earnings) FROM commission_events \
             WHERE payout_batch_id = $1 GROUP BY payout_item_id",
        )
        .bind(plan.batch_id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        let sums: HashMap<Uuid, Decimal> = sums.into_iter().collect();
        for planned in &plan.items {
            if sums.get(&planned.item.id.as_uuid()) != Some(&planned.item.amount.amount()) {
                tx.rollback().await.repo()?;
                return Err(RepoError::Backend(
                    format!(
                        "payout item {} does not match the events it settles",
                        planned.item.id
                    )
                    .into(),
                ));
            }
        }
        // Totals: influencers, then merchants, each in id order (the advisory lock already
        // serializes payout runs; conversions take one influencer before one merchant).
        sqlx::query(
            "UPDATE influencers i SET total_paid = COALESCE(i.total_paid, 0) + s.paid \
             FROM (SELECT influencer_id, sum(influencer_earnings) AS paid FROM commission_events \
                   WHERE payout_batch_id = $1 GROUP BY influencer_id) s \
             WHERE i.id = s.influencer_id",
        )
        .bind(plan.batch_id.as_uuid())
        .execute(&mut *tx)
        .await
        .repo_numeric("amount")?;
        sqlx::query(
            "UPDATE merchants m SET total_commissions_paid = COALESCE(m.total_commissions_paid, 0) + s.gross \
             FROM (SELECT merchant_id, sum(gross) AS gross FROM commission_events \
                   WHERE payout_batch_id = $1 GROUP BY merchant_id) s \
             WHERE m.id = s.merchant_id",
        )
        .bind(plan.batch_id.as_uuid())
        .execute(&mut *tx)
        .await
        .repo_numeric("amount")?;
        tx.commit().await.repo()?;
        Ok(Some(plan.batch()))
    }

    async fn payout_batches(&self) -> RepoResult<Vec<PayoutBatch>> {
        let batches: Vec<(Uuid, DateTime<Utc>, Decimal)> = sqlx::query_as(
            "SELECT id, created_at, minimum FROM payout_batches ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .repo()?;
        let items: Vec<ItemRow> =
            sqlx::query_as("SELECT * FROM payout_items ORDER BY batch_id, influencer_id")
                .fetch_all(&self.pool)
                .await
                .repo()?;
        let mut by_batch: BTreeMap<Uuid, Vec<PayoutItem>> = BTreeMap::new();
        for row in items {
            let batch = row.batch_id;
            by_batch.entry(batch).or_default().push(row.try_into()?);
        }
        batches
            .into_iter()
            .map(|(id, created_at, minimum)| {
                Ok(PayoutBatch {
                    id: PayoutBatchId::from_uuid(id),
                    created_at,
                    minimum: RowParser::new("payout_batches", id)
                        .field("minimum", Money::new(minimum))?,
                    items: by_batch.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }
}
