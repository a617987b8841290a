//! The contract for influencer profiles: one per account, updates.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};

    pub async fn influencers_round_trip<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let new = new_influencer(user.id);
        let influencer = store.create_influencer(new.clone()).await.unwrap();
        assert_eq!(influencer.display_name, new.display_name);
        assert_eq!(
            influencer.instagram_handle.as_ref().map(Handle::as_str),
            Some("ana.glow")
        );
        assert_eq!(influencer.youtube_handle, new.youtube_handle);
        assert_eq!(influencer.tiktok_handle, None);
        assert_eq!(influencer.payout, new.payout);
        assert_eq!(influencer.total_followers.get(), 125_000);
        assert_eq!(
            (influencer.total_earned, influencer.total_paid),
            (Decimal::ZERO, Decimal::ZERO)
        );
        assert_eq!(
            store.influencer_by_id(influencer.id).await.unwrap(),
            influencer
        );
        assert_eq!(store.influencer_by_user(user.id).await.unwrap(), influencer);
    }

    pub async fn one_influencer_profile_per_user<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        store
            .create_influencer(new_influencer(user.id))
            .await
            .unwrap();
        assert_err!(
            store.create_influencer(new_influencer(user.id)).await,
            RepoError::ProfileExists
        );
    }

    pub async fn influencers_can_be_updated<S: Store>(store: &S) {
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let influencer = store
            .create_influencer(new_influencer(user.id))
            .await
            .unwrap();
        let payout = PayoutSettings::new(
            Some(StripeAccountId::parse("acct_1A2b3C").unwrap()),
            None,
            Some(PayoutMethod::Stripe),
        )
        .unwrap();
        let patch = InfluencerPatch {
            display_name: Some(text("Ana G.")),
            instagram_handle: Some(None),
            tiktok_handle: Some(Some(Handle::parse("anatok").unwrap())),
            youtube_handle: None,
            payout: Some(payout.clone()),
            total_followers: Some(Followers::new(200_000).unwrap()),
        };
        let updated = store.update_influencer(influencer.id, patch).await.unwrap();
        assert_eq!(updated.display_name.as_str(), "Ana G.");
        assert_eq!(updated.instagram_handle, None);
        assert_eq!(
            updated.tiktok_handle.as_ref().map(Handle::as_str),
            Some("anatok")
        );
        assert_eq!(
            updated.youtube_handle, influencer.youtube_handle,
            "fields not in the patch stay as they were"
        );
        assert_eq!(updated.payout, payout);
        assert_eq!(updated.total_followers.get(), 200_000);
        assert_eq!(
            store.influencer_by_id(influencer.id).await.unwrap(),
            updated
        );
        assert_err!(
            store
                .update_influencer(InfluencerId::new(), InfluencerPatch::default())
                .await,
            RepoError::NotFound(Entity::Influencer)
        );
    }
    /// A follower count beyond `influencers.total_followers INTEGER` cannot be built (the
    /// memory store used to accept on create what PostgreSQL refused), and the largest one
    /// that can is kept exactly by every store, on create and on update.
    pub async fn follower_counts_beyond_the_integer_column_are_invalid<S: Store>(store: &S) {
        assert_eq!(
            Followers::new(u32::MAX),
            Err(crate::error::Invalid::OutOfRange("at most 2147483647"))
        );
        assert!(Followers::new(2_147_483_648).is_err());
        let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
        let created = store
            .create_influencer(NewInfluencer {
                total_followers: Followers::MAX,
                ..new_influencer(user.id)
            })
            .await
            .unwrap();
        assert_eq!(
            store
                .influencer_by_id(created.id)
                .await
                .unwrap()
                .total_followers,
            Followers::MAX
        );
        let zero = store
            .update_influencer(
                created.id,
                InfluencerPatch {
                    total_followers: Some(Followers::default()),
                    ..InfluencerPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(zero.total_followers.get(), 0);
        let back = store
            .update_influencer(
                created.id,
                InfluencerPatch {
                    total_followers: Some(Followers::MAX),
                    ..InfluencerPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(back.total_followers.get(), 2_147_483_647);
        assert_eq!(store.influencer_by_id(created.id).await.unwrap(), back);
    }
}
