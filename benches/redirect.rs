//! The redirect hot path without IO: cached resolution, building the `Location`, making a
//! click (with its headers, or only their families), its country from a GeoIP database, and
//! pushing it into the buffer.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{criterion_group, criterion_main, Criterion};
use skinstack_benches::DiscardSink;
use skinstack_core::service::links::create_link;
use skinstack_core::testkit::Fixture;
use skinstack_core::tracking::redirect::CacheConfig;
use skinstack_core::tracking::visitor::{UserAgentFacts, Visitor, UA_CACHE_CAPACITY};
use skinstack_core::{
    CachedResolver, Click, ClickId, ClickRecorder, FlushConfig, LinkId, LinkResolver, MemoryStore,
    Slug, SlugPolicy,
};
use skinstack_http::geoip::CountryDatabase;
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

    // `--no-visitor-headers`: the families derived at the redirect (the user agent's from the
    // warm cache, the referring domain parsed) and the headers dropped.
    let referer = Some("https://l.instagram.com/?u=https%3A%2F%2Fskn.st%2FAbC234");
    c.bench_function("click_new_with_referer", |b| {
        b.iter(|| black_box(Click::new(link_id, ip, Some(ua), black_box(referer))))
    });
    c.bench_function("click_new_without_headers", |b| {
        b.iter(|| {
            black_box(Click::new(link_id, ip, Some(ua), black_box(referer)).without_headers())
        })
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

fn visitor(c: &mut Criterion) {
    let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)";
    let referer = "https://l.instagram.com/?u=https%3A%2F%2Fskn.st%2FAbC234";
    c.bench_function("visitor_of_cached", |b| {
        b.iter(|| black_box(Visitor::of(black_box(Some(ua)), None)))
    });

    // A miss as the redirect path pays it (parse, then insert into the full cache): distinct
    // user agents, ten times the cache's capacity of them, cycled, so nearly every call misses.
    let distinct: Vec<String> = (0..UA_CACHE_CAPACITY * 10)
        .map(|n| format!("{ua} build/{n}"))
        .collect();
    let mut next = distinct.iter().cycle();
    c.bench_function("visitor_of_uncached", |b| {
        b.iter(|| {
            let ua = next.next().map(String::as_str);
            black_box(Visitor::of(black_box(ua), None))
        })
    });

    // The parse alone, without the cache's probe and insert.
    c.bench_function("visitor_user_agent_parse", |b| {
        b.iter(|| black_box(UserAgentFacts::parse(black_box(Some(ua)))))
    });

    c.bench_function("visitor_referrer_domain", |b| {
        b.iter(|| {
            black_box(skinstack_core::tracking::referrer_domain(black_box(
                referer,
            )))
        })
    });
}

/// A country database of `networks` random /24s (and as many IPv6 /32s) over 250 countries,
/// written here: lookups walk the same depth of tree as in GeoLite2-Country, whose IPv4
/// networks are mostly /24 and shorter.
fn country_database(networks: u32) -> Vec<u8> {
    use mmdb_writer::{ipnet::IpNet, Value, Writer};
    use rand::{Rng, SeedableRng};
    let codes: Vec<&str> = ["DE", "FR", "GB", "US", "BR", "JP", "IN", "NG", "AU", "CA"]
        .into_iter()
        .cycle()
        .take(250)
        .collect();
    let mut writer = Writer::builder("GeoLite2-Country")
        .description(&[("en", "Bench countries")])
        .build();
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    for n in 0..networks {
        let code = codes[n as usize % codes.len()];
        let value = Value::map([("country", Value::map([("iso_code", Value::from(code))]))]);
        let v4 = std::net::Ipv4Addr::from(rng.random::<u32>() & 0xffff_ff00);
        let v6 = std::net::Ipv6Addr::from(u128::from(rng.random::<u32>() | 0x2000_0000) << 96);
        for network in [IpNet::new(v4.into(), 24), IpNet::new(v6.into(), 32)] {
            writer
                .insert_value(network.expect("a valid prefix"), value.clone())
                .expect("insert");
        }
    }
    writer.to_bytes().expect("written")
}

fn geoip(c: &mut Criterion) {
    let bytes = country_database(20_000);
    let database = CountryDatabase::from_bytes(bytes.clone()).expect("a valid database");
    // Addresses in the database's first networks.
    let known: Vec<std::net::IpAddr> = {
        use rand::{Rng, SeedableRng};
        // The writer's draws again: each network's IPv4 /24, then its IPv6 /32.
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        (0..64)
            .map(|_| {
                let v4 = rng.random::<u32>() & 0xffff_ff00;
                let _v6 = rng.random::<u32>();
                std::net::Ipv4Addr::from(v4 | 7).into()
            })
            .collect()
    };
    assert!(known.iter().all(|ip| database.country(*ip).is_some()));
    let mut next = known.iter().cycle();
    c.bench_function("geoip_country_hit_v4", |b| {
        b.iter(|| black_box(database.country(black_box(*next.next().expect("cycles")))))
    });
    let v6: std::net::IpAddr = "2a02:8070::1".parse().expect("an address");
    c.bench_function("geoip_country_v6", |b| {
        b.iter(|| black_box(database.country(black_box(v6))))
    });
    let unknown: std::net::IpAddr = "0.0.0.1".parse().expect("an address");
    c.bench_function("geoip_country_miss", |b| {
        b.iter(|| black_box(database.country(black_box(unknown))))
    });

    // What a server pays once at start: read and check every node and record.
    let mut group = c.benchmark_group("geoip_open");
    group.sample_size(10);
    group.bench_function("open_and_verify_40k_networks", |b| {
        b.iter(|| black_box(CountryDatabase::from_bytes(bytes.clone())))
    });
    group.finish();
}

criterion_group!(benches, redirect_path, visitor, geoip);
criterion_main!(benches);
