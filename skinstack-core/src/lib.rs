//! SkinStack's domain: everything an influencer affiliate platform decides, with no IO.
//!
//! - [`domain`]: validated entities and values. Holding one means it is valid ("parse, don't
//!   validate"); constructors refuse bad input with a [`ValidationError`] naming the field.
//! - [`commission`]: the money math: commission splits, platform fee, refund reversals.
//! - [`slug`]: short-link slugs, generated from a CSPRNG or chosen by the influencer.
//! - [`auth`]: passwords, their hashes, session tokens.
//! - [`api_key`]: merchants' API keys, for reporting orders and refunds.
//! - [`repo`]: the storage traits every backend implements, and [`RepoError`].
//! - [`redirect`]: slug resolution for the redirect, with a caching decorator.
//! - [`click`], [`recorder`], [`bot`]: clicks, their buffered recording, robot detection.
//! - [`conversion`], [`attribution`], [`ledger`], [`payout`], [`shopify`]: orders and refunds,
//!   which link earns them, the append-only commission ledger and its totals, payouts, and
//!   Shopify's webhooks.
//! - [`memory`]: a thread-safe in-memory store implementing every trait.
//! - [`service`]: the business rules that need storage (creating a link, ...).
//! - `testkit` (feature `testkit`): the storage contract suite every backend runs.
//!
//! ```
//! use rust_decimal::Decimal;
//! use skinstack_core::{Commission, CommissionRate, FeeRate, Money};
//!
//! // A 20 % skincare program with the default 20 % platform fee, on a 45.00 order.
//! let commission = Commission::Percentage(CommissionRate::new(Decimal::new(20, 0)).unwrap());
//! let split = commission.split(Money::new(Decimal::new(4500, 2)).unwrap(), FeeRate::default());
//! assert_eq!(split.gross, Decimal::new(900, 2));          // 9.00
//! assert_eq!(split.platform_fee, Decimal::new(180, 2));   // 1.80
//! assert_eq!(split.influencer_earnings, Decimal::new(720, 2)); // 7.20
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api_key;
pub mod attribution;
pub mod auth;
pub mod bot;
pub mod click;
pub mod commission;
pub mod conversion;
pub mod domain;
pub mod error;
pub mod ledger;
pub mod memory;
pub mod payout;
pub mod recorder;
pub mod redirect;
pub mod repo;
pub mod service;
pub mod shopify;
pub mod slug;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use api_key::{ApiKey, ApiKeyId, ApiKeyInfo, ApiKeyRepo};
pub use auth::{Argon2Hasher, Password, PasswordHasher, Session, SessionToken};
pub use click::{Click, ClickId, ClickSource};
pub use commission::{CommissionError, CommissionSplit};
pub use conversion::{
    Conversion, ConversionId, Currency, EventId, HoldDays, OrderId, PayoutBatchId, RefundId,
    ShopRef,
};
pub use domain::*;
pub use error::{Invalid, ValidationError};
pub use ledger::{
    CommissionEvent, ConversionRepo, EventKind, LedgerQueries, LedgerStore, PayoutRepo,
    WebhookSecrets,
};
pub use memory::MemoryStore;
pub use payout::{PayoutBatch, PayoutProvider};
pub use recorder::{ClickRecorder, ClickSink, FlushConfig, Recorded};
pub use redirect::{CachedResolver, LinkResolver, LinkSnapshot, LinkStatus};
pub use repo::{
    Entity, ErrorClass, Health, InfluencerRepo, LinkRepo, MerchantRepo, Page, ProductQuery,
    ProductRepo, ProgramRepo, RepoError, SessionRepo, Store, Upserted, UserRepo,
};
pub use slug::{Slug, SlugPolicy};
