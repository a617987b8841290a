//! What only administrators do: list accounts, deactivate accounts and merchants, verify
//! merchants.

use super::{Actor, Rejection, ServiceResult};
use crate::domain::*;
use crate::store::{MerchantRepo, Page, UserRepo};

/// Accounts in id order, a page at a time.
pub async fn list_users<S>(store: &S, actor: &Actor, page: Page<UserId>) -> ServiceResult<Vec<User>>
where
    S: UserRepo + ?Sized,
{
    actor.require(Role::Admin)?;
    Ok(store.list_users(page).await?)
}

/// Activates or deactivates an account. A deactivated account's sessions stop working at once.
/// An administrator cannot deactivate themselves (nobody might be left to undo it).
pub async fn set_user_active<S>(
    store: &S,
    actor: &Actor,
    id: UserId,
    active: bool,
) -> ServiceResult<User>
where
    S: UserRepo + ?Sized,
{
    actor.require(Role::Admin)?;
    if id == actor.id() && !active {
        return Err(Rejection::OwnAccountDeactivation.into());
    }
    Ok(store.set_user_active(id, active).await?)
}

/// Activates or deactivates a merchant: its links stop (or resume) redirecting.
pub async fn set_merchant_active<S>(
    store: &S,
    actor: &Actor,
    id: MerchantId,
    active: bool,
) -> ServiceResult<Merchant>
where
    S: MerchantRepo + ?Sized,
{
    actor.require(Role::Admin)?;
    Ok(store.set_merchant_active(id, active).await?)
}

/// Verifies a merchant at `now` (`verify`), or puts it back to unverified: while unverified its
/// programs are closed to influencers, its links answer 410 and its API keys are refused.
/// Verifying a verified merchant keeps its first verification time.
pub async fn set_merchant_verified<S>(
    store: &S,
    actor: &Actor,
    id: MerchantId,
    verify: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<Merchant>
where
    S: MerchantRepo + ?Sized,
{
    actor.require(Role::Admin)?;
    change_verification(store, id, verify, now).await
}

/// [`set_merchant_verified`] for a caller that is the operator already (the server's command
/// line, which holds the database itself): the same rule, no account to check.
pub async fn change_verification<S>(
    store: &S,
    id: MerchantId,
    verify: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<Merchant>
where
    S: MerchantRepo + ?Sized,
{
    let merchant = store.merchant_by_id(id).await?;
    let verification = match (verify, merchant.verification) {
        (true, Verification::Verified { .. }) => return Ok(merchant),
        (true, Verification::Unverified) => Verification::Verified {
            // Every store keeps microseconds: both answer the same instant.
            at: chrono::SubsecRound::trunc_subsecs(now, 6),
        },
        (false, Verification::Unverified) => return Ok(merchant),
        (false, Verification::Verified { .. }) => Verification::Unverified,
    };
    Ok(store.set_merchant_verification(id, verification).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::service::ServiceError;
    use crate::store::UserRepo;
    use crate::testkit::{new_merchant, new_user};
    use crate::MemoryStore;

    #[tokio::test]
    async fn only_an_administrator_verifies_and_a_second_verify_keeps_the_first_time() {
        let store = MemoryStore::new();
        let admin = Actor::new(store.create_user(new_user(Role::Admin)).await.unwrap()).unwrap();
        let owner = store.create_user(new_user(Role::Merchant)).await.unwrap();
        let merchant = store
            .create_merchant(new_merchant(Some(owner.id)))
            .await
            .unwrap();
        assert_eq!(merchant.verification, Verification::Unverified);
        let owner = Actor::new(owner).unwrap();
        assert!(matches!(
            set_merchant_verified(&store, &owner, merchant.id, true, chrono::Utc::now()).await,
            Err(ServiceError::Forbidden(_))
        ));
        let first = chrono::Utc::now();
        let verified = set_merchant_verified(&store, &admin, merchant.id, true, first)
            .await
            .unwrap();
        let at = verified.verification.verified_at().unwrap();
        assert_eq!(at, chrono::SubsecRound::trunc_subsecs(first, 6));
        let again = first + chrono::Duration::hours(1);
        let still = set_merchant_verified(&store, &admin, merchant.id, true, again)
            .await
            .unwrap();
        assert_eq!(still.verification.verified_at(), Some(at));
        let undone = set_merchant_verified(&store, &admin, merchant.id, false, again)
            .await
            .unwrap();
        assert_eq!(undone.verification, Verification::Unverified);
        assert!(matches!(
            set_merchant_verified(&store, &admin, MerchantId::new(), true, again).await,
            Err(ServiceError::NotFound(crate::Entity::Merchant))
        ));
    }
}
