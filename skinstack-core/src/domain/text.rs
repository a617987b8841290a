//! Free text with bounds: trimmed, non-empty, no control characters.

use crate::error::Invalid;
use serde::Serialize;
use std::fmt;

/// Trimmed, non-empty text of at most `MAX` characters, free of control characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedText<const MAX: usize>(String);

/// A name: of a person, a business, a program or a product.
pub type Name = BoundedText<200>;
/// A longer description, such as a product's.
pub type Description = BoundedText<5000>;

impl<const MAX: usize> BoundedText<MAX> {
    /// Trims `value` and accepts it if it is 1..=`MAX` characters without control characters.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.chars().count() > MAX {
            return Err(Invalid::TooLong { max: MAX });
        }
        // Tabs and newlines are fine in a description; other control characters never are.
        let allowed_ws = |c: char| MAX > 200 && (c == '\n' || c == '\t' || c == '\r');
        if value.chars().any(|c| c.is_control() && !allowed_ws(c)) {
            return Err(Invalid::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "openapi")]
impl<const MAX: usize> utoipa::PartialSchema for BoundedText<MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let what = if MAX > 200 {
            "tab, line feed and carriage return allowed"
        } else {
            "on one line"
        };
        crate::openapi::trimmed_text(MAX, MAX > 200)
            .description(Some(format!(
                "Trimmed, then 1–{MAX} characters without control characters ({what})."
            )))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl<const MAX: usize> utoipa::ToSchema for BoundedText<MAX> {
    fn name() -> std::borrow::Cow<'static, str> {
        match MAX {
            200 => "Name".into(),
            5000 => "Description".into(),
            1000 => "ApplicationMessage".into(),
            _ => format!("Text{MAX}").into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(Name::parse("  Glow Serum ").unwrap().as_str(), "Glow Serum");
        assert_eq!(Name::parse("   "), Err(Invalid::Empty));
    }

    #[test]
    fn names_refuse_control_characters_and_excess_length() {
        assert_eq!(
            Name::parse("a\r\nSet-Cookie: x"),
            Err(Invalid::ControlCharacter)
        );
        assert_eq!(
            Name::parse(&"x".repeat(201)),
            Err(Invalid::TooLong { max: 200 })
        );
        assert!(Name::parse(&"x".repeat(200)).is_ok());
    }

    #[test]
    fn descriptions_may_span_lines() {
        assert!(Description::parse("Line one\nLine two").is_ok());
        assert_eq!(
            Description::parse("bell\u{7}"),
            Err(Invalid::ControlCharacter)
        );
    }
}
