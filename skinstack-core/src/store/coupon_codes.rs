//! Merchants' coupon codes, each owned by one tracking link.

use crate::domain::{
    CouponCode, CouponCodeId, CouponState, InfluencerId, MerchantId, NewCouponCode,
};
use crate::store::{Page, RepoResult};
use async_trait::async_trait;

/// Coupon codes. The attribution side (which code owned an order's coupon when it was placed)
/// is [`ConversionRepo::coupon_facts`](crate::store::ConversionRepo::coupon_facts).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait CouponCodeRepo: Send + Sync {
    /// Stores a code; [`RepoError::CodeTaken`](crate::RepoError::CodeTaken) if the merchant has
    /// a code of the same [`key`](crate::CodeText::key) that is not revoked (decided atomically
    /// by the store, so of two concurrent claims one wins), `NotFound(Merchant)` or
    /// `NotFound(Link)` for a missing merchant or link.
    async fn insert_coupon_code(&self, new: NewCouponCode) -> RepoResult<CouponCode>;
    /// The code with this id (`NotFound(CouponCode)` if missing).
    async fn coupon_code_by_id(&self, id: CouponCodeId) -> RepoResult<CouponCode>;
    /// Stores `to`'s state, `assigned_at` and `revoked_at` if the code is still in state
    /// `from`, atomically; `false` if it no longer is (another request changed it first).
    async fn transition_coupon_code(&self, from: CouponState, to: &CouponCode) -> RepoResult<bool>;
    /// The merchant's codes, revoked ones included, in id order.
    async fn coupon_codes_by_merchant(
        &self,
        merchant: MerchantId,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>>;
    /// The codes owned by the influencer's links, revoked ones included, in id order.
    async fn coupon_codes_by_influencer(
        &self,
        influencer: InfluencerId,
        page: Page<CouponCodeId>,
    ) -> RepoResult<Vec<CouponCode>>;
}
