//! Products, and which of them to list.

use crate::domain::*;
use crate::store::{Page, RepoResult, Upserted};
use async_trait::async_trait;

/// Which products to list. Filters combine with AND; the default lists every product, first page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductQuery {
    /// Only this merchant's.
    pub merchant: Option<MerchantId>,
    /// Only products open to influencers: their merchant is active and they are in no
    /// program or an active one.
    pub open_only: bool,
    /// Only products in this program.
    pub program: Option<ProgramId>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only in stock (`true`) or out of stock (`false`).
    pub in_stock: Option<bool>,
    /// Which page.
    pub page: Page<ProductId>,
}

/// Products.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProductRepo: Send + Sync {
    /// Stores a product; [`RepoError::DuplicateExternalId`] if the merchant already has one
    /// with this external id; `NotFound(Merchant | Program)` for a missing reference.
    async fn create_product(&self, product: NewProduct) -> RepoResult<Product>;
    /// The product with this id.
    async fn product_by_id(&self, id: ProductId) -> RepoResult<Product>;
    /// A merchant's products, oldest first.
    async fn products_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Product>>;
    /// Deletes a product; links to it keep working without it.
    async fn delete_product(&self, id: ProductId) -> RepoResult<()>;
    /// Applies a patch and returns the product as it now is; `NotFound(Program)` for a
    /// missing program.
    async fn update_product(&self, id: ProductId, patch: ProductPatch) -> RepoResult<Product>;
    /// The products matching `query`, in id order.
    async fn list_products(&self, query: &ProductQuery) -> RepoResult<Vec<Product>>;
    /// Creates the product, or updates every field of the merchant's product with the same
    /// external id, atomically (concurrent upserts of one external id never duplicate it).
    async fn upsert_product(&self, product: NewProduct) -> RepoResult<(Product, Upserted)>;
}
