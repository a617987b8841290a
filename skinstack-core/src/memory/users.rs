//! Accounts.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

#[async_trait]
impl UserRepo for MemoryStore {
    async fn create_user(&self, new: NewUser) -> RepoResult<User> {
        let mut state = self.lock();
        if state.users.values().any(|u| u.email == new.email) {
            return Err(RepoError::EmailTaken);
        }
        let now = Utc::now();
        let user = User {
            id: UserId::new(),
            email: new.email,
            password_hash: new.password_hash,
            role: new.role,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        state.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn user_by_id(&self, id: UserId) -> RepoResult<User> {
        found(self.lock().users.get(&id), Entity::User)
    }

    async fn user_by_email(&self, email: &Email) -> RepoResult<User> {
        found(
            self.lock().users.values().find(|u| &u.email == email),
            Entity::User,
        )
    }

    async fn set_user_active(&self, id: UserId, active: bool) -> RepoResult<User> {
        let mut state = self.lock();
        let user = state
            .users
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::User))?;
        user.is_active = active;
        user.updated_at = Utc::now();
        Ok(user.clone())
    }

    async fn delete_user(&self, id: UserId) -> RepoResult<()> {
        let mut state = self.lock();
        state
            .users
            .remove(&id)
            .ok_or(RepoError::NotFound(Entity::User))?;
        // influencers.user_id ON DELETE CASCADE, and tracking_links.influencer_id after it.
        let profiles: Vec<InfluencerId> = state
            .influencers
            .values()
            .filter(|i| i.user_id == id)
            .map(|i| i.id)
            .collect();
        for profile in profiles {
            state.influencers.remove(&profile);
            state.remove_links_where(|l| l.influencer_id == profile);
            state.memberships.remove_influencer(profile);
        }
        state.sessions.retain(|_, s| s.user_id != id);
        // merchants.user_id ON DELETE SET NULL.
        for merchant in state
            .merchants
            .values_mut()
            .filter(|m| m.user_id == Some(id))
        {
            merchant.user_id = None;
        }
        Ok(())
    }

    async fn list_users(&self, page: Page<UserId>) -> RepoResult<Vec<User>> {
        let state = self.lock();
        Ok(paged(state.users.values().cloned(), |u| u.id, page))
    }
}
