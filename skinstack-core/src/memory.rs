//! A thread-safe in-memory store implementing every repository trait.
//!
//! It enforces the seed schema's uniqueness rules and cascades itself, so code tested against
//! it behaves as it will against Postgres; the contract suite runs against both. Data lives as
//! long as the store: use it for tests, demos and embedding without a database.

use crate::auth::{NewSession, Session, TokenHash};
use crate::click::{Click, ClickId};
use crate::domain::*;
use crate::error::{ForField, Invalid};
use crate::recorder::ClickSink;
use crate::redirect::{LinkResolver, LinkSnapshot, PreviewCard, SnapshotParts};
use crate::repo::*;
use crate::slug::Slug;
use async_trait::async_trait;
use chrono::Utc;
use rust_decimal::Decimal;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

mod api_keys;
mod ledger;
mod webhook_deliveries;

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
    sessions: HashMap<TokenHash, Session>,
    ledger: ledger::LedgerState,
    api_keys: HashMap<crate::ApiKeyId, api_keys::StoredKey>,
    webhook_deliveries: webhook_deliveries::DeliveryState,
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
impl UserRepo for MemoryStore {
    async fn create_user(&self, new: NewUser) -> RepoResult<User> {
        let mut state = self.lock();
        if state.users.values().any(|u| u.email == new.email) {
            return Err(RepoError::EmailTaken);
        }
        let now = Utc::now();
        let user = User {
            id: UserId::new(),
            email: new.email,
            password_hash: new.password_hash,
            role: new.role,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        state.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn user_by_id(&self, id: UserId) -> RepoResult<User> {
        found(self.lock().users.get(&id), Entity::User)
    }

    async fn user_by_email(&self, email: &Email) -> RepoResult<User> {
        found(
            self.lock().users.values().find(|u| &u.email == email),
            Entity::User,
        )
    }

    async fn set_user_active(&self, id: UserId, active: bool) -> RepoResult<User> {
        let mut state = self.lock();
        let user = state
            .users
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::User))?;
        user.is_active = active;
        user.updated_at = Utc::now();
        Ok(user.clone())
    }

    async fn delete_user(&self, id: UserId) -> RepoResult<()> {
        let mut state = self.lock();
        state
            .users
            .remove(&id)
            .ok_or(RepoError::NotFound(Entity::User))?;
        // influencers.user_id ON DELETE CASCADE, and tracking_links.influencer_id after it.
        let profiles: Vec<InfluencerId> = state
            .influencers
            .values()
            .filter(|i| i.user_id == id)
            .map(|i| i.id)
            .collect();
        for profile in profiles {
            state.influencers.remove(&profile);
            state.remove_links_where(|l| l.influencer_id == profile);
        }
        state.sessions.retain(|_, s| s.user_id != id);
        // merchants.user_id ON DELETE SET NULL.
        for merchant in state
            .merchants
            .values_mut()
            .filter(|m| m.user_id == Some(id))
        {
            merchant.user_id = None;
        }
        Ok(())
    }

    async fn list_users(&self, page: Page<UserId>) -> RepoResult<Vec<User>> {
        let state = self.lock();
        Ok(paged(state.users.values().cloned(), |u| u.id, page))
    }
}

#[async_trait]
impl InfluencerRepo for MemoryStore {
    async fn create_influencer(&self, new: NewInfluencer) -> RepoResult<Influencer> {
        let mut state = self.lock();
        if !state.users.contains_key(&new.user_id) {
            return Err(RepoError::NotFound(Entity::User));
        }
        if state.influencers.values().any(|i| i.user_id == new.user_id) {
            return Err(RepoError::ProfileExists);
        }
        let now = Utc::now();
        let influencer = Influencer {
            id: InfluencerId::new(),
            user_id: new.user_id,
            display_name: new.display_name,
            instagram_handle: new.instagram_handle,
            tiktok_handle: new.tiktok_handle,
            youtube_handle: new.youtube_handle,
            payout: new.payout,
            total_followers: new.total_followers,
            total_earned: Decimal::ZERO,
            total_paid: Decimal::ZERO,
            created_at: now,
            updated_at: now,
        };
        state.influencers.insert(influencer.id, influencer.clone());
        Ok(influencer)
    }

    async fn influencer_by_id(&self, id: InfluencerId) -> RepoResult<Influencer> {
        found(self.lock().influencers.get(&id), Entity::Influencer)
    }

    async fn influencer_by_user(&self, user: UserId) -> RepoResult<Influencer> {
        found(
            self.lock().influencers.values().find(|i| i.user_id == user),
            Entity::Influencer,
        )
    }

    async fn update_influencer(
        &self,
        id: InfluencerId,
        patch: InfluencerPatch,
    ) -> RepoResult<Influencer> {
        let mut state = self.lock();
        let influencer = state
            .influencers
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Influencer))?;
        // PostgreSQL's column is a signed INTEGER: refuse what it would refuse.
        if patch
            .total_followers
            .is_some_and(|f| i32::try_from(f).is_err())
        {
            return Err(Invalid::OutOfRange("at most 2147483647"))
                .field("total_followers")
                .map_err(RepoError::from);
        }
        if let Some(v) = patch.display_name {
            influencer.display_name = v;
        }
        if let Some(v) = patch.instagram_handle {
            influencer.instagram_handle = v;
        }
        if let Some(v) = patch.tiktok_handle {
            influencer.tiktok_handle = v;
        }
        if let Some(v) = patch.youtube_handle {
            influencer.youtube_handle = v;
        }
        if let Some(v) = patch.payout {
            influencer.payout = v;
        }
        if let Some(v) = patch.total_followers {
            influencer.total_followers = v;
        }
        influencer.updated_at = Utc::now();
        Ok(influencer.clone())
    }
}

#[async_trait]
impl MerchantRepo for MemoryStore {
    async fn create_merchant(&self, new: NewMerchant) -> RepoResult<Merchant> {
        let mut state = self.lock();
        if let Some(user) = new.user_id {
            if !state.users.contains_key(&user) {
                return Err(RepoError::NotFound(Entity::User));
            }
        }
        let now = Utc::now();
        let merchant = Merchant {
            id: MerchantId::new(),
            user_id: new.user_id,
            business_name: new.business_name,
            website_url: new.website_url,
            shopify_shop_domain: new.shopify_shop_domain,
            shopify_api_key: new.shopify_api_key,
            refersion_public_key: new.refersion_public_key,
            refersion_secret_key: new.refersion_secret_key,
            total_sales: Decimal::ZERO,
            total_commissions_paid: Decimal::ZERO,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        state.merchants.insert(merchant.id, merchant.clone());
        Ok(merchant)
    }

    async fn merchant_by_id(&self, id: MerchantId) -> RepoResult<Merchant> {
        found(self.lock().merchants.get(&id), Entity::Merchant)
    }

    async fn merchants_by_user(&self, user: UserId) -> RepoResult<Vec<Merchant>> {
        let state = self.lock();
        let mine = state
            .merchants
            .values()
            .filter(|m| m.user_id == Some(user))
            .cloned()
            .collect();
        Ok(oldest_first(mine, |m: &Merchant| (m.created_at, m.id)))
    }

    async fn set_merchant_active(&self, id: MerchantId, active: bool) -> RepoResult<Merchant> {
        let mut state = self.lock();
        let merchant = state
            .merchants
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        merchant.is_active = active;
        merchant.updated_at = Utc::now();
        Ok(merchant.clone())
    }

    async fn delete_merchant(&self, id: MerchantId) -> RepoResult<()> {
        let mut state = self.lock();
        state
            .merchants
            .remove(&id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        // programs and products: ON DELETE CASCADE; links: through their program.
        let programs: Vec<ProgramId> = state
            .programs
            .values()
            .filter(|p| p.merchant_id == id)
            .map(|p| p.id)
            .collect();
        state.programs.retain(|_, p| p.merchant_id != id);
        state.products.retain(|_, p| p.merchant_id != id);
        state.api_keys.retain(|_, k| k.info.merchant_id != id);
        state.webhook_deliveries.remove_merchant(id);
        state.remove_links_where(|l| programs.contains(&l.program_id));
        // A link to a deleted product of another merchant's program cannot exist (the service
        // refuses it), but the seed's rule is SET NULL, so honour it all the same.
        let products: Vec<ProductId> = state.products.keys().copied().collect();
        for link in state.links.values_mut() {
            if link.product_id.is_some_and(|p| !products.contains(&p)) {
                link.product_id = None;
            }
        }
        Ok(())
    }

    async fn update_merchant(&self, id: MerchantId, patch: MerchantPatch) -> RepoResult<Merchant> {
        let mut state = self.lock();
        let merchant = state
            .merchants
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        if let Some(v) = patch.business_name {
            merchant.business_name = v;
        }
        if let Some(v) = patch.website_url {
            merchant.website_url = v;
        }
        if let Some(v) = patch.shopify_shop_domain {
            merchant.shopify_shop_domain = v;
        }
        if let Some(v) = patch.shopify_api_key {
            merchant.shopify_api_key = v;
        }
        if let Some(v) = patch.refersion_public_key {
            merchant.refersion_public_key = v;
        }
        if let Some(v) = patch.refersion_secret_key {
            merchant.refersion_secret_key = v;
        }
        merchant.updated_at = Utc::now();
        Ok(merchant.clone())
    }
}

#[async_trait]
impl ProgramRepo for MemoryStore {
    async fn create_program(&self, new: NewProgram) -> RepoResult<Program> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&new.merchant_id) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        let now = Utc::now();
        let program = Program {
            id: ProgramId::new(),
            merchant_id: new.merchant_id,
            name: new.name,
            network: new.network,
            commission: new.commission,
            cookie_window: new.cookie_window,
            platform_fee_rate: new.platform_fee_rate,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        state.programs.insert(program.id, program.clone());
        Ok(program)
    }

    async fn program_by_id(&self, id: ProgramId) -> RepoResult<Program> {
        found(self.lock().programs.get(&id), Entity::Program)
    }

    async fn programs_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Program>> {
        let state = self.lock();
        let mine = state
            .programs
            .values()
            .filter(|p| p.merchant_id == merchant)
            .cloned()
            .collect();
        Ok(oldest_first(mine, |p: &Program| (p.created_at, p.id)))
    }

    async fn set_program_active(&self, id: ProgramId, active: bool) -> RepoResult<Program> {
        let mut state = self.lock();
        let program = state
            .programs
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        program.is_active = active;
        program.updated_at = Utc::now();
        Ok(program.clone())
    }

    async fn update_program(&self, id: ProgramId, patch: ProgramPatch) -> RepoResult<Program> {
        let mut state = self.lock();
        let program = state
            .programs
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        if let Some(v) = patch.name {
            program.name = v;
        }
        if let Some(v) = patch.network {
            program.network = v;
        }
        if let Some(v) = patch.commission {
            program.commission = v;
        }
        if let Some(v) = patch.cookie_window {
            program.cookie_window = v;
        }
        program.updated_at = Utc::now();
        Ok(program.clone())
    }

    async fn open_programs(&self, page: Page<ProgramId>) -> RepoResult<Vec<Program>> {
        let state = self.lock();
        let open = state.programs.values().filter(|p| {
            p.is_active
                && state
                    .merchants
                    .get(&p.merchant_id)
                    .is_some_and(|m| m.is_active)
        });
        Ok(paged(open.cloned(), |p| p.id, page))
    }
}

#[async_trait]
impl ProductRepo for MemoryStore {
    async fn create_product(&self, new: NewProduct) -> RepoResult<Product> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&new.merchant_id) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        if new
            .program_id
            .is_some_and(|p| !state.programs.contains_key(&p))
        {
            return Err(RepoError::NotFound(Entity::Program));
        }
        // products.price is DECIMAL(10,2), narrower than Money.
        NewProduct::price(new.price).field("price")?;
        if state
            .products
            .values()
            .any(|p| p.merchant_id == new.merchant_id && p.external_id == new.external_id)
        {
            return Err(RepoError::DuplicateExternalId);
        }
        let now = Utc::now();
        let product = Product {
            id: ProductId::new(),
            merchant_id: new.merchant_id,
            program_id: new.program_id,
            external_id: new.external_id,
            name: new.name,
            description: new.description,
            price: new.price,
            image_url: new.image_url,
            product_url: new.product_url,
            category: new.category,
            in_stock: new.in_stock,
            created_at: now,
            updated_at: now,
        };
        state.products.insert(product.id, product.clone());
        Ok(product)
    }

    async fn product_by_id(&self, id: ProductId) -> RepoResult<Product> {
        found(self.lock().products.get(&id), Entity::Product)
    }

    async fn products_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Product>> {
        let state = self.lock();
        let mine = state
            .products
            .values()
            .filter(|p| p.merchant_id == merchant)
            .cloned()
            .collect();
        Ok(oldest_first(mine, |p: &Product| (p.created_at, p.id)))
    }

    async fn delete_product(&self, id: ProductId) -> RepoResult<()> {
        let mut state = self.lock();
        state
            .products
            .remove(&id)
            .ok_or(RepoError::NotFound(Entity::Product))?;
        for link in state
            .links
            .values_mut()
            .filter(|l| l.product_id == Some(id))
        {
            link.product_id = None;
        }
        Ok(())
    }

    async fn update_product(&self, id: ProductId, patch: ProductPatch) -> RepoResult<Product> {
        let mut state = self.lock();
        if let Some(Some(program)) = patch.program_id {
            if !state.programs.contains_key(&program) {
                return Err(RepoError::NotFound(Entity::Program));
            }
        }
        if let Some(price) = patch.price {
            NewProduct::price(price).field("price")?;
        }
        let product = state
            .products
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Product))?;
        if let Some(v) = patch.program_id {
            product.program_id = v;
        }
        if let Some(v) = patch.name {
            product.name = v;
        }
        if let Some(v) = patch.description {
            product.description = v;
        }
        if let Some(v) = patch.price {
            product.price = v;
        }
        if let Some(v) = patch.image_url {
            product.image_url = v;
        }
        if let Some(v) = patch.product_url {
            product.product_url = v;
        }
        if let Some(v) = patch.category {
            product.category = v;
        }
        if let Some(v) = patch.in_stock {
            product.in_stock = v;
        }
        product.updated_at = Utc::now();
        Ok(product.clone())
    }

    async fn list_products(&self, query: &ProductQuery) -> RepoResult<Vec<Product>> {
        let state = self.lock();
        let open = |p: &Product| {
            state
                .merchants
                .get(&p.merchant_id)
                .is_some_and(|m| m.is_active)
                && p.program_id.is_none_or(|id| {
                    state
                        .programs
                        .get(&id)
                        .is_some_and(|program| program.is_active)
                })
        };
        let matching = state.products.values().filter(|p| {
            query.merchant.is_none_or(|m| p.merchant_id == m)
                && (!query.open_only || open(p))
                && query.program.is_none_or(|id| p.program_id == Some(id))
                && query.category.is_none_or(|c| p.category == Some(c))
                && query.in_stock.is_none_or(|s| p.in_stock == s)
        });
        Ok(paged(matching.cloned(), |p| p.id, query.page))
    }

    async fn upsert_product(&self, new: NewProduct) -> RepoResult<(Product, Upserted)> {
        let existing = {
            let state = self.lock();
            state
                .products
                .values()
                .find(|p| p.merchant_id == new.merchant_id && p.external_id == new.external_id)
                .map(|p| p.id)
        };
        // The lock is not held across the two calls below, so two upserts of one new external
        // id can race; the loser sees DuplicateExternalId and retries as an update.
        for _ in 0..2 {
            if let Some(id) = existing {
                let patch = ProductPatch {
                    program_id: Some(new.program_id),
                    name: Some(new.name.clone()),
                    description: Some(new.description.clone()),
                    price: Some(new.price),
                    image_url: Some(new.image_url.clone()),
                    product_url: Some(new.product_url.clone()),
                    category: Some(new.category),
                    in_stock: Some(new.in_stock),
                };
                return Ok((self.update_product(id, patch).await?, Upserted::Updated));
            }
            match self.create_product(new.clone()).await {
                Ok(product) => return Ok((product, Upserted::Created)),
                Err(RepoError::DuplicateExternalId) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(RepoError::DuplicateExternalId)
    }
}

#[async_trait]
impl LinkRepo for MemoryStore {
    async fn insert_link(&self, new: NewLink) -> RepoResult<TrackingLink> {
        let mut state = self.lock();
        if state.slugs.contains_key(&new.slug) {
            return Err(RepoError::SlugTaken);
        }
        if !state.influencers.contains_key(&new.influencer_id) {
            return Err(RepoError::NotFound(Entity::Influencer));
        }
        if !state.programs.contains_key(&new.program_id) {
            return Err(RepoError::NotFound(Entity::Program));
        }
        if new
            .product_id
            .is_some_and(|p| !state.products.contains_key(&p))
        {
            return Err(RepoError::NotFound(Entity::Product));
        }
        let now = Utc::now();
        let link = TrackingLink {
            id: LinkId::new(),
            slug: new.slug,
            influencer_id: new.influencer_id,
            program_id: new.program_id,
            product_id: new.product_id,
            destination_url: new.destination_url,
            campaign_code: new.campaign_code,
            utm: new.utm,
            total_clicks: 0,
            total_conversions: 0,
            total_revenue: Decimal::ZERO,
            total_commission: Decimal::ZERO,
            is_active: true,
            expires_at: new.expires_at,
            created_at: now,
            updated_at: now,
        };
        state.slugs.insert(link.slug.clone(), link.id);
        state.links.insert(link.id, link.clone());
        Ok(link)
    }

    async fn link_by_id(&self, id: LinkId) -> RepoResult<TrackingLink> {
        found(self.lock().links.get(&id), Entity::Link)
    }

    async fn link_by_slug(&self, slug: &Slug) -> RepoResult<TrackingLink> {
        let state = self.lock();
        let id = state
            .slugs
            .get(slug)
            .ok_or(RepoError::NotFound(Entity::Link))?;
        found(state.links.get(id), Entity::Link)
    }

    async fn links_by_influencer(&self, influencer: InfluencerId) -> RepoResult<Vec<TrackingLink>> {
        let state = self.lock();
        let mut mine: Vec<TrackingLink> = state
            .links
            .values()
            .filter(|l| l.influencer_id == influencer)
            .cloned()
            .collect();
        mine.sort_by_key(|l| std::cmp::Reverse((l.created_at, l.id)));
        Ok(mine)
    }

    async fn update_link(&self, id: LinkId, patch: LinkPatch) -> RepoResult<TrackingLink> {
        let mut state = self.lock();
        let link = state
            .links
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Link))?;
        if let Some(active) = patch.is_active {
            link.is_active = active;
        }
        if let Some(expires_at) = patch.expires_at {
            link.expires_at = expires_at;
        }
        if let Some(utm) = patch.utm {
            link.utm = utm;
        }
        link.updated_at = Utc::now();
        Ok(link.clone())
    }

    async fn delete_link(&self, id: LinkId) -> RepoResult<()> {
        let mut state = self.lock();
        if !state.links.contains_key(&id) {
            return Err(RepoError::NotFound(Entity::Link));
        }
        state.remove_link(id);
        Ok(())
    }
}

#[async_trait]
impl SessionRepo for MemoryStore {
    async fn create_session(&self, new: NewSession) -> RepoResult<Session> {
        let mut state = self.lock();
        if !state.users.contains_key(&new.user_id) {
            return Err(RepoError::NotFound(Entity::User));
        }
        let session = Session {
            token_hash: new.token_hash,
            user_id: new.user_id,
            created_at: Utc::now(),
            expires_at: new.expires_at,
        };
        state.sessions.insert(session.token_hash, session.clone());
        Ok(session)
    }

    async fn session_user(&self, token: &TokenHash) -> RepoResult<(Session, User)> {
        let state = self.lock();
        let session = found(state.sessions.get(token), Entity::Session)?;
        let user = found(state.users.get(&session.user_id), Entity::Session)?;
        Ok((session, user))
    }

    async fn delete_session(&self, token: &TokenHash) -> RepoResult<()> {
        self.lock()
            .sessions
            .remove(token)
            .map(drop)
            .ok_or(RepoError::NotFound(Entity::Session))
    }

    async fn delete_expired_sessions(&self, now: chrono::DateTime<Utc>) -> RepoResult<u64> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state.sessions.retain(|_, s| s.expires_at >= now);
        Ok((before - state.sessions.len()) as u64)
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

#[async_trait]
impl LinkResolver for MemoryStore {
    async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
        let state = self.lock();
        let Some(link) = state.slugs.get(slug).and_then(|id| state.links.get(id)) else {
            return Ok(None);
        };
        let program = state
            .programs
            .get(&link.program_id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        let merchant_active = state
            .merchants
            .get(&program.merchant_id)
            .is_some_and(|m| m.is_active);
        Ok(Some(Arc::new(LinkSnapshot::new(SnapshotParts {
            link_id: link.id,
            influencer_id: link.influencer_id,
            program_id: link.program_id,
            merchant_id: program.merchant_id,
            product_id: link.product_id,
            destination: &link.destination_url,
            utm: &link.utm,
            link_active: link.is_active,
            program_active: program.is_active,
            merchant_active,
            expires_at: link.expires_at,
        }))))
    }

    async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>> {
        let state = self.lock();
        let Some(link) = state.links.get(&link) else {
            return Ok(None);
        };
        let program = state
            .programs
            .get(&link.program_id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        let merchant = state
            .merchants
            .get(&program.merchant_id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        let product = link.product_id.and_then(|id| state.products.get(&id));
        Ok(Some(PreviewCard::new(
            merchant.business_name.as_str(),
            &link.destination_url,
            product.map(|p| {
                (
                    p.name.as_str(),
                    p.description.as_ref().map(|d| d.as_str()),
                    p.image_url.as_ref(),
                    p.price,
                )
            }),
        )))
    }
}

#[async_trait]
impl ClickSink for MemoryStore {
    async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
        let mut state = self.lock();
        for click in clicks {
            // The clicks table's link_id references tracking_links ON DELETE CASCADE: a click on
            // a link deleted since is dropped, as the database would drop it with the link.
            if !state.links.contains_key(&click.link_id) {
                continue;
            }
            if let Entry::Vacant(slot) = state.clicks.entry(click.id) {
                slot.insert(click.clone());
                if !click.is_bot {
                    if let Some(link) = state.links.get_mut(&click.link_id) {
                        link.total_clicks += 1;
                    }
                }
            }
        }
        Ok(())
    }
}
