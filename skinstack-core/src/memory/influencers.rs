//! Influencer profiles.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

#[async_trait]
impl InfluencerRepo for MemoryStore {
    async fn create_influencer(&self, new: NewInfluencer) -> RepoResult<Influencer> {
        let mut state = self.lock();
        if !state.users.contains_key(&new.user_id) {
            return Err(RepoError::NotFound(Entity::User));
        }
        if state.influencers.values().any(|i| i.user_id == new.user_id) {
            return Err(RepoError::ProfileExists);
        }
        let now = Utc::now();
        let influencer = Influencer {
            id: InfluencerId::new(),
            user_id: new.user_id,
            display_name: new.display_name,
            instagram_handle: new.instagram_handle,
            tiktok_handle: new.tiktok_handle,
            youtube_handle: new.youtube_handle,
            payout: new.payout,
            total_followers: new.total_followers,
            total_earned: Decimal::ZERO,
            total_paid: Decimal::ZERO,
            primary_currency: None,
            created_at: now,
            updated_at: now,
        };
        state.influencers.insert(influencer.id, influencer.clone());
        Ok(influencer)
    }

    async fn influencer_by_id(&self, id: InfluencerId) -> RepoResult<Influencer> {
        found(self.lock().influencers.get(&id), Entity::Influencer)
    }

    async fn influencer_by_user(&self, user: UserId) -> RepoResult<Influencer> {
        found(
            self.lock().influencers.values().find(|i| i.user_id == user),
            Entity::Influencer,
        )
    }

    async fn update_influencer(
        &self,
        id: InfluencerId,
        patch: InfluencerPatch,
    ) -> RepoResult<Influencer> {
        let mut state = self.lock();
        let influencer = state
            .influencers
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Influencer))?;
        if let Some(v) = patch.display_name {
            influencer.display_name = v;
        }
        if let Some(v) = patch.instagram_handle {
            influencer.instagram_handle = v;
        }
        if let Some(v) = patch.tiktok_handle {
            influencer.tiktok_handle = v;
        }
        if let Some(v) = patch.youtube_handle {
            influencer.youtube_handle = v;
        }
        if let Some(v) = patch.payout {
            influencer.payout = v;
        }
        if let Some(v) = patch.total_followers {
            influencer.total_followers = v;
        }
        influencer.updated_at = Utc::now();
        Ok(influencer.clone())
    }
}
