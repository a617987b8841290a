//! The dashboard through the router: login cookies, CSRF, ownership, CSP, escaping.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

/// The value of `name="csrf"` in the first form of `html`.
fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// `name=value` of the `Set-Cookie` for `name`, and the whole header.
fn set_cookie(reply: &Reply, name: &str) -> (String, String) {
    let header = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {:?}", reply.headers));
    let pair = header.split(';').next().unwrap().to_owned();
    (pair, header)
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Reply {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Registers `role` with a profile through the API and logs in through the dashboard's form:
/// (session cookie pair, the login reply, email).
async fn dashboard_login(app: &TestApp, role: &str) -> (String, Reply, String) {
    let (token, _) = app.account(role).await;
    let me = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    let email = me.json["email"].as_str().unwrap().to_owned();
    match role {
        "influencer" => {
            app.create(&token, "/v1/influencer", influencer_profile())
                .await
        }
        _ => app.create(&token, "/v1/merchant", merchant_profile()).await,
    };
    let form = get(app, "/dashboard/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let (login_cookie, _) = set_cookie(&form, "skinstack_login_csrf");
    let csrf = csrf_in(&form.text);
    let reply = post_form(
        app,
        "/dashboard/login",
        Some(&login_cookie),
        &[("email", &email), ("password", PASSWORD), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let (session, _) = set_cookie(&reply, "skinstack_session");
    (session, reply, email)
}

/// A merchant with a program and a product named `product_name`: (token, program id).
async fn shop(app: &TestApp, product_name: &str) -> (String, String) {
    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let program = app.create(&mer, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut product = product_json(Some(&program));
    product["name"] = json!(product_name);
    app.create(&mer, "/v1/products", product).await;
    (mer, program)
}

#[tokio::test]
async fn logging_in_sets_an_http_only_lax_secure_session_cookie() {
    let app = TestApp::memory();
    let (_, reply, _) = dashboard_login(&app, "influencer").await;
    assert_eq!(reply.headers[header::LOCATION], "/dashboard");
    let (_, cookie) = set_cookie(&reply, "skinstack_session");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    // The login form's one-time token is spent.
    let (_, spent) = set_cookie(&reply, "skinstack_login_csrf");
    assert!(spent.contains("Max-Age=0"), "{spent}");
}

#[tokio::test]
async fn a_login_without_its_double_submit_cookie_is_refused() {
    let app = TestApp::memory();
    let form = get(&app, "/dashboard/login", None).await;
    let csrf = csrf_in(&form.text);
    let (token, _) = app.account("influencer").await;
    let email = app
        .call(Method::GET, "/v1/me", Some(&token), None)
        .await
        .json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let fields = [
        ("email", email.as_str()),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let no_cookie = post_form(&app, "/dashboard/login", None, &fields).await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    let other = post_form(
        &app,
        "/dashboard/login",
        Some("skinstack_login_csrf=forged"),
        &fields,
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(other.headers.get(header::SET_COOKIE).is_none());
    let wrong_password = post_form(
        &app,
        "/dashboard/login",
        Some(&format!("skinstack_login_csrf={csrf}")),
        &[
            ("email", &email),
            ("password", "not the password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert!(wrong_password.text.contains("Wrong email or password."));
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::memory();
    let (_, program) = shop(&app, "Serum").await;
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    let token = session.split_once('=').unwrap().1.to_owned();
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let csrf = csrf_in(&home.text);

    // Another session's token, a made-up one, none at all.
    let (other_session, _, _) = dashboard_login(&app, "influencer").await;
    let other_csrf = csrf_in(&get(&app, "/dashboard", Some(&other_session)).await.text);
    for wrong in [other_csrf.as_str(), "AAAA", ""] {
        let reply = post_form(
            &app,
            "/dashboard/links",
            Some(&session),
            &[
                ("csrf", wrong),
                ("program_id", &program),
                ("slug", "sneaky"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "csrf {wrong:?}");
    }
    let missing = post_form(
        &app,
        "/dashboard/links",
        Some(&session),
        &[("program_id", &program)],
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let logout = post_form(
        &app,
        "/dashboard/logout",
        Some(&session),
        &[("csrf", "AAAA")],
    )
    .await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);

    // The session's cookie is an API session: the API shows nothing was made or ended.
    let links = app.call(Method::GET, "/v1/links", Some(&token), None).await;
    assert_eq!(links.status, StatusCode::OK, "the session still works");
    assert_eq!(links.json.as_array().unwrap().len(), 0);

    let made = post_form(
        &app,
        "/dashboard/links",
        Some(&session),
        &[
            ("csrf", &csrf),
            ("program_id", &program),
            ("product_id", ""),
            ("slug", "ana-dash"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let location = made.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.ends_with("#link-ana-dash"), "{location}");
    let listed = get(&app, &location, Some(&session)).await;
    assert!(
        listed.text.contains("https://skin.st/ana-dash"),
        "{}",
        listed.text
    );
    assert!(listed
        .text
        .contains("Your new link <strong>ana-dash</strong> is ready"));

    // A taken slug is shown on the form, not an error page.
    let taken = post_form(
        &app,
        "/dashboard/links",
        Some(&session),
        &[
            ("csrf", &csrf),
            ("program_id", &program),
            ("slug", "ana-dash"),
        ],
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        taken.text.contains("slug is already taken"),
        "{}",
        taken.text
    );

    let out = post_form(
        &app,
        "/dashboard/logout",
        Some(&session),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let (_, cleared) = set_cookie(&out, "skinstack_session");
    assert!(cleared.contains("Max-Age=0"));
    let after = app.call(Method::GET, "/v1/links", Some(&token), None).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "logout ends the session itself"
    );
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.headers[header::LOCATION], "/dashboard/login");
}

#[tokio::test]
async fn another_influencers_link_is_not_found() {
    let app = TestApp::memory();
    let (_, program) = shop(&app, "Serum").await;
    let (inf, _) = app.account("influencer").await;
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let theirs = app
        .create(&inf, "/v1/links", json!({"program_id": program}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    let mine = app
        .create(
            session.split_once('=').unwrap().1,
            "/v1/links",
            json!({"program_id": program}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in ["", "/qr.svg", "/qr.png"] {
        let reply = get(
            &app,
            &format!("/dashboard/links/{theirs}{path}"),
            Some(&session),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        let reply = get(
            &app,
            &format!("/dashboard/links/{mine}{path}"),
            Some(&session),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
    let page = get(&app, &format!("/dashboard/links/{mine}"), Some(&session)).await;
    assert_eq!(
        page.text.matches("<figure class=\"chart\">").count(),
        3,
        "three daily charts"
    );
    assert_eq!(
        get(&app, "/dashboard/links/not-a-uuid", Some(&session))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (merchant_session, _, _) = dashboard_login(&app, "merchant").await;
    let reply = get(
        &app,
        &format!("/dashboard/links/{mine}"),
        Some(&merchant_session),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // Without a session: to the login form.
    let reply = get(&app, &format!("/dashboard/links/{mine}"), None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_page_carries_a_csp_without_inline_script_and_assets_are_served() {
    let app = TestApp::memory();
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    for (path, cookie) in [
        ("/dashboard/login", None),
        ("/dashboard", Some(session.as_str())),
        (
            "/dashboard/links/00000000-0000-0000-0000-000000000000",
            Some(session.as_str()),
        ),
    ] {
        let reply = get(&app, path, cookie).await;
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!reply.text.contains("<script>"), "{path}: no inline script");
        assert!(!reply.text.contains("style=\""), "{path}: no inline style");
    }
    let css = get(&app, "/dashboard/assets/app-2.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let js = get(&app, "/dashboard/assets/app-1.js", None).await;
    assert!(js.text.contains("data-copy"));
    assert_eq!(
        get(&app, "/dashboard/assets/../Cargo.toml", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Dashboard requests carry request ids and are counted like the API's.
    assert!(js.headers.contains_key("x-request-id"));
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(
        metrics.contains(r#"skinstack_http_requests_total{method="GET",route="/dashboard/links/{id}",status="404"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn merchant_strings_are_escaped_on_every_page() {
    let app = TestApp::memory();
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let (_, program) = shop(&app, hostile).await;
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert!(
        home.text
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"),
        "{}",
        home.text
    );
    assert!(!home.text.contains("<script>alert") && !home.text.contains("<img src=x"));
    assert!(home.text.contains(&program), "the program is offered");

    // The merchant's own page lists the same product, escaped too.
    let (mer_token, _) = app.account("merchant").await;
    let email = app
        .call(Method::GET, "/v1/me", Some(&mer_token), None)
        .await
        .json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut profile = merchant_profile();
    profile["business_name"] = json!("<b>Bold & Co</b>");
    app.create(&mer_token, "/v1/merchant", profile).await;
    let own_program = app.create(&mer_token, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut product = product_json(Some(&own_program));
    product["name"] = json!(hostile);
    app.create(&mer_token, "/v1/products", product).await;
    let merchant_session = session_for(&app, &email).await;
    let page = get(&app, "/dashboard", Some(&merchant_session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("&lt;b&gt;Bold &amp; Co&lt;/b&gt;"),
        "{}",
        page.text
    );
    assert!(page.text.contains("&lt;script&gt;alert(1)"));
    assert!(!page.text.contains("<script>alert") && !page.text.contains("<b>Bold"));
    assert!(page.text.contains("Top links") && page.text.contains("Glow Ambassadors"));
}

#[tokio::test]
async fn accounts_without_a_profile_and_administrators_get_a_page_not_an_error() {
    let app = TestApp::memory();
    for role in ["influencer", "merchant"] {
        let (token, _) = app.account(role).await;
        let email = app
            .call(Method::GET, "/v1/me", Some(&token), None)
            .await
            .json["email"]
            .as_str()
            .unwrap()
            .to_owned();
        let session = session_for(&app, &email).await;
        let home = get(&app, "/dashboard", Some(&session)).await;
        assert_eq!(home.status, StatusCode::OK, "{role}");
        assert!(
            home.text.contains(&format!("no {role} profile yet")),
            "{}",
            home.text
        );
    }
    let (_, _, admin_email) = app.admin().await;
    let session = session_for(&app, &admin_email).await;
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("Administrators work through the API"));
}

/// Influencer A's link in `program`, owning the coupon code `ANA20` that merchant `mer`
/// assigned it, and a shop API key of `mer`: (influencer token, link id, API key).
async fn coupon_link(app: &TestApp, mer: &str, program: &str) -> (String, String, String) {
    let (influencer, _) = app.account("influencer").await;
    app.create(&influencer, "/v1/influencer", influencer_profile())
        .await;
    let link = app
        .create(&influencer, "/v1/links", json!({"program_id": program}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(
        mer,
        "/v1/merchant/coupon-codes",
        json!({"link_id": link, "code": "ANA20"}),
    )
    .await;
    let key = app
        .create(mer, "/v1/merchant/api-keys", json!({"name": "Shop"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    (influencer, link, key)
}

/// Logs `email` in through the dashboard's form: the session cookie pair.
async fn session_for(app: &TestApp, email: &str) -> String {
    let form = get(app, "/dashboard/login", None).await;
    let (login_cookie, _) = set_cookie(&form, "skinstack_login_csrf");
    let csrf = csrf_in(&form.text);
    let reply = post_form(
        app,
        "/dashboard/login",
        Some(&login_cookie),
        &[("email", email), ("password", PASSWORD), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    set_cookie(&reply, "skinstack_session").0
}

/// The influencer's pages show what the influencer earns — 80 % of the commission, net of
/// refunds — never the gross the merchant pays; the merchant's page still shows the gross.
#[tokio::test]
async fn influencers_see_their_earnings_and_merchants_the_gross_commission() {
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    let link = app
        .create(
            session.split_once('=').unwrap().1,
            "/v1/links",
            json!({"program_id": program}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(
        &mer,
        "/v1/merchant/coupon-codes",
        json!({"link_id": link, "code": "ANA20"}),
    )
    .await;
    let key = app
        .create(&mer, "/v1/merchant/api-keys", json!({"name": "Shop"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // 20 % of 45.00 is 9.00 gross, 7.20 the influencer's; refunding a third takes back 3.00
    // and 2.40: 6.00 gross, 4.80 earned, on 30.00 of sales.
    let order = json!({"order_id": "d-1", "amount": "45.00", "currency": "USD",
                       "ordered_at": chrono::Utc::now().to_rfc3339(), "coupon_code": "ANA20"});
    let reply = app
        .call(Method::POST, "/v1/conversions", Some(&key), Some(order))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let refund = json!({"order_id": "d-1", "refund_id": "r-1", "amount": "15.00"});
    let reply = app
        .call(Method::POST, "/v1/refunds", Some(&key), Some(refund))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.text.contains("<span class=\"value\">$4.80</span>"),
        "pending earnings: {}",
        home.text
    );
    assert!(
        home.text.contains("<dt>Revenue</dt><dd>$30.00</dd>"),
        "{}",
        home.text
    );
    assert!(!home.text.contains("$6.00"), "no gross: {}", home.text);
    assert!(!home.text.contains("Commission"), "{}", home.text);

    let page = get(&app, &format!("/dashboard/links/{link}"), Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains(
            "<span class=\"title\">Your earnings</span> <span class=\"total\">$4.80</span>"
        ),
        "{}",
        page.text
    );
    assert!(!page.text.contains("$6.00"), "no gross: {}", page.text);

    let email = app.call(Method::GET, "/v1/me", Some(&mer), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let merchant_session = session_for(&app, &email).await;
    let merchant = get(&app, "/dashboard", Some(&merchant_session)).await;
    assert!(
        merchant.text.contains("<span class=\"value\">$6.00</span>"),
        "owed: {}",
        merchant.text
    );
}

#[tokio::test]
async fn the_login_form_refuses_an_overlong_email_and_counts_only_failures_like_the_api() {
    let app = TestApp::api_only(
        std::sync::Arc::new(skinstack_core::MemoryStore::new()),
        skinstack_http::LoginLimits::default(),
    );
    let (token, _) = app.account("influencer").await;
    let me = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    let email = me.json["email"].as_str().unwrap().to_owned();
    let form = get(&app, "/dashboard/login", None).await;
    let (login_cookie, _) = set_cookie(&form, "skinstack_login_csrf");
    let csrf = csrf_in(&form.text);
    let submit = |email: String, password: &'static str| {
        let (app, cookie, csrf) = (app.clone(), login_cookie.clone(), csrf.clone());
        async move {
            post_form(
                &app,
                "/dashboard/login",
                Some(&cookie),
                &[("email", &email), ("password", password), ("csrf", &csrf)],
            )
            .await
        }
    };
    let long = format!("{}@example.com", "a".repeat(300));
    let reply = submit(long, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text.contains("at most 254"), "{}", reply.text);
    // Logging in again and again (more than the five failures allowed) is never throttled.
    for _ in 0..7 {
        let reply = submit(email.clone(), PASSWORD).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    }
    for _ in 0..5 {
        let reply = submit(email.clone(), "wrong password!!").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = submit(email.clone(), "wrong password!!").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.text.contains("Too many attempts"), "{}", reply.text);
    let retry: u64 = reply.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The API's login is the same account's limit.
    let api = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn enrollment_pages_apply_and_decide_with_the_sessions_csrf_token_on_own_programs_only() {
    let app = TestApp::memory();
    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let mut body = program_json();
    body["enrollment_mode"] = json!("approval");
    body["name"] = json!("Glow <Ambassadors>");
    let program = app.create(&mer, "/v1/programs", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The influencer finds the program on "Programs" and applies with the page's token.
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    let page = get(&app, "/dashboard/programs", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("Glow &lt;Ambassadors&gt;"),
        "{}",
        page.text
    );
    assert!(page.text.contains("not joined"));
    let csrf = csrf_in(&page.text);
    let apply = format!("/dashboard/programs/{program}/apply");
    let forged = post_form(&app, &apply, Some(&session), &[("csrf", "AAAA")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let applied = post_form(
        &app,
        &apply,
        Some(&session),
        &[("csrf", &csrf), ("message", "Daily routines")],
    )
    .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.text);
    let page = get(&app, "/dashboard/programs", Some(&session)).await;
    assert!(page.text.contains(">pending<"), "{}", page.text);

    // Another merchant sees no application and cannot decide on this one.
    let (other, _, _) = dashboard_login(&app, "merchant").await;
    let theirs = get(&app, "/dashboard/applications", Some(&other)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.text.contains("Daily routines"));
    let inf_id = {
        let mine = app
            .call(
                Method::GET,
                &format!("/v1/programs/{program}/members"),
                Some(&mer),
                None,
            )
            .await;
        mine.json["items"][0]["membership"]["influencer_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let approve = format!("/dashboard/programs/{program}/members/{inf_id}/approve");
    let other_csrf = csrf_in(&theirs.text);
    let refused = post_form(&app, &approve, Some(&other), &[("csrf", &other_csrf)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // The owner approves from "Applications"; the member shows on "Members".
    let owner = session_for(&app, &{
        let me = app.call(Method::GET, "/v1/me", Some(&mer), None).await;
        me.json["email"].as_str().unwrap().to_owned()
    })
    .await;
    let applications = get(&app, "/dashboard/applications", Some(&owner)).await;
    assert!(
        applications.text.contains("Daily routines"),
        "{}",
        applications.text
    );
    let owner_csrf = csrf_in(&applications.text);
    let forged = post_form(&app, &approve, Some(&owner), &[("csrf", &other_csrf)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let approved = post_form(&app, &approve, Some(&owner), &[("csrf", &owner_csrf)]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.text);
    let members = get(&app, "/dashboard/members", Some(&owner)).await;
    assert!(members.text.contains(">approved<"), "{}", members.text);
}

/// An influencer asks for a code from her page and the merchant approves, revokes and assigns
/// from his, each form with its session's CSRF token; a form without it changes nothing, and
/// the code a member asked for cannot be assigned to anyone else.
#[tokio::test]
async fn coupon_codes_are_requested_approved_revoked_and_assigned_from_the_dashboard() {
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    let (ana, _, _) = dashboard_login(&app, "influencer").await;
    let ana_token = ana.split_once('=').unwrap().1.to_owned();
    let link = app
        .create(&ana_token, "/v1/links", json!({"program_id": program}))
        .await;
    let (link_id, slug) = (
        link["id"].as_str().unwrap().to_owned(),
        link["slug"].as_str().unwrap().to_owned(),
    );
    let home = get(&app, "/dashboard", Some(&ana)).await;
    assert!(home.text.contains("id=\"coupon-codes\""), "{}", home.text);
    let csrf = csrf_in(&home.text);
    let forged = post_form(
        &app,
        "/dashboard/coupon-codes/requests",
        Some(&ana),
        &[("csrf", "AAAA"), ("link_id", &link_id), ("code", "Ana20")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let asked = post_form(
        &app,
        "/dashboard/coupon-codes/requests",
        Some(&ana),
        &[("csrf", &csrf), ("link_id", &link_id), ("code", "Ana20")],
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text);
    let home = get(&app, "/dashboard", Some(&ana)).await;
    assert!(home.text.contains("<code>Ana20</code>"), "{}", home.text);
    assert!(home.text.contains("requested"), "{}", home.text);

    let code_id = app
        .call(
            Method::GET,
            "/v1/influencer/coupon-codes",
            Some(&ana_token),
            None,
        )
        .await
        .json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another merchant's dashboard cannot act on the code, nor assign to the link: not theirs.
    let (stranger, _, _) = dashboard_login(&app, "merchant").await;
    let stranger_csrf = csrf_in(&get(&app, "/dashboard", Some(&stranger)).await.text);
    let foreign = post_form(
        &app,
        &format!("/dashboard/coupon-codes/{code_id}/approve"),
        Some(&stranger),
        &[("csrf", &stranger_csrf)],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.text);
    let foreign = post_form(
        &app,
        "/dashboard/coupon-codes",
        Some(&stranger),
        &[("csrf", &stranger_csrf), ("link", &slug), ("code", "OTHER")],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.text);

    // The program's merchant, logged in to the dashboard.
    let mer_email = app.call(Method::GET, "/v1/me", Some(&mer), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = session_for(&app, &mer_email).await;
    let page = get(&app, "/dashboard", Some(&session)).await;
    assert!(page.text.contains("<code>Ana20</code>"), "{}", page.text);
    assert!(page
        .text
        .contains(&format!("/dashboard/coupon-codes/{code_id}/approve")));
    let csrf = csrf_in(&page.text);
    let forged = post_form(
        &app,
        &format!("/dashboard/coupon-codes/{code_id}/approve"),
        Some(&session),
        &[("csrf", "AAAA")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    for action in ["approve", "revoke"] {
        let reply = post_form(
            &app,
            &format!("/dashboard/coupon-codes/{code_id}/{action}"),
            Some(&session),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            reply.text
        );
    }
    let assign = |code: &'static str| {
        let (app, session, csrf, slug) = (&app, &session, &csrf, &slug);
        async move {
            post_form(
                app,
                "/dashboard/coupon-codes",
                Some(session),
                &[("csrf", csrf), ("link", slug), ("code", code)],
            )
            .await
        }
    };
    assert_eq!(assign("ANA20").await.status, StatusCode::SEE_OTHER);
    let taken = assign("ana20").await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert!(
        taken.text.contains("already has this coupon code"),
        "{}",
        taken.text
    );
    let codes = app
        .call(Method::GET, "/v1/merchant/coupon-codes", Some(&mer), None)
        .await;
    let states: Vec<_> = codes.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("Ana20", "revoked"), ("ANA20", "assigned")]);
}

#[tokio::test]
async fn merchants_release_held_commissions_from_the_dashboard_with_its_csrf_token_only() {
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    let (_, _, key) = coupon_link(&app, &mer, &program).await;
    let max = app
        .call(
            Method::PUT,
            "/v1/merchant/max-order-amount",
            Some(&mer),
            Some(json!({"max_order_amount": "40.00"})),
        )
        .await;
    assert_eq!(max.status, StatusCode::OK, "{}", max.text);
    let order = json!({"order_id": "big-1", "amount": "45.00", "currency": "USD",
                       "ordered_at": chrono::Utc::now().to_rfc3339(), "coupon_code": "ANA20"});
    let held = app
        .call(Method::POST, "/v1/conversions", Some(&key), Some(order))
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.text);
    let id = held.json["id"].as_str().unwrap().to_owned();

    let email = app.call(Method::GET, "/v1/me", Some(&mer), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = session_for(&app, &email).await;
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("order_above_maximum"), "{}", home.text);
    let action = format!("/dashboard/conversions/{id}/release");
    assert!(home.text.contains(&action), "{}", home.text);
    let csrf = csrf_in(&home.text);

    let forged = post_form(&app, &action, Some(&session), &[("csrf", "AAAA")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (other, _, _) = dashboard_login(&app, "merchant").await;
    let other_csrf = csrf_in(&get(&app, "/dashboard", Some(&other)).await.text);
    let theirs = post_form(&app, &action, Some(&other), &[("csrf", &other_csrf)]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let page = app
        .call(Method::GET, "/v1/merchant/conversions", Some(&mer), None)
        .await;
    assert_eq!(page.json["items"][0]["status"], "held");

    let released = post_form(&app, &action, Some(&session), &[("csrf", &csrf)]).await;
    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.text);
    let page = app
        .call(Method::GET, "/v1/merchant/conversions", Some(&mer), None)
        .await;
    assert_eq!(page.json["items"][0]["status"], "pending");
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert!(!home.text.contains(&action), "{}", home.text);
}

#[tokio::test]
async fn merchants_see_their_statements_and_download_only_their_own_csv() {
    use skinstack_core::service::conversions::approve_due;
    use skinstack_core::{HoldDays, ProgramId};
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    app.store
        .set_program_hold_days(
            ProgramId::from_uuid(uuid::Uuid::parse_str(&program).unwrap()),
            HoldDays::new(0).unwrap(),
        )
        .await
        .unwrap();
    let (_, _, key) = coupon_link(&app, &mer, &program).await;
    // A formula for an order id: the CSV must show it, never run it.
    let order = json!({"order_id": "=1+1", "amount": "50.00", "currency": "USD",
                       "ordered_at": chrono::Utc::now().to_rfc3339(), "coupon_code": "ANA20"});
    let recorded = app
        .call(Method::POST, "/v1/conversions", Some(&key), Some(order))
        .await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    approve_due(&*app.store, chrono::Utc::now()).await.unwrap();
    let (admin, _, _) = app.admin().await;
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let issued = app
        .call(
            Method::POST,
            "/v1/admin/invoices",
            Some(&admin),
            Some(json!({ "period": period })),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    let statement = issued.json[0]["statement"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app
        .call(Method::GET, "/v1/merchant/invoices", Some(&mer), None)
        .await;
    let due = listed.json["amount_due"].as_str().unwrap().to_owned();
    assert_ne!(due, "0.00", "{}", listed.text);

    let email = app.call(Method::GET, "/v1/me", Some(&mer), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = session_for(&app, &email).await;
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let csv_path = format!("/dashboard/statements/{statement}/csv");
    assert!(home.text.contains(&csv_path), "{}", home.text);
    assert!(home.text.contains(&format!("${due}")), "{}", home.text);
    assert!(home.text.contains("issued"), "{}", home.text);

    let csv = get(&app, &csv_path, Some(&session)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][3], "'=1+1");
    assert_eq!(&rows[0][6], due);

    // Another merchant's session sees no such statement.
    let (other, _, _) = dashboard_login(&app, "merchant").await;
    assert_eq!(
        get(&app, &csv_path, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    let other_home = get(&app, "/dashboard", Some(&other)).await;
    assert!(!other_home.text.contains(&csv_path));

    let paid = app
        .call(
            Method::POST,
            &format!("/v1/admin/invoices/{statement}/paid"),
            Some(&admin),
            Some(json!({"reference": "WIRE-2026-001"})),
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert!(home.text.contains("WIRE-2026-001"), "{}", home.text);
    assert!(home.text.contains("Due: <strong>$0.00"), "{}", home.text);
}

#[tokio::test]
async fn merchants_see_every_fraud_signal_on_their_dashboard_held_or_not() {
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    let (influencer, link, key) = coupon_link(&app, &mer, &program).await;
    let click = skinstack_core::Click::new(
        skinstack_core::LinkId::from_uuid(link.parse().unwrap()),
        None,
        Some("Mozilla/5.0 (iPhone)"),
        None,
    );
    app.store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    let own = app
        .call(Method::GET, "/v1/me", Some(&influencer), None)
        .await
        .json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now().to_rfc3339();
    for order in [
        json!({"order_id": "by-click", "amount": "30.00", "currency": "USD", "ordered_at": now,
               "click_id": click.id.to_string()}),
        json!({"order_id": "reused-click", "amount": "30.00", "currency": "USD", "ordered_at": now,
               "click_id": click.id.to_string(), "coupon_code": "ANA20"}),
        json!({"order_id": "own-order", "amount": "30.00", "currency": "USD", "ordered_at": now,
               "coupon_code": "ANA20", "customer_email": own}),
    ] {
        let reply = app
            .call(Method::POST, "/v1/conversions", Some(&key), Some(order))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let email = app.call(Method::GET, "/v1/me", Some(&mer), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = session_for(&app, &email).await;
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let (_, signals) = home
        .text
        .split_once("id=\"signals\"")
        .expect("a fraud signals section");
    let signals = signals.split("</section>").next().unwrap();
    assert!(signals.contains("reused-click") && signals.contains("click_reuse"));
    assert!(signals.contains("own-order") && signals.contains("self_referral"));
    assert!(!signals.contains("by-click"), "{signals}");
    let (_, held) = home
        .text
        .split_once("id=\"held\"")
        .expect("the held section");
    let held = held.split("</section>").next().unwrap();
    assert!(held.contains("own-order") && held.contains("self_referral"));
    assert!(!held.contains("reused-click"), "click reuse holds nothing");
}

#[tokio::test]
async fn amounts_show_in_their_merchant_s_currency_and_balances_stay_apart() {
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    let reply = app
        .call(
            Method::PATCH,
            "/v1/merchant",
            Some(&mer),
            Some(json!({"currency": "JPY"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app
        .call(
            Method::PUT,
            "/v1/merchant/max-order-amount",
            Some(&mer),
            Some(json!({"max_order_amount": "1000000"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["currency"], "JPY", "{}", reply.text);
    let (influencer, link, key) = coupon_link(&app, &mer, &program).await;
    // ¥12,345 at 20 %: ¥2,469, of which the influencer earns ¥1,975.
    let order = json!({"order_id": "yen-1", "amount": "12345", "currency": "JPY",
                       "ordered_at": chrono::Utc::now().to_rfc3339(), "coupon_code": "ANA20"});
    let recorded = app
        .call(Method::POST, "/v1/conversions", Some(&key), Some(order))
        .await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);

    let email = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move {
            app.call(Method::GET, "/v1/me", Some(&token), None)
                .await
                .json["email"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let merchant_home = get(
        &app,
        "/dashboard",
        Some(&session_for(&app, &email(&mer).await).await),
    )
    .await;
    assert!(
        merchant_home.text.contains("¥2,469"),
        "{}",
        merchant_home.text
    );
    assert!(
        !merchant_home.text.contains("$2,469"),
        "{}",
        merchant_home.text
    );
    let home = get(
        &app,
        "/dashboard",
        Some(&session_for(&app, &email(&influencer).await).await),
    )
    .await;
    assert!(home.text.contains("Earnings in JPY"), "{}", home.text);
    assert!(home.text.contains("¥1,975"), "{}", home.text);
    assert!(
        home.text.contains("¥12,345"),
        "the link's revenue: {}",
        home.text
    );
    assert!(
        !home.text.contains("Earnings in USD"),
        "no balance in a currency never earned in"
    );
    // Every amount of the API carries its currency.
    let shown = app
        .call(
            Method::GET,
            &format!("/v1/links/{link}"),
            Some(&influencer),
            None,
        )
        .await;
    assert_eq!(
        (&shown.json["currency"], &shown.json["total_revenue"]),
        (&json!("JPY"), &json!("12345.00")),
        "{}",
        shown.text
    );
    let daily = app
        .call(
            Method::GET,
            &format!("/v1/links/{link}/daily"),
            Some(&influencer),
            None,
        )
        .await;
    assert!(
        daily
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["currency"] == "JPY"),
        "{}",
        daily.text
    );
    let me = app
        .call(Method::GET, "/v1/influencer", Some(&influencer), None)
        .await;
    assert_eq!(me.json["primary_currency"], "JPY", "{}", me.text);
    assert_eq!(me.json["total_earned"], "1975.00", "{}", me.text);
    let invoices = app
        .call(Method::GET, "/v1/merchant/invoices", Some(&mer), None)
        .await;
    assert_eq!(invoices.json["currency"], "JPY", "{}", invoices.text);
    let members = app
        .call(
            Method::GET,
            &format!("/v1/programs/{program}/members"),
            Some(&mer),
            None,
        )
        .await;
    assert_eq!(members.json["currency"], "JPY", "{}", members.text);
    // A yen maximum in whole yen only.
    let fraction = app
        .call(
            Method::PUT,
            "/v1/merchant/max-order-amount",
            Some(&mer),
            Some(json!({"max_order_amount": "1000.50"})),
        )
        .await;
    assert_eq!(
        fraction.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        fraction.text
    );
    let products = app
        .call(Method::GET, "/v1/products", Some(&mer), None)
        .await;
    assert_eq!(
        products.json["items"][0]["currency"], "JPY",
        "{}",
        products.text
    );
}

const INSTAGRAM_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 537288532)";
const TIKTOK_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.193 Mobile Safari/537.36 trill_330304 BytedanceWebview/d8a21c6 musical_ly_2023303040 AppName/musical_ly ByteLocale/en";
const CHROME_DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/// A shopper's click on link `id` with `agent`, from `country` if any.
fn click_on(id: &str, agent: &str, country: Option<&str>) -> skinstack_core::Click {
    let country = country.map(|c| skinstack_core::Country::parse(c).unwrap());
    skinstack_core::Click::new(
        skinstack_core::LinkId::from_uuid(id.parse().unwrap()),
        None,
        Some(agent),
        None,
    )
    .in_country(country)
}

/// Records an order of `amount` USD that `click` brought, through the shop's API key.
async fn order_by(
    app: &TestApp,
    key: &str,
    order: &str,
    amount: &str,
    click: &skinstack_core::Click,
) {
    let body = json!({"order_id": order, "amount": amount, "currency": "USD",
                      "ordered_at": (click.at + chrono::Duration::seconds(30)).to_rfc3339(),
                      "click_id": click.id.to_string()});
    let reply = app
        .call(Method::POST, "/v1/conversions", Some(key), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["attribution"]["by"], "click", "{}", reply.text);
}

/// The part of `html` from the figure of class `bars <dimension>` to its end.
fn figure_of<'a>(html: &'a str, dimension: &str) -> &'a str {
    let (_, rest) = html
        .split_once(&format!("<figure class=\"bars {dimension}\">"))
        .unwrap_or_else(|| panic!("no {dimension} figure in {html}"));
    rest.split("</figure>").next().unwrap()
}

/// A table row of a breakdown: the value's name, then its cells; a cell written `~40%` is a
/// share (which phones leave out).
fn table_row(name: &str, cells: &[&str]) -> String {
    let cells: String = cells
        .iter()
        .map(|c| match c.strip_prefix('~') {
            Some(share) => format!("<td class=\"num share\">{share}</td>"),
            None => format!("<td class=\"num\">{c}</td>"),
        })
        .collect();
    format!("<th scope=\"row\">{name}</th>{cells}")
}

/// Two links of one influencer: on the first, two Instagram clicks from Germany (one a QR
/// scan) of which one sold 45.00 (7.20 earned), a TikTok click from the US and a desktop
/// click from nowhere; on the second, a desktop QR scan from France. The home page adds them
/// up, each link's page has its own, and another influencer sees none of them.
#[tokio::test]
async fn influencers_see_where_their_clicks_come_from_with_conversion_rate_and_epc() {
    let app = TestApp::memory();
    let (mer, program) = shop(&app, "Serum").await;
    let (session, _, _) = dashboard_login(&app, "influencer").await;
    let token = session.split_once('=').unwrap().1.to_owned();
    let link = |app: &TestApp| {
        let (app, token, program) = (app.clone(), token.clone(), program.clone());
        async move {
            app.create(&token, "/v1/links", json!({"program_id": program}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (first, second) = (link(&app).await, link(&app).await);
    let sold = click_on(&first, INSTAGRAM_IPHONE, Some("DE"));
    let clicks = [
        sold.clone(),
        click_on(&first, INSTAGRAM_IPHONE, Some("de")).from_source(skinstack_core::ClickSource::Qr),
        click_on(&first, TIKTOK_ANDROID, Some("US")),
        click_on(&first, CHROME_DESKTOP, None),
        click_on(&second, CHROME_DESKTOP, Some("FR")).from_source(skinstack_core::ClickSource::Qr),
    ];
    app.store.record_clicks(&clicks).await.unwrap();
    let key = app
        .create(&mer, "/v1/merchant/api-keys", json!({"name": "Shop"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    order_by(&app, &key, "bd-1", "45.00", &sold).await;

    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let text = &home.text;
    assert!(text.contains("Where your clicks come from"), "{text}");
    // Five clicks, two of them scans, one sale: 20 %, and 7.20 over 5 clicks is 144.00 per 100.
    for (term, figure) in [("Clicks", "5"), ("QR scans", "2"), ("Sales", "1")] {
        assert!(
            text.contains(&format!("<dt>{term}</dt><dd>{figure}</dd>")),
            "{term}: {text}"
        );
    }
    assert!(
        text.contains("Conv. rate</abbr></dt><dd>20%</dd>"),
        "{text}"
    );
    assert!(text.contains("EPC</abbr></dt><dd>$144.00</dd>"), "{text}");
    let platforms = figure_of(text, "platform");
    assert!(platforms.contains("role=\"img\""), "{platforms}");
    assert!(
        platforms.contains("aria-label=\"Top platforms by clicks: Instagram 2 · 40%, Browser (no app) 2 · 40%, TikTok 1 · 20%\""),
        "{platforms}"
    );
    assert!(
        platforms.contains("<title>Top platforms by clicks: Instagram"),
        "{platforms}"
    );
    // Instagram sold once in two clicks: 50 %, and 7.20 per 2 clicks is 360.00 per 100.
    assert!(
        platforms.contains(&table_row(
            "Instagram",
            &["2", "~40%", "1", "50%", "$360.00"]
        )),
        "{platforms}"
    );
    assert!(
        platforms.contains(&table_row(
            "Browser (no app)",
            &["2", "~40%", "0", "0%", "$0.00"]
        )),
        "{platforms}"
    );
    assert!(
        platforms.contains(&table_row("TikTok", &["1", "~20%", "0", "0%", "$0.00"])),
        "{platforms}"
    );
    let devices = figure_of(text, "device");
    assert!(
        devices.contains(&table_row(
            "Phone",
            &["3", "~60%", "1", "33.33%", "$240.00"]
        )),
        "{devices}"
    );
    assert!(
        devices.contains(&table_row("Computer", &["2", "~40%", "0", "0%", "$0.00"])),
        "{devices}"
    );
    let countries = figure_of(text, "country");
    for (name, clicks, part) in [
        ("Germany", "2", "40%"),
        ("France", "1", "20%"),
        ("United States", "1", "20%"),
        ("Unknown", "1", "20%"),
    ] {
        assert!(countries.contains(&format!("<th scope=\"row\">{name}</th><td class=\"num\">{clicks}</td><td class=\"num share\">{part}</td>")), "{name}: {countries}");
    }
    let sources = figure_of(text, "source");
    assert!(
        sources.contains(&table_row("Link", &["3", "~60%", "1", "33.33%", "$240.00"])),
        "{sources}"
    );
    assert!(
        sources.contains(&table_row("QR code", &["2", "~40%", "0", "0%", "$0.00"])),
        "{sources}"
    );
    assert!(
        !text.contains("Commission"),
        "the influencer's page shows no gross: {text}"
    );

    // The first link's page: its four clicks only.
    let page = get(&app, &format!("/dashboard/links/{first}"), Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("Where this link's clicks come from"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("<dt>Clicks</dt><dd>4</dd>"),
        "{}",
        page.text
    );
    let platforms = figure_of(&page.text, "platform");
    assert!(
        platforms.contains(&table_row(
            "Instagram",
            &["2", "~50%", "1", "50%", "$360.00"]
        )),
        "{platforms}"
    );
    let countries = figure_of(&page.text, "country");
    assert!(
        !countries.contains("France"),
        "the other link's click: {countries}"
    );
    let sources = figure_of(&page.text, "source");
    assert!(
        sources.contains(&table_row("QR code", &["1", "~25%", "0", "0%", "$0.00"])),
        "{sources}"
    );
    let second_page = get(&app, &format!("/dashboard/links/{second}"), Some(&session)).await;
    let countries = figure_of(&second_page.text, "country");
    assert!(
        countries.contains(&table_row("France", &["1", "~100%", "0", "0%", "$0.00"])),
        "{countries}"
    );
    assert!(!countries.contains("Germany"), "{countries}");

    // Another influencer: the section, empty.
    let (other, _, _) = dashboard_login(&app, "influencer").await;
    let theirs = get(&app, "/dashboard", Some(&other)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(
        theirs.text.contains("No clicks in the last 30 days yet"),
        "{}",
        theirs.text
    );
    for seen in ["Germany", "Instagram", "$360.00", "<figure class=\"bars"] {
        assert!(!theirs.text.contains(seen), "{seen}: {}", theirs.text);
    }
    assert_eq!(
        get(&app, &format!("/dashboard/links/{first}"), Some(&other))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Two members: Ana's link to the product has three clicks and a 45.00 sale, Bea's (whose
/// name is markup) to the shop's site one click and a 90.00 sale, so by revenue Bea comes
/// first although Ana has more clicks. Names are escaped in the chart and the table; another
/// merchant sees none of it.
#[tokio::test]
async fn merchants_see_members_ranked_by_revenue_top_products_and_countries() {
    let app = TestApp::memory();
    let hostile = "<b>Bea</b> & \"Co\"";
    let (mer, program) = shop(&app, "Vitamin C Serum").await;
    let product = app
        .call(Method::GET, "/v1/products", Some(&mer), None)
        .await
        .json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = |name: &'static str, product: Option<String>| {
        let (app, program) = (app.clone(), program.clone());
        async move {
            let (token, _) = app.account("influencer").await;
            let mut profile = influencer_profile();
            profile["display_name"] = json!(name);
            app.create(&token, "/v1/influencer", profile).await;
            app.create(
                &token,
                "/v1/links",
                json!({"program_id": program, "product_id": product}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let ana = member("Ana Glow", Some(product)).await;
    let bea = member(hostile, None).await;
    let (ana_sale, bea_sale) = (
        click_on(&ana, INSTAGRAM_IPHONE, Some("DE")),
        click_on(&bea, TIKTOK_ANDROID, None),
    );
    let clicks = [
        ana_sale.clone(),
        click_on(&ana, CHROME_DESKTOP, Some("DE")),
        click_on(&ana, INSTAGRAM_IPHONE, Some("US")).from_source(skinstack_core::ClickSource::Qr),
        bea_sale.clone(),
    ];
    app.store.record_clicks(&clicks).await.unwrap();
    let key = app
        .create(&mer, "/v1/merchant/api-keys", json!({"name": "Shop"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    order_by(&app, &key, "ana-1", "45.00", &ana_sale).await;
    order_by(&app, &key, "bea-1", "90.00", &bea_sale).await;

    let email = app.call(Method::GET, "/v1/me", Some(&mer), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = session_for(&app, &email).await;
    let home = get(&app, "/dashboard", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let text = &home.text;
    assert!(text.contains("Who sells"), "{text}");
    let escaped = "&lt;b&gt;Bea&lt;/b&gt; &amp; &quot;Co&quot;";
    assert!(!text.contains("<b>Bea"), "{text}");
    let members = figure_of(text, "member");
    assert!(
        members.contains(&format!(
            "aria-label=\"Members by revenue: {escaped} $90.00, Ana Glow $45.00\""
        )),
        "{members}"
    );
    // Bea: one sale in one click, 14.40 earned, so 1,440.00 per 100 clicks; Ana: one in three.
    let bea_row = members.find(escaped).unwrap();
    let ana_row = members.rfind("Ana Glow").unwrap();
    assert!(bea_row < ana_row, "by revenue, not clicks: {members}");
    assert!(members.contains("<td class=\"num\">$90.00</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">100%</td><td class=\"num\">$1,440.00</td>"), "{members}");
    assert!(members.contains("<td class=\"num\">$45.00</td><td class=\"num\">1</td><td class=\"num\">3</td><td class=\"num\">33.33%</td><td class=\"num\">$240.00</td>"), "{members}");
    // Each member's clicks a day, all of them today.
    assert!(
        members.contains("aria-label=\"Clicks per day: 3 in all, best day 3\""),
        "{members}"
    );
    assert!(
        members.contains("aria-label=\"Clicks per day: 1 in all, best day 1\""),
        "{members}"
    );
    assert_eq!(
        members.matches("<svg class=\"spark\"").count(),
        2,
        "{members}"
    );
    let products = figure_of(text, "product");
    assert!(
        products.contains(&table_row(
            "No product (the shop's site)",
            &["$90.00", "1", "1", "100%"]
        )),
        "{products}"
    );
    assert!(
        products.contains(&table_row(
            "Vitamin C Serum",
            &["$45.00", "1", "3", "33.33%"]
        )),
        "{products}"
    );
    let countries = figure_of(text, "country");
    assert!(
        countries.contains(&table_row("Germany", &["2", "~50%", "1", "$45.00"])),
        "{countries}"
    );
    assert!(
        countries.contains(&table_row("Unknown", &["1", "~25%", "1", "$90.00"])),
        "{countries}"
    );
    assert!(
        countries.contains(&table_row("United States", &["1", "~25%", "0", "$0.00"])),
        "{countries}"
    );

    // Another merchant: the section, empty.
    let (other, _, _) = dashboard_login(&app, "merchant").await;
    let theirs = get(&app, "/dashboard", Some(&other)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(
        theirs
            .text
            .contains("No clicks or sales in the last 30 days yet"),
        "{}",
        theirs.text
    );
    for seen in [
        "Bea",
        "Ana Glow",
        "Germany",
        "$90.00",
        "<figure class=\"bars",
    ] {
        assert!(!theirs.text.contains(seen), "{seen}: {}", theirs.text);
    }
}
