//! `products`: what merchants offer for promotion.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::store::{ProductQuery, ProductRepo, RepoResult, Upserted};
use skinstack_core::{
    Category, Currency, Description, Entity, ExternalId, MerchantId, Name, NewProduct, Price,
    Product, ProductId, ProductPatch, ProgramId, RepoError, WebUrl,
};
use uuid::Uuid;

/// The columns a `ProductRow` reads.
macro_rules! columns {
    () => {
        "id, merchant_id, program_id, external_id, name, description, price, image_url, \
         product_url, category, in_stock, created_at, updated_at, \
         (SELECT cm.currency FROM merchants cm WHERE cm.id = merchant_id) AS currency"
    };
}

/// The same columns, qualified for queries that join `products p`.
macro_rules! p_columns {
    () => {
        "p.id, p.merchant_id, p.program_id, p.external_id, p.name, p.description, p.price, \
         p.image_url, p.product_url, p.category, p.in_stock, p.created_at, p.updated_at, \
         (SELECT cm.currency FROM merchants cm WHERE cm.id = p.merchant_id) AS currency"
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
    currency: String,
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
            price: p.field("price", Price::from_decimal(row.price))?,
            currency: p.field("currency", Currency::parse(&row.currency))?,
            image_url: p.optional("image_url", row.image_url.as_deref(), WebUrl::parse)?,
            product_url: p.field("product_url", WebUrl::parse(&row.product_url))?,
            category: p.optional("category", row.category.as_deref(), Category::parse)?,
            in_stock: row.in_stock,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A product row from an upsert, with whether it was inserted.
#[derive(sqlx::FromRow)]
struct UpsertRow {
    #[sqlx(flatten)]
    product: ProductRow,
    inserted: bool,
}

fn found(row: Option<ProductRow>) -> RepoResult<Product> {
    row.ok_or(RepoError::NotFound(Entity::Product))?.try_into()
}

#[async_trait]
impl ProductRepo for PgStore {
    async fn create_product(&self, new: NewProduct) -> RepoResult<Product> {
        // A `Price` fits products.price DECIMAL(10,2) by construction.
        let price = new.price;
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

    async fn update_product(&self, id: ProductId, patch: ProductPatch) -> RepoResult<Product> {
        let price = patch.price;
        let program = patch.program_id;
        let description = patch.description.as_ref();
        let image_url = patch.image_url.as_ref();
        let category = patch.category;
        let row = sqlx::query_as(concat!(
            "UPDATE products SET \
             program_id = CASE WHEN $2 THEN $3 ELSE program_id END, \
             name = COALESCE($4, name), \
             description = CASE WHEN $5 THEN $6 ELSE description END, \
             price = COALESCE($7, price), \
             image_url = CASE WHEN $8 THEN $9 ELSE image_url END, \
             product_url = COALESCE($10, product_url), \
             category = CASE WHEN $11 THEN $12 ELSE category END, \
             in_stock = COALESCE($13, in_stock) \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(program.is_some())
        .bind(program.flatten().map(|p| p.as_uuid()))
        .bind(patch.name.as_ref().map(Name::as_str))
        .bind(description.is_some())
        .bind(description.and_then(|d| d.as_ref().map(Description::as_str)))
        .bind(price.map(|p| p.amount()))
        .bind(image_url.is_some())
        .bind(image_url.and_then(|u| u.as_ref().map(WebUrl::as_str)))
        .bind(patch.product_url.as_ref().map(WebUrl::as_str))
        .bind(category.is_some())
        .bind(category.flatten().map(Category::as_str))
        .bind(patch.in_stock)
        .fetch_optional(&self.pool)
        .await
        .repo_numeric("price")?;
        found(row)
    }

    async fn list_products(&self, query: &ProductQuery) -> RepoResult<Vec<Product>> {
        // `open_only` is core's `domain::is_open` (merchant active and verified, program active
        // if any), written as SQL; the contract case `open_lists_follow_the_core_rule` proves
        // they agree.
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            p_columns!(),
            " FROM products p JOIN merchants m ON m.id = p.merchant_id \
             LEFT JOIN programs pr ON pr.id = p.program_id \
             WHERE ($1::uuid IS NULL OR p.merchant_id = $1) \
             AND (NOT $2 OR (m.is_active AND m.verified_at IS NOT NULL \
                  AND (p.program_id IS NULL OR pr.is_active))) \
             AND ($3::uuid IS NULL OR p.program_id = $3) \
             AND ($4::text IS NULL OR p.category = $4) \
             AND ($5::boolean IS NULL OR p.in_stock = $5) \
             AND ($6::uuid IS NULL OR p.id > $6) \
             ORDER BY p.id LIMIT $7"
        ))
        .bind(query.merchant.map(|m| m.as_uuid()))
        .bind(query.open_only)
        .bind(query.program.map(|p| p.as_uuid()))
        .bind(query.category.map(Category::as_str))
        .bind(query.in_stock)
        .bind(query.page.after.map(|p| p.as_uuid()))
        .bind(i64::from(query.page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(Product::try_from).collect()
    }

    async fn upsert_product(&self, new: NewProduct) -> RepoResult<(Product, Upserted)> {
        let price = new.price;
        // One statement on the (merchant_id, external_id) unique key: atomic, and concurrent
        // upserts of one external id cannot both insert. `xmax = 0` only for a fresh row.
        let row: UpsertRow = sqlx::query_as(concat!(
            "INSERT INTO products (id, merchant_id, program_id, external_id, name, description, \
             price, image_url, product_url, category, in_stock) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (merchant_id, external_id) DO UPDATE SET \
             program_id = EXCLUDED.program_id, name = EXCLUDED.name, \
             description = EXCLUDED.description, price = EXCLUDED.price, \
             image_url = EXCLUDED.image_url, product_url = EXCLUDED.product_url, \
             category = EXCLUDED.category, in_stock = EXCLUDED.in_stock \
             RETURNING ",
            columns!(),
            ", (xmax = 0) AS inserted"
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
        let how = if row.inserted {
            Upserted::Created
        } else {
            Upserted::Updated
        };
        Ok((row.product.try_into()?, how))
    }
}
