//! The contract for accounts: unique emails in any case, deactivation, paging, and the cascades of deleting one.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};

    pub async fn users_round_trip<S: Store>(store: &S) {
        let new = new_user(Role::Merchant);
        let user = store.create_user(new.clone()).await.unwrap();
        assert_eq!(
            (user.email.clone(), user.role, user.is_active),
            (new.email.clone(), Role::Merchant, true)
        );
        assert_eq!(user.password_hash, new.password_hash);
        assert_eq!(store.user_by_id(user.id).await.unwrap(), user);
        assert_eq!(store.user_by_email(&new.email).await.unwrap().id, user.id);
    }

    pub async fn emails_are_unique_in_any_case<S: Store>(store: &S) {
        let new = new_user(Role::Influencer);
        store.create_user(new.clone()).await.unwrap();
        let shouted = NewUser {
            email: Email::parse(&new.email.as_str().to_uppercase()).unwrap(),
            role: Role::Merchant,
            ..new
        };
        assert_err!(store.create_user(shouted).await, RepoError::EmailTaken);
    }

    pub async fn users_can_be_deactivated<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        assert!(
            !store
                .set_user_active(user.id, false)
                .await
                .unwrap()
                .is_active
        );
        assert!(!store.user_by_id(user.id).await.unwrap().is_active);
        assert!(
            store
                .set_user_active(user.id, true)
                .await
                .unwrap()
                .is_active
        );
    }

    pub async fn deleting_a_user_cascades_and_detaches<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "byebye")).await.unwrap();
        store.delete_user(f.influencer_user.id).await.unwrap();
        assert_err!(
            store.influencer_by_id(f.influencer.id).await,
            RepoError::NotFound(Entity::Influencer)
        );
        assert_err!(
            store.link_by_id(link.id).await,
            RepoError::NotFound(Entity::Link)
        );
        store.delete_user(f.merchant_user.id).await.unwrap();
        let merchant = store.merchant_by_id(f.merchant.id).await.unwrap();
        assert_eq!(merchant.user_id, None, "merchants outlive their user");
        store.program_by_id(f.program.id).await.unwrap();
    }

    pub async fn users_are_listed_in_pages<S: Store>(store: &S) {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(
                store
                    .create_user(new_user(Role::Influencer))
                    .await
                    .unwrap()
                    .id,
            );
        }
        ids.sort();
        let first = store.list_users(Page::new(2, None).unwrap()).await.unwrap();
        assert_eq!(first.iter().map(|u| u.id).collect::<Vec<_>>(), ids[..2]);
        let rest = store
            .list_users(Page::new(10, Some(ids[1])).unwrap())
            .await
            .unwrap();
        assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), ids[2..]);
        let none = store
            .list_users(Page::new(10, Some(ids[4])).unwrap())
            .await
            .unwrap();
        assert!(none.is_empty());
    }
}
