//! `users`: accounts.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::store::{Page, RepoResult, UserRepo};
use skinstack_core::{Email, Entity, NewUser, PasswordHash, RepoError, Role, User, UserId};
use uuid::Uuid;

/// The columns a `UserRow` reads, as a literal so statements can be built with `concat!`.
macro_rules! columns {
    () => {
        "id, email, password_hash, role, is_active, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    role: String,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = RepoError;

    fn try_from(row: UserRow) -> RepoResult<User> {
        let p = RowParser::new("users", row.id);
        Ok(User {
            id: UserId::from_uuid(row.id),
            email: p.field("email", Email::parse(&row.email))?,
            password_hash: p.field("password_hash", PasswordHash::parse(&row.password_hash))?,
            role: p.field("role", Role::parse(&row.role))?,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn found(row: Option<UserRow>) -> RepoResult<User> {
    row.ok_or(RepoError::NotFound(Entity::User))?.try_into()
}

#[async_trait]
impl UserRepo for PgStore {
    async fn create_user(&self, new: NewUser) -> RepoResult<User> {
        let row: UserRow = sqlx::query_as(concat!(
            "INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING ",
            columns!()
        ))
        .bind(UserId::new().as_uuid())
        .bind(new.email.as_str())
        .bind(new.password_hash.as_str())
        .bind(new.role.as_str())
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn user_by_id(&self, id: UserId) -> RepoResult<User> {
        let row = sqlx::query_as(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .repo()?;
        found(row)
    }

    async fn user_by_email(&self, email: &Email) -> RepoResult<User> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn set_user_active(&self, id: UserId, active: bool) -> RepoResult<User> {
        let row = sqlx::query_as(concat!(
            "UPDATE users SET is_active = $2 WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(active)
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn delete_user(&self, id: UserId) -> RepoResult<()> {
        // influencers (and their links) go by ON DELETE CASCADE; merchants are detached by
        // ON DELETE SET NULL.
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .repo()?;
        if deleted.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::User));
        }
        Ok(())
    }

    async fn list_users(&self, page: Page<UserId>) -> RepoResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(page.after.map(|id| id.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(User::try_from).collect()
    }
}
