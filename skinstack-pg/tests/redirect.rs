//! The redirect path on PostgreSQL: resolution, batched click writes, and cache invalidation
//! across processes (two pools stand in for two server processes).

#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use skinstack_core::store::ClickSink;
use skinstack_core::store::{LinkRepo, MerchantRepo, ProgramRepo};
use skinstack_core::testkit::{new_link, verified_now, Fixture};
use skinstack_core::tracking::redirect::{CacheConfig, LinkStatus};
use skinstack_core::{
    CachedResolver, Click, LinkPatch, LinkResolver, MerchantPatch, SiteUrl, Slug, TrackingLink,
    Verification,
};
use skinstack_pg::{ChangeListener, Cipher, PgStore};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cipher() -> Cipher {
    Cipher::from_key_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

async fn link(store: &PgStore, slug: &str) -> (Fixture, TrackingLink) {
    let cast = Fixture::create(store).await;
    let link = store.insert_link(new_link(&cast, slug)).await.unwrap();
    (cast, link)
}

fn human(link: &TrackingLink) -> Click {
    Click::new(
        link.id,
        Some("203.0.113.9".parse().unwrap()),
        Some("Mozilla/5.0 (iPhone)"),
        Some("https://instagram.com/"),
    )
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn slugs_resolve_to_snapshots_that_know_the_program_and_merchant_state(pool: PgPool) {
    let store = PgStore::new(pool, Some(cipher()));
    let (cast, link) = link(&store, "resolve-me").await;
    let snapshot = store
        .resolve(&Slug::parse("RESOLVE-ME").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.link_id, link.id);
    assert_eq!(snapshot.merchant_id, cast.merchant.id);
    assert_eq!(snapshot.status_at(chrono::Utc::now()), LinkStatus::Live);
    assert!(store
        .resolve(&Slug::parse("nobody").unwrap())
        .await
        .unwrap()
        .is_none());

    store
        .set_program_active(cast.program.id, false)
        .await
        .unwrap();
    let snapshot = store.resolve(&link.slug).await.unwrap().unwrap();
    assert_eq!(snapshot.status_at(chrono::Utc::now()), LinkStatus::Gone);
    store
        .set_program_active(cast.program.id, true)
        .await
        .unwrap();
    store
        .set_merchant_active(cast.merchant.id, false)
        .await
        .unwrap();
    let snapshot = store.resolve(&link.slug).await.unwrap().unwrap();
    assert_eq!(snapshot.status_at(chrono::Utc::now()), LinkStatus::Gone);
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_batch_is_stored_and_counted_once_even_when_retried(pool: PgPool) {
    let store = PgStore::new(pool.clone(), Some(cipher()));
    let (_, a) = link(&store, "link-a").await;
    let (_, b) = link(&store, "link-b").await;
    let mut batch: Vec<Click> = (0..300)
        .map(|i| human(if i % 3 == 0 { &b } else { &a }))
        .collect();
    batch.push(Click::new(a.id, None, Some("Twitterbot/1.0"), None));
    store.record_clicks(&batch).await.unwrap();
    store.record_clicks(&batch).await.unwrap(); // the flusher's retry after an ambiguous failure
    assert_eq!(count(&pool, "SELECT count(*) FROM clicks").await, 301);
    assert_eq!(
        store.link_by_id(a.id).await.unwrap().total_clicks,
        200,
        "the bot is stored, not counted"
    );
    assert_eq!(store.link_by_id(b.id).await.unwrap().total_clicks, 100);
    let stored: (String, String, bool, String) = sqlx::query_as(
        "SELECT host(ip_prefix), user_agent, is_bot, source FROM clicks WHERE id = $1",
    )
    .bind(batch[0].id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        stored,
        (
            "203.0.113.0".to_owned(),
            "Mozilla/5.0 (iPhone)".to_owned(),
            false,
            "link".to_owned()
        )
    );
}

/// A second "process": its own pool on the same database, its own cache and listener.
async fn process(pool: &PgPool) -> (PgStore, Arc<CachedResolver<PgStore>>, ChangeListener) {
    let options = pool.connect_options().as_ref().clone();
    let own_pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    let store = PgStore::new(own_pool.clone(), Some(cipher()));
    let cache = Arc::new(CachedResolver::new(store.clone(), CacheConfig::default()));
    let listener = ChangeListener::spawn(own_pool, Arc::clone(&cache));
    tokio::time::timeout(Duration::from_secs(5), listener.connected())
        .await
        .unwrap();
    (store, cache, listener)
}

/// Polls `cache` until `done` holds for `slug`, failing after one second.
async fn within_one_second(
    cache: &CachedResolver<PgStore>,
    slug: &Slug,
    what: &str,
    done: impl Fn(Option<&skinstack_core::LinkSnapshot>) -> bool,
) {
    let start = Instant::now();
    loop {
        let resolved = cache.resolve(slug).await.unwrap();
        if done(resolved.as_deref()) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what} not seen within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn changes_through_one_process_reach_the_others_cache_within_a_second(pool: PgPool) {
    let (store_a, _cache_a, _listener_a) = process(&pool).await;
    let (_store_b, cache_b, _listener_b) = process(&pool).await;

    // Created through A while B remembers the slug as unknown.
    let fresh = Slug::parse("fresh-link").unwrap();
    assert!(cache_b.resolve(&fresh).await.unwrap().is_none());
    let (cast, created) = link(&store_a, "fresh-link").await;
    within_one_second(&cache_b, &fresh, "creation", |s| s.is_some()).await;

    // Deactivated through A while B has it cached.
    assert!(cache_b.resolve(&fresh).await.unwrap().is_some());
    store_a
        .update_link(
            created.id,
            LinkPatch {
                is_active: Some(false),
                ..LinkPatch::default()
            },
        )
        .await
        .unwrap();
    within_one_second(&cache_b, &fresh, "deactivation", |s| {
        s.is_some_and(|s| s.status_at(chrono::Utc::now()) == LinkStatus::Gone)
    })
    .await;

    // Reactivated, then its program turned off.
    store_a
        .update_link(
            created.id,
            LinkPatch {
                is_active: Some(true),
                ..LinkPatch::default()
            },
        )
        .await
        .unwrap();
    within_one_second(&cache_b, &fresh, "reactivation", |s| {
        s.is_some_and(|s| s.status_at(chrono::Utc::now()) == LinkStatus::Live)
    })
    .await;
    store_a
        .set_program_active(cast.program.id, false)
        .await
        .unwrap();
    within_one_second(&cache_b, &fresh, "program deactivation", |s| {
        s.is_some_and(|s| s.status_at(chrono::Utc::now()) == LinkStatus::Gone)
    })
    .await;

    // Deleted.
    store_a.delete_link(created.id).await.unwrap();
    within_one_second(&cache_b, &fresh, "deletion", |s| s.is_none()).await;
}

/// Un-verifying a merchant, verifying it again, and a new website (which un-verifies it), each
/// through one process, reach another process's cached snapshot through the change feed.
#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn verification_changes_reach_the_other_processes_cache_within_a_second(pool: PgPool) {
    let (store_a, _cache_a, _listener_a) = process(&pool).await;
    let (_store_b, cache_b, _listener_b) = process(&pool).await;
    let (cast, created) = link(&store_a, "verified-link").await;
    let slug = created.slug.clone();
    let status_is = |status| {
        move |s: Option<&skinstack_core::LinkSnapshot>| {
            s.is_some_and(|s| s.status_at(chrono::Utc::now()) == status)
        }
    };
    within_one_second(&cache_b, &slug, "creation", status_is(LinkStatus::Live)).await;

    store_a
        .set_merchant_verification(cast.merchant.id, Verification::Unverified)
        .await
        .unwrap();
    within_one_second(
        &cache_b,
        &slug,
        "un-verification",
        status_is(LinkStatus::Unverified),
    )
    .await;

    store_a
        .set_merchant_verification(cast.merchant.id, verified_now())
        .await
        .unwrap();
    within_one_second(&cache_b, &slug, "verification", status_is(LinkStatus::Live)).await;

    let moved = MerchantPatch {
        website_url: Some(SiteUrl::parse("https://evil.example").unwrap()),
        ..MerchantPatch::default()
    };
    store_a
        .update_merchant(cast.merchant.id, moved)
        .await
        .unwrap();
    within_one_second(
        &cache_b,
        &slug,
        "a new website",
        status_is(LinkStatus::Unverified),
    )
    .await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn counter_updates_do_not_flush_caches(pool: PgPool) {
    let (store, cache, _listener) = process(&pool).await;
    let (_, l) = link(&store, "busy-link").await;
    let slug = l.slug.clone();
    within_one_second(&cache, &slug, "creation", |s| s.is_some()).await;
    // Let the creation's own notification arrive before taking the snapshot to compare.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cached = cache.resolve(&slug).await.unwrap().unwrap();
    store.record_clicks(&[human(&l)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = cache.resolve(&slug).await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&cached, &after),
        "a click batch must not invalidate the link's snapshot"
    );
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn cached_links_keep_resolving_when_the_database_is_gone(pool: PgPool) {
    let options = pool.connect_options().as_ref().clone();
    let own_pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_with(options)
        .await
        .unwrap();
    let store = PgStore::new(own_pool.clone(), Some(cipher()));
    let (_, l) = link(&store, "sturdy").await;
    let cache = CachedResolver::new(store, CacheConfig::default());
    assert!(cache.resolve(&l.slug).await.unwrap().is_some());
    own_pool.close().await;
    for _ in 0..100 {
        assert!(cache.resolve(&l.slug).await.unwrap().is_some());
    }
    assert!(
        cache
            .resolve(&Slug::parse("uncached").unwrap())
            .await
            .is_err(),
        "a miss needs the database"
    );
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_warmed_cache_holds_the_most_clicked_links_first(pool: PgPool) {
    let store = PgStore::new(pool.clone(), Some(cipher()));
    let (_, cold) = link(&store, "cold-link").await;
    let (_, hot) = link(&store, "hot-link").await;
    store
        .record_clicks(&[human(&hot), human(&hot)])
        .await
        .unwrap();
    // The warm-up orders by the seed's column, folded before it (as a server's start does).
    store.fold_click_totals(None).await.unwrap();
    let hottest = store.hottest(1).await.unwrap();
    assert_eq!(hottest.len(), 1);
    assert_eq!(
        (hottest[0].0.as_str(), hottest[0].1.link_id),
        ("hot-link", hot.id)
    );
    let cache = CachedResolver::new(store, CacheConfig::default());
    assert_eq!(cache.warm().await.unwrap(), 2);
    pool.close().await;
    assert!(
        cache.resolve(&cold.slug).await.unwrap().is_some(),
        "served from the warmed cache"
    );
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn preview_cards_come_from_the_product_or_the_merchant(pool: PgPool) {
    let store = PgStore::new(pool, Some(cipher()));
    let (cast, with_product) = link(&store, "with-product").await;
    let card = store.preview(with_product.id).await.unwrap().unwrap();
    assert_eq!(card.title, cast.product.name.as_str());
    assert_eq!(
        card.price,
        Some((cast.product.price, skinstack_core::Currency::USD))
    );
    assert_eq!(card.site_name, "Glow Co");
    assert_eq!(card.canonical, with_product.destination_url.as_str());
    let bare = store
        .insert_link(skinstack_core::NewLink {
            product_id: None,
            ..new_link(&cast, "no-product")
        })
        .await
        .unwrap();
    let card = store.preview(bare.id).await.unwrap().unwrap();
    assert_eq!(
        (card.title.as_str(), card.price, card.image),
        ("Glow Co", None, None)
    );
    assert!(store
        .preview(skinstack_core::LinkId::new())
        .await
        .unwrap()
        .is_none());
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_cached_preview_card_is_refreshed_by_the_change_feed_and_outlives_the_database(
    pool: PgPool,
) {
    let (store_a, _cache_a, _listener_a) = process(&pool).await;
    let (cast, created) = link(&store_a, "card-link").await;
    // Process B: its store on a pool of its own (closed below), its listener on another.
    let options = pool.connect_options().as_ref().clone();
    let pool_b = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .unwrap();
    let listen_b = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let cache_b = Arc::new(CachedResolver::new(
        PgStore::new(pool_b.clone(), None),
        CacheConfig::default(),
    ));
    let listener_b = ChangeListener::spawn(listen_b, Arc::clone(&cache_b));
    tokio::time::timeout(Duration::from_secs(5), listener_b.connected())
        .await
        .unwrap();
    let snapshot = cache_b.resolve(&created.slug).await.unwrap().unwrap();
    let card = cache_b.preview(snapshot.link_id).await.unwrap().unwrap();
    assert_eq!(card.title, cast.product.name.as_str());

    // The product is renamed and the link edited through A: B's card follows within a second.
    let renamed = skinstack_core::ProductPatch {
        name: Some(skinstack_core::Name::parse("Vitamin C Serum, 50 ml").unwrap()),
        ..skinstack_core::ProductPatch::default()
    };
    skinstack_core::store::ProductRepo::update_product(&store_a, cast.product.id, renamed)
        .await
        .unwrap();
    let patch = LinkPatch {
        utm: Some(skinstack_core::Utm::default()),
        ..LinkPatch::default()
    };
    store_a.update_link(created.id, patch).await.unwrap();
    // The feed names the link's slug: B forgets the snapshot, and the card with it.
    let start = Instant::now();
    while cache_b.cached(&created.slug).is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the change did not reach B within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let card = cache_b.preview(snapshot.link_id).await.unwrap().unwrap();
    assert_eq!(
        card.title, "Vitamin C Serum, 50 ml",
        "read again after the change"
    );

    // Cached again: a fetch with B's pool closed is answered from memory.
    pool_b.close().await;
    let card = cache_b.preview(snapshot.link_id).await.unwrap().unwrap();
    assert_eq!(card.title, "Vitamin C Serum, 50 ml");
    listener_b.stop();
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn a_ban_through_one_process_reaches_the_others_cache_within_a_second(pool: PgPool) {
    use skinstack_core::store::MembershipRepo;
    use skinstack_core::MembershipState;

    let (store_a, _cache_a, _listener_a) = process(&pool).await;
    let (_store_b, cache_b, _listener_b) = process(&pool).await;
    let (cast, created) = link(&store_a, "member-link").await;
    within_one_second(&cache_b, &created.slug, "the live link", |s| {
        s.is_some_and(|s| s.status_at(chrono::Utc::now()) == LinkStatus::Live)
    })
    .await;
    let member = store_a
        .membership_of(cast.program.id, cast.influencer.id)
        .await
        .unwrap()
        .unwrap();
    store_a
        .set_membership_state(
            member.id,
            MembershipState::Approved,
            MembershipState::Banned,
        )
        .await
        .unwrap()
        .unwrap();
    within_one_second(&cache_b, &created.slug, "the ban", |s| {
        s.is_some_and(|s| s.status_at(chrono::Utc::now()) == LinkStatus::Gone)
    })
    .await;
}
