//! The redirect path's database half: `PgStore::link_by_slug` on a table of 100 000 links.
//!
//! Builds its own database on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), migrates it, fills it with one
//! `INSERT ... SELECT generate_series`, and drops it at the end, also when a step fails.
//!
//! ```sh
//! cargo bench -p skinstack-benches --bench slug_lookup_pg
//! ```

// A benchmark that cannot set itself up must stop loudly; there is no caller to return to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::Criterion;
use rand::Rng;
use skinstack_core::repo::LinkRepo;
use skinstack_core::testkit::Fixture;
use skinstack_core::Slug;
use skinstack_pg::{Cipher, PgStore, MIGRATOR};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection};
use std::hint::black_box;

const LINKS: u32 = 100_000;

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn admin(sql: &str) {
    let mut conn = PgConnection::connect(&admin_url())
        .await
        .expect("DATABASE_URL's server answers");
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

/// The benchmark's own database, dropped when this goes out of scope.
struct BenchDatabase {
    name: String,
    url: String,
    runtime: tokio::runtime::Handle,
}

impl BenchDatabase {
    fn create(runtime: &tokio::runtime::Runtime) -> Self {
        let name = format!("skinstack_bench_{}", uuid::Uuid::new_v4().simple());
        runtime.block_on(admin(&format!("CREATE DATABASE {name}")));
        let mut url = url::Url::parse(&admin_url()).unwrap();
        url.set_path(&name);
        Self {
            name,
            url: url.into(),
            runtime: runtime.handle().clone(),
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        self.runtime.block_on(admin(&sql));
    }
}

/// The `n`-th seeded slug, as the INSERT below spells it.
fn slug(n: u32) -> Slug {
    Slug::parse(&format!("l{n:06}")).unwrap()
}

async fn seed(store: &PgStore) {
    let f = Fixture::create(store).await;
    sqlx::query(
        "INSERT INTO tracking_links (slug, influencer_id, program_id, product_id, \
         destination_url, campaign_code) \
         SELECT 'l' || lpad(g::text, 6, '0'), $1, $2, $3, $4, 'ANA20' \
         FROM generate_series(1, $5) AS g",
    )
    .bind(f.influencer.id.as_uuid())
    .bind(f.program.id.as_uuid())
    .bind(f.product.id.as_uuid())
    .bind(f.product.product_url.as_str())
    .bind(i32::try_from(LINKS).unwrap())
    .execute(store.pool())
    .await
    .unwrap();
    // Fresh statistics, as a long-running database would have.
    sqlx::query("ANALYZE tracking_links")
        .execute(store.pool())
        .await
        .unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = BenchDatabase::create(&runtime);
    let store = runtime.block_on(async {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&db.url)
            .await
            .unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        let key = Cipher::from_key_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let store = PgStore::new(pool, Some(key));
        seed(&store).await;
        // Warm up: open every pool connection and let each prepare the lookup statement.
        let warm: Vec<_> = (0..64)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.link_by_slug(&slug(i + 1)).await })
            })
            .collect();
        for task in warm {
            task.await.unwrap().unwrap();
        }
        store
    });

    // Slugs drawn up front so the measurement holds only the lookup.
    let mut rng = rand::rng();
    let slugs: Vec<Slug> = (0..4096)
        .map(|_| slug(rng.random_range(1..=LINKS)))
        .collect();

    let mut criterion = Criterion::default().configure_from_args();
    let mut next = 0usize;
    criterion.bench_function("link_by_slug (100k links)", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 1) % slugs.len();
            let (store, slug) = (&store, &slugs[next]);
            async move { black_box(store.link_by_slug(slug).await.unwrap()) }
        })
    });
    criterion.final_summary();

    runtime.block_on(store.pool().close());
    drop(db);
}
