//! SkinStack's domain: everything an influencer affiliate platform decides, with no IO.
//!
//! - [`domain`]: validated entities and values, ids included (users, merchants, programs,
//!   products, links and slugs, coupon codes, clicks, conversions and refunds, API keys).
//!   Holding one means it is valid ("parse, don't validate"); constructors refuse bad input
//!   with a [`ValidationError`] naming the field.
//! - [`earning`]: what an order earns and who is paid: commission math, attribution, the
//!   append-only ledger and the totals it moves, payout planning.
//! - [`tracking`]: the shopper's path: link snapshots and their cache, the click buffer and its
//!   flusher, robot detection.
//! - [`auth`]: passwords, their hashes, session tokens; [`shopify`]: Shopify's webhook payloads
//!   and signatures (deliveries that can never be recorded are kept as a [`WebhookDelivery`]).
//! - [`store`]: every storage trait a backend implements, [`RepoError`] and the one [`Page`]
//!   type, one file per aggregate.
//! - [`memory`]: the in-memory store, mirroring `store/` file for file.
//! - [`service`]: the business rules that need storage (creating a link, recording an order, ...).
//! - `openapi` (feature `openapi`): every validated value's rules as an OpenAPI schema, from
//!   the constants its parser reads.
//! - `testkit` (feature `testkit`): the storage contract suite every backend runs, mirroring
//!   `store/` file for file.
//!
//! ```
//! use rust_decimal::Decimal;
//! use skinstack_core::{Commission, CommissionRate, Currency, FeeRate, Money};
//!
//! // A 20 % skincare program with the default 20 % platform fee, on a 45.00 USD order.
//! let commission = Commission::Percentage(CommissionRate::new(Decimal::new(20, 0)).unwrap());
//! let amount = Money::new(Decimal::new(4500, 2)).unwrap();
//! let split = commission.split(amount, FeeRate::default(), Currency::USD);
//! assert_eq!(split.gross, Decimal::new(900, 2));          // 9.00
//! assert_eq!(split.platform_fee, Decimal::new(180, 2));   // 1.80
//! assert_eq!(split.influencer_earnings, Decimal::new(720, 2)); // 7.20
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod domain;
pub mod earning;
pub mod error;
pub mod export;
pub mod memory;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod service;
pub mod shopify;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tracking;

pub use auth::{Argon2Hasher, Password, PasswordHasher, Session, SessionToken};
pub use domain::*;
pub use earning::signals::ClickReuseLimit;
pub use earning::{
    CommissionError, CommissionEvent, CommissionSplit, EventKind, PayoutBatch, PayoutProvider,
};
pub use error::{Invalid, ValidationError};
pub use memory::MemoryStore;
pub use store::{
    ApiKeyRepo, ClickRollups, ClickSink, ConversionRepo, CouponCodeRepo, Entity, ErrorClass,
    Health, HoldRepo, InfluencerRepo, LedgerQueries, LedgerStore, LinkRepo, LinkResolver,
    MembershipRepo, MerchantRepo, Page, PayoutRepo, ProductQuery, ProductRepo, ProgramRepo,
    RepoError, SessionRepo, StatementRepo, Store, Upserted, UserRepo, WebhookDeliveries,
    WebhookSecrets,
};
pub use tracking::{
    CachedResolver, ClickRecorder, FlushConfig, LinkSnapshot, LinkStatus, Recorded,
};
