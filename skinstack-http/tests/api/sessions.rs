//! Sessions that must open nothing: a deactivated account's and an expired one, each tried on
//! every authenticated route the OpenAPI document lists, on both stores. (A valid token of one
//! role on another role's route is the matrix's 403 column.)

use crate::helpers::*;
use axum::http::{header, Method, StatusCode};
use chrono::Utc;
use serde_json::json;
use skinstack_core::auth::NewSession;
use skinstack_core::{SessionToken, UserId};

/// Every operation that needs a bearer token, with its `{params}` filled with a random id:
/// (method, concrete path, template).
fn authenticated_routes() -> Vec<(Method, String, String)> {
    let doc = serde_json::to_value(skinstack_http::openapi()).unwrap();
    let mut routes = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["security"] != json!([{"bearer": []}]) {
                continue;
            }
            let path = template
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        part.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            routes.push((method, path, template.clone()));
        }
    }
    assert!(routes.len() >= 20, "{routes:?}");
    routes
}

/// Calls every authenticated route with `token` (and a JSON body, so that nothing but the
/// token can be refused) and lists those that did not answer the JSON 401.
async fn not_refused(app: &TestApp, token: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    for (method, path, template) in authenticated_routes() {
        let reply = app
            .call(method.clone(), &path, Some(token), Some(json!({})))
            .await;
        let refused = reply.status == StatusCode::UNAUTHORIZED
            && reply.json["error"] == "unauthorized"
            && reply.headers.get(header::WWW_AUTHENTICATE).is_some();
        if !refused {
            wrong.push(format!(
                "{method} {template}: {} {}",
                reply.status, reply.text
            ));
        }
    }
    wrong
}

async fn works(app: &TestApp, token: &str) -> bool {
    let reply = app.call(Method::GET, "/v1/me", Some(token), None).await;
    reply.status == StatusCode::OK
}

async fn deactivated_accounts_sessions_open_nothing(app: TestApp) {
    let (admin, _, _) = app.admin().await;
    for role in ["influencer", "merchant"] {
        let (token, id) = app.account(role).await;
        // A second session too: deactivation ends all of them, not just the newest.
        let me = app.call(Method::GET, "/v1/me", Some(&token), None).await;
        let second = app.login(me.json["email"].as_str().unwrap()).await;
        assert!(works(&app, &token).await && works(&app, &second).await);
        let path = format!("/v1/admin/users/{id}/deactivate");
        let reply = app.call(Method::POST, &path, Some(&admin), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        for token in [&token, &second] {
            let wrong = not_refused(&app, token).await;
            assert!(wrong.is_empty(), "{role}:\n{}", wrong.join("\n"));
        }
    }
}

async fn expired_sessions_open_nothing(app: TestApp) {
    let (_, admin_id, _) = app.admin().await;
    let (_, influencer_id) = app.account("influencer").await;
    let (_, merchant_id) = app.account("merchant").await;
    for id in [admin_id, influencer_id, merchant_id] {
        let user = UserId::from(id.parse::<uuid::Uuid>().unwrap());
        let session = |expires_at| {
            let token = SessionToken::generate().unwrap();
            let new = NewSession {
                token_hash: token.hash(),
                user_id: user,
                expires_at,
            };
            (token, new)
        };
        let now = Utc::now();
        let (live, new) = session(now + chrono::Duration::minutes(5));
        app.store.create_session(new).await.unwrap();
        let (expired, new) = session(now - chrono::Duration::seconds(1));
        app.store.create_session(new).await.unwrap();
        assert!(
            works(&app, live.expose()).await,
            "the control session works"
        );
        let wrong = not_refused(&app, expired.expose()).await;
        assert!(wrong.is_empty(), "{user}:\n{}", wrong.join("\n"));
    }
}

#[tokio::test]
async fn a_deactivated_accounts_sessions_get_401_on_every_authenticated_route_on_memory() {
    deactivated_accounts_sessions_open_nothing(TestApp::memory()).await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_deactivated_accounts_sessions_get_401_on_every_authenticated_route_on_postgres(
    pool: sqlx::PgPool,
) {
    deactivated_accounts_sessions_open_nothing(TestApp::postgres(pool)).await;
}

#[tokio::test]
async fn expired_sessions_get_401_on_every_authenticated_route_on_memory() {
    expired_sessions_open_nothing(TestApp::memory()).await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn expired_sessions_get_401_on_every_authenticated_route_on_postgres(pool: sqlx::PgPool) {
    expired_sessions_open_nothing(TestApp::postgres(pool)).await;
}
