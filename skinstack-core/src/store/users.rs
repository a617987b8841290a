//! Accounts.

use crate::domain::*;
use crate::store::{Page, RepoResult};
use async_trait::async_trait;

/// Accounts.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Stores a new account; [`RepoError::EmailTaken`] if the email is in use.
    async fn create_user(&self, user: NewUser) -> RepoResult<User>;
    /// The account with this id.
    async fn user_by_id(&self, id: UserId) -> RepoResult<User>;
    /// The account with this (normalised) email.
    async fn user_by_email(&self, email: &Email) -> RepoResult<User>;
    /// Activates or deactivates an account.
    async fn set_user_active(&self, id: UserId, active: bool) -> RepoResult<User>;
    /// Deletes an account, with the seed's cascades.
    async fn delete_user(&self, id: UserId) -> RepoResult<()>;
    /// Accounts in id order, one page at a time.
    async fn list_users(&self, page: Page<UserId>) -> RepoResult<Vec<User>>;
}
