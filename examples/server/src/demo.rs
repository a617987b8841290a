//! Demo data for the in-memory store: a merchant with a program and a product, an influencer
//! approved as a member of the program, and a short link with three weeks of clicks (from
//! several apps' in-app browsers, a few countries and its QR code) and orders and the coupon
//! code `GLOW20` it owns,
//! so a fresh clone has something to click and a dashboard with pending and approved earnings
//! to look at.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use skinstack_core::service::conversions::{
    approve_due, record_conversion, record_refund, ConversionError, RecordConversion, RecordRefund,
};
use skinstack_core::service::links::{create_link, CreateLink, LinkError};
use skinstack_core::store::CouponCodeRepo;
use skinstack_core::{
    ApplicationMessage, EnrollmentMode, MembershipRepo, MembershipState, NewMembership,
};
use skinstack_core::{Argon2Hasher, Password, PasswordHasher};
use skinstack_core::{
    Category, Click, ClickId, ClickSource, Commission, CommissionRate, CookieWindow, Country,
    Currency, Description, Email, ExternalId, FeeRate, Followers, Handle, HoldDays, MemoryStore,
    MerchantId, Money, Name, Network, NewInfluencer, NewMerchant, NewProduct, NewProgram, NewUser,
    PayoutSettings, Price, RepoError, Role, ShopRef, SiteUrl, Slug, SlugPolicy, TrackingLink, Utm,
    Verification, WebUrl,
};
use skinstack_core::{
    ClickSink, ConversionRepo, InfluencerRepo, MerchantRepo, ProductRepo, ProgramRepo, UserRepo,
};
use skinstack_core::{CodeText, CouponCodeId, NewCouponCode};
use uuid::Uuid;

/// Human clicks on the demo link per day, from 20 days ago (first) to today (last).
const DAILY_CLICKS: [i64; 21] = [
    3, 5, 2, 6, 4, 8, 5, 3, 7, 9, 4, 6, 5, 11, 8, 6, 4, 7, 9, 5, 2,
];
/// The demo orders, each a few minutes after the first click of its day: (days ago, subtotal in
/// cents; the serum is 38.50).
const ORDERS: [(i64, i64); 11] = [
    (18, 3850),
    (16, 7700),
    (14, 3850),
    (12, 11550),
    (10, 3850),
    (8, 7700),
    (6, 3850),
    (5, 7700),
    (3, 3850),
    (2, 3850),
    (1, 7700),
];
/// One of them partly refunded two days later: (index in [`ORDERS`], cents).
const REFUND: (usize, i64) = (3, 3850);
/// The demo program's hold, short enough that the older orders are approved by now.
const HOLD_DAYS: i64 = 7;
/// The coupon code the demo link owns.
pub const DEMO_COUPON: &str = "GLOW20";
/// Instagram's in-app browser on an iPhone: most of a skincare influencer's clicks.
const INSTAGRAM_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 340.0.0.22.109 \
     (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 622497150)";
/// Instagram's in-app browser on Android.
const INSTAGRAM_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; SM-S918B \
     Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 \
     Chrome/125.0.6422.165 Mobile Safari/537.36 Instagram 335.0.0.39.93 Android (34/14; \
     480dpi; 1080x2340; samsung; SM-S918B; dm3q; qcom; en_US; 606558399)";
/// TikTok's in-app browser on an iPhone.
const TIKTOK_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_35.1.0 JsSdk/2.0 \
     NetType/WIFI Channel/App Store ByteLocale/en Region/US WKWebView/1 \
     BytedanceWebview/d8a21c6";
/// YouTube's in-app browser on an iPhone (a link in a video's description).
const YOUTUBE_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 com.google.ios.youtube/19.29.1 \
     (iPhone15,3; U; CPU iOS 17_5 like Mac OS X; en_US)";
/// Safari on an iPhone: what the camera opens a scanned QR code in.
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
/// Chrome on a Mac.
const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \
     AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
/// What the demo shoppers browse with, by weight (people's browsers, so their clicks count),
/// and the page that sent them: the `n`th click takes entry `n % 10`.
const SHOPPERS: [(&str, Option<&str>); 10] = [
    (INSTAGRAM_IPHONE, Some("https://l.instagram.com/")),
    (TIKTOK_IPHONE, None),
    (INSTAGRAM_IPHONE, Some("https://l.instagram.com/")),
    (INSTAGRAM_ANDROID, Some("https://l.instagram.com/")),
    (CHROME_MAC, Some("https://www.google.com/")),
    (INSTAGRAM_IPHONE, Some("https://l.instagram.com/")),
    (TIKTOK_IPHONE, None),
    (YOUTUBE_IPHONE, Some("https://m.youtube.com/")),
    (INSTAGRAM_IPHONE, Some("https://l.instagram.com/")),
    (SAFARI_IPHONE, None),
];
/// Where the shoppers are, by weight: the `n`th click takes entry `n % 7` (a length prime to
/// the shoppers', so every agent turns up in every country); `None` is a click whose
/// country the server did not know.
const COUNTRIES: [Option<&str>; 7] = [
    Some("US"),
    Some("GB"),
    Some("US"),
    Some("DE"),
    None,
    Some("CA"),
    Some("US"),
];
/// Every how many clicks one is a scan of the QR code (printed on the influencer's cards).
const QR_EVERY: usize = 6;

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
    /// A demo order or refund was refused.
    #[error(transparent)]
    Conversion(#[from] ConversionError),
}

fn field<T>(
    name: &'static str,
    parsed: Result<T, skinstack_core::Invalid>,
) -> Result<T, DemoError> {
    Ok(parsed.map_err(|reason| skinstack_core::ValidationError::new(name, reason))?)
}

/// The demo accounts, each with the role it logs in as; all share the demo password.
pub const ACCOUNTS: [(&str, &str); 3] = [
    ("ana@demo.skinstack.dev", "influencer"),
    ("brand@demo.skinstack.dev", "merchant"),
    ("admin@demo.skinstack.dev", "administrator"),
];

/// The demo product's picture, so that a preview card of the demo link shows one.
pub const PRODUCT_IMAGE: &str = "https://glowco.example/images/vitamin-c-serum.jpg";

/// Characters of a generated demo password: 20 letters and digits are about 119 bits, and
/// survive being copied from a terminal (no quotes or spaces for a shell to eat).
const GENERATED_PASSWORD_LEN: usize = 20;

/// A fresh random password for the demo accounts, for a server started without
/// `--demo-password`: printed once, so that whoever started it can log in and nobody else.
pub fn generate_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), GENERATED_PASSWORD_LEN)
}

/// Creates the demo cast and returns the demo link (slug `glow-demo`), with its clicks and
/// orders of the last three weeks. The merchant is verified. The demo accounts ([`ACCOUNTS`])
/// log in with `password`.
pub async fn seed(store: &MemoryStore, password: Password) -> Result<TrackingLink, DemoError> {
    let hash = Argon2Hasher::default().hash(password).await?;
    // The in-memory server has no `create-admin`: the demo administrator verifies the merchants
    // that sign up on it (their links redirect only once verified).
    store
        .create_user(NewUser {
            email: field("email", Email::parse(ACCOUNTS[2].0))?,
            password_hash: hash.clone(),
            role: Role::Admin,
        })
        .await?;
    let influencer_user = store
        .create_user(NewUser {
            email: field("email", Email::parse(ACCOUNTS[0].0))?,
            password_hash: hash.clone(),
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
            total_followers: field("total_followers", Followers::new(48_000))?,
        })
        .await?;
    let merchant_user = store
        .create_user(NewUser {
            email: field("email", Email::parse(ACCOUNTS[1].0))?,
            password_hash: hash,
            role: Role::Merchant,
        })
        .await?;
    let merchant = store
        .create_merchant(NewMerchant {
            user_id: Some(merchant_user.id),
            business_name: field("business_name", Name::parse("Glow Co"))?,
            website_url: field("website_url", SiteUrl::parse("https://glowco.example"))?,
            shopify_shop_domain: None,
            shopify_api_key: None,
            refersion_public_key: None,
            refersion_secret_key: None,
            currency: Currency::USD,
        })
        .await?;
    // The operator has checked the demo brand: its links redirect, its program is open.
    let merchant = store
        .set_merchant_verification(
            merchant.id,
            Verification::Verified {
                at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6)
                    - Duration::days(DAILY_CLICKS.len() as i64 + 1),
            },
        )
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
            enrollment_mode: EnrollmentMode::Approval,
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
            price: field("price", Price::from_decimal(Decimal::new(3850, 2)))?,
            image_url: Some(field("image_url", WebUrl::parse(PRODUCT_IMAGE))?),
            product_url: field(
                "product_url",
                WebUrl::parse("https://glowco.example/products/vitamin-c-serum"),
            )?,
            category: Some(Category::Serum),
            in_stock: true,
        })
        .await?;
    store
        .set_program_hold_days(program.id, field("hold_days", HoldDays::new(HOLD_DAYS))?)
        .await?;
    // The program takes applications; the demo influencer's was approved.
    store
        .insert_membership(NewMembership {
            program_id: program.id,
            influencer_id: influencer.id,
            state: MembershipState::Approved,
            message: Some(field(
                "message",
                ApplicationMessage::parse("Skincare routines for sensitive skin, daily."),
            )?),
        })
        .await?;
    let now = Utc::now();
    let link = create_link(
        store,
        &SlugPolicy::default(),
        now - Duration::days(DAILY_CLICKS.len() as i64),
        influencer.id,
        CreateLink {
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
    // The merchant gave the demo link its own code when the link was made: orders placed with
    // GLOW20 from then on are the influencer's (a code on any other link takes nothing).
    store
        .insert_coupon_code(NewCouponCode {
            id: CouponCodeId::new(),
            merchant_id: merchant.id,
            code: field("code", CodeText::parse(DEMO_COUPON))?,
            link_id: link.id,
            created_at: link.created_at,
            assigned_at: Some(link.created_at),
        })
        .await?;
    history(store, &link, merchant.id, now).await?;
    Ok(link)
}

/// The demo link's last three weeks, through the same core calls a shop's webhooks and the
/// redirect make: clicks, orders credited by their click ids, a partial refund, and the
/// approval of the orders whose hold has passed — every total follows from those.
async fn history(
    store: &MemoryStore,
    link: &TrackingLink,
    merchant: MerchantId,
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    let mut first_click_of = Vec::with_capacity(DAILY_CLICKS.len());
    let mut clicks = Vec::new();
    for (days_ago, count) in (0..DAILY_CLICKS.len() as i64).rev().zip(DAILY_CLICKS) {
        for i in 0..count {
            // Spread over the day before `now`, the first click latest.
            let at = now - Duration::days(days_ago) - Duration::minutes(40 + 97 * i);
            let click = click_at(link, at, clicks.len())?;
            if i == 0 {
                first_click_of.push((days_ago, click.id, click.at));
            }
            clicks.push(click);
        }
    }
    store.record_clicks(&clicks).await?;
    let refunded_order = ORDERS[REFUND.0];
    for (days_ago, cents) in ORDERS {
        let Some(&(_, click_id, clicked_at)) = first_click_of.iter().find(|c| c.0 == days_ago)
        else {
            continue;
        };
        let ordered_at = clicked_at + Duration::minutes(25);
        let order_id = field("order_id", ShopRef::parse(&format!("demo-{days_ago}")))?;
        record_conversion(
            store,
            ordered_at + Duration::minutes(2),
            RecordConversion {
                merchant_id: merchant,
                order_id: order_id.clone(),
                amount: field("amount", Money::new(Decimal::new(cents, 2)))?,
                currency: Currency::USD,
                ordered_at,
                click_id: Some(click_id),
                coupon_code: None,
                product_external_ids: vec![field("product", ExternalId::parse("demo-serum"))?],
                customer_email: None,
                shopper_ip: None,
            },
        )
        .await?;
        if (days_ago, cents) == refunded_order {
            record_refund(
                store,
                ordered_at + Duration::days(2),
                RecordRefund {
                    merchant_id: merchant,
                    order_id,
                    refund_id: field("refund_id", ShopRef::parse("demo-refund-1"))?,
                    amount: field("amount", Money::new(Decimal::new(REFUND.1, 2)))?,
                    currency: None,
                },
            )
            .await?;
        }
    }
    approve_due(store, now).await?;
    Ok(())
}

/// The `n`th shopper's click on `link` at `at` (to the millisecond, as click ids are): an app's
/// in-app browser mostly, now and then a scan of the QR code, from one of a few countries, so
/// that the dashboard's breakdowns have something to show.
fn click_at(link: &TrackingLink, at: DateTime<Utc>, n: usize) -> Result<Click, DemoError> {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    let id = ClickId::from_uuid(Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1000,
        u32::try_from(millis % 1000).unwrap_or_default() * 1_000_000,
    )));
    let scanned = n % QR_EVERY == QR_EVERY - 1;
    // A scanned code opens in the phone's own browser, with no referring page.
    let (agent, referer) = if scanned {
        (SAFARI_IPHONE, None)
    } else {
        SHOPPERS[n % SHOPPERS.len()]
    };
    let country = match COUNTRIES[n % COUNTRIES.len()] {
        Some(code) => Some(field("country", Country::parse(code))?),
        None => None,
    };
    let source = if scanned {
        ClickSource::Qr
    } else {
        ClickSource::Link
    };
    let mut click = Click::new(link.id, None, Some(agent), referer)
        .from_source(source)
        .in_country(country);
    click.id = id;
    click.at = id.issued_at();
    Ok(click)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skinstack_core::{LedgerQueries, LinkRepo};

    #[test]
    fn a_generated_demo_password_is_a_valid_password_and_new_each_time() {
        let first = generate_password();
        assert!(Password::parse(&first).is_ok(), "{first:?} refused");
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(first, generate_password());
    }

    /// The dashboard's demo: every click counted, each order credited to the link, the orders
    /// past their 7-day hold approved and the rest pending, the refund taken off.
    #[tokio::test]
    async fn the_demo_link_has_three_weeks_of_clicks_and_earnings() {
        let store = MemoryStore::new();
        let password = Password::parse(&generate_password()).unwrap();
        let link = seed(&store, password).await.unwrap();
        let link = store.link_by_id(link.id).await.unwrap();
        assert_eq!(link.total_clicks, DAILY_CLICKS.iter().sum::<i64>());
        assert_eq!(link.total_conversions, 11);
        // 17 serums of 38.50, one refunded.
        assert_eq!(link.total_revenue, Decimal::new(61600, 2));
        // 20 % of that, less the platform's 20 % of it: 6.16 a serum.
        let earned = skinstack_core::testkit::usd_earnings(&store, link.influencer_id).await;
        // Approved, but the demo merchant has not paid a statement: awaiting the merchant.
        assert_eq!(
            earned.awaiting_merchant,
            Decimal::new(5544, 2),
            "orders 8+ days old"
        );
        assert_eq!(
            earned.pending,
            Decimal::new(4312, 2),
            "orders up to 6 days old"
        );
        let today = Utc::now().date_naive();
        let days = store
            .link_daily_stats(link.id, today - Duration::days(29), today)
            .await
            .unwrap();
        let earnings: Decimal = days.iter().map(|d| d.earnings).sum();
        assert_eq!(earnings, Decimal::new(9856, 2));
        assert_eq!(days.iter().filter(|d| d.conversions > 0).count(), 11);
    }

    /// The demo's clicks come from several apps, a few countries and the QR code, so that
    /// each breakdown on the dashboard has more than one row.
    #[tokio::test]
    async fn the_demo_clicks_come_from_several_apps_countries_and_the_qr_code() {
        use skinstack_core::service::analytics::influencer_breakdown;
        use skinstack_core::service::statements::DayRange;
        use skinstack_core::service::Actor;
        use skinstack_core::tracking::Dimension;
        let store = MemoryStore::new();
        let link = seed(&store, Password::parse(&generate_password()).unwrap())
            .await
            .unwrap();
        let influencer = store.influencer_by_id(link.influencer_id).await.unwrap();
        let user = store.user_by_id(influencer.user_id).await.unwrap();
        let actor = Actor::new(user).unwrap();
        let range = DayRange::last(30, Utc::now().date_naive()).unwrap();
        let values = |dimension| {
            let (store, actor) = (&store, &actor);
            async move {
                influencer_breakdown(store, actor, dimension, range)
                    .await
                    .unwrap()
                    .rows
                    .into_iter()
                    .map(|r| (r.value, r.clicks, r.conversions))
                    .collect::<Vec<_>>()
            }
        };
        let platforms = values(Dimension::Platform).await;
        let named: Vec<&str> = platforms.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(named[0], "instagram", "{platforms:?}");
        for app in ["tiktok", "youtube", "none"] {
            assert!(named.contains(&app), "{app}: {platforms:?}");
        }
        let every: i64 = platforms.iter().map(|p| p.1).sum();
        assert_eq!(
            every,
            DAILY_CLICKS.iter().sum::<i64>(),
            "every click is human"
        );
        let sources = values(Dimension::Source).await;
        let scans = sources.iter().find(|s| s.0 == "qr").map_or(0, |s| s.1);
        assert_eq!(scans, every / QR_EVERY as i64, "{sources:?}");
        let countries = values(Dimension::Country).await;
        assert_eq!(countries[0].0, "US", "{countries:?}");
        assert!(countries.len() >= 5, "{countries:?}");
        // The orders follow their clicks into the breakdowns.
        let sold: i64 = countries.iter().map(|c| c.2).sum();
        assert_eq!(sold, ORDERS.len() as i64);
    }

    /// The demo link owns `GLOW20`: an order placed with it now, in any case, is the link's.
    #[tokio::test]
    async fn the_demo_link_owns_an_assigned_coupon_code_that_attributes() {
        use skinstack_core::{CampaignCode, CouponState, Page};
        let store = MemoryStore::new();
        let link = seed(&store, Password::parse(&generate_password()).unwrap())
            .await
            .unwrap();
        let codes = store
            .coupon_codes_by_influencer(link.influencer_id, Page::first())
            .await
            .unwrap();
        assert_eq!(codes.len(), 1);
        assert_eq!(
            (codes[0].code.as_str(), codes[0].state, codes[0].link_id),
            (DEMO_COUPON, CouponState::Assigned, link.id)
        );
        let now = Utc::now();
        let recorded = record_conversion(
            &store,
            now,
            RecordConversion {
                merchant_id: codes[0].merchant_id,
                order_id: ShopRef::parse("demo-coupon").unwrap(),
                amount: Money::new(Decimal::new(3850, 2)).unwrap(),
                currency: Currency::USD,
                ordered_at: now,
                click_id: None,
                coupon_code: Some(CampaignCode::parse("glow20").unwrap()),
                product_external_ids: Vec::new(),
                customer_email: None,
                shopper_ip: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            recorded.conversion.attribution.map(|a| a.link_id),
            Some(link.id)
        );
    }
}
