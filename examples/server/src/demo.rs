//! Demo data for the in-memory store: a merchant with a program and a product, an influencer,
//! and a short link, so a fresh clone has something to click.

use rust_decimal::Decimal;
use skinstack_core::service::links::{create_link, CreateLink, LinkError};
use skinstack_core::{Argon2Hasher, Password, PasswordHasher};
use skinstack_core::{
    Category, Commission, CommissionRate, CookieWindow, Description, Email, ExternalId, FeeRate,
    Handle, MemoryStore, Money, Name, Network, NewInfluencer, NewMerchant, NewProduct, NewProgram,
    NewUser, PasswordHash, PayoutSettings, RepoError, Role, Slug, SlugPolicy, TrackingLink, Utm,
    WebUrl,
};
use skinstack_core::{InfluencerRepo, MerchantRepo, ProductRepo, ProgramRepo, UserRepo};

/// Why the demo data could not be created (only a bug in this file can cause it).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A literal below is invalid.
    #[error("invalid demo value: {0}")]
    Invalid(#[from] skinstack_core::ValidationError),
    /// The store refused a row.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The link could not be created.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The demo password could not be hashed.
    #[error(transparent)]
    Hash(#[from] skinstack_core::auth::HashError),
}

fn field<T>(
    name: &'static str,
    parsed: Result<T, skinstack_core::Invalid>,
) -> Result<T, DemoError> {
    Ok(parsed.map_err(|reason| skinstack_core::ValidationError::new(name, reason))?)
}

/// Creates the demo cast and returns the demo link (slug `glow-demo`). The two demo accounts
/// log in with `password`; without one they cannot log in at all.
pub async fn seed(
    store: &MemoryStore,
    password: Option<Password>,
) -> Result<TrackingLink, DemoError> {
    let locked = match password {
        Some(password) => Argon2Hasher::default().hash(password).await?,
        // This hash matches no password.
        None => field(
            "password_hash",
            PasswordHash::parse("$argon2id$v=19$m=19456,t=2,p=1$ZGVtbw$bG9ja2Vk"),
        )?,
    };
    let influencer_user = store
        .create_user(NewUser {
            email: field("email", Email::parse("ana@demo.skinstack.dev"))?,
            password_hash: locked.clone(),
            role: Role::Influencer,
        })
        .await?;
    let influencer = store
        .create_influencer(NewInfluencer {
            user_id: influencer_user.id,
            display_name: field("display_name", Name::parse("Ana Glow"))?,
            instagram_handle: Some(field("instagram_handle", Handle::parse("@ana.glow"))?),
            tiktok_handle: None,
            youtube_handle: None,
            payout: PayoutSettings::default(),
            total_followers: 48_000,
        })
        .await?;
    let merchant_user = store
        .create_user(NewUser {
            email: field("email", Email::parse("brand@demo.skinstack.dev"))?,
            password_hash: locked,
            role: Role::Merchant,
        })
        .await?;
    let merchant = store
        .create_merchant(NewMerchant {
            user_id: Some(merchant_user.id),
            business_name: field("business_name", Name::parse("Glow Co"))?,
            website_url: field("website_url", WebUrl::parse("https://glowco.example"))?,
            shopify_shop_domain: None,
            shopify_api_key: None,
            refersion_public_key: None,
            refersion_secret_key: None,
        })
        .await?;
    let program = store
        .create_program(NewProgram {
            merchant_id: merchant.id,
            name: field("name", Name::parse("Glow Ambassadors"))?,
            network: Network::ShopifyRefersion,
            commission: Commission::Percentage(field(
                "commission_rate",
                CommissionRate::new(Decimal::new(20, 0)),
            )?),
            cookie_window: CookieWindow::default(),
            platform_fee_rate: FeeRate::default(),
        })
        .await?;
    let product = store
        .create_product(NewProduct {
            merchant_id: merchant.id,
            program_id: Some(program.id),
            external_id: field("external_id", ExternalId::parse("demo-serum"))?,
            name: field("name", Name::parse("Vitamin C Serum"))?,
            description: Some(field(
                "description",
                Description::parse("Brightening serum, 30 ml."),
            )?),
            price: field("price", Money::new(Decimal::new(3850, 2)))?,
            image_url: None,
            product_url: field(
                "product_url",
                WebUrl::parse("https://glowco.example/products/vitamin-c-serum"),
            )?,
            category: Some(Category::Serum),
            in_stock: true,
        })
        .await?;
    let link = create_link(
        store,
        &SlugPolicy::default(),
        chrono::Utc::now(),
        CreateLink {
            influencer_id: influencer.id,
            program_id: program.id,
            product_id: Some(product.id),
            destination_url: None,
            custom_slug: Some(field("slug", Slug::custom("glow-demo"))?),
            campaign_code: None,
            utm: Utm::default(),
            expires_at: None,
        },
    )
    .await?;
    Ok(link)
}
