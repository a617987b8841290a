//! Login sessions.

use crate::auth::{NewSession, Session, TokenHash};
use crate::domain::User;
use crate::store::RepoResult;
use async_trait::async_trait;

/// Login sessions, kept by the SHA-256 of their token.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a session; `NotFound(User)` if the user does not exist.
    async fn create_session(&self, session: NewSession) -> RepoResult<Session>;
    /// The session with this token hash and its user, expired or not (the caller decides);
    /// `NotFound(Session)` if there is none.
    async fn session_user(&self, token: &TokenHash) -> RepoResult<(Session, User)>;
    /// Revokes a session; `NotFound(Session)` if there is none.
    async fn delete_session(&self, token: &TokenHash) -> RepoResult<()>;
    /// Deletes the sessions that expired before `now`, returning how many.
    async fn delete_expired_sessions(&self, now: chrono::DateTime<chrono::Utc>) -> RepoResult<u64>;
}
