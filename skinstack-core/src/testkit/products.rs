//! The contract for products: unique external ids per merchant, prices the column can hold, filters and pages, upserts.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};

    pub async fn products_round_trip<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        assert_eq!(store.product_by_id(f.product.id).await.unwrap(), f.product);
        assert_eq!(f.product.price.amount(), Decimal::new(3850, 2));
        let bare = NewProduct {
            program_id: None,
            description: None,
            image_url: None,
            category: None,
            in_stock: false,
            price: Price::ZERO,
            ..new_product(f.merchant.id, None, "sku-2")
        };
        let bare = store.create_product(bare).await.unwrap();
        assert_eq!(store.product_by_id(bare.id).await.unwrap(), bare);
        let listed: Vec<_> = store
            .products_by_merchant(f.merchant.id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(listed, vec![f.product.id, bare.id]);
        assert_err!(
            store
                .create_product(new_product(f.merchant.id, Some(ProgramId::new()), "sku-3"))
                .await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store
                .create_product(new_product(MerchantId::new(), None, "sku-4"))
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    pub async fn external_ids_are_unique_per_merchant<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        assert_err!(
            store
                .create_product(new_product(f.merchant.id, None, "gid://shopify/Product/1"))
                .await,
            RepoError::DuplicateExternalId
        );
        let other = store.create_merchant(new_merchant(None)).await.unwrap();
        store
            .create_product(new_product(other.id, None, "gid://shopify/Product/1"))
            .await
            .unwrap();
    }

    /// A price beyond `products.price DECIMAL(10,2)` cannot be built (so no store is ever
    /// handed one), and the dearest price that can is kept exactly by every store.
    pub async fn prices_beyond_the_column_are_invalid<S: Store>(store: &S) {
        assert_eq!(
            Price::from_decimal(Decimal::new(10_000_000_000, 2)), // 100000000.00
            Err(crate::error::Invalid::OutOfRange("below 100000000.00"))
        );
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let dearest = NewProduct {
            price: Price::MAX, // 99999999.99
            ..new_product(merchant.id, None, "sku-big")
        };
        let stored = store.create_product(dearest).await.unwrap();
        assert_eq!(stored.price.amount(), Decimal::new(9_999_999_999, 2));
        assert_eq!(
            store.product_by_id(stored.id).await.unwrap().price,
            Price::MAX
        );
    }

    pub async fn deleting_a_product_detaches_links<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "keepme")).await.unwrap();
        store.delete_product(f.product.id).await.unwrap();
        assert_err!(
            store.product_by_id(f.product.id).await,
            RepoError::NotFound(Entity::Product)
        );
        assert_eq!(store.link_by_id(link.id).await.unwrap().product_id, None);
    }

    pub async fn products_can_be_updated<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let patch = ProductPatch {
            program_id: Some(None),
            name: Some(text("Vitamin C Serum 50 ml")),
            description: Some(None),
            price: Some(Price::from_decimal(Decimal::new(4200, 2)).unwrap()),
            image_url: Some(None),
            product_url: Some(url("https://glowco.com/products/serum-50")),
            category: Some(Some(Category::Treatment)),
            in_stock: Some(false),
        };
        let updated = store.update_product(f.product.id, patch).await.unwrap();
        assert_eq!(updated.program_id, None);
        assert_eq!(updated.name.as_str(), "Vitamin C Serum 50 ml");
        assert_eq!(updated.description, None);
        assert_eq!(updated.price.amount(), Decimal::new(4200, 2));
        assert_eq!(updated.image_url, None);
        assert_eq!(updated.category, Some(Category::Treatment));
        assert!(!updated.in_stock);
        assert_eq!(updated.external_id, f.product.external_id);
        assert_eq!(store.product_by_id(f.product.id).await.unwrap(), updated);
        let untouched = store
            .update_product(f.product.id, ProductPatch::default())
            .await
            .unwrap();
        assert_eq!(untouched.name, updated.name);
        assert_err!(
            store
                .update_product(
                    f.product.id,
                    ProductPatch {
                        program_id: Some(Some(ProgramId::new())),
                        ..ProductPatch::default()
                    }
                )
                .await,
            RepoError::NotFound(Entity::Program)
        );
        // The dearest price the column holds is kept exactly (a dearer one cannot be built).
        let dearest = store
            .update_product(
                f.product.id,
                ProductPatch {
                    price: Some(Price::MAX),
                    ..ProductPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(dearest.price, Price::MAX);
        assert_eq!(
            store.product_by_id(f.product.id).await.unwrap().price,
            Price::MAX
        );
        assert_err!(
            store
                .update_product(ProductId::new(), ProductPatch::default())
                .await,
            RepoError::NotFound(Entity::Product)
        );
    }

    pub async fn products_are_filtered_and_paged<S: Store>(store: &S) {
        let f = Fixture::create(store).await; // one serum, in stock, in the program
        let mask = store
            .create_product(NewProduct {
                category: Some(Category::Mask),
                in_stock: false,
                ..new_product(f.merchant.id, Some(f.program.id), "mask")
            })
            .await
            .unwrap();
        let loose = store
            .create_product(NewProduct {
                program_id: None,
                ..new_product(f.merchant.id, None, "loose")
            })
            .await
            .unwrap();
        let other = Fixture::create(store).await;
        let ids = |products: Vec<Product>| products.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let list = |query: ProductQuery| async move { store.list_products(&query).await.unwrap() };
        let mine = ProductQuery {
            merchant: Some(f.merchant.id),
            ..ProductQuery::default()
        };
        assert_eq!(
            ids(list(mine.clone()).await),
            vec![f.product.id, mask.id, loose.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                program: Some(f.program.id),
                ..mine.clone()
            })
            .await),
            vec![f.product.id, mask.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                category: Some(Category::Mask),
                ..mine.clone()
            })
            .await),
            vec![mask.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                in_stock: Some(true),
                ..mine.clone()
            })
            .await),
            vec![f.product.id, loose.id]
        );
        assert_eq!(
            ids(list(ProductQuery {
                page: Page::new(1, Some(f.product.id)).unwrap(),
                ..mine.clone()
            })
            .await),
            vec![mask.id]
        );
        // Open products: the merchant is active and the program, if any, too.
        store.set_program_active(f.program.id, false).await.unwrap();
        store
            .set_merchant_active(other.merchant.id, false)
            .await
            .unwrap();
        let open = ProductQuery {
            open_only: true,
            ..ProductQuery::default()
        };
        assert_eq!(ids(list(open.clone()).await), vec![loose.id]);
        store
            .set_merchant_active(other.merchant.id, true)
            .await
            .unwrap();
        assert_eq!(ids(list(open).await), vec![loose.id, other.product.id]);
    }

    pub async fn products_are_upserted_by_external_id<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let changed = NewProduct {
            name: text("Vitamin C Serum (new formula)"),
            price: Price::from_decimal(Decimal::new(4000, 2)).unwrap(),
            in_stock: false,
            program_id: None,
            ..new_product(f.merchant.id, None, "gid://shopify/Product/1")
        };
        let (updated, how) = store.upsert_product(changed.clone()).await.unwrap();
        assert_eq!(how, Upserted::Updated);
        assert_eq!(updated.id, f.product.id);
        assert_eq!(updated.name, changed.name);
        assert_eq!(updated.price, changed.price);
        assert_eq!(updated.program_id, None);
        assert!(!updated.in_stock);
        let (created, how) = store
            .upsert_product(new_product(f.merchant.id, None, "sku-new"))
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        assert_ne!(created.id, f.product.id);
        // The same external id at another merchant is another product.
        let other = store.create_merchant(new_merchant(None)).await.unwrap();
        let (theirs, how) = store
            .upsert_product(new_product(other.id, None, "sku-new"))
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        assert_eq!(theirs.merchant_id, other.id);
        let (dearest, how) = store
            .upsert_product(NewProduct {
                price: Price::MAX,
                ..new_product(f.merchant.id, None, "sku-new")
            })
            .await
            .unwrap();
        assert_eq!((dearest.id, how), (created.id, Upserted::Updated));
        assert_eq!(
            store.product_by_id(created.id).await.unwrap().price,
            Price::MAX,
            "the dearest price the column holds is kept exactly"
        );
        assert_err!(
            store
                .upsert_product(new_product(MerchantId::new(), None, "x"))
                .await,
            RepoError::NotFound(Entity::Merchant)
        );
    }
}
