//! A thin [axum] adapter for SkinStack: routers to mount in your own app.
//!
//! Handlers only parse the request, call `skinstack-core` and map the result; every rule lives
//! in core. Start with [`redirect::router`], the shopper-facing `GET /{slug}`:
//!
//! ```no_run
//! use std::sync::Arc;
//! use skinstack_core::{ClickRecorder, FlushConfig, MemoryStore};
//! use skinstack_http::redirect::{self, RedirectState};
//!
//! # async fn run() -> std::io::Result<()> {
//! let store = MemoryStore::new();
//! let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
//! let app = axum::Router::new()
//!     .route("/hello", axum::routing::get(|| async { "your own route" }))
//!     .merge(redirect::router(RedirectState::new(Arc::new(store), recorder)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! flusher.shutdown(std::time::Duration::from_secs(10)).await.ok();
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client_ip;
pub mod preview;
pub mod redirect;
