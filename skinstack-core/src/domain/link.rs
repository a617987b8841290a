//! Tracking links: the short URLs influencers share.

use super::{Currency, InfluencerId, LinkId, ProductId, ProgramId, WebUrl};
use crate::domain::Slug;
use crate::error::Invalid;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;

/// A UTM parameter value: 1–100 characters, no control characters (so it can never inject a
/// header line), percent-encoded when it is put into a URL.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UtmValue(String);

impl UtmValue {
    /// Most characters in a value.
    pub const MAX_LEN: usize = 100;

    /// Trims and checks `value`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UtmValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The UTM parameters a link adds to its destination. The seed's defaults are
/// `utm_source=skinstack`, `utm_medium=affiliate` and no campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utm {
    /// `utm_source`.
    pub source: Option<UtmValue>,
    /// `utm_medium`.
    pub medium: Option<UtmValue>,
    /// `utm_campaign`.
    pub campaign: Option<UtmValue>,
}

impl Default for Utm {
    fn default() -> Self {
        Self {
            source: Some(UtmValue("skinstack".to_owned())),
            medium: Some(UtmValue("affiliate".to_owned())),
            campaign: None,
        }
    }
}

/// A coupon code as an order reports it (and a link's free-text campaign code, the seed's
/// `tracking_links.campaign_code`): 1–64 of `[A-Za-z0-9_-]`, upper-cased because shops compare
/// discount codes case-insensitively. Orders are attributed by the merchant's owned
/// [`CouponCode`](crate::CouponCode)s, never by a link's campaign code.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CampaignCode(String);

impl CampaignCode {
    /// Longest code.
    pub const MAX_LEN: usize = 64;

    /// Trims, upper-cases and checks `value`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Invalid::Format("letters, digits, '_' or '-'"));
        }
        Ok(Self(value))
    }

    /// The code, upper-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Upper-cases a value already checked by [`CampaignCode::parse`]'s rules.
    pub(crate) fn upper_cased(checked: &str) -> Self {
        Self(checked.trim().to_ascii_uppercase())
    }
}

impl fmt::Debug for CampaignCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A link ready to be stored: built by [`crate::service::links`], which has checked every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    /// Its slug; the store refuses a taken one with [`crate::RepoError::SlugTaken`].
    pub slug: Slug,
    /// The influencer who shares it.
    pub influencer_id: InfluencerId,
    /// The program it earns under.
    pub program_id: ProgramId,
    /// The product it promotes, if any.
    pub product_id: Option<ProductId>,
    /// Where it leads (on the merchant's site).
    pub destination_url: WebUrl,
    /// A free-text campaign code (the seed's column): a label, it attributes no order.
    pub campaign_code: Option<CampaignCode>,
    /// UTM parameters added on redirect.
    pub utm: Utm,
    /// When it stops redirecting, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it is created: clicks attribute only orders placed from then on. Kept to the
    /// microsecond, as PostgreSQL keeps it.
    pub created_at: DateTime<Utc>,
}

/// A change to a link; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkPatch {
    /// Turn the link on or off.
    pub is_active: Option<bool>,
    /// Set (`Some(Some(t))`) or clear (`Some(None)`) the expiry.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Replace the UTM parameters.
    pub utm: Option<Utm>,
}

/// A stored link with its counters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackingLink {
    /// Its id.
    pub id: LinkId,
    /// Its slug.
    pub slug: Slug,
    /// The influencer who shares it.
    pub influencer_id: InfluencerId,
    /// The program it earns under.
    pub program_id: ProgramId,
    /// The product it promotes.
    pub product_id: Option<ProductId>,
    /// Where it leads.
    pub destination_url: WebUrl,
    /// A free-text campaign code (the seed's column): a label, it attributes no order.
    pub campaign_code: Option<CampaignCode>,
    /// UTM parameters.
    pub utm: Utm,
    /// Clicks recorded.
    pub total_clicks: i64,
    /// Conversions attributed (refunded ones included).
    pub total_conversions: i64,
    /// Attributed order amounts net of refunds.
    pub total_revenue: Decimal,
    /// Gross commission net of refund reversals.
    pub total_commission: Decimal,
    /// The currency of its totals: its program's merchant's (read with the link, never
    /// stored with it).
    pub currency: Currency,
    /// Inactive links answer 410.
    pub is_active: bool,
    /// When it stops redirecting.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl TrackingLink {
    /// Whether the link itself redirects at `now` (active and not expired). The program's and
    /// merchant's state are checked by the resolver.
    pub fn is_live_at(&self, now: DateTime<Utc>) -> bool {
        self.is_active && self.expires_at.is_none_or(|t| now < t)
    }
}

schema!(
    UtmValue,
    "UtmValue",
    trimmed_text(UtmValue::MAX_LEN, false).description(Some(format!(
        "A UTM value: trimmed, then 1–{} characters without control characters.",
        UtmValue::MAX_LEN
    )))
);
schema!(
    CampaignCode,
    "CampaignCode",
    string()
        .pattern(Some(trimmed(&format!(
            "[A-Za-z0-9_-]{{1,{}}}",
            CampaignCode::MAX_LEN
        ))))
        .description(Some(format!(
            "A coupon code: 1–{} letters, digits, '_' or '-'; compared upper-case.",
            CampaignCode::MAX_LEN
        )))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_defaults_follow_the_seed() {
        let utm = Utm::default();
        assert_eq!(utm.source.unwrap().as_str(), "skinstack");
        assert_eq!(utm.medium.unwrap().as_str(), "affiliate");
        assert!(utm.campaign.is_none());
    }

    #[test]
    fn utm_values_refuse_line_breaks() {
        assert_eq!(
            UtmValue::parse("summer\r\nSet-Cookie: a=b"),
            Err(Invalid::ControlCharacter)
        );
        assert_eq!(
            UtmValue::parse(" spring sale ").unwrap().as_str(),
            "spring sale"
        );
        assert_eq!(UtmValue::parse(""), Err(Invalid::Empty));
    }

    #[test]
    fn campaign_codes_are_upper_cased_and_restricted() {
        assert_eq!(CampaignCode::parse(" glow20 ").unwrap().as_str(), "GLOW20");
        assert!(CampaignCode::parse("GLOW 20").is_err());
        assert!(CampaignCode::parse("").is_err());
    }
}
