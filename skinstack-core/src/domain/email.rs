//! Email addresses, normalised for comparison.

use crate::error::Invalid;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A syntactically valid email address, trimmed and lower-cased so that one mailbox has one form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Longest address SMTP can carry (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Trims and lower-cases `value`, then checks it is a valid address (RFC 5322 addr-spec
    /// with a dotted domain, as a mailbox a person can receive at). More than
    /// [`Email::MAX_LEN`] bytes is `TooLong`, decided before any other work on the value, so
    /// a megabyte of "email" costs nothing to refuse.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        // Lower-casing can lengthen a string (`İ` becomes two characters), so check again.
        let value = value.to_lowercase();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        let parsed = email_address::EmailAddress::from_str(&value)
            .map_err(|_| Invalid::Format("an email address such as name@example.com"))?;
        // `email_address` accepts `a@localhost` and display forms; a payout or login address
        // needs a dotted domain and nothing else.
        if parsed.email() != value
            || !parsed.domain().contains('.')
            || parsed.domain().starts_with('[')
        {
            return Err(Invalid::Format("an email address such as name@example.com"));
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

schema!(
    Email,
    "Email",
    string()
        .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Email
        )))
        .max_length(Some(Email::MAX_LEN))
        .description(Some(format!(
            "An email address with a dotted domain (no IP literal), at most {} bytes; compared lower-case.",
            Email::MAX_LEN
        )))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises_mixed_case_with_spaces() {
        assert_eq!(
            Email::parse("  Ana@Glow.Example.COM ").unwrap().as_str(),
            "ana@glow.example.com"
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@glow.com",
            "ana@glow",
            "ana glow@x.com",
            "Ana <ana@x.com>",
            "a@[127.0.0.1]",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn refuses_addresses_longer_than_smtp_allows() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(Invalid::TooLong { max: 254 }));
    }

    /// A valid address of exactly `len` bytes (local parts stop at 64, labels at 63).
    fn address_of(len: usize) -> String {
        let mut address = format!("{}@", "a".repeat(64));
        while len - address.len() > 63 + 4 {
            address.push_str(&"d".repeat(60));
            address.push('.');
        }
        let label = len - address.len() - 4;
        address.push_str(&"e".repeat(label));
        address.push_str(".com");
        address
    }

    #[test]
    fn the_limit_is_254_bytes_of_the_trimmed_address_before_and_after_lower_casing() {
        let at_limit = address_of(254);
        assert_eq!(at_limit.len(), 254);
        assert_eq!(
            Email::parse(&format!("  {at_limit}\n")).unwrap().as_str(),
            at_limit
        );
        assert_eq!(
            Email::parse(&address_of(255)),
            Err(Invalid::TooLong { max: 254 })
        );
        // Bytes, not characters: 128 two-byte letters are 256 bytes.
        assert_eq!(
            Email::parse(&"é".repeat(128)),
            Err(Invalid::TooLong { max: 254 })
        );
        // A megabyte is refused as too long, not lower-cased or parsed.
        assert_eq!(
            Email::parse(&"A".repeat(1 << 20)),
            Err(Invalid::TooLong { max: 254 })
        );
        // `İ` (2 bytes) lower-cases to `i̇` (3 bytes): within the limit before, over after.
        let grows = format!("{}@example.com", "İ".repeat(121));
        assert!(grows.len() <= 254);
        assert_eq!(Email::parse(&grows), Err(Invalid::TooLong { max: 254 }));
    }
}
