//! `webhook_deliveries`: Shopify deliveries answered for good, unique per merchant by webhook
//! id (`ON CONFLICT DO NOTHING` on the constraint, so concurrent retries keep one row).

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::domain::{
    DeliveryId, DeliveryInsert, Rejection, RejectionReason, Topic, WebhookDelivery, WebhookId,
};
use skinstack_core::store::WebhookDeliveries;
use skinstack_core::store::{Page, RepoResult};
use skinstack_core::{Invalid, MerchantId, RepoError};
use uuid::Uuid;

const COLUMNS: &str =
    "id, merchant_id, webhook_id, topic, received_at, reason, message, body, body_len";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    merchant_id: Uuid,
    webhook_id: Option<String>,
    topic: Option<String>,
    received_at: DateTime<Utc>,
    reason: Option<String>,
    message: Option<String>,
    body: Vec<u8>,
    body_len: i64,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = RepoError;

    fn try_from(row: DeliveryRow) -> RepoResult<WebhookDelivery> {
        let p = RowParser::new("webhook_deliveries", row.id);
        let rejection = match (row.reason, row.message) {
            (Some(code), Some(message)) => Some(Rejection {
                reason: p.field(
                    "reason",
                    RejectionReason::parse(&code).ok_or(Invalid::Format("a rejection code")),
                )?,
                message,
            }),
            (None, None) => None,
            _ => return Err(p.corrupt("a reason without a message, or a message without one")),
        };
        Ok(WebhookDelivery {
            id: DeliveryId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            webhook_id: p.optional("webhook_id", row.webhook_id.as_deref(), WebhookId::parse)?,
            topic: p.optional("topic", row.topic.as_deref(), Topic::parse)?,
            received_at: row.received_at,
            rejection,
            body: row.body,
            body_len: p.field(
                "body_len",
                u64::try_from(row.body_len).map_err(|_| Invalid::OutOfRange("not negative")),
            )?,
        })
    }
}

#[async_trait]
impl WebhookDeliveries for PgStore {
    async fn record_delivery(&self, delivery: WebhookDelivery) -> RepoResult<DeliveryInsert> {
        let inserted: Option<DeliveryRow> = sqlx::query_as(&format!(
            "INSERT INTO webhook_deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT ON CONSTRAINT webhook_deliveries_merchant_id_webhook_id_key DO NOTHING \
             RETURNING {COLUMNS}"
        ))
        .bind(delivery.id.as_uuid())
        .bind(delivery.merchant_id.as_uuid())
        .bind(delivery.webhook_id.as_ref().map(|id| id.as_str()))
        .bind(delivery.topic.as_ref().map(|t| t.as_str()))
        .bind(delivery.received_at)
        .bind(delivery.rejection.as_ref().map(|r| r.reason.code()))
        .bind(delivery.rejection.as_ref().map(|r| r.message.as_str()))
        .bind(&delivery.body)
        .bind(i64::try_from(delivery.body_len).unwrap_or(i64::MAX))
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        if let Some(row) = inserted {
            return Ok(DeliveryInsert::Inserted(row.try_into()?));
        }
        // Only a delivery with a webhook id can conflict; the winner is committed by now.
        let existing = match &delivery.webhook_id {
            Some(id) => {
                self.delivery_by_webhook_id(delivery.merchant_id, id)
                    .await?
            }
            None => None,
        };
        existing
            .map(DeliveryInsert::Existing)
            .ok_or_else(|| RepoError::Backend("a conflicting delivery vanished".into()))
    }

    async fn delivery_by_webhook_id(
        &self,
        merchant: MerchantId,
        id: &WebhookId,
    ) -> RepoResult<Option<WebhookDelivery>> {
        let row: Option<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 AND webhook_id = $2"
        ))
        .bind(merchant.as_uuid())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.map(TryInto::try_into).transpose()
    }

    async fn rejected_deliveries(
        &self,
        merchant: MerchantId,
        page: Page<DeliveryId>,
    ) -> RepoResult<Vec<WebhookDelivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries \
             WHERE merchant_id = $1 AND reason IS NOT NULL AND ($2::uuid IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(merchant.as_uuid())
        .bind(page.after.map(|id| id.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
