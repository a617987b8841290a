//! Influencer profiles.

use crate::domain::*;
use crate::store::RepoResult;
use async_trait::async_trait;

/// Influencer profiles.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait InfluencerRepo: Send + Sync {
    /// Stores a profile; [`RepoError::ProfileExists`] if the user has one, `NotFound(User)` if
    /// the user does not exist.
    async fn create_influencer(&self, influencer: NewInfluencer) -> RepoResult<Influencer>;
    /// The profile with this id.
    async fn influencer_by_id(&self, id: InfluencerId) -> RepoResult<Influencer>;
    /// The profile of this user.
    async fn influencer_by_user(&self, user: UserId) -> RepoResult<Influencer>;
    /// Applies a patch and returns the profile as it now is.
    async fn update_influencer(
        &self,
        id: InfluencerId,
        patch: InfluencerPatch,
    ) -> RepoResult<Influencer>;
}
