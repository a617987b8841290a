//! Holds on `conversions` (`hold_reasons`, `held_at`, `voided_at`), the `released` and
//! `voided` ledger events, and `merchants.max_order_amount`.
//!
//! Each change locks the conversion row (`FOR UPDATE`), asks core whether it is allowed on the
//! row as stored, and writes in the same transaction: a hold cannot slip past a concurrent
//! approval (which skips locked rows and re-checks `held_at`), and a refund computed before a
//! void is refused by its compare-and-set on `voided_at`.

use crate::conversions::{append, ConversionRow};
use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::domain::*;
use skinstack_core::earning::ledger::CommissionEvent;
use skinstack_core::store::{HoldChange, HoldCounts, HoldRepo, RepoResult};
use skinstack_core::{Entity, RepoError};
use sqlx::PgConnection;

/// Locks and reads conversion `id`.
async fn locked(conn: &mut PgConnection, id: ConversionId) -> RepoResult<Conversion> {
    let row: Option<ConversionRow> =
        sqlx::query_as("SELECT * FROM conversions WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .repo()?;
    row.ok_or(RepoError::NotFound(Entity::Conversion))?
        .try_into()
}

/// Holds the locked `conversion` for `reason` if core allows it.
async fn hold_locked(
    conn: &mut PgConnection,
    conversion: Conversion,
    reason: HoldReason,
    at: DateTime<Utc>,
) -> RepoResult<HoldChange> {
    if !conversion.can_be_held() {
        return Ok(HoldChange::Refused(conversion));
    }
    let mut reasons = conversion.hold_reasons.clone();
    add_hold_reason(&mut reasons, reason);
    let row: ConversionRow = sqlx::query_as(
        "UPDATE conversions SET hold_reasons = $2, held_at = COALESCE(held_at, $3) \
         WHERE id = $1 RETURNING *",
    )
    .bind(conversion.id.as_uuid())
    .bind(reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>())
    .bind(at)
    .fetch_one(&mut *conn)
    .await
    .repo()?;
    Ok(HoldChange::Changed(row.try_into()?))
}

#[async_trait]
impl HoldRepo for PgStore {
    async fn conversion_by_id(&self, id: ConversionId) -> RepoResult<Option<Conversion>> {
        let row: Option<ConversionRow> = sqlx::query_as("SELECT * FROM conversions WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .repo()?;
        row.map(Conversion::try_from).transpose()
    }

    async fn hold_conversion(
        &self,
        id: ConversionId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange> {
        let mut tx = self.pool.begin().await.repo()?;
        let conversion = locked(&mut tx, id).await?;
        let change = hold_locked(&mut tx, conversion, reason, at).await?;
        tx.commit().await.repo()?;
        Ok(change)
    }

    async fn hold_open_commissions(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> RepoResult<Vec<ConversionId>> {
        let mut tx = self.pool.begin().await.repo()?;
        // In id order, as every writer that locks several conversions does.
        let rows: Vec<ConversionRow> = sqlx::query_as(
            "SELECT * FROM conversions WHERE program_id = $1 AND influencer_id = $2 \
             AND approved_at IS NULL AND voided_at IS NULL ORDER BY id FOR UPDATE",
        )
        .bind(program.as_uuid())
        .bind(influencer.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        let mut held = Vec::new();
        for row in rows {
            let conversion = Conversion::try_from(row)?;
            let id = conversion.id;
            if let HoldChange::Changed(_) = hold_locked(&mut tx, conversion, reason, at).await? {
                held.push(id);
            }
        }
        tx.commit().await.repo()?;
        Ok(held)
    }

    async fn release_conversion(
        &self,
        id: ConversionId,
        event: EventId,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange> {
        let mut tx = self.pool.begin().await.repo()?;
        let conversion = locked(&mut tx, id).await?;
        let Some(released) =
            CommissionEvent::release(event, &conversion, at).filter(|_| conversion.is_held())
        else {
            tx.rollback().await.repo()?;
            return Ok(HoldChange::Refused(conversion));
        };
        let row: ConversionRow =
            sqlx::query_as("UPDATE conversions SET held_at = NULL WHERE id = $1 RETURNING *")
                .bind(id.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .repo()?;
        append(&mut tx, &[released]).await?;
        tx.commit().await.repo()?;
        Ok(HoldChange::Changed(row.try_into()?))
    }

    async fn void_conversion(
        &self,
        id: ConversionId,
        event: EventId,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange> {
        let mut tx = self.pool.begin().await.repo()?;
        let conversion = locked(&mut tx, id).await?;
        let Some(voided) =
            CommissionEvent::void(event, &conversion, at).filter(|_| conversion.is_held())
        else {
            tx.rollback().await.repo()?;
            return Ok(HoldChange::Refused(conversion));
        };
        let row: ConversionRow = sqlx::query_as(
            "UPDATE conversions SET held_at = NULL, voided_at = $2 WHERE id = $1 RETURNING *",
        )
        .bind(id.as_uuid())
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .repo()?;
        append(&mut tx, &[voided]).await?;
        tx.commit().await.repo()?;
        Ok(HoldChange::Changed(row.try_into()?))
    }

    async fn hold_counts(&self) -> RepoResult<HoldCounts> {
        let (held, voided): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE held_at IS NOT NULL), \
             count(*) FILTER (WHERE voided_at IS NOT NULL) FROM conversions \
             WHERE held_at IS NOT NULL OR voided_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await
        .repo()?;
        let by_reason: Vec<(String, i64)> = sqlx::query_as(
            "SELECT r, count(*) FROM conversions, unnest(hold_reasons) AS r \
             WHERE held_at IS NOT NULL GROUP BY r",
        )
        .fetch_all(&self.pool)
        .await
        .repo()?;
        let mut held_by_reason: Vec<(HoldReason, i64)> =
            HoldReason::ALL.into_iter().map(|r| (r, 0)).collect();
        for (reason, n) in by_reason {
            let reason = HoldReason::parse(&reason).ok_or_else(|| {
                RepoError::Backend(format!("conversions holds an unknown reason {reason:?}").into())
            })?;
            for (r, count) in &mut held_by_reason {
                if *r == reason {
                    *count = n;
                }
            }
        }
        let by_signal: Vec<(String, i64)> =
            sqlx::query_as("SELECT s, count(*) FROM conversions, unnest(signals) AS s GROUP BY s")
                .fetch_all(&self.pool)
                .await
                .repo()?;
        let mut signals: Vec<(FraudSignal, i64)> =
            FraudSignal::ALL.into_iter().map(|s| (s, 0)).collect();
        for (signal, n) in by_signal {
            let signal = FraudSignal::parse(&signal).ok_or_else(|| {
                RepoError::Backend(format!("conversions holds an unknown signal {signal:?}").into())
            })?;
            for (s, count) in &mut signals {
                if *s == signal {
                    *count = n;
                }
            }
        }
        Ok(HoldCounts {
            held,
            held_by_reason,
            voided,
            signals,
        })
    }

    async fn max_order_amount(&self, merchant: MerchantId) -> RepoResult<MaxOrderAmount> {
        let max: Option<Decimal> =
            sqlx::query_scalar("SELECT max_order_amount FROM merchants WHERE id = $1")
                .bind(merchant.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        let max = max.ok_or(RepoError::NotFound(Entity::Merchant))?;
        let p = RowParser::new("merchants", merchant.as_uuid());
        let money = p.field("max_order_amount", Money::new(max))?;
        p.field("max_order_amount", MaxOrderAmount::new(money))
    }

    async fn set_max_order_amount(
        &self,
        merchant: MerchantId,
        max: MaxOrderAmount,
    ) -> RepoResult<()> {
        let updated = sqlx::query("UPDATE merchants SET max_order_amount = $2 WHERE id = $1")
            .bind(merchant.as_uuid())
            .bind(max.amount().amount())
            .execute(&self.pool)
            .await
            .repo_numeric("max_order_amount")?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(())
    }
}
