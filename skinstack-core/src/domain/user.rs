//! Accounts: who can log in, and as what.

use super::{Email, UserId};
use crate::error::Invalid;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates tracking links and earns commissions.
    Influencer,
    /// Runs commission programs and pays commissions.
    Merchant,
    /// Oversees the platform.
    Admin,
}

impl Role {
    /// The value stored in `users.role`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Influencer => "influencer",
            Role::Merchant => "merchant",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value {
            "influencer" => Ok(Role::Influencer),
            "merchant" => Ok(Role::Merchant),
            "admin" => Ok(Role::Admin),
            _ => Err(Invalid::Format("one of influencer, merchant, admin")),
        }
    }
}

/// A password hash in PHC string form (`$argon2id$...`). Never the password itself; `Debug`
/// hides it all the same, since a hash is an offline-cracking target.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Accepts a PHC-format hash string.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        if !value.starts_with('$') || value.len() < 10 || value.chars().any(char::is_whitespace) {
            return Err(Invalid::Format("a PHC hash string such as $argon2id$..."));
        }
        Ok(Self(value.to_owned()))
    }

    /// The PHC string, for storage and verification.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// A stored account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Login address, unique across accounts.
    pub email: Email,
    /// Hash of the password.
    pub password_hash: PasswordHash,
    /// What it may do.
    pub role: Role,
    /// Deactivated accounts cannot log in or act.
    pub is_active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What it takes to create an account.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Login address.
    pub email: Email,
    /// Hash of the chosen password.
    pub password_hash: PasswordHash,
    /// Its role.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for role in [Role::Influencer, Role::Merchant, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("superuser").is_err());
        assert!(Role::parse("Admin").is_err());
    }

    #[test]
    fn password_hashes_must_be_phc_strings_and_are_hidden_from_debug() {
        assert!(PasswordHash::parse("hunter2hunter2").is_err());
        let hash = PasswordHash::parse("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").unwrap();
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
