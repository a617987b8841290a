//! `skinstack-server merchants verify | unverify <id>`: the operator's side of merchant
//! verification, the same rule as `POST /v1/admin/merchants/{id}/verify`
//! (`skinstack_core::service::admin::change_verification`). Every server process hears of it
//! through the link change feed, so the merchant's links follow within a moment.

use crate::cli::{MerchantsAction, MerchantsArgs};
use anyhow::{bail, Context};
use chrono::Utc;
use skinstack_core::service::{admin, ServiceError};
use skinstack_core::{Entity, Health, MerchantId};

/// Verifies or un-verifies the merchant and prints its state.
pub async fn run(args: MerchantsArgs) -> anyhow::Result<()> {
    let store = crate::import_products::connect(args.database_url.as_deref()).await?;
    store
        .check()
        .await
        .context("the database is not ready (run `skinstack-server migrate up`)")?;
    let (id, verify) = match args.action {
        MerchantsAction::Verify { id } => (id, true),
        MerchantsAction::Unverify { id } => (id, false),
    };
    let merchant =
        match admin::change_verification(&store, MerchantId::from_uuid(id), verify, Utc::now())
            .await
        {
            Ok(merchant) => merchant,
            Err(ServiceError::NotFound(Entity::Merchant)) => bail!("no merchant {id}"),
            Err(other) => {
                // Reading a merchant back opens its credentials: the server's key is needed.
                return Err(other).context(
                    "cannot change the merchant (is SKINSTACK_SECRET_KEY set as for the server?)",
                );
            }
        };
    match merchant.verification.verified_at() {
        Some(at) => println!(
            "merchant {} ({}) is verified since {}",
            merchant.id,
            merchant.business_name.as_str(),
            at.to_rfc3339()
        ),
        None => println!(
            "merchant {} ({}) is unverified",
            merchant.id,
            merchant.business_name.as_str()
        ),
    }
    Ok(())
}
