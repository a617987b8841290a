//! The ceiling for the load benchmark: a bare axum handler answering a fixed `302`, on the same
//! runtime settings as `skinstack-server`. `bare-redirect 127.0.0.1:8081`

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let app = Router::new().route(
        "/{slug}",
        get(|| async {
            (StatusCode::FOUND, [(header::LOCATION, "https://glowco.com/products/vitamin-c-serum?utm_source=skinstack&utm_medium=affiliate")])
        }),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await
}
