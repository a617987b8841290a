//! The API through its router, on the in-memory store and on PostgreSQL (each PostgreSQL test
//! in a fresh database of its own).
#![allow(clippy::unwrap_used)] // a test reports failure by panicking

mod behaviour;
mod breakdowns;
mod conversions;
mod coupon_codes;
mod dashboard;
mod helpers;
mod hostile;
mod limits;
mod matrix;
mod metacharacters;
mod panics;
mod secrets;
mod sessions;
mod verification;
mod walkthrough;
mod webhooks;
