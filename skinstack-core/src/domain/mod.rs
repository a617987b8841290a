//! Validated entities and values, one module each.

mod email;
mod ids;
mod influencer;
mod link;
mod merchant;
mod money;
mod product;
mod program;
mod secret;
mod text;
mod user;
mod web_url;

pub use email::Email;
pub(crate) use ids::id_type;
pub use ids::{InfluencerId, LinkId, MerchantId, ProductId, ProgramId, UserId};
pub use influencer::{
    Handle, Influencer, InfluencerPatch, NewInfluencer, PayoutMethod, PayoutSettings,
    StripeAccountId,
};
pub use link::{CampaignCode, LinkPatch, NewLink, TrackingLink, Utm, UtmValue};
pub use merchant::{Merchant, MerchantPatch, NewMerchant, ShopifyDomain};
pub use money::Money;
pub use product::{Category, ExternalId, NewProduct, Product, ProductPatch};
pub use program::{
    Commission, CommissionRate, CookieWindow, FeeRate, Network, NewProgram, Program, ProgramPatch,
};
pub use secret::Secret;
pub use text::{BoundedText, Description, Name};
pub use user::{NewUser, PasswordHash, Role, User};
pub use web_url::WebUrl;
