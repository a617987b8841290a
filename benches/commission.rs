//! The money math: a commission split and a partial refund reversal.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{criterion_group, criterion_main, Criterion};
use rust_decimal::Decimal;
use skinstack_core::{Commission, CommissionRate, Currency, FeeRate, Money};
use std::hint::black_box;

fn commission(c: &mut Criterion) {
    let commission =
        Commission::Percentage(CommissionRate::new(Decimal::new(2250, 2)).expect("rate"));
    let amount = Money::new(Decimal::new(8999, 2)).expect("amount");
    let fee = FeeRate::default();
    c.bench_function("commission_split", |b| {
        b.iter(|| black_box(commission.split(black_box(amount), fee, Currency::USD)))
    });
    let split = commission.split(amount, fee, Currency::USD);
    let part = Money::new(Decimal::new(3000, 2)).expect("part");
    c.bench_function("refund_reversal", |b| {
        b.iter(|| black_box(split.reversal(amount, black_box(part), part, Currency::USD)))
    });
}

criterion_group!(benches, commission);
criterion_main!(benches);
