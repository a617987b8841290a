//! Tracking links, and their lookup by slug for the redirect.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

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
        // The store's precision, as PostgreSQL's `timestamptz`.
        let now = chrono::SubsecRound::trunc_subsecs(new.created_at, 6);
        let currency = found(state.programs.get(&new.program_id), Entity::Program)?.currency;
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
            currency,
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
        let merchant = state.merchants.get(&program.merchant_id);
        let merchant_active = merchant.is_some_and(|m| m.is_active);
        let merchant_verified = merchant.is_some_and(|m| m.verification.is_verified());
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
            membership: state
                .memberships
                .state_of(link.program_id, link.influencer_id),
            merchant_verified,
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
                    merchant.currency,
                )
            }),
        )))
    }
}
