//! Shopify webhook deliveries answered for good (see [`WebhookDelivery`]).

use crate::domain::{DeliveryId, DeliveryInsert, MerchantId, WebhookDelivery, WebhookId};
use crate::store::{Page, RepoResult};
use async_trait::async_trait;

/// The deliveries kept per merchant.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookDeliveries: Send + Sync {
    /// Keeps `delivery` unless its merchant already has one with its webhook id (then
    /// [`DeliveryInsert::Existing`], nothing changed). Decided by a unique constraint, so
    /// concurrent calls with one webhook id keep one. Deliveries without a webhook id are
    /// always kept.
    async fn record_delivery(&self, delivery: WebhookDelivery) -> RepoResult<DeliveryInsert>;
    /// The merchant's delivery with webhook id `id`, if kept.
    async fn delivery_by_webhook_id(
        &self,
        merchant: MerchantId,
        id: &WebhookId,
    ) -> RepoResult<Option<WebhookDelivery>>;
    /// The merchant's rejected deliveries, newest first: at most `page.limit()`, older than
    /// `page.after` (the last id of the previous page).
    async fn rejected_deliveries(
        &self,
        merchant: MerchantId,
        page: Page<DeliveryId>,
    ) -> RepoResult<Vec<WebhookDelivery>>;
}
