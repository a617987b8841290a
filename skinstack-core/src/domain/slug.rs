//! Slugs: the `abc123` in `https://skin.st/abc123`.
//!
//! Generated slugs come from a CSPRNG (`rand::rng()`, ChaCha12 seeded from the OS) over an
//! alphabet without look-alike characters, so they cannot be guessed from earlier ones and
//! survive being read aloud or typed from print. Uniqueness is decided by the store at insert
//! time ([`crate::RepoError::SlugTaken`]), never by a check-then-insert.

use crate::error::Invalid;
use rand::Rng;
use serde::Serialize;
use std::fmt;

/// Lower-case letters and digits without `0`, `o`, `1`, `l` and `i`: 31 characters, so six of
/// them give 31⁶ ≈ 887 million slugs.
pub const ALPHABET: &str = "abcdefghjkmnpqrstuvwxyz23456789";

/// Slugs the HTTP adapter serves routes at (or may soon); an influencer cannot choose these.
pub const RESERVED: &[&str] = &[
    "api",
    "admin",
    "assets",
    "dashboard",
    "docs",
    "favicon.ico",
    "health",
    "healthz",
    "login",
    "logout",
    "me",
    "metrics",
    "openapi.json",
    "readyz",
    "register",
    "robots.txt",
    "static",
    "v1",
    "webhooks",
];

/// Shortest slug accepted.
pub const MIN_LEN: usize = 3;
/// Longest slug accepted.
pub const MAX_LEN: usize = 64;

/// A link's slug: 3–64 characters of `[a-z0-9_-]`, stored and compared lower-case, so
/// `AbC123` and `abc123` name the same link.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Lower-cases `value` and checks its length and characters. Use it for lookups: a value
    /// this refuses cannot name any link, so the store need not be asked.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        if value.len() < MIN_LEN {
            return Err(Invalid::TooShort { min: MIN_LEN });
        }
        if value.len() > MAX_LEN {
            return Err(Invalid::TooLong { max: MAX_LEN });
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Invalid::Format("letters, digits, '_' or '-'"));
        }
        Ok(Self(value.to_ascii_lowercase()))
    }

    /// A slug an influencer chose: [`Slug::parse`] plus the reserved-word check.
    pub fn custom(value: &str) -> Result<Self, Invalid> {
        let slug = Self::parse(value.trim())?;
        if RESERVED.contains(&slug.as_str()) {
            return Err(Invalid::Reserved);
        }
        Ok(slug)
    }

    /// The slug, lower-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How slugs are generated: alphabet, starting length, and when to grow.
///
/// The service tries `attempts_per_length` fresh slugs at each length from `initial_length` to
/// `max_length`; each `SlugTaken` costs one attempt. So a crowded slug space makes slugs one
/// character longer instead of looping, and generation always ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlugPolicy {
    alphabet: Vec<u8>,
    initial_length: usize,
    attempts_per_length: u32,
    max_length: usize,
}

impl Default for SlugPolicy {
    fn default() -> Self {
        Self {
            alphabet: ALPHABET.as_bytes().to_vec(),
            initial_length: 6,
            attempts_per_length: 3,
            max_length: 12,
        }
    }
}

impl SlugPolicy {
    /// A policy over `alphabet` (distinct `[a-z0-9]` characters, at least two), starting at
    /// `initial_length` and growing up to `max_length` (within 3..=64).
    pub fn new(
        alphabet: &str,
        initial_length: usize,
        attempts_per_length: u32,
        max_length: usize,
    ) -> Result<Self, Invalid> {
        let mut bytes = alphabet.as_bytes().to_vec();
        bytes.sort_unstable();
        bytes.dedup();
        if bytes.len() < 2
            || bytes.len() != alphabet.len()
            || !bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(Invalid::Format(
                "at least two distinct characters of [a-z0-9]",
            ));
        }
        if initial_length < MIN_LEN || max_length > MAX_LEN || initial_length > max_length {
            return Err(Invalid::OutOfRange("lengths within 3..=64, initial ≤ max"));
        }
        if attempts_per_length == 0 {
            return Err(Invalid::OutOfRange("at least one attempt per length"));
        }
        Ok(Self {
            alphabet: alphabet.as_bytes().to_vec(),
            initial_length,
            attempts_per_length,
            max_length,
        })
    }

    /// Every length the service may try, in order, each with its number of attempts.
    pub fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        (self.initial_length..=self.max_length)
            .flat_map(move |len| std::iter::repeat_n(len, self.attempts_per_length as usize))
    }

    /// A fresh random slug of `length` characters. Reserved words are skipped.
    pub fn generate(&self, length: usize) -> Slug {
        let mut rng = rand::rng();
        loop {
            let slug: String = (0..length)
                .map(|_| char::from(self.alphabet[rng.random_range(0..self.alphabet.len())]))
                .collect();
            // RESERVED words need letters outside ALPHABET or are too short to be drawn by
            // the default policy; a custom alphabet might still spell one.
            if !RESERVED.contains(&slug.as_str()) {
                return Slug(slug);
            }
        }
    }
}

schema!(Slug, "Slug", {
    let reserved = RESERVED
        .iter()
        .map(|word| any_case(word))
        .collect::<Vec<_>>()
        .join("|");
    string()
            .pattern(Some(format!(
                "^[{SPACE}]*(?!(?:{reserved})[{SPACE}]*$)[A-Za-z0-9_-]{{{MIN_LEN},{MAX_LEN}}}[{SPACE}]*$"
            )))
            .description(Some(format!(
                "A custom slug: {MIN_LEN}–{MAX_LEN} letters, digits, '_' or '-', compared lower-case; not one of the reserved words ({}).",
                RESERVED.join(", ")
            )))
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_default_alphabet_has_31_unambiguous_characters() {
        assert_eq!(ALPHABET.len(), 31);
        for lookalike in ['0', 'o', '1', 'l', 'i'] {
            assert!(!ALPHABET.contains(lookalike));
        }
        assert_eq!(31u64.pow(6), 887_503_681);
    }

    #[test]
    fn generated_slugs_are_six_characters_of_the_alphabet_and_vary() {
        let policy = SlugPolicy::default();
        let slugs: HashSet<_> = (0..1000).map(|_| policy.generate(6)).collect();
        assert!(
            slugs.len() > 990,
            "a CSPRNG over 887M values repeats rarely"
        );
        for slug in &slugs {
            assert_eq!(slug.as_str().len(), 6);
            assert!(slug.as_str().chars().all(|c| ALPHABET.contains(c)));
        }
    }

    #[test]
    fn lookups_are_case_insensitive() {
        assert_eq!(
            Slug::parse("AbC123").unwrap(),
            Slug::parse("abc123").unwrap()
        );
    }

    #[test]
    fn custom_slugs_are_3_to_64_of_a_z_0_9_underscore_hyphen() {
        assert!(Slug::custom("glow-serum_2024").is_ok());
        assert_eq!(Slug::custom("ab"), Err(Invalid::TooShort { min: 3 }));
        assert_eq!(
            Slug::custom(&"a".repeat(65)),
            Err(Invalid::TooLong { max: 64 })
        );
        assert!(Slug::custom(&"a".repeat(64)).is_ok());
        for bad in ["glow serum", "glow/serum", "glöw", "glow.serum", "a%2fb"] {
            assert!(Slug::custom(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn reserved_words_cannot_be_chosen_in_any_case() {
        for word in [
            "api", "Admin", "HEALTH", "metrics", "login", "static", "webhooks",
        ] {
            assert_eq!(Slug::custom(word), Err(Invalid::Reserved), "{word}");
        }
        assert!(Slug::custom("openapi.json").is_err());
    }

    #[test]
    fn policies_refuse_bad_alphabets_and_lengths() {
        assert!(SlugPolicy::new("a", 3, 1, 4).is_err());
        assert!(SlugPolicy::new("aab", 3, 1, 4).is_err());
        assert!(SlugPolicy::new("aB", 3, 1, 4).is_err());
        assert!(SlugPolicy::new("ab", 2, 1, 4).is_err());
        assert!(SlugPolicy::new("ab", 5, 1, 4).is_err());
        assert!(SlugPolicy::new("ab", 3, 0, 4).is_err());
        assert!(SlugPolicy::new("ab", 3, 2, 4).is_ok());
    }

    #[test]
    fn lengths_grow_after_the_attempts_run_out_and_end() {
        let policy = SlugPolicy::new("ab", 3, 2, 5).unwrap();
        assert_eq!(policy.lengths().collect::<Vec<_>>(), vec![3, 3, 4, 4, 5, 5]);
    }
}
