//! Validation errors: which field was refused, and why.

use std::fmt;

/// Why a value was refused. Carried inside a [`ValidationError`] that names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Empty, or only white space.
    Empty,
    /// Longer than allowed (in characters).
    TooLong {
        /// The maximum length.
        max: usize,
    },
    /// Shorter than allowed (in characters).
    TooShort {
        /// The minimum length.
        min: usize,
    },
    /// Not of the expected form; the text says which form was expected.
    Format(&'static str),
    /// Outside the allowed range; the text states the range.
    OutOfRange(&'static str),
    /// More decimal places than the column keeps.
    TooPrecise {
        /// The number of decimal places allowed.
        max_places: u32,
    },
    /// A word the platform keeps for itself.
    Reserved,
    /// Required by another field's value but absent.
    Missing(&'static str),
    /// Control characters (CR, LF, NUL, ...) are never accepted in text.
    ControlCharacter,
    /// An ISO 4217 currency whose minor unit is finer than the money columns keep (two
    /// decimal places): KWD, BHD, OMR and the other three-decimal currencies.
    CurrencyTooPrecise {
        /// The currency's code.
        code: &'static str,
        /// Its decimal places.
        places: u32,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Empty => f.write_str("must not be empty"),
            Invalid::TooLong { max } => write!(f, "must be at most {max} characters"),
            Invalid::TooShort { min } => write!(f, "must be at least {min} characters"),
            Invalid::Format(expected) => write!(f, "must be {expected}"),
            Invalid::OutOfRange(range) => write!(f, "must be {range}"),
            Invalid::TooPrecise { max_places } => {
                write!(f, "must have at most {max_places} decimal places")
            }
            Invalid::Reserved => f.write_str("is reserved"),
            Invalid::Missing(why) => write!(f, "is required {why}"),
            Invalid::ControlCharacter => f.write_str("must not contain control characters"),
            Invalid::CurrencyTooPrecise { code, places } => write!(
                f,
                "must be a currency of at most 2 decimal places: {code} has {places}, finer than amounts are kept"
            ),
        }
    }
}

/// A refused input value: the field it was meant for and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct ValidationError {
    /// The field's name as it appears in the schema and the API (`commission_rate`, `email`).
    pub field: &'static str,
    /// Why it was refused.
    pub reason: Invalid,
}

impl ValidationError {
    /// A refusal of `field` for `reason`.
    pub fn new(field: &'static str, reason: Invalid) -> Self {
        Self { field, reason }
    }
}

/// Attaches a field name to a bare [`Invalid`].
pub trait ForField<T> {
    /// Names the field that the value was parsed for.
    fn field(self, field: &'static str) -> Result<T, ValidationError>;
}

impl<T> ForField<T> for Result<T, Invalid> {
    fn field(self, field: &'static str) -> Result<T, ValidationError> {
        self.map_err(|reason| ValidationError::new(field, reason))
    }
}
