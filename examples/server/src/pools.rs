//! One PostgreSQL pool per kind of work, so that no route can starve another: anonymous
//! redirect traffic (random slugs, preview cards) can take every connection of the redirect's
//! pool, and clicks are still written and logins still answered.

use anyhow::Context;
use clap::Args;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::time::Duration;

/// `serve`'s pool sizes (connections at most, each pool apart).
#[derive(Debug, Clone, Copy, Args)]
pub struct PoolArgs {
    /// Connections for the API, the dashboard and webhooks.
    #[arg(long, env = "SKINSTACK_API_POOL", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub api_pool: u32,

    /// Connections for the redirect's reads: links not in the cache and preview cards.
    #[arg(long, env = "SKINSTACK_REDIRECT_POOL", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub redirect_pool: u32,

    /// Connections for the click flusher (it writes one batch at a time).
    #[arg(long, env = "SKINSTACK_FLUSH_POOL", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub flush_pool: u32,
}

/// The server's pools. Each connection names its pool in `application_name`
/// (`skinstack-api`, `skinstack-redirect`, `skinstack-flush`, `skinstack-listen`), so
/// `pg_stat_activity` shows who holds what.
pub struct Pools {
    /// The API, the dashboard, webhooks, migrations and start-up checks.
    pub api: PgPool,
    /// Redirect cache misses, preview cards, cache warming.
    pub redirect: PgPool,
    /// The click flusher and the journal's replay.
    pub flush: PgPool,
    /// The change listener's one connection, held for as long as it listens.
    pub listen: PgPool,
}

impl Pools {
    /// Connects the API pool (failing if the database cannot be reached) and prepares the
    /// others, which connect on first use.
    pub async fn connect(url: &str, sizes: PoolArgs) -> anyhow::Result<Pools> {
        const CONTEXT: &str = "cannot connect to the database at DATABASE_URL";
        let options: PgConnectOptions = url.parse().context(CONTEXT)?;
        let pool = |name: &str, size: u32| {
            (
                PgPoolOptions::new()
                    .max_connections(size)
                    // Fail a flush or a lookup fast while the database is away; the flusher
                    // retries, a redirect answers 503.
                    .acquire_timeout(Duration::from_secs(3)),
                options.clone().application_name(name),
            )
        };
        let (api, api_options) = pool("skinstack-api", sizes.api_pool);
        let api = api.connect_with(api_options).await.context(CONTEXT)?;
        let lazy = |name: &str, size: u32| {
            let (pool, options) = pool(name, size);
            pool.connect_lazy_with(options)
        };
        Ok(Pools {
            api,
            redirect: lazy("skinstack-redirect", sizes.redirect_pool),
            flush: lazy("skinstack-flush", sizes.flush_pool),
            listen: lazy("skinstack-listen", 1),
        })
    }
}
