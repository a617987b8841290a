//! Encryption of merchants' integration credentials at rest.
//!
//! Each value is sealed with AES-256-GCM under a fresh random 96-bit nonce and stored as
//! `v1:<base64(nonce || ciphertext || tag)>`. The column name and the merchant's id are the
//! associated data, so a ciphertext copied into another row or column does not decrypt: a
//! database writer cannot swap one merchant's credentials for another's unnoticed.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use skinstack_core::{MerchantId, Secret};
use std::fmt;

/// The environment variable [`Cipher::from_env`] reads: 32 bytes, standard base64
/// (`openssl rand -base64 32`).
pub const SECRET_KEY_VAR: &str = "SKINSTACK_SECRET_KEY";

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is absent (or not valid Unicode).
    #[error("{SECRET_KEY_VAR} is not set")]
    Missing,
    /// The key is not standard base64.
    #[error("the secret key is not valid base64 (generate one with `openssl rand -base64 32`)")]
    NotBase64,
    /// The key does not decode to 32 bytes.
    #[error("the secret key must decode to 32 bytes, not {0}")]
    WrongLength(usize),
}

/// Why a stored credential could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A credential was to be stored or read, but the store has no key.
    #[error("no secret key configured: cannot encrypt or decrypt merchant credentials (set {SECRET_KEY_VAR})")]
    NoKey,
    /// The column does not hold a value in the `v1:` format this library writes.
    #[error(
        "merchants.{column} of merchant {merchant} is not an encrypted value written by SkinStack"
    )]
    Malformed {
        /// The column.
        column: &'static str,
        /// The row.
        merchant: MerchantId,
    },
    /// Authentication failed: another key, or a value moved from another row or column, or
    /// tampered with.
    #[error("merchants.{column} of merchant {merchant} does not decrypt: wrong key, or the value was moved or altered")]
    Undecryptable {
        /// The column.
        column: &'static str,
        /// The row.
        merchant: MerchantId,
    },
}

/// The AES-256-GCM key for merchants' credentials. `Debug` prints no key material.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher([redacted])")
    }
}

impl Cipher {
    /// A cipher from a 32-byte key in standard base64.
    pub fn from_key_base64(key: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|_| KeyError::NotBase64)?;
        let aead =
            Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeyError::WrongLength(bytes.len()))?;
        Ok(Self { aead })
    }

    /// A cipher from the key in `SKINSTACK_SECRET_KEY`.
    pub fn from_env() -> Result<Self, KeyError> {
        let key = std::env::var(SECRET_KEY_VAR).map_err(|_| KeyError::Missing)?;
        Self::from_key_base64(&key)
    }

    /// Seals `secret` for `merchants.<column>` of `merchant`.
    pub(crate) fn encrypt(
        &self,
        column: &'static str,
        merchant: MerchantId,
        secret: &Secret,
    ) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(column, merchant);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: aad.as_bytes(),
        };
        // AES-GCM only fails for messages beyond 64 GiB; a Secret is at most 1024 bytes.
        let sealed = self
            .aead
            .encrypt(&nonce, payload)
            .unwrap_or_else(|_| unreachable!("AES-GCM cannot fail on a 1 KiB message"));
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a value [`Cipher::encrypt`] sealed for the same column and merchant.
    pub(crate) fn decrypt(
        &self,
        column: &'static str,
        merchant: MerchantId,
        stored: &str,
    ) -> Result<Secret, SecretError> {
        let malformed = || SecretError::Malformed { column, merchant };
        let bytes = stored
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|bytes| bytes.len() >= NONCE_LEN + TAG_LEN)
            .ok_or_else(malformed)?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = associated_data(column, merchant);
        let payload = Payload {
            msg: sealed,
            aad: aad.as_bytes(),
        };
        let plain = self
            .aead
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| SecretError::Undecryptable { column, merchant })?;
        String::from_utf8(plain)
            .map(Secret::from_stored)
            .map_err(|_| malformed())
    }
}

fn associated_data(column: &str, merchant: MerchantId) -> String {
    format!("skinstack:merchants.{column}:{merchant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn secret() -> Secret {
        Secret::parse("shpat_live_0123456789").unwrap()
    }

    #[test]
    fn values_round_trip_and_never_contain_the_plaintext() {
        let cipher = Cipher::from_key_base64(KEY).unwrap();
        let id = MerchantId::new();
        let stored = cipher.encrypt("shopify_api_key", id, &secret());
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains("shpat"));
        assert_eq!(
            cipher.decrypt("shopify_api_key", id, &stored).unwrap(),
            secret()
        );
    }

    #[test]
    fn each_encryption_uses_a_fresh_nonce() {
        let cipher = Cipher::from_key_base64(KEY).unwrap();
        let id = MerchantId::new();
        assert_ne!(
            cipher.encrypt("shopify_api_key", id, &secret()),
            cipher.encrypt("shopify_api_key", id, &secret())
        );
    }

    #[test]
    fn values_are_bound_to_their_row_column_and_key() {
        let cipher = Cipher::from_key_base64(KEY).unwrap();
        let id = MerchantId::new();
        let stored = cipher.encrypt("shopify_api_key", id, &secret());
        assert!(matches!(
            cipher.decrypt("shopify_api_key", MerchantId::new(), &stored),
            Err(SecretError::Undecryptable { .. })
        ));
        assert!(matches!(
            cipher.decrypt("refersion_secret_key", id, &stored),
            Err(SecretError::Undecryptable { .. })
        ));
        let other = Cipher::from_key_base64(&STANDARD.encode([7u8; 32])).unwrap();
        assert!(matches!(
            other.decrypt("shopify_api_key", id, &stored),
            Err(SecretError::Undecryptable { .. })
        ));
    }

    #[test]
    fn plaintext_and_truncated_values_are_malformed() {
        let cipher = Cipher::from_key_base64(KEY).unwrap();
        let id = MerchantId::new();
        for bad in ["shpat_live_0123456789", "v1:not base64!", "v1:AAAA"] {
            assert!(
                matches!(
                    cipher.decrypt("shopify_api_key", id, bad),
                    Err(SecretError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(matches!(
            Cipher::from_key_base64("not base64!"),
            Err(KeyError::NotBase64)
        ));
        assert!(matches!(
            Cipher::from_key_base64(&STANDARD.encode([1u8; 16])),
            Err(KeyError::WrongLength(16))
        ));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let cipher = Cipher::from_key_base64(KEY).unwrap();
        assert_eq!(format!("{cipher:?}"), "Cipher([redacted])");
    }
}
