//! `program_memberships` and `program_invitations` (migration 0024).

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::auth::TokenHash;
use skinstack_core::store::{MembershipRepo, Page, RepoResult};
use skinstack_core::{
    ApplicationMessage, Email, Entity, InfluencerId, Invitation, InvitationId, MemberStats,
    Membership, MembershipId, MembershipState, NewInvitation, NewMembership, ProgramId, RepoError,
};
use uuid::Uuid;

const COLUMNS: &str = "id, program_id, influencer_id, state, message, created_at, updated_at";
const INVITATION_COLUMNS: &str = "id, program_id, email, expires_at, accepted_at, created_at";

#[derive(sqlx::FromRow)]
struct MembershipRow {
    id: Uuid,
    program_id: Uuid,
    influencer_id: Uuid,
    state: String,
    message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = RepoError;

    fn try_from(row: MembershipRow) -> RepoResult<Membership> {
        let p = RowParser::new("program_memberships", row.id);
        Ok(Membership {
            id: MembershipId::from_uuid(row.id),
            program_id: ProgramId::from_uuid(row.program_id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            state: p.field("state", MembershipState::parse(&row.state))?,
            message: p.optional("message", row.message.as_deref(), ApplicationMessage::parse)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    membership: MembershipRow,
    clicks: i64,
    conversions: i64,
    earnings: Decimal,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: Uuid,
    program_id: Uuid,
    email: String,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = RepoError;

    fn try_from(row: InvitationRow) -> RepoResult<Invitation> {
        let p = RowParser::new("program_invitations", row.id);
        Ok(Invitation {
            id: InvitationId::from_uuid(row.id),
            program_id: ProgramId::from_uuid(row.program_id),
            email: p.field("email", Email::parse(&row.email))?,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
            created_at: row.created_at,
        })
    }
}

#[async_trait]
impl MembershipRepo for PgStore {
    async fn insert_membership(&self, new: NewMembership) -> RepoResult<Membership> {
        // The unique (program_id, influencer_id) constraint decides between concurrent
        // inserts; error.rs maps its name to MembershipExists.
        let row: MembershipRow = sqlx::query_as(&format!(
            "INSERT INTO program_memberships (id, program_id, influencer_id, state, message) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(MembershipId::new().as_uuid())
        .bind(new.program_id.as_uuid())
        .bind(new.influencer_id.as_uuid())
        .bind(new.state.as_str())
        .bind(new.message.as_ref().map(|m| m.as_str()))
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn membership_of(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
    ) -> RepoResult<Option<Membership>> {
        let row: Option<MembershipRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM program_memberships \
             WHERE program_id = $1 AND influencer_id = $2"
        ))
        .bind(program.as_uuid())
        .bind(influencer.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.map(Membership::try_from).transpose()
    }

    async fn set_membership_state(
        &self,
        id: MembershipId,
        from: MembershipState,
        to: MembershipState,
    ) -> RepoResult<Option<Membership>> {
        let row: Option<MembershipRow> = sqlx::query_as(&format!(
            "UPDATE program_memberships SET state = $3, updated_at = NOW() \
             WHERE id = $1 AND state = $2 RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(from.as_str())
        .bind(to.as_str())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        if let Some(row) = row {
            return row.try_into().map(Some);
        }
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM program_memberships WHERE id = $1)")
                .bind(id.as_uuid())
                .fetch_one(&self.pool)
                .await
                .repo()?;
        if exists {
            Ok(None)
        } else {
            Err(RepoError::NotFound(Entity::Membership))
        }
    }

    async fn delete_membership(&self, id: MembershipId, from: MembershipState) -> RepoResult<bool> {
        let deleted = sqlx::query("DELETE FROM program_memberships WHERE id = $1 AND state = $2")
            .bind(id.as_uuid())
            .bind(from.as_str())
            .execute(&self.pool)
            .await
            .repo()?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn memberships_of_influencer(
        &self,
        influencer: InfluencerId,
    ) -> RepoResult<Vec<Membership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM program_memberships WHERE influencer_id = $1 ORDER BY id"
        ))
        .bind(influencer.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(Membership::try_from).collect()
    }

    async fn members_of_program(
        &self,
        program: ProgramId,
        state: Option<MembershipState>,
        page: Page<MembershipId>,
    ) -> RepoResult<Vec<MemberStats>> {
        // The sums of the member's links' totals in the program, as core's MemberStats says;
        // the contract case members_are_listed_by_state_with_the_sums_of_their_links_totals
        // proves both stores agree.
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT pm.id, pm.program_id, pm.influencer_id, pm.state, pm.message, \
                    pm.created_at, pm.updated_at, \
                    COALESCE(SUM(lc.clicks), 0)::BIGINT AS clicks, \
                    COALESCE(SUM(COALESCE(l.total_conversions, 0)), 0)::BIGINT AS conversions, \
                    COALESCE(SUM(COALESCE(l.total_commission, 0)), 0) AS earnings \
             FROM program_memberships pm \
             LEFT JOIN tracking_links l \
               ON l.program_id = pm.program_id AND l.influencer_id = pm.influencer_id \
             LEFT JOIN LATERAL (SELECT SUM(r.clicks) AS clicks FROM click_rollups_daily r \
                                WHERE r.link_id = l.id) lc ON true \
             WHERE pm.program_id = $1 \
               AND ($2::text IS NULL OR pm.state = $2) \
               AND ($3::uuid IS NULL OR pm.id > $3) \
             GROUP BY pm.id \
             ORDER BY pm.id LIMIT $4",
        )
        .bind(program.as_uuid())
        .bind(state.map(MembershipState::as_str))
        .bind(page.after.map(|id| id.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter()
            .map(|row| {
                Ok(MemberStats {
                    membership: row.membership.try_into()?,
                    clicks: row.clicks,
                    conversions: row.conversions,
                    earnings: row.earnings,
                })
            })
            .collect()
    }

    async fn insert_invitation(&self, new: NewInvitation) -> RepoResult<Invitation> {
        let row: InvitationRow = sqlx::query_as(&format!(
            "INSERT INTO program_invitations (id, program_id, email, token_hash, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {INVITATION_COLUMNS}"
        ))
        .bind(InvitationId::new().as_uuid())
        .bind(new.program_id.as_uuid())
        .bind(new.email.as_str())
        .bind(&new.token_hash.as_bytes()[..])
        .bind(new.expires_at)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn invitation_by_token(&self, hash: &TokenHash) -> RepoResult<Invitation> {
        let row: Option<InvitationRow> = sqlx::query_as(&format!(
            "SELECT {INVITATION_COLUMNS} FROM program_invitations WHERE token_hash = $1"
        ))
        .bind(&hash.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.ok_or(RepoError::NotFound(Entity::Invitation))?
            .try_into()
    }

    async fn accept_invitation(&self, id: InvitationId, now: DateTime<Utc>) -> RepoResult<bool> {
        // One statement: of concurrent acceptances, the row lock lets exactly one see it open.
        // "Open" is core's Invitation::is_open_at (not accepted, now before expires_at).
        let accepted = sqlx::query(
            "UPDATE program_invitations SET accepted_at = $2 \
             WHERE id = $1 AND accepted_at IS NULL AND $2 < expires_at",
        )
        .bind(id.as_uuid())
        .bind(now)
        .execute(&self.pool)
        .await
        .repo()?;
        if accepted.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM program_invitations WHERE id = $1)")
                .bind(id.as_uuid())
                .fetch_one(&self.pool)
                .await
                .repo()?;
        if exists {
            Ok(false)
        } else {
            Err(RepoError::NotFound(Entity::Invitation))
        }
    }
}
