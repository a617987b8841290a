//! Currencies: ISO 4217 codes with their minor units, from `rusty-money`'s ISO table.
//!
//! Amounts are kept at two decimal places (the seed's `DECIMAL(p, 2)` columns), so a currency
//! is accepted when its minor unit is at most a hundredth: USD, EUR, ARS (2), JPY, KRW (0).
//! Three-decimal currencies (KWD, BHD, OMR, ...) are refused with
//! [`Invalid::CurrencyTooPrecise`] naming them: widening every money column for them was
//! weighed and left for when a merchant needs one.

use crate::error::Invalid;
use rust_decimal::{Decimal, RoundingStrategy};
use rusty_money::iso;
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::OnceLock;

/// An ISO 4217 currency that amounts can be kept in (at most two decimal places).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Decimal places every stored amount has, whatever its currency's minor unit.
const STORED_PLACES: u32 = 2;

impl Currency {
    /// US dollars: the default settlement currency.
    pub const USD: Currency = Currency(*b"USD");

    /// Trims and upper-cases `value`, then accepts it if it is an ISO 4217 code whose minor
    /// unit is at most two decimal places.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let code = value.trim().to_ascii_uppercase();
        let iso = iso::find(&code).ok_or(Invalid::Format(
            "an ISO 4217 currency code such as USD, EUR or JPY",
        ))?;
        if iso.exponent > STORED_PLACES {
            return Err(Invalid::CurrencyTooPrecise {
                code: iso.iso_alpha_code,
                places: iso.exponent,
            });
        }
        let bytes = iso.iso_alpha_code.as_bytes();
        Ok(Self([bytes[0], bytes[1], bytes[2]]))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Only codes from the ISO table, all ASCII, are ever held.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    fn iso(&self) -> &'static iso::Currency {
        // Every held code was found in the table by `parse`.
        iso::find(self.as_str()).unwrap_or(iso::USD)
    }

    /// Decimal places of its minor unit: 2 for USD, 0 for JPY.
    pub fn minor_units(&self) -> u32 {
        self.iso().exponent
    }

    /// `value` rounded to the minor unit with banker's rounding (half to even), kept at the
    /// stored two places: `1234.5` JPY is `1234.00`, `1235.5` JPY is `1236.00`.
    pub fn round(&self, value: Decimal) -> Decimal {
        let mut rounded =
            value.round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointNearestEven);
        rounded.rescale(STORED_PLACES);
        rounded
    }

    /// Refuses `value` if it has more decimal places than the minor unit (`0.50` JPY).
    pub fn check(&self, value: Decimal) -> Result<(), Invalid> {
        if value.normalize().scale() > self.minor_units() {
            Err(Invalid::TooPrecise {
                max_places: self.minor_units(),
            })
        } else {
            Ok(())
        }
    }

    /// `amount` as its users read it: symbol, digit grouping and decimal mark of the
    /// currency's convention, at its minor unit (`€1.234,50`, `¥1,235`, `-$5.00`).
    pub fn format(&self, amount: Decimal) -> String {
        // The formatter rounds to the minor unit but does not pad to it.
        let mut amount = self.round(amount);
        amount.rescale(self.minor_units());
        rusty_money::Money::from_decimal(amount, self.iso()).to_string()
    }

    /// Every accepted currency, by code.
    pub fn all() -> &'static [Currency] {
        static ALL: OnceLock<Vec<Currency>> = OnceLock::new();
        ALL.get_or_init(|| {
            // The ISO table can only be searched by code: try every three-letter one.
            let letters = b'A'..=b'Z';
            letters
                .clone()
                .flat_map(|a| letters.clone().map(move |b| (a, b)))
                .flat_map(|(a, b)| (b'A'..=b'Z').map(move |c| [a, b, c]))
                .filter_map(|code| Currency::parse(std::str::from_utf8(&code).ok()?).ok())
                .collect()
        })
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::USD
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

schema!(
    Currency,
    "Currency",
    string()
        .pattern(Some(trimmed(&format!(
            "(?:{})",
            Currency::all()
                .iter()
                .map(|c| any_case(c.as_str()))
                .collect::<Vec<_>>()
                .join("|")
        ))))
        .description(Some(
            "An ISO 4217 currency code, in any letter case, whose minor unit is at most two decimal places (USD, EUR, ARS, JPY, KRW, ...); three-decimal currencies such as KWD are refused."
                .to_owned()
        ))
);

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn codes_are_iso_4217_trimmed_and_upper_cased() {
        assert_eq!(c(" usd "), Currency::USD);
        assert_eq!(c("eur").as_str(), "EUR");
        for bad in ["", "US", "USDT", "U$D", "€", "XYZ", "ABC"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn three_decimal_currencies_are_refused_by_name() {
        for (code, places) in [("KWD", 3), ("BHD", 3), ("OMR", 3)] {
            let err = Currency::parse(code).unwrap_err();
            assert_eq!(err, Invalid::CurrencyTooPrecise { code, places });
            assert!(err.to_string().contains(code), "{err}");
        }
    }

    #[test]
    fn minor_units_come_from_the_iso_table() {
        assert_eq!(c("USD").minor_units(), 2);
        assert_eq!(c("ARS").minor_units(), 2);
        assert_eq!(c("JPY").minor_units(), 0);
        assert_eq!(c("KRW").minor_units(), 0);
        assert!(Currency::all().len() > 100);
        assert!(Currency::all().contains(&c("JPY")));
        assert!(Currency::all().iter().all(|c| c.minor_units() <= 2));
    }

    #[test]
    fn rounding_is_half_even_at_the_minor_unit_and_kept_at_two_places() {
        let jpy = c("JPY");
        assert_eq!(jpy.round(dec!(1234.5)).to_string(), "1234.00");
        assert_eq!(jpy.round(dec!(1235.5)).to_string(), "1236.00");
        assert_eq!(jpy.round(dec!(-0.5)), dec!(0));
        assert_eq!(Currency::USD.round(dec!(0.125)).to_string(), "0.12");
        assert_eq!(Currency::USD.round(dec!(0.135)).to_string(), "0.14");
    }

    #[test]
    fn amounts_finer_than_the_minor_unit_are_refused() {
        assert_eq!(
            c("JPY").check(dec!(100.50)),
            Err(Invalid::TooPrecise { max_places: 0 })
        );
        assert!(c("JPY").check(dec!(100.00)).is_ok());
        assert!(Currency::USD.check(dec!(100.05)).is_ok());
    }

    #[test]
    fn amounts_are_formatted_in_the_currency_s_convention() {
        assert_eq!(c("EUR").format(dec!(1234.50)), "€1.234,50");
        assert_eq!(c("JPY").format(dec!(1235.00)), "¥1,235");
        assert_eq!(Currency::USD.format(dec!(1234.5)), "$1,234.50");
    }

    #[test]
    fn serializes_as_its_code() {
        assert_eq!(serde_json::to_string(&c("jpy")).unwrap(), "\"JPY\"");
    }
}
