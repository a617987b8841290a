//! Click-flush throughput against a real database, for `scripts/bench-scale`: writes batches of
//! shopper clicks through `PgStore::record_clicks` (the flusher's one statement per batch:
//! insert, count, roll up) one after another, as the single flusher does, and prints
//! `flush clicks_per_s=<n> batches=<n> batch=<n> seconds=<s>`.
//!
//! `DATABASE_URL=... flush-throughput [seconds] [batch]` (defaults 10 and 2000, the flusher's
//! largest batch) over the links already in the database.

use skinstack_core::store::ClickSink;
use skinstack_core::{Click, LinkId};
use skinstack_pg::PgStore;
use std::time::{Duration, Instant};

const AGENT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Safari/604.1";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let batch: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2_000);
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    let pool = sqlx::PgPool::connect(&url).await?;
    let links: Vec<LinkId> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM tracking_links ORDER BY id")
            .fetch_all(&pool)
            .await?
            .into_iter()
            .map(LinkId::from_uuid)
            .collect();
    if links.is_empty() {
        return Err("the database has no links".into());
    }
    let store = PgStore::new(pool, None);
    let mut next = 0usize;
    let mut clicks = Vec::with_capacity(batch);
    let (mut written, mut batches) = (0u64, 0u64);
    let started = Instant::now();
    let budget = Duration::from_secs(seconds);
    while started.elapsed() < budget {
        clicks.clear();
        for _ in 0..batch {
            // Round-robin over the links: every batch touches as many links as it can, the
            // flusher's worst case for the counter updates and roll-ups.
            clicks.push(Click::new(
                links[next % links.len()],
                None,
                Some(AGENT),
                None,
            ));
            next += 1;
        }
        store.record_clicks(&clicks).await?;
        written += clicks.len() as u64;
        batches += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "flush clicks_per_s={:.0} batches={batches} batch={batch} seconds={elapsed:.1}",
        written as f64 / elapsed
    );
    Ok(())
}
