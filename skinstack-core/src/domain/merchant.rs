//! Merchants: the brands that run programs and pay commissions.

use super::{Currency, MerchantId, Name, Secret, SiteUrl, UserId};
use crate::error::Invalid;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;

/// A Shopify shop's permanent domain: `<name>.myshopify.com`, lower-case.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ShopifyDomain(String);

impl ShopifyDomain {
    /// Longest shop name before `.myshopify.com`.
    pub const MAX_NAME_LEN: usize = 60;
    /// What every shop domain ends with.
    pub const SUFFIX: &'static str = ".myshopify.com";

    /// Trims and lower-cases `value`, then checks the `<name>.myshopify.com` form, where the
    /// name is 1–60 letters, digits or inner hyphens.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim().to_ascii_lowercase();
        let valid = value.strip_suffix(Self::SUFFIX).is_some_and(|name| {
            !name.is_empty()
                && name.len() <= Self::MAX_NAME_LEN
                && !name.starts_with('-')
                && !name.ends_with('-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
        if valid {
            Ok(Self(value))
        } else {
            Err(Invalid::Format(
                "a shop domain such as glowco.myshopify.com",
            ))
        }
    }

    /// The domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ShopifyDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Whether an administrator has checked a merchant against its website. Until then (and again
/// after its website changes) its programs are closed to influencers, its links answer 410 and
/// its API keys are refused: a self-registered merchant with someone else's site must not turn
/// short links into an open redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Not checked yet, or its website changed since it was.
    Unverified,
    /// Checked by an administrator.
    Verified {
        /// When (microseconds, as every store keeps it).
        at: DateTime<Utc>,
    },
}

impl Verification {
    /// The state a stored `verified_at` column means.
    pub fn from_verified_at(at: Option<DateTime<Utc>>) -> Self {
        match at {
            Some(at) => Verification::Verified { at },
            None => Verification::Unverified,
        }
    }

    /// When it was verified, if it is.
    pub fn verified_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Verification::Verified { at } => Some(*at),
            Verification::Unverified => None,
        }
    }

    /// Whether it is verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified { .. })
    }

    /// The API's name of the state: `verified` or `unverified`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verification::Verified { .. } => "verified",
            Verification::Unverified => "unverified",
        }
    }
}

schema!(
    ShopifyDomain,
    "ShopifyDomain",
    string()
        .pattern(Some(trimmed(&format!(
            "[a-zA-Z0-9](?:[a-zA-Z0-9-]{{0,{}}}[a-zA-Z0-9])?{}",
            ShopifyDomain::MAX_NAME_LEN - 2,
            any_case(ShopifyDomain::SUFFIX)
        ))))
        .description(Some(format!(
            "A shop's permanent domain, <name>{}: 1–{} letters, digits or inner hyphens; stored lower-case.",
            ShopifyDomain::SUFFIX,
            ShopifyDomain::MAX_NAME_LEN
        )))
);

/// What it takes to create a merchant.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMerchant {
    /// The account that manages it, if any (the seed lets a merchant outlive its user).
    pub user_id: Option<UserId>,
    /// The brand's name.
    pub business_name: Name,
    /// The brand's website: short links may only lead to this host or its subdomains.
    pub website_url: SiteUrl,
    /// The Shopify shop, if the merchant sells on Shopify.
    pub shopify_shop_domain: Option<ShopifyDomain>,
    /// Shopify API credential; stored encrypted, never returned.
    pub shopify_api_key: Option<Secret>,
    /// Refersion public key (not secret).
    pub refersion_public_key: Option<Name>,
    /// Refersion secret key; stored encrypted, never returned.
    pub refersion_secret_key: Option<Secret>,
    /// The settlement currency: its orders, commissions, statements and totals are in it.
    pub currency: Currency,
}

/// A stored merchant with its running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Merchant {
    /// Its id.
    pub id: MerchantId,
    /// The account that manages it.
    pub user_id: Option<UserId>,
    /// The brand's name.
    pub business_name: Name,
    /// The brand's website.
    pub website_url: SiteUrl,
    /// The Shopify shop.
    pub shopify_shop_domain: Option<ShopifyDomain>,
    /// Shopify API credential (redacted in `Debug`).
    pub shopify_api_key: Option<Secret>,
    /// Refersion public key.
    pub refersion_public_key: Option<Name>,
    /// Refersion secret key (redacted in `Debug`).
    pub refersion_secret_key: Option<Secret>,
    /// The settlement currency of its orders, programs' fixed amounts, commissions,
    /// statements and totals; changeable only while it has no conversions.
    pub currency: Currency,
    /// Attributed order amounts net of refunds (unattributed orders are not counted).
    pub total_sales: Decimal,
    /// Gross commissions paid out in payouts.
    pub total_commissions_paid: Decimal,
    /// Inactive merchants' links stop redirecting.
    pub is_active: bool,
    /// A new merchant starts [`Verification::Unverified`].
    pub verification: Verification,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A change to a merchant; `None` fields stay as they are, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MerchantPatch {
    /// New brand name.
    pub business_name: Option<Name>,
    /// New website (existing links keep their destinations). A different website puts the
    /// merchant back to unverified ([`MerchantPatch::verification_after`]).
    pub website_url: Option<SiteUrl>,
    /// New or cleared Shopify shop.
    pub shopify_shop_domain: Option<Option<ShopifyDomain>>,
    /// New or cleared Shopify API credential.
    pub shopify_api_key: Option<Option<Secret>>,
    /// New or cleared Refersion public key.
    pub refersion_public_key: Option<Option<Name>>,
    /// New or cleared Refersion secret key.
    pub refersion_secret_key: Option<Option<Secret>>,
    /// New settlement currency: refused with [`crate::store::RepoError::CurrencyLocked`]
    /// once the merchant has a conversion (setting the same one again changes nothing).
    pub currency: Option<Currency>,
}

impl Merchant {
    /// Whether its programs may be open to influencers and its links redirect: it is active
    /// and verified. [`crate::domain::is_open`] adds the program's own state.
    pub fn is_open(&self) -> bool {
        self.is_active && self.verification.is_verified()
    }
}

impl MerchantPatch {
    /// The verification a merchant whose website is `site` and whose verification is
    /// `current` has once this patch applies: a different website undoes it, because the host
    /// rule for every link's destination hangs on the website the administrator checked.
    /// Setting the same website again changes nothing. Both stores apply this one rule.
    pub fn verification_after(&self, site: &SiteUrl, current: Verification) -> Verification {
        match &self.website_url {
            Some(new) if new != site => Verification::Unverified,
            _ => current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_are_myshopify_subdomains() {
        assert_eq!(
            ShopifyDomain::parse(" GlowCo.myshopify.com ")
                .unwrap()
                .as_str(),
            "glowco.myshopify.com"
        );
        assert!(ShopifyDomain::parse("glow-co-2.myshopify.com").is_ok());
        for bad in [
            "glowco.com",
            ".myshopify.com",
            "glow co.myshopify.com",
            "-glow.myshopify.com",
            "a.b.myshopify.com",
            "glowco.myshopify.com.evil.com",
        ] {
            assert!(ShopifyDomain::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_new_website_undoes_verification_and_the_same_one_does_not() {
        let site = SiteUrl::parse("https://glowco.com").unwrap();
        let verified = Verification::Verified { at: Utc::now() };
        let to = |url: &str| MerchantPatch {
            website_url: Some(SiteUrl::parse(url).unwrap()),
            ..MerchantPatch::default()
        };
        assert_eq!(
            to("https://evil.example").verification_after(&site, verified),
            Verification::Unverified
        );
        assert_eq!(
            to("https://glowco.com/shop").verification_after(&site, verified),
            Verification::Unverified,
            "any other URL is another website to check"
        );
        assert_eq!(
            to("https://GLOWCO.com").verification_after(&site, verified),
            verified
        );
        let renamed = MerchantPatch {
            business_name: Some(Name::parse("Glow Company").unwrap()),
            ..MerchantPatch::default()
        };
        assert_eq!(renamed.verification_after(&site, verified), verified);
        assert_eq!(
            to("https://evil.example").verification_after(&site, Verification::Unverified),
            Verification::Unverified
        );
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let merchant = NewMerchant {
            user_id: None,
            business_name: Name::parse("Glow Co").unwrap(),
            website_url: SiteUrl::parse("https://glowco.com").unwrap(),
            shopify_shop_domain: None,
            shopify_api_key: Some(Secret::parse("shpat_supersecret").unwrap()),
            refersion_public_key: None,
            refersion_secret_key: Some(Secret::parse("rfs_topsecret").unwrap()),
            currency: Currency::USD,
        };
        let debug = format!("{merchant:?}");
        assert!(
            !debug.contains("supersecret") && !debug.contains("topsecret"),
            "{debug}"
        );
    }
}
