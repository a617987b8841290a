//! Validated entities and values, one module each, ids included. Holding one means it is valid.

mod api_key;
mod click;
mod conversion;
mod email;
mod ids;
mod influencer;
mod invoice;
mod link;
mod merchant;
mod money;
mod open;
mod product;
mod program;
mod secret;
mod slug;
mod text;
mod user;
mod web_url;
mod webhook_delivery;

pub use api_key::{ApiKey, ApiKeyInfo, NewApiKey, LAST_USED_RESOLUTION};
pub use click::{anonymize_ip, Click, ClickId, ClickSource, MAX_REFERER, MAX_USER_AGENT};
pub use conversion::{
    net_of_refunds, AttributedBy, Attribution, Conversion, ConversionInsert, Currency, HoldDays,
    NewConversion, NewRefund, OrderId, Refund, RefundId, RefundInsert, ShopRef,
};
pub use email::Email;
pub use ids::{
    ApiKeyId, ConversionId, DeliveryId, EventId, InfluencerId, LinkId, MerchantId, PayoutBatchId,
    PayoutItemId, ProductId, ProgramId, StatementId, UserId,
};
pub use influencer::{
    Followers, Handle, Influencer, InfluencerPatch, NewInfluencer, PayoutMethod, PayoutSettings,
    StripeAccountId,
};
pub use invoice::{
    BillingPeriod, MarkPaid, MerchantStatement, PaymentReference, StatementIssue, StatementLine,
    StatementStatus,
};
pub use link::{CampaignCode, LinkPatch, NewLink, TrackingLink, Utm, UtmValue};
pub use merchant::{Merchant, MerchantPatch, NewMerchant, ShopifyDomain};
pub use money::{Money, Price};
pub use open::is_open;
pub use product::{Category, ExternalId, NewProduct, Product, ProductPatch};
pub use program::{
    Commission, CommissionRate, CookieWindow, FeeRate, Network, NewProgram, Program, ProgramPatch,
};
pub use secret::Secret;
pub use slug::{Slug, SlugPolicy};
pub use text::{BoundedText, Description, Name};
pub use user::{NewUser, PasswordHash, Role, User};
pub use web_url::WebUrl;
pub use webhook_delivery::{
    DeliveryInsert, Rejection, RejectionReason, RotatedSecret, Topic, WebhookDelivery, WebhookId,
    KEPT_BODY_LIMIT, MESSAGE_LIMIT, SECRET_ROTATION_GRACE, WEBHOOK_ID_HEADER,
};
