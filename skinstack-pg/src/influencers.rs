//! `influencers`: influencer profiles, one per user.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::store::{InfluencerRepo, RepoResult};
use skinstack_core::{
    Currency, Email, Entity, Followers, Handle, Influencer, InfluencerId, InfluencerPatch, Name,
    NewInfluencer, PayoutMethod, PayoutSettings, RepoError, StripeAccountId, UserId,
};
use uuid::Uuid;

/// The columns an `InfluencerRow` reads. The seed's metrics are nullable with DEFAULT 0, so a
/// NULL reads as that default.
macro_rules! columns {
    () => {
        "id, user_id, display_name, instagram_handle, tiktok_handle, youtube_handle, \
         stripe_account_id, paypal_email, preferred_payout_method, \
         COALESCE(total_followers, 0) AS total_followers, \
         COALESCE(total_earned, 0) AS total_earned, COALESCE(total_paid, 0) AS total_paid, \
         primary_currency, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct InfluencerRow {
    id: Uuid,
    user_id: Uuid,
    display_name: String,
    instagram_handle: Option<String>,
    tiktok_handle: Option<String>,
    youtube_handle: Option<String>,
    stripe_account_id: Option<String>,
    paypal_email: Option<String>,
    preferred_payout_method: Option<String>,
    total_followers: i32,
    total_earned: Decimal,
    total_paid: Decimal,
    primary_currency: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<InfluencerRow> for Influencer {
    type Error = RepoError;

    fn try_from(row: InfluencerRow) -> RepoResult<Influencer> {
        let p = RowParser::new("influencers", row.id);
        let payout = PayoutSettings::new(
            p.optional(
                "stripe_account_id",
                row.stripe_account_id.as_deref(),
                StripeAccountId::parse,
            )?,
            p.optional("paypal_email", row.paypal_email.as_deref(), Email::parse)?,
            p.optional(
                "preferred_payout_method",
                row.preferred_payout_method.as_deref(),
                PayoutMethod::parse,
            )?,
        )
        .map_err(|err| p.corrupt(err))?;
        Ok(Influencer {
            id: InfluencerId::from_uuid(row.id),
            user_id: UserId::from_uuid(row.user_id),
            display_name: p.field("display_name", Name::parse(&row.display_name))?,
            instagram_handle: p.optional(
                "instagram_handle",
                row.instagram_handle.as_deref(),
                Handle::parse,
            )?,
            tiktok_handle: p.optional(
                "tiktok_handle",
                row.tiktok_handle.as_deref(),
                Handle::parse,
            )?,
            youtube_handle: p.optional(
                "youtube_handle",
                row.youtube_handle.as_deref(),
                Handle::parse,
            )?,
            payout,
            total_followers: p.field(
                "total_followers",
                Followers::from_stored(row.total_followers),
            )?,
            total_earned: row.total_earned,
            total_paid: row.total_paid,
            primary_currency: p.optional(
                "primary_currency",
                row.primary_currency.as_deref(),
                Currency::parse,
            )?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn found(row: Option<InfluencerRow>) -> RepoResult<Influencer> {
    row.ok_or(RepoError::NotFound(Entity::Influencer))?
        .try_into()
}

#[async_trait]
impl InfluencerRepo for PgStore {
    async fn create_influencer(&self, new: NewInfluencer) -> RepoResult<Influencer> {
        // A `Followers` fits the signed INTEGER column by construction.
        let followers = new.total_followers.as_i32();
        let row: InfluencerRow = sqlx::query_as(concat!(
            "INSERT INTO influencers (id, user_id, display_name, instagram_handle, tiktok_handle, \
             youtube_handle, stripe_account_id, paypal_email, preferred_payout_method, \
             total_followers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
            columns!()
        ))
        .bind(InfluencerId::new().as_uuid())
        .bind(new.user_id.as_uuid())
        .bind(new.display_name.as_str())
        .bind(new.instagram_handle.as_ref().map(Handle::as_str))
        .bind(new.tiktok_handle.as_ref().map(Handle::as_str))
        .bind(new.youtube_handle.as_ref().map(Handle::as_str))
        .bind(new.payout.stripe_account_id().map(StripeAccountId::as_str))
        .bind(new.payout.paypal_email().map(Email::as_str))
        .bind(new.payout.preferred().map(PayoutMethod::as_str))
        .bind(followers)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn influencer_by_id(&self, id: InfluencerId) -> RepoResult<Influencer> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM influencers WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn influencer_by_user(&self, user: UserId) -> RepoResult<Influencer> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM influencers WHERE user_id = $1"
        ))
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn update_influencer(
        &self,
        id: InfluencerId,
        patch: InfluencerPatch,
    ) -> RepoResult<Influencer> {
        let followers = patch.total_followers.map(Followers::as_i32);
        let handle = |h: &Option<Option<Handle>>| {
            (
                h.is_some(),
                h.as_ref()
                    .and_then(|h| h.as_ref().map(|h| h.as_str().to_owned())),
            )
        };
        let (ig_set, ig) = handle(&patch.instagram_handle);
        let (tt_set, tt) = handle(&patch.tiktok_handle);
        let (yt_set, yt) = handle(&patch.youtube_handle);
        let payout = patch.payout.as_ref();
        // One statement: a concurrent patch of other fields is never overwritten with stale
        // values; the payout columns change together so they always agree.
        let row = sqlx::query_as(concat!(
            "UPDATE influencers SET \
             display_name = COALESCE($2, display_name), \
             instagram_handle = CASE WHEN $3 THEN $4 ELSE instagram_handle END, \
             tiktok_handle = CASE WHEN $5 THEN $6 ELSE tiktok_handle END, \
             youtube_handle = CASE WHEN $7 THEN $8 ELSE youtube_handle END, \
             stripe_account_id = CASE WHEN $9 THEN $10 ELSE stripe_account_id END, \
             paypal_email = CASE WHEN $9 THEN $11 ELSE paypal_email END, \
             preferred_payout_method = CASE WHEN $9 THEN $12 ELSE preferred_payout_method END, \
             total_followers = COALESCE($13, total_followers) \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(patch.display_name.as_ref().map(Name::as_str))
        .bind(ig_set)
        .bind(ig)
        .bind(tt_set)
        .bind(tt)
        .bind(yt_set)
        .bind(yt)
        .bind(payout.is_some())
        .bind(payout.and_then(|p| p.stripe_account_id().map(StripeAccountId::as_str)))
        .bind(payout.and_then(|p| p.paypal_email().map(Email::as_str)))
        .bind(payout.and_then(|p| p.preferred().map(PayoutMethod::as_str)))
        .bind(followers)
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }
}
