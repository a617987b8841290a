//! What only administrators do: list accounts, deactivate accounts and merchants.

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
