//! Validated entities and values, one module each, ids included. Holding one means it is valid.
//! With the `openapi` feature, each validated value also states its rules as an OpenAPI
//! schema, beside its parser and from the same constants (see [`crate::openapi`]).

/// `schema!(Type, "Name", expr)`: `Type`'s OpenAPI schema is `expr` (a builder or schema),
/// named `Name` in the document's components. Compiled only with the `openapi` feature.
macro_rules! schema {
    ($ty:ty, $name:literal, $schema:expr) => {
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                #[allow(unused_imports)]
                use crate::openapi::*;
                $schema.into()
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

mod api_key;
mod click;
mod conversion;
mod country;
mod coupon_code;
mod currency;
mod email;
mod hold;
mod ids;
mod influencer;
mod invoice;
mod link;
mod membership;
mod merchant;
mod money;
mod open;
mod product;
mod program;
mod secret;
mod signal;
mod slug;
mod text;
mod user;
mod web_url;
mod webhook_delivery;

pub use api_key::{ApiKey, ApiKeyInfo, NewApiKey, LAST_USED_RESOLUTION};
pub(crate) use click::prefix;
pub use click::{anonymize_ip, Click, ClickId, ClickSource, MAX_REFERER, MAX_USER_AGENT};
pub use conversion::{
    net_of_refunds, AttributedBy, Attribution, Conversion, ConversionInsert, HoldDays,
    NewConversion, NewRefund, OrderId, Refund, RefundId, RefundInsert, ShopRef,
};
pub use country::Country;
pub use coupon_code::{CodeText, CouponCode, CouponState, CouponTransitionError, NewCouponCode};
pub use currency::Currency;
pub use email::Email;
pub use hold::{add_hold_reason, hold_start, HoldReason, MaxOrderAmount, OrderWindow};
pub use ids::{
    ApiKeyId, ConversionId, CouponCodeId, DeliveryId, EventId, InfluencerId, InvitationId, LinkId,
    MembershipId, MerchantId, PayoutBatchId, PayoutItemId, ProductId, ProgramId, StatementId,
    UserId,
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
pub use membership::{
    link_redirects, transition, ApplicationMessage, EnrollmentMode, Invitation, InviteToken,
    MemberStats, Membership, MembershipAction, MembershipState, NewInvitation, NewMembership,
    Transition, TransitionRefused, INVITATION_TTL,
};
pub use merchant::{Merchant, MerchantPatch, NewMerchant, ShopifyDomain, Verification};
pub use money::{Money, Price};
pub use open::is_open;
pub use product::{Category, ExternalId, NewProduct, Product, ProductPatch};
pub use program::{
    Commission, CommissionRate, CookieWindow, FeeRate, Network, NewProgram, Program, ProgramPatch,
};
pub use secret::Secret;
pub use signal::FraudSignal;
pub use slug::{Slug, SlugPolicy};
pub use text::{BoundedText, Description, Name};
pub use user::{NewUser, PasswordHash, Role, User};
pub use web_url::{SiteUrl, WebUrl};
pub use webhook_delivery::{
    DeliveryInsert, Rejection, RejectionReason, RotatedSecret, Topic, WebhookDelivery, WebhookId,
    KEPT_BODY_LIMIT, MESSAGE_LIMIT, SECRET_ROTATION_GRACE, WEBHOOK_ID_HEADER,
};
