//! The contract for tracking links: unique slugs decided by the store, listing, patches, deletion.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};
    use chrono::{Duration, Utc};

    pub async fn links_round_trip<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let expires = Utc::now() + Duration::days(10);
        let new = NewLink {
            expires_at: Some(expires),
            utm: Utm {
                campaign: Some(UtmValue::parse("spring sale").unwrap()),
                ..Utm::default()
            },
            ..new_link(&f, "abc234")
        };
        let link = store.insert_link(new.clone()).await.unwrap();
        assert_eq!(link.slug, new.slug);
        assert_eq!(link.destination_url, new.destination_url);
        assert_eq!(link.utm, new.utm);
        assert_eq!(link.campaign_code, new.campaign_code);
        assert_eq!(link.product_id, Some(f.product.id));
        assert_eq!((link.total_clicks, link.total_conversions), (0, 0));
        assert_eq!(
            (link.total_revenue, link.total_commission),
            (Decimal::ZERO, Decimal::ZERO)
        );
        assert!(link.is_active);
        let stored_expiry = link.expires_at.expect("expiry kept");
        assert!(
            (stored_expiry - expires).num_milliseconds().abs() < 1,
            "microsecond precision"
        );
        assert_eq!(store.link_by_id(link.id).await.unwrap(), link);
        assert_eq!(
            store
                .link_by_slug(&Slug::parse("ABC234").unwrap())
                .await
                .unwrap(),
            link
        );
        let bare = NewLink {
            product_id: None,
            campaign_code: None,
            utm: Utm {
                source: None,
                medium: None,
                campaign: None,
            },
            ..new_link(&f, "bare-link")
        };
        let bare = store.insert_link(bare).await.unwrap();
        assert_eq!(store.link_by_id(bare.id).await.unwrap(), bare);
        assert_err!(
            store
                .insert_link(NewLink {
                    influencer_id: InfluencerId::new(),
                    ..new_link(&f, "orphan1")
                })
                .await,
            RepoError::NotFound(Entity::Influencer)
        );
        assert_err!(
            store
                .insert_link(NewLink {
                    program_id: ProgramId::new(),
                    ..new_link(&f, "orphan2")
                })
                .await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store
                .insert_link(NewLink {
                    product_id: Some(ProductId::new()),
                    ..new_link(&f, "orphan3")
                })
                .await,
            RepoError::NotFound(Entity::Product)
        );
    }

    pub async fn slugs_are_unique<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        store.insert_link(new_link(&f, "glow-up")).await.unwrap();
        assert_err!(
            store.insert_link(new_link(&f, "GLOW-UP")).await,
            RepoError::SlugTaken
        );
        assert_eq!(
            store
                .links_by_influencer(f.influencer.id)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    pub async fn concurrent_inserts_of_one_slug_have_one_winner<S: Store + Clone>(store: &S) {
        let f = Fixture::create(store).await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (store, link) = (store.clone(), new_link(&f, "contested"));
                tokio::spawn(async move { store.insert_link(link).await })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.expect("task ran") {
                Ok(_) => wins += 1,
                Err(RepoError::SlugTaken) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wins, 1);
    }

    pub async fn links_are_listed_newest_first_per_influencer<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let other = Fixture::create(store).await;
        let first = store.insert_link(new_link(&f, "first")).await.unwrap();
        let second = store.insert_link(new_link(&f, "second")).await.unwrap();
        store.insert_link(new_link(&other, "theirs")).await.unwrap();
        let ids: Vec<_> = store
            .links_by_influencer(f.influencer.id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(ids, vec![second.id, first.id]);
    }

    pub async fn links_can_be_patched<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "patchme")).await.unwrap();
        let expiry = Utc::now() + Duration::days(3);
        let utm = Utm {
            campaign: Some(UtmValue::parse("bf").unwrap()),
            ..Utm::default()
        };
        let patch = LinkPatch {
            is_active: Some(false),
            expires_at: Some(Some(expiry)),
            utm: Some(utm.clone()),
        };
        let patched = store.update_link(link.id, patch).await.unwrap();
        assert!(!patched.is_active);
        assert_eq!(patched.utm, utm);
        assert!(patched.expires_at.is_some());
        assert_eq!(store.link_by_id(link.id).await.unwrap(), patched);
        let cleared = store
            .update_link(
                link.id,
                LinkPatch {
                    expires_at: Some(None),
                    ..LinkPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(cleared.expires_at, None);
        assert!(
            !cleared.is_active,
            "fields not in the patch stay as they were"
        );
        assert_err!(
            store.update_link(LinkId::new(), LinkPatch::default()).await,
            RepoError::NotFound(Entity::Link)
        );
    }

    pub async fn deleted_links_free_their_slug<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "reuse-me")).await.unwrap();
        store.delete_link(link.id).await.unwrap();
        assert_err!(
            store.link_by_id(link.id).await,
            RepoError::NotFound(Entity::Link)
        );
        assert_err!(
            store.link_by_slug(&link.slug).await,
            RepoError::NotFound(Entity::Link)
        );
        store.insert_link(new_link(&f, "reuse-me")).await.unwrap();
    }
}
