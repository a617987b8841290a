//! The storage contract: one suite of tests every [`Store`] implementation runs against itself.
//!
//! A backend invokes [`contract_suite!`](crate::contract_suite) once, with its own test
//! attribute and a setup body that yields a fresh, empty store; the macro expands to one test
//! per case in [`cases`]. The in-memory store and the Postgres adapter run the very same cases.
//!
//! ```text
//! // In the Postgres adapter's tests: every case in its own fresh database.
//! skinstack_core::contract_suite! {
//!     #[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
//!     fn setup(pool: sqlx::PgPool) -> skinstack_pg::PgStore { skinstack_pg::PgStore::new(pool, cipher()) }
//! }
//! ```

// A failed contract case must panic: that is how a test reports it.
#![allow(clippy::unwrap_used)]

use crate::auth::{NewSession, SessionToken};
use crate::domain::*;
use crate::repo::{Page, ProductQuery, Store, Upserted};
use crate::slug::Slug;
use rust_decimal::Decimal;

/// Expands to one test function per contract case.
///
/// `$(#[attr])* fn setup(args) -> StoreType { body }`: each test carries the attributes, takes
/// the arguments (for example the pool `#[sqlx::test]` provides), evaluates `body` (it may
/// `.await`) to get a fresh store and runs the case against it.
#[macro_export]
macro_rules! contract_suite {
    ($(#[$attr:meta])* fn setup($($arg:ident : $ty:ty),* $(,)?) -> $store:ty $body:block) => {
        $crate::contract_suite!(@cases [$(#[$attr])*] [$($arg : $ty),*] $store, $body;
            users_round_trip,
            emails_are_unique_in_any_case,
            missing_rows_are_not_found,
            users_can_be_deactivated,
            influencers_round_trip,
            one_influencer_profile_per_user,
            merchants_round_trip_with_their_secrets,
            merchants_are_listed_by_user,
            programs_round_trip,
            programs_need_their_merchant,
            products_round_trip,
            external_ids_are_unique_per_merchant,
            prices_beyond_the_column_are_invalid,
            links_round_trip,
            slugs_are_unique,
            concurrent_inserts_of_one_slug_have_one_winner,
            links_are_listed_newest_first_per_influencer,
            links_can_be_patched,
            deleted_links_free_their_slug,
            deleting_a_merchant_cascades,
            deleting_a_user_cascades_and_detaches,
            deleting_a_product_detaches_links,
            users_are_listed_in_pages,
            influencers_can_be_updated,
            merchants_can_be_updated_with_their_secrets,
            programs_can_be_updated,
            open_programs_are_active_programs_of_active_merchants,
            products_can_be_updated,
            products_are_filtered_and_paged,
            products_are_upserted_by_external_id,
            sessions_round_trip_and_can_be_revoked,
            expired_sessions_are_purged,
            deleting_a_user_ends_their_sessions,
            stores_report_healthy,
            conversions_are_recorded_once_per_order,
            fifty_concurrent_deliveries_of_one_order_make_one_conversion,
            fifty_concurrent_orders_make_fifty_conversions_with_exact_totals,
            clicks_attribute_within_the_window_on_this_merchants_links_only,
            coupons_attribute_and_other_orders_stay_unattributed_but_visible,
            refunds_reverse_in_proportion_once_per_refund_id,
            concurrent_refunds_of_one_order_never_exceed_it,
            approval_waits_for_the_programs_hold_and_happens_once,
            payouts_pay_approved_balances_once_and_carry_negative_ones,
            payouts_skip_influencers_without_a_payout_method,
            daily_link_stats_add_up_to_the_link_totals,
            conversions_are_listed_in_pages,
            webhook_secrets_round_trip,
            random_sequences_keep_every_total_equal_to_the_ledger,
            api_keys_are_found_by_hash_until_revoked,
            api_keys_need_and_go_with_their_merchant,
            api_key_uses_only_move_forward,
            rejected_deliveries_are_kept_with_their_reason_and_listed_newest_first,
            a_webhook_id_is_kept_once_per_merchant,
            concurrent_retries_of_one_webhook_id_keep_one_delivery,
            the_previous_webhook_secret_is_kept_with_its_rotation_time
        );
    };
    (@cases $attrs:tt $args:tt $store:ty, $body:block; $case:ident $(, $rest:ident)*) => {
        $crate::contract_suite!(@one $attrs $args $store, $body, $case);
        $crate::contract_suite!(@cases $attrs $args $store, $body; $($rest),*);
    };
    (@cases $attrs:tt $args:tt $store:ty, $body:block;) => {};
    (@one [$($attr:tt)*] [$($args:tt)*] $store:ty, $body:block, $case:ident) => {
        $($attr)*
        async fn $case($($args)*) {
            let store: $store = $body;
            $crate::testkit::cases::$case(&store).await;
        }
    };
}

/// A merchant with a program and a product, and an influencer: the cast most tests need.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The influencer's account.
    pub influencer_user: User,
    /// The influencer's profile.
    pub influencer: Influencer,
    /// The merchant's account.
    pub merchant_user: User,
    /// The merchant, website `https://glowco.com`.
    pub merchant: Merchant,
    /// A 20 % program with the default fee.
    pub program: Program,
    /// A serum in that program.
    pub product: Product,
}

fn text(value: &str) -> Name {
    Name::parse(value).expect("fixture text is valid")
}

fn url(value: &str) -> WebUrl {
    WebUrl::parse(value).expect("fixture URL is valid")
}

/// A new account of `role` with a unique email.
pub fn new_user(role: Role) -> NewUser {
    NewUser {
        email: Email::parse(&format!("{}-{}@example.com", role.as_str(), UserId::new()))
            .expect("fixture email is valid"),
        password_hash: PasswordHash::parse(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        )
        .expect("fixture hash is valid"),
        role,
    }
}

/// A new influencer profile for `user`.
pub fn new_influencer(user: UserId) -> NewInfluencer {
    NewInfluencer {
        user_id: user,
        display_name: text("Ana Glow"),
        instagram_handle: Some(Handle::parse("@ana.glow").expect("valid")),
        tiktok_handle: None,
        youtube_handle: Some(Handle::parse("AnaGlowSkin").expect("valid")),
        payout: PayoutSettings::new(
            None,
            Some(Email::parse("ana@paypal.example.com").expect("valid")),
            Some(PayoutMethod::PayPal),
        )
        .expect("valid"),
        total_followers: 125_000,
    }
}

/// A new merchant on `https://glowco.com` with both kinds of secrets.
pub fn new_merchant(user: Option<UserId>) -> NewMerchant {
    NewMerchant {
        user_id: user,
        business_name: text("Glow Co"),
        website_url: url("https://glowco.com"),
        shopify_shop_domain: Some(ShopifyDomain::parse("glowco.myshopify.com").expect("valid")),
        shopify_api_key: Some(Secret::parse("shpat_fixture_api_key_123").expect("valid")),
        refersion_public_key: Some(text("pub_fixture_456")),
        refersion_secret_key: Some(Secret::parse("rfs_fixture_secret_789").expect("valid")),
    }
}

/// A new 20 % program for `merchant`.
pub fn new_program(merchant: MerchantId) -> NewProgram {
    NewProgram {
        merchant_id: merchant,
        name: text("Glow Ambassadors"),
        network: Network::ShopifyRefersion,
        commission: Commission::Percentage(
            CommissionRate::new(Decimal::new(20, 0)).expect("valid"),
        ),
        cookie_window: CookieWindow::default(),
        platform_fee_rate: FeeRate::default(),
    }
}

/// A new product of `merchant` with `external_id`.
pub fn new_product(
    merchant: MerchantId,
    program: Option<ProgramId>,
    external_id: &str,
) -> NewProduct {
    NewProduct {
        merchant_id: merchant,
        program_id: program,
        external_id: ExternalId::parse(external_id).expect("valid"),
        name: text("Vitamin C Serum"),
        description: Some(Description::parse("Brightening serum, 30 ml.").expect("valid")),
        price: Money::new(Decimal::new(3850, 2)).expect("valid"),
        image_url: Some(url("https://cdn.glowco.com/serum.jpg")),
        product_url: url("https://glowco.com/products/vitamin-c-serum"),
        category: Some(Category::Serum),
        in_stock: true,
    }
}

/// A new link to the fixture's product under `slug`.
pub fn new_link(f: &Fixture, slug: &str) -> NewLink {
    NewLink {
        slug: Slug::parse(slug).expect("valid slug"),
        influencer_id: f.influencer.id,
        program_id: f.program.id,
        product_id: Some(f.product.id),
        destination_url: f.product.product_url.clone(),
        campaign_code: Some(CampaignCode::parse("ANA20").expect("valid")),
        utm: Utm::default(),
        expires_at: None,
    }
}

impl Fixture {
    /// A request for a link to the fixture's product with a generated slug and default UTMs.
    pub fn link_request(&self) -> crate::service::links::CreateLink {
        crate::service::links::CreateLink {
            influencer_id: self.influencer.id,
            program_id: self.program.id,
            product_id: Some(self.product.id),
            destination_url: None,
            custom_slug: None,
            campaign_code: None,
            utm: Utm::default(),
            expires_at: None,
        }
    }

    /// Creates the cast in `store`.
    pub async fn create<S: Store + ?Sized>(store: &S) -> Fixture {
        let influencer_user = store
            .create_user(new_user(Role::Influencer))
            .await
            .expect("user");
        let influencer = store
            .create_influencer(new_influencer(influencer_user.id))
            .await
            .expect("influencer");
        let merchant_user = store
            .create_user(new_user(Role::Merchant))
            .await
            .expect("user");
        let merchant = store
            .create_merchant(new_merchant(Some(merchant_user.id)))
            .await
            .expect("merchant");
        let program = store
            .create_program(new_program(merchant.id))
            .await
            .expect("program");
        let product = store
            .create_product(new_product(
                merchant.id,
                Some(program.id),
                "gid://shopify/Product/1",
            ))
            .await
            .expect("product");
        Fixture {
            influencer_user,
            influencer,
            merchant_user,
            merchant,
            program,
            product,
        }
    }
}

pub mod api_keys;
pub mod ledger;
pub mod webhook_deliveries;

/// The contract cases. Each takes a fresh, empty store and panics on a broken promise.
#[allow(missing_docs)]
pub mod cases {
    pub use super::api_keys::cases::*;
    pub use super::ledger::cases::*;
    pub use super::webhook_deliveries::cases::*;
    use super::*;
    use crate::repo::{Entity, RepoError};
    use chrono::{Duration, Utc};

    macro_rules! assert_err {
        ($result:expr, $pattern:pat) => {
            match $result {
                Err($pattern) => {}
                other => panic!("expected {}, got {:?}", stringify!($pattern), other),
            }
        };
    }

    pub async fn users_round_trip<S: Store>(store: &S) {
        let new = new_user(Role::Merchant);
        let user = store.create_user(new.clone()).await.unwrap();
        assert_eq!(
            (user.email.clone(), user.role, user.is_active),
            (new.email.clone(), Role::Merchant, true)
        );
        assert_eq!(user.password_hash, new.password_hash);
        assert_eq!(store.user_by_id(user.id).await.unwrap(), user);
        assert_eq!(store.user_by_email(&new.email).await.unwrap().id, user.id);
    }

    pub async fn emails_are_unique_in_any_case<S: Store>(store: &S) {
        let new = new_user(Role::Influencer);
        store.create_user(new.clone()).await.unwrap();
        let shouted = NewUser {
            email: Email::parse(&new.email.as_str().to_uppercase()).unwrap(),
            role: Role::Merchant,
            ..new
        };
        assert_err!(store.create_user(shouted).await, RepoError::EmailTaken);
    }

    pub async fn missing_rows_are_not_found<S: Store>(store: &S) {
        assert_err!(
            store.user_by_id(UserId::new()).await,
            RepoError::NotFound(Entity::User)
        );
        assert_err!(
            store
                .user_by_email(&Email::parse("nobody@example.com").unwrap())
                .await,
            RepoError::NotFound(Entity::User)
        );
        assert_err!(
            store.influencer_by_id(InfluencerId::new()).await,
            RepoError::NotFound(Entity::Influencer)
        );
        assert_err!(
            store.merchant_by_id(MerchantId::new()).await,
            RepoError::NotFound(Entity::Merchant)
        );
        assert_err!(
            store.program_by_id(ProgramId::new()).await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store.product_by_id(ProductId::new()).await,
            RepoError::NotFound(Entity::Product)
        );
        assert_err!(
            store.link_by_id(LinkId::new()).await,
            RepoError::NotFound(Entity::Link)
        );
        assert_err!(
            store.link_by_slug(&Slug::parse("nosuch").unwrap()).await,
            RepoError::NotFound(Entity::Link)
        );
        assert_err!(
            store.set_user_active(UserId::new(), false).await,
            RepoError::NotFound(Entity::User)
        );
        assert_err!(
            store.delete_link(LinkId::new()).await,
            RepoError::NotFound(Entity::Link)
        );
        assert_err!(
            store.create_influencer(new_influencer(UserId::new())).await,
            RepoError::NotFound(Entity::User)
        );
        assert_err!(
            store
                .create_merchant(new_merchant(Some(UserId::new())))
                .await,
            RepoError::NotFound(Entity::User)
        );
    }

    pub async fn users_can_be_deactivated<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        assert!(
            !store
                .set_user_active(user.id, false)
                .await
                .unwrap()
                .is_active
        );
        assert!(!store.user_by_id(user.id).await.unwrap().is_active);
        assert!(
            store
                .set_user_active(user.id, true)
                .await
                .unwrap()
                .is_active
        );
    }

    pub async fn influencers_round_trip<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let new = new_influencer(user.id);
        let influencer = store.create_influencer(new.clone()).await.unwrap();
        assert_eq!(influencer.display_name, new.display_name);
        assert_eq!(
            influencer.instagram_handle.as_ref().map(Handle::as_str),
            Some("ana.glow")
        );
        assert_eq!(influencer.youtube_handle, new.youtube_handle);
        assert_eq!(influencer.tiktok_handle, None);
        assert_eq!(influencer.payout, new.payout);
        assert_eq!(influencer.total_followers, 125_000);
        assert_eq!(
            (influencer.total_earned, influencer.total_paid),
            (Decimal::ZERO, Decimal::ZERO)
        );
        assert_eq!(
            store.influencer_by_id(influencer.id).await.unwrap(),
            influencer
        );
        assert_eq!(store.influencer_by_user(user.id).await.unwrap(), influencer);
    }

    pub async fn one_influencer_profile_per_user<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        store
            .create_influencer(new_influencer(user.id))
            .await
            .unwrap();
        assert_err!(
            store.create_influencer(new_influencer(user.id)).await,
            RepoError::ProfileExists
        );
    }

    pub async fn merchants_round_trip_with_their_secrets<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let new = new_merchant(Some(user.id));
        let merchant = store.create_merchant(new.clone()).await.unwrap();
        assert_eq!(merchant.business_name, new.business_name);
        assert_eq!(merchant.website_url, new.website_url);
        assert_eq!(merchant.shopify_shop_domain, new.shopify_shop_domain);
        assert_eq!(merchant.shopify_api_key, new.shopify_api_key);
        assert_eq!(merchant.refersion_public_key, new.refersion_public_key);
        assert_eq!(merchant.refersion_secret_key, new.refersion_secret_key);
        assert!(merchant.is_active);
        assert_eq!(store.merchant_by_id(merchant.id).await.unwrap(), merchant);
        let bare = NewMerchant {
            shopify_api_key: None,
            refersion_secret_key: None,
            user_id: None,
            ..new
        };
        let bare = store.create_merchant(bare).await.unwrap();
        assert_eq!(
            store.merchant_by_id(bare.id).await.unwrap().shopify_api_key,
            None
        );
        assert!(
            !store
                .set_merchant_active(bare.id, false)
                .await
                .unwrap()
                .is_active
        );
    }

    pub async fn merchants_are_listed_by_user<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let other = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let first = store
            .create_merchant(new_merchant(Some(user.id)))
            .await
            .unwrap();
        let second = store
            .create_merchant(new_merchant(Some(user.id)))
            .await
            .unwrap();
        store
            .create_merchant(new_merchant(Some(other.id)))
            .await
            .unwrap();
        let ids: Vec<_> = store
            .merchants_by_user(user.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec![first.id, second.id]);
    }

    pub async fn programs_round_trip<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let pct = store
            .create_program(new_program(merchant.id))
            .await
            .unwrap();
        let fixed = NewProgram {
            commission: Commission::fixed(Money::new(Decimal::new(1250, 2)).unwrap()).unwrap(),
            cookie_window: CookieWindow::new(7).unwrap(),
            platform_fee_rate: FeeRate::new(Decimal::new(15, 2)).unwrap(),
            network: Network::Impact,
            ..new_program(merchant.id)
        };
        let fixed = store.create_program(fixed.clone()).await.unwrap();
        assert_eq!(store.program_by_id(pct.id).await.unwrap(), pct);
        let stored = store.program_by_id(fixed.id).await.unwrap();
        assert_eq!(stored, fixed);
        assert_eq!(stored.cookie_window.days(), 7);
        assert_eq!(stored.platform_fee_rate.fraction(), Decimal::new(15, 2));
        assert!(
            matches!(stored.commission, Commission::Fixed(m) if m.amount() == Decimal::new(1250, 2))
        );
        let listed: Vec<_> = store
            .programs_by_merchant(merchant.id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(listed, vec![pct.id, fixed.id]);
        assert!(
            !store
                .set_program_active(pct.id, false)
                .await
                .unwrap()
                .is_active
        );
        assert!(!store.program_by_id(pct.id).await.unwrap().is_active);
    }

    pub async fn programs_need_their_merchant<S: Store>(store: &S) {
        assert_err!(
            store.create_program(new_program(MerchantId::new())).await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    pub async fn products_round_trip<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        assert_eq!(store.product_by_id(f.product.id).await.unwrap(), f.product);
        assert_eq!(f.product.price.amount(), Decimal::new(3850, 2));
        let bare = NewProduct {
            program_id: None,
            description: None,
            image_url: None,
            category: None,
            in_stock: false,
            price: Money::ZERO,
            ..new_product(f.merchant.id, None, "sku-2")
        };
        let bare = store.create_product(bare).await.unwrap();
        assert_eq!(store.product_by_id(bare.id).await.unwrap(), bare);
        let listed: Vec<_> = store
            .products_by_merchant(f.merchant.id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(listed, vec![f.product.id, bare.id]);
        assert_err!(
            store
                .create_product(new_product(f.merchant.id, Some(ProgramId::new()), "sku-3"))
                .await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store
                .create_product(new_product(MerchantId::new(), None, "sku-4"))
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    pub async fn external_ids_are_unique_per_merchant<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        assert_err!(
            store
                .create_product(new_product(f.merchant.id, None, "gid://shopify/Product/1"))
                .await,
            RepoError::DuplicateExternalId
        );
        let other = store.create_merchant(new_merchant(None)).await.unwrap();
        store
            .create_product(new_product(other.id, None, "gid://shopify/Product/1"))
            .await
            .unwrap();
    }

    pub async fn prices_beyond_the_column_are_invalid<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let pricey = NewProduct {
            price: Money::new(Decimal::new(10_000_000_000, 2)).unwrap(), // 100000000.00
            ..new_product(merchant.id, None, "sku-big")
        };
        match store.create_product(pricey).await {
            Err(RepoError::Invalid(err)) => assert_eq!(err.field, "price"),
            other => panic!("expected an invalid price, got {other:?}"),
        }
        assert!(store
            .products_by_merchant(merchant.id)
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn links_round_trip<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let expires = Utc::now() + Duration::days(10);
        let new = NewLink {
            expires_at: Some(expires),
            utm: Utm {
                campaign: Some(UtmValue::parse("spring sale").unwrap()),
                ..Utm::default()
            },
            ..new_link(&f, "abc234")
        };
        let link = store.insert_link(new.clone()).await.unwrap();
        assert_eq!(link.slug, new.slug);
        assert_eq!(link.destination_url, new.destination_url);
        assert_eq!(link.utm, new.utm);
        assert_eq!(link.campaign_code, new.campaign_code);
        assert_eq!(link.product_id, Some(f.product.id));
        assert_eq!((link.total_clicks, link.total_conversions), (0, 0));
        assert_eq!(
            (link.total_revenue, link.total_commission),
            (Decimal::ZERO, Decimal::ZERO)
        );
        assert!(link.is_active);
        let stored_expiry = link.expires_at.expect("expiry kept");
        assert!(
            (stored_expiry - expires).num_milliseconds().abs() < 1,
            "microsecond precision"
        );
        assert_eq!(store.link_by_id(link.id).await.unwrap(), link);
        assert_eq!(
            store
                .link_by_slug(&Slug::parse("ABC234").unwrap())
                .await
                .unwrap(),
            link
        );
        let bare = NewLink {
            product_id: None,
            campaign_code: None,
            utm: Utm {
                source: None,
                medium: None,
                campaign: None,
            },
            ..new_link(&f, "bare-link")
        };
        let bare = store.insert_link(bare).await.unwrap();
        assert_eq!(store.link_by_id(bare.id).await.unwrap(), bare);
        assert_err!(
            store
                .insert_link(NewLink {
                    influencer_id: InfluencerId::new(),
                    ..new_link(&f, "orphan1")
                })
                .await,
            RepoError::NotFound(Entity::Influencer)
        );
        assert_err!(
            store
                .insert_link(NewLink {
                    program_id: ProgramId::new(),
                    ..new_link(&f, "orphan2")
                })
                .await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store
                .insert_link(NewLink {
                    product_id: Some(ProductId::new()),
                    ..new_link(&f, "orphan3")
                })
                .await,
            RepoError::NotFound(Entity::Product)
        );
    }

    pub async fn slugs_are_unique<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        store.insert_link(new_link(&f, "glow-up")).await.unwrap();
        assert_err!(
            store.insert_link(new_link(&f, "GLOW-UP")).await,
            RepoError::SlugTaken
        );
        assert_eq!(
            store
                .links_by_influencer(f.influencer.id)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    pub async fn concurrent_inserts_of_one_slug_have_one_winner<S: Store + Clone>(store: &S) {
        let f = Fixture::create(store).await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (store, link) = (store.clone(), new_link(&f, "contested"));
                tokio::spawn(async move { store.insert_link(link).await })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.expect("task ran") {
                Ok(_) => wins += 1,
                Err(RepoError::SlugTaken) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wins, 1);
    }

    pub async fn links_are_listed_newest_first_per_influencer<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let other = Fixture::create(store).await;
        let first = store.insert_link(new_link(&f, "first")).await.unwrap();
        let second = store.insert_link(new_link(&f, "second")).await.unwrap();
        store.insert_link(new_link(&other, "theirs")).await.unwrap();
        let ids: Vec<_> = store
            .links_by_influencer(f.influencer.id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(ids, vec![second.id, first.id]);
    }

    pub async fn links_can_be_patched<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "patchme")).await.unwrap();
        let expiry = Utc::now() + Duration::days(3);
        let utm = Utm {
            campaign: Some(UtmValue::parse("bf").unwrap()),
            ..Utm::default()
        };
        let patch = LinkPatch {
            is_active: Some(false),
            expires_at: Some(Some(expiry)),
            utm: Some(utm.clone()),
        };
        let patched = store.update_link(link.id, patch).await.unwrap();
        assert!(!patched.is_active);
        assert_eq!(patched.utm, utm);
        assert!(patched.expires_at.is_some());
        assert_eq!(store.link_by_id(link.id).await.unwrap(), patched);
        let cleared = store
            .update_link(
                link.id,
                LinkPatch {
                    expires_at: Some(None),
                    ..LinkPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(cleared.expires_at, None);
        assert!(
            !cleared.is_active,
            "fields not in the patch stay as they were"
        );
        assert_err!(
            store.update_link(LinkId::new(), LinkPatch::default()).await,
            RepoError::NotFound(Entity::Link)
        );
    }

    pub async fn deleted_links_free_their_slug<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "reuse-me")).await.unwrap();
        store.delete_link(link.id).await.unwrap();
        assert_err!(
            store.link_by_id(link.id).await,
            RepoError::NotFound(Entity::Link)
        );
        assert_err!(
            store.link_by_slug(&link.slug).await,
            RepoError::NotFound(Entity::Link)
        );
        store.insert_link(new_link(&f, "reuse-me")).await.unwrap();
    }

    pub async fn deleting_a_merchant_cascades<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "cascade")).await.unwrap();
        store.delete_merchant(f.merchant.id).await.unwrap();
        assert_err!(
            store.merchant_by_id(f.merchant.id).await,
            RepoError::NotFound(Entity::Merchant)
        );
        assert_err!(
            store.program_by_id(f.program.id).await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store.product_by_id(f.product.id).await,
            RepoError::NotFound(Entity::Product)
        );
        assert_err!(
            store.link_by_id(link.id).await,
            RepoError::NotFound(Entity::Link)
        );
        store.user_by_id(f.merchant_user.id).await.unwrap();
        store.influencer_by_id(f.influencer.id).await.unwrap();
    }

    pub async fn deleting_a_user_cascades_and_detaches<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "byebye")).await.unwrap();
        store.delete_user(f.influencer_user.id).await.unwrap();
        assert_err!(
            store.influencer_by_id(f.influencer.id).await,
            RepoError::NotFound(Entity::Influencer)
        );
        assert_err!(
            store.link_by_id(link.id).await,
            RepoError::NotFound(Entity::Link)
        );
        store.delete_user(f.merchant_user.id).await.unwrap();
        let merchant = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(merchant.user_id, None, "merchants outlive their user");
        store.program_by_id(f.program.id).await.unwrap();
    }

    pub async fn deleting_a_product_detaches_links<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "keepme")).await.unwrap();
        store.delete_product(f.product.id).await.unwrap();
        assert_err!(
            store.product_by_id(f.product.id).await,
            RepoError::NotFound(Entity::Product)
        );
        assert_eq!(store.link_by_id(link.id).await.unwrap().product_id, None);
    }

    pub async fn users_are_listed_in_pages<S: Store>(store: &S) {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(
                store
                    .create_user(new_user(Role::Influencer))
                    .await
                    .unwrap()
                    .id,
            );
        }
        ids.sort();
        let first = store.list_users(Page::new(2, None).unwrap()).await.unwrap();
        assert_eq!(first.iter().map(|u| u.id).collect::<Vec<_>>(), ids[..2]);
        let rest = store
            .list_users(Page::new(10, Some(ids[1])).unwrap())
            .await
            .unwrap();
        assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), ids[2..]);
        let none = store
            .list_users(Page::new(10, Some(ids[4])).unwrap())
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    pub async fn influencers_can_be_updated<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let influencer = store
            .create_influencer(new_influencer(user.id))
            .await
            .unwrap();
        let payout = PayoutSettings::new(
            Some(StripeAccountId::parse("acct_1A2b3C").unwrap()),
            None,
            Some(PayoutMethod::Stripe),
        )
        .unwrap();
        let patch = InfluencerPatch {
            display_name: Some(text("Ana G.")),
            instagram_handle: Some(None),
            tiktok_handle: Some(Some(Handle::parse("anatok").unwrap())),
            youtube_handle: None,
            payout: Some(payout.clone()),
            total_followers: Some(200_000),
        };
        let updated = store.update_influencer(influencer.id, patch).await.unwrap();
        assert_eq!(updated.display_name.as_str(), "Ana G.");
        assert_eq!(updated.instagram_handle, None);
        assert_eq!(
            updated.tiktok_handle.as_ref().map(Handle::as_str),
            Some("anatok")
        );
        assert_eq!(
            updated.youtube_handle, influencer.youtube_handle,
            "fields not in the patch stay as they were"
        );
        assert_eq!(updated.payout, payout);
        assert_eq!(updated.total_followers, 200_000);
        assert_eq!(
            store.influencer_by_id(influencer.id).await.unwrap(),
            updated
        );
        assert_err!(
            store
                .update_influencer(InfluencerId::new(), InfluencerPatch::default())
                .await,
            RepoError::NotFound(Entity::Influencer)
        );
    }

    pub async fn merchants_can_be_updated_with_their_secrets<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let patch = MerchantPatch {
            business_name: Some(text("Glow Company")),
            website_url: Some(url("https://shop.glowco.com")),
            shopify_shop_domain: Some(None),
            shopify_api_key: Some(Some(Secret::parse("shpat_rotated_key").unwrap())),
            refersion_public_key: None,
            refersion_secret_key: Some(None),
        };
        let updated = store.update_merchant(merchant.id, patch).await.unwrap();
        assert_eq!(updated.business_name.as_str(), "Glow Company");
        assert_eq!(updated.website_url.as_str(), "https://shop.glowco.com/");
        assert_eq!(updated.shopify_shop_domain, None);
        assert_eq!(
            updated.shopify_api_key.as_ref().map(Secret::expose),
            Some("shpat_rotated_key")
        );
        assert_eq!(updated.refersion_public_key, merchant.refersion_public_key);
        assert_eq!(updated.refersion_secret_key, None);
        assert_eq!(store.merchant_by_id(merchant.id).await.unwrap(), updated);
        assert_err!(
            store
                .update_merchant(MerchantId::new(), MerchantPatch::default())
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    pub async fn programs_can_be_updated<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let program = store
            .create_program(new_program(merchant.id))
            .await
            .unwrap();
        let fixed = Commission::fixed(Money::new(Decimal::new(500, 2)).unwrap()).unwrap();
        let patch = ProgramPatch {
            name: Some(text("Glow VIP")),
            network: Some(Network::Levanta),
            commission: Some(fixed),
            cookie_window: Some(CookieWindow::new(60).unwrap()),
        };
        let updated = store.update_program(program.id, patch).await.unwrap();
        assert_eq!(updated.name.as_str(), "Glow VIP");
        assert_eq!(updated.network, Network::Levanta);
        assert_eq!(updated.commission, fixed);
        assert_eq!(updated.cookie_window.days(), 60);
        assert_eq!(updated.platform_fee_rate, program.platform_fee_rate);
        assert_eq!(store.program_by_id(program.id).await.unwrap(), updated);
        // Back to a percentage: the old fixed amount must not linger as a second commission.
        let pct = Commission::Percentage(CommissionRate::new(Decimal::new(125, 1)).unwrap());
        let back = store
            .update_program(
                program.id,
                ProgramPatch {
                    commission: Some(pct),
                    ..ProgramPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(back.commission, pct);
        assert_eq!(store.program_by_id(program.id).await.unwrap(), back);
        assert_err!(
            store
                .update_program(ProgramId::new(), ProgramPatch::default())
                .await,
            RepoError::NotFound(Entity::Program)
        );
    }

    pub async fn open_programs_are_active_programs_of_active_merchants<S: Store>(store: &S) {
        let open = Fixture::create(store).await;
        let paused = Fixture::create(store).await;
        store
            .set_program_active(paused.program.id, false)
            .await
            .unwrap();
        let closed = Fixture::create(store).await;
        store
            .set_merchant_active(closed.merchant.id, false)
            .await
            .unwrap();
        let second = store
            .create_program(new_program(open.merchant.id))
            .await
            .unwrap();
        let all = store.open_programs(Page::first()).await.unwrap();
        assert_eq!(
            all.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![open.program.id, second.id]
        );
        let paged = store
            .open_programs(Page::new(1, Some(open.program.id)).unwrap())
            .await
            .unwrap();
        assert_eq!(
            paged.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![second.id]
        );
    }

    pub async fn products_can_be_updated<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let patch = ProductPatch {
            program_id: Some(None),
            name: Some(text("Vitamin C Serum 50 ml")),
            description: Some(None),
            price: Some(Money::new(Decimal::new(4200, 2)).unwrap()),
            image_url: Some(None),
            product_url: Some(url("https://glowco.com/products/serum-50")),
            category: Some(Some(Category::Treatment)),
            in_stock: Some(false),
        };
        let updated = store.update_product(f.product.id, patch).await.unwrap();
        assert_eq!(updated.program_id, None);
        assert_eq!(updated.name.as_str(), "Vitamin C Serum 50 ml");
        assert_eq!(updated.description, None);
        assert_eq!(updated.price.amount(), Decimal::new(4200, 2));
        assert_eq!(updated.image_url, None);
        assert_eq!(updated.category, Some(Category::Treatment));
        assert!(!updated.in_stock);
        assert_eq!(updated.external_id, f.product.external_id);
        assert_eq!(store.product_by_id(f.product.id).await.unwrap(), updated);
        let untouched = store
            .update_product(f.product.id, ProductPatch::default())
            .await
            .unwrap();
        assert_eq!(untouched.name, updated.name);
        assert_err!(
            store
                .update_product(
                    f.product.id,
                    ProductPatch {
                        program_id: Some(Some(ProgramId::new())),
                        ..ProductPatch::default()
                    }
                )
                .await,
            RepoError::NotFound(Entity::Program)
        );
        match store
            .update_product(
                f.product.id,
                ProductPatch {
                    price: Some(Money::new(Decimal::new(10_000_000_000, 2)).unwrap()),
                    ..ProductPatch::default()
                },
            )
            .await
        {
            Err(RepoError::Invalid(err)) => assert_eq!(err.field, "price"),
            other => panic!("expected an invalid price, got {other:?}"),
        }
        assert_err!(
            store
                .update_product(ProductId::new(), ProductPatch::default())
                .await,
            RepoError::NotFound(Entity::Product)
        );
    }

    pub async fn products_are_filtered_and_paged<S: Store>(store: &S) {
        let f = Fixture::create(store).await; // one serum, in stock, in the program
        let mask = store
            .create_product(NewProduct {
                category: Some(Category::Mask),
                in_stock: false,
                ..new_product(f.merchant.id, Some(f.program.id), "mask")
            })
            .await
            .unwrap();
        let loose = store
            .create_product(NewProduct {
                program_id: None,
                ..new_product(f.merchant.id, None, "loose")
            })
            .await
            .unwrap();
        let other = Fixture::create(store).await;
        let ids = |products: Vec<Product>| products.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let list = |query: ProductQuery| async move { store.list_products(&query).await.unwrap() };
        let mine = ProductQuery {
            merchant: Some(f.merchant.id),
            ..ProductQuery::default()
        };
        assert_eq!(
            ids(list(mine.clone()).await),
            vec![f.product.id, mask.id, loose.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                program: Some(f.program.id),
                ..mine.clone()
            })
            .await),
            vec![f.product.id, mask.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                category: Some(Category::Mask),
                ..mine.clone()
            })
            .await),
            vec![mask.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                in_stock: Some(true),
                ..mine.clone()
            })
            .await),
            vec![f.product.id, loose.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                page: Page::new(1, Some(f.product.id)).unwrap(),
                ..mine.clone()
            })
            .await),
            vec![mask.id]
        );
        // Open products: the merchant is active and the program, if any, too.
        store.set_program_active(f.program.id, false).await.unwrap();
        store
            .set_merchant_active(other.merchant.id, false)
            .await
            .unwrap();
        let open = ProductQuery {
            open_only: true,
            ..ProductQuery::default()
        };
        assert_eq!(ids(list(open.clone()).await), vec![loose.id]);
        store
            .set_merchant_active(other.merchant.id, true)
            .await
            .unwrap();
        assert_eq!(ids(list(open).await), vec![loose.id, other.product.id]);
    }

    pub async fn products_are_upserted_by_external_id<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let changed = NewProduct {
            name: text("Vitamin C Serum (new formula)"),
            price: Money::new(Decimal::new(4000, 2)).unwrap(),
            in_stock: false,
            program_id: None,
            ..new_product(f.merchant.id, None, "gid://shopify/Product/1")
        };
        let (updated, how) = store.upsert_product(changed.clone()).await.unwrap();
        assert_eq!(how, Upserted::Updated);
        assert_eq!(updated.id, f.product.id);
        assert_eq!(updated.name, changed.name);
        assert_eq!(updated.price, changed.price);
        assert_eq!(updated.program_id, None);
        assert!(!updated.in_stock);
        let (created, how) = store
            .upsert_product(new_product(f.merchant.id, None, "sku-new"))
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        assert_ne!(created.id, f.product.id);
        // The same external id at another merchant is another product.
        let other = store.create_merchant(new_merchant(None)).await.unwrap();
        let (theirs, how) = store
            .upsert_product(new_product(other.id, None, "sku-new"))
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        assert_eq!(theirs.merchant_id, other.id);
        match store
            .upsert_product(NewProduct {
                price: Money::new(Decimal::new(10_000_000_000, 2)).unwrap(),
                ..new_product(f.merchant.id, None, "sku-new")
            })
            .await
        {
            Err(RepoError::Invalid(err)) => assert_eq!(err.field, "price"),
            other => panic!("expected an invalid price, got {other:?}"),
        }
        assert_eq!(
            store.product_by_id(created.id).await.unwrap().price,
            created.price,
            "a refused upsert changes nothing"
        );
        assert_err!(
            store
                .upsert_product(new_product(MerchantId::new(), None, "x"))
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    pub async fn sessions_round_trip_and_can_be_revoked<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let token = SessionToken::generate().unwrap();
        let expires_at = Utc::now() + Duration::days(30);
        let session = store
            .create_session(NewSession {
                token_hash: token.hash(),
                user_id: user.id,
                expires_at,
            })
            .await
            .unwrap();
        assert_eq!(session.user_id, user.id);
        assert!((session.expires_at - expires_at).num_milliseconds().abs() < 1);
        let (found, owner) = store.session_user(&token.hash()).await.unwrap();
        assert_eq!(found, session);
        assert_eq!(owner, user);
        let stranger = SessionToken::generate().unwrap();
        assert_err!(
            store.session_user(&stranger.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        store.delete_session(&token.hash()).await.unwrap();
        assert_err!(
            store.session_user(&token.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        assert_err!(
            store.delete_session(&token.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        assert_err!(
            store
                .create_session(NewSession {
                    token_hash: stranger.hash(),
                    user_id: UserId::new(),
                    expires_at,
                })
                .await,
            RepoError::NotFound(Entity::User)
        );
    }

    pub async fn expired_sessions_are_purged<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let now = Utc::now();
        let (old, fresh) = (
            SessionToken::generate().unwrap(),
            SessionToken::generate().unwrap(),
        );
        for (token, expires_at) in [
            (&old, now - Duration::hours(1)),
            (&fresh, now + Duration::hours(1)),
        ] {
            store
                .create_session(NewSession {
                    token_hash: token.hash(),
                    user_id: user.id,
                    expires_at,
                })
                .await
                .unwrap();
        }
        // An expired session is still found (the caller decides), until it is purged.
        store.session_user(&old.hash()).await.unwrap();
        assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 1);
        assert_err!(
            store.session_user(&old.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        store.session_user(&fresh.hash()).await.unwrap();
    }

    pub async fn deleting_a_user_ends_their_sessions<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let token = SessionToken::generate().unwrap();
        store
            .create_session(NewSession {
                token_hash: token.hash(),
                user_id: user.id,
                expires_at: Utc::now() + Duration::days(1),
            })
            .await
            .unwrap();
        store.delete_user(user.id).await.unwrap();
        assert_err!(
            store.session_user(&token.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
    }

    pub async fn stores_report_healthy<S: Store>(store: &S) {
        store.check().await.unwrap();
    }
}
