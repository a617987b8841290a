//! `merchant_statements` and `merchant_statement_lines`: merchant statements (invoices). What
//! a statement bills is decided by core (`build_statement`) inside the transaction that
//! stores it; recording a payment funds the lines and moves `total_commissions_paid` in one
//! transaction.

use crate::conversions::EventRow;
use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use skinstack_core::domain::*;
use skinstack_core::earning::ledger::{CommissionEvent, EventKind};
use skinstack_core::earning::{build_statement, BillableEvent, StatementRequest, TotalsDelta};
use skinstack_core::store::{Entity, Page, RepoError, RepoResult, StatementRepo};
use skinstack_core::CommissionSplit;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// Serializes statement issuing across processes, so that two runs at once can neither issue
/// two statements of one period nor bill one event twice (the constraints would refuse the
/// second; the lock makes it wait and find the first instead).
const INVOICE_LOCK: i64 = 0x534b_494e_564f_4943; // "SKINVOIC"

#[derive(sqlx::FromRow)]
struct StatementRow {
    id: Uuid,
    merchant_id: Uuid,
    period: NaiveDate,
    currency: String,
    issued_at: DateTime<Utc>,
    status: String,
    paid_at: Option<DateTime<Utc>>,
    payment_reference: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    statement_id: Uuid,
    event_id: Uuid,
    conversion_id: Uuid,
    order_id: String,
    kind: String,
    influencer_id: Uuid,
    gross: rust_decimal::Decimal,
    platform_fee: rust_decimal::Decimal,
    influencer_earnings: rust_decimal::Decimal,
    occurred_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UnbilledRow {
    #[sqlx(flatten)]
    event: EventRow,
    order_id: String,
    currency: String,
    approved_at: Option<DateTime<Utc>>,
}

const STATEMENT_SELECT: &str = "SELECT id, merchant_id, period, currency, issued_at, status, \
     paid_at, payment_reference FROM merchant_statements";

/// The statements of `rows` with their lines, in the rows' order.
async fn with_lines(
    conn: &mut PgConnection,
    rows: Vec<StatementRow>,
) -> RepoResult<Vec<MerchantStatement>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT l.statement_id, e.id AS event_id, e.conversion_id, c.order_id, e.kind, \
         e.influencer_id, e.gross, e.platform_fee, e.influencer_earnings, e.occurred_at \
         FROM merchant_statement_lines l JOIN commission_events e ON e.id = l.event_id \
         JOIN conversions c ON c.id = e.conversion_id \
         WHERE l.statement_id = ANY($1) ORDER BY e.occurred_at, e.id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .repo()?;
    let mut by_statement: HashMap<Uuid, Vec<StatementLine>> = HashMap::new();
    for line in lines {
        let p = RowParser::new("merchant_statement_lines", line.event_id);
        by_statement
            .entry(line.statement_id)
            .or_default()
            .push(StatementLine {
                event_id: EventId::from_uuid(line.event_id),
                conversion_id: ConversionId::from_uuid(line.conversion_id),
                order_id: p.field("order_id", ShopRef::parse(&line.order_id))?,
                kind: EventKind::parse(&line.kind).ok_or_else(|| p.corrupt("unknown kind"))?,
                influencer_id: InfluencerId::from_uuid(line.influencer_id),
                split: CommissionSplit {
                    gross: line.gross,
                    platform_fee: line.platform_fee,
                    influencer_earnings: line.influencer_earnings,
                },
                occurred_at: line.occurred_at,
            });
    }
    rows.into_iter()
        .map(|row| {
            let p = RowParser::new("merchant_statements", row.id);
            Ok(MerchantStatement {
                id: StatementId::from_uuid(row.id),
                merchant_id: MerchantId::from_uuid(row.merchant_id),
                period: BillingPeriod::from_first_day(row.period)
                    .ok_or_else(|| p.corrupt("period is not a month's first day"))?,
                currency: p.field("currency", Currency::parse(&row.currency))?,
                issued_at: row.issued_at,
                status: StatementStatus::parse(&row.status)
                    .ok_or_else(|| p.corrupt("unknown status"))?,
                paid_at: row.paid_at,
                payment_reference: p.optional(
                    "payment_reference",
                    row.payment_reference.as_deref(),
                    PaymentReference::parse,
                )?,
                lines: by_statement.remove(&row.id).unwrap_or_default(),
            })
        })
        .collect()
}

async fn statement_in(conn: &mut PgConnection, id: Uuid) -> RepoResult<Option<MerchantStatement>> {
    let rows: Vec<StatementRow> = sqlx::query_as(&format!("{STATEMENT_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .repo()?;
    Ok(with_lines(conn, rows).await?.into_iter().next())
}

#[async_trait]
impl StatementRepo for PgStore {
    async fn issue_statement(&self, request: &StatementRequest) -> RepoResult<StatementIssue> {
        let mut tx = self.pool.begin().await.repo()?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INVOICE_LOCK)
            .execute(&mut *tx)
            .await
            .repo()?;
        let existing: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM merchant_statements \
             WHERE merchant_id = $1 AND period = $2 AND currency = $3",
        )
        .bind(request.merchant_id.as_uuid())
        .bind(request.period.first_day())
        .bind(request.currency.as_str())
        .fetch_optional(&mut *tx)
        .await
        .repo()?;
        if let Some(id) = existing {
            let statement = statement_in(&mut tx, id)
                .await?
                .ok_or(RepoError::NotFound(Entity::Statement))?;
            tx.commit().await.repo()?;
            return Ok(StatementIssue::Existing(statement));
        }
        // Every unbilled event of the merchant that can carry commission; core decides which
        // of them the statement bills.
        let rows: Vec<UnbilledRow> = sqlx::query_as(
            "SELECT e.id, e.conversion_id, e.kind, e.gross, e.platform_fee, \
             e.influencer_earnings, e.sales, e.link_id, e.influencer_id, e.merchant_id, \
             e.refund_id, e.payout_batch_id, e.settles_event_id, e.occurred_at, \
             c.order_id, c.currency, c.approved_at \
             FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             WHERE e.merchant_id = $1 AND e.kind IN ('accrued', 'reversed') \
               AND NOT EXISTS (SELECT 1 FROM merchant_statement_lines l WHERE l.event_id = e.id)",
        )
        .bind(request.merchant_id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        let mut unbilled = Vec::with_capacity(rows.len());
        for row in rows {
            let event = CommissionEvent::try_from(row.event)?;
            let p = RowParser::new("conversions", event.conversion_id.as_uuid());
            unbilled.push(BillableEvent {
                order_id: p.field("order_id", ShopRef::parse(&row.order_id))?,
                currency: p.field("currency", Currency::parse(&row.currency))?,
                approved_at: row.approved_at,
                event,
            });
        }
        let Some(statement) = build_statement(StatementId::new(), request, &unbilled) else {
            tx.commit().await.repo()?;
            return Ok(StatementIssue::NothingToBill);
        };
        sqlx::query(
            "INSERT INTO merchant_statements (id, merchant_id, period, currency, issued_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(statement.id.as_uuid())
        .bind(statement.merchant_id.as_uuid())
        .bind(statement.period.first_day())
        .bind(statement.currency.as_str())
        .bind(statement.issued_at)
        .bind(statement.status.as_str())
        .execute(&mut *tx)
        .await
        .repo()?;
        let events: Vec<Uuid> = statement
            .lines
            .iter()
            .map(|l| l.event_id.as_uuid())
            .collect();
        sqlx::query(
            "INSERT INTO merchant_statement_lines (event_id, statement_id) \
             SELECT e, $2 FROM UNNEST($1::uuid[]) AS e",
        )
        .bind(&events)
        .bind(statement.id.as_uuid())
        .execute(&mut *tx)
        .await
        .repo()?;
        tx.commit().await.repo()?;
        Ok(StatementIssue::Issued(statement))
    }

    async fn statement_by_id(&self, id: StatementId) -> RepoResult<Option<MerchantStatement>> {
        let mut conn = self.pool.acquire().await.repo()?;
        statement_in(&mut conn, id.as_uuid()).await
    }

    async fn statements_by_merchant(
        &self,
        merchant: MerchantId,
        page: Page<StatementId>,
    ) -> RepoResult<Vec<MerchantStatement>> {
        let mut conn = self.pool.acquire().await.repo()?;
        let rows: Vec<StatementRow> = sqlx::query_as(&format!(
            "{STATEMENT_SELECT} WHERE merchant_id = $1 AND ($2::uuid IS NULL OR id > $2) \
             ORDER BY id LIMIT $3"
        ))
        .bind(merchant.as_uuid())
        .bind(page.after.map(|s| s.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&mut *conn)
        .await
        .repo()?;
        with_lines(&mut conn, rows).await
    }

    async fn statements(&self, page: Page<StatementId>) -> RepoResult<Vec<MerchantStatement>> {
        let mut conn = self.pool.acquire().await.repo()?;
        let rows: Vec<StatementRow> = sqlx::query_as(&format!(
            "{STATEMENT_SELECT} WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
        ))
        .bind(page.after.map(|s| s.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&mut *conn)
        .await
        .repo()?;
        with_lines(&mut conn, rows).await
    }

    async fn mark_statement_paid(
        &self,
        id: StatementId,
        reference: &PaymentReference,
        at: DateTime<Utc>,
    ) -> RepoResult<MarkPaid> {
        let mut tx = self.pool.begin().await.repo()?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM merchant_statements WHERE id = $1 FOR UPDATE")
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .repo()?;
        let Some(status) = status else {
            return Err(RepoError::NotFound(Entity::Statement));
        };
        if StatementStatus::parse(&status) == Some(StatementStatus::Paid) {
            let statement = statement_in(&mut tx, id.as_uuid())
                .await?
                .ok_or(RepoError::NotFound(Entity::Statement))?;
            tx.commit().await.repo()?;
            return Ok(MarkPaid::AlreadyPaid(statement));
        }
        sqlx::query(
            "UPDATE merchant_statements SET status = 'paid', paid_at = $2, payment_reference = $3 \
             WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(at)
        .bind(reference.as_str())
        .execute(&mut *tx)
        .await
        .repo()?;
        let statement = statement_in(&mut tx, id.as_uuid())
            .await?
            .ok_or(RepoError::NotFound(Entity::Statement))?;
        let delta = TotalsDelta::funding(&statement);
        sqlx::query(
            "UPDATE merchants SET total_commissions_paid = \
             COALESCE(total_commissions_paid, 0) + $2 WHERE id = $1",
        )
        .bind(statement.merchant_id.as_uuid())
        .bind(delta.commissions_paid)
        .execute(&mut *tx)
        .await
        .repo_numeric("amount")?;
        tx.commit().await.repo()?;
        Ok(MarkPaid::Marked(statement))
    }

    async fn merchants_with_unbilled_events(&self) -> RepoResult<Vec<MerchantId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT e.merchant_id FROM commission_events e \
             WHERE e.kind IN ('accrued', 'reversed') \
               AND NOT EXISTS (SELECT 1 FROM merchant_statement_lines l WHERE l.event_id = e.id) \
             ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .repo()?;
        Ok(ids.into_iter().map(MerchantId::from_uuid).collect())
    }
}
