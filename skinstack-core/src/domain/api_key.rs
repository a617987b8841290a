//! Merchant API keys: how a merchant's own back end reports orders and refunds.
//!
//! - [`ApiKey`]: `ssk_` and 32 bytes from the OS CSPRNG in base64url (47 characters). The
//!   prefix makes a leaked key recognisable to secret scanners and tells it apart from a
//!   session token at a glance. Shown to the merchant once, never stored.
//! - Only its SHA-256 ([`TokenHash`], as for sessions) is stored, with the first
//!   [`ApiKey::DISPLAY_LEN`] characters so a merchant can tell keys apart in a listing.
//! - [`ApiKeyRepo`](crate::ApiKeyRepo): the storage; [`crate::service::api_keys`] holds the rules (who may create,
//!   list and revoke; what authenticates).

use crate::auth::{HashError, TokenHash};
use crate::domain::{ApiKeyId, MerchantId, Name};
use crate::error::Invalid;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::TryRngCore as _;
use std::fmt;

/// A merchant API key as handed to the merchant: `ssk_` + 43 base64url characters. `Debug`
/// hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// What every key starts with.
    pub const PREFIX: &'static str = "ssk_";
    /// How many leading characters are kept to show in listings: the prefix and 8 more
    /// (48 bits: enough to tell keys apart, leaving 208 secret bits).
    pub const DISPLAY_LEN: usize = 12;

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, HashError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| HashError::new(e.to_string()))?;
        Ok(Self(format!(
            "{}{}",
            Self::PREFIX,
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Accepts a key presented by a client if it has the form this type generates.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let expected = Invalid::Format("a SkinStack API key (ssk_...)");
        let Some(rest) = value.strip_prefix(Self::PREFIX) else {
            return Err(expected);
        };
        match URL_SAFE_NO_PAD.decode(rest) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(value.to_owned())),
            _ => Err(expected),
        }
    }

    /// Whether `value` looks like an API key rather than another kind of bearer token.
    pub fn is_key_like(value: &str) -> bool {
        value.starts_with(Self::PREFIX)
    }

    /// The key, to hand to the merchant once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps instead of the key.
    pub fn hash(&self) -> TokenHash {
        TokenHash::digest(&self.0)
    }

    /// The leading characters shown in listings (`ssk_AbCdEfGh`).
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(Self::DISPLAY_LEN).collect()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// A key to store: its hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The merchant it acts for.
    pub merchant_id: MerchantId,
    /// The merchant's label for it ("Shopify back end").
    pub name: Name,
    /// [`ApiKey::display_prefix`].
    pub prefix: String,
    /// [`ApiKey::hash`].
    pub key_hash: TokenHash,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A stored key, without its hash: what a listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// Its id.
    pub id: ApiKeyId,
    /// The merchant it acts for.
    pub merchant_id: MerchantId,
    /// The merchant's label.
    pub name: Name,
    /// Its first characters.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (to [`LAST_USED_RESOLUTION`]).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How stale `last_used_at` may get before a use writes it again: a key reporting orders
/// every few milliseconds costs one write a minute, not one per order.
pub const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_parse_back() {
        let a = ApiKey::generate().unwrap();
        let b = ApiKey::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("ssk_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_eq!(ApiKey::parse(a.expose()).unwrap(), a);
        assert_eq!(a.display_prefix().len(), 12);
        assert!(a.expose().starts_with(&a.display_prefix()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), ApiKey::parse(a.expose()).unwrap().hash());
    }

    #[test]
    fn malformed_keys_and_session_tokens_are_refused() {
        let token = crate::SessionToken::generate().unwrap();
        for bad in [
            "",
            "ssk_",
            "ssk_short",
            token.expose(),
            &format!("SSK_{}", &ApiKey::generate().unwrap().expose()[4..]),
            &format!("{}x", ApiKey::generate().unwrap().expose()),
        ] {
            assert!(ApiKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!ApiKey::is_key_like(token.expose()));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::generate().unwrap();
        let shown = format!("{key:?} {:?}", key.hash());
        assert!(!shown.contains(&key.expose()[4..]), "{shown}");
        assert!(!shown.contains(&key.display_prefix()[4..]), "{shown}");
    }
}
