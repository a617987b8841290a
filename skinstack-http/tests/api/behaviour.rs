//! What the matrix does not show: error bodies, limits, request ids, login throttling,
//! deactivation, write-only credentials, metrics.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;
use skinstack_core::MemoryStore;
use std::sync::Arc;

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_content_types_are_refused_with_json() {
    let app = TestApp::memory();
    let post = |body: &'static str, content_type: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/auth/register")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let reply = app.send(post("{\"email\": ", "application/json")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["error"], "bad_request");
    assert!(reply.json["message"].is_string());
    let reply = app
        .send(post(
            r#"{"email":"a@example.com","password":"correct horse battery","role":"merchant","is_admin":true}"#,
            "application/json",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.json["message"].as_str().unwrap().contains("is_admin"),
        "{}",
        reply.text
    );
    let reply = app.send(post("{}", "text/plain")).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(reply.json["message"].is_string());
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused() {
    let app = TestApp::memory();
    let big =
        json!({"email": "a@example.com", "password": "x".repeat(70 * 1024), "role": "merchant"});
    let reply = app
        .call(Method::POST, "/v1/auth/register", None, Some(big))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json["error"], "payload_too_large");
}

#[tokio::test]
async fn validation_errors_name_every_failing_field() {
    let app = TestApp::memory();
    let reply = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"email": "not-an-email", "password": "short", "role": "merchant"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["error"], "validation");
    assert_eq!(
        reply.json["fields"]["password"],
        json!(["must be at least 12 characters"])
    );
    assert!(reply.json["fields"]["email"][0].is_string());

    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let reply = app
        .call(
            Method::POST,
            "/v1/programs",
            Some(&mer),
            Some(
                json!({"name": "X", "network": "impact", "commission_type": "percentage",
                        "commission_rate": "150", "cookie_window_days": 0}),
            ),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(
        reply.json["fields"]["commission_rate"],
        json!(["must be greater than 0 and at most 100"])
    );
    assert!(reply.json["fields"]["cookie_window_days"][0].is_string());
}

#[tokio::test]
async fn conflicts_are_409() {
    let app = TestApp::memory();
    let body = json!({"email": "dup@example.com", "password": PASSWORD, "role": "influencer"});
    let first = app
        .call(Method::POST, "/v1/auth/register", None, Some(body.clone()))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app
        .call(Method::POST, "/v1/auth/register", None, Some(body))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json["message"], "email is already registered");

    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let mut item = product_json(None);
    app.create(&mer, "/v1/products", item.clone()).await;
    item["name"] = json!("Another name");
    let dup = app
        .call(Method::POST, "/v1/products", Some(&mer), Some(item))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let (inf, _) = app.account("influencer").await;
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let link = json!({"program_id": program["id"], "slug": "ana-glow"});
    app.create(&inf, "/v1/links", link.clone()).await;
    let taken = app
        .call(Method::POST, "/v1/links", Some(&inf), Some(link))
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.json["message"], "slug is already taken");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_given_one_is_kept() {
    let app = TestApp::memory();
    let reply = app.call(Method::GET, "/healthz", None, None).await;
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    let reply = app.call(Method::GET, "/v1/me", None, None).await;
    assert!(reply.headers.contains_key("x-request-id"), "errors too");
    let request = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "client-chosen-42")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.headers["x-request-id"], "client-chosen-42");
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_account_with_retry_after() {
    // The real limits: five attempts per account, then one a minute.
    let app = TestApp::api_only(
        Arc::new(MemoryStore::new()),
        skinstack_http::LoginLimits::default(),
    );
    let email = "victim@example.com";
    app.call(
        Method::POST,
        "/v1/auth/register",
        None,
        Some(json!({"email": email, "password": PASSWORD, "role": "influencer"})),
    )
    .await;
    let wrong = json!({"email": email, "password": "wrong password!!"});
    for _ in 0..5 {
        let reply = app
            .call(Method::POST, "/v1/auth/login", None, Some(wrong.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app
        .call(Method::POST, "/v1/auth/login", None, Some(wrong))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = reply.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Even the right password waits now; the address is not blocked for other accounts.
    let right = json!({"email": email, "password": PASSWORD});
    let reply = app
        .call(Method::POST, "/v1/auth/login", None, Some(right))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not affected (account() logs in and asserts 200).
    app.account("merchant").await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::memory();
    let (_, _) = app.account("influencer").await;
    let unknown = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "nobody@example.com", "password": PASSWORD})),
        )
        .await;
    let (token, _) = app.account("merchant").await;
    let me = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    let wrong = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": me.json["email"], "password": "nope nope nope"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.text, wrong.text);
}

#[tokio::test]
async fn logout_and_deactivation_end_a_token_at_once() {
    let app = TestApp::memory();
    let (token, id) = app.account("influencer").await;
    let (admin, _, _) = app.admin().await;
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    let path = format!("/v1/admin/users/{id}/deactivate");
    assert_eq!(
        app.call(Method::POST, &path, Some(&admin), None)
            .await
            .status,
        StatusCode::OK
    );
    let reply = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");

    let (token, _) = app.account("merchant").await;
    let out = app
        .call(Method::POST, "/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let reply = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let garbage = app
        .call(Method::GET, "/v1/me", Some("not-a-token"), None)
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn merchant_credentials_are_accepted_but_never_returned() {
    let app = TestApp::memory();
    let (mer, _) = app.account("merchant").await;
    let created = app
        .call(
            Method::POST,
            "/v1/merchant",
            Some(&mer),
            Some(merchant_profile()),
        )
        .await;
    let fetched = app
        .call(Method::GET, "/v1/merchant", Some(&mer), None)
        .await;
    for reply in [&created, &fetched] {
        assert!(
            !reply.text.contains("shpat_secret_value_123"),
            "{}",
            reply.text
        );
        assert!(
            !reply.text.contains("rfs_secret_value_456"),
            "{}",
            reply.text
        );
        assert_eq!(reply.json["shopify_api_key_set"], true);
        assert_eq!(reply.json["refersion_secret_key_set"], true);
    }
    let cleared = app
        .call(
            Method::PATCH,
            "/v1/merchant",
            Some(&mer),
            Some(json!({"shopify_api_key": null})),
        )
        .await;
    assert_eq!(cleared.json["shopify_api_key_set"], false);
    assert_eq!(cleared.json["refersion_secret_key_set"], true);
}

#[tokio::test]
async fn influencers_see_only_open_programs_and_products() {
    let app = TestApp::memory();
    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let open = app.create(&mer, "/v1/programs", program_json()).await;
    let closed = app.create(&mer, "/v1/programs", program_json()).await;
    let closed_id = closed["id"].as_str().unwrap();
    app.call(
        Method::POST,
        &format!("/v1/programs/{closed_id}/deactivate"),
        Some(&mer),
        None,
    )
    .await;
    app.create(&mer, "/v1/products", product_json(open["id"].as_str()))
        .await;
    app.create(&mer, "/v1/products", product_json(Some(closed_id)))
        .await;
    let (inf, _) = app.account("influencer").await;
    let programs = app
        .call(Method::GET, "/v1/programs", Some(&inf), None)
        .await;
    let ids: Vec<_> = programs.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, vec![open["id"].clone()]);
    let products = app
        .call(Method::GET, "/v1/products", Some(&inf), None)
        .await;
    let items = products.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["program_id"], open["id"]);
    let hidden = app
        .call(
            Method::GET,
            &format!("/v1/programs/{closed_id}"),
            Some(&inf),
            None,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    // And no link for a closed program.
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let refused = app
        .call(
            Method::POST,
            "/v1/links",
            Some(&inf),
            Some(json!({"program_id": closed_id})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.json["fields"]["program_id"][0].is_string());
}

#[tokio::test]
async fn product_lists_filter_and_page() {
    let app = TestApp::memory();
    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let pid = program["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = product_json(if i % 2 == 0 { Some(pid) } else { None });
        body["category"] = json!(if i < 3 { "serum" } else { "mask" });
        body["in_stock"] = json!(i != 4);
        ids.push(app.create(&mer, "/v1/products", body).await["id"].clone());
    }
    let get = |query: String| {
        let app = app.clone();
        let mer = mer.clone();
        async move {
            let reply = app
                .call(
                    Method::GET,
                    &format!("/v1/products{query}"),
                    Some(&mer),
                    None,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
            reply.json
        }
    };
    let count = |v: &serde_json::Value| v["items"].as_array().unwrap().len();
    assert_eq!(count(&get(String::new()).await), 5);
    assert_eq!(count(&get("?category=mask".into()).await), 2);
    assert_eq!(count(&get("?in_stock=false".into()).await), 1);
    assert_eq!(count(&get(format!("?program_id={pid}")).await), 3);
    let first = get("?limit=2".into()).await;
    assert_eq!(first["items"][0]["id"], ids[0]);
    assert_eq!(first["next_after"], ids[1]);
    let next = get(format!("?limit=2&after={}", ids[1].as_str().unwrap())).await;
    assert_eq!(next["items"][0]["id"], ids[2]);
    let bad = app
        .call(Method::GET, "/v1/products?limit=0", Some(&mer), None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json["fields"]["limit"].is_array());
    let unknown = app
        .call(Method::GET, "/v1/products?colour=red", Some(&mer), None)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_report_redirects() {
    let app = TestApp::memory();
    for _ in 0..2 {
        let path = format!("/v1/programs/{}", uuid::Uuid::new_v4());
        app.call(Method::GET, &path, None, None).await;
    }
    app.call(Method::GET, "/no-such-slug", None, None).await; // a redirect 404
    let text = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(
        text.contains(r#"skinstack_http_requests_total{method="GET",route="/v1/programs/{id}",status="401"} 2"#),
        "{text}"
    );
    assert!(
        !text.contains("/v1/programs/0"),
        "raw paths must not become labels"
    );
    assert!(text.contains(r#"skinstack_http_request_duration_seconds_bucket{method="GET",route="/v1/programs/{id}",le="+Inf"} 2"#));
    assert!(
        text.contains(r#"skinstack_redirects_total{outcome="not_found"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn unrouted_paths_and_methods_get_the_json_error_not_an_empty_body() {
    let app = TestApp::memory();
    for (method, path, status, kind) in [
        (Method::GET, "/v1/nothing/here", 404, "not_found"),
        (Method::GET, "/", 404, "not_found"),
        (Method::GET, "/healthz/", 404, "not_found"),
        (Method::PUT, "/v1/me", 405, "method_not_allowed"),
        (Method::DELETE, "/v1/programs", 405, "method_not_allowed"),
        (
            Method::from_bytes(b"PROPFIND").unwrap(),
            "/healthz",
            405,
            "method_not_allowed",
        ),
    ] {
        let reply = app.call(method.clone(), path, None, None).await;
        assert_eq!(reply.status.as_u16(), status, "{method} {path}");
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(reply.json["error"], kind, "{method} {path}: {}", reply.text);
        assert!(!reply.json["message"].as_str().unwrap().is_empty());
        assert!(
            reply.headers.contains_key("x-request-id"),
            "{method} {path}"
        );
    }
    let reply = app.call(Method::PUT, "/v1/me", None, None).await;
    assert_eq!(reply.headers[header::ALLOW], "GET,HEAD");
    // The shopper's /{slug}: a page for browsers, JSON for clients that ask for it.
    let reply = app.call(Method::POST, "/some-slug", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(reply.text.contains("only open with GET"), "{}", reply.text);
    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/some-slug")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.json["error"], "method_not_allowed");
}

#[tokio::test]
async fn made_up_methods_cannot_grow_the_metrics_without_bound() {
    let app = TestApp::memory();
    for i in 0..50 {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let reply = app.call(method, "/healthz", None, None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let metrics = app.call(Method::GET, "/metrics", None, None).await;
    assert!(!metrics.text.contains("MADEUP"), "{}", metrics.text);
    assert!(
        metrics.text.contains(
            "skinstack_http_requests_total{method=\"OTHER\",route=\"/healthz\",status=\"405\"} 50"
        ),
        "{}",
        metrics.text
    );
}

/// Decodes the one QR code in a greyscale image.
fn decode_qr(width: usize, height: usize, pixel: impl FnMut(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, pixel);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn a_links_qr_code_decodes_to_its_short_url_marked_as_a_scan() {
    let app = TestApp::memory();
    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let (inf, _) = app.account("influencer").await;
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let link = app
        .create(
            &inf,
            "/v1/links",
            json!({"program_id": program["id"], "slug": "ana-qr"}),
        )
        .await;
    let id = link["id"].as_str().unwrap();

    let png = app
        .call(
            Method::GET,
            &format!("/v1/links/{id}/qr.png?size=300"),
            Some(&inf),
            None,
        )
        .await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text);
    assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
    let decoder = png::Decoder::new(std::io::Cursor::new(png.bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    assert!(w >= 300, "at least the size asked for: {w}");
    assert_eq!(
        decode_qr(w, h, |x, y| buf[y * w + x]),
        "https://skin.st/ana-qr?via=qr"
    );

    let svg = app
        .call(
            Method::GET,
            &format!("/v1/links/{id}/qr.svg"),
            Some(&inf),
            None,
        )
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.text.contains("<svg"), "{}", svg.text);

    let too_big = app
        .call(
            Method::GET,
            &format!("/v1/links/{id}/qr.svg?size=9999"),
            Some(&inf),
            None,
        )
        .await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_big.json["fields"]["size"].is_array(),
        "{}",
        too_big.text
    );
}
