//! The storage traits every backend implements, and the one error they return.
//!
//! Each aggregate has its own trait, so a service asks only for what it uses and a test can
//! mock just that (feature `mock` adds `mockall` mocks: `MockUserRepo`, `MockLinkRepo`, ...).
//! [`Store`] is every trait at once, as a backend provides them.
//!
//! Implementations must honour the seed schema's constraints themselves — unique email,
//! unique `(merchant_id, external_id)`, one influencer profile per user, unique slug — and its
//! cascades: deleting a user deletes their influencer profile (and its links) and detaches
//! their merchant; deleting a merchant deletes its programs, products and links; deleting a
//! product detaches it from links. The contract suite (`testkit`) checks all of this.

use crate::auth::{NewSession, Session, TokenHash};
use crate::domain::*;
use crate::error::{Invalid, ValidationError};
use crate::slug::Slug;
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
    /// The user already has an influencer profile.
    #[error("the user already has an influencer profile")]
    ProfileExists,
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
            | RepoError::Invalid(_)
            | RepoError::Rejected(_) => ErrorClass::Permanent,
        }
    }
}

/// Shorthand for repository results.
pub type RepoResult<T> = Result<T, RepoError>;

/// One page of a list ordered by id (ids are UUIDv7, so this is creation order): at most
/// `limit` items after the cursor `after`.
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
}

/// Which products to list. Filters combine with AND.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductQuery {
    /// Only this merchant's.
    pub merchant: Option<MerchantId>,
    /// Only products open to influencers: their merchant is active and they are in no
    /// program or an active one.
    pub open_only: bool,
    /// Only products in this program.
    pub program: Option<ProgramId>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only in stock (`true`) or out of stock (`false`).
    pub in_stock: Option<bool>,
    /// Which page.
    pub page: Page<ProductId>,
}

impl Default for ProductQuery {
    fn default() -> Self {
        Self {
            merchant: None,
            open_only: false,
            program: None,
            category: None,
            in_stock: None,
            page: Page::first(),
        }
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

/// Accounts.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Stores a new account; [`RepoError::EmailTaken`] if the email is in use.
    async fn create_user(&self, user: NewUser) -> RepoResult<User>;
    /// The account with this id.
    async fn user_by_id(&self, id: UserId) -> RepoResult<User>;
    /// The account with this (normalised) email.
    async fn user_by_email(&self, email: &Email) -> RepoResult<User>;
    /// Activates or deactivates an account.
    async fn set_user_active(&self, id: UserId, active: bool) -> RepoResult<User>;
    /// Deletes an account, with the seed's cascades.
    async fn delete_user(&self, id: UserId) -> RepoResult<()>;
    /// Accounts in id order, one page at a time.
    async fn list_users(&self, page: Page<UserId>) -> RepoResult<Vec<User>>;
}

/// Influencer profiles.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait InfluencerRepo: Send + Sync {
    /// Stores a profile; [`RepoError::ProfileExists`] if the user has one, `NotFound(User)` if
    /// the user does not exist.
    async fn create_influencer(&self, influencer: NewInfluencer) -> RepoResult<Influencer>;
    /// The profile with this id.
    async fn influencer_by_id(&self, id: InfluencerId) -> RepoResult<Influencer>;
    /// The profile of this user.
    async fn influencer_by_user(&self, user: UserId) -> RepoResult<Influencer>;
    /// Applies a patch and returns the profile as it now is.
    async fn update_influencer(
        &self,
        id: InfluencerId,
        patch: InfluencerPatch,
    ) -> RepoResult<Influencer>;
}

/// Merchants.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MerchantRepo: Send + Sync {
    /// Stores a merchant; `NotFound(User)` if its user does not exist.
    async fn create_merchant(&self, merchant: NewMerchant) -> RepoResult<Merchant>;
    /// The merchant with this id, credentials decrypted.
    async fn merchant_by_id(&self, id: MerchantId) -> RepoResult<Merchant>;
    /// The merchants a user manages.
    async fn merchants_by_user(&self, user: UserId) -> RepoResult<Vec<Merchant>>;
    /// Activates or deactivates a merchant.
    async fn set_merchant_active(&self, id: MerchantId, active: bool) -> RepoResult<Merchant>;
    /// Deletes a merchant with its programs, products and links.
    async fn delete_merchant(&self, id: MerchantId) -> RepoResult<()>;
    /// Applies a patch and returns the merchant as it now is.
    async fn update_merchant(&self, id: MerchantId, patch: MerchantPatch) -> RepoResult<Merchant>;
}

/// Commission programs.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProgramRepo: Send + Sync {
    /// Stores a program; `NotFound(Merchant)` if its merchant does not exist.
    async fn create_program(&self, program: NewProgram) -> RepoResult<Program>;
    /// The program with this id.
    async fn program_by_id(&self, id: ProgramId) -> RepoResult<Program>;
    /// A merchant's programs, oldest first.
    async fn programs_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Program>>;
    /// Activates or deactivates a program.
    async fn set_program_active(&self, id: ProgramId, active: bool) -> RepoResult<Program>;
    /// Applies a patch and returns the program as it now is.
    async fn update_program(&self, id: ProgramId, patch: ProgramPatch) -> RepoResult<Program>;
    /// Active programs of active merchants, in id order, one page at a time.
    async fn open_programs(&self, page: Page<ProgramId>) -> RepoResult<Vec<Program>>;
}

/// Products.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProductRepo: Send + Sync {
    /// Stores a product; [`RepoError::DuplicateExternalId`] if the merchant already has one
    /// with this external id; `NotFound(Merchant | Program)` for a missing reference.
    async fn create_product(&self, product: NewProduct) -> RepoResult<Product>;
    /// The product with this id.
    async fn product_by_id(&self, id: ProductId) -> RepoResult<Product>;
    /// A merchant's products, oldest first.
    async fn products_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Product>>;
    /// Deletes a product; links to it keep working without it.
    async fn delete_product(&self, id: ProductId) -> RepoResult<()>;
    /// Applies a patch and returns the product as it now is; `NotFound(Program)` for a
    /// missing program.
    async fn update_product(&self, id: ProductId, patch: ProductPatch) -> RepoResult<Product>;
    /// The products matching `query`, in id order.
    async fn list_products(&self, query: &ProductQuery) -> RepoResult<Vec<Product>>;
    /// Creates the product, or updates every field of the merchant's product with the same
    /// external id, atomically (concurrent upserts of one external id never duplicate it).
    async fn upsert_product(&self, product: NewProduct) -> RepoResult<(Product, Upserted)>;
}

/// Tracking links.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LinkRepo: Send + Sync {
    /// Stores a link; [`RepoError::SlugTaken`] if its slug is in use (decided atomically by
    /// the store), `NotFound(..)` for a missing influencer, program or product.
    async fn insert_link(&self, link: NewLink) -> RepoResult<TrackingLink>;
    /// The link with this id.
    async fn link_by_id(&self, id: LinkId) -> RepoResult<TrackingLink>;
    /// The link with this slug.
    async fn link_by_slug(&self, slug: &Slug) -> RepoResult<TrackingLink>;
    /// An influencer's links, newest first.
    async fn links_by_influencer(&self, influencer: InfluencerId) -> RepoResult<Vec<TrackingLink>>;
    /// Applies a patch and returns the link as it now is.
    async fn update_link(&self, id: LinkId, patch: LinkPatch) -> RepoResult<TrackingLink>;
    /// Deletes a link.
    async fn delete_link(&self, id: LinkId) -> RepoResult<()>;
}

/// Login sessions, kept by the SHA-256 of their token.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a session; `NotFound(User)` if the user does not exist.
    async fn create_session(&self, session: NewSession) -> RepoResult<Session>;
    /// The session with this token hash and its user, expired or not (the caller decides);
    /// `NotFound(Session)` if there is none.
    async fn session_user(&self, token: &TokenHash) -> RepoResult<(Session, User)>;
    /// Revokes a session; `NotFound(Session)` if there is none.
    async fn delete_session(&self, token: &TokenHash) -> RepoResult<()>;
    /// Deletes the sessions that expired before `now`, returning how many.
    async fn delete_expired_sessions(&self, now: chrono::DateTime<chrono::Utc>) -> RepoResult<u64>;
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
        + Health
        + 'static
{
}
