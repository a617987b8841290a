//! Holding, releasing and voiding commissions, for the merchant whose sale it was or an
//! administrator. Someone else's conversion is `NotFound`, as if it did not exist.
//!
//! A hold keeps a commission from `approve-due`; a release lets it through (it is approved
//! once its hold period has passed); a void reverses it exactly, as a `voided` ledger event.

use crate::domain::{
    Conversion, ConversionId, Currency, EventId, HoldReason, MaxOrderAmount, Role,
};
use crate::error::ForField;
use crate::service::profiles::own_merchant;
use crate::service::{Actor, Conflict, ServiceError, ServiceResult};
use crate::store::{Entity, HoldChange, HoldRepo, MerchantRepo};
use chrono::{DateTime, SubsecRound, Utc};

/// What a person decides about a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAction {
    /// Hold it for review ([`HoldReason::Manual`]).
    Hold,
    /// Let a held commission through to approval.
    Release,
    /// Refuse a held commission: its commission is reversed in full.
    Void,
}

/// Applies `action` to conversion `id` for `actor` (its merchant or an administrator) at
/// `now`; returns the conversion as stored afterwards. A state that does not allow it is a
/// [`Conflict::NotHoldable`] or [`Conflict::NotHeld`].
pub async fn decide<S>(
    store: &S,
    actor: &Actor,
    id: ConversionId,
    action: HoldAction,
    now: DateTime<Utc>,
) -> ServiceResult<Conversion>
where
    S: MerchantRepo + HoldRepo + ?Sized,
{
    let now = now.trunc_subsecs(6);
    let conversion = visible(store, actor, id).await?;
    let change = match action {
        HoldAction::Hold => {
            store
                .hold_conversion(conversion.id, HoldReason::Manual, now)
                .await?
        }
        HoldAction::Release => {
            store
                .release_conversion(conversion.id, EventId::new(), now)
                .await?
        }
        HoldAction::Void => {
            store
                .void_conversion(conversion.id, EventId::new(), now)
                .await?
        }
    };
    match change {
        HoldChange::Changed(conversion) => Ok(conversion),
        HoldChange::Refused(_) => Err(match action {
            HoldAction::Hold => Conflict::NotHoldable,
            HoldAction::Release | HoldAction::Void => Conflict::NotHeld,
        }
        .into()),
    }
}

/// Conversion `id` if `actor` may act on it: any for an administrator, its own merchant's for
/// a merchant; `NotFound` otherwise.
async fn visible<S>(store: &S, actor: &Actor, id: ConversionId) -> ServiceResult<Conversion>
where
    S: MerchantRepo + HoldRepo + ?Sized,
{
    let not_found = ServiceError::NotFound(Entity::Conversion);
    if actor.role() != Role::Admin {
        let merchant = own_merchant(store, actor).await?;
        let conversion = store.conversion_by_id(id).await?.ok_or(not_found)?;
        if conversion.merchant_id != merchant.id {
            return Err(ServiceError::NotFound(Entity::Conversion));
        }
        return Ok(conversion);
    }
    store.conversion_by_id(id).await?.ok_or(not_found)
}

/// Sets the actor's merchant's maximum order amount: orders above it are recorded with their
/// commission held.
pub async fn set_max_order_amount<S>(
    store: &S,
    actor: &Actor,
    max: MaxOrderAmount,
) -> ServiceResult<Currency>
where
    S: MerchantRepo + HoldRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    merchant
        .currency
        .check(max.amount().amount())
        .field("max_order_amount")?;
    store.set_max_order_amount(merchant.id, max).await?;
    Ok(merchant.currency)
}
