//! The redirect hot path without IO: cached resolution, building the `Location`, making a
//! click, and pushing it into the buffer.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{criterion_group, criterion_main, Criterion};
use skinstack_benches::DiscardSink;
use skinstack_core::service::links::create_link;
use skinstack_core::testkit::Fixture;
use skinstack_core::tracking::redirect::CacheConfig;
use skinstack_core::{
    CachedResolver, Click, ClickId, ClickRecorder, FlushConfig, LinkId, LinkResolver, MemoryStore,
    Slug, SlugPolicy,
};
use std::hint::black_box;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn redirect_path(c: &mut Criterion) {
    let rt = runtime();
    let (cache, slug) = rt.block_on(async {
        let store = MemoryStore::new();
        let cast = Fixture::create(&store).await;
        let link = create_link(
            &store,
            &SlugPolicy::default(),
            chrono::Utc::now(),
            cast.influencer.id,
            cast.link_request(),
        )
        .await
        .expect("link");
        let cache = CachedResolver::new(store, CacheConfig::default());
        cache
            .resolve(&link.slug)
            .await
            .expect("warm")
            .expect("known");
        (cache, link.slug)
    });

    c.bench_function("resolve_cache_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cache.resolve(black_box(&slug)).await) })
    });

    let snapshot = rt
        .block_on(cache.resolve(&slug))
        .expect("resolves")
        .expect("known");
    c.bench_function("location_build", |b| {
        b.iter(|| black_box(snapshot.location(ClickId::new())))
    });

    c.bench_function("slug_parse", |b| {
        b.iter(|| black_box(Slug::parse(black_box("AbC234"))))
    });

    let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    let ip = "203.0.113.77".parse().ok();
    let link_id = LinkId::new();
    c.bench_function("click_new", |b| {
        b.iter(|| black_box(Click::new(link_id, ip, Some(ua), None)))
    });

    let (recorder, _flusher) =
        rt.block_on(async { ClickRecorder::start(DiscardSink, FlushConfig::default()) });
    c.bench_function("click_enqueue", |b| {
        b.to_async(&rt).iter(|| async {
            recorder
                .record(Click::new(link_id, ip, Some(ua), None))
                .await
        })
    });
}

criterion_group!(benches, redirect_path);
criterion_main!(benches);
