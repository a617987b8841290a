//! What only the PostgreSQL store has to prove: credentials encrypted at rest and bound to
//! their row, start-up refusal without the key, rows it did not write, and slug uniqueness
//! under many concurrent writers.

// Helpers here are test code too: a failed query must fail the test, so they unwrap.
#![allow(clippy::unwrap_used)]

use skinstack_core::service::links::create_link;
use skinstack_core::store::{InfluencerRepo, LinkRepo, MerchantRepo, UserRepo};
use skinstack_core::testkit::{new_merchant, new_user, Fixture};
use skinstack_core::{RepoError, Role, SlugPolicy};
use skinstack_pg::{Cipher, PgStore, SecretError, StartupError};
use sqlx::PgPool;
use std::collections::HashSet;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const OTHER_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn store(pool: &PgPool, key: Option<&str>) -> PgStore {
    PgStore::new(
        pool.clone(),
        key.map(|k| Cipher::from_key_base64(k).unwrap()),
    )
}

/// The `SecretError` inside a `RepoError::Backend`, or a panic saying what came instead.
fn secret_error<T: std::fmt::Debug>(result: Result<T, RepoError>) -> SecretError {
    match result {
        Err(RepoError::Backend(source)) => match source.downcast::<SecretError>() {
            Ok(err) => *err,
            Err(other) => panic!("expected a SecretError, got {other:?}"),
        },
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn credentials_are_stored_encrypted_never_in_plaintext(pool: PgPool) {
    let store = store(&pool, Some(KEY));
    let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
    let (api_key, secret_key): (String, String) =
        sqlx::query_as("SELECT shopify_api_key, refersion_secret_key FROM merchants WHERE id = $1")
            .bind(merchant.id.as_uuid())
            .fetch_one(&pool)
            .await
            .unwrap();
    for (stored, plaintext) in [
        (&api_key, "shpat_fixture_api_key_123"),
        (&secret_key, "rfs_fixture_secret_789"),
    ] {
        assert!(stored.starts_with("v1:"), "{stored}");
        assert!(!stored.contains(plaintext) && !stored.contains("fixture"));
    }
    let everything: String = sqlx::query_scalar("SELECT m::text FROM merchants m")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!everything.contains("shpat_") && !everything.contains("rfs_"));
    // ...while the store gives the plaintext back.
    let read = store.merchant_by_id(merchant.id).await.unwrap();
    assert_eq!(
        read.shopify_api_key.unwrap().expose(),
        "shpat_fixture_api_key_123"
    );
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_credential_moved_to_another_merchant_does_not_decrypt(pool: PgPool) {
    let store = store(&pool, Some(KEY));
    let victim = store.create_merchant(new_merchant(None)).await.unwrap();
    let attacker = store.create_merchant(new_merchant(None)).await.unwrap();
    sqlx::query(
        "UPDATE merchants SET shopify_api_key = (SELECT shopify_api_key FROM merchants WHERE id = $1) \
         WHERE id = $2",
    )
    .bind(victim.id.as_uuid())
    .bind(attacker.id.as_uuid())
    .execute(&pool)
    .await
    .unwrap();
    match secret_error(store.merchant_by_id(attacker.id).await) {
        SecretError::Undecryptable { column, merchant } => {
            assert_eq!((column, merchant), ("shopify_api_key", attacker.id));
        }
        other => panic!("expected Undecryptable, got {other:?}"),
    }
    // Moving it to the other column of the same row fails the same way.
    sqlx::query("UPDATE merchants SET refersion_secret_key = shopify_api_key WHERE id = $1")
        .bind(victim.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        secret_error(store.merchant_by_id(victim.id).await),
        SecretError::Undecryptable {
            column: "refersion_secret_key",
            ..
        }
    ));
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn without_a_key_credentials_are_refused_not_written(pool: PgPool) {
    let keyless = store(&pool, None);
    assert!(matches!(
        secret_error(keyless.create_merchant(new_merchant(None)).await),
        SecretError::NoKey
    ));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM merchants")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Merchants without credentials need no key.
    let plain = keyless
        .create_merchant(skinstack_core::NewMerchant {
            shopify_api_key: None,
            refersion_secret_key: None,
            ..new_merchant(None)
        })
        .await
        .unwrap();
    assert_eq!(keyless.merchant_by_id(plain.id).await.unwrap(), plain);
    // A merchant with credentials cannot be read without the key either.
    let keyed = store(&pool, Some(KEY))
        .create_merchant(new_merchant(None))
        .await
        .unwrap();
    assert!(matches!(
        secret_error(keyless.merchant_by_id(keyed.id).await),
        SecretError::NoKey
    ));
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn start_up_is_refused_when_stored_credentials_cannot_be_read(pool: PgPool) {
    assert!(
        store(&pool, None).check_secrets().await.is_ok(),
        "no credentials stored yet: no key needed"
    );
    store(&pool, Some(KEY))
        .create_merchant(new_merchant(None))
        .await
        .unwrap();
    assert!(matches!(
        store(&pool, None).check_secrets().await,
        Err(StartupError::SecretsWithoutKey)
    ));
    assert!(matches!(
        store(&pool, Some(OTHER_KEY)).check_secrets().await,
        Err(StartupError::WrongKey(SecretError::Undecryptable { .. }))
    ));
    store(&pool, Some(KEY)).check_secrets().await.unwrap();

    let options = pool.connect_options();
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap()
    );
    assert!(matches!(
        PgStore::connect_checked(&url, None).await,
        Err(StartupError::SecretsWithoutKey)
    ));
    let key = Cipher::from_key_base64(KEY).unwrap();
    PgStore::connect_checked(&url, Some(key)).await.unwrap();
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn debug_output_shows_no_credentials_or_key(pool: PgPool) {
    let store = store(&pool, Some(KEY));
    let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
    let debug = format!("{merchant:?} {store:?}");
    assert!(
        !debug.contains("shpat_") && !debug.contains("rfs_"),
        "{debug}"
    );
    assert!(
        !debug.contains(KEY) && !debug.contains("AAECAwQF"),
        "{debug}"
    );
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn rows_the_library_did_not_write_are_backend_errors_naming_the_field(pool: PgPool) {
    let store = store(&pool, Some(KEY));
    let user = store.create_user(new_user(Role::Admin)).await.unwrap();
    sqlx::query("UPDATE users SET email = 'not an email' WHERE id = $1")
        .bind(user.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    match store.user_by_id(user.id).await {
        Err(RepoError::Backend(source)) => {
            let message = source.to_string();
            assert!(
                message.contains("users row") && message.contains(&user.id.to_string()),
                "{message}"
            );
            assert!(message.contains("email must be"), "{message}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

// follower_counts_beyond_the_integer_column_are_invalid is a contract case now
// (skinstack-core/src/testkit/influencers.rs): both stores run it.

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn null_totals_read_as_their_zero_default(pool: PgPool) {
    let store = store(&pool, Some(KEY));
    let f = Fixture::create(&store).await;
    sqlx::query("UPDATE influencers SET total_earned = NULL, total_followers = NULL WHERE id = $1")
        .bind(f.influencer.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    let read = store.influencer_by_id(f.influencer.id).await.unwrap();
    assert_eq!(read.total_followers.get(), 0);
    assert!(read.total_earned.is_zero());
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn many_concurrent_link_creations_in_a_tiny_slug_space_all_get_distinct_slugs(pool: PgPool) {
    let store = store(&pool, Some(KEY));
    let f = Fixture::create(&store).await;
    // Two letters from length 3: eight slugs at the first length, so most tasks collide and
    // must grow their slug; only the unique index keeps them apart.
    let policy = SlugPolicy::new("ab", 3, 4, 8).unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, policy) = (store.clone(), policy.clone());
            let (influencer, request) = (f.influencer.id, f.link_request());
            tokio::spawn(async move {
                create_link(&store, &policy, chrono::Utc::now(), influencer, request).await
            })
        })
        .collect();
    let mut slugs = HashSet::new();
    for task in tasks {
        let link = task.await.unwrap().expect("every creation succeeds");
        assert!(
            slugs.insert(link.slug.clone()),
            "{} handed out twice",
            link.slug
        );
    }
    assert_eq!(slugs.len(), 64);
    assert!(slugs.iter().any(|s| s.as_str().len() > 3), "slugs grew");
    let stored = store.links_by_influencer(f.influencer.id).await.unwrap();
    let stored: HashSet<_> = stored.into_iter().map(|l| l.slug).collect();
    assert_eq!(stored, slugs);
}

#[sqlx::test(migrations = false)]
async fn the_store_is_ready_only_with_every_migration_applied(pool: sqlx::PgPool) {
    use skinstack_core::Health;
    let store = skinstack_pg::PgStore::new(pool.clone(), None);
    assert!(store.check().await.is_err(), "no schema at all");
    skinstack_pg::MIGRATOR.run(&pool).await.unwrap();
    store.check().await.unwrap();
    skinstack_pg::MIGRATOR.undo(&pool, 8).await.unwrap();
    let err = store.check().await.unwrap_err();
    let latest = skinstack_pg::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    assert!(
        err.to_string().contains(&format!("expects {latest}")),
        "{err}"
    );
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn the_previous_webhook_secret_is_stored_encrypted_and_checked_at_start_up(pool: PgPool) {
    use skinstack_core::store::WebhookSecrets;
    use skinstack_core::{RotatedSecret, Secret};
    let pg = store(&pool, Some(KEY));
    let merchant = pg.create_merchant(new_merchant(None)).await.unwrap();
    let rotated_at = chrono::DateTime::from_timestamp(1_772_366_400, 0).unwrap();
    pg.replace_shopify_webhook_secret(
        merchant.id,
        Secret::parse("shpss_current_marker").unwrap(),
        Some(RotatedSecret {
            secret: Secret::parse("shpss_previous_marker").unwrap(),
            rotated_at,
        }),
    )
    .await
    .unwrap();
    let stored: String =
        sqlx::query_scalar("SELECT shopify_webhook_previous_secret FROM merchants WHERE id = $1")
            .bind(merchant.id.as_uuid())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
    let everything: String = sqlx::query_scalar("SELECT m::text FROM merchants m")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!everything.contains("marker"), "{everything}");
    let previous = pg
        .previous_shopify_webhook_secret(merchant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (previous.secret.expose(), previous.rotated_at),
        ("shpss_previous_marker", rotated_at)
    );
    // The previous secret is bound to its column: copied into the current one it does not
    // decrypt; and a store without the key, or with another, refuses to start over it.
    sqlx::query("UPDATE merchants SET shopify_webhook_secret = NULL WHERE id = $1")
        .bind(merchant.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE merchants SET shopify_api_key = NULL, refersion_secret_key = NULL")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        store(&pool, None).check_secrets().await,
        Err(StartupError::SecretsWithoutKey)
    ));
    assert!(matches!(
        store(&pool, Some(OTHER_KEY)).check_secrets().await,
        Err(StartupError::WrongKey(_))
    ));
    pg.check_secrets().await.unwrap();
    sqlx::query(
        "UPDATE merchants SET shopify_webhook_secret = shopify_webhook_previous_secret WHERE id = $1",
    )
    .bind(merchant.id.as_uuid())
    .execute(&pool)
    .await
    .unwrap();
    assert!(matches!(
        secret_error(pg.shopify_webhook_secret(merchant.id).await),
        SecretError::Undecryptable { .. }
    ));
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_clicks_visitor_families_are_stored_as_its_code_and_older_clicks_derive_theirs(
    pool: PgPool,
) {
    use skinstack_core::store::{ClickSink, ConversionRepo};
    use skinstack_core::testkit::clicks::cases::INSTAGRAM_IPHONE;
    use skinstack_core::testkit::new_link;
    use skinstack_core::Click;
    let store = store(&pool, Some(KEY));
    let f = Fixture::create(&store).await;
    let link = store.insert_link(new_link(&f, "visitor")).await.unwrap();
    let click = Click::new(
        link.id,
        None,
        Some(INSTAGRAM_IPHONE),
        Some("https://l.instagram.com/"),
    )
    .in_country(Some(skinstack_core::Country::parse("br").unwrap()));
    store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    type Columns = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let columns: Columns = sqlx::query_as(
        "SELECT f.device, f.os, f.browser, f.platform, c.referrer_domain, c.country \
         FROM clicks c JOIN click_families f ON f.id = c.id WHERE c.id = $1",
    )
    .bind(click.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        columns,
        (
            "mobile".to_owned(),
            "ios".to_owned(),
            "other".to_owned(),
            Some("instagram".to_owned()),
            Some("instagram.com".to_owned()),
            "BR".to_owned()
        )
    );
    let stored = store.click_facts(click.id).await.unwrap().unwrap().visit;
    // A click stored before migration 0034 has no families: its headers give them.
    sqlx::query("UPDATE clicks SET visit = NULL, referrer_domain = NULL WHERE id = $1")
        .bind(click.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    let derived = store.click_facts(click.id).await.unwrap().unwrap().visit;
    assert_eq!(derived, stored);
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn the_clicks_checks_take_every_code_and_country_core_has_and_no_other(pool: PgPool) {
    use skinstack_core::store::ClickSink;
    use skinstack_core::testkit::new_link;
    use skinstack_core::tracking::breakdown::VisitKey;
    use skinstack_core::{Click, ClickSource};
    let store = store(&pool, Some(KEY));
    let f = Fixture::create(&store).await;
    let link = store.insert_link(new_link(&f, "names")).await.unwrap();
    let click = Click::new(link.id, None, None, None);
    store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    for code in ["DE", "de", "DEU"] {
        let result = sqlx::query("UPDATE clicks SET country = $1 WHERE id = $2")
            .bind(code)
            .bind(click.id.as_uuid())
            .execute(&pool)
            .await;
        assert_eq!(result.is_ok(), code == "DE", "country = {code}: {result:?}");
    }
    // The checks bound the code to its fields and tie its source bits to `source`: every
    // link click's code core has passes, a QR scan's or one beyond the fields does not. (A
    // code whose bits name no value is the library's to refuse on read.)
    let link_code = VisitKey::default().code();
    let qr_code = VisitKey {
        source: ClickSource::Qr,
        ..VisitKey::default()
    }
    .code();
    let every: Vec<i32> = (0..1 << 18)
        .filter(|code| VisitKey::from_code(*code).is_some())
        .collect();
    let mut codes: Vec<i32> = every.iter().copied().step_by(17).collect();
    assert!(codes.len() > 100, "{} codes", codes.len());
    codes.extend([link_code, qr_code, 2, 3, -1, 1 << 18]);
    for code in codes {
        let result = sqlx::query("UPDATE clicks SET visit = $1 WHERE id = $2")
            .bind(code)
            .bind(click.id.as_uuid())
            .execute(&pool)
            .await;
        let link_click = VisitKey::from_code(code).is_some_and(|k| k.source == ClickSource::Link);
        assert_eq!(result.is_ok(), link_click, "visit = {code}: {result:?}");
    }
}
