//! Shopify webhooks: verifying their signature and reading `orders/create` and
//! `refunds/create` payloads into [`RecordConversion`] and [`RecordRefund`]. Pure: the HTTP
//! layer hands over the raw body and the `X-Shopify-Hmac-Sha256` header.
//!
//! What is read:
//! - order: `id`; `created_at`; the amount and its currency from
//!   `current_subtotal_price_set.shop_money` — the subtotal after discounts, before tax and
//!   shipping, as a decimal string, in the shop's currency even when the shopper paid in
//!   another (presentment) currency — or, in a payload without that set, from
//!   `current_subtotal_price` and `currency`; the click id from the `ssclid` query parameter of
//!   `landing_site`; the coupon from `discount_codes[0].code`; products from
//!   `line_items[].product_id` as `gid://shopify/Product/<id>`.
//! - refund: `id`, `order_id`, and as amount the sum of `refund_line_items[].subtotal_set.shop_money.amount`:
//!   the refunded subtotal, on the same basis as the order amount, in the lines' one
//!   `shop_money.currency_code`. `transactions` are not used:
//!   they include refunded tax and shipping, which earn no commission. A refund without line
//!   items (shipping only, or an order-level adjustment) therefore reverses nothing.

use crate::domain::ClickId;
use crate::domain::{CampaignCode, Email, ExternalId, MerchantId, Money};
use crate::domain::{Currency, ShopRef};
use crate::error::Invalid;
use crate::service::conversions::{RecordConversion, RecordRefund};
use crate::tracking::redirect::CLICK_ID_PARAM;
use crate::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::Sha256;

/// The order's amount in the shop's currency.
const SHOP_AMOUNT_FIELD: &str = "current_subtotal_price_set.shop_money.amount";
/// The shop's currency of that amount.
const SHOP_CURRENCY_FIELD: &str = "current_subtotal_price_set.shop_money.currency_code";
/// The currency of a refund's lines.
const REFUND_CURRENCY_FIELD: &str = "refund_line_items[].subtotal_set.shop_money.currency_code";

/// The fields naming a currency: a payload refused for one of them is in a currency that
/// cannot be recorded (not ISO 4217, or finer than two decimal places), not malformed.
pub const CURRENCY_FIELDS: [&str; 3] = ["currency", SHOP_CURRENCY_FIELD, REFUND_CURRENCY_FIELD];

/// The header carrying the signature.
pub const HMAC_HEADER: &str = "X-Shopify-Hmac-Sha256";

/// Most entries read from one list of a payload (`line_items`, `refund_line_items`). Far
/// above any real order, and a bound on the work one signed body can cause: without it a
/// 1 MiB body holds some 60 000 line items, each compared with every other.
pub const MAX_LIST_ITEMS: usize = 1_000;

/// `list` as an array of at most [`MAX_LIST_ITEMS`] entries.
fn bounded<'a>(list: &'a Value, field: &'static str) -> Result<&'a [Value], PayloadError> {
    let items = list
        .as_array()
        .ok_or(invalid(field, Invalid::Format("an array")))?;
    if items.len() > MAX_LIST_ITEMS {
        return Err(invalid(
            field,
            Invalid::OutOfRange("at most 1000 entries long"),
        ));
    }
    Ok(items)
}

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON (a truncated body, for example), or not an object.
    #[error("the body is not a JSON object: {0}")]
    NotJson(String),
    /// A required field is absent or null.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A field holds something else than expected.
    #[error("{field} {reason}")]
    Invalid {
        /// The field (a JSON path).
        field: &'static str,
        /// Why.
        reason: Invalid,
    },
}

/// The signature did not match the body under the merchant's secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the webhook signature does not match its body")]
pub struct BadSignature;

/// Checks `header` (base64 HMAC-SHA256 of `body` under `secret`) in constant time.
pub fn verify_hmac(secret: &Secret, body: &[u8], header: &str) -> Result<(), BadSignature> {
    let tag = STANDARD.decode(header.trim()).map_err(|_| BadSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| BadSignature)?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| BadSignature)
}

/// The signature Shopify would send for `body`: for tests and tools.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, PayloadError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PayloadError::NotJson("not an object".to_owned())),
        Err(err) => Err(PayloadError::NotJson(err.to_string())),
    }
}

fn invalid(field: &'static str, reason: Invalid) -> PayloadError {
    PayloadError::Invalid { field, reason }
}

fn present<'a>(
    map: &'a serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<&'a Value, PayloadError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(PayloadError::Missing(field)),
        Some(value) => Ok(value),
    }
}

/// Shopify ids are JSON integers; a string of digits is accepted too.
fn shop_id(value: &Value, field: &'static str) -> Result<ShopRef, PayloadError> {
    let text = match value {
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.clone(),
        _ => return Err(invalid(field, Invalid::Format("a numeric Shopify id"))),
    };
    ShopRef::parse(&text).map_err(|reason| invalid(field, reason))
}

/// Amounts are decimal strings ("45.00"); JSON numbers (binary floats) are refused.
fn amount(value: Option<&Value>, field: &'static str) -> Result<Money, PayloadError> {
    match value {
        None | Some(Value::Null) => Err(PayloadError::Missing(field)),
        Some(Value::String(s)) => Money::parse(s).map_err(|reason| invalid(field, reason)),
        Some(_) => Err(invalid(
            field,
            Invalid::Format("a decimal string such as \"45.00\""),
        )),
    }
}

fn currency(value: Option<&Value>, field: &'static str) -> Result<Currency, PayloadError> {
    match value {
        None | Some(Value::Null) => Err(PayloadError::Missing(field)),
        Some(value) => {
            Currency::parse(string(value, field)?).map_err(|reason| invalid(field, reason))
        }
    }
}

fn string<'a>(value: &'a Value, field: &'static str) -> Result<&'a str, PayloadError> {
    value
        .as_str()
        .ok_or(invalid(field, Invalid::Format("a string")))
}

fn timestamp(value: &Value, field: &'static str) -> Result<DateTime<Utc>, PayloadError> {
    DateTime::parse_from_rfc3339(string(value, field)?)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(field, Invalid::Format("an RFC 3339 timestamp")))
}

/// The `ssclid` of a landing site such as `/products/serum?ssclid=...&utm_source=skinstack`
/// (relative or absolute). An id SkinStack did not issue is ignored, as if absent.
fn click_from_landing_site(landing_site: &str) -> Option<ClickId> {
    let base = url::Url::parse("https://shop.invalid/").ok()?;
    let url = base.join(landing_site).ok()?;
    let value = url
        .query_pairs()
        .find(|(name, _)| name == CLICK_ID_PARAM)
        .map(|(_, value)| value.into_owned())?;
    ClickId::parse(&value)
}

/// The buyer's email: the order's `email`, else its customer's. One SkinStack could not keep
/// is ignored: the order is still recorded, only self-referral cannot be checked.
fn customer_email(order: &serde_json::Map<String, Value>) -> Option<Email> {
    [
        order.get("email"),
        order.get("customer").and_then(|c| c.get("email")),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .find_map(|email| Email::parse(email).ok())
}

/// The address the order was placed from: `browser_ip`, else `client_details.browser_ip`.
/// An unreadable one is ignored, as if absent.
fn browser_ip(order: &serde_json::Map<String, Value>) -> Option<std::net::IpAddr> {
    [
        order.get("browser_ip"),
        order
            .get("client_details")
            .and_then(|c| c.get("browser_ip")),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .find_map(|ip| ip.trim().parse().ok())
}

/// Reads an `orders/create` payload of `merchant`'s shop.
pub fn parse_order(merchant: MerchantId, body: &[u8]) -> Result<RecordConversion, PayloadError> {
    let order = object(body)?;
    let order_id = shop_id(present(&order, "id")?, "id")?;
    let ordered_at = timestamp(present(&order, "created_at")?, "created_at")?;
    let (amount, currency) = match order
        .get("current_subtotal_price_set")
        .and_then(|set| set.get("shop_money"))
    {
        Some(shop) => (
            amount(shop.get("amount"), SHOP_AMOUNT_FIELD)?,
            currency(shop.get("currency_code"), SHOP_CURRENCY_FIELD)?,
        ),
        None => (
            amount(
                order.get("current_subtotal_price"),
                "current_subtotal_price",
            )?,
            currency(order.get("currency"), "currency")?,
        ),
    };
    let click_id = match order.get("landing_site") {
        Some(Value::String(site)) => click_from_landing_site(site),
        _ => None,
    };
    let coupon_code = match order
        .get("discount_codes")
        .and_then(|codes| codes.get(0))
        .and_then(|first| first.get("code"))
    {
        None | Some(Value::Null) => None,
        Some(code) => {
            let code = string(code, "discount_codes[0].code")?;
            // A shop's code SkinStack could never have issued attributes nothing.
            CampaignCode::parse(code).ok()
        }
    };
    let mut product_external_ids = Vec::new();
    if let Some(items @ Value::Array(_)) = order.get("line_items") {
        for item in bounded(items, "line_items")? {
            if let Some(Value::Number(id)) = item.get("product_id") {
                let gid = format!("gid://shopify/Product/{id}");
                let id = ExternalId::parse(&gid)
                    .map_err(|reason| invalid("line_items[].product_id", reason))?;
                if !product_external_ids.contains(&id) {
                    product_external_ids.push(id);
                }
            }
        }
    }
    Ok(RecordConversion {
        merchant_id: merchant,
        order_id,
        amount,
        currency,
        ordered_at,
        click_id,
        coupon_code,
        product_external_ids,
        customer_email: customer_email(&order),
        shopper_ip: browser_ip(&order),
    })
}

/// Reads a `refunds/create` payload of `merchant`'s shop: lines in two currencies are refused;
/// whether their currency is the order's is for the recording to decide.
pub fn parse_refund(merchant: MerchantId, body: &[u8]) -> Result<RecordRefund, PayloadError> {
    let refund = object(body)?;
    let refund_id = shop_id(present(&refund, "id")?, "id")?;
    let order_id = shop_id(present(&refund, "order_id")?, "order_id")?;
    let mut total = Decimal::ZERO;
    let mut lines_currency: Option<Currency> = None;
    if let Some(lines) = refund.get("refund_line_items") {
        for line in bounded(lines, "refund_line_items")? {
            const FIELD: &str = "refund_line_items[].subtotal_set.shop_money.amount";
            let money = line
                .get("subtotal_set")
                .and_then(|set| set.get("shop_money"))
                .ok_or(PayloadError::Missing(FIELD))?;
            if let Some(code) = money.get("currency_code").filter(|c| !c.is_null()) {
                let line = currency(Some(code), REFUND_CURRENCY_FIELD)?;
                if lines_currency.is_some_and(|c| c != line) {
                    return Err(invalid(
                        REFUND_CURRENCY_FIELD,
                        Invalid::Format("one currency for every line"),
                    ));
                }
                lines_currency = Some(line);
            }
            total += amount(money.get("amount"), FIELD)?.amount();
        }
    }
    let amount = Money::new(total).map_err(|reason| invalid("refund_line_items", reason))?;
    Ok(RecordRefund {
        merchant_id: merchant,
        order_id,
        refund_id,
        amount,
        currency: lines_currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const ORDER: &str = r##"{
      "id": 5712345678901,
      "admin_graphql_api_id": "gid://shopify/Order/5712345678901",
      "name": "#1042",
      "email": "shopper@example.com",
      "created_at": "2025-03-01T07:15:42-05:00",
      "currency": "USD",
      "presentment_currency": "USD",
      "current_subtotal_price": "40.50",
      "current_total_price": "47.83",
      "subtotal_price": "40.50",
      "total_discounts": "4.50",
      "landing_site": "/products/vitamin-c-serum?utm_source=skinstack&utm_medium=affiliate&ssclid=0195a3b2c4d57e8f9a0b1c2d3e4f5a6b",
      "referring_site": "https://www.instagram.com/",
      "discount_codes": [{"code": "ana20", "amount": "4.50", "type": "percentage"}],
      "line_items": [
        {"id": 1, "product_id": 8123456789, "title": "Vitamin C Serum", "quantity": 1, "price": "38.50"},
        {"id": 2, "product_id": 8123456790, "title": "Travel Cleanser", "quantity": 1, "price": "6.50"},
        {"id": 3, "product_id": null, "title": "Custom tip", "quantity": 1, "price": "0.00"}
      ]
    }"##;

    const REFUND: &str = r#"{
      "id": 930123456,
      "order_id": 5712345678901,
      "created_at": "2025-03-05T10:00:00-05:00",
      "note": "damaged",
      "refund_line_items": [
        {"id": 61, "quantity": 1, "line_item_id": 2, "subtotal": 5.85,
         "subtotal_set": {"shop_money": {"amount": "5.85", "currency_code": "USD"},
                          "presentment_money": {"amount": "5.85", "currency_code": "USD"}},
         "total_tax": 0.47}
      ],
      "transactions": [{"id": 77, "kind": "refund", "status": "success", "amount": "6.32"}]
    }"#;

    fn merchant() -> MerchantId {
        MerchantId::new()
    }

    #[test]
    fn an_order_yields_its_id_subtotal_click_coupon_and_products() {
        let m = merchant();
        let order = parse_order(m, ORDER.as_bytes()).unwrap();
        assert_eq!(order.merchant_id, m);
        assert_eq!(order.order_id.as_str(), "5712345678901");
        assert_eq!(order.amount.amount(), dec!(40.50));
        assert_eq!(order.currency, Currency::USD);
        assert_eq!(order.ordered_at.to_rfc3339(), "2025-03-01T12:15:42+00:00");
        assert_eq!(
            order.click_id.unwrap().to_string(),
            "0195a3b2c4d57e8f9a0b1c2d3e4f5a6b"
        );
        assert_eq!(order.coupon_code.unwrap().as_str(), "ANA20");
        let products: Vec<_> = order
            .product_external_ids
            .iter()
            .map(ExternalId::as_str)
            .collect();
        assert_eq!(
            products,
            [
                "gid://shopify/Product/8123456789",
                "gid://shopify/Product/8123456790"
            ]
        );
    }

    #[test]
    fn the_shop_money_is_read_not_the_presentment_money() {
        // A shopper paid in EUR (presentment); the shop keeps its books in USD (shop money).
        let body = r#"{"id": 1, "created_at": "2025-03-01T12:00:00Z", "currency": "USD",
            "presentment_currency": "EUR", "current_subtotal_price": "36.80",
            "current_subtotal_price_set": {
                "shop_money": {"amount": "40.00", "currency_code": "USD"},
                "presentment_money": {"amount": "36.80", "currency_code": "EUR"}}}"#;
        let order = parse_order(merchant(), body.as_bytes()).unwrap();
        assert_eq!(
            (order.amount.amount(), order.currency),
            (dec!(40.00), Currency::USD)
        );
        let kwd = body.replace(
            r#""amount": "40.00", "currency_code": "USD""#,
            r#""amount": "40.00", "currency_code": "KWD""#,
        );
        assert!(matches!(
            parse_order(merchant(), kwd.as_bytes()),
            Err(PayloadError::Invalid {
                field: SHOP_CURRENCY_FIELD,
                ..
            })
        ));
    }

    #[test]
    fn the_captured_order_yields_its_buyers_email_and_browser_ip() {
        let body = include_str!("../tests/fixtures/shopify-orders-create.json");
        // The capture is an ARS shop's: the amount is its shop_money.
        let order = parse_order(merchant(), body.as_bytes()).unwrap();
        assert_eq!(order.currency, Currency::parse("ARS").unwrap());
        assert_eq!(order.amount.amount().to_string(), "1450000.00");
        assert_eq!(
            order
                .customer_email
                .map(|e| e.as_str().to_owned())
                .as_deref(),
            Some("cliente@example.com")
        );
        assert_eq!(order.shopper_ip, Some("203.0.113.10".parse().unwrap()));
    }

    #[test]
    fn a_buyer_is_read_from_the_customer_and_client_details_and_bad_values_are_ignored() {
        let body = r#"{"id": 1, "created_at": "2025-03-01T12:00:00Z", "currency": "USD",
                       "current_subtotal_price": "10.00", "email": "",
                       "customer": {"email": "Ana@Glow.example"},
                       "client_details": {"browser_ip": "2001:db8::7"}}"#;
        let order = parse_order(merchant(), body.as_bytes()).unwrap();
        assert_eq!(order.customer_email.unwrap().as_str(), "ana@glow.example");
        assert_eq!(order.shopper_ip, Some("2001:db8::7".parse().unwrap()));
        let bad = r#"{"id": 1, "created_at": "2025-03-01T12:00:00Z", "currency": "USD",
                      "current_subtotal_price": "10.00", "email": "not an email",
                      "browser_ip": "300.1.1.1"}"#;
        let order = parse_order(merchant(), bad.as_bytes()).unwrap();
        assert_eq!((order.customer_email, order.shopper_ip), (None, None));
    }

    #[test]
    fn an_order_without_landing_site_or_codes_has_neither_click_nor_coupon() {
        let body = r#"{"id": 1, "created_at": "2025-03-01T12:00:00Z", "currency": "USD",
                       "current_subtotal_price": "10.00", "landing_site": null, "discount_codes": []}"#;
        let order = parse_order(merchant(), body.as_bytes()).unwrap();
        assert_eq!((order.click_id, order.coupon_code), (None, None));
    }

    #[test]
    fn a_landing_site_with_a_foreign_or_v4_ssclid_has_no_click() {
        for site in [
            "/?ssclid=not-an-id",
            "/?ssclid=9f1c2d3e4f5a4b6c8d7e6f5a4b3c2d1e",
            "https://glowco.com/p?x=1",
        ] {
            assert_eq!(click_from_landing_site(site), None, "{site}");
        }
        let id = ClickId::new();
        assert_eq!(
            click_from_landing_site(&format!("https://glowco.com/p?a=b&ssclid={id}")),
            Some(id)
        );
    }

    #[test]
    fn a_truncated_body_is_not_json() {
        let cut = &ORDER.as_bytes()[..ORDER.len() / 2];
        assert!(matches!(
            parse_order(merchant(), cut),
            Err(PayloadError::NotJson(_))
        ));
        assert!(matches!(
            parse_refund(merchant(), b"[1,2]"),
            Err(PayloadError::NotJson(_))
        ));
    }

    #[test]
    fn amounts_in_the_wrong_format_are_refused() {
        for (bad, why) in [
            (r#""40,50""#, "decimal comma"),
            (r#""4.05e1""#, "exponent"),
            (r#""40.505""#, "fraction of a cent"),
            (r#""-40.50""#, "negative"),
            (r#""""#, "empty"),
            ("40.5", "a JSON number"),
        ] {
            let body = ORDER.replace(
                r#""current_subtotal_price": "40.50""#,
                &format!(r#""current_subtotal_price": {bad}"#),
            );
            assert!(
                matches!(
                    parse_order(merchant(), body.as_bytes()),
                    Err(PayloadError::Invalid {
                        field: "current_subtotal_price",
                        ..
                    })
                ),
                "{why}: {bad}"
            );
        }
        let body = ORDER.replace(r#""current_subtotal_price": "40.50","#, "");
        assert_eq!(
            parse_order(merchant(), body.as_bytes()).unwrap_err(),
            PayloadError::Missing("current_subtotal_price")
        );
    }

    #[test]
    fn malformed_ids_and_timestamps_are_refused() {
        let body = ORDER.replace("\"id\": 5712345678901", "\"id\": -4");
        assert!(matches!(
            parse_order(merchant(), body.as_bytes()),
            Err(PayloadError::Invalid { field: "id", .. })
        ));
        let body = ORDER.replace("2025-03-01T07:15:42-05:00", "01/03/2025");
        assert!(matches!(
            parse_order(merchant(), body.as_bytes()),
            Err(PayloadError::Invalid {
                field: "created_at",
                ..
            })
        ));
    }

    #[test]
    fn other_currencies_parse_so_the_service_can_refuse_them_by_name() {
        let body = ORDER.replace("\"currency\": \"USD\"", "\"currency\": \"EUR\"");
        assert_eq!(
            parse_order(merchant(), body.as_bytes())
                .unwrap()
                .currency
                .as_str(),
            "EUR"
        );
    }

    #[test]
    fn a_refund_sums_its_line_subtotals_not_its_transactions() {
        let refund = parse_refund(merchant(), REFUND.as_bytes()).unwrap();
        assert_eq!(refund.refund_id.as_str(), "930123456");
        assert_eq!(refund.order_id.as_str(), "5712345678901");
        assert_eq!(
            refund.amount.amount(),
            dec!(5.85),
            "tax in the transaction is not refunded commission"
        );
        let two = REFUND.replace(
            r#""refund_line_items": ["#,
            r#""refund_line_items": [{"subtotal_set": {"shop_money": {"amount": "10.15", "currency_code": "USD"}}},"#,
        );
        assert_eq!(
            parse_refund(merchant(), two.as_bytes())
                .unwrap()
                .amount
                .amount(),
            dec!(16.00)
        );
        let none = r#"{"id": 1, "order_id": 2, "refund_line_items": []}"#;
        assert_eq!(
            parse_refund(merchant(), none.as_bytes()).unwrap().amount,
            Money::ZERO
        );
    }

    #[test]
    fn refund_lines_carry_their_one_currency_and_bad_formats_are_refused() {
        let eur = REFUND.replace(
            r#""amount": "5.85", "currency_code": "USD"},
                          "presentment"#,
            r#""amount": "5.85", "currency_code": "EUR"},
                          "presentment"#,
        );
        let refund = parse_refund(merchant(), eur.as_bytes()).unwrap();
        assert_eq!(refund.currency, Some(Currency::parse("EUR").unwrap()));
        assert_eq!(
            parse_refund(merchant(), REFUND.as_bytes())
                .unwrap()
                .currency,
            Some(Currency::USD)
        );
        let line = |code: &str| {
            format!(
                r#"{{"subtotal_set": {{"shop_money": {{"amount": "1.00", "currency_code": "{code}"}}}}}}"#
            )
        };
        let mixed = format!(
            r#"{{"id": 9, "order_id": 1, "refund_line_items": [{}, {}]}}"#,
            line("USD"),
            line("EUR")
        );
        assert!(matches!(
            parse_refund(merchant(), mixed.as_bytes()),
            Err(PayloadError::Invalid {
                field: REFUND_CURRENCY_FIELD,
                ..
            })
        ));
        let kwd = format!(
            r#"{{"id": 9, "order_id": 1, "refund_line_items": [{}]}}"#,
            line("KWD")
        );
        assert!(matches!(
            parse_refund(merchant(), kwd.as_bytes()),
            Err(PayloadError::Invalid {
                field: REFUND_CURRENCY_FIELD,
                reason: Invalid::CurrencyTooPrecise { .. }
            })
        ));
        let float = REFUND.replace(
            r#"{"amount": "5.85", "currency_code": "USD"},
                          "presentment"#,
            r#"{"amount": 5.85, "currency_code": "USD"},
                          "presentment"#,
        );
        assert!(matches!(
            parse_refund(merchant(), float.as_bytes()),
            Err(PayloadError::Invalid { .. })
        ));
    }

    #[test]
    fn signatures_verify_only_for_the_exact_body_and_secret() {
        let secret = Secret::parse("shpss_0123456789abcdef").unwrap();
        let header = sign(&secret, ORDER.as_bytes());
        assert_eq!(verify_hmac(&secret, ORDER.as_bytes(), &header), Ok(()));
        // One byte changed, a truncated body, another secret, garbage or an empty header.
        let tampered = ORDER.replace("40.50", "40.51");
        assert_eq!(
            verify_hmac(&secret, tampered.as_bytes(), &header),
            Err(BadSignature)
        );
        assert_eq!(
            verify_hmac(&secret, &ORDER.as_bytes()[..100], &header),
            Err(BadSignature)
        );
        let other = Secret::parse("shpss_other").unwrap();
        assert_eq!(
            verify_hmac(&other, ORDER.as_bytes(), &header),
            Err(BadSignature)
        );
        assert_eq!(
            verify_hmac(&secret, ORDER.as_bytes(), "not base64!"),
            Err(BadSignature)
        );
        assert_eq!(
            verify_hmac(&secret, ORDER.as_bytes(), ""),
            Err(BadSignature)
        );
        assert_eq!(
            verify_hmac(&secret, ORDER.as_bytes(), &header[..20]),
            Err(BadSignature)
        );
    }

    #[test]
    fn the_signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = Secret::parse("Jefe").unwrap();
        let expected = STANDARD.encode([
            0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
            0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
            0x64, 0xec, 0x38, 0x43,
        ]);
        assert_eq!(sign(&secret, b"what do ya want for nothing?"), expected);
        assert!(verify_hmac(&secret, b"what do ya want for nothing?", &expected).is_ok());
    }
}
