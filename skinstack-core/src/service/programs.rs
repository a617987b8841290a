//! Commission programs: a merchant manages its own; influencers see the open ones (active
//! programs of active merchants).

use super::profiles::own_merchant;
use super::{Actor, ServiceError, ServiceResult};
use crate::domain::*;
use crate::error::ForField;
use crate::store::{Entity, MerchantRepo, Page, ProgramRepo};

/// A program as a merchant describes it. The platform's fee is not the merchant's to set: new
/// programs get the default.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramInput {
    /// Its name.
    pub name: Name,
    /// Its network.
    pub network: Network,
    /// What it pays.
    pub commission: Commission,
    /// Attribution window (30 days unless given).
    pub cookie_window: CookieWindow,
    /// How influencers join (`approval` unless given).
    pub enrollment_mode: EnrollmentMode,
}

/// Creates a program for the actor's merchant.
pub async fn create<S>(store: &S, actor: &Actor, input: ProgramInput) -> ServiceResult<Program>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    in_currency(&input.commission, merchant.currency)?;
    Ok(store
        .create_program(NewProgram {
            merchant_id: merchant.id,
            name: input.name,
            network: input.network,
            commission: input.commission,
            cookie_window: input.cookie_window,
            platform_fee_rate: FeeRate::default(),
            enrollment_mode: input.enrollment_mode,
        })
        .await?)
}

/// The program `id` if it is the actor's merchant's; `NotFound` otherwise.
pub async fn owned<S>(store: &S, actor: &Actor, id: ProgramId) -> ServiceResult<Program>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let program = store.program_by_id(id).await?;
    if program.merchant_id != merchant.id {
        return Err(ServiceError::NotFound(Entity::Program));
    }
    Ok(program)
}

/// Updates one of the actor's merchant's programs.
pub async fn update<S>(
    store: &S,
    actor: &Actor,
    id: ProgramId,
    patch: ProgramPatch,
) -> ServiceResult<Program>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let program = owned(store, actor, id).await?;
    if let Some(commission) = &patch.commission {
        in_currency(commission, merchant.currency)?;
    }
    Ok(store.update_program(program.id, patch).await?)
}

/// Refuses a fixed commission finer than the minor unit of the merchant's currency (¥0.50).
fn in_currency(commission: &Commission, currency: Currency) -> ServiceResult<()> {
    if let Commission::Fixed(amount) = commission {
        currency.check(amount.amount()).field("fixed_amount")?;
    }
    Ok(())
}

/// Deactivates one of the actor's merchant's programs: it takes no new links and its links
/// stop redirecting.
pub async fn deactivate<S>(store: &S, actor: &Actor, id: ProgramId) -> ServiceResult<Program>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    let program = owned(store, actor, id).await?;
    Ok(store.set_program_active(program.id, false).await?)
}

/// The programs the actor may see: a merchant's own (active or not, not paged: a merchant has
/// few), or for influencers and administrators the open ones, a page at a time.
pub async fn list<S>(store: &S, actor: &Actor, page: Page<ProgramId>) -> ServiceResult<Vec<Program>>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    match actor.role() {
        Role::Merchant => {
            let merchant = own_merchant(store, actor).await?;
            let mine = store.programs_by_merchant(merchant.id).await?;
            Ok(mine
                .into_iter()
                .filter(|p| page.after.is_none_or(|after| p.id > after))
                .take(page.limit() as usize)
                .collect())
        }
        Role::Influencer | Role::Admin => Ok(store.open_programs(page).await?),
    }
}

/// One program the actor may see: a merchant's own, an open one for an influencer, any for
/// an administrator.
pub async fn get<S>(store: &S, actor: &Actor, id: ProgramId) -> ServiceResult<Program>
where
    S: MerchantRepo + ProgramRepo + ?Sized,
{
    match actor.role() {
        Role::Merchant => owned(store, actor, id).await,
        Role::Admin => Ok(store.program_by_id(id).await?),
        Role::Influencer => {
            let program = store.program_by_id(id).await?;
            let merchant = store.merchant_by_id(program.merchant_id).await?;
            if program.is_open(&merchant) {
                Ok(program)
            } else {
                Err(ServiceError::NotFound(Entity::Program))
            }
        }
    }
}
