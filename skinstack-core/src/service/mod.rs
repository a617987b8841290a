//! Business rules that need storage. Each function takes the repositories it uses, so a
//! test can hand it the in-memory store or mocks.
//!
//! Every function acting for someone takes an [`Actor`] and checks, here and nowhere else,
//! what that account may do: a wrong role is [`ServiceError::Forbidden`], and someone else's
//! resource is [`ServiceError::NotFound`] exactly as if it did not exist, so ids cannot be
//! probed.

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod api_keys;
pub mod conversions;
pub mod coupon_codes;
pub mod holds;
pub mod invoices;
pub mod links;
pub mod memberships;
pub mod payouts;
pub mod products;
pub mod profiles;
pub mod programs;
pub mod shopify_webhooks;
pub mod statements;

use crate::domain::{Role, User, UserId};
use crate::error::ValidationError;
use crate::store::{BoxError, Entity, RepoError};
use links::{LinkError, LinkRefusal};

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
    /// The influencer already has a membership of the program.
    #[error("the influencer already has a membership of this program")]
    MembershipExists,
    /// The membership changed since it was read (a concurrent decision): read it again.
    #[error("the membership changed meanwhile; reload and try again")]
    MembershipChanged,
    /// The move is not legal from the membership's state.
    #[error(transparent)]
    Enrollment(#[from] crate::domain::TransitionRefused),
    /// The merchant already has this coupon code (in any case), requested or assigned.
    #[error("the merchant already has this coupon code")]
    CodeTaken,
    /// The coupon code is not a request awaiting approval.
    #[error("the coupon code is not awaiting approval")]
    CodeNotRequested,
    /// A hold on a commission that is unattributed, approved or voided: the conversion's state,
    /// not the request, is at odds, as with a membership's or a coupon code's moves.
    #[error("the commission cannot be held: only an attributed commission not yet approved or voided can")]
    NotHoldable,
    /// A release or void of a commission that is not held.
    #[error("the commission is not held: only a held commission can be released or voided")]
    NotHeld,
    /// A change of the settlement currency of a merchant that has recorded orders in it.
    #[error("the merchant's currency cannot change once it has recorded orders")]
    CurrencyLocked,
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
    /// A business rule refused the request; [`Rejection::field`] names the input at fault.
    #[error("{field} {0}", field = .0.field())]
    Rejected(#[from] Rejection),
    /// Storage or hashing failed, or the platform ran out of something (slugs): not the
    /// caller's fault. The cause is kept as the source, chain and all.
    #[error("internal failure")]
    Internal(#[source] BoxError),
}

/// A business rule that refused a request, as a type: [`Rejection::field`] names the request
/// field at fault, `Display` says why in words fit for that field's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A link rule refused the link (inactive program or merchant, another merchant's
    /// product, a destination off the merchant's site, an expiry not in the future).
    #[error(transparent)]
    Link(#[from] LinkRefusal),
    /// A day range whose last day is before its first.
    #[error("must not be before from")]
    DaysReversed,
    /// A day range longer than [`statements::MAX_SERIES_DAYS`].
    #[error("the series may span at most {} days", statements::MAX_SERIES_DAYS)]
    TooManyDays,
    /// A day outside [`statements::FIRST_DAY`]..=[`statements::LAST_DAY`], the span every store
    /// can keep and chrono can step through without overflowing.
    #[error(
        "must be between {} and {}",
        statements::FIRST_DAY,
        statements::LAST_DAY
    )]
    DayOutOfSpan {
        /// `from` or `to`.
        field: &'static str,
    },
    /// An administrator deactivating their own account: nobody might be left to undo it.
    #[error("an administrator cannot deactivate their own account")]
    OwnAccountDeactivation,
    /// A coupon code for a link whose influencer is not (or no longer) an approved member of
    /// the link's program: a code attributes only to someone the merchant accepted.
    #[error("the link's influencer is not an approved member of its program")]
    CodeOwnerNotMember,
    /// A merchant statement asked for a month that has not started.
    #[error("must be a month that has started")]
    PeriodNotStarted,
}

impl Rejection {
    /// The request field at fault, as the API names it.
    pub fn field(&self) -> &'static str {
        match self {
            Rejection::Link(refusal) => refusal.field(),
            Rejection::DaysReversed => "to",
            Rejection::TooManyDays => "from",
            Rejection::DayOutOfSpan { field } => field,
            Rejection::OwnAccountDeactivation => "user_id",
            Rejection::CodeOwnerNotMember => "link_id",
            Rejection::PeriodNotStarted => "period",
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
            RepoError::MembershipExists => Conflict::MembershipExists.into(),
            RepoError::CodeTaken => Conflict::CodeTaken.into(),
            RepoError::CurrencyLocked => Conflict::CurrencyLocked.into(),
            RepoError::Invalid(invalid) => ServiceError::Invalid(invalid),
            RepoError::Backend(source) | RepoError::Rejected(source) => {
                ServiceError::Internal(source)
            }
        }
    }
}

impl From<LinkError> for ServiceError {
    fn from(err: LinkError) -> Self {
        match err {
            LinkError::NotFound(entity) => ServiceError::NotFound(entity),
            LinkError::SlugTaken => Conflict::SlugTaken.into(),
            LinkError::Invalid(invalid) => ServiceError::Invalid(invalid),
            LinkError::Storage(repo) => repo.into(),
            LinkError::Refused(refusal) => Rejection::Link(refusal).into(),
            LinkError::SlugSpaceExhausted => ServiceError::Internal(Box::new(err)),
        }
    }
}

impl From<crate::domain::TransitionRefused> for ServiceError {
    fn from(refused: crate::domain::TransitionRefused) -> Self {
        Conflict::Enrollment(refused).into()
    }
}

/// Shorthand for service results.
pub type ServiceResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rejection_names_the_field_and_message_the_api_answers_with() {
        let cases = [
            (
                Rejection::Link(LinkRefusal::ProgramInactive),
                "program_id",
                "the program is not active",
            ),
            (
                Rejection::Link(LinkRefusal::MerchantInactive),
                "program_id",
                "the merchant is not active",
            ),
            (
                Rejection::Link(LinkRefusal::MerchantUnverified),
                "program_id",
                "the merchant is not verified yet",
            ),
            (
                Rejection::Link(LinkRefusal::ProductOfAnotherMerchant),
                "product_id",
                "the product does not belong to the program's merchant",
            ),
            (
                Rejection::Link(LinkRefusal::DestinationNotAllowed {
                    host: "evil.com".to_owned(),
                }),
                "destination_url",
                "destination host evil.com is not the merchant's website or a subdomain of it",
            ),
            (
                Rejection::Link(LinkRefusal::ExpiryInPast),
                "expires_at",
                "expires_at must be in the future",
            ),
            (Rejection::DaysReversed, "to", "must not be before from"),
            (
                Rejection::TooManyDays,
                "from",
                "the series may span at most 366 days",
            ),
            (
                Rejection::OwnAccountDeactivation,
                "user_id",
                "an administrator cannot deactivate their own account",
            ),
        ];
        for (rejection, field, message) in cases {
            assert_eq!(rejection.field(), field, "{rejection:?}");
            assert_eq!(rejection.to_string(), message, "{rejection:?}");
            let err = ServiceError::from(rejection);
            assert_eq!(err.to_string(), format!("{field} {message}"));
        }
    }

    #[test]
    fn link_refusals_become_rejections_and_an_exhausted_slug_space_keeps_its_cause() {
        let err = ServiceError::from(LinkError::Refused(LinkRefusal::ExpiryInPast));
        assert!(matches!(
            err,
            ServiceError::Rejected(Rejection::Link(LinkRefusal::ExpiryInPast))
        ));
        let err = ServiceError::from(LinkError::SlugSpaceExhausted);
        let ServiceError::Internal(source) = &err else {
            panic!("expected Internal, got {err:?}");
        };
        assert!(matches!(
            source.downcast_ref::<LinkError>(),
            Some(LinkError::SlugSpaceExhausted)
        ));
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("no free slug found within the slug policy's attempts")
        );
    }
}
