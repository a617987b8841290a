//! Merchants, with the seed's cascades on delete.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

#[async_trait]
impl MerchantRepo for MemoryStore {
    async fn create_merchant(&self, new: NewMerchant) -> RepoResult<Merchant> {
        let mut state = self.lock();
        if let Some(user) = new.user_id {
            if !state.users.contains_key(&user) {
                return Err(RepoError::NotFound(Entity::User));
            }
            // Checked under the same lock as the insert: PostgreSQL's unique user_id.
            if state.merchants.values().any(|m| m.user_id == Some(user)) {
                return Err(RepoError::ProfileExists);
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
            currency: new.currency,
            total_sales: Decimal::ZERO,
            total_commissions_paid: Decimal::ZERO,
            is_active: true,
            verification: Verification::Unverified,
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
        state.coupon_codes.retain(|_, c| c.merchant_id != id);
        state.remove_links_where(|l| programs.contains(&l.program_id));
        state.memberships.remove_programs(&programs);
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
        let current = found(state.merchants.get(&id), Entity::Merchant)?.currency;
        // Under the same lock as every conversion insert: PostgreSQL's row lock on the merchant.
        if patch.currency.is_some_and(|c| c != current)
            && state.ledger.by_order.keys().any(|(m, _)| *m == id)
        {
            return Err(RepoError::CurrencyLocked);
        }
        let merchant = state
            .merchants
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        if let Some(currency) = patch.currency {
            merchant.currency = currency;
        }
        // PostgreSQL reads these with the merchant's row; here they are copies to keep up.
        if patch.currency.is_some_and(|c| c != current) {
            let currency = merchant.currency;
            let mut programs = Vec::new();
            for program in state.programs.values_mut().filter(|p| p.merchant_id == id) {
                program.currency = currency;
                programs.push(program.id);
            }
            for product in state.products.values_mut().filter(|p| p.merchant_id == id) {
                product.currency = currency;
            }
            for link in state
                .links
                .values_mut()
                .filter(|l| programs.contains(&l.program_id))
            {
                link.currency = currency;
            }
        }
        let merchant = state
            .merchants
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        merchant.verification =
            patch.verification_after(&merchant.website_url, merchant.verification);
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

    async fn set_merchant_verification(
        &self,
        id: MerchantId,
        verification: Verification,
    ) -> RepoResult<Merchant> {
        let mut state = self.lock();
        let merchant = state
            .merchants
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        merchant.verification = verification;
        merchant.updated_at = Utc::now();
        Ok(merchant.clone())
    }
}
