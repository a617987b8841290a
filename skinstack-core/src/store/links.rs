//! Tracking links: their management, and their lookup by slug for the redirect.

use crate::domain::*;
use crate::store::RepoResult;
use crate::tracking::{CachedAnswer, LinkSnapshot, PreviewCard};
use async_trait::async_trait;
use std::sync::Arc;

/// Tracking links.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LinkRepo: Send + Sync {
    /// Stores a link; [`RepoError::SlugTaken`] if its slug is in use (decided atomically by
    /// the store), `NotFound(..)` for a missing influencer, program or product.
    async fn insert_link(&self, link: NewLink) -> RepoResult<TrackingLink>;
    /// The link with this id.
    async fn link_by_id(&self, id: LinkId) -> RepoResult<TrackingLink>;
    /// The link with this slug.
    async fn link_by_slug(&self, slug: &Slug) -> RepoResult<TrackingLink>;
    /// An influencer's links, newest first.
    async fn links_by_influencer(&self, influencer: InfluencerId) -> RepoResult<Vec<TrackingLink>>;
    /// Applies a patch and returns the link as it now is.
    async fn update_link(&self, id: LinkId, patch: LinkPatch) -> RepoResult<TrackingLink>;
    /// Deletes a link.
    async fn delete_link(&self, id: LinkId) -> RepoResult<()>;
}

/// Looks links up by slug for the redirect. Stores implement it with one indexed read.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LinkResolver: Send + Sync + 'static {
    /// The snapshot of the link with this slug, or `None` if there is none.
    async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>>;

    /// Up to `limit` links most worth caching (the most clicked first), for warming a cache at
    /// start-up. Resolvers that cannot rank links return none.
    async fn hottest(&self, limit: u64) -> RepoResult<Vec<(Slug, Arc<LinkSnapshot>)>> {
        let _ = limit;
        Ok(Vec::new())
    }

    /// What a link-preview card for `link` shows, or `None` if the link is gone. Stores read it
    /// each time; [`CachedResolver`](crate::CachedResolver) keeps cards apart from snapshots,
    /// since preview fetches are rare next to clicks but a flood of them must not reach the
    /// database.
    async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>>;

    /// The answer for `slug` if it can be given from memory, without a store read: a cached
    /// link, or a slug remembered as unknown. `None` means [`LinkResolver::resolve`] would ask
    /// a store (always, for a store itself), which the redirect rate-limits per client.
    fn cached(&self, slug: &Slug) -> Option<CachedAnswer> {
        let _ = slug;
        None
    }
}
