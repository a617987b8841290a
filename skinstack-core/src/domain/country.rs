//! Countries: ISO 3166-1 alpha-2 codes, from the `isocountry` crate's table.
//!
//! A click's country comes from an edge's header (`CF-IPCountry`, `CloudFront-Viewer-Country`,
//! `X-Vercel-IP-Country`) when the operator says which one to trust, or else from a GeoIP
//! database the operator gives (`skinstack_http::geoip`). Edges also send codes that name no
//! country (Cloudflare's `XX` for unknown and `T1` for Tor); those are refused here, so a
//! click then simply has no country.

use crate::error::Invalid;
use std::fmt;

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

const EXPECTED: Invalid = Invalid::Format("an ISO 3166-1 alpha-2 country code such as DE");

impl Country {
    /// Trims and upper-cases `value`, then accepts it if ISO 3166-1 assigns it to a country.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let code = value.trim().to_ascii_uppercase();
        let known = isocountry::CountryCode::for_alpha2(&code).map_err(|_| EXPECTED)?;
        // The table's alpha-2 codes are two ASCII letters each.
        let &[a, b] = known.alpha2().as_bytes() else {
            return Err(EXPECTED);
        };
        Ok(Self([a, b]))
    }

    /// The code, e.g. `DE`.
    pub fn as_str(&self) -> &str {
        // Only codes from the ISO table, all ASCII, are ever held.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_codes_are_accepted_in_any_case_and_kept_upper_case() {
        for (given, kept) in [("DE", "DE"), ("us", "US"), (" gb ", "GB"), ("Br", "BR")] {
            assert_eq!(Country::parse(given).unwrap().as_str(), kept);
        }
    }

    #[test]
    fn codes_that_name_no_country_are_refused() {
        // Cloudflare's unknown and Tor markers, alpha-3 codes, and junk.
        for given in ["XX", "T1", "ZZ", "DEU", "D", "", "1", "UK", "é"] {
            assert!(Country::parse(given).is_err(), "{given:?}");
        }
    }
}
