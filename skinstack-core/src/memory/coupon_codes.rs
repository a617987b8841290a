//! The in-memory store's coupon codes. Uniqueness is decided under the store's one lock, so of
//! two concurrent claims of one code exactly one is stored.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;
use crate::earning::CouponFacts;

/// A code as kept: everything but the owning link's influencer, which is read through the
/// link as the database joins it.
#[derive(Debug, Clone)]
pub(super) struct StoredCode {
    id: CouponCodeId,
    pub(super) merchant_id: MerchantId,
    code: CodeText,
    pub(super) link_id: LinkId,
    state: CouponState,
    created_at: chrono::DateTime<Utc>,
    assigned_at: Option<chrono::DateTime<Utc>>,
    revoked_at: Option<chrono::DateTime<Utc>>,
}

impl State {
    fn coupon_code(&self, stored: &StoredCode) -> RepoResult<CouponCode> {
        let link = self
            .links
            .get(&stored.link_id)
            .ok_or(RepoError::NotFound(Entity::Link))?;
        Ok(CouponCode {
            id: stored.id,
            merchant_id: stored.merchant_id,
            code: stored.code.clone(),
            link_id: stored.link_id,
            influencer_id: link.influencer_id,
            state: stored.state,
            created_at: stored.created_at,
            assigned_at: stored.assigned_at,
            revoked_at: stored.revoked_at,
        })
    }

    fn coupon_page(
        &self,
        keep: impl Fn(&StoredCode) -> bool,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>> {
        paged(
            self.coupon_codes.values().filter(|c| keep(c)),
            |c| c.id,
            page,
        )
        .into_iter()
        .map(|c| self.coupon_code(c))
        .collect()
    }

    /// Every assigned code of `merchant` spelled `key` in any case, with its link's terms.
    pub(super) fn coupon_facts(
        &self,
        merchant: MerchantId,
        key: &CampaignCode,
    ) -> RepoResult<Vec<CouponFacts>> {
        let mut found = Vec::new();
        for c in self.coupon_codes.values() {
            let Some(assigned_at) = c.assigned_at else {
                continue;
            };
            if c.merchant_id != merchant || c.code.key() != *key {
                continue;
            }
            let Some(link) = self.links.get(&c.link_id) else {
                continue;
            };
            found.push(CouponFacts {
                code_id: c.id,
                key: c.code.key(),
                assigned_at,
                revoked_at: c.revoked_at,
                link: self.link_terms(link)?,
            });
        }
        Ok(found)
    }
}

#[async_trait]
impl CouponCodeRepo for MemoryStore {
    async fn insert_coupon_code(&self, new: NewCouponCode) -> RepoResult<CouponCode> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&new.merchant_id) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        if !state.links.contains_key(&new.link_id) {
            return Err(RepoError::NotFound(Entity::Link));
        }
        let key = new.code.key();
        if state.coupon_codes.values().any(|c| {
            c.merchant_id == new.merchant_id
                && c.state != CouponState::Revoked
                && c.code.key() == key
        }) {
            return Err(RepoError::CodeTaken);
        }
        let stored = StoredCode {
            id: new.id,
            merchant_id: new.merchant_id,
            code: new.code,
            link_id: new.link_id,
            state: match new.assigned_at {
                Some(_) => CouponState::Assigned,
                None => CouponState::Requested,
            },
            created_at: new.created_at,
            assigned_at: new.assigned_at,
            revoked_at: None,
        };
        let code = state.coupon_code(&stored)?;
        state.coupon_codes.insert(stored.id, stored);
        Ok(code)
    }

    async fn coupon_code_by_id(&self, id: CouponCodeId) -> RepoResult<CouponCode> {
        let state = self.lock();
        let stored = state
            .coupon_codes
            .get(&id)
            .ok_or(RepoError::NotFound(Entity::CouponCode))?;
        state.coupon_code(stored)
    }

    async fn transition_coupon_code(&self, from: CouponState, to: &CouponCode) -> RepoResult<bool> {
        let mut state = self.lock();
        let stored = state
            .coupon_codes
            .get_mut(&to.id)
            .ok_or(RepoError::NotFound(Entity::CouponCode))?;
        if stored.state != from {
            return Ok(false);
        }
        stored.state = to.state;
        stored.assigned_at = to.assigned_at;
        stored.revoked_at = to.revoked_at;
        Ok(true)
    }

    async fn coupon_codes_by_merchant(
        &self,
        merchant: MerchantId,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>> {
        self.lock().coupon_page(|c| c.merchant_id == merchant, page)
    }

    async fn coupon_codes_by_influencer(
        &self,
        influencer: InfluencerId,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>> {
        let state = self.lock();
        state.coupon_page(
            |c| {
                state
                    .links
                    .get(&c.link_id)
                    .is_some_and(|l| l.influencer_id == influencer)
            },
            page,
        )
    }
}
