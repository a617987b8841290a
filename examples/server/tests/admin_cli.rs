//! `skinstack-server create-admin` and `import-products`, run as real processes against a
//! fresh, migrated database of their own.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{block_on, FreshDatabase};
use sqlx::{Connection, PgConnection};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn server(database_url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skinstack-server"))
        .env("DATABASE_URL", database_url)
        .env_remove("SKINSTACK_SECRET_KEY")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn migrated() -> FreshDatabase {
    let db = FreshDatabase::create();
    let out = server(&db.url, &["migrate", "up"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn query<T>(url: &str, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut conn = PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows
}

#[test]
fn create_admin_reads_the_password_from_stdin_and_stores_an_argon2id_hash() {
    let db = migrated();
    let out = server(
        &db.url,
        &["create-admin", "--email", "Root@Example.com"],
        "correct horse battery\n",
    );
    assert!(stdout(&out).starts_with("created administrator root@example.com ("));
    let rows: Vec<(String, String, bool)> = block_on(query(
        &db.url,
        "SELECT role, password_hash, is_active FROM users WHERE email = 'root@example.com'",
    ));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "admin");
    assert!(
        rows[0].1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        rows[0].1
    );
    assert!(!rows[0].1.contains("correct horse"));

    // Again: a one-line refusal, no second account.
    let out = server(
        &db.url,
        &["create-admin", "--email", "root@example.com"],
        "correct horse battery\n",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        "skinstack-server: root@example.com is already registered"
    );

    // A short password is refused before anything is written.
    let out = server(
        &db.url,
        &["create-admin", "--email", "x@example.com"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("password must be at least 12 characters"));
    let count: Vec<(i64,)> = block_on(query(&db.url, "SELECT count(*) FROM users"));
    assert_eq!(count[0].0, 1);
}

fn merchant(url: &str) -> String {
    let id = uuid::Uuid::now_v7();
    block_on(async {
        let mut conn = PgConnection::connect(url).await.unwrap();
        sqlx::query(
            "INSERT INTO merchants (id, business_name, website_url) VALUES ($1, 'Glow Co', 'https://glowco.com')",
        )
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
    id.to_string()
}

#[test]
fn import_products_upserts_csv_rows_and_reports_each_rejected_line() {
    let db = migrated();
    let merchant = merchant(&db.url);
    let dir = std::env::temp_dir().join(format!("skinstack-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("catalogue.csv");
    std::fs::write(
        &csv,
        "external_id,name,description,price,image_url,product_url,category,in_stock\n\
         serum-30,Vitamin C Serum,\"Brightening, 30 ml\",38.50,https://cdn.glowco.com/s.jpg,https://glowco.com/products/serum,serum,true\n\
         mask-1,Clay Mask,,12.345,,https://glowco.com/products/mask,mask,true\n\
         toner-1,Rose Toner,,19.00,,https://glowco.com/products/toner,perfume,yes\n\
         spf-50,Daily SPF 50,,24.00,,https://glowco.com/products/spf,Sunscreen,no\n\
         serum-30,Vitamin C Serum (new),,40.00,,https://glowco.com/products/serum,serum,false\n",
    )
    .unwrap();
    let path = csv.to_str().unwrap();
    let out = server(
        &db.url,
        &["import-products", "--merchant", &merchant, path],
        "",
    );
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "imported 2, updated 1, rejected 2", "{lines:?}");
    assert!(
        lines[1].starts_with("rejected line 3: price must have at most 2 decimal places"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("rejected line 4: category must be one of"),
        "{lines:?}"
    );
    let rows: Vec<(String, String, rust_decimal::Decimal, Option<String>, bool)> = block_on(query(
        &db.url,
        "SELECT external_id, name, price, category, in_stock FROM products ORDER BY external_id",
    ));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "serum-30");
    assert_eq!(
        rows[0].1, "Vitamin C Serum (new)",
        "the later row updated it"
    );
    assert_eq!(rows[0].2, rust_decimal::Decimal::new(4000, 2));
    assert!(!rows[0].4);
    assert_eq!(rows[1].0, "spf-50");
    assert_eq!(rows[1].3.as_deref(), Some("sunscreen"));

    // Importing again changes nothing but counts every good row as updated.
    let out = server(
        &db.url,
        &["import-products", "--merchant", &merchant, path],
        "",
    );
    assert!(stdout(&out).starts_with("imported 0, updated 3, rejected 2"));

    // An unknown merchant is one line, and nothing is written.
    let stranger = uuid::Uuid::now_v7().to_string();
    let out = server(
        &db.url,
        &["import-products", "--merchant", &stranger, path],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("no merchant with id"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// external_id, price, description, product_url, image_url, category, in_stock
type ShopifyRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    bool,
);

#[test]
fn import_products_maps_a_shopify_export() {
    let db = migrated();
    let merchant = merchant(&db.url);
    let dir = std::env::temp_dir().join(format!("skinstack-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("products.json");
    std::fs::write(
        &json,
        r#"{"products": [
            {"id": 7001, "title": "Hydra Moisturizer", "body_html": "<p>Rich <b>cream</b></p>",
             "handle": "hydra-moisturizer", "product_type": "Moisturizer",
             "variants": [{"price": "29.00", "available": true}, {"price": "49.00"}],
             "images": [{"src": "https://cdn.shopify.com/hydra.jpg"}]},
            {"id": 7002, "title": "Gift Card", "handle": "gift-card", "product_type": "Gift",
             "variants": [{"price": "25.00", "available": false}], "images": []},
            {"id": 7003, "title": "", "handle": "broken", "variants": []}
        ]}"#,
    )
    .unwrap();
    let out = server(
        &db.url,
        &[
            "import-products",
            "--merchant",
            &merchant,
            json.to_str().unwrap(),
        ],
        "",
    );
    let text = stdout(&out);
    assert!(
        text.starts_with("imported 2, updated 0, rejected 1"),
        "{text}"
    );
    assert!(
        text.contains("rejected product 3: name must not be empty; price"),
        "{text}"
    );
    let rows: Vec<ShopifyRow> = block_on(query(
        &db.url,
        "SELECT external_id, price::text, description, product_url, image_url, category, in_stock \
             FROM products ORDER BY external_id",
    ));
    assert_eq!(rows[0].0, "7001");
    assert_eq!(rows[0].1, "29.00", "the first variant's price");
    assert_eq!(rows[0].2.as_deref(), Some("Rich cream"));
    assert_eq!(rows[0].3, "https://glowco.com/products/hydra-moisturizer");
    assert_eq!(
        rows[0].4.as_deref(),
        Some("https://cdn.shopify.com/hydra.jpg")
    );
    assert_eq!(rows[0].5.as_deref(), Some("moisturizer"));
    assert!(rows[0].6);
    assert_eq!(rows[1].0, "7002");
    assert_eq!(rows[1].5, None, "Gift is not a skincare category");
    assert!(!rows[1].6, "no variant available");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn merchants_verify_and_unverify_set_the_merchants_verification_and_refuse_an_unknown_id() {
    let db = migrated();
    let merchant = merchant(&db.url);
    let verified_at = |url: &str| -> Option<chrono::DateTime<chrono::Utc>> {
        let rows: Vec<(Option<chrono::DateTime<chrono::Utc>>,)> =
            block_on(query(url, "SELECT verified_at FROM merchants"));
        rows[0].0
    };
    assert_eq!(
        verified_at(&db.url),
        None,
        "a new merchant starts unverified"
    );

    let out = server(&db.url, &["merchants", "verify", &merchant], "");
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("merchant {merchant} (Glow Co) is verified since ")),
        "{text}"
    );
    let first = verified_at(&db.url).expect("verified");
    let out = server(&db.url, &["merchants", "verify", &merchant], "");
    stdout(&out);
    assert_eq!(
        verified_at(&db.url),
        Some(first),
        "verifying again keeps the first time"
    );

    let out = server(&db.url, &["merchants", "unverify", &merchant], "");
    assert_eq!(
        stdout(&out).trim(),
        format!("merchant {merchant} (Glow Co) is unverified")
    );
    assert_eq!(verified_at(&db.url), None);

    let stranger = uuid::Uuid::now_v7().to_string();
    let out = server(&db.url, &["merchants", "verify", &stranger], "");
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap().trim(),
        format!("skinstack-server: no merchant {stranger}")
    );
}
