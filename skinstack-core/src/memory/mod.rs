//! A thread-safe in-memory store implementing every storage trait.
//!
//! It enforces the seed schema's uniqueness rules and cascades itself, so code tested against
//! it behaves as it will against Postgres; the contract suite runs against both. Data lives as
//! long as the store: use it for tests, demos and embedding without a database.

//! Each file here implements the trait of the same name in `store/`; they share this module's
//! state, helpers and imports (`use super::*`).

use crate::auth::{NewSession, Session, TokenHash};
use crate::domain::*;
use crate::earning::CommissionEvent;
use crate::store::*;
use crate::tracking::{LinkSnapshot, PreviewCard, SnapshotParts};
use async_trait::async_trait;
use chrono::Utc;
use rust_decimal::Decimal;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

mod api_keys;
mod clicks;
mod conversions;
mod coupon_codes;
mod holds;
mod influencers;
mod invoices;
mod links;
mod memberships;
mod merchants;
mod payouts;
mod products;
mod programs;
mod sessions;
mod users;
mod webhook_deliveries;
mod webhook_secrets;

#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    influencers: HashMap<InfluencerId, Influencer>,
    merchants: HashMap<MerchantId, Merchant>,
    programs: HashMap<ProgramId, Program>,
    products: HashMap<ProductId, Product>,
    links: HashMap<LinkId, TrackingLink>,
    slugs: HashMap<Slug, LinkId>,
    clicks: HashMap<ClickId, Click>,
    rollups: crate::tracking::rollup::DailyRollups,
    sessions: HashMap<TokenHash, Session>,
    ledger: conversions::LedgerState,
    api_keys: HashMap<ApiKeyId, api_keys::StoredKey>,
    webhook_deliveries: webhook_deliveries::DeliveryState,
    memberships: memberships::Enrollments,
    coupon_codes: HashMap<CouponCodeId, coupon_codes::StoredCode>,
    invoices: invoices::InvoiceState,
}

/// The in-memory store. Cloning it gives another handle to the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every click recorded so far, oldest first.
    pub fn clicks(&self) -> Vec<Click> {
        let mut clicks: Vec<Click> = self.lock().clicks.values().cloned().collect();
        clicks.sort_by_key(|c| c.id);
        clicks
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation below is completed before the guard drops, so a panic elsewhere
        // cannot leave half-written state behind: a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Whether `link` is one of `scope`'s links.
    fn in_scope(&self, scope: crate::tracking::Scope, link: &TrackingLink) -> bool {
        use crate::tracking::Scope;
        match scope {
            Scope::Link(id) => link.id == id,
            Scope::Influencer(id) => link.influencer_id == id,
            Scope::Program(id) => link.program_id == id,
            Scope::Merchant(id) => self
                .programs
                .get(&link.program_id)
                .is_some_and(|p| p.merchant_id == id),
        }
    }
}

/// `link`'s value for a link dimension (link, product, member), as its id.
fn link_value(link: &TrackingLink, dimension: crate::tracking::Dimension) -> String {
    use crate::tracking::{breakdown::NONE, Dimension};
    match dimension {
        Dimension::Product => link
            .product_id
            .map_or_else(|| NONE.to_owned(), |p| p.to_string()),
        Dimension::Member => link.influencer_id.to_string(),
        _ => link.id.to_string(),
    }
}

fn found<T: Clone>(value: Option<&T>, entity: Entity) -> RepoResult<T> {
    value.cloned().ok_or(RepoError::NotFound(entity))
}

/// One page of `items`, in id order, after the page's cursor.
fn paged<T, Id: Ord + Copy>(
    items: impl Iterator<Item = T>,
    id: impl Fn(&T) -> Id,
    page: Page<Id>,
) -> Vec<T> {
    let mut items: Vec<T> = items
        .filter(|item| page.after.is_none_or(|after| id(item) > after))
        .collect();
    items.sort_by_key(|item| id(item));
    items.truncate(page.limit() as usize);
    items
}

fn oldest_first<T, K: Ord>(mut items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    items.sort_by_key(key);
    items
}

impl State {
    fn remove_link(&mut self, id: LinkId) {
        if let Some(link) = self.links.remove(&id) {
            self.slugs.remove(&link.slug);
            self.clicks.retain(|_, c| c.link_id != id);
            // A code goes with its owning link (ON DELETE CASCADE), freeing its spelling.
            self.coupon_codes.retain(|_, c| c.link_id != id);
            self.rollups.retain(|(link, _), _| *link != id);
        }
    }

    fn remove_links_where(&mut self, doomed: impl Fn(&TrackingLink) -> bool) {
        let ids: Vec<LinkId> = self
            .links
            .values()
            .filter(|l| doomed(l))
            .map(|l| l.id)
            .collect();
        for id in ids {
            self.remove_link(id);
        }
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn check(&self) -> RepoResult<()> {
        // Memory is always reachable; taking the lock proves no writer is stuck holding it.
        drop(self.lock());
        Ok(())
    }
}
