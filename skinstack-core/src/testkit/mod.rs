//! The storage contract: one suite of tests every [`Store`] implementation runs against itself.
//!
//! A backend invokes [`contract_suite!`](crate::contract_suite) once, with its own test
//! attribute and a setup body that yields a fresh, empty store; the macro expands to one test
//! per case in [`cases`]. The in-memory store and the Postgres adapter run the very same cases.
//!
//! The files mirror `store/` one for one: the cases of a trait sit in the file of its name, in
//! a `cases` module. A case that is written but missing from the macro's list would never run;
//! the unit test `the_contract_macro_lists_every_case_written` reads these files and fails
//! naming any such case.
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
use crate::domain::Slug;
use crate::domain::*;
use crate::earning::EarningsSummary;
use crate::store::*;
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
            one_merchant_per_account_even_when_created_concurrently,
            merchants_start_unverified_and_verification_opens_their_programs_and_links,
            a_new_website_puts_a_verified_merchant_back_to_unverified,
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
            follower_counts_beyond_the_integer_column_are_invalid,
            merchants_can_be_updated_with_their_secrets,
            programs_can_be_updated,
            open_programs_are_active_programs_of_active_merchants,
            open_lists_follow_the_core_rule,
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
            conversions_break_down_by_their_clicks_dimensions_net_of_refunds,
            concurrent_refunds_of_one_order_never_exceed_it,
            approval_waits_for_the_programs_hold_and_happens_once,
            payouts_pay_approved_balances_once_and_carry_negative_ones,
            payouts_skip_influencers_without_a_payout_method,
            daily_link_stats_add_up_to_the_link_totals,
            balances_are_pending_approved_and_paid_by_one_rule_on_every_store,
            conversions_are_listed_in_pages,
            webhook_secrets_round_trip,
            random_sequences_keep_every_total_equal_to_the_ledger,
            api_keys_are_found_by_hash_until_revoked,
            api_keys_need_and_go_with_their_merchant,
            api_key_uses_only_move_forward,
            click_batches_are_stored_and_counted_once_even_when_retried,
            clicks_on_a_link_deleted_since_are_dropped_not_failed,
            a_stored_click_keeps_what_its_headers_said_about_the_visitor_and_its_country,
            roll_ups_equal_the_stored_clicks_after_random_batches_and_retries,
            breakdowns_equal_the_stored_clicks_per_dimension_after_random_and_retried_batches,
            clicks_without_headers_keep_their_families_and_break_down_by_them,
            roll_ups_count_by_utc_day_and_go_with_their_link,
            a_click_is_stored_at_its_ids_time_so_a_retry_with_another_time_is_no_copy,
            rejected_deliveries_are_kept_with_their_reason_and_listed_newest_first,
            a_webhook_id_is_kept_once_per_merchant,
            concurrent_retries_of_one_webhook_id_keep_one_delivery,
            the_previous_webhook_secret_is_kept_with_its_rotation_time,
            memberships_round_trip_one_per_influencer_and_program,
            concurrent_applications_give_one_membership,
            membership_states_move_only_from_the_state_read,
            memberships_go_with_their_program_and_influencer,
            members_are_listed_by_state_with_the_sums_of_their_links_totals,
            invitations_are_found_by_token_and_accepted_once,
            a_banned_members_links_stop_resolving_as_live,
            coupon_codes_round_trip_and_are_listed_per_merchant_and_influencer,
            coupon_codes_are_unique_per_merchant_in_any_case_until_revoked,
            two_influencers_claiming_one_code_concurrently_get_one_owner,
            coupon_codes_change_state_only_from_the_state_expected,
            coupon_codes_need_and_go_with_their_link_and_merchant,
            coupons_attribute_to_the_owner_only_from_assignment_until_revocation,
            held_commissions_are_never_approved_until_released,
            a_void_reverses_the_commission_exactly_and_later_refunds_only_sales,
            only_attributed_unapproved_commissions_can_be_held,
            a_ban_holds_every_open_commission_of_that_member_in_that_program,
            orders_above_the_merchants_maximum_are_recorded_with_their_commission_held,
            a_back_dated_order_is_not_approved_on_the_next_approve_due,
            conversions_past_the_seeds_total_limits_are_still_recorded,
            each_currency_keeps_its_own_orders_balances_statements_and_payouts,
            a_currency_change_racing_a_first_order_never_leaves_an_order_in_another_currency,
            statements_bill_approved_commissions_once_per_period_and_stay_as_issued,
            unfunded_approved_commissions_are_not_paid_out_until_their_statement_is_paid,
            a_refund_after_a_statement_was_issued_is_a_credit_on_the_next_one,
            concurrent_creation_of_one_period_issues_one_statement,
            a_click_attributes_its_limit_of_orders_and_later_ones_fall_back_to_the_coupon,
            concurrent_orders_with_one_click_attribute_at_most_its_limit,
            a_click_use_is_taken_by_one_conversion_only,
            clicks_attribute_only_orders_after_their_link_was_created_and_codes_after_assignment,
            a_self_referral_is_held_and_never_approved_or_paid_until_released,
            a_shopper_from_another_network_than_the_click_is_held
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

/// A merchant with a program and a product, and an influencer approved as a member of the
/// program: the cast most tests need.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The influencer's account.
    pub influencer_user: User,
    /// The influencer's profile.
    pub influencer: Influencer,
    /// The merchant's account.
    pub merchant_user: User,
    /// The merchant, website `https://glowco.com`, verified.
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

fn site(value: &str) -> SiteUrl {
    SiteUrl::parse(value).expect("fixture website is valid")
}

/// Verified now, to the microsecond every store keeps.
pub fn verified_now() -> Verification {
    Verification::Verified {
        at: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
    }
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
        total_followers: Followers::new(125_000).expect("valid"),
    }
}

/// The influencer's earnings of a fixture that earns in USD only: its one summary, or zeros
/// before any event.
pub async fn usd_earnings<S: LedgerStore>(store: &S, influencer: InfluencerId) -> EarningsSummary {
    let mut summaries = store
        .earnings_summary(influencer)
        .await
        .expect("earnings summary");
    assert!(summaries.len() <= 1, "{summaries:?}");
    let summary = summaries.pop().unwrap_or_default();
    assert_eq!(summary.currency, Currency::USD);
    summary
}

/// A new merchant on `https://glowco.com` with both kinds of secrets.
pub fn new_merchant(user: Option<UserId>) -> NewMerchant {
    NewMerchant {
        user_id: user,
        business_name: text("Glow Co"),
        website_url: site("https://glowco.com"),
        shopify_shop_domain: Some(ShopifyDomain::parse("glowco.myshopify.com").expect("valid")),
        shopify_api_key: Some(Secret::parse("shpat_fixture_api_key_123").expect("valid")),
        refersion_public_key: Some(text("pub_fixture_456")),
        refersion_secret_key: Some(Secret::parse("rfs_fixture_secret_789").expect("valid")),
        currency: Currency::USD,
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
        enrollment_mode: EnrollmentMode::default(),
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
        price: Price::from_decimal(Decimal::new(3850, 2)).expect("valid"),
        image_url: Some(url("https://cdn.glowco.com/serum.jpg")),
        product_url: url("https://glowco.com/products/vitamin-c-serum"),
        category: Some(Category::Serum),
        in_stock: true,
    }
}

/// A new link to the fixture's product under `slug`, with the campaign code `ANA20` (a label:
/// [`coupon_codes::assign_code`] makes a code attribute).
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
        created_at: links_created_at(),
    }
}

/// When [`new_link`]'s links are created: well before the orders and clicks of the contract
/// cases (around [`conversions::t0`]), since clicks attribute only orders placed after their
/// link was created.
pub fn links_created_at() -> chrono::DateTime<chrono::Utc> {
    conversions::t0() - chrono::Duration::days(400)
}

impl Fixture {
    /// A request for a link to the fixture's product with a generated slug and default UTMs
    /// (for [`Fixture::influencer`]).
    pub fn link_request(&self) -> crate::service::links::CreateLink {
        crate::service::links::CreateLink {
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
        // Most cases need links that redirect: the fixture's merchant is verified.
        let merchant = store
            .set_merchant_verification(merchant.id, verified_now())
            .await
            .expect("verification");
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
        // The influencer may link to the program, as most tests need.
        store
            .insert_membership(NewMembership {
                program_id: program.id,
                influencer_id: influencer.id,
                state: MembershipState::Approved,
                message: None,
            })
            .await
            .expect("membership");
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

/// Asserts that `$result` is an `Err` matching `$pattern`.
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected {}, got {:?}", stringify!($pattern), other),
        }
    };
}

pub mod api_keys;
pub mod clicks;
pub mod conversions;
pub mod coupon_codes;
pub mod currencies;
pub mod holds;
pub mod influencers;
pub mod invoices;
pub mod links;
pub mod memberships;
pub mod merchants;
pub mod payouts;
pub mod products;
pub mod programs;
pub mod sessions;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_secrets;

/// The contract cases. Each takes a fresh, empty store and panics on a broken promise.
#[allow(missing_docs)]
pub mod cases {
    pub use super::api_keys::cases::*;
    pub use super::clicks::cases::*;
    pub use super::conversions::cases::*;
    pub use super::coupon_codes::cases::*;
    pub use super::currencies::cases::*;
    pub use super::holds::cases::*;
    pub use super::influencers::cases::*;
    pub use super::invoices::cases::*;
    pub use super::links::cases::*;
    pub use super::memberships::cases::*;
    pub use super::merchants::cases::*;
    pub use super::payouts::cases::*;
    pub use super::products::cases::*;
    pub use super::programs::cases::*;
    pub use super::sessions::cases::*;
    pub use super::users::cases::*;
    pub use super::webhook_deliveries::cases::*;
    pub use super::webhook_secrets::cases::*;
    use super::*;
    use crate::store::{Entity, RepoError};

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

    pub async fn stores_report_healthy<S: Store>(store: &S) {
        store.check().await.unwrap();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The names of the `pub async fn`s inside `pub mod cases { ... }` of one testkit file.
    fn cases_written(source: &str) -> Vec<String> {
        let Some((_, cases)) = source.split_once("\npub mod cases {") else {
            return Vec::new();
        };
        cases
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("pub async fn "))
            .map(|rest| rest.split(['<', '(']).next().unwrap_or(rest).to_owned())
            .collect()
    }

    #[test]
    fn the_contract_macro_lists_every_case_written() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testkit");
        let mut written = BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                written.extend(cases_written(&std::fs::read_to_string(&path).unwrap()));
            }
        }
        let this = include_str!("mod.rs");
        let list = this
            .split_once(
                "$crate::contract_suite!(@cases [$(#[$attr])*] [$($arg : $ty),*] $store, $body;",
            )
            .and_then(|(_, rest)| rest.split_once(");"))
            .map(|(list, _)| list)
            .expect("the macro's case list");
        let listed: BTreeSet<String> = list
            .split(',')
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        assert!(
            written.len() > 50,
            "found only {} cases: is the parser broken?",
            written.len()
        );
        let unlisted: Vec<_> = written.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "contract cases missing from contract_suite!: {unlisted:?}"
        );
    }
}
