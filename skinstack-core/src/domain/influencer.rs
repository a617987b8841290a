//! Influencer profiles: social handles and how they get paid.

use super::{Currency, Email, InfluencerId, Name, UserId};
use crate::error::{ForField, Invalid, ValidationError};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A social handle, stored without the leading `@`: 1–100 of `[A-Za-z0-9._-]`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Handle(String);

impl Handle {
    /// Longest handle, without its `@`.
    pub const MAX_LEN: usize = 100;

    /// Trims `value`, drops one leading `@`, and checks the rest.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        let value = value.strip_prefix('@').unwrap_or(value);
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Invalid::Format("letters, digits, '.', '_' or '-'"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The handle without `@`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A Stripe Connect account id: `acct_` followed by letters and digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StripeAccountId(String);

impl StripeAccountId {
    /// Longest id after its `acct_`.
    pub const MAX_LEN: usize = 64;

    /// Checks the `acct_...` form.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        match value.strip_prefix("acct_") {
            Some(rest)
                if !rest.is_empty()
                    && rest.len() <= Self::MAX_LEN
                    && rest.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Ok(Self(value.to_owned()))
            }
            _ => Err(Invalid::Format("a Stripe account id such as acct_1A2b3C")),
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StripeAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// How an influencer wants to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayoutMethod {
    /// Stripe Connect transfer; needs a Stripe account id.
    Stripe,
    /// PayPal payout; needs a PayPal email.
    #[serde(rename = "paypal")]
    PayPal,
    /// Bank transfer, settled outside the platform; bank details are not kept here.
    Ach,
}

impl PayoutMethod {
    /// The value stored in `influencers.preferred_payout_method`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PayoutMethod::Stripe => "stripe",
            PayoutMethod::PayPal => "paypal",
            PayoutMethod::Ach => "ach",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value {
            "stripe" => Ok(PayoutMethod::Stripe),
            "paypal" => Ok(PayoutMethod::PayPal),
            "ach" => Ok(PayoutMethod::Ach),
            _ => Err(Invalid::Format("one of stripe, paypal, ach")),
        }
    }
}

/// Payout details whose preferred method always has the details it needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PayoutSettings {
    stripe_account_id: Option<StripeAccountId>,
    paypal_email: Option<Email>,
    preferred: Option<PayoutMethod>,
}

impl PayoutSettings {
    /// Accepts the settings if the preferred method's details are present: PayPal needs a
    /// PayPal email, Stripe a Stripe account id.
    pub fn new(
        stripe_account_id: Option<StripeAccountId>,
        paypal_email: Option<Email>,
        preferred: Option<PayoutMethod>,
    ) -> Result<Self, ValidationError> {
        match preferred {
            Some(PayoutMethod::PayPal) if paypal_email.is_none() => {
                Err(Invalid::Missing("when the payout method is paypal")).field("paypal_email")
            }
            Some(PayoutMethod::Stripe) if stripe_account_id.is_none() => {
                Err(Invalid::Missing("when the payout method is stripe")).field("stripe_account_id")
            }
            _ => Ok(Self {
                stripe_account_id,
                paypal_email,
                preferred,
            }),
        }
    }

    /// The Stripe account, if any.
    pub fn stripe_account_id(&self) -> Option<&StripeAccountId> {
        self.stripe_account_id.as_ref()
    }

    /// The PayPal address, if any.
    pub fn paypal_email(&self) -> Option<&Email> {
        self.paypal_email.as_ref()
    }

    /// The preferred method, if chosen.
    pub fn preferred(&self) -> Option<PayoutMethod> {
        self.preferred
    }
}

/// An audience size: 0 to 2147483647, what `influencers.total_followers INTEGER` holds. Holding
/// one means every store can keep it; no store checks it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Followers(u32);

impl Followers {
    /// The largest count the column holds.
    pub const MAX: Followers = Followers(i32::MAX as u32);

    /// Accepts `count` if the column can hold it.
    pub fn new(count: u32) -> Result<Self, Invalid> {
        if count > Self::MAX.0 {
            return Err(Invalid::OutOfRange("at most 2147483647"));
        }
        Ok(Self(count))
    }

    /// Reads a stored count: a negative one is refused.
    pub fn from_stored(count: i32) -> Result<Self, Invalid> {
        u32::try_from(count)
            .map(Self)
            .map_err(|_| Invalid::OutOfRange("zero or more"))
    }

    /// The count.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The count as the column's signed `INTEGER` (lossless: it is at most `i32::MAX`).
    pub const fn as_i32(self) -> i32 {
        self.0 as i32
    }
}

/// What it takes to create an influencer profile (one per user).
#[derive(Debug, Clone, PartialEq)]
pub struct NewInfluencer {
    /// The account that owns the profile.
    pub user_id: UserId,
    /// Public name.
    pub display_name: Name,
    /// Instagram handle, without `@`.
    pub instagram_handle: Option<Handle>,
    /// TikTok handle, without `@`.
    pub tiktok_handle: Option<Handle>,
    /// YouTube handle, without `@`.
    pub youtube_handle: Option<Handle>,
    /// How they get paid.
    pub payout: PayoutSettings,
    /// Audience size across platforms.
    pub total_followers: Followers,
}

/// A stored influencer profile with its running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Influencer {
    /// Its id.
    pub id: InfluencerId,
    /// The account that owns it.
    pub user_id: UserId,
    /// Public name.
    pub display_name: Name,
    /// Instagram handle.
    pub instagram_handle: Option<Handle>,
    /// TikTok handle.
    pub tiktok_handle: Option<Handle>,
    /// YouTube handle.
    pub youtube_handle: Option<Handle>,
    /// Payout details.
    pub payout: PayoutSettings,
    /// Audience size.
    pub total_followers: Followers,
    /// Everything earned so far in `primary_currency`, paid or not: influencer earnings net
    /// of platform fees and refund reversals (see [`crate::earning::ledger`]).
    pub total_earned: Decimal,
    /// Earnings paid out in payouts so far, in `primary_currency`.
    pub total_paid: Decimal,
    /// The currency of `total_earned` and `total_paid`: that of their first earning; `None`
    /// before it ([`crate::earning::SeedTotals`]).
    pub primary_currency: Option<Currency>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A change to an influencer profile; `None` fields stay as they are, `Some(None)` clears an
/// optional one. The payout settings are replaced whole, so they stay consistent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfluencerPatch {
    /// New public name.
    pub display_name: Option<Name>,
    /// New or cleared Instagram handle.
    pub instagram_handle: Option<Option<Handle>>,
    /// New or cleared TikTok handle.
    pub tiktok_handle: Option<Option<Handle>>,
    /// New or cleared YouTube handle.
    pub youtube_handle: Option<Option<Handle>>,
    /// New payout settings.
    pub payout: Option<PayoutSettings>,
    /// New audience size.
    pub total_followers: Option<Followers>,
}

schema!(
    Handle,
    "Handle",
    string()
        .pattern(Some(trimmed(&format!(
            "@?[A-Za-z0-9._-]{{1,{}}}",
            Handle::MAX_LEN
        ))))
        .description(Some(format!(
            "A social handle: 1–{} letters, digits, '.', '_' or '-', after one optional leading '@' (dropped).",
            Handle::MAX_LEN
        )))
);
schema!(
    StripeAccountId,
    "StripeAccountId",
    string()
        .pattern(Some(trimmed(&format!(
            "acct_[A-Za-z0-9]{{1,{}}}",
            StripeAccountId::MAX_LEN
        ))))
        .description(Some(
            "A Stripe Connect account id: acct_ and letters or digits."
        ))
);
schema!(
    Followers,
    "Followers",
    integer(0, i64::from(Followers::MAX.as_i32()))
        .description(Some("An audience size (the column is a signed INTEGER)."))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follower_counts_fit_the_integer_column_and_one_more_is_refused() {
        assert_eq!(Followers::new(2_147_483_647), Ok(Followers::MAX));
        assert_eq!(Followers::MAX.as_i32(), i32::MAX);
        assert_eq!(
            Followers::new(2_147_483_648),
            Err(Invalid::OutOfRange("at most 2147483647"))
        );
        assert!(Followers::new(u32::MAX).is_err());
        assert_eq!(Followers::new(0).unwrap().get(), 0);
        assert_eq!(Followers::from_stored(125_000).unwrap().get(), 125_000);
        assert!(Followers::from_stored(-1).is_err());
    }

    #[test]
    fn handles_drop_one_leading_at() {
        assert_eq!(
            Handle::parse(" @glow.by_ana ").unwrap().as_str(),
            "glow.by_ana"
        );
        assert_eq!(Handle::parse("@"), Err(Invalid::Empty));
        assert!(Handle::parse("@@ana").is_err());
        assert!(Handle::parse("ana smith").is_err());
    }

    #[test]
    fn stripe_ids_need_the_acct_prefix() {
        assert!(StripeAccountId::parse("acct_1Nv0FGQ9RKHgCVdK").is_ok());
        assert!(StripeAccountId::parse("1Nv0FGQ9RKHgCVdK").is_err());
        assert!(StripeAccountId::parse("acct_").is_err());
    }

    #[test]
    fn payout_methods_round_trip() {
        for m in [
            PayoutMethod::Stripe,
            PayoutMethod::PayPal,
            PayoutMethod::Ach,
        ] {
            assert_eq!(PayoutMethod::parse(m.as_str()), Ok(m));
        }
        assert!(PayoutMethod::parse("venmo").is_err());
    }

    #[test]
    fn paypal_payouts_need_a_paypal_email() {
        let err = PayoutSettings::new(None, None, Some(PayoutMethod::PayPal)).unwrap_err();
        assert_eq!(err.field, "paypal_email");
        let email = Email::parse("ana@paypal.example.com").unwrap();
        assert!(PayoutSettings::new(None, Some(email), Some(PayoutMethod::PayPal)).is_ok());
    }

    #[test]
    fn stripe_payouts_need_a_stripe_account() {
        let err = PayoutSettings::new(None, None, Some(PayoutMethod::Stripe)).unwrap_err();
        assert_eq!(err.field, "stripe_account_id");
        let acct = StripeAccountId::parse("acct_123abc").unwrap();
        assert!(PayoutSettings::new(Some(acct), None, Some(PayoutMethod::Stripe)).is_ok());
    }

    #[test]
    fn ach_and_no_preference_need_nothing() {
        assert!(PayoutSettings::new(None, None, Some(PayoutMethod::Ach)).is_ok());
        assert!(PayoutSettings::new(None, None, None).is_ok());
    }
}
