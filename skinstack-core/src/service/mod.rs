//! Business rules that need storage. Each function takes the repositories it uses, so a
//! test can hand it the in-memory store or mocks.
//!
//! Every function acting for someone takes an [`Actor`] and checks, here and nowhere else,
//! what that account may do: a wrong role is [`ServiceError::Forbidden`], and someone else's
//! resource is [`ServiceError::NotFound`] exactly as if it did not exist, so ids cannot be
//! probed.

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod conversions;
pub mod links;
pub mod payouts;
pub mod products;
pub mod profiles;
pub mod programs;
pub mod shopify_webhooks;
pub mod statements;

use crate::domain::{Role, User, UserId};
use crate::error::ValidationError;
use crate::store::{BoxError, Entity, RepoError};
use links::LinkError;

/// An authenticated, active account: whom a service acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    user: User,
}

impl Actor {
    /// Acts for `user`, if the account is active. [`accounts::authenticate`] builds one from a
    /// session token; an embedding app with its own authentication may build one itself.
    pub fn new(user: User) -> Result<Self, ServiceError> {
        if user.is_active {
            Ok(Self { user })
        } else {
            Err(ServiceError::Unauthenticated)
        }
    }

    /// The account's id.
    pub fn id(&self) -> UserId {
        self.user.id
    }

    /// The account's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The account.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// `Forbidden` unless the actor has `role`.
    pub(crate) fn require(&self, role: Role) -> Result<(), ServiceError> {
        if self.user.role == role {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(match role {
                Role::Influencer => "only influencers may do this",
                Role::Merchant => "only merchants may do this",
                Role::Admin => "only administrators may do this",
            }))
        }
    }
}

/// A conflict with what is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another account uses this email.
    #[error("email is already registered")]
    EmailTaken,
    /// Another link has this slug.
    #[error("slug is already taken")]
    SlugTaken,
    /// The merchant already has a product with this external id.
    #[error("the merchant already has a product with this external_id")]
    DuplicateExternalId,
    /// The account already has this kind of profile.
    #[error("the profile already exists")]
    ProfileExists,
}

/// Why a service refused or failed. Each variant is one kind of answer for a caller.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Wrong email or password, an unknown, expired or revoked token, or a deactivated
    /// account: deliberately one error, so none of these can be told apart.
    #[error("invalid credentials")]
    Unauthenticated,
    /// The actor's role may not do this at all.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The thing does not exist, or is not the actor's to see.
    #[error("{0} not found")]
    NotFound(Entity),
    /// It clashes with something stored.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// A value was refused.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A business rule refused the request; `field` names the input at fault.
    #[error("{field} {message}")]
    Rejected {
        /// The request field at fault.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Storage or hashing failed: not the caller's fault.
    #[error("internal failure: {0}")]
    Internal(#[source] BoxError),
}

impl ServiceError {
    pub(crate) fn rejected(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Rejected {
            field,
            message: message.into(),
        }
    }
}

impl From<RepoError> for ServiceError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::NotFound(entity) => ServiceError::NotFound(entity),
            RepoError::EmailTaken => Conflict::EmailTaken.into(),
            RepoError::SlugTaken => Conflict::SlugTaken.into(),
            RepoError::DuplicateExternalId => Conflict::DuplicateExternalId.into(),
            RepoError::ProfileExists => Conflict::ProfileExists.into(),
            RepoError::Invalid(invalid) => ServiceError::Invalid(invalid),
            RepoError::Backend(source) | RepoError::Rejected(source) => {
                ServiceError::Internal(source)
            }
        }
    }
}

impl From<LinkError> for ServiceError {
    fn from(err: LinkError) -> Self {
        let message = err.to_string();
        match err {
            LinkError::NotFound(entity) => ServiceError::NotFound(entity),
            LinkError::SlugTaken => Conflict::SlugTaken.into(),
            LinkError::Invalid(invalid) => ServiceError::Invalid(invalid),
            LinkError::Storage(repo) => repo.into(),
            LinkError::ProgramInactive | LinkError::MerchantInactive => {
                ServiceError::rejected("program_id", message)
            }
            LinkError::ProductOfAnotherMerchant => ServiceError::rejected("product_id", message),
            LinkError::DestinationNotAllowed { .. } => {
                ServiceError::rejected("destination_url", message)
            }
            LinkError::ExpiryInPast => ServiceError::rejected("expires_at", message),
            LinkError::SlugSpaceExhausted => ServiceError::Internal(message.into()),
        }
    }
}

/// Shorthand for service results.
pub type ServiceResult<T> = Result<T, ServiceError>;
