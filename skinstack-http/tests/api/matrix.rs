//! Every route × every role × own and someone else's resource, with the exact status.
//! The same walk runs on the in-memory store and on PostgreSQL, and its route list must be
//! exactly the routes the served OpenAPI document lists.

use crate::helpers::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// Influencer A: owns the links under test.
    Influencer,
    /// Influencer B: someone else's links.
    OtherInfluencer,
    /// Merchant A: owns the program and product under test.
    Merchant,
    /// Merchant B: someone else's program and product.
    OtherMerchant,
    Admin,
}

use Role::*;

/// Owners act last, so a mutation that succeeds (deactivate, delete) cannot change what the
/// other roles see.
const ORDER: [Role; 6] = [
    Anonymous,
    OtherInfluencer,
    OtherMerchant,
    Admin,
    Merchant,
    Influencer,
];

/// The resources the walk refers to, all created through the API.
struct World {
    tokens: Vec<(Role, String)>,
    program: String,
    spare_program: String,
    product: String,
    link: String,
    spare_link: String,
    spare_user: String,
    spare_user_email: String,
    spare_merchant: String,
    /// Merchant A's API key.
    api_key: String,
    /// Influencer A's profile id.
    influencer_id: String,
    /// Merchant A's programs for enrollment, in approval mode unless named otherwise:
    /// influencer A's application is pending in `approval_program`, `withdraw_program` and
    /// `reject_program`; A is a member of the open `ban_program`, and invited by email to the
    /// invite-only `invite_program` with `invite_token`.
    approval_program: String,
    withdraw_program: String,
    reject_program: String,
    ban_program: String,
    invite_token: String,
    /// A code influencer A requested for her link, for merchant A to approve.
    requested_code: String,
    /// A code merchant A assigned to influencer A's link, to revoke.
    assigned_code: String,
    /// Merchant A's conversion, held from the start (above the merchant's maximum).
    held: String,
    /// Merchant A's statement of this month, billing one approved commission.
    invoice: String,
}

impl World {
    fn token(&self, role: Role) -> Option<String> {
        self.tokens
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, t)| t.clone())
    }
}

async fn world(app: &TestApp) -> World {
    let (inf, _) = app.account("influencer").await;
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let (inf2, _) = app.account("influencer").await;
    app.create(&inf2, "/v1/influencer", influencer_profile())
        .await;
    let (mer, _) = app.account("merchant").await;
    let merchant_id = app.create(&mer, "/v1/merchant", merchant_profile()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mer2, _) = app.account("merchant").await;
    app.create(&mer2, "/v1/merchant", merchant_profile()).await;
    let (admin, _, _) = app.admin().await;

    let program = app.create(&mer, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spare_program = app.create(&mer, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(&mer2, "/v1/programs", program_json()).await;
    let product = app
        .create(&mer, "/v1/products", product_json(Some(&program)))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link_body = json!({"program_id": program, "product_id": product});
    let link = app.create(&inf, "/v1/links", link_body.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spare_link = app.create(&inf, "/v1/links", link_body.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(&inf2, "/v1/links", link_body).await;

    let spare_user_email = format!("spare-{}@example.com", uuid::Uuid::new_v4().simple());
    let reply = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"email": spare_user_email, "password": PASSWORD, "role": "influencer"})),
        )
        .await;
    let spare_user = reply.json["id"].as_str().unwrap().to_owned();
    let (spare_mer, _) = app.account("merchant").await;
    let spare_merchant = app
        .create(&spare_mer, "/v1/merchant", merchant_profile())
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let api_key = app
        .create(&mer, "/v1/merchant/api-keys", json!({"name": "Back end"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Billed before merchant A's maximum drops below its order.
    let invoice = issued_invoice(app, &merchant_id, &program, &link).await;
    let influencer_id = app
        .call(Method::GET, "/v1/influencer", Some(&inf), None)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inf_email = app.call(Method::GET, "/v1/me", Some(&inf), None).await.json["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut enrolment = Vec::new();
    for mode in ["approval", "approval", "approval", "open", "invite"] {
        let mut body = program_json();
        body["enrollment_mode"] = json!(mode);
        let id = app.create(&mer, "/v1/programs", body).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if mode != "invite" {
            app.create(&inf, &format!("/v1/programs/{id}/apply"), json!({}))
                .await;
        }
        enrolment.push(id);
    }
    let invite_token = app
        .create(
            &mer,
            &format!("/v1/programs/{}/invitations", enrolment[4]),
            json!({ "email": inf_email }),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let [approval_program, withdraw_program, reject_program, ban_program, _] =
        <[String; 5]>::try_from(enrolment.clone()).unwrap();
    let requested_code = app
        .create(
            &inf,
            "/v1/influencer/coupon-codes",
            json!({"link_id": link, "code": "WORLD-REQUESTED"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assigned_code = app
        .create(
            &mer,
            "/v1/merchant/coupon-codes",
            json!({"link_id": link, "code": "WORLD-ASSIGNED"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An attributed order above merchant A's maximum: held from the start.
    let coupon_link = app
        .create(&inf, "/v1/links", json!({"program_id": program}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(
        &mer,
        "/v1/merchant/coupon-codes",
        json!({"link_id": coupon_link, "code": "MATRIX20"}),
    )
    .await;
    let key = app
        .create(&mer, "/v1/merchant/api-keys", json!({"name": "Orders"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let max = app
        .call(
            Method::PUT,
            "/v1/merchant/max-order-amount",
            Some(&mer),
            Some(json!({"max_order_amount": "10.00"})),
        )
        .await;
    assert_eq!(max.status, StatusCode::OK, "{}", max.text);
    // Coupons attribute orders placed from their assignment on.
    let ordered_at = chrono::Utc::now().to_rfc3339();
    let held = app
        .create(
            &key,
            "/v1/conversions",
            json!({"order_id": "matrix-held", "amount": "45.00", "currency": "USD",
                   "ordered_at": ordered_at, "coupon_code": "MATRIX20"}),
        )
        .await;
    assert_eq!(
        held["hold_reasons"],
        json!(["order_above_maximum"]),
        "{held}"
    );
    let held = held["id"].as_str().unwrap().to_owned();

    World {
        influencer_id,
        approval_program,
        withdraw_program,
        reject_program,
        ban_program,
        invite_token,
        tokens: vec![
            (Influencer, inf),
            (OtherInfluencer, inf2),
            (Merchant, mer),
            (OtherMerchant, mer2),
            (Admin, admin),
        ],
        program,
        spare_program,
        product,
        link,
        spare_link,
        spare_user,
        spare_user_email,
        spare_merchant,
        api_key,
        requested_code,
        assigned_code,
        held,
        invoice,
    }
}

/// A statement of merchant A for this month: one clicked order on `link`, in a program without
/// a hold, approved and billed.
async fn issued_invoice(app: &TestApp, merchant: &str, program: &str, link: &str) -> String {
    use skinstack_core::service::conversions::{approve_due, record_conversion, RecordConversion};
    use skinstack_core::service::invoices::create_statements;
    use skinstack_core::*;
    let uuid = |id: &str| uuid::Uuid::parse_str(id).unwrap();
    let merchant = MerchantId::from_uuid(uuid(merchant));
    let store = &*app.store;
    store
        .set_program_hold_days(
            ProgramId::from_uuid(uuid(program)),
            HoldDays::new(0).unwrap(),
        )
        .await
        .unwrap();
    let link = store
        .link_by_id(LinkId::from_uuid(uuid(link)))
        .await
        .unwrap();
    // The app may run on its own clock: time everything from the link's creation.
    let clicked = link.created_at + chrono::Duration::seconds(1);
    let now = clicked + chrono::Duration::seconds(1);
    let mut click = Click::new(link.id, None, Some("Mozilla/5.0"), None);
    click.at = clicked;
    store.record_clicks(&[click.clone()]).await.unwrap();
    let order = RecordConversion {
        merchant_id: merchant,
        order_id: ShopRef::parse("matrix-1").unwrap(),
        amount: Money::new(rust_decimal::Decimal::new(10_000, 2)).unwrap(),
        currency: Currency::USD,
        ordered_at: now,
        click_id: Some(click.id),
        coupon_code: None,
        product_external_ids: Vec::new(),
        customer_email: None,
        shopper_ip: None,
    };
    let recorded = record_conversion(store, now, order).await.unwrap();
    assert!(recorded.conversion.attribution.is_some());
    approve_due(store, now + chrono::Duration::seconds(1))
        .await
        .unwrap();
    let at = now + chrono::Duration::seconds(2);
    let issued = create_statements(store, BillingPeriod::containing(at), Some(merchant), at)
        .await
        .unwrap();
    match &issued[..] {
        [(_, StatementIssue::Issued(s))] => s.id.to_string(),
        other => panic!("expected a statement, got {other:?}"),
    }
}

/// A coupon code body for influencer A's link with a code nobody has yet.
fn fresh_code(w: &World) -> Option<Value> {
    Some(json!({"link_id": w.link, "code": format!("C{}", uuid::Uuid::new_v4().simple())}))
}

/// One route: how to call it and what each role gets.
struct Case {
    method: Method,
    /// The route template as the OpenAPI document names it.
    route: &'static str,
    /// The concrete path.
    path: String,
    /// A fresh body for each call (unique emails and external ids).
    body: fn(&World) -> Option<Value>,
    /// Log in afresh for this call (logout spends the token).
    fresh_token: bool,
    /// Status by role, in the order of `ORDER`: anonymous, other influencer, other merchant,
    /// admin, merchant, influencer.
    expect: [u16; 6],
}

fn none(_: &World) -> Option<Value> {
    None
}

fn cases(w: &World) -> Vec<Case> {
    use Method as M;
    let case = |method: M,
                route: &'static str,
                path: String,
                body: fn(&World) -> Option<Value>,
                expect| Case {
        method,
        route,
        path,
        body,
        fresh_token: false,
        expect,
    };
    //                       anon  inf2  mer2 admin  mer   inf
    vec![
        case(
            M::POST,
            "/v1/auth/register",
            "/v1/auth/register".into(),
            |_| {
                Some(json!({
            "email": format!("new-{}@example.com", uuid::Uuid::new_v4().simple()),
            "password": PASSWORD, "role": "merchant"}))
            },
            [201, 201, 201, 201, 201, 201],
        ),
        case(
            M::POST,
            "/v1/auth/login",
            "/v1/auth/login".into(),
            |w| {
                Some(json!({
            "email": w.spare_user_email, "password": PASSWORD}))
            },
            [200, 200, 200, 200, 200, 200],
        ),
        Case {
            fresh_token: true,
            ..case(
                M::POST,
                "/v1/auth/logout",
                "/v1/auth/logout".into(),
                none,
                [401, 204, 204, 204, 204, 204],
            )
        },
        case(
            M::GET,
            "/v1/me",
            "/v1/me".into(),
            none,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::POST,
            "/v1/influencer",
            "/v1/influencer".into(),
            |_| Some(influencer_profile()),
            [401, 409, 403, 403, 403, 409],
        ),
        case(
            M::GET,
            "/v1/influencer",
            "/v1/influencer".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/v1/influencer",
            "/v1/influencer".into(),
            |_| Some(json!({"total_followers": 5})),
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::POST,
            "/v1/merchant",
            "/v1/merchant".into(),
            |_| Some(merchant_profile()),
            [401, 403, 409, 403, 409, 403],
        ),
        case(
            M::GET,
            "/v1/merchant",
            "/v1/merchant".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/merchant",
            "/v1/merchant".into(),
            |_| Some(json!({"business_name": "Glow Co"})),
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/programs",
            "/v1/programs".into(),
            |_| Some(program_json()),
            [401, 403, 201, 403, 201, 403],
        ),
        case(
            M::GET,
            "/v1/programs",
            "/v1/programs".into(),
            none,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::GET,
            "/v1/programs/{id}",
            format!("/v1/programs/{}", w.program),
            none,
            [401, 200, 404, 200, 200, 200],
        ),
        case(
            M::PATCH,
            "/v1/programs/{id}",
            format!("/v1/programs/{}", w.program),
            |_| Some(json!({"name": "Glow Ambassadors"})),
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/deactivate",
            format!("/v1/programs/{}/deactivate", w.spare_program),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        // Enrollment: an influencer only ever acts on their own membership, a merchant only
        // on its own programs' members (someone else's program is 404, as if absent).
        case(
            M::GET,
            "/v1/directory",
            "/v1/directory".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/memberships",
            "/v1/memberships".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/apply",
            format!("/v1/programs/{}/apply", w.approval_program),
            |_| Some(json!({"message": "I post skincare routines daily."})),
            [401, 201, 403, 403, 403, 409],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/withdraw",
            format!("/v1/programs/{}/withdraw", w.withdraw_program),
            none,
            [401, 404, 403, 403, 403, 204],
        ),
        case(
            M::POST,
            "/v1/invitations/accept",
            "/v1/invitations/accept".into(),
            |w| Some(json!({"token": w.invite_token})),
            [401, 404, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/programs/{id}/members",
            format!("/v1/programs/{}/members?state=pending", w.approval_program),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/invitations",
            format!("/v1/programs/{}/invitations", w.approval_program),
            |_| {
                Some(json!({
            "email": format!("invitee-{}@example.com", uuid::Uuid::new_v4().simple())}))
            },
            [401, 403, 404, 403, 201, 403],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/members/{influencer_id}/approve",
            format!(
                "/v1/programs/{}/members/{}/approve",
                w.approval_program, w.influencer_id
            ),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/members/{influencer_id}/reject",
            format!(
                "/v1/programs/{}/members/{}/reject",
                w.reject_program, w.influencer_id
            ),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/programs/{id}/members/{influencer_id}/ban",
            format!(
                "/v1/programs/{}/members/{}/ban",
                w.ban_program, w.influencer_id
            ),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/products",
            "/v1/products".into(),
            |_| Some(product_json(None)),
            [401, 403, 201, 403, 201, 403],
        ),
        case(
            M::GET,
            "/v1/products",
            "/v1/products".into(),
            none,
            [401, 200, 200, 200, 200, 200],
        ),
        case(
            M::GET,
            "/v1/products/{id}",
            format!("/v1/products/{}", w.product),
            none,
            [401, 200, 404, 200, 200, 200],
        ),
        case(
            M::PATCH,
            "/v1/products/{id}",
            format!("/v1/products/{}", w.product),
            |_| Some(json!({"in_stock": true})),
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/links",
            "/v1/links".into(),
            |w| Some(json!({"program_id": w.program})),
            [401, 201, 403, 403, 403, 201],
        ),
        case(
            M::GET,
            "/v1/links",
            "/v1/links".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/links/{id}",
            format!("/v1/links/{}", w.link),
            none,
            [401, 404, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/links/{id}/qr.svg",
            format!("/v1/links/{}/qr.svg", w.link),
            none,
            [401, 404, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/links/{id}/qr.png",
            format!("/v1/links/{}/qr.png?size=128", w.link),
            none,
            [401, 404, 403, 403, 403, 200],
        ),
        case(
            M::PATCH,
            "/v1/links/{id}",
            format!("/v1/links/{}", w.link),
            |_| Some(json!({"is_active": true})),
            [401, 404, 403, 403, 403, 200],
        ),
        case(
            M::DELETE,
            "/v1/links/{id}",
            format!("/v1/links/{}", w.spare_link),
            none,
            [401, 404, 403, 403, 403, 204],
        ),
        case(
            M::GET,
            "/v1/links/{id}/daily",
            format!("/v1/links/{}/daily", w.link),
            none,
            [401, 404, 403, 403, 403, 200],
        ),
        // Breakdowns: someone else's link or program is 404, as if absent.
        case(
            M::GET,
            "/v1/links/{id}/breakdowns/{dimension}",
            format!("/v1/links/{}/breakdowns/source", w.link),
            none,
            [401, 404, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/influencer/breakdowns/{dimension}",
            "/v1/influencer/breakdowns/country?format=csv".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/programs/{id}/breakdowns/{dimension}",
            format!("/v1/programs/{}/breakdowns/member", w.program),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/breakdowns/{dimension}",
            "/v1/merchant/breakdowns/product".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/merchant/api-keys",
            "/v1/merchant/api-keys".into(),
            |_| Some(json!({"name": "Back end"})),
            [401, 403, 201, 403, 201, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/api-keys",
            "/v1/merchant/api-keys".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::DELETE,
            "/v1/merchant/api-keys/{id}",
            format!("/v1/merchant/api-keys/{}", w.api_key),
            none,
            [401, 403, 404, 403, 204, 403],
        ),
        // Merchant B's programs do not have influencer A's link: as if it did not exist.
        case(
            M::POST,
            "/v1/merchant/coupon-codes",
            "/v1/merchant/coupon-codes".into(),
            fresh_code,
            [401, 403, 404, 403, 201, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/coupon-codes",
            "/v1/merchant/coupon-codes".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/merchant/coupon-codes/{id}/approve",
            format!("/v1/merchant/coupon-codes/{}/approve", w.requested_code),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/merchant/coupon-codes/{id}/revoke",
            format!("/v1/merchant/coupon-codes/{}/revoke", w.assigned_code),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        // Influencer B cannot ask for a code on influencer A's link.
        case(
            M::POST,
            "/v1/influencer/coupon-codes",
            "/v1/influencer/coupon-codes".into(),
            fresh_code,
            [401, 404, 403, 403, 403, 201],
        ),
        case(
            M::GET,
            "/v1/influencer/coupon-codes",
            "/v1/influencer/coupon-codes".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        // A session token of any role is not a merchant API key.
        case(
            M::POST,
            "/v1/conversions",
            "/v1/conversions".into(),
            |_| {
                Some(
                    json!({"order_id": "m-1", "amount": "45.00", "currency": "USD",
                    "ordered_at": "2026-03-01T12:00:00Z"}),
                )
            },
            [401; 6],
        ),
        // Admin acts before the merchant: the admin's hold keeps it held, the admin's void
        // leaves nothing held for the merchant's void or either release.
        case(
            M::POST,
            "/v1/conversions/{id}/hold",
            format!("/v1/conversions/{}/hold", w.held),
            none,
            [401, 403, 404, 200, 200, 403],
        ),
        case(
            M::POST,
            "/v1/conversions/{id}/void",
            format!("/v1/conversions/{}/void", w.held),
            none,
            [401, 403, 404, 200, 409, 403],
        ),
        case(
            M::POST,
            "/v1/conversions/{id}/release",
            format!("/v1/conversions/{}/release", w.held),
            none,
            [401, 403, 404, 409, 409, 403],
        ),
        case(
            M::PUT,
            "/v1/merchant/max-order-amount",
            "/v1/merchant/max-order-amount".into(),
            |_| Some(json!({"max_order_amount": "10000.00"})),
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/refunds",
            "/v1/refunds".into(),
            |_| Some(json!({"order_id": "m-1", "refund_id": "r-1", "amount": "1.00"})),
            [401; 6],
        ),
        case(
            M::GET,
            "/v1/influencer/earnings",
            "/v1/influencer/earnings".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/influencer/conversions",
            "/v1/influencer/conversions".into(),
            none,
            [401, 200, 403, 403, 403, 200],
        ),
        case(
            M::GET,
            "/v1/merchant/conversions",
            "/v1/merchant/conversions".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/commissions",
            "/v1/merchant/commissions".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/invoices",
            "/v1/merchant/invoices".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/invoices/{id}",
            format!("/v1/merchant/invoices/{}", w.invoice),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/invoices/{id}/csv",
            format!("/v1/merchant/invoices/{}/csv", w.invoice),
            none,
            [401, 403, 404, 403, 200, 403],
        ),
        case(
            M::POST,
            "/v1/admin/invoices",
            "/v1/admin/invoices".into(),
            |_| Some(json!({"period": chrono::Utc::now().format("%Y-%m").to_string()})),
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::POST,
            "/v1/admin/invoices/{id}/paid",
            format!("/v1/admin/invoices/{}/paid", w.invoice),
            |_| Some(json!({"reference": "WIRE-MATRIX"})),
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::GET,
            "/v1/merchant/webhook-deliveries",
            "/v1/merchant/webhook-deliveries".into(),
            none,
            [401, 403, 200, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/admin/users",
            "/v1/admin/users".into(),
            none,
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::POST,
            "/v1/admin/users/{id}/deactivate",
            format!("/v1/admin/users/{}/deactivate", w.spare_user),
            none,
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::POST,
            "/v1/admin/merchants/{id}/deactivate",
            format!("/v1/admin/merchants/{}/deactivate", w.spare_merchant),
            none,
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/admin/merchants/{id}/verify",
            format!("/v1/admin/merchants/{}/verify", w.spare_merchant),
            none,
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::POST,
            "/v1/admin/merchants/{id}/verify",
            format!("/v1/admin/merchants/{}/verify", w.spare_merchant),
            none,
            [401, 403, 403, 200, 403, 403],
        ),
        case(
            M::PUT,
            "/v1/merchant/shopify-webhook-secret",
            "/v1/merchant/shopify-webhook-secret".into(),
            |_| Some(json!({"secret": "shpss_matrix"})),
            [401, 403, 204, 403, 204, 403],
        ),
        case(
            M::DELETE,
            "/v1/merchant/shopify-webhook-secret",
            "/v1/merchant/shopify-webhook-secret".into(),
            none,
            [401, 403, 204, 403, 204, 403],
        ),
        // Signed by the shop, not by a session: a bearer token opens nothing here.
        case(
            M::POST,
            "/webhooks/shopify/{merchant_id}",
            format!("/webhooks/shopify/{}", w.spare_merchant),
            |_| Some(json!({"id": 1})),
            [401; 6],
        ),
        case(M::GET, "/healthz", "/healthz".into(), none, [200; 6]),
        case(M::GET, "/readyz", "/readyz".into(), none, [200; 6]),
        case(M::GET, "/metrics", "/metrics".into(), none, [200; 6]),
        case(
            M::GET,
            "/openapi.json",
            "/openapi.json".into(),
            none,
            [200; 6],
        ),
    ]
}

async fn walk(app: TestApp) {
    let w = world(&app).await;
    let mut failures = Vec::new();
    let mut calls = 0;
    for case in cases(&w) {
        for (role, expected) in ORDER.iter().zip(case.expect) {
            let token = match (role, case.fresh_token) {
                (Anonymous, _) => None,
                (_, false) => w.token(*role),
                (_, true) => Some(fresh_token(&app, &w, *role).await),
            };
            let reply = app
                .call(
                    case.method.clone(),
                    &case.path,
                    token.as_deref(),
                    (case.body)(&w),
                )
                .await;
            calls += 1;
            if reply.status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {role:?}: expected {expected}, got {} {}",
                    case.method, case.route, reply.status, reply.text
                ));
            }
            if !reply.status.is_success() {
                assert!(
                    reply.json["message"].is_string(),
                    "{} {} as {role:?}: error body without a message: {}",
                    case.method,
                    case.route,
                    reply.text
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A token of its own for `role`, for calls that spend one.
async fn fresh_token(app: &TestApp, w: &World, role: Role) -> String {
    let token = w.token(role).unwrap();
    let me = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    app.login(me.json["email"].as_str().unwrap()).await
}

#[tokio::test]
async fn every_route_answers_every_role_exactly_on_memory() {
    walk(TestApp::memory()).await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn every_route_answers_every_role_exactly_on_postgres(pool: sqlx::PgPool) {
    walk(TestApp::postgres(pool)).await;
}

#[tokio::test]
async fn the_matrix_covers_exactly_the_routes_the_openapi_document_lists() {
    let app = TestApp::memory();
    let served = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(served.json["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in served.json["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let w = world(&app).await;
    let walked: BTreeSet<String> = cases(&w)
        .iter()
        .map(|c| format!("{} {}", c.method, c.route))
        .collect();
    assert_eq!(walked, documented);
    // Every operation outside `ops` needs the bearer token (a merchant API key for
    // `conversions`) and documents its 401 with the error schema; every documented error
    // response has a body schema.
    for (path, item) in served.json["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let ops = op["tags"].as_array().unwrap().contains(&json!("ops"));
            let public = ops || path == "/v1/auth/register" || path == "/v1/auth/login";
            let keyed = op["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("conversions"));
            if path.starts_with("/webhooks/shopify/") {
                assert_eq!(op["security"], json!([{"shopify_hmac": []}]), "{name}");
                assert!(op["responses"]["401"].is_object(), "{name} lacks its 401");
            } else if !public {
                let scheme = if keyed { "merchant_api_key" } else { "bearer" };
                assert_eq!(op["security"], json!([{ scheme: [] }]), "{name}");
                assert!(op["responses"]["401"].is_object(), "{name} lacks its 401");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{name} {status}"
                    );
                }
            }
        }
    }
    assert!(served.json["components"]["securitySchemes"]["bearer"].is_object());
    assert!(served.json["components"]["securitySchemes"]["merchant_api_key"].is_object());
    assert_eq!(
        served.json["components"]["securitySchemes"]["shopify_hmac"]["name"],
        "X-Shopify-Hmac-Sha256"
    );
    // And the router really has each documented route: none answers 405, or the router's own
    // 404 (whose message says no route matched; a handler's names what it did not find).
    for case in cases(&w) {
        let reply = app
            .call(
                case.method.clone(),
                &case.path,
                w.token(Admin).as_deref(),
                (case.body)(&w),
            )
            .await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{}",
            case.route
        );
        if reply.status == StatusCode::NOT_FOUND {
            assert!(
                reply.json["message"].is_string()
                    && reply.json["message"] != "no route matches this path",
                "{} not routed",
                case.route
            );
        }
    }
}
