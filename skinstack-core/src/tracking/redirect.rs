//! Resolving a slug to where the shopper goes: ready-made link snapshots, the resolver trait
//! stores implement, and a caching decorator for the hot path.

use crate::domain::ClickId;
use crate::domain::{Currency, Slug};
use crate::domain::{
    InfluencerId, LinkId, MembershipState, MerchantId, Price, ProductId, ProgramId, Utm, WebUrl,
};
use crate::store::{LinkResolver, RepoResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::form_urlencoded;

/// The query parameter carrying the click id to the shop.
pub const CLICK_ID_PARAM: &str = "ssclid";

/// What a redirect needs to know about a link, with its `Location` prepared: resolving a
/// cached snapshot costs one string concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSnapshot {
    /// The link.
    pub link_id: LinkId,
    /// Its influencer.
    pub influencer_id: InfluencerId,
    /// Its program.
    pub program_id: ProgramId,
    /// The program's merchant.
    pub merchant_id: MerchantId,
    /// Its product.
    pub product_id: Option<ProductId>,
    live: bool,
    merchant_verified: bool,
    expires_at: Option<DateTime<Utc>>,
    /// Destination with the UTM parameters merged, up to where `ssclid=` goes.
    location_head: Box<str>,
    /// `#fragment` of the destination, or empty.
    location_tail: Box<str>,
}

/// What a stored link looks like to the resolver: the link and the state of its program and
/// merchant, as one query (or one lock) reads them.
#[derive(Debug, Clone)]
pub struct SnapshotParts<'a> {
    /// The link.
    pub link_id: LinkId,
    /// Its influencer.
    pub influencer_id: InfluencerId,
    /// Its program.
    pub program_id: ProgramId,
    /// The program's merchant.
    pub merchant_id: MerchantId,
    /// Its product.
    pub product_id: Option<ProductId>,
    /// Where it leads.
    pub destination: &'a WebUrl,
    /// Its UTM parameters.
    pub utm: &'a Utm,
    /// The link is active.
    pub link_active: bool,
    /// Its program is active.
    pub program_active: bool,
    /// Its merchant is active.
    pub merchant_active: bool,
    /// The state of the influencer's membership of the program (`None`: none).
    pub membership: Option<MembershipState>,
    /// Its merchant is verified ([`crate::domain::Verification`]).
    pub merchant_verified: bool,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether a resolved link redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// It redirects.
    Live,
    /// It existed but no longer redirects: deactivated (link, program or merchant), expired,
    /// or its influencer banned from the program.
    Gone,
    /// It would redirect, but its merchant is not verified (yet, or again since its website
    /// changed): answered like [`LinkStatus::Gone`], with its own message, and never counted.
    Unverified,
}

impl LinkSnapshot {
    /// Prepares the snapshot: merges the UTM parameters into the destination's query. Existing
    /// parameters are kept byte for byte, except those the link sets (`utm_*` it has a value
    /// for) and any stale `ssclid`, which are replaced; the fragment stays at the end.
    pub fn new(parts: SnapshotParts<'_>) -> Self {
        let url = parts.destination.as_url();
        let utm = [
            ("utm_source", parts.utm.source.as_ref()),
            ("utm_medium", parts.utm.medium.as_ref()),
            ("utm_campaign", parts.utm.campaign.as_ref()),
        ];
        let replaced = |key: &str| {
            key == CLICK_ID_PARAM
                || utm
                    .iter()
                    .any(|(name, value)| value.is_some() && *name == key)
        };
        let mut query: Vec<String> = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| {
                let key = form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(k, _)| k);
                !key.is_some_and(|k| replaced(&k))
            })
            .map(str::to_owned)
            .collect();
        let mut added = form_urlencoded::Serializer::new(String::new());
        for (name, value) in utm {
            if let Some(value) = value {
                added.append_pair(name, value.as_str());
            }
        }
        let added = added.finish();
        if !added.is_empty() {
            query.push(added);
        }
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        let mut head = String::from(base.as_str());
        head.push('?');
        for pair in &query {
            head.push_str(pair);
            head.push('&');
        }
        head.push_str(CLICK_ID_PARAM);
        head.push('=');
        let tail = url.fragment().map(|f| format!("#{f}")).unwrap_or_default();
        LinkSnapshot {
            link_id: parts.link_id,
            influencer_id: parts.influencer_id,
            program_id: parts.program_id,
            merchant_id: parts.merchant_id,
            product_id: parts.product_id,
            live: parts.link_active
                && crate::domain::is_open(parts.merchant_active, Some(parts.program_active))
                && crate::domain::link_redirects(parts.membership),
            merchant_verified: parts.merchant_verified,
            expires_at: parts.expires_at,
            location_head: head.into_boxed_str(),
            location_tail: tail.into_boxed_str(),
        }
    }

    /// Whether the link redirects at `now`. A link that is off or expired is `Gone` whatever
    /// its merchant's verification; one that is on is `Unverified` until its merchant is.
    pub fn status_at(&self, now: DateTime<Utc>) -> LinkStatus {
        if !self.live || self.expires_at.is_some_and(|t| now >= t) {
            LinkStatus::Gone
        } else if !self.merchant_verified {
            LinkStatus::Unverified
        } else {
            LinkStatus::Live
        }
    }

    /// The `Location` for a click: the destination with UTM parameters and `ssclid=<click>`.
    pub fn location(&self, click: ClickId) -> String {
        use std::fmt::Write;
        let mut location =
            String::with_capacity(self.location_head.len() + 32 + self.location_tail.len());
        location.push_str(&self.location_head);
        let _ = write!(location, "{click}"); // writing to a String cannot fail
        location.push_str(&self.location_tail);
        location
    }
}

/// What a resolver answers from memory alone ([`LinkResolver::cached`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedAnswer {
    /// A cached link.
    Link(Arc<LinkSnapshot>),
    /// A slug recently looked up and not found.
    Unknown,
}

/// Longest description a preview card carries; apps cut it shorter anyway.
pub const PREVIEW_DESCRIPTION_CHARS: usize = 300;

/// A link's product as its preview card shows it: `(name, description, image, price, the
/// merchant's currency)`.
pub type PreviewProduct<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a WebUrl>,
    Price,
    Currency,
);

/// What a link-preview card (Open Graph / Twitter card) shows for a link: its product, or
/// without one its merchant. Plain text: the HTTP adapter escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewCard {
    /// The product's name, or the merchant's.
    pub title: String,
    /// The product's description, cut to [`PREVIEW_DESCRIPTION_CHARS`].
    pub description: Option<String>,
    /// The product's image.
    pub image: Option<String>,
    /// The product's price, in its merchant's settlement currency.
    pub price: Option<(Price, Currency)>,
    /// The merchant's name.
    pub site_name: String,
    /// The link's destination, as the canonical URL.
    pub canonical: String,
}

impl PreviewCard {
    /// The card for a link to `destination` of `merchant_name`, promoting `product` if any:
    /// `(name, description, image, price, the merchant's currency)`.
    pub fn new(
        merchant_name: &str,
        destination: &WebUrl,
        product: Option<PreviewProduct<'_>>,
    ) -> Self {
        let cut = |text: &str| {
            let text = text.trim();
            match text.char_indices().nth(PREVIEW_DESCRIPTION_CHARS) {
                Some((end, _)) => format!("{}…", text[..end].trim_end()),
                None => text.to_owned(),
            }
        };
        match product {
            Some((name, description, image, price, currency)) => PreviewCard {
                title: name.to_owned(),
                description: description.map(cut),
                image: image.map(|url| url.as_str().to_owned()),
                price: Some((price, currency)),
                site_name: merchant_name.to_owned(),
                canonical: destination.as_str().to_owned(),
            },
            None => PreviewCard {
                title: merchant_name.to_owned(),
                description: None,
                image: None,
                price: None,
                site_name: merchant_name.to_owned(),
                canonical: destination.as_str().to_owned(),
            },
        }
    }
}

/// Cache settings for [`CachedResolver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most link snapshots kept (least valuable evicted first).
    pub capacity: u64,
    /// Most unknown slugs remembered.
    pub negative_capacity: u64,
    /// How long an unknown slug is remembered as unknown.
    pub negative_ttl: Duration,
    /// Most preview cards kept.
    pub preview_capacity: u64,
    /// Longest a preview card is kept. A change to the link drops its card at once (the same
    /// invalidation as its snapshot); this bounds how long a changed product or merchant name,
    /// which no link change announces, can show: no longer than the card's own
    /// `Cache-Control: max-age` lets apps keep it anyway.
    pub preview_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            capacity: 1_000_000,
            negative_capacity: 100_000,
            negative_ttl: Duration::from_secs(2),
            preview_capacity: 100_000,
            preview_ttl: Duration::from_secs(300),
        }
    }
}

/// A [`LinkResolver`] that serves snapshots from memory and asks `inner` only on a miss.
///
/// Positive entries do not expire by time: they are dropped by [`CachedResolver::invalidate`]
/// when a link, its program or its merchant changes (a store's change feed calls it), so a
/// cached link keeps redirecting while the database is unreachable. Unknown slugs are
/// remembered briefly, so a flood of random slugs reaches the database once per slug per
/// `negative_ttl`. An invalidation racing with a miss wins: a value read before the
/// invalidation is returned but not cached.
///
/// Preview cards are cached by link and dropped with their link's snapshot (by
/// [`CachedResolver::invalidate`], or when the snapshot is evicted), so a flood of preview
/// fetches reads each card once.
pub struct CachedResolver<R> {
    inner: R,
    // quick_cache rather than moka for the one map every redirect reads: a hit is a shard read
    // lock and a probe, with no per-read bookkeeping queued for later (moka's read recording
    // and maintenance took about 7 % of the server's CPU under the load benchmark).
    links: LinkCache,
    link_capacity: u64,
    unknown: moka::sync::Cache<Slug, ()>,
    previews: moka::sync::Cache<LinkId, Arc<PreviewCard>>,
    epoch: AtomicU64,
}

impl<R: LinkResolver> CachedResolver<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, config: CacheConfig) -> Self {
        let previews: moka::sync::Cache<LinkId, Arc<PreviewCard>> = moka::sync::Cache::builder()
            .max_capacity(config.preview_capacity)
            .time_to_live(config.preview_ttl)
            .build();
        Self {
            inner,
            links: LinkCache::with(
                // The table grows as links arrive: a small deployment does not pay for a million.
                config.capacity.min(16_384) as usize,
                config.capacity,
                quick_cache::UnitWeighter,
                quick_cache::DefaultHashBuilder::default(),
                DropPreviewOnEvict(previews.clone()),
            ),
            link_capacity: config.capacity,
            unknown: moka::sync::Cache::builder()
                .max_capacity(config.negative_capacity)
                .time_to_live(config.negative_ttl)
                .build(),
            previews,
            epoch: AtomicU64::new(0),
        }
    }

    /// Forgets what is cached for `slug`: its snapshot and its link's preview card.
    pub fn invalidate(&self, slug: &Slug) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some((_, snapshot)) = self.links.remove(slug) {
            self.previews.invalidate(&snapshot.link_id);
        }
        self.unknown.invalidate(slug);
    }

    /// Forgets everything (after a program or merchant change, or a missed change feed).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.links.clear();
        self.unknown.invalidate_all();
        self.previews.invalidate_all();
    }

    /// Fills the cache with the inner resolver's [`LinkResolver::hottest`] links, up to the
    /// cache's capacity, so a restarted process answers from memory at once. Returns how many.
    pub async fn warm(&self) -> RepoResult<usize> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let hottest = self.inner.hottest(self.link_capacity).await?;
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return Ok(0); // something changed meanwhile: let misses fill the cache instead
        }
        let count = hottest.len();
        for (slug, snapshot) in hottest {
            self.links.insert(slug, snapshot);
        }
        Ok(count)
    }

    /// The wrapped resolver.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

type LinkCache = quick_cache::sync::Cache<
    Slug,
    Arc<LinkSnapshot>,
    quick_cache::UnitWeighter,
    quick_cache::DefaultHashBuilder,
    DropPreviewOnEvict,
>;

/// A card outliving its snapshot could no longer be found by slug to be invalidated: it goes
/// with it.
#[derive(Clone)]
struct DropPreviewOnEvict(moka::sync::Cache<LinkId, Arc<PreviewCard>>);

impl quick_cache::Lifecycle<Slug, Arc<LinkSnapshot>> for DropPreviewOnEvict {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn on_evict(&self, _state: &mut (), _slug: Slug, snapshot: Arc<LinkSnapshot>) {
        self.0.invalidate(&snapshot.link_id);
    }
}

#[async_trait]
impl<R: LinkResolver> LinkResolver for CachedResolver<R> {
    async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
        if let Some(hit) = self.links.get(slug) {
            return Ok(Some(hit));
        }
        if self.unknown.contains_key(slug) {
            return Ok(None);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let found = self.inner.resolve(slug).await?;
        if self.epoch.load(Ordering::SeqCst) == epoch {
            match &found {
                Some(snapshot) => self.links.insert(slug.clone(), Arc::clone(snapshot)),
                None => self.unknown.insert(slug.clone(), ()),
            }
        }
        Ok(found)
    }

    async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>> {
        if let Some(card) = self.previews.get(&link) {
            return Ok(Some(PreviewCard::clone(&card)));
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let card = self.inner.preview(link).await?;
        // A gone link is not remembered: its slug's snapshot already answers 410 or 404.
        if let Some(card) = &card {
            if self.epoch.load(Ordering::SeqCst) == epoch {
                self.previews.insert(link, Arc::new(card.clone()));
            }
        }
        Ok(card)
    }

    fn cached(&self, slug: &Slug) -> Option<CachedAnswer> {
        if let Some(hit) = self.links.get(slug) {
            return Some(CachedAnswer::Link(hit));
        }
        self.unknown
            .contains_key(slug)
            .then_some(CachedAnswer::Unknown)
    }
}

#[async_trait]
impl<R: LinkResolver> LinkResolver for Arc<R> {
    async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
        (**self).resolve(slug).await
    }

    async fn hottest(&self, limit: u64) -> RepoResult<Vec<(Slug, Arc<LinkSnapshot>)>> {
        (**self).hottest(limit).await
    }

    async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>> {
        (**self).preview(link).await
    }

    fn cached(&self, slug: &Slug) -> Option<CachedAnswer> {
        (**self).cached(slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UtmValue;
    use crate::store::RepoError;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    fn snapshot(destination: &str, utm: Utm) -> LinkSnapshot {
        LinkSnapshot::new(SnapshotParts {
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            program_id: ProgramId::new(),
            merchant_id: MerchantId::new(),
            product_id: None,
            destination: &WebUrl::parse(destination).unwrap(),
            utm: &utm,
            link_active: true,
            program_active: true,
            merchant_active: true,
            membership: None,
            merchant_verified: true,
            expires_at: None,
        })
    }

    fn click() -> ClickId {
        ClickId::parse("0190b3c5e0a97c3b9f1e2d3c4b5a6978").unwrap()
    }

    #[test]
    fn utm_parameters_and_the_click_id_are_added_to_a_bare_destination() {
        let s = snapshot("https://glowco.com/serum", Utm::default());
        assert_eq!(
            s.location(click()),
            "https://glowco.com/serum?utm_source=skinstack&utm_medium=affiliate&ssclid=0190b3c5e0a97c3b9f1e2d3c4b5a6978"
        );
    }

    #[test]
    fn existing_parameters_are_kept_and_same_named_utms_replaced() {
        let utm = Utm {
            campaign: Some(UtmValue::parse("spring sale & more").unwrap()),
            ..Utm::default()
        };
        let s = snapshot(
            "https://glowco.com/p?variant=12&utm_source=old&q=a%20b&ssclid=stale#reviews",
            utm,
        );
        assert_eq!(
            s.location(click()),
            "https://glowco.com/p?variant=12&q=a%20b&utm_source=skinstack&utm_medium=affiliate&utm_campaign=spring+sale+%26+more&ssclid=0190b3c5e0a97c3b9f1e2d3c4b5a6978#reviews"
        );
    }

    #[test]
    fn utm_parameters_the_link_leaves_unset_are_not_touched() {
        let utm = Utm {
            source: None,
            medium: None,
            campaign: None,
        };
        let s = snapshot("https://glowco.com/?utm_campaign=house", utm);
        assert_eq!(
            s.location(click()),
            "https://glowco.com/?utm_campaign=house&ssclid=0190b3c5e0a97c3b9f1e2d3c4b5a6978"
        );
    }

    #[test]
    fn a_location_can_never_carry_a_line_break() {
        let s = snapshot("https://glowco.com/a%0d%0ab?x=%0A", Utm::default());
        let location = s.location(click());
        assert!(
            !location.contains('\r') && !location.contains('\n'),
            "{location}"
        );
    }

    #[test]
    fn links_are_gone_when_inactive_expired_or_their_influencer_banned() {
        let now = Utc::now();
        let mut parts = SnapshotParts {
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            program_id: ProgramId::new(),
            merchant_id: MerchantId::new(),
            product_id: None,
            destination: &WebUrl::parse("https://glowco.com").unwrap(),
            utm: &Utm::default(),
            link_active: true,
            program_active: true,
            merchant_active: true,
            membership: None,
            merchant_verified: true,
            expires_at: Some(now + chrono::Duration::seconds(1)),
        };
        assert_eq!(
            LinkSnapshot::new(parts.clone()).status_at(now),
            LinkStatus::Live
        );
        assert_eq!(
            LinkSnapshot::new(parts.clone()).status_at(now + chrono::Duration::seconds(1)),
            LinkStatus::Gone
        );
        parts.expires_at = None;
        for flip in 0..4 {
            let mut p = parts.clone();
            match flip {
                0 => p.link_active = false,
                1 => p.program_active = false,
                2 => p.membership = Some(MembershipState::Banned),
                _ => p.merchant_active = false,
            }
            assert_eq!(LinkSnapshot::new(p).status_at(now), LinkStatus::Gone);
        }
    }

    #[test]
    fn a_live_link_of_an_unverified_merchant_is_unverified_and_an_off_one_stays_gone() {
        let now = Utc::now();
        let mut parts = SnapshotParts {
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            program_id: ProgramId::new(),
            merchant_id: MerchantId::new(),
            product_id: None,
            destination: &WebUrl::parse("https://glowco.com").unwrap(),
            utm: &Utm::default(),
            link_active: true,
            program_active: true,
            merchant_active: true,
            merchant_verified: false,
            membership: None,
            expires_at: None,
        };
        assert_eq!(
            LinkSnapshot::new(parts.clone()).status_at(now),
            LinkStatus::Unverified
        );
        parts.link_active = false;
        assert_eq!(LinkSnapshot::new(parts).status_at(now), LinkStatus::Gone);
    }

    /// Counts lookups; serves one fixed link under "known", can be made to fail.
    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
        previews: AtomicUsize,
        down: Mutex<bool>,
    }

    #[async_trait]
    impl LinkResolver for Counting {
        async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if *self.down.lock().unwrap() {
                return Err(RepoError::Backend("down".into()));
            }
            Ok(slug
                .as_str()
                .starts_with("known")
                .then(|| Arc::new(snapshot("https://glowco.com", Utm::default()))))
        }

        async fn preview(&self, _link: LinkId) -> RepoResult<Option<PreviewCard>> {
            let n = self.previews.fetch_add(1, Ordering::SeqCst);
            if *self.down.lock().unwrap() {
                return Err(RepoError::Backend("down".into()));
            }
            let destination = WebUrl::parse("https://glowco.com").unwrap();
            Ok(Some(PreviewCard::new(
                &format!("Glow Co {n}"),
                &destination,
                None,
            )))
        }
    }

    #[tokio::test]
    async fn a_preview_card_is_read_once_and_read_again_after_its_link_changes() {
        let cache = CachedResolver::new(Counting::default(), CacheConfig::default());
        let known = Slug::parse("known").unwrap();
        let link = cache.resolve(&known).await.unwrap().unwrap().link_id;
        let first = cache.preview(link).await.unwrap().unwrap();
        *cache.inner().down.lock().unwrap() = true;
        for _ in 0..10 {
            assert_eq!(cache.preview(link).await.unwrap().unwrap(), first);
        }
        assert_eq!(cache.inner().previews.load(Ordering::SeqCst), 1);
        *cache.inner().down.lock().unwrap() = false;

        // The change feed names the slug: the card goes with the snapshot.
        cache.invalidate(&known);
        let link = cache.resolve(&known).await.unwrap().unwrap().link_id;
        let second = cache.preview(link).await.unwrap().unwrap();
        assert_eq!(second.title, "Glow Co 1", "read again after the change");
        cache.preview(link).await.unwrap();
        assert_eq!(cache.inner().previews.load(Ordering::SeqCst), 2);

        cache.invalidate_all();
        assert_eq!(
            cache.preview(link).await.unwrap().unwrap().title,
            "Glow Co 2"
        );
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_its_capacity_and_an_evicted_link_takes_its_card_along() {
        let config = CacheConfig {
            capacity: 8,
            ..CacheConfig::default()
        };
        let cache = CachedResolver::new(Counting::default(), config);
        let mut links = Vec::new();
        for n in 0..200 {
            let slug = Slug::parse(&format!("known{n}")).unwrap();
            let link = cache.resolve(&slug).await.unwrap().unwrap().link_id;
            cache.preview(link).await.unwrap();
            links.push((slug, link));
        }
        assert_eq!(cache.inner().previews.load(Ordering::SeqCst), 200);
        let evicted: Vec<LinkId> = links
            .iter()
            .filter(|(slug, _)| cache.cached(slug).is_none())
            .map(|(_, link)| *link)
            .collect();
        assert!(
            (192..200).contains(&evicted.len()),
            "{} of 200 links still cached, against a capacity of 8",
            200 - evicted.len()
        );
        for link in &evicted {
            cache.preview(*link).await.unwrap();
        }
        assert_eq!(
            cache.inner().previews.load(Ordering::SeqCst),
            200 + evicted.len(),
            "each evicted link's card went with it, so it is read again"
        );
    }

    #[tokio::test]
    async fn preview_cards_expire_after_their_ttl() {
        let config = CacheConfig {
            preview_ttl: Duration::from_secs(1),
            ..CacheConfig::default()
        };
        let cache = CachedResolver::new(Counting::default(), config);
        let link = LinkId::new();
        cache.preview(link).await.unwrap();
        cache.preview(link).await.unwrap();
        assert_eq!(cache.inner().previews.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        cache.preview(link).await.unwrap();
        assert_eq!(cache.inner().previews.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn cached_answers_only_what_memory_holds() {
        let cache = CachedResolver::new(Counting::default(), CacheConfig::default());
        let known = Slug::parse("known").unwrap();
        let random = Slug::parse("random").unwrap();
        assert_eq!(cache.cached(&known), None);
        assert_eq!(cache.cached(&random), None);
        cache.resolve(&known).await.unwrap();
        cache.resolve(&random).await.unwrap();
        assert!(matches!(cache.cached(&known), Some(CachedAnswer::Link(_))));
        assert_eq!(cache.cached(&random), Some(CachedAnswer::Unknown));
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            Counting::default().cached(&known),
            None,
            "a store has no memory"
        );
    }

    #[test]
    fn preview_cards_show_the_product_or_else_the_merchant() {
        let destination = WebUrl::parse("https://glowco.com/serum").unwrap();
        let image = WebUrl::parse("https://cdn.glowco.com/serum.jpg").unwrap();
        let long = "é".repeat(400);
        let card = PreviewCard::new(
            "Glow Co",
            &destination,
            Some((
                "Serum",
                Some(&long),
                Some(&image),
                Price::ZERO,
                Currency::USD,
            )),
        );
        assert_eq!(card.title, "Serum");
        assert_eq!(
            card.description.unwrap().chars().count(),
            PREVIEW_DESCRIPTION_CHARS + 1,
            "cut with an ellipsis"
        );
        assert_eq!(
            card.image.as_deref(),
            Some("https://cdn.glowco.com/serum.jpg")
        );
        let card = PreviewCard::new("Glow Co", &destination, None);
        assert_eq!((card.title.as_str(), card.price), ("Glow Co", None));
        assert_eq!(card.canonical, "https://glowco.com/serum");
    }

    #[tokio::test]
    async fn hits_are_served_from_memory_even_when_the_store_is_down() {
        let cache = CachedResolver::new(Counting::default(), CacheConfig::default());
        let known = Slug::parse("known").unwrap();
        assert!(cache.resolve(&known).await.unwrap().is_some());
        *cache.inner().down.lock().unwrap() = true;
        for _ in 0..10 {
            assert!(cache.resolve(&known).await.unwrap().is_some());
        }
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn unknown_slugs_are_remembered_briefly() {
        let config = CacheConfig {
            negative_ttl: Duration::from_millis(100),
            ..CacheConfig::default()
        };
        let cache = CachedResolver::new(Counting::default(), config);
        let random = Slug::parse("random").unwrap();
        for _ in 0..10 {
            assert!(cache.resolve(&random).await.unwrap().is_none());
        }
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(150)).await;
        cache.resolve(&random).await.unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
    }

    /// Ranks one link, "known", as the hottest.
    struct Ranked(Counting);

    #[async_trait]
    impl LinkResolver for Ranked {
        async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
            self.0.resolve(slug).await
        }

        async fn hottest(&self, _limit: u64) -> RepoResult<Vec<(Slug, Arc<LinkSnapshot>)>> {
            let known = Slug::parse("known").unwrap();
            let snapshot = self.0.resolve(&known).await?.unwrap();
            Ok(vec![(known, snapshot)])
        }

        async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>> {
            self.0.preview(link).await
        }
    }

    #[tokio::test]
    async fn warming_serves_the_hottest_links_without_a_lookup() {
        let cache = CachedResolver::new(Ranked(Counting::default()), CacheConfig::default());
        assert_eq!(cache.warm().await.unwrap(), 1);
        *cache.inner().0.down.lock().unwrap() = true;
        assert!(cache
            .resolve(&Slug::parse("known").unwrap())
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn invalidation_forces_a_fresh_lookup() {
        let cache = CachedResolver::new(Counting::default(), CacheConfig::default());
        let known = Slug::parse("known").unwrap();
        cache.resolve(&known).await.unwrap();
        cache.invalidate(&known);
        cache.resolve(&known).await.unwrap();
        cache.invalidate_all();
        cache.resolve(&known).await.unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 3);
    }
}
