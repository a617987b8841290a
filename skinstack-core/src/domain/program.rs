//! Commission programs: how much an influencer earns on a merchant's sales.

use super::{Currency, EnrollmentMode, MerchantId, Money, Name, ProgramId};
use crate::earning::commission::CommissionSplit;
use crate::error::{ForField, Invalid, ValidationError};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The affiliate network a program runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Shopify with Refersion.
    ShopifyRefersion,
    /// Impact.
    Impact,
    /// Amazon Associates.
    Amazon,
    /// Levanta.
    Levanta,
}

impl Network {
    /// The value stored in `programs.network`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Network::ShopifyRefersion => "shopify_refersion",
            Network::Impact => "impact",
            Network::Amazon => "amazon",
            Network::Levanta => "levanta",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value {
            "shopify_refersion" => Ok(Network::ShopifyRefersion),
            "impact" => Ok(Network::Impact),
            "amazon" => Ok(Network::Amazon),
            "levanta" => Ok(Network::Levanta),
            _ => Err(Invalid::Format(
                "one of shopify_refersion, impact, amazon, levanta",
            )),
        }
    }
}

/// A percentage commission rate: 0 < rate ≤ 100 with at most two decimals (`DECIMAL(5,2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CommissionRate(Decimal);

impl CommissionRate {
    /// The highest rate, in percent.
    pub const MAX: Decimal = Decimal::ONE_HUNDRED;

    /// Parses a rate given as text (`"20"`, `" 12.5 "`): trimmed, plain digits and a point
    /// (no exponent or underscores, which `Decimal::from_str` would take), then [`Self::new`].
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty()
            || !value
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(Invalid::Format("a decimal number such as 12.5"));
        }
        let rate = value
            .parse::<Decimal>()
            .map_err(|_| Invalid::Format("a decimal number such as 12.5"))?;
        Self::new(rate)
    }

    /// Checks the range and precision.
    pub fn new(rate: Decimal) -> Result<Self, Invalid> {
        if rate <= Decimal::ZERO || rate > Self::MAX {
            return Err(Invalid::OutOfRange("greater than 0 and at most 100"));
        }
        if rate.normalize().scale() > 2 {
            return Err(Invalid::TooPrecise { max_places: 2 });
        }
        Ok(Self(rate.normalize()))
    }

    /// The rate in percent (`25` means 25 %).
    pub const fn percent(&self) -> Decimal {
        self.0
    }
}

/// How a program pays: a share of the order, or a fixed amount per conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Commission {
    /// A percentage of the order amount.
    Percentage(CommissionRate),
    /// A fixed amount per conversion, never more than the order amount.
    Fixed(Money),
}

impl Commission {
    /// A fixed commission: more than zero, fitting `DECIMAL(10,2)`.
    pub fn fixed(amount: Money) -> Result<Self, Invalid> {
        if amount.is_zero() {
            return Err(Invalid::OutOfRange("greater than 0"));
        }
        Ok(Commission::Fixed(amount.fit_digits(super::Price::DIGITS)?))
    }

    /// The value stored in `programs.commission_type`.
    pub const fn type_str(&self) -> &'static str {
        match self {
            Commission::Percentage(_) => "percentage",
            Commission::Fixed(_) => "fixed",
        }
    }

    /// Rebuilds a commission from the seed's three columns, naming the field at fault.
    pub fn from_columns(
        commission_type: &str,
        commission_rate: Option<Decimal>,
        fixed_amount: Option<Decimal>,
    ) -> Result<Self, ValidationError> {
        match commission_type {
            "percentage" => {
                let rate = commission_rate
                    .ok_or(Invalid::Missing("for a percentage commission"))
                    .field("commission_rate")?;
                Ok(Commission::Percentage(
                    CommissionRate::new(rate).field("commission_rate")?,
                ))
            }
            "fixed" => {
                let amount = fixed_amount
                    .ok_or(Invalid::Missing("for a fixed commission"))
                    .field("fixed_amount")?;
                let money = Money::new(amount).field("fixed_amount")?;
                Commission::fixed(money).field("fixed_amount")
            }
            _ => Err(Invalid::Format("one of percentage, fixed")).field("commission_type"),
        }
    }
}

/// How long after a click an order still counts for the influencer: 1–365 days, 30 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CookieWindow(u16);

impl CookieWindow {
    /// The longest window, in days.
    pub const MAX_DAYS: u16 = 365;
    /// The window of a program that names none.
    pub const DEFAULT_DAYS: u16 = 30;

    /// Checks the 1..=365 range.
    pub fn new(days: i64) -> Result<Self, Invalid> {
        match u16::try_from(days) {
            Ok(d @ 1..=Self::MAX_DAYS) => Ok(Self(d)),
            _ => Err(Invalid::OutOfRange("between 1 and 365 days")),
        }
    }

    /// The window in days.
    pub const fn days(&self) -> u16 {
        self.0
    }

    /// The window as a duration.
    pub fn duration(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.0))
    }
}

impl Default for CookieWindow {
    fn default() -> Self {
        Self(Self::DEFAULT_DAYS)
    }
}

/// The platform's share of each commission: 0.00–1.00 with two decimals, 0.20 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FeeRate(Decimal);

impl FeeRate {
    /// Checks the range and precision (`DECIMAL(3,2)`).
    pub fn new(rate: Decimal) -> Result<Self, Invalid> {
        if rate < Decimal::ZERO || rate > Decimal::ONE {
            return Err(Invalid::OutOfRange("between 0.00 and 1.00"));
        }
        if rate.normalize().scale() > 2 {
            return Err(Invalid::TooPrecise { max_places: 2 });
        }
        Ok(Self(rate.normalize()))
    }

    /// The rate as a fraction (`0.2` means 20 %).
    pub const fn fraction(&self) -> Decimal {
        self.0
    }
}

impl Default for FeeRate {
    fn default() -> Self {
        Self(Decimal::from_parts(20, 0, 0, false, 2))
    }
}

/// What it takes to create a program.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProgram {
    /// The merchant running it.
    pub merchant_id: MerchantId,
    /// Its name.
    pub name: Name,
    /// Its network.
    pub network: Network,
    /// What it pays.
    pub commission: Commission,
    /// Attribution window.
    pub cookie_window: CookieWindow,
    /// The platform's fee.
    pub platform_fee_rate: FeeRate,
    /// How influencers join it.
    pub enrollment_mode: EnrollmentMode,
}

/// A stored program.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// Its id.
    pub id: ProgramId,
    /// The merchant running it.
    pub merchant_id: MerchantId,
    /// The merchant's settlement currency, which a fixed commission is in (read with the
    /// program, never stored with it).
    pub currency: Currency,
    /// Its name.
    pub name: Name,
    /// Its network.
    pub network: Network,
    /// What it pays.
    pub commission: Commission,
    /// Attribution window.
    pub cookie_window: CookieWindow,
    /// The platform's fee.
    pub platform_fee_rate: FeeRate,
    /// How influencers join it.
    pub enrollment_mode: EnrollmentMode,
    /// Inactive programs accept no new links and their links stop redirecting.
    pub is_active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Program {
    /// The commission owed on an order of `amount` in `currency`: see [`Commission::split`].
    pub fn split(&self, amount: Money, currency: Currency) -> CommissionSplit {
        self.commission
            .split(amount, self.platform_fee_rate, currency)
    }
}

/// A change to a program; `None` fields stay as they are. Activation has its own repository
/// call, and the platform's fee is not the merchant's to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgramPatch {
    /// New name.
    pub name: Option<Name>,
    /// New network.
    pub network: Option<Network>,
    /// New commission (applies to orders attributed from now on).
    pub commission: Option<Commission>,
    /// New attribution window.
    pub cookie_window: Option<CookieWindow>,
    /// New enrollment mode (memberships already decided stay as they are).
    pub enrollment_mode: Option<EnrollmentMode>,
}

schema!(
    CommissionRate,
    "CommissionRate",
    decimal(
        // Above 0 and at most 100, two places at most: 100, 1–99.99, or 0.01–0.99.
        trimmed(r"(?:0*100(?:\.0{1,2})?|0*[1-9][0-9]?(?:\.[0-9]{1,2})?|0*\.(?:0[1-9]|[1-9][0-9]?))"),
        utoipa::openapi::schema::ObjectBuilder::new()
            .exclusive_minimum(Some(0))
            .maximum(Some(super::money::bound(CommissionRate::MAX))),
        "A commission rate in percent: a decimal string (preferred: exact) or number, above 0 and at most 100, at most two decimal places.",
    )
);
schema!(
    CookieWindow,
    "CookieWindow",
    integer(1, i64::from(CookieWindow::MAX_DAYS))
        .default(Some(CookieWindow::DEFAULT_DAYS.into()))
        .description(Some(format!(
            "How many days after a click an order still counts: 1–{}, {} when absent.",
            CookieWindow::MAX_DAYS,
            CookieWindow::DEFAULT_DAYS
        )))
);

#[cfg(feature = "openapi")]
impl Commission {
    /// The schema of a fixed commission's amount: a [`super::Price`] above zero.
    pub fn fixed_amount_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::openapi::*;
        let digits = super::money::int_digits(super::Price::MAX.amount());
        decimal(
            trimmed(&format!(
                r"(?:0*[1-9][0-9]{{0,{}}}(?:\.[0-9]{{1,2}})?|0*\.(?:0[1-9]|[1-9][0-9]?))",
                digits - 1
            )),
            utoipa::openapi::schema::ObjectBuilder::new()
                .exclusive_minimum(Some(0))
                .maximum(Some(super::money::bound(super::Price::MAX.amount()))),
            &format!(
                "The amount per order: a decimal string (preferred: exact) or number, above 0, at most two decimal places, at most {}.",
                super::Price::MAX
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn networks_round_trip_and_unknown_ones_are_refused() {
        for n in [
            Network::ShopifyRefersion,
            Network::Impact,
            Network::Amazon,
            Network::Levanta,
        ] {
            assert_eq!(Network::parse(n.as_str()), Ok(n));
        }
        assert!(Network::parse("cj").is_err());
    }

    #[test]
    fn commission_rates_are_above_zero_up_to_one_hundred_with_two_decimals() {
        assert!(CommissionRate::new(dec!(0)).is_err());
        assert!(CommissionRate::new(dec!(100.01)).is_err());
        assert!(CommissionRate::new(dec!(12.345)).is_err());
        assert!(CommissionRate::new(dec!(0.01)).is_ok());
        assert!(CommissionRate::new(dec!(100)).is_ok());
        assert_eq!(
            CommissionRate::new(dec!(22.50)).unwrap().percent(),
            dec!(22.5)
        );
    }

    #[test]
    fn fixed_commissions_must_be_positive_cents_within_decimal_10_2() {
        assert!(Commission::fixed(Money::ZERO).is_err());
        assert!(Commission::fixed(Money::new(dec!(100000000)).unwrap()).is_err());
        assert!(Commission::fixed(Money::new(dec!(5.00)).unwrap()).is_ok());
    }

    #[test]
    fn commission_columns_must_agree_with_the_type() {
        assert_eq!(
            Commission::from_columns("percentage", None, Some(dec!(5)))
                .unwrap_err()
                .field,
            "commission_rate"
        );
        assert_eq!(
            Commission::from_columns("fixed", Some(dec!(5)), None)
                .unwrap_err()
                .field,
            "fixed_amount"
        );
        assert_eq!(
            Commission::from_columns("tiered", None, None)
                .unwrap_err()
                .field,
            "commission_type"
        );
        assert!(matches!(
            Commission::from_columns("fixed", None, Some(dec!(5))),
            Ok(Commission::Fixed(_))
        ));
    }

    #[test]
    fn cookie_windows_are_one_to_365_days_defaulting_to_30() {
        assert!(CookieWindow::new(0).is_err());
        assert!(CookieWindow::new(366).is_err());
        assert!(CookieWindow::new(-1).is_err());
        assert_eq!(CookieWindow::new(365).unwrap().days(), 365);
        assert_eq!(CookieWindow::default().days(), 30);
    }

    #[test]
    fn fee_rates_are_zero_to_one_with_two_decimals_defaulting_to_twenty_percent() {
        assert!(FeeRate::new(dec!(-0.01)).is_err());
        assert!(FeeRate::new(dec!(1.01)).is_err());
        assert!(FeeRate::new(dec!(0.205)).is_err());
        assert!(FeeRate::new(dec!(0)).is_ok());
        assert!(FeeRate::new(dec!(1)).is_ok());
        assert_eq!(FeeRate::default().fraction(), dec!(0.20));
    }

    #[test]
    fn a_rate_given_as_text_is_trimmed_and_takes_plain_digits_only() {
        assert_eq!(
            CommissionRate::parse(" 12.5 ").map(|r| r.percent()),
            Ok(Decimal::new(125, 1))
        );
        assert_eq!(
            CommissionRate::parse("100").map(|r| r.percent()),
            Ok(Decimal::ONE_HUNDRED)
        );
        for bad in ["", "1e1", "1_0", "twenty", " "] {
            assert!(CommissionRate::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(CommissionRate::parse("0").is_err());
        assert!(CommissionRate::parse("100.01").is_err());
        assert!(CommissionRate::parse("1.234").is_err());
    }
}
