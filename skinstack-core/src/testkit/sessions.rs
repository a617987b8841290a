//! The contract for sessions: found by token hash, revoked, purged when expired, ended with their account.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};
    use chrono::{Duration, Utc};

    pub async fn sessions_round_trip_and_can_be_revoked<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let token = SessionToken::generate().unwrap();
        let expires_at = Utc::now() + Duration::days(30);
        let session = store
            .create_session(NewSession {
                token_hash: token.hash(),
                user_id: user.id,
                expires_at,
            })
            .await
            .unwrap();
        assert_eq!(session.user_id, user.id);
        assert!((session.expires_at - expires_at).num_milliseconds().abs() < 1);
        let (found, owner) = store.session_user(&token.hash()).await.unwrap();
        assert_eq!(found, session);
        assert_eq!(owner, user);
        let stranger = SessionToken::generate().unwrap();
        assert_err!(
            store.session_user(&stranger.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        store.delete_session(&token.hash()).await.unwrap();
        assert_err!(
            store.session_user(&token.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        assert_err!(
            store.delete_session(&token.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        assert_err!(
            store
                .create_session(NewSession {
                    token_hash: stranger.hash(),
                    user_id: UserId::new(),
                    expires_at,
                })
                .await,
            RepoError::NotFound(Entity::User)
        );
    }

    pub async fn expired_sessions_are_purged<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let now = Utc::now();
        let (old, fresh) = (
            SessionToken::generate().unwrap(),
            SessionToken::generate().unwrap(),
        );
        for (token, expires_at) in [
            (&old, now - Duration::hours(1)),
            (&fresh, now + Duration::hours(1)),
        ] {
            store
                .create_session(NewSession {
                    token_hash: token.hash(),
                    user_id: user.id,
                    expires_at,
                })
                .await
                .unwrap();
        }
        // An expired session is still found (the caller decides), until it is purged.
        store.session_user(&old.hash()).await.unwrap();
        assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 1);
        assert_err!(
            store.session_user(&old.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
        store.session_user(&fresh.hash()).await.unwrap();
    }

    pub async fn deleting_a_user_ends_their_sessions<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let token = SessionToken::generate().unwrap();
        store
            .create_session(NewSession {
                token_hash: token.hash(),
                user_id: user.id,
                expires_at: Utc::now() + Duration::days(1),
            })
            .await
            .unwrap();
        store.delete_user(user.id).await.unwrap();
        assert_err!(
            store.session_user(&token.hash()).await,
            RepoError::NotFound(Entity::Session)
        );
    }
}
