//! Embedding SkinStack in an axum app of your own: your routes, SkinStack's API under `/v1`
//! and its redirect at `/{slug}`, one PostgreSQL pool shared by all of them.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run -p skinstack-embed-example
//! ```

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use skinstack_core::tracking::redirect::CacheConfig;
use skinstack_core::{CachedResolver, ClickRecorder, FlushConfig};
use skinstack_http::redirect::{self, RedirectState};
use skinstack_http::ApiState;
use skinstack_pg::{PgStore, MIGRATOR};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Your app's own state: here just the pool, which SkinStack uses too.
#[derive(Clone)]
struct AppState {
    pool: PgPool,
}

/// One of your own routes, querying SkinStack's tables through the shared pool.
async fn stats(State(app): State<AppState>) -> Result<String, String> {
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM tracking_links")
        .fetch_one(&app.pool)
        .await
        .map_err(|err| err.to_string())?;
    Ok(format!("{links} tracking links\n"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    let pool = PgPool::connect(&url).await?;
    MIGRATOR.run(&pool).await?;

    // One store over the shared pool; no credential key in this example (set one with
    // `skinstack_pg::Cipher::from_env()` to store merchants' API keys).
    let store = PgStore::new(pool.clone(), None);
    let resolver = Arc::new(CachedResolver::new(store.clone(), CacheConfig::default()));
    let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
    let redirects = RedirectState::new(resolver, recorder.clone());
    let api = ApiState::new(Arc::new(store))
        .with_redirect_metrics(redirects.metrics().clone())
        .with_click_recorder(recorder);

    let app = Router::new()
        .route("/", get(|| async { "my skincare app\n" }))
        .route("/internal/stats", get(stats))
        .with_state(AppState { pool })
        // SkinStack's routers carry their own state: merge them as they are. The API and the
        // dashboard go first so their static paths win over the redirect's `/{slug}`.
        .merge(skinstack_http::api(api.clone()))
        .merge(skinstack_http::dashboard::router(api))
        .merge(redirect::router(redirects));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Write the clicks still in the buffer before exiting.
    flusher.shutdown(Duration::from_secs(10)).await.ok();
    Ok(())
}
