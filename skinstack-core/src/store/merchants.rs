//! Merchants.

use crate::domain::*;
use crate::store::RepoResult;
use async_trait::async_trait;

/// Merchants.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MerchantRepo: Send + Sync {
    /// Stores a merchant, [`Verification::Unverified`]; `NotFound(User)` if its user does not
    /// exist, `ProfileExists` if the user already manages one. The uniqueness is the store's
    /// own (a constraint, a lock), so of two concurrent creations for one user one fails.
    async fn create_merchant(&self, merchant: NewMerchant) -> RepoResult<Merchant>;
    /// The merchant with this id, credentials decrypted.
    async fn merchant_by_id(&self, id: MerchantId) -> RepoResult<Merchant>;
    /// The merchants a user manages.
    async fn merchants_by_user(&self, user: UserId) -> RepoResult<Vec<Merchant>>;
    /// Activates or deactivates a merchant.
    async fn set_merchant_active(&self, id: MerchantId, active: bool) -> RepoResult<Merchant>;
    /// Deletes a merchant with its programs, products and links.
    async fn delete_merchant(&self, id: MerchantId) -> RepoResult<()>;
    /// Applies a patch and returns the merchant as it now is; its verification becomes
    /// [`MerchantPatch::verification_after`] in the same atomic step.
    async fn update_merchant(&self, id: MerchantId, patch: MerchantPatch) -> RepoResult<Merchant>;
    /// Verifies or un-verifies a merchant. Its links' redirects follow at once, in every
    /// process (the change feed announces it like a deactivation).
    async fn set_merchant_verification(
        &self,
        id: MerchantId,
        verification: Verification,
    ) -> RepoResult<Merchant>;
}
