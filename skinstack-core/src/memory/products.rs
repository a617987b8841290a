//! Products.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

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
            currency: found(state.merchants.get(&new.merchant_id), Entity::Merchant)?.currency,
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
            let program = p.program_id.map(|id| state.programs.get(&id));
            match (state.merchants.get(&p.merchant_id), program) {
                // A program id without its program cannot be stored; treat it as closed.
                (_, Some(None)) | (None, _) => false,
                (Some(merchant), program) => p.is_open(merchant, program.flatten()),
            }
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
