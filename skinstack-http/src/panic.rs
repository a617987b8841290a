//! No panic reaches a client: every router this crate builds is wrapped in tower-http's
//! [`CatchPanicLayer`], which turns a panicking handler into an ordinary `500` (the JSON error
//! on the API, the dashboard's error page, the small HTML page on `/{slug}`) instead of
//! dropping the connection. Each caught panic is counted for `/metrics`, and its message goes
//! to the request log as the 500's [`InternalCause`](crate::error::InternalCause), never to
//! the client.

use axum::response::Response;
use axum::Router;
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// The text of a panic's payload: what `panic!` was given, when it was a string.
pub fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Wraps every route of `router` (and its fallback) so that a panic is answered with
/// `respond(cause)`: the 500 for this router's audience, which also counts the panic. `cause`
/// is the panic's message, for the log only.
pub(crate) fn catch<S, R>(router: Router<S>, respond: R) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    R: Fn(String) -> Response + Clone + Send + Sync + 'static,
{
    router.layer(CatchPanicLayer::custom(
        move |payload: Box<dyn Any + Send + 'static>| {
            respond(format!("panic: {}", message(payload.as_ref())))
        },
    ))
}
