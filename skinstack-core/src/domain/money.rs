//! Non-negative amounts of money at cent precision.

use crate::error::Invalid;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A non-negative amount with at most two decimal places (USD cents), as the seed's
/// `DECIMAL(p, 2)` columns keep it. Signed quantities (refund reversals, balances) are plain
/// `Decimal`s produced by [`crate::earning::commission`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Fifty: the default minimum payout.
    pub const FIFTY: Money = Money(Decimal::from_parts(5000, 0, 0, false, 2));

    /// The largest amount the widest money column (`DECIMAL(12,2)`) holds.
    pub const MAX: Money = Money(Decimal::from_parts(3_567_587_327, 232, 0, false, 2)); // 999_999_999_999 cents

    /// Accepts `value` if it is ≥ 0, has at most two decimal places and fits `DECIMAL(12,2)`.
    /// The result always has scale 2, so `5` and `5.00` are the same amount.
    pub fn new(value: Decimal) -> Result<Self, Invalid> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(Invalid::OutOfRange("zero or more"));
        }
        if value.normalize().scale() > 2 {
            return Err(Invalid::TooPrecise { max_places: 2 });
        }
        if value > Self::MAX.0 {
            return Err(Invalid::OutOfRange("at most 9999999999.99"));
        }
        let mut value = value.abs(); // turns -0 into 0
        value.rescale(2);
        Ok(Self(value))
    }

    /// Parses a decimal string such as `"19.99"`; `NaN`, exponents and junk are refused.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        // Decimal::from_str also takes exponents and underscores; an amount is plain digits.
        if !value
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(Invalid::Format("a decimal amount such as 19.99"));
        }
        let decimal = Decimal::from_str(value)
            .map_err(|_| Invalid::Format("a decimal amount such as 19.99"))?;
        Self::new(decimal)
    }

    /// Refuses amounts with more than `digits` significant digits, as `DECIMAL(digits, 2)` would.
    pub fn fit_digits(self, digits: u32) -> Result<Self, Invalid> {
        let limit = Decimal::from(10u64.pow(digits - 2));
        if self.0 >= limit {
            Err(Invalid::OutOfRange(match digits {
                10 => "below 100000000.00",
                _ => "within the column's precision",
            }))
        } else {
            Ok(self)
        }
    }

    /// The amount as a `Decimal` with scale 2.
    pub const fn amount(&self) -> Decimal {
        self.0
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

/// A product's price: a [`Money`] that also fits `products.price DECIMAL(10,2)`, so below
/// 100000000.00. Holding one means every store can keep it; no store checks it again.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Price(Money);

impl Price {
    /// Free.
    pub const ZERO: Price = Price(Money::ZERO);

    /// The dearest price the column holds.
    pub const MAX: Price = Price(Money(Decimal::from_parts(1_410_065_407, 2, 0, false, 2))); // 9_999_999_999 cents

    /// Significant digits of the column, `DECIMAL(10,2)`.
    pub const DIGITS: u32 = 10;

    /// Accepts `amount` if it fits `DECIMAL(10,2)`.
    pub fn new(amount: Money) -> Result<Self, Invalid> {
        amount.fit_digits(Self::DIGITS).map(Self)
    }

    /// Parses a decimal string such as `"38.50"`, as [`Money::parse`] does, within the column.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        Self::new(Money::parse(value)?)
    }

    /// Checks a stored or computed `Decimal`: zero or more, cents, within the column.
    pub fn from_decimal(value: Decimal) -> Result<Self, Invalid> {
        Self::new(Money::new(value)?)
    }

    /// The price as an amount of money.
    pub const fn money(&self) -> Money {
        self.0
    }

    /// The price as a `Decimal` with scale 2.
    pub const fn amount(&self) -> Decimal {
        self.0.amount()
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<Price> for Money {
    fn from(price: Price) -> Self {
        price.0
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Digits before the point of the largest amount `max` (10 for `Money::MAX`).
#[cfg(feature = "openapi")]
pub(crate) fn int_digits(max: Decimal) -> u32 {
    max.trunc().to_string().len() as u32
}

/// `max` as a JSON Schema bound.
#[cfg(feature = "openapi")]
pub(crate) fn bound(max: Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&max).unwrap_or(f64::MAX)
}

schema!(
    Money,
    "Money",
    decimal(
        amount_pattern(int_digits(Money::MAX.amount())),
        utoipa::openapi::schema::ObjectBuilder::new()
            .minimum(Some(0))
            .maximum(Some(bound(Money::MAX.amount()))),
        &format!(
            "An amount: a decimal string (preferred: exact) or number, zero or more, at most two decimal places, at most {}.",
            Money::MAX
        ),
    )
);
schema!(
    Price,
    "Price",
    decimal(
        amount_pattern(int_digits(Price::MAX.amount())),
        utoipa::openapi::schema::ObjectBuilder::new()
            .minimum(Some(0))
            .maximum(Some(bound(Price::MAX.amount()))),
        &format!(
            "A price or order amount (DECIMAL(10,2)): a decimal string (preferred: exact) or number, zero or more, at most two decimal places, at most {}.",
            Price::MAX
        ),
    )
);

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn accepts_cents_and_normalises_scale() {
        assert_eq!(
            Money::new(dec!(19.9)).unwrap().amount().to_string(),
            "19.90"
        );
        assert_eq!(
            Money::new(dec!(5)).unwrap(),
            Money::new(dec!(5.000)).unwrap()
        );
        assert_eq!(Money::new(dec!(0)).unwrap(), Money::ZERO);
    }

    #[test]
    fn refuses_negative_amounts() {
        assert_eq!(
            Money::new(dec!(-0.01)),
            Err(Invalid::OutOfRange("zero or more"))
        );
    }

    #[test]
    fn refuses_fractions_of_a_cent() {
        assert_eq!(
            Money::new(dec!(1.005)),
            Err(Invalid::TooPrecise { max_places: 2 })
        );
    }

    #[test]
    fn refuses_nan_and_junk_strings() {
        for bad in ["NaN", "inf", "1e3", "1_000", "12,50", "", "$5", "1.2.3"] {
            assert!(Money::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(Money::parse(" 12.50 ").unwrap().amount(), dec!(12.50));
    }

    #[test]
    fn max_is_the_widest_column_and_one_cent_more_is_refused() {
        assert_eq!(Money::MAX.amount(), dec!(9999999999.99));
        assert!(Money::new(dec!(10000000000.00)).is_err());
    }

    #[test]
    fn prices_fit_decimal_10_2_and_one_cent_more_is_refused() {
        assert_eq!(Price::MAX.amount(), dec!(99999999.99));
        assert_eq!(Price::new(Price::MAX.money()), Ok(Price::MAX));
        assert_eq!(
            Price::parse("100000000.00"),
            Err(Invalid::OutOfRange("below 100000000.00"))
        );
        assert_eq!(Price::parse("38.5").unwrap().amount().to_string(), "38.50");
        assert_eq!(Price::from_decimal(dec!(0)).unwrap().money(), Money::ZERO);
        assert_eq!(
            Price::from_decimal(dec!(1.005)),
            Err(Invalid::TooPrecise { max_places: 2 })
        );
        assert!(Price::parse("-1").is_err());
        assert!(Price::parse("1e3").is_err());
    }

    #[test]
    fn fit_digits_matches_decimal_10_2() {
        assert!(Money::new(dec!(99999999.99))
            .unwrap()
            .fit_digits(10)
            .is_ok());
        assert!(Money::new(dec!(100000000.00))
            .unwrap()
            .fit_digits(10)
            .is_err());
    }
}
