//! The storage contract: every trait a backend implements, the one error they return, and the
//! one page type every list takes.
//!
//! One file per aggregate; `memory/` (in this crate), `testkit/` (the contract cases) and
//! `skinstack-pg` mirror these files one for one, so a trait, its in-memory implementation, its
//! SQL implementation and its contract cases sit side by side under one name. Each aggregate
//! has its own trait, so a service asks only for what it uses and a test can mock just that
//! (feature `mock` adds a `mockall` mock of every trait: `MockUserRepo`, `MockConversionRepo`,
//! `MockLinkResolver`, ...). [`Store`] and [`LedgerStore`] are the traits at once, as a backend
//! provides them.
//!
//! Implementations must honour the seed schema's constraints themselves — unique email,
//! unique `(merchant_id, external_id)`, one influencer profile per user, unique slug, and
//! (since migration 0023) one merchant per user — and its
//! cascades: deleting a user deletes their influencer profile (and its links) and detaches
//! their merchant; deleting a merchant deletes its programs, products and links; deleting a
//! product detaches it from links. The contract suite (`testkit`) checks all of this.

mod api_keys;
mod clicks;
mod conversions;
mod coupon_codes;
mod holds;
mod influencers;
mod invoices;
mod links;
mod memberships;
mod merchants;
mod payouts;
mod products;
mod programs;
mod sessions;
mod users;
mod webhook_deliveries;
mod webhook_secrets;

pub use api_keys::*;
pub use clicks::*;
pub use conversions::*;
pub use coupon_codes::*;
pub use holds::*;
pub use influencers::*;
pub use invoices::*;
pub use links::*;
pub use memberships::*;
pub use merchants::*;
pub use payouts::*;
pub use products::*;
pub use programs::*;
pub use sessions::*;
pub use users::*;
pub use webhook_deliveries::*;
pub use webhook_secrets::*;

use crate::error::{Invalid, ValidationError};
use async_trait::async_trait;
use std::fmt;

/// The kinds of stored things, for [`RepoError::NotFound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Entity {
    User,
    Influencer,
    Merchant,
    Program,
    Product,
    Link,
    Session,
    ApiKey,
    Membership,
    Invitation,
    CouponCode,
    Conversion,
    Statement,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::User => "user",
            Entity::Influencer => "influencer",
            Entity::Merchant => "merchant",
            Entity::Program => "program",
            Entity::Product => "product",
            Entity::Link => "link",
            Entity::Session => "session",
            Entity::ApiKey => "API key",
            Entity::Membership => "membership",
            Entity::Invitation => "invitation",
            Entity::CouponCode => "coupon code",
            Entity::Conversion => "conversion",
            Entity::Statement => "merchant statement",
        })
    }
}

/// A boxed backend error, kept as the `source` of [`RepoError::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a repository call can fail with. Everything a user's input can cause has its own
/// variant; [`RepoError::Backend`] is only for the store itself failing.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The thing, or a thing it refers to, does not exist.
    #[error("{0} not found")]
    NotFound(Entity),
    /// Another account already uses this email.
    #[error("email is already registered")]
    EmailTaken,
    /// Another link already has this slug.
    #[error("slug is already taken")]
    SlugTaken,
    /// The merchant already has a product with this external id.
    #[error("the merchant already has a product with this external_id")]
    DuplicateExternalId,
    /// The user already has a profile of this kind (an influencer profile, a merchant).
    #[error("the user already has this kind of profile")]
    ProfileExists,
    /// The influencer already has a membership of the program.
    #[error("the influencer already has a membership of this program")]
    MembershipExists,
    /// The merchant already has this coupon code (in any case), requested or assigned.
    #[error("the merchant already has this coupon code")]
    CodeTaken,
    /// The merchant's settlement currency cannot change: it has conversions in it.
    #[error("the merchant's currency cannot change once it has recorded orders")]
    CurrencyLocked,
    /// A value the store cannot keep (for example beyond a column's precision).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed (unreachable, timed out, a bug). Not caused by the caller's input.
    #[error("storage failure: {0}")]
    Backend(#[source] BoxError),
    /// The store refused the data itself, for a reason no field above names (a constraint or
    /// data error): the same write fails the same way however often it is retried.
    #[error("storage refused the data: {0}")]
    Rejected(#[source] BoxError),
}

/// Whether retrying a failed call can succeed, from [`RepoError::class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The store itself failed (unreachable, timed out, restarting): the same call may succeed
    /// later.
    Transient,
    /// The call's data is at fault: the same call fails again, so retrying it is pointless.
    Permanent,
}

impl RepoError {
    /// Whether the same call may succeed if retried. Only [`RepoError::Backend`] is transient:
    /// an unknown failure is retried rather than given up on.
    pub fn class(&self) -> ErrorClass {
        match self {
            RepoError::Backend(_) => ErrorClass::Transient,
            RepoError::NotFound(_)
            | RepoError::EmailTaken
            | RepoError::SlugTaken
            | RepoError::DuplicateExternalId
            | RepoError::ProfileExists
            | RepoError::MembershipExists
            | RepoError::CodeTaken
            | RepoError::CurrencyLocked
            | RepoError::Invalid(_)
            | RepoError::Rejected(_) => ErrorClass::Permanent,
        }
    }
}

/// Shorthand for repository results.
pub type RepoResult<T> = Result<T, RepoError>;

/// One page of a list ordered by id (ids are UUIDv7, so this is creation order): at most
/// `limit` items after the cursor `after`. Every list of every store takes this one type. A
/// limit outside 1..=100 is refused, never clamped: a client asking for 500 is told it gets at
/// most 100 rather than silently given fewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<Id> {
    limit: u32,
    /// The last id of the previous page; `None` starts at the beginning.
    pub after: Option<Id>,
}

impl<Id> Page<Id> {
    /// Largest page served.
    pub const MAX_LIMIT: u32 = 100;
    /// Page size when none is asked for.
    pub const DEFAULT_LIMIT: u32 = 50;

    /// A page of `limit` items (1..=100) after `after`.
    pub fn new(limit: u32, after: Option<Id>) -> Result<Self, Invalid> {
        if limit == 0 || limit > Self::MAX_LIMIT {
            return Err(Invalid::OutOfRange("between 1 and 100"));
        }
        Ok(Self { limit, after })
    }

    /// The largest page after `after`, for code that walks a whole list.
    pub fn largest(after: Option<Id>) -> Self {
        Self {
            limit: Self::MAX_LIMIT,
            after,
        }
    }

    /// The first page, of the default size.
    pub fn first() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }

    /// How many items at most.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The cursor of the page after `items`, the answer to this page: the last item's id when
    /// the page is full, `None` when the list ended here.
    pub fn next_cursor<T>(&self, items: &[T], id: impl Fn(&T) -> Id) -> Option<Id> {
        match items.last() {
            Some(last) if items.len() >= self.limit as usize => Some(id(last)),
            _ => None,
        }
    }
}

impl<Id> Default for Page<Id> {
    /// The first page, of the default size.
    fn default() -> Self {
        Self::first()
    }
}

/// Whether an upsert created a row or updated an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new row.
    Created,
    /// An existing row, now updated.
    Updated,
}

/// Whether a store can serve requests, for a readiness probe.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Health: Send + Sync {
    /// `Ok` if the store answers and its schema is the one this build expects.
    async fn check(&self) -> RepoResult<()>;
}

/// Every repository at once: what a storage backend provides.
pub trait Store:
    UserRepo
    + InfluencerRepo
    + MerchantRepo
    + ProgramRepo
    + ProductRepo
    + LinkRepo
    + SessionRepo
    + MembershipRepo
    + Health
    + 'static
{
}

impl<T> Store for T where
    T: UserRepo
        + InfluencerRepo
        + MerchantRepo
        + ProgramRepo
        + ProductRepo
        + LinkRepo
        + SessionRepo
        + MembershipRepo
        + Health
        + 'static
{
}

/// Everything a store provides once it keeps the ledger, with the merchants' API keys that
/// report orders into it, the webhook deliveries it acknowledged without recording and the
/// coupon codes that attribute orders.
pub trait LedgerStore:
    Store
    + ClickSink
    + ClickRollups
    + ConversionRepo
    + PayoutRepo
    + LedgerQueries
    + WebhookSecrets
    + ApiKeyRepo
    + WebhookDeliveries
    + CouponCodeRepo
    + HoldRepo
    + StatementRepo
{
}

impl<T> LedgerStore for T where
    T: Store
        + ClickSink
        + ClickRollups
        + ConversionRepo
        + PayoutRepo
        + LedgerQueries
        + WebhookSecrets
        + ApiKeyRepo
        + WebhookDeliveries
        + CouponCodeRepo
        + HoldRepo
        + StatementRepo
{
}

#[cfg(all(test, feature = "mock"))]
mod tests {
    use super::*;
    use crate::domain::{Email, UserId};

    /// Every storage trait has a mock: a downstream crate can stub exactly the trait a service
    /// asks for. Naming each one here makes a trait added without `automock` fail to compile.
    #[tokio::test]
    async fn every_storage_trait_has_a_mock() {
        let _ = (
            MockUserRepo::new(),
            MockSessionRepo::new(),
            MockInfluencerRepo::new(),
            MockMerchantRepo::new(),
            MockProgramRepo::new(),
            MockProductRepo::new(),
            MockLinkRepo::new(),
            MockLinkResolver::new(),
            MockClickSink::new(),
            MockClickRollups::new(),
            MockConversionRepo::new(),
            MockLedgerQueries::new(),
            MockPayoutRepo::new(),
            MockApiKeyRepo::new(),
            MockWebhookSecrets::new(),
            MockWebhookDeliveries::new(),
            MockMembershipRepo::new(),
            MockCouponCodeRepo::new(),
            MockHoldRepo::new(),
            MockStatementRepo::new(),
            MockHealth::new(),
        );
        let mut users = MockUserRepo::new();
        users
            .expect_user_by_id()
            .returning(|_| Err(RepoError::NotFound(Entity::User)));
        let email = Email::parse("nobody@example.com").unwrap();
        users
            .expect_user_by_email()
            .withf(move |asked| *asked == email)
            .returning(|_| Err(RepoError::NotFound(Entity::User)));
        assert!(matches!(
            users.user_by_id(UserId::new()).await,
            Err(RepoError::NotFound(Entity::User))
        ));
        let asked = Email::parse("NOBODY@example.com").unwrap();
        assert!(users.user_by_email(&asked).await.is_err());
    }
}
