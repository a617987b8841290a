//! The stylesheet and the one script, embedded in the binary.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Where pages link the stylesheet; the version in the name lets it be cached for long, so
/// it goes up with every change to the stylesheet.
pub(super) const STYLESHEET: &str = "/dashboard/assets/app-2.css";
/// Where pages load the script from.
pub(super) const SCRIPT: &str = "/dashboard/assets/app-1.js";

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

pub(super) async fn serve(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "app-2.css" => ("text/css; charset=utf-8", CSS),
        "app-1.js" => ("text/javascript; charset=utf-8", JS),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response()
}
