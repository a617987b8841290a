//! Login sessions.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

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
