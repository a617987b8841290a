//! OpenAPI schemas of the validated types (feature `openapi`).
//!
//! Each validated type's [`utoipa::PartialSchema`] impl sits beside its parser, in
//! `domain/<type>.rs`, and is built from the constants that parser reads, so the document
//! states exactly what `parse` accepts: a client generated from it sends nothing the server
//! refuses for a reason a schema can express. This module only spells the shapes those impls
//! share, and the few rules that belong to no type (a page's `limit`).
//!
//! The parsers trim their input, so the patterns allow surrounding white space, except where
//! the schema also has a `format` (`uri`, `date`): a value the pattern allows must satisfy the
//! format too, so those patterns are anchored tight, and a subset of the format. They spell
//! `char::is_control` and Unicode `White_Space` (what `str::trim` strips) as explicit ranges,
//! since regex dialects disagree on `\s`. Rust patterns are written for both ECMA-262 and
//! Python's `re`, which the document's readers use.

use crate::store::Page;
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;

/// Unicode `White_Space`, what `str::trim` strips, as the inside of a character class.
pub const SPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `char::is_control` (the C0 and C1 controls), as the inside of a character class.
pub const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// The controls a multi-line text refuses: all but tab, line feed and carriage return.
const CONTROL_BUT_LINES: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

/// A `string` schema.
pub fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// An `integer` schema within `min..=max`.
pub fn integer(min: i64, max: i64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
}

/// `core` with any white space around it (the parser trims it off), anchored.
pub fn trimmed(core: &str) -> String {
    format!("^[{SPACE}]*{core}[{SPACE}]*$")
}

/// Text the parser trims, then takes if it is 1..=`max` characters with no control character
/// (tab, line feed and carriage return allowed inside a `multiline` one). The length is the
/// untrimmed one (`maxLength`), a little stricter than the parser: a pattern that counted the
/// trimmed characters exactly makes generators from the schema crawl.
pub fn trimmed_text(max: usize, multiline: bool) -> ObjectBuilder {
    let inner = if multiline {
        CONTROL_BUT_LINES
    } else {
        CONTROL
    };
    string()
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!("^[^{inner}]*[^{SPACE}{CONTROL}][^{inner}]*$")))
}

/// `word` in any letter case, as a pattern (`usd` → `[uU][sS][dD]`).
pub fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// A decimal amount as the API reads one: a string (preferred: exact) or a JSON number.
/// `text` is the string's pattern, `number` the same range for a number.
pub fn decimal(text: String, number: ObjectBuilder, description: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(string().pattern(Some(text)))
        .item(number.schema_type(Type::Number).multiple_of(Some(0.01)))
        .description(Some(description))
        .into()
}

/// The pattern of a non-negative amount with at most two decimal places and at most
/// `int_digits` digits before the point (`19.99`, `5`, `0.5`).
pub fn amount_pattern(int_digits: u32) -> String {
    trimmed(&format!(r"[0-9]{{1,{int_digits}}}(?:\.[0-9]{{1,2}})?"))
}

/// A page's `limit`: 1..=[`Page::MAX_LIMIT`], [`Page::DEFAULT_LIMIT`] when absent.
pub fn page_limit() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(1))
        .maximum(Some(Page::<()>::MAX_LIMIT))
        .default(Some(Page::<()>::DEFAULT_LIMIT.into()))
        .into()
}

/// A UTC day of a statement's range, `YYYY-MM-DD` within
/// [`FIRST_DAY`](crate::service::statements::FIRST_DAY)..=[`LAST_DAY`](crate::service::statements::LAST_DAY).
/// That `from` is not after `to`, and that the span is at most
/// [`MAX_SERIES_DAYS`](crate::service::statements::MAX_SERIES_DAYS), relate two parameters: no
/// schema can say it, so the description does.
pub fn day() -> Schema {
    use crate::service::statements::{FIRST_DAY, LAST_DAY, MAX_SERIES_DAYS};
    use chrono::Datelike;
    let first = FIRST_DAY.year();
    assert!(
        first == 1970 && LAST_DAY.year() == 9999,
        "the pattern below spells 1970..=9999"
    );
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        // Anchored without surrounding white space: a pattern must allow no value its
        // `format` refuses, or a generator following the pattern writes requests the
        // document calls invalid.
        .pattern(Some(
            "^(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$",
        ))
        .description(Some(format!(
            "A UTC day, {FIRST_DAY} to {LAST_DAY}. `from` must not be after `to`, and a range spans at most {MAX_SERIES_DAYS} days."
        )))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;
    use crate::{Invalid, Password};
    use proptest::prelude::*;
    use utoipa::openapi::schema::Object;
    use utoipa::PartialSchema;

    /// The string schema of `schema`: itself, or the string member of a decimal's `oneOf`.
    fn string_of(schema: RefOr<Schema>) -> Object {
        match schema {
            RefOr::T(Schema::Object(object)) => object,
            RefOr::T(Schema::OneOf(one_of)) => one_of
                .items
                .into_iter()
                .find_map(|item| match item {
                    RefOr::T(Schema::Object(o)) if o.pattern.is_some() => Some(o),
                    _ => None,
                })
                .expect("a string member"),
            _ => panic!("not a string schema"),
        }
    }

    /// Strings the schema's pattern allows, within its lengths. (`$` is Python's and ECMA's end;
    /// the generator reads the pattern unanchored at the end, which is what `$` means there.)
    fn allowed(schema: RefOr<Schema>) -> impl Strategy<Value = String> {
        let object = string_of(schema);
        let pattern = object.pattern.expect("a pattern");
        let pattern = pattern
            .trim_start_matches('^')
            .trim_end_matches('$')
            .to_owned();
        let (min, max) = (
            object.min_length.unwrap_or(0),
            object.max_length.unwrap_or(usize::MAX),
        );
        proptest::string::string_regex(&pattern)
            .expect("a pattern proptest reads")
            .prop_filter("within the schema's lengths", move |s| {
                (min..=max).contains(&s.chars().count())
            })
    }

    fn accepted<T, E: std::fmt::Debug>(
        what: &str,
        value: &str,
        parsed: Result<T, E>,
    ) -> Result<(), TestCaseError> {
        prop_assert!(
            parsed.is_ok(),
            "{what} refused {value:?}: {:?}",
            parsed.err()
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Everything a schema allows, its parser takes: a client that follows the document is
        /// never refused for the shape of a value.
        #[test]
        fn every_value_a_schema_allows_its_parser_takes(
            name in allowed(Name::schema()),
            description in allowed(Description::schema()),
            handle in allowed(Handle::schema()),
            stripe in allowed(StripeAccountId::schema()),
            shop in allowed(ShopifyDomain::schema()),
            utm in allowed(UtmValue::schema()),
            code in allowed(CampaignCode::schema()),
            shop_ref in allowed(ShopRef::schema()),
            currency in allowed(Currency::schema()),
            external in allowed(ExternalId::schema()),
            secret in allowed(Secret::schema()),
            url in allowed(WebUrl::schema()),
            site in allowed(SiteUrl::schema()),
            money in allowed(Money::schema()),
            price in allowed(Price::schema()),
            rate in allowed(CommissionRate::schema()),
            fixed in allowed(Commission::fixed_amount_schema()),
            coupon in allowed(CodeText::schema()),
            invite in allowed(InviteToken::schema()),
            max_order in allowed(MaxOrderAmount::schema()),
            message in allowed(ApplicationMessage::schema()),
            period in allowed(BillingPeriod::schema()),
            reference in allowed(PaymentReference::schema()),
        ) {
            accepted("Name", &name, Name::parse(&name))?;
            accepted("Description", &description, Description::parse(&description))?;
            accepted("Handle", &handle, Handle::parse(&handle))?;
            accepted("StripeAccountId", &stripe, StripeAccountId::parse(&stripe))?;
            accepted("ShopifyDomain", &shop, ShopifyDomain::parse(&shop))?;
            accepted("UtmValue", &utm, UtmValue::parse(&utm))?;
            accepted("CampaignCode", &code, CampaignCode::parse(&code))?;
            accepted("ShopRef", &shop_ref, ShopRef::parse(&shop_ref))?;
            accepted("Currency", &currency, Currency::parse(&currency))?;
            accepted("ExternalId", &external, ExternalId::parse(&external))?;
            accepted("Secret", &secret, Secret::parse(&secret))?;
            accepted("WebUrl", &url, WebUrl::parse_uri(&url))?;
            accepted("SiteUrl", &site, SiteUrl::parse_uri(&site))?;
            accepted("Money", &money, Money::parse(&money))?;
            accepted("Price", &price, Price::parse(&price))?;
            accepted("CommissionRate", &rate, CommissionRate::parse(&rate))?;
            accepted("fixed amount", &fixed, Money::parse(&fixed).and_then(Commission::fixed))?;
            accepted("CodeText", &coupon, CodeText::parse(&coupon))?;
            accepted("InviteToken", &invite, InviteToken::parse(&invite))?;
            accepted("MaxOrderAmount", &max_order, Money::parse(&max_order).and_then(MaxOrderAmount::new))?;
            accepted("ApplicationMessage", &message, ApplicationMessage::parse(&message))?;
            accepted("BillingPeriod", &period, BillingPeriod::parse(&period))?;
            accepted("PaymentReference", &reference, PaymentReference::parse(&reference))?;
        }
    }

    #[test]
    fn the_schemas_bounds_are_the_parsers_constants() {
        let password = string_of(Password::schema());
        assert_eq!(password.min_length, Some(Password::MIN_LEN));
        assert_eq!(password.max_length, Some(Password::MAX_LEN));
        assert_eq!(string_of(Name::schema()).max_length, Some(200));
        assert_eq!(string_of(Description::schema()).max_length, Some(5000));
        assert_eq!(string_of(Email::schema()).max_length, Some(Email::MAX_LEN));
        assert_eq!(
            string_of(WebUrl::schema()).max_length,
            Some(WebUrl::MAX_LEN - 1)
        );
        assert_eq!(
            Password::parse(&"x".repeat(Password::MIN_LEN - 1)),
            Err(Invalid::TooShort { min: 12 })
        );
    }

    #[test]
    fn any_case_spells_every_letter_both_ways() {
        assert_eq!(any_case("USD"), "[uU][sS][dD]");
        assert_eq!(
            any_case(".myshopify.com"),
            r"\.[mM][yY][sS][hH][oO][pP][iI][fF][yY]\.[cC][oO][mM]"
        );
    }
}
