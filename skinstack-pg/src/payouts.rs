//! `payout_batches`, `payout_items` and the `paid` ledger events: a batch, its items, one paid
//! event per settled event and the totals commit together or not at all.

use crate::conversions::{apply_totals, event_select, insert_events, EventRow};
use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::domain::*;
use skinstack_core::earning::ledger::CommissionEvent;
use skinstack_core::earning::payout::{
    PayoutBatch, PayoutItem, PayoutPlan, SettleError, UnsettledEvent,
};
use skinstack_core::store::PayoutRepo;
use skinstack_core::store::RepoResult;
use skinstack_core::{CommissionSplit, InfluencerId, MerchantId, Money, PayoutMethod, RepoError};
use std::collections::{BTreeMap, HashMap, HashSet};
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
        let rows: Vec<(
            Uuid,
            Uuid,
            Uuid,
            Uuid,
            String,
            Decimal,
            Decimal,
            Decimal,
            bool,
        )> = sqlx::query_as(
            "SELECT e.id, e.conversion_id, e.influencer_id, e.merchant_id, e.currency, e.gross, \
             e.platform_fee, e.influencer_earnings, \
             EXISTS (SELECT 1 FROM merchant_statement_lines fl \
                     JOIN merchant_statements fs ON fs.id = fl.statement_id \
                     WHERE fl.event_id = e.id AND fs.status = 'paid') AS funded \
             FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             WHERE e.kind IN ('accrued', 'reversed') AND c.approved_at IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM commission_events p \
                               WHERE p.kind = 'paid' AND p.settles_event_id = e.id) \
             ORDER BY e.id",
        )
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter()
            .map(
                |(id, conversion, influencer, merchant, currency, gross, fee, earnings, funded)| {
                    Ok(UnsettledEvent {
                        event_id: EventId::from_uuid(id),
                        conversion_id: ConversionId::from_uuid(conversion),
                        influencer_id: InfluencerId::from_uuid(influencer),
                        merchant_id: MerchantId::from_uuid(merchant),
                        currency: RowParser::new("commission_events", id)
                            .field("currency", Currency::parse(&currency))?,
                        split: CommissionSplit {
                            gross,
                            platform_fee: fee,
                            influencer_earnings: earnings,
                        },
                        funded,
                    })
                },
            )
            .collect()
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
        }
        // The planned events still unsettled, with whether their conversion is approved; core
        // decides from these what the batch pays (`PayoutPlan::payments`).
        let planned: Vec<Uuid> = plan
            .items
            .iter()
            .flat_map(|p| p.events.iter().map(|e| e.as_uuid()))
            .collect();
        let rows: Vec<EventRow> = sqlx::query_as(concat!(
            event_select!(),
            " e WHERE e.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM commission_events p \
               WHERE p.kind = 'paid' AND p.settles_event_id = e.id)"
        ))
        .bind(&planned)
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        let approved: HashSet<Uuid> = sqlx::query_scalar(
            "SELECT e.id FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             WHERE e.id = ANY($1) AND c.approved_at IS NOT NULL",
        )
        .bind(&planned)
        .fetch_all(&mut *tx)
        .await
        .repo()?
        .into_iter()
        .collect();
        let mut unsettled: HashMap<EventId, (CommissionEvent, bool)> = HashMap::new();
        for row in rows {
            let event = CommissionEvent::try_from(row)?;
            let is_approved = approved.contains(&event.id.as_uuid());
            unsettled.insert(event.id, (event, is_approved));
        }
        let payments = plan.payments(|id| unsettled.get(&id).map(|(e, a)| (e, *a)));
        let payments = match payments {
            Ok(payments) => payments,
            Err(SettleError::Stale) => {
                tx.rollback().await.repo()?;
                return Ok(None);
            }
            Err(mismatch) => {
                tx.rollback().await.repo()?;
                return Err(RepoError::Backend(mismatch.into()));
            }
        };
        let (items, paid): (Vec<Option<PayoutItemId>>, Vec<CommissionEvent>) = payments
            .into_iter()
            .map(|(item, event)| (Some(item), event))
            .unzip();
        // The advisory lock keeps other payouts out; the unique index is the last word.
        if insert_events(&mut tx, &paid, &items).await? != paid.len() as u64 {
            tx.rollback().await.repo()?;
            return Ok(None);
        }
        apply_totals(&mut tx, &paid).await?;
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
