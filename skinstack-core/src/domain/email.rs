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
    /// with a dotted domain, as a mailbox a person can receive at).
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim().to_lowercase();
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
}
