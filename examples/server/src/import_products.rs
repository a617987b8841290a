//! `skinstack-server import-products --merchant <id> <file>`: a merchant's catalogue from CSV
//! or a Shopify `products.json` export, upserted by (merchant, external_id).
//!
//! Each row is checked on its own and written with one atomic upsert, so a bad row is
//! reported (with its line, or its position in the JSON list, and the reason) and skipped
//! without touching the others or leaving anything half-written.

use crate::cli::ImportProductsArgs;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use skinstack_core::service::products::{self, ProductInput};
use skinstack_core::{
    Category, Description, ExternalId, Health, MerchantId, Name, Price, ProgramId, Upserted, WebUrl,
};
use skinstack_pg::{Cipher, PgStore, SECRET_KEY_VAR};
use sqlx::postgres::PgPoolOptions;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// A PostgreSQL store for a one-off command.
pub async fn connect(database_url: Option<&str>) -> anyhow::Result<PgStore> {
    let Some(url) = database_url else {
        bail!("DATABASE_URL is not set (or pass --database-url)");
    };
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .context("cannot connect to the database at DATABASE_URL")?;
    let cipher = match std::env::var_os(SECRET_KEY_VAR) {
        Some(_) => Some(Cipher::from_env().context("SKINSTACK_SECRET_KEY is not a valid key")?),
        None => None,
    };
    Ok(PgStore::new(pool, cipher))
}

/// One row to import, or why it cannot be.
struct Row {
    /// "line 3" or "product 2".
    place: String,
    parsed: Result<ProductInput, String>,
}

/// Imports the file and prints what happened to each row.
pub async fn run(args: ImportProductsArgs) -> anyhow::Result<()> {
    let store = connect(args.database_url.as_deref()).await?;
    store
        .check()
        .await
        .context("the database is not ready (run `skinstack-server migrate up`)")?;
    let merchant_id = MerchantId::from_uuid(args.merchant);
    // Credentials are not needed here: read the website without decrypting anything.
    let website: Option<String> =
        sqlx::query_scalar("SELECT website_url FROM merchants WHERE id = $1")
            .bind(args.merchant)
            .fetch_optional(store.pool())
            .await
            .context("cannot read the merchant")?;
    let Some(website) = website else {
        bail!("no merchant with id {}", args.merchant);
    };
    let website = WebUrl::parse(&website)
        .map_err(|reason| anyhow::anyhow!("the merchant's website_url {reason}"))?;
    let program = args.program.map(ProgramId::from_uuid);

    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let rows = if is_shopify(&args.file, &text) {
        shopify_rows(&text, &website, program)?
    } else {
        csv_rows(&text, program)?
    };

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(rows.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let (mut imported, mut updated) = (0u64, 0u64);
    let mut rejected = Vec::new();
    for row in rows {
        let outcome = match row.parsed {
            Ok(input) => products::upsert_for_merchant(&store, merchant_id, input)
                .await
                .map_err(|err| err.to_string()),
            Err(reason) => Err(reason),
        };
        match outcome {
            Ok((_, Upserted::Created)) => imported += 1,
            Ok((_, Upserted::Updated)) => updated += 1,
            Err(reason) => rejected.push(format!("{}: {reason}", row.place)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "imported {imported}, updated {updated}, rejected {}",
        rejected.len()
    );
    for line in rejected {
        println!("rejected {line}");
    }
    Ok(())
}

fn is_shopify(path: &Path, text: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{')
}

/// Collects every refused field of one row into one reason.
#[derive(Default)]
struct Reasons(Vec<String>);

impl Reasons {
    fn req<T>(
        &mut self,
        field: &str,
        parsed: Result<T, skinstack_core::error::Invalid>,
    ) -> Option<T> {
        parsed
            .map_err(|reason| self.0.push(format!("{field} {reason}")))
            .ok()
    }

    fn opt<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, skinstack_core::error::Invalid>,
    ) -> Option<Option<T>> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(None),
            Some(v) => self.req(field, parse(v)).map(Some),
        }
    }
}

/// The fields every format ends up with, as text.
struct Fields<'a> {
    external_id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    price: &'a str,
    image_url: Option<&'a str>,
    product_url: &'a str,
    category: Option<&'a str>,
    in_stock: Option<&'a str>,
}

fn product_input(fields: Fields<'_>, program: Option<ProgramId>) -> Result<ProductInput, String> {
    let mut r = Reasons::default();
    let external_id = r.req("external_id", ExternalId::parse(fields.external_id));
    let name = r.req("name", Name::parse(fields.name));
    let description = r.opt("description", fields.description, Description::parse);
    let price = r.req("price", Price::parse(fields.price));
    let image_url = r.opt("image_url", fields.image_url, WebUrl::parse);
    let product_url = r.req("product_url", WebUrl::parse(fields.product_url));
    let category = r.opt("category", fields.category, |c| {
        Category::parse(&c.to_lowercase().replace([' ', '-'], "_"))
    });
    let in_stock = r.opt("in_stock", fields.in_stock, |v| {
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(skinstack_core::error::Invalid::Format("true or false")),
        }
    });
    match (
        external_id,
        name,
        description,
        price,
        image_url,
        product_url,
        category,
        in_stock,
    ) {
        (
            Some(external_id),
            Some(name),
            Some(description),
            Some(price),
            Some(image_url),
            Some(product_url),
            Some(category),
            Some(in_stock),
        ) if r.0.is_empty() => Ok(ProductInput {
            program_id: program,
            external_id,
            name,
            description,
            price,
            image_url,
            product_url,
            category,
            in_stock: in_stock.unwrap_or(true),
        }),
        _ => Err(r.0.join("; ")),
    }
}

fn csv_rows(text: &str, program: Option<ProgramId>) -> anyhow::Result<Vec<Row>> {
    const COLUMNS: [&str; 8] = [
        "external_id",
        "name",
        "description",
        "price",
        "image_url",
        "product_url",
        "category",
        "in_stock",
    ];
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("cannot read the CSV header")?
        .clone();
    let index = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    for required in ["external_id", "name", "price", "product_url"] {
        if index(required).is_none() {
            bail!(
                "the CSV header lacks the {required} column (expected {})",
                COLUMNS.join(",")
            );
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let (place, parsed) = match record {
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                (
                    format!("line {line}"),
                    Err(format!("unreadable CSV: {err}")),
                )
            }
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let get = |name: &str| index(name).and_then(|i| record.get(i));
                let fields = Fields {
                    external_id: get("external_id").unwrap_or_default(),
                    name: get("name").unwrap_or_default(),
                    description: get("description"),
                    price: get("price").unwrap_or_default(),
                    image_url: get("image_url"),
                    product_url: get("product_url").unwrap_or_default(),
                    category: get("category"),
                    in_stock: get("in_stock"),
                };
                (format!("line {line}"), product_input(fields, program))
            }
        };
        rows.push(Row { place, parsed });
    }
    Ok(rows)
}

#[derive(Deserialize)]
struct ShopifyExport {
    products: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct ShopifyProduct {
    id: serde_json::Value,
    title: String,
    body_html: Option<String>,
    handle: String,
    product_type: Option<String>,
    #[serde(default)]
    variants: Vec<ShopifyVariant>,
    #[serde(default)]
    images: Vec<ShopifyImage>,
}

#[derive(Deserialize)]
struct ShopifyVariant {
    price: serde_json::Value,
    available: Option<bool>,
}

#[derive(Deserialize)]
struct ShopifyImage {
    src: String,
}

/// Shopify's admin export: `{"products": [...]}`. Each product maps as id → external_id,
/// title → name, body_html (tags dropped) → description, first variant's price, first
/// image, handle → `<website>/products/<handle>`, product_type → category when it is one
/// of ours, in stock when any variant is available.
fn shopify_rows(
    text: &str,
    website: &WebUrl,
    program: Option<ProgramId>,
) -> anyhow::Result<Vec<Row>> {
    let export: ShopifyExport =
        serde_json::from_str(text).context("not a Shopify products.json export")?;
    let base = website.as_str().trim_end_matches('/');
    Ok(export
        .products
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let place = format!("product {}", i + 1);
            let parsed = serde_json::from_value::<ShopifyProduct>(value)
                .map_err(|err| format!("not a Shopify product: {err}"))
                .and_then(|p| {
                    let external_id = match &p.id {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let price = match p.variants.first().map(|v| &v.price) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    let description = p.body_html.as_deref().map(strip_tags);
                    let product_url = format!("{base}/products/{}", p.handle.trim());
                    let category = p
                        .product_type
                        .as_deref()
                        .map(|t| t.to_lowercase().replace([' ', '-'], "_"))
                        .filter(|t| Category::parse(t).is_ok());
                    let in_stock = p.variants.iter().any(|v| v.available.unwrap_or(true));
                    product_input(
                        Fields {
                            external_id: &external_id,
                            name: &p.title,
                            description: description.as_deref(),
                            price: &price,
                            image_url: p.images.first().map(|img| img.src.as_str()),
                            product_url: &product_url,
                            category: category.as_deref(),
                            in_stock: Some(if in_stock { "true" } else { "false" }),
                        },
                        program,
                    )
                });
            Row { place, parsed }
        })
        .collect())
}

/// Text of an HTML fragment: tags dropped, white space collapsed.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_descriptions_become_plain_text() {
        assert_eq!(
            strip_tags("<p>Brightening <b>serum</b>,</p>\n<p>30 ml.</p>"),
            "Brightening serum , 30 ml."
        );
    }

    #[test]
    fn a_row_names_every_bad_field() {
        let fields = Fields {
            external_id: "sku-1",
            name: "",
            description: None,
            price: "12.345",
            image_url: Some(""),
            product_url: "https://glowco.com/p",
            category: Some("perfume"),
            in_stock: Some("maybe"),
        };
        let reason = product_input(fields, None).err().unwrap_or_default();
        for field in ["name", "price", "category", "in_stock"] {
            assert!(reason.contains(field), "{reason}");
        }
        assert!(
            !reason.contains("image_url"),
            "an empty optional cell is absent"
        );
    }
}
