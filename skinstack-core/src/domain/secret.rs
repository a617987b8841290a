//! Secrets that must never be printed.

use crate::error::Invalid;
use std::fmt;

/// An integration credential (API key, webhook secret). `Debug` and `Display` print
/// `[redacted]`, so a secret cannot leak through logs or error messages; only
/// [`Secret::expose`] gives the value, for the storage layer to encrypt and for request signing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Most characters in a credential.
    pub const MAX_LEN: usize = 1024;

    /// Accepts a credential from user input: trimmed, 1–1024 characters, no control characters.
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

    /// Wraps a value that was already accepted once, such as one decrypted from storage.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The plaintext. Call it only to encrypt, decrypt-compare or sign.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

schema!(
    Secret,
    "Secret",
    trimmed_text(Secret::MAX_LEN, false)
        .write_only(Some(true))
        .description(Some(format!(
            "A credential: trimmed, then 1–{} characters without control characters. Stored encrypted, never returned.",
            Secret::MAX_LEN
        )))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::parse(" shpat_live_0123456789 ").unwrap();
        assert!(!format!("{secret:?} {secret}").contains("shpat"));
        assert_eq!(secret.expose(), "shpat_live_0123456789");
    }

    #[test]
    fn blank_secrets_are_refused() {
        assert_eq!(Secret::parse("  "), Err(Invalid::Empty));
        assert_eq!(Secret::parse("a\nb"), Err(Invalid::ControlCharacter));
    }
}
