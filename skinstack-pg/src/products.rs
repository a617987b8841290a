//! `products`: what merchants offer for promotion.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::error::ForField;
use skinstack_core::repo::{ProductRepo, RepoResult};
use skinstack_core::{
    Category, Description, Entity, ExternalId, MerchantId, Money, Name, NewProduct, Product,
    ProductId, ProgramId, RepoError, WebUrl,
};
use uuid::Uuid;

/// The columns a `ProductRow` reads.
macro_rules! columns {
    () => {
        "id, merchant_id, program_id, external_id, name, description, price, image_url, \
         product_url, category, in_stock, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
    merchant_id: Uuid,
    program_id: Option<Uuid>,
    external_id: String,
    name: String,
    description: Option<String>,
    price: Decimal,
    image_url: Option<String>,
    product_url: String,
    category: Option<String>,
    in_stock: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ProductRow> for Product {
    type Error = RepoError;

    fn try_from(row: ProductRow) -> RepoResult<Product> {
        let p = RowParser::new("products", row.id);
        Ok(Product {
            id: ProductId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            program_id: row.program_id.map(ProgramId::from_uuid),
            external_id: p.field("external_id", ExternalId::parse(&row.external_id))?,
            name: p.field("name", Name::parse(&row.name))?,
            description: p.optional(
                "description",
                row.description.as_deref(),
                Description::parse,
            )?,
            price: p.field("price", Money::new(row.price))?,
            image_url: p.optional("image_url", row.image_url.as_deref(), WebUrl::parse)?,
            product_url: p.field("product_url", WebUrl::parse(&row.product_url))?,
            category: p.optional("category", row.category.as_deref(), Category::parse)?,
            in_stock: row.in_stock,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn found(row: Option<ProductRow>) -> RepoResult<Product> {
    row.ok_or(RepoError::NotFound(Entity::Product))?.try_into()
}

#[async_trait]
impl ProductRepo for PgStore {
    async fn create_product(&self, new: NewProduct) -> RepoResult<Product> {
        // products.price is DECIMAL(10,2), narrower than Money: refuse it here with the field
        // named, rather than let PostgreSQL answer with a bare numeric overflow.
        let price = NewProduct::price(new.price).field("price")?;
        let row: ProductRow = sqlx::query_as(concat!(
            "INSERT INTO products (id, merchant_id, program_id, external_id, name, description, \
             price, image_url, product_url, category, in_stock) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
            columns!()
        ))
        .bind(ProductId::new().as_uuid())
        .bind(new.merchant_id.as_uuid())
        .bind(new.program_id.map(|p| p.as_uuid()))
        .bind(new.external_id.as_str())
        .bind(new.name.as_str())
        .bind(new.description.as_ref().map(Description::as_str))
        .bind(price.amount())
        .bind(new.image_url.as_ref().map(WebUrl::as_str))
        .bind(new.product_url.as_str())
        .bind(new.category.map(Category::as_str))
        .bind(new.in_stock)
        .fetch_one(&self.pool)
        .await
        .repo_numeric("price")?;
        row.try_into()
    }

    async fn product_by_id(&self, id: ProductId) -> RepoResult<Product> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM products WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn products_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Product>> {
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM products WHERE merchant_id = $1 ORDER BY created_at, id"
        ))
        .bind(merchant.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(Product::try_from).collect()
    }

    async fn delete_product(&self, id: ProductId) -> RepoResult<()> {
        // Links to it are detached by ON DELETE SET NULL.
        let deleted = sqlx::query("DELETE FROM products WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .repo()?;
        if deleted.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Product));
        }
        Ok(())
    }
}
