//! Profiles: `/v1/influencer` (an influencer's own) and `/v1/merchant` (a merchant's own).
//! Merchant credentials are write-only: responses only say whether each is set.

use crate::error::{ErrorBody, Result};
use crate::extract::{
    double_option, whole_number, whole_number_or_null, AuthUser, Check, Checked, Json, WriteOnly,
};
use crate::responses::{Forbidden, JsonBody, Session};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use skinstack_core::service::profiles::{
    self, InfluencerChanges, InfluencerProfile, MerchantProfile,
};
use skinstack_core::{
    Currency, Email, Followers, Handle, Influencer, Merchant, MerchantPatch, Name, PayoutMethod,
    PayoutSettings, Secret, ShopifyDomain, SiteUrl, StripeAccountId,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(
            create_influencer,
            get_influencer,
            update_influencer
        ))
        .routes(routes!(create_merchant, get_merchant, update_merchant))
}

/// `POST /v1/influencer`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfluencerRequest {
    /// Public name.
    #[schema(value_type = skinstack_core::Name, example = "Ana Glow")]
    pub display_name: String,
    /// Instagram handle (a leading `@` is dropped).
    #[schema(value_type = Option<skinstack_core::Handle>)]
    pub instagram_handle: Option<String>,
    /// TikTok handle.
    #[schema(value_type = Option<skinstack_core::Handle>)]
    pub tiktok_handle: Option<String>,
    /// YouTube handle.
    #[schema(value_type = Option<skinstack_core::Handle>)]
    pub youtube_handle: Option<String>,
    /// Stripe Connect account (`acct_...`).
    #[schema(value_type = Option<skinstack_core::StripeAccountId>)]
    pub stripe_account_id: Option<String>,
    /// PayPal address.
    #[schema(value_type = Option<skinstack_core::Email>)]
    pub paypal_email: Option<String>,
    /// `stripe`, `paypal` or `ach`; its details must be given.
    #[schema(value_type = Option<skinstack_core::PayoutMethod>, example = "paypal")]
    pub preferred_payout_method: Option<PayoutMethod>,
    /// Audience size.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(value_type = skinstack_core::Followers)]
    pub total_followers: u32,
}

/// The schema of `POST /v1/influencer`'s body: [`InfluencerRequest`]'s fields, and the rule
/// `PayoutSettings::new` enforces across them, as a `oneOf` on `preferred_payout_method`:
/// `paypal` needs a `paypal_email`, `stripe` a `stripe_account_id`; `ach`, `null` or absent
/// need neither. Schema only: the body deserialises as [`InfluencerRequest`].
pub struct NewInfluencerBody;

impl utoipa::PartialSchema for NewInfluencerBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Type};
        use utoipa::openapi::Ref;
        let method = |values: Option<&[&str]>| match values {
            Some(values) => ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(values.iter().copied())),
            None => ObjectBuilder::new().schema_type(Type::Null),
        };
        let needs = |method_name: &'static str, field: &'static str, schema: &str| {
            ObjectBuilder::new()
                .property("preferred_payout_method", method(Some(&[method_name])))
                .property(field, Ref::from_schema_name(schema))
                .required("preferred_payout_method")
                .required(field)
                .description(Some(format!("`{method_name}` needs `{field}`")))
        };
        let needs_nothing = ObjectBuilder::new()
            .property(
                "preferred_payout_method",
                OneOfBuilder::new()
                    .item(method(None))
                    .item(method(Some(&["ach"]))),
            )
            .description(Some("`ach`, `null` or no method: no details needed"));
        AllOfBuilder::new()
            .item(Ref::from_schema_name("InfluencerRequest"))
            .item(
                OneOfBuilder::new()
                    .item(needs("paypal", "paypal_email", "Email"))
                    .item(needs("stripe", "stripe_account_id", "StripeAccountId"))
                    .item(needs_nothing),
            )
            .into()
    }
}

impl ToSchema for NewInfluencerBody {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("InfluencerRequest".to_owned(), InfluencerRequest::schema()));
        <InfluencerRequest as ToSchema>::schemas(schemas);
    }
}

/// `PATCH /v1/influencer`: absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfluencerPatchRequest {
    /// New public name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = skinstack_core::Name)]
    pub display_name: Option<Option<String>>,
    /// New handle, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Handle>)]
    pub instagram_handle: Option<Option<String>>,
    /// New handle, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Handle>)]
    pub tiktok_handle: Option<Option<String>>,
    /// New handle, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Handle>)]
    pub youtube_handle: Option<Option<String>>,
    /// New Stripe account, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::StripeAccountId>)]
    pub stripe_account_id: Option<Option<String>>,
    /// New PayPal address, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Email>)]
    pub paypal_email: Option<Option<String>>,
    /// New preferred method, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::PayoutMethod>)]
    pub preferred_payout_method: Option<Option<PayoutMethod>>,
    /// New audience size.
    #[serde(default, deserialize_with = "whole_number_or_null")]
    #[schema(value_type = Option<skinstack_core::Followers>)]
    pub total_followers: Option<u32>,
}

/// An influencer profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfluencerView {
    /// Its id.
    pub id: Uuid,
    /// The owning account.
    pub user_id: Uuid,
    /// Public name.
    pub display_name: String,
    /// Instagram handle.
    pub instagram_handle: Option<String>,
    /// TikTok handle.
    pub tiktok_handle: Option<String>,
    /// YouTube handle.
    pub youtube_handle: Option<String>,
    /// Stripe account.
    pub stripe_account_id: Option<String>,
    /// PayPal address.
    pub paypal_email: Option<String>,
    /// Preferred payout method.
    #[schema(value_type = Option<String>)]
    pub preferred_payout_method: Option<PayoutMethod>,
    /// Audience size.
    pub total_followers: u32,
    /// Earned so far (decimal string).
    #[schema(value_type = String, example = "7.20")]
    pub total_earned: Decimal,
    /// Paid out so far (decimal string).
    #[schema(value_type = String, example = "0.00")]
    pub total_paid: Decimal,
    /// The currency of `total_earned` and `total_paid`: the first one earned in; absent
    /// before any earning. Every currency's balance is at `/v1/influencer/earnings`.
    #[schema(value_type = Option<skinstack_core::Currency>, example = "USD")]
    pub primary_currency: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Influencer> for InfluencerView {
    fn from(i: Influencer) -> Self {
        let text = |h: Option<Handle>| h.map(|h| h.as_str().to_owned());
        Self {
            id: i.id.as_uuid(),
            user_id: i.user_id.as_uuid(),
            display_name: i.display_name.as_str().to_owned(),
            instagram_handle: text(i.instagram_handle),
            tiktok_handle: text(i.tiktok_handle),
            youtube_handle: text(i.youtube_handle),
            stripe_account_id: i.payout.stripe_account_id().map(|s| s.as_str().to_owned()),
            paypal_email: i.payout.paypal_email().map(|e| e.as_str().to_owned()),
            preferred_payout_method: i.payout.preferred(),
            total_followers: i.total_followers.get(),
            total_earned: i.total_earned,
            total_paid: i.total_paid,
            primary_currency: i.primary_currency.map(|c| c.to_string()),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

fn influencer_profile(body: InfluencerRequest) -> Result<InfluencerProfile> {
    let mut c = Check::default();
    let display_name = c.req("display_name", Name::parse(&body.display_name));
    let total_followers = c.req("total_followers", Followers::new(body.total_followers));
    let instagram = c.opt(
        "instagram_handle",
        body.instagram_handle.as_deref(),
        Handle::parse,
    );
    let tiktok = c.opt(
        "tiktok_handle",
        body.tiktok_handle.as_deref(),
        Handle::parse,
    );
    let youtube = c.opt(
        "youtube_handle",
        body.youtube_handle.as_deref(),
        Handle::parse,
    );
    let stripe = c.opt(
        "stripe_account_id",
        body.stripe_account_id.as_deref(),
        StripeAccountId::parse,
    );
    let paypal = c.opt("paypal_email", body.paypal_email.as_deref(), Email::parse);
    let payout = c.and_then(Checked::all((stripe, paypal)), |(stripe, paypal)| {
        PayoutSettings::new(stripe, paypal, body.preferred_payout_method)
    });
    let (display_name, instagram_handle, tiktok_handle, youtube_handle, payout, total_followers) =
        c.finish((
            display_name,
            instagram,
            tiktok,
            youtube,
            payout,
            total_followers,
        ))?;
    Ok(InfluencerProfile {
        display_name,
        instagram_handle,
        tiktok_handle,
        youtube_handle,
        payout,
        total_followers,
    })
}

/// Creates the caller's influencer profile.
#[utoipa::path(
    post,
    path = "/v1/influencer",
    tag = "profiles",
    security(("bearer" = [])),
    request_body = NewInfluencerBody,
    responses(
        (status = 201, description = "Created", body = InfluencerView),
        JsonBody, Session, Forbidden,
        (status = 409, description = "The profile exists", body = ErrorBody),
    )
)]
async fn create_influencer(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<InfluencerRequest>,
) -> Result<(StatusCode, axum::Json<InfluencerView>)> {
    let profile = influencer_profile(body)?;
    let created = profiles::create_influencer(&*state.store, &auth.actor, profile).await?;
    Ok((StatusCode::CREATED, axum::Json(created.into())))
}

/// The caller's influencer profile.
#[utoipa::path(
    get,
    path = "/v1/influencer",
    tag = "profiles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = InfluencerView),
        Session, Forbidden,
        (status = 404, description = "No profile yet", body = ErrorBody),
    )
)]
async fn get_influencer(
    State(state): State<ApiState>,
    auth: AuthUser,
) -> Result<axum::Json<InfluencerView>> {
    let profile = profiles::own_influencer(&*state.store, &auth.actor).await?;
    Ok(axum::Json(profile.into()))
}

/// Changes the caller's influencer profile.
#[utoipa::path(
    patch,
    path = "/v1/influencer",
    tag = "profiles",
    security(("bearer" = [])),
    request_body = InfluencerPatchRequest,
    responses(
        (status = 200, description = "Updated", body = InfluencerView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No profile yet", body = ErrorBody),
    )
)]
async fn update_influencer(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<InfluencerPatchRequest>,
) -> Result<axum::Json<InfluencerView>> {
    let mut c = Check::default();
    let display_name = c.set("display_name", body.display_name, Name::parse);
    let instagram_handle = c.patch("instagram_handle", body.instagram_handle, Handle::parse);
    let tiktok_handle = c.patch("tiktok_handle", body.tiktok_handle, Handle::parse);
    let youtube_handle = c.patch("youtube_handle", body.youtube_handle, Handle::parse);
    let stripe_account_id = c.patch(
        "stripe_account_id",
        body.stripe_account_id,
        StripeAccountId::parse,
    );
    let paypal_email = c.patch("paypal_email", body.paypal_email, Email::parse);
    let total_followers = c.opt("total_followers", body.total_followers, Followers::new);
    let (
        display_name,
        instagram_handle,
        tiktok_handle,
        youtube_handle,
        stripe_account_id,
        paypal_email,
        total_followers,
    ) = c.finish((
        display_name,
        instagram_handle,
        tiktok_handle,
        youtube_handle,
        stripe_account_id,
        paypal_email,
        total_followers,
    ))?;
    let changes = InfluencerChanges {
        display_name,
        instagram_handle,
        tiktok_handle,
        youtube_handle,
        stripe_account_id,
        paypal_email,
        preferred_payout_method: body.preferred_payout_method,
        total_followers,
    };
    let updated = profiles::update_influencer(&*state.store, &auth.actor, changes).await?;
    Ok(axum::Json(updated.into()))
}

/// `POST /v1/merchant`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantRequest {
    /// The brand's name.
    #[schema(value_type = skinstack_core::Name, example = "Glow Co")]
    pub business_name: String,
    /// The brand's website: links may only lead to its host or subdomains.
    #[schema(value_type = skinstack_core::SiteUrl, example = "https://glowco.com")]
    pub website_url: String,
    /// `<name>.myshopify.com`.
    #[schema(value_type = Option<skinstack_core::ShopifyDomain>)]
    pub shopify_shop_domain: Option<String>,
    /// Write-only: stored encrypted, never returned.
    #[schema(value_type = Option<skinstack_core::Secret>)]
    pub shopify_api_key: Option<WriteOnly>,
    /// Refersion public key.
    #[schema(value_type = Option<skinstack_core::Name>)]
    pub refersion_public_key: Option<String>,
    /// Write-only: stored encrypted, never returned.
    #[schema(value_type = Option<skinstack_core::Secret>)]
    pub refersion_secret_key: Option<WriteOnly>,
    /// The settlement currency of its orders, commissions and statements (USD if absent).
    #[schema(value_type = Option<skinstack_core::Currency>, example = "EUR")]
    pub currency: Option<String>,
}

/// `PATCH /v1/merchant`: absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantPatchRequest {
    /// New name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = skinstack_core::Name)]
    pub business_name: Option<Option<String>>,
    /// New website; the merchant is unverified again until an administrator verifies it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = skinstack_core::SiteUrl)]
    pub website_url: Option<Option<String>>,
    /// New shop, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::ShopifyDomain>)]
    pub shopify_shop_domain: Option<Option<String>>,
    /// New credential, or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Secret>)]
    pub shopify_api_key: Option<Option<WriteOnly>>,
    /// New key, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Name>)]
    pub refersion_public_key: Option<Option<String>>,
    /// New credential, or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Secret>)]
    pub refersion_secret_key: Option<Option<WriteOnly>>,
    /// New settlement currency: 409 once the merchant has recorded orders.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = skinstack_core::Currency)]
    pub currency: Option<Option<String>>,
}

/// A merchant as its owner sees it: credentials only as "set or not".
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantView {
    /// Its id.
    pub id: Uuid,
    /// The brand's name.
    pub business_name: String,
    /// The brand's website.
    pub website_url: String,
    /// The Shopify shop.
    pub shopify_shop_domain: Option<String>,
    /// Whether a Shopify API key is stored.
    pub shopify_api_key_set: bool,
    /// Refersion public key.
    pub refersion_public_key: Option<String>,
    /// Whether a Refersion secret key is stored.
    pub refersion_secret_key_set: bool,
    /// The settlement currency: its orders, commissions, statements and totals are in it.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: String,
    /// Inactive merchants' links stop redirecting.
    pub is_active: bool,
    /// `unverified` until an administrator verifies the merchant (and again after its website
    /// changes): meanwhile its programs are closed to influencers and its links answer 410.
    #[schema(example = "verified")]
    pub verification: String,
    /// When it was verified; absent while unverified.
    pub verified_at: Option<DateTime<Utc>>,
    /// Attributed sales (decimal string).
    #[schema(value_type = String, example = "0.00")]
    pub total_sales: Decimal,
    /// Commissions paid (decimal string).
    #[schema(value_type = String, example = "0.00")]
    pub total_commissions_paid: Decimal,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Merchant> for MerchantView {
    fn from(m: Merchant) -> Self {
        Self {
            id: m.id.as_uuid(),
            business_name: m.business_name.as_str().to_owned(),
            website_url: m.website_url.as_str().to_owned(),
            shopify_shop_domain: m.shopify_shop_domain.map(|d| d.as_str().to_owned()),
            shopify_api_key_set: m.shopify_api_key.is_some(),
            refersion_public_key: m.refersion_public_key.map(|k| k.as_str().to_owned()),
            refersion_secret_key_set: m.refersion_secret_key.is_some(),
            currency: m.currency.to_string(),
            is_active: m.is_active,
            verification: m.verification.as_str().to_owned(),
            verified_at: m.verification.verified_at(),
            total_sales: m.total_sales,
            total_commissions_paid: m.total_commissions_paid,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Creates the caller's merchant, unverified until an administrator verifies it. A website whose
/// host is a public suffix or a shared hosting domain (`github.io`, `myshopify.com`) is refused.
#[utoipa::path(
    post,
    path = "/v1/merchant",
    tag = "profiles",
    security(("bearer" = [])),
    request_body = MerchantRequest,
    responses(
        (status = 201, description = "Created", body = MerchantView),
        JsonBody, Session, Forbidden,
        (status = 409, description = "The merchant exists", body = ErrorBody),
    )
)]
async fn create_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<MerchantRequest>,
) -> Result<(StatusCode, axum::Json<MerchantView>)> {
    let mut c = Check::default();
    let business_name = c.req("business_name", Name::parse(&body.business_name));
    let website_url = c.req("website_url", SiteUrl::parse_uri(&body.website_url));
    let domain = c.opt(
        "shopify_shop_domain",
        body.shopify_shop_domain.as_deref(),
        ShopifyDomain::parse,
    );
    let api_key = c.opt(
        "shopify_api_key",
        body.shopify_api_key.as_deref(),
        Secret::parse,
    );
    let public_key = c.opt(
        "refersion_public_key",
        body.refersion_public_key.as_deref(),
        Name::parse,
    );
    let secret_key = c.opt(
        "refersion_secret_key",
        body.refersion_secret_key.as_deref(),
        Secret::parse,
    );
    let currency = c.opt("currency", body.currency.as_deref(), Currency::parse);
    let (
        business_name,
        website_url,
        shopify_shop_domain,
        shopify_api_key,
        refersion_public_key,
        refersion_secret_key,
        currency,
    ) = c.finish((
        business_name,
        website_url,
        domain,
        api_key,
        public_key,
        secret_key,
        currency,
    ))?;
    let profile = MerchantProfile {
        business_name,
        website_url,
        shopify_shop_domain,
        shopify_api_key,
        refersion_public_key,
        refersion_secret_key,
        currency: currency.unwrap_or_default(),
    };
    let created = profiles::create_merchant(&*state.store, &auth.actor, profile).await?;
    Ok((StatusCode::CREATED, axum::Json(created.into())))
}

/// The caller's merchant.
#[utoipa::path(
    get,
    path = "/v1/merchant",
    tag = "profiles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The merchant", body = MerchantView),
        Session, Forbidden,
        (status = 404, description = "No merchant yet", body = ErrorBody),
    )
)]
async fn get_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
) -> Result<axum::Json<MerchantView>> {
    let merchant = profiles::own_merchant(&*state.store, &auth.actor).await?;
    Ok(axum::Json(merchant.into()))
}

/// Changes the caller's merchant. A different `website_url` puts it back to unverified: its
/// links stop redirecting until an administrator verifies it again.
#[utoipa::path(
    patch,
    path = "/v1/merchant",
    tag = "profiles",
    security(("bearer" = [])),
    request_body = MerchantPatchRequest,
    responses(
        (status = 200, description = "Updated", body = MerchantView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No merchant yet", body = ErrorBody),
        (status = 409, description = "A new currency for a merchant that has recorded orders", body = ErrorBody),
    )
)]
async fn update_merchant(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<MerchantPatchRequest>,
) -> Result<axum::Json<MerchantView>> {
    let mut c = Check::default();
    let business_name = c.set("business_name", body.business_name, Name::parse);
    let website_url = c.set("website_url", body.website_url, SiteUrl::parse_uri);
    let shopify_shop_domain = c.patch(
        "shopify_shop_domain",
        body.shopify_shop_domain,
        ShopifyDomain::parse,
    );
    let shopify_api_key = c.patch("shopify_api_key", body.shopify_api_key, Secret::parse);
    let refersion_public_key = c.patch(
        "refersion_public_key",
        body.refersion_public_key,
        Name::parse,
    );
    let refersion_secret_key = c.patch(
        "refersion_secret_key",
        body.refersion_secret_key,
        Secret::parse,
    );
    let currency = c.set("currency", body.currency, Currency::parse);
    let (
        business_name,
        website_url,
        shopify_shop_domain,
        shopify_api_key,
        refersion_public_key,
        refersion_secret_key,
        currency,
    ) = c.finish((
        business_name,
        website_url,
        shopify_shop_domain,
        shopify_api_key,
        refersion_public_key,
        refersion_secret_key,
        currency,
    ))?;
    let patch = MerchantPatch {
        business_name,
        website_url,
        shopify_shop_domain,
        shopify_api_key,
        refersion_public_key,
        refersion_secret_key,
        currency,
    };
    let updated = profiles::update_merchant(&*state.store, &auth.actor, patch).await?;
    Ok(axum::Json(updated.into()))
}
