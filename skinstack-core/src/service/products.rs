//! Products: a merchant manages its own catalogue; influencers see the open products.

use super::profiles::own_merchant;
use super::{Actor, ServiceError, ServiceResult};
use crate::domain::*;
use crate::store::{Entity, MerchantRepo, ProductQuery, ProductRepo, ProgramRepo, Upserted};

/// A product as a merchant describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductInput {
    /// The program it is promoted under (must be the merchant's own).
    pub program_id: Option<ProgramId>,
    /// The merchant's own id for it.
    pub external_id: ExternalId,
    /// Its name.
    pub name: Name,
    /// Its description.
    pub description: Option<Description>,
    /// Its price.
    pub price: Price,
    /// Image for link previews.
    pub image_url: Option<WebUrl>,
    /// Its page.
    pub product_url: WebUrl,
    /// Its category.
    pub category: Option<Category>,
    /// Whether it can be bought now.
    pub in_stock: bool,
}

impl ProductInput {
    fn for_merchant(self, merchant_id: MerchantId) -> NewProduct {
        NewProduct {
            merchant_id,
            program_id: self.program_id,
            external_id: self.external_id,
            name: self.name,
            description: self.description,
            price: self.price,
            image_url: self.image_url,
            product_url: self.product_url,
            category: self.category,
            in_stock: self.in_stock,
        }
    }
}

/// `NotFound(Program)` unless `program` is `merchant`'s: another merchant's program is as
/// good as missing.
async fn check_program<S>(
    store: &S,
    merchant: MerchantId,
    program: Option<ProgramId>,
) -> ServiceResult<()>
where
    S: ProgramRepo + ?Sized,
{
    if let Some(id) = program {
        if store.program_by_id(id).await?.merchant_id != merchant {
            return Err(ServiceError::NotFound(Entity::Program));
        }
    }
    Ok(())
}

/// Adds a product to the actor's merchant's catalogue.
pub async fn create<S>(store: &S, actor: &Actor, input: ProductInput) -> ServiceResult<Product>
where
    S: MerchantRepo + ProgramRepo + ProductRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    check_program(store, merchant.id, input.program_id).await?;
    Ok(store
        .create_product(input.for_merchant(merchant.id))
        .await?)
}

/// Creates or updates `merchant`'s product with the input's external id, atomically. For
/// trusted callers such as the catalogue import, which act for a merchant by id.
/// `NotFound(Merchant)` if there is no such merchant (the store reports it, so the merchant's
/// credentials are never read).
pub async fn upsert_for_merchant<S>(
    store: &S,
    merchant: MerchantId,
    input: ProductInput,
) -> ServiceResult<(Product, Upserted)>
where
    S: ProgramRepo + ProductRepo + ?Sized,
{
    check_program(store, merchant, input.program_id).await?;
    Ok(store.upsert_product(input.for_merchant(merchant)).await?)
}

/// The product `id` if it is the actor's merchant's; `NotFound` otherwise.
pub async fn owned<S>(store: &S, actor: &Actor, id: ProductId) -> ServiceResult<Product>
where
    S: MerchantRepo + ProductRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let product = store.product_by_id(id).await?;
    if product.merchant_id != merchant.id {
        return Err(ServiceError::NotFound(Entity::Product));
    }
    Ok(product)
}

/// Updates one of the actor's merchant's products.
pub async fn update<S>(
    store: &S,
    actor: &Actor,
    id: ProductId,
    patch: ProductPatch,
) -> ServiceResult<Product>
where
    S: MerchantRepo + ProgramRepo + ProductRepo + ?Sized,
{
    let product = owned(store, actor, id).await?;
    if let Some(program) = patch.program_id {
        check_program(store, product.merchant_id, program).await?;
    }
    Ok(store.update_product(product.id, patch).await?)
}

/// The products the actor may see: a merchant's own, or the open ones for influencers and
/// administrators, filtered by `query`'s program, category, stock and page. The actor alone
/// decides `merchant` and `open_only`: whatever the caller put there is replaced.
pub async fn list<S>(store: &S, actor: &Actor, query: ProductQuery) -> ServiceResult<Vec<Product>>
where
    S: MerchantRepo + ProductRepo + ?Sized,
{
    let (merchant, open_only) = match actor.role() {
        Role::Merchant => (Some(own_merchant(store, actor).await?.id), false),
        Role::Influencer | Role::Admin => (None, true),
    };
    Ok(store
        .list_products(&ProductQuery {
            merchant,
            open_only,
            ..query
        })
        .await?)
}

/// One product the actor may see: a merchant's own; for others, one that is open.
pub async fn get<S>(store: &S, actor: &Actor, id: ProductId) -> ServiceResult<Product>
where
    S: MerchantRepo + ProgramRepo + ProductRepo + ?Sized,
{
    if actor.role() == Role::Merchant {
        return owned(store, actor, id).await;
    }
    let product = store.product_by_id(id).await?;
    let merchant = store.merchant_by_id(product.merchant_id).await?;
    let program = match product.program_id {
        Some(program) => Some(store.program_by_id(program).await?),
        None => None,
    };
    if product.is_open(&merchant, program.as_ref()) {
        Ok(product)
    } else {
        Err(ServiceError::NotFound(Entity::Product))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Page;
    use crate::testkit::Fixture;
    use crate::MemoryStore;

    #[tokio::test]
    async fn the_actor_not_the_query_decides_whose_and_which_products_are_listed() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let other = Fixture::create(&store).await;
        store
            .set_merchant_active(other.merchant.id, false)
            .await
            .unwrap();
        // A caller asking for another merchant's closed catalogue gets what its role allows.
        let sneaky = ProductQuery {
            merchant: Some(other.merchant.id),
            open_only: false,
            page: Page::largest(None),
            ..ProductQuery::default()
        };
        let influencer = Actor::new(f.influencer_user.clone()).unwrap();
        let seen = list(&store, &influencer, sneaky.clone()).await.unwrap();
        assert_eq!(
            seen.iter().map(|p| p.id).collect::<Vec<_>>(),
            [f.product.id]
        );
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let own = list(&store, &merchant, sneaky).await.unwrap();
        assert_eq!(own.iter().map(|p| p.id).collect::<Vec<_>>(), [f.product.id]);
    }
}
