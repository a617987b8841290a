//! Request counting, latency histograms and the request log, plus the Prometheus text that
//! `/metrics` serves.

use crate::error::InternalCause;
use crate::state::ApiState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Histogram buckets in seconds: from a cached read to a slow password hash.
const BUCKETS: [f64; 11] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Per-route request counts (by status) and latencies, keyed by the matched route template
/// (`/v1/programs/{id}`), never the raw path, so ids cannot explode the label set.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Latency>>,
    api_panics: AtomicU64,
    dashboard_panics: AtomicU64,
}

/// Which router answered: panics are counted per router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The JSON API ([`crate::api`], and routes wrapped with [`crate::observed`]).
    Api,
    /// The dashboard ([`crate::dashboard::router`]).
    Dashboard,
}

impl HttpMetrics {
    fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let key = (method_label(method).to_owned(), route.to_owned());
        // A panic while holding these locks cannot leave a half-updated counter behind that
        // matters more than losing metrics, so a poisoned lock is simply reused.
        {
            let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *requests
                .entry((key.0.clone(), key.1.clone(), status))
                .or_default() += 1;
        }
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let entry = latency.entry(key).or_default();
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        entry.count += 1;
        entry.sum += seconds;
    }

    /// Counts a panic caught on `surface`.
    pub(crate) fn panicked(&self, surface: Surface) {
        self.panic_counter(surface).fetch_add(1, Ordering::Relaxed);
    }

    fn panic_counter(&self, surface: Surface) -> &AtomicU64 {
        match surface {
            Surface::Api => &self.api_panics,
            Surface::Dashboard => &self.dashboard_panics,
        }
    }

    /// How many panics were caught (and answered with a 500) on `surface`.
    pub fn panics(&self, surface: Surface) -> u64 {
        self.panic_counter(surface).load(Ordering::Relaxed)
    }

    /// How many requests `method route` has answered with `status`.
    pub fn requests(&self, method: &str, route: &str, status: u16) -> u64 {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests
            .get(&(method.to_owned(), route.to_owned(), status))
            .copied()
            .unwrap_or(0)
    }
}

/// The request log and metrics middleware: one log line per request with its id, method,
/// route, status and latency; a 500's cause (see [`InternalCause`]) logged with it.
pub(crate) async fn track(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let response = next.run(request).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe(&method, &route, status, elapsed.as_secs_f64());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    match response.extensions().get::<InternalCause>() {
        Some(InternalCause(cause)) => tracing::error!(
            request_id, %method, route, status, latency_ms, cause, "request failed"
        ),
        None => tracing::info!(request_id, %method, route, status, latency_ms, "request"),
    }
    response
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// The method as a label: HTTP's own methods by name, any other as `OTHER`. Clients may send
/// any token as a method, and each would otherwise add series to `/metrics` for good.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("OTHER", |known| known.as_str())
}

/// Label values are route templates and method names, but escape them all the same.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends the store's hold counts: conversions held now (in all and by reason) and voided.
pub(crate) fn render_holds(out: &mut String, counts: &skinstack_core::store::HoldCounts) {
    out.push_str("# HELP skinstack_commissions_held Conversions whose commission is held for review now.\n# TYPE skinstack_commissions_held gauge\n");
    let _ = writeln!(out, "skinstack_commissions_held {}", counts.held);
    out.push_str("# HELP skinstack_commissions_held_by_reason Conversions held now with each reason (one held for two reasons counts under both).\n# TYPE skinstack_commissions_held_by_reason gauge\n");
    for (reason, count) in &counts.held_by_reason {
        let _ = writeln!(
            out,
            "skinstack_commissions_held_by_reason{{reason=\"{}\"}} {count}",
            reason.as_str()
        );
    }
    out.push_str("# HELP skinstack_commissions_voided Conversions whose commission was voided.\n# TYPE skinstack_commissions_voided gauge\n");
    let _ = writeln!(out, "skinstack_commissions_voided {}", counts.voided);
    out.push_str("# HELP skinstack_fraud_signals Conversions on which each fraud signal fired when they were recorded (click_reuse: a spent click id that did not attribute).\n# TYPE skinstack_fraud_signals gauge\n");
    for (signal, count) in &counts.signals {
        let _ = writeln!(
            out,
            "skinstack_fraud_signals{{signal=\"{}\"}} {count}",
            signal.as_str()
        );
    }
}

/// The Prometheus text exposition of everything `state` counts.
pub(crate) fn render(state: &ApiState) -> String {
    let mut out = String::new();
    {
        let requests = state
            .metrics
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP skinstack_http_requests_total API requests answered, by route and status.\n# TYPE skinstack_http_requests_total counter\n");
        for ((method, route, status), count) in requests.iter() {
            let _ = writeln!(
                out,
                "skinstack_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                label(method),
                label(route)
            );
        }
    }
    {
        let latency = state
            .metrics
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP skinstack_http_request_duration_seconds API request latency, by route.\n# TYPE skinstack_http_request_duration_seconds histogram\n");
        for ((method, route), l) in latency.iter() {
            let labels = format!("method=\"{}\",route=\"{}\"", label(method), label(route));
            for (bound, count) in BUCKETS.iter().zip(l.buckets) {
                let _ = writeln!(
                    out,
                    "skinstack_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "skinstack_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\nskinstack_http_request_duration_seconds_sum{{{labels}}} {}\nskinstack_http_request_duration_seconds_count{{{labels}}} {}",
                l.count, l.sum, l.count
            );
        }
    }
    out.push_str("# HELP skinstack_http_panics_total Handler panics caught and answered with a 500, by router.\n# TYPE skinstack_http_panics_total counter\n");
    let redirect_panics = state
        .redirect_metrics
        .as_ref()
        .map(|r| r.panics.load(Ordering::Relaxed));
    for (router, value) in [
        ("api", Some(state.metrics.panics(Surface::Api))),
        ("dashboard", Some(state.metrics.panics(Surface::Dashboard))),
        ("redirect", redirect_panics),
    ] {
        if let Some(value) = value {
            let _ = writeln!(
                out,
                "skinstack_http_panics_total{{router=\"{router}\"}} {value}"
            );
        }
    }
    if let Some(redirects) = &state.redirect_metrics {
        out.push_str("# HELP skinstack_redirects_total Redirect answers by outcome.\n# TYPE skinstack_redirects_total counter\n");
        for (outcome, value) in [
            ("redirected", &redirects.redirected),
            ("not_found", &redirects.not_found),
            ("gone", &redirects.gone),
            ("unavailable", &redirects.unavailable),
            ("rate_limited", &redirects.rate_limited),
        ] {
            let _ = writeln!(
                out,
                "skinstack_redirects_total{{outcome=\"{outcome}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
    }
    state.webhook_metrics.render(&mut out);
    if let Some(clicks) = &state.clicks {
        let m = clicks.metrics();
        let load = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "skinstack_click_buffer_depth",
            "Clicks waiting in the buffer.",
            clicks.depth() as u64,
        );
        counter(
            &mut out,
            "skinstack_clicks_enqueued_total",
            "Clicks accepted into the buffer.",
            load(&m.enqueued),
        );
        counter(
            &mut out,
            "skinstack_clicks_flushed_total",
            "Clicks written to the store.",
            load(&m.flushed),
        );
        counter(
            &mut out,
            "skinstack_click_backpressure_waits_total",
            "Times a redirect waited for room in a full buffer.",
            load(&m.backpressure_waits),
        );
        counter(
            &mut out,
            "skinstack_click_batches_total",
            "Batches written.",
            load(&m.batches),
        );
        counter(
            &mut out,
            "skinstack_click_flush_failures_total",
            "Failed batch writes (retried).",
            load(&m.flush_failures),
        );
        counter(
            &mut out,
            "skinstack_clicks_dropped_total",
            "Clicks lost because the buffer stayed full past the wait and no journal took them.",
            load(&m.dropped),
        );
        counter(
            &mut out,
            "skinstack_clicks_spooled_total",
            "Clicks that found the buffer full and went to the journal alone, to be written from there.",
            load(&m.spooled),
        );
        counter(
            &mut out,
            "skinstack_clicks_set_aside_total",
            "Clicks the store refused for good (constraint or data errors), set aside so the flusher goes on.",
            load(&m.set_aside),
        );
        counter(
            &mut out,
            "skinstack_click_journal_failures_total",
            "Clicks the journal failed to append (buffered anyway) or spool (dropped).",
            load(&m.journal_failures),
        );
        gauge(
            &mut out,
            "skinstack_click_last_batch_size",
            "Clicks in the last batch written.",
            load(&m.last_batch_size),
        );
        gauge(
            &mut out,
            "skinstack_click_last_flush_lag_milliseconds",
            "Age of the oldest click in the last batch when it was written.",
            load(&m.last_flush_lag_ms),
        );
    }
    out
}
