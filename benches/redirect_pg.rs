//! The redirect path's database half, on a table of 100 000 links: the slug lookup a cache
//! miss costs, and writing clicks in one batch versus one `INSERT` per click, in the same run.
//!
//! Builds its own database on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), migrates it, fills it with one
//! `INSERT ... SELECT generate_series`, and drops it at the end, also when a step fails.
//!
//! ```sh
//! cargo bench -p skinstack-benches --bench redirect_pg
//! ```

// A benchmark that cannot set itself up must stop loudly; there is no caller to return to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, Throughput};
use rand::Rng;
use skinstack_core::store::ClickSink;
use skinstack_core::store::LinkRepo;
use skinstack_core::testkit::Fixture;
use skinstack_core::Slug;
use skinstack_core::{Click, LinkResolver, TrackingLink};
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
    criterion.bench_function("resolve miss (100k links)", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 1) % slugs.len();
            let (store, slug) = (&store, &slugs[next]);
            async move { black_box(store.resolve(slug).await.unwrap()) }
        })
    });

    // Clicks spread over 100 links, as a busy minute would spread them.
    let links: Vec<TrackingLink> = runtime.block_on(async {
        let mut links = Vec::new();
        for n in 1..=100 {
            links.push(store.link_by_slug(&slug(n)).await.unwrap());
        }
        links
    });
    let ua =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1";
    let clicks = |n: usize| -> Vec<Click> {
        (0..n)
            .map(|i| {
                Click::new(
                    links[i % links.len()].id,
                    "203.0.113.9".parse().ok(),
                    Some(ua),
                    None,
                )
            })
            .collect()
    };
    // Throughput (clicks/s) is the figure to compare: one statement for 1000 clicks versus one
    // INSERT (and transaction) per click, 100 of them to keep the slow side short.
    const CLICKS: usize = 1000;
    const SINGLE: usize = 100;
    let store = &store;
    let mut group = criterion.benchmark_group("click flush");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CLICKS as u64));
    group.bench_function("one batch statement", |b| {
        b.to_async(&runtime).iter_batched(
            || clicks(CLICKS),
            |batch| async move { store.record_clicks(&batch).await.unwrap() },
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(SINGLE as u64));
    group.bench_function("one insert per click", |b| {
        b.to_async(&runtime).iter_batched(
            || clicks(SINGLE),
            |batch| async move {
                for click in batch.chunks(1) {
                    store.record_clicks(click).await.unwrap();
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    criterion.final_summary();

    runtime.block_on(store.pool().close());
    drop(db);
}
