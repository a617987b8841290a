//! `sessions`: login sessions by the SHA-256 of their token.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::auth::{NewSession, Session, TokenHash};
use skinstack_core::store::{RepoResult, SessionRepo};
use skinstack_core::{Email, Entity, PasswordHash, RepoError, Role, User, UserId};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_hash: Vec<u8>,
    user_id: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TryFrom<SessionRow> for Session {
    type Error = RepoError;

    fn try_from(row: SessionRow) -> RepoResult<Session> {
        let hash: [u8; 32] = row.token_hash.try_into().map_err(|_| {
            RowParser::new("sessions", row.user_id).corrupt("token_hash is not 32 bytes")
        })?;
        Ok(Session {
            token_hash: TokenHash::from_bytes(hash),
            user_id: UserId::from_uuid(row.user_id),
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

/// A session joined with its user: authentication is one round trip.
#[derive(sqlx::FromRow)]
struct SessionUserRow {
    #[sqlx(flatten)]
    session: SessionRow,
    email: String,
    password_hash: String,
    role: String,
    is_active: bool,
    user_created_at: DateTime<Utc>,
    user_updated_at: DateTime<Utc>,
}

#[async_trait]
impl SessionRepo for PgStore {
    async fn create_session(&self, new: NewSession) -> RepoResult<Session> {
        let row: SessionRow = sqlx::query_as(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3) \
             RETURNING token_hash, user_id, created_at, expires_at",
        )
        .bind(&new.token_hash.as_bytes()[..])
        .bind(new.user_id.as_uuid())
        .bind(new.expires_at)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn session_user(&self, token: &TokenHash) -> RepoResult<(Session, User)> {
        let row: Option<SessionUserRow> = sqlx::query_as(
            "SELECT s.token_hash, s.user_id, s.created_at, s.expires_at, \
             u.email, u.password_hash, u.role, COALESCE(u.is_active, false) AS is_active, \
             u.created_at AS user_created_at, u.updated_at AS user_updated_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(&token.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        let row = row.ok_or(RepoError::NotFound(Entity::Session))?;
        let p = RowParser::new("users", row.session.user_id);
        let user = User {
            id: UserId::from_uuid(row.session.user_id),
            email: p.field("email", Email::parse(&row.email))?,
            password_hash: p.field("password_hash", PasswordHash::parse(&row.password_hash))?,
            role: p.field("role", Role::parse(&row.role))?,
            is_active: row.is_active,
            created_at: row.user_created_at,
            updated_at: row.user_updated_at,
        };
        Ok((row.session.try_into()?, user))
    }

    async fn delete_session(&self, token: &TokenHash) -> RepoResult<()> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&token.as_bytes()[..])
            .execute(&self.pool)
            .await
            .repo()?;
        if deleted.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Session));
        }
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> RepoResult<u64> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .repo()?;
        Ok(deleted.rows_affected())
    }
}
