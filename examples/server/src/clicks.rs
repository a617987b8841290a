//! `skinstack-server clicks prune`: retention of raw clicks over a migrated PostgreSQL
//! database. The rule (how far back, never inside a cookie window) is
//! `skinstack_core::tracking::retention`; dropping partitions is `skinstack_pg`.

use crate::cli::{ClicksAction, ClicksArgs};
use crate::ledger::connect;
use anyhow::Context;
use chrono::Utc;
use skinstack_core::tracking::retention::Retention;

/// `clicks ...`
pub async fn run(args: ClicksArgs) -> anyhow::Result<()> {
    match args.action {
        ClicksAction::Prune { older_than, as_of } => {
            let retention = Retention::new(older_than)
                .map_err(|reason| anyhow::anyhow!("--older-than {reason}"))?;
            let store = connect(args.database_url).await?;
            let pruned = store
                .prune_clicks(retention, as_of.unwrap_or_else(Utc::now))
                .await
                .context("cannot prune clicks (is the database migrated?)")?;
            for partition in &pruned.partitions {
                println!("dropped {partition}");
            }
            println!(
                "raw clicks before {} pruned ({} partition{}); daily statistics, attributions and the ledger kept",
                pruned.cutoff.to_rfc3339(),
                pruned.partitions.len(),
                if pruned.partitions.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
    }
}
