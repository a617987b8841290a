//! Products merchants offer for promotion.

use super::{Currency, Description, MerchantId, Name, Price, ProductId, ProgramId, WebUrl};
use crate::error::Invalid;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The nine skincare categories of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the variant names are the documentation
pub enum Category {
    Cleanser,
    Serum,
    Moisturizer,
    Sunscreen,
    Mask,
    Toner,
    EyeCream,
    Treatment,
    Set,
}

impl Category {
    /// Every category, in the seed's order.
    pub const ALL: [Category; 9] = [
        Category::Cleanser,
        Category::Serum,
        Category::Moisturizer,
        Category::Sunscreen,
        Category::Mask,
        Category::Toner,
        Category::EyeCream,
        Category::Treatment,
        Category::Set,
    ];

    /// The value stored in `products.category`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Cleanser => "cleanser",
            Category::Serum => "serum",
            Category::Moisturizer => "moisturizer",
            Category::Sunscreen => "sunscreen",
            Category::Mask => "mask",
            Category::Toner => "toner",
            Category::EyeCream => "eye_cream",
            Category::Treatment => "treatment",
            Category::Set => "set",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
            .ok_or(Invalid::Format("one of cleanser, serum, moisturizer, sunscreen, mask, toner, eye_cream, treatment, set"))
    }
}

/// The merchant's own product id (Shopify, Amazon ASIN, ...): 1–255 visible characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// Most characters in an id (`VARCHAR(255)` counts characters, not bytes).
    pub const MAX_LEN: usize = 255;

    /// Trims and checks `value`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// What it takes to create a product. `(merchant_id, external_id)` is unique.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    /// The merchant selling it.
    pub merchant_id: MerchantId,
    /// The program it is promoted under, if any (must be the same merchant's).
    pub program_id: Option<ProgramId>,
    /// The merchant's own id for it.
    pub external_id: ExternalId,
    /// Its name.
    pub name: Name,
    /// Its description.
    pub description: Option<Description>,
    /// Its price, valid for the column by construction.
    pub price: Price,
    /// Image for link previews.
    pub image_url: Option<WebUrl>,
    /// Its page in the merchant's shop.
    pub product_url: WebUrl,
    /// Its category.
    pub category: Option<Category>,
    /// Whether it can be bought now.
    pub in_stock: bool,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Its id.
    pub id: ProductId,
    /// The merchant selling it.
    pub merchant_id: MerchantId,
    /// The program it is promoted under.
    pub program_id: Option<ProgramId>,
    /// The merchant's own id.
    pub external_id: ExternalId,
    /// Its name.
    pub name: Name,
    /// Its description.
    pub description: Option<Description>,
    /// Its price, in `currency`.
    pub price: Price,
    /// Its merchant's settlement currency (read with the product, never stored with it).
    pub currency: Currency,
    /// Image for link previews.
    pub image_url: Option<WebUrl>,
    /// Its page.
    pub product_url: WebUrl,
    /// Its category.
    pub category: Option<Category>,
    /// Whether it can be bought now.
    pub in_stock: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A change to a product; `None` fields stay as they are, `Some(None)` clears an optional one.
/// The external id never changes: it is how imports find the product again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductPatch {
    /// New or cleared program (must be the same merchant's).
    pub program_id: Option<Option<ProgramId>>,
    /// New name.
    pub name: Option<Name>,
    /// New or cleared description.
    pub description: Option<Option<Description>>,
    /// New price.
    pub price: Option<Price>,
    /// New or cleared image.
    pub image_url: Option<Option<WebUrl>>,
    /// New page.
    pub product_url: Option<WebUrl>,
    /// New or cleared category.
    pub category: Option<Option<Category>>,
    /// New stock state.
    pub in_stock: Option<bool>,
}

schema!(
    ExternalId,
    "ExternalId",
    trimmed_text(ExternalId::MAX_LEN, false).description(Some(format!(
        "The merchant's own product id: trimmed, then 1–{} characters without control characters.",
        ExternalId::MAX_LEN
    )))
);

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_nine_seed_categories_round_trip_and_others_are_refused() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(c));
        }
        assert_eq!(Category::parse("eye_cream"), Ok(Category::EyeCream));
        assert!(Category::parse("lipstick").is_err());
        assert!(Category::parse("Serum").is_err());
    }

    #[test]
    fn prices_are_zero_or_more_in_cents_within_decimal_10_2() {
        assert!(Price::from_decimal(dec!(-1)).is_err());
        assert!(Price::from_decimal(dec!(19.999)).is_err());
        assert!(Price::from_decimal(dec!(0)).is_ok());
        assert!(Price::from_decimal(dec!(99999999.99)).is_ok());
        assert!(Price::from_decimal(dec!(100000000)).is_err());
    }

    #[test]
    fn external_ids_are_trimmed_and_non_empty() {
        assert_eq!(
            ExternalId::parse(" gid://shopify/Product/1 ")
                .unwrap()
                .as_str(),
            "gid://shopify/Product/1"
        );
        assert!(ExternalId::parse(" ").is_err());
    }

    #[test]
    fn an_external_id_counts_characters_as_its_varchar_255_column_does() {
        assert!(ExternalId::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            ExternalId::parse(&"é".repeat(256)),
            Err(Invalid::TooLong { max: 255 })
        );
    }
}
