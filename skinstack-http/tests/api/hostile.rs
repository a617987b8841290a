//! Hostile requests over the whole app as the reference server mounts it (the API merged with
//! the redirect router, on the in-memory store): random and odd methods, the real route
//! templates (from the OpenAPI document) with hostile segments, queries, headers, bearer
//! tokens and bodies, including valid sessions of every role so that the handlers behind
//! authentication run too. Whatever arrives, the app answers: never a 5xx, never a panic
//! (proptest catches one and fails the case), and every 4xx explains itself — JSON with a
//! non-empty `message` from the API; from the shopper-facing `/{slug}` router the same JSON
//! when the client asks for JSON, else a small HTML page (shoppers read it in a browser).

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

/// Cases per property: enough to find the cheap mistakes every run, few enough for CI.
const CASES: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Influencer,
    Merchant,
    Admin,
}

/// What the generated requests refer to, created through the API once per property.
struct World {
    influencer: (String, String),
    merchant: (String, String),
    admin: (String, String),
    program: String,
    product: String,
    slug: String,
    /// Ids any `{param}` may take: real ones of several kinds, never the three accounts'
    /// own (an admin deactivating them would leave nothing to test past authentication).
    ids: Vec<String>,
}

impl World {
    async fn new(app: &TestApp) -> Self {
        let email = |role: &str| format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let register = |email: String, role: &'static str| async move {
            let reply = app
                .call(
                    Method::POST,
                    "/v1/auth/register",
                    None,
                    Some(json!({"email": email, "password": PASSWORD, "role": role})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            (app.login(&email).await, email)
        };
        let influencer = register(email("influencer"), "influencer").await;
        app.create(&influencer.0, "/v1/influencer", influencer_profile())
            .await;
        let merchant = register(email("merchant"), "merchant").await;
        app.create(&merchant.0, "/v1/merchant", merchant_profile())
            .await;
        let (admin_token, _, admin_email) = app.admin().await;
        let program = app
            .create(&merchant.0, "/v1/programs", program_json())
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let product = app
            .create(&merchant.0, "/v1/products", product_json(Some(&program)))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let link = app
            .create(
                &influencer.0,
                "/v1/links",
                json!({"program_id": program, "product_id": product}),
            )
            .await;
        let (other, spare_user) = app.account("merchant").await;
        let spare_merchant = app.create(&other, "/v1/merchant", merchant_profile()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let other_program = app.create(&other, "/v1/programs", program_json()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let ids = vec![
            program.clone(),
            product.clone(),
            link["id"].as_str().unwrap().to_owned(),
            spare_user,
            spare_merchant,
            other_program,
        ];
        Self {
            influencer,
            merchant,
            admin: (admin_token, admin_email),
            program,
            product,
            slug: link["slug"].as_str().unwrap().to_owned(),
            ids,
        }
    }

    fn account(&self, role: Role) -> &(String, String) {
        match role {
            Role::Influencer => &self.influencer,
            Role::Merchant => &self.merchant,
            Role::Admin => &self.admin,
        }
    }

    /// A valid body for `method template`, for the routes that take one; mutations then
    /// make it hostile field by field, so the request gets past the JSON extractor.
    fn template(&self, method: &Method, route: &str) -> Option<Value> {
        let utm = json!({"source": "ig", "medium": "story", "campaign": "spring"});
        Some(match (method.as_str(), route) {
            ("POST", "/v1/auth/register") => json!({
                "email": format!("new-{}@example.com", uuid::Uuid::new_v4().simple()),
                "password": PASSWORD,
                "role": "influencer",
            }),
            ("POST", "/v1/auth/login") => {
                json!({"email": self.influencer.1, "password": PASSWORD})
            }
            ("POST" | "PATCH", "/v1/influencer") => influencer_profile(),
            ("POST" | "PATCH", "/v1/merchant") => merchant_profile(),
            ("POST", "/v1/programs") | ("PATCH", "/v1/programs/{id}") => program_json(),
            ("POST", "/v1/products") => product_json(Some(&self.program)),
            ("PATCH", "/v1/products/{id}") => {
                let mut body = product_json(Some(&self.program));
                body.as_object_mut().unwrap().remove("external_id");
                body
            }
            ("POST", "/v1/links") => json!({
                "program_id": self.program,
                "product_id": self.product,
                "destination_url": "https://glowco.com/serum",
                "slug": format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
                "campaign_code": "SPRING",
                "utm": utm,
                "expires_at": "2999-01-01T00:00:00Z",
            }),
            ("PATCH", "/v1/links/{id}") => {
                json!({"is_active": true, "expires_at": null, "utm": utm})
            }
            _ => return None,
        })
    }
}

/// The API's operations as the served OpenAPI document lists them: (method, template).
fn routes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(skinstack_http::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
            .contains(&method)
            {
                routes.push((method, path.clone()));
            }
        }
    }
    assert!(routes.len() > 20, "{routes:?}");
    routes
}

// ---- what the strategies generate --------------------------------------------------------

#[derive(Debug, Clone)]
enum MethodPlan {
    /// The route's own method.
    Own,
    Other(Method),
}

#[derive(Debug, Clone)]
enum SegmentPlan {
    /// One of the world's ids.
    Real(usize),
    RandomUuid(u128),
    /// Text, percent-encoded into the path.
    Text(String),
    /// Already URI-safe, but hostile (`..`, bad escapes, encoded NUL or slash).
    Raw(&'static str),
}

#[derive(Debug, Clone)]
enum PathPlan {
    /// A route template with its parameters filled.
    Route {
        params: Vec<SegmentPlan>,
        tweak: Tweak,
    },
    /// One segment: the shopper-facing `/{slug}`.
    Slug(Option<SegmentPlan>),
    /// Any segments at all.
    Random(Vec<SegmentPlan>),
}

#[derive(Debug, Clone)]
enum Tweak {
    None,
    TrailingSlash,
    DoubleSlashes,
    Append(SegmentPlan),
    DotSegments,
    UpperCase,
}

#[derive(Debug, Clone)]
enum AuthPlan {
    Anonymous,
    Session(Role),
    /// A raw `Authorization` value of a bad shape.
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
enum BodyPlan {
    Empty,
    Bytes(Vec<u8>),
    Json(Value),
    /// `[[[[…]]]]` this deep.
    Nested(usize),
    /// The route's template with these changes (random JSON for routes without one).
    Template(Vec<Mutation>),
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Replaces the n-th field (modulo the field count).
    Set(usize, Value),
    Drop(usize),
    Add(String, Value),
}

#[derive(Debug, Clone)]
struct Plan {
    route: usize,
    method: MethodPlan,
    path: PathPlan,
    query: Option<Vec<(String, String)>>,
    auth: AuthPlan,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: BodyPlan,
}

// ---- strategies ---------------------------------------------------------------------------

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        2 => "(?s).{0,16}",
        1 => (1usize..9_000).prop_map(|n| "é".repeat(n)),
        3 => prop::sample::select(vec![
            "",
            " ",
            "'; DROP TABLE users; --",
            "\" OR 1=1 --",
            "%",
            "_",
            "\\",
            "\0",
            "a\0b",
            "..",
            "../../etc/passwd",
            "‘smart’ “quotes” ＇fullwidth＇",
            "\u{202e}gnp.exe",
            "𝔤𝔩𝔬𝔴 🧴",
            "<script>alert(1)</script>",
            "a\r\nSet-Cookie: x=1",
            "null",
            "NaN",
            "-1",
            "1e400",
            "99999999999999999999999999999999.99",
            "0.000000000000000000000000001",
            "2999-13-45T99:99:99Z",
            "00000000-0000-0000-0000-000000000000",
        ])
        .prop_map(str::to_owned),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(366),
            json!(4_294_967_296u64),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e308),
            json!(-0.0),
            json!(0.005),
        ]),
        hostile_text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{0,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn segment(real_weight: u32) -> impl Strategy<Value = SegmentPlan> {
    prop_oneof![
        real_weight => (0usize..6).prop_map(SegmentPlan::Real),
        1 => any::<u128>().prop_map(SegmentPlan::RandomUuid),
        3 => hostile_text().prop_map(SegmentPlan::Text),
        2 => prop::sample::select(vec![
            "", ".", "..", "%", "%zz", "%c3%28", "%00", "%2F", "%2e%2e", "..%2F..%2F",
            "%ff%fe", "%E2%80%AE", "a;b=c", "@", "%20", "+", "~",
        ])
        .prop_map(SegmentPlan::Raw),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        prop::sample::select(vec![
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
            Method::TRACE,
            Method::CONNECT,
        ]),
        prop::sample::select(vec!["PROPFIND", "M-SEARCH", "get", "FOO", "BREW", "X"])
            .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
        "[A-Za-z!#$%&'*+.^_`|~-]{1,20}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

fn path(authenticated: bool) -> impl Strategy<Value = PathPlan> {
    // With sessions, most requests should reach a handler: real ids, untouched templates.
    let (as_is, real, route_weight) = if authenticated {
        (60, 24, 16)
    } else {
        (12, 3, 4)
    };
    let tweak = prop_oneof![
        as_is => Just(Tweak::None),
        1 => Just(Tweak::TrailingSlash),
        1 => Just(Tweak::DoubleSlashes),
        1 => segment(3).prop_map(Tweak::Append),
        1 => Just(Tweak::DotSegments),
        1 => Just(Tweak::UpperCase),
    ];
    let route = (prop::collection::vec(segment(real), 2), tweak)
        .prop_map(|(params, tweak)| PathPlan::Route { params, tweak });
    prop_oneof![
        route_weight => route,
        1 => prop::option::of(segment(3)).prop_map(PathPlan::Slug),
        1 => prop::collection::vec(segment(3), 0..5).prop_map(PathPlan::Random),
    ]
}

fn auth(authenticated: bool) -> impl Strategy<Value = AuthPlan> {
    let session = prop::sample::select(vec![Role::Influencer, Role::Merchant, Role::Admin])
        .prop_map(AuthPlan::Session);
    let raw = prop_oneof![
        prop::sample::select(vec![
            "Bearer",
            "Bearer ",
            "bearer   ",
            "Basic dXNlcjpwYXNzd29yZA==",
            "Token abc",
            "Bearer not-a-token",
            "Bearer '; DROP TABLE sessions; --",
            "Bearer\tabc",
            "Bearer a b c",
        ])
        .prop_map(|v| v.as_bytes().to_vec()),
        "Bearer [ -~]{0,80}".prop_map(String::into_bytes),
        (1usize..20_000).prop_map(|n| format!("Bearer {}", "A".repeat(n)).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    if authenticated {
        prop_oneof![1 => Just(AuthPlan::Anonymous), 8 => session, 1 => raw.prop_map(AuthPlan::Raw)]
            .boxed()
    } else {
        prop_oneof![2 => Just(AuthPlan::Anonymous), 1 => session, 3 => raw.prop_map(AuthPlan::Raw)]
            .boxed()
    }
}

fn body(authenticated: bool) -> impl Strategy<Value = BodyPlan> {
    let mutation = prop_oneof![
        // Strings of the right type but hostile content reach validation and the store.
        5 => (any::<usize>(), hostile_text()).prop_map(|(i, v)| Mutation::Set(i, Value::from(v))),
        3 => (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Set(i, v)),
        1 => any::<usize>().prop_map(Mutation::Drop),
        1 => ("[a-z_]{1,12}", json_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ];
    let template = prop::collection::vec(mutation, 0..3).prop_map(BodyPlan::Template);
    let template_weight = if authenticated { 24 } else { 3 };
    prop_oneof![
        1 => Just(BodyPlan::Empty),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(BodyPlan::Bytes),
        2 => json_value().prop_map(BodyPlan::Json),
        1 => (1usize..600).prop_map(BodyPlan::Nested),
        template_weight => template,
    ]
}

/// `with_bodies` are the indices of the routes that take a body: with sessions, half the
/// requests go to them.
fn plan(
    routes: usize,
    with_bodies: Vec<usize>,
    authenticated: bool,
) -> impl Strategy<Value = Plan> {
    let route = if authenticated {
        prop_oneof![0..routes, prop::sample::select(with_bodies)].boxed()
    } else {
        (0..routes).boxed()
    };
    let own = if authenticated { 20 } else { 4 };
    let method_plan =
        prop_oneof![own => Just(MethodPlan::Own), 1 => method().prop_map(MethodPlan::Other)];
    let query = prop::option::weighted(
        0.3,
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "limit",
                    "after",
                    "program_id",
                    "category",
                    "in_stock",
                    "from",
                    "to",
                    "status",
                    "utm_source",
                    "x",
                    "",
                ])
                .prop_map(str::to_owned),
                hostile_text(),
            ),
            0..4,
        ),
    );
    let (json, other) = if authenticated { (12, 1) } else { (2, 1) };
    let content_type = prop::option::weighted(
        0.9,
        prop_oneof![
            json => prop::sample::select(vec![
                "application/json",
                "application/json; charset=utf-8",
            ]),
            other => prop::sample::select(vec![
                "application/JSON",
                "application/problem+json",
                "text/plain",
                "text/html",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/jsonx",
                "application/json; charset=\"",
                ";;;",
            ]),
        ],
    );
    let accept = prop::option::of(prop::sample::select(vec![
        "application/json",
        "text/html",
        "*/*",
        "text/html,application/json;q=0.9",
        "image/png",
    ]));
    let headers = prop::collection::vec(
        (
            prop::sample::select(vec![
                "x-forwarded-for",
                "x-real-ip",
                "forwarded",
                "x-request-id",
                "user-agent",
                "referer",
                "cookie",
                "origin",
                "content-encoding",
                "content-length",
                "expect",
                "range",
                "if-none-match",
            ]),
            prop_oneof![
                hostile_text().prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..32),
                (1usize..16_000).prop_map(|n| vec![b'9'; n]),
            ],
        ),
        0..3,
    );
    (
        (route, method_plan, path(authenticated), query),
        (
            auth(authenticated),
            content_type,
            accept,
            headers,
            body(authenticated),
        ),
    )
        .prop_map(
            |((route, method, path, query), (auth, content_type, accept, headers, body))| Plan {
                route,
                method,
                path,
                query,
                auth,
                content_type,
                accept,
                headers,
                body,
            },
        )
}

// ---- turning a plan into a request --------------------------------------------------------

/// Percent-encodes everything but unreserved characters and a few sub-delimiters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~!$'()*,;:@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn render_segment(world: &World, segment: &SegmentPlan) -> String {
    match segment {
        SegmentPlan::Real(i) => world.ids[i % world.ids.len()].clone(),
        SegmentPlan::RandomUuid(n) => uuid::Uuid::from_u128(*n).to_string(),
        SegmentPlan::Text(text) => encode(text),
        SegmentPlan::Raw(raw) => (*raw).to_owned(),
    }
}

fn render_path(world: &World, template: &str, plan: &PathPlan) -> String {
    match plan {
        PathPlan::Route { params, tweak } => {
            let mut params = params.iter();
            let mut path = template
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        params
                            .next()
                            .map_or_else(String::new, |p| render_segment(world, p))
                    } else {
                        part.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            match tweak {
                Tweak::None => {}
                Tweak::TrailingSlash => path.push('/'),
                Tweak::DoubleSlashes => path = path.replace('/', "//"),
                Tweak::Append(segment) => {
                    path = format!("{path}/{}", render_segment(world, segment));
                }
                Tweak::DotSegments => path = format!("/v1/..{path}/."),
                Tweak::UpperCase => path = path.to_uppercase(),
            }
            path
        }
        PathPlan::Slug(None) => format!("/{}", world.slug),
        PathPlan::Slug(Some(segment)) => format!("/{}", render_segment(world, segment)),
        PathPlan::Random(segments) => {
            let segments: Vec<String> = segments.iter().map(|s| render_segment(world, s)).collect();
            format!("/{}", segments.join("/"))
        }
    }
}

fn render_body(world: &World, method: &Method, route: &str, plan: &BodyPlan) -> Vec<u8> {
    match plan {
        BodyPlan::Empty => Vec::new(),
        BodyPlan::Bytes(bytes) => bytes.clone(),
        BodyPlan::Json(value) => value.to_string().into_bytes(),
        BodyPlan::Nested(depth) => {
            format!("{}{}", "[".repeat(*depth), "]".repeat(*depth)).into_bytes()
        }
        BodyPlan::Template(mutations) => {
            let mut body = world.template(method, route).unwrap_or_else(|| json!({}));
            if let Some(fields) = body.as_object_mut() {
                for mutation in mutations {
                    let keys: Vec<String> = fields.keys().cloned().collect();
                    match mutation {
                        Mutation::Set(i, value) if !keys.is_empty() => {
                            fields.insert(keys[i % keys.len()].clone(), value.clone());
                        }
                        Mutation::Drop(i) if !keys.is_empty() => {
                            fields.remove(&keys[i % keys.len()]);
                        }
                        Mutation::Add(key, value) => {
                            fields.insert(key.clone(), value.clone());
                        }
                        _ => {}
                    }
                }
            }
            body.to_string().into_bytes()
        }
    }
}

/// `bytes` without those no header value may hold (controls other than tab, DEL): hyper
/// refuses such headers before an app sees them. Bytes over 0x7f (obs-text) stay.
fn header_value(bytes: &[u8]) -> HeaderValue {
    let kept: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f))
        .collect();
    HeaderValue::from_bytes(&kept).unwrap()
}

/// The request, or `None` if the plan does not make a valid HTTP request (a header value
/// with a control character, say): hyper would never hand the app such a request.
async fn request(
    app: &TestApp,
    world: &World,
    routes: &[(Method, String)],
    plan: &Plan,
) -> Option<Request<Body>> {
    let (own_method, template) = &routes[plan.route];
    let method = match &plan.method {
        MethodPlan::Own => own_method.clone(),
        MethodPlan::Other(method) => method.clone(),
    };
    let mut uri = render_path(world, template, &plan.path);
    if let Some(query) = &plan.query {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        uri = format!("{uri}?{}", pairs.join("&"));
    }
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    match &plan.auth {
        AuthPlan::Anonymous => {}
        AuthPlan::Session(role) => {
            let (token, email) = world.account(*role);
            // Logging out spends the token: give it one of its own.
            let token = if template == "/v1/auth/logout" {
                app.login(email).await
            } else {
                token.clone()
            };
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        AuthPlan::Raw(raw) => {
            builder = builder.header(header::AUTHORIZATION, header_value(raw));
        }
    }
    if let Some(content_type) = plan.content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(accept) = plan.accept {
        builder = builder.header(header::ACCEPT, accept);
    }
    for (name, value) in &plan.headers {
        builder = builder.header(HeaderName::from_static(name), header_value(value));
    }
    let body = render_body(world, &method, template, &plan.body);
    builder.body(Body::from(body)).ok()
}

// ---- the property -------------------------------------------------------------------------

/// Whether the shopper-facing router answers `path`: one non-empty segment the API does not
/// claim.
fn is_slug_path(path: &str, api_paths: &[String]) -> bool {
    let rest = path.strip_prefix('/').unwrap_or(path);
    !rest.is_empty() && !rest.contains('/') && !api_paths.iter().any(|p| p == path)
}

fn check(
    request: &Request<Body>,
    reply: &Reply,
    api_paths: &[String],
) -> Result<(), TestCaseError> {
    let what = format!(
        "{} {} ({:?}) answered {} {:?}: {}",
        request.method(),
        request.uri(),
        request.headers(),
        reply.status,
        reply.headers,
        reply.text.chars().take(300).collect::<String>()
    );
    prop_assert!(!reply.status.is_server_error(), "{what}");
    if !reply.status.is_client_error() {
        return Ok(());
    }
    let content_type = reply
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let asked_json = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let head = request.method() == Method::HEAD;
    if content_type.starts_with("text/html") {
        prop_assert!(
            is_slug_path(request.uri().path(), api_paths) && !asked_json,
            "an HTML error outside the shopper's /{{slug}}: {what}"
        );
        prop_assert!(head || reply.text.contains("<p"), "{what}");
    } else {
        prop_assert_eq!(content_type, "application/json", "{}", what);
        if !head {
            let message = reply.json["message"].as_str().unwrap_or_default();
            prop_assert!(!message.trim().is_empty(), "{what}");
            prop_assert!(reply.json["error"].is_string(), "{what}");
        }
    }
    Ok(())
}

fn run_property(authenticated: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, world) = runtime.block_on(async {
        let app = TestApp::memory();
        let world = World::new(&app).await;
        (app, world)
    });
    let routes = routes();
    let api_paths: Vec<String> = routes.iter().map(|(_, p)| p.clone()).collect();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let started = Instant::now();
    // Answers by status, to show what the run reached (handlers, not only the extractors).
    let statuses = RefCell::new(BTreeMap::<u16, u32>::new());
    let with_bodies = (0..routes.len())
        .filter(|i| world.template(&routes[*i].0, &routes[*i].1).is_some())
        .collect();
    let result = runner.run(&plan(routes.len(), with_bodies, authenticated), |plan| {
        runtime.block_on(async {
            let Some(request) = request(&app, &world, &routes, &plan).await else {
                *statuses.borrow_mut().entry(0).or_default() += 1;
                return Ok(());
            };
            let copy = copy_head(&request);
            let reply = app.send(request).await;
            *statuses
                .borrow_mut()
                .entry(reply.status.as_u16())
                .or_default() += 1;
            check(&copy, &reply, &api_paths)
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let statuses = statuses.into_inner();
    eprintln!(
        "{CASES} hostile requests (authenticated: {authenticated}) in {:?}; by status (0: not a valid HTTP request): {statuses:?}",
        started.elapsed()
    );
    // The run must reach past the extractors: some requests succeed, some are refused by
    // field validation.
    assert!(
        statuses.get(&0).copied().unwrap_or(0) < CASES / 4,
        "{statuses:?}"
    );
    if authenticated {
        assert!(
            statuses.keys().any(|s| (200..300).contains(s)),
            "{statuses:?}"
        );
        assert!(statuses.contains_key(&422), "{statuses:?}");
    }
}

/// The request's method, URI and headers, kept for the report after the request is sent.
fn copy_head(request: &Request<Body>) -> Request<Body> {
    let mut copy = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .body(Body::empty())
        .unwrap();
    *copy.headers_mut() = request.headers().clone();
    copy
}

#[test]
fn hostile_requests_never_get_a_5xx_and_every_4xx_explains_itself() {
    run_property(false);
}

#[test]
fn hostile_requests_with_valid_sessions_of_every_role_never_get_a_5xx() {
    run_property(true);
}
