//! The lists read from a Shopify payload are bounded: one signed body cannot make the parser
//! do work out of proportion to a real order.
#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use serde_json::json;
use skinstack_core::shopify::{parse_order, parse_refund, PayloadError, MAX_LIST_ITEMS};
use skinstack_core::MerchantId;

fn order_with(items: usize) -> Vec<u8> {
    let line_items: Vec<_> = (0..items)
        .map(|i| json!({"product_id": 1_000_000 + i}))
        .collect();
    json!({
        "id": 820982911946154508u64,
        "created_at": "2025-03-01T07:15:42-05:00",
        "currency": "USD",
        "current_subtotal_price": "45.00",
        "line_items": line_items,
    })
    .to_string()
    .into_bytes()
}

fn refund_with(lines: usize) -> Vec<u8> {
    let line = json!({"subtotal_set": {"shop_money": {"amount": "0.01", "currency_code": "USD"}}});
    json!({"id": 1, "order_id": 2, "refund_line_items": vec![line; lines]})
        .to_string()
        .into_bytes()
}

fn refused_field(err: PayloadError) -> &'static str {
    match err {
        PayloadError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn an_order_with_up_to_the_limit_of_line_items_is_read_and_one_more_is_refused_by_name() {
    let merchant = MerchantId::new();
    let order = parse_order(merchant, &order_with(MAX_LIST_ITEMS)).unwrap();
    assert_eq!(order.product_external_ids.len(), MAX_LIST_ITEMS);
    let err = parse_order(merchant, &order_with(MAX_LIST_ITEMS + 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line_items must be at most 1000 entries long"
    );
    assert_eq!(refused_field(err), "line_items");
    // What a 1 MiB body can hold: refused the same way, before any item is read.
    let err = parse_order(merchant, &order_with(60_000)).unwrap_err();
    assert_eq!(refused_field(err), "line_items");
}

#[test]
fn a_refund_with_up_to_the_limit_of_lines_is_read_and_one_more_is_refused_by_name() {
    let merchant = MerchantId::new();
    let refund = parse_refund(merchant, &refund_with(MAX_LIST_ITEMS)).unwrap();
    assert_eq!(refund.amount.amount(), rust_decimal::Decimal::new(1000, 2));
    let err = parse_refund(merchant, &refund_with(MAX_LIST_ITEMS + 1)).unwrap_err();
    assert_eq!(refused_field(err), "refund_line_items");
}
