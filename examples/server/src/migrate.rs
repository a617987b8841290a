//! `skinstack-server migrate up | down [--to N] | status`: the schema's migrations, applied
//! and reverted with `skinstack_pg::MIGRATOR`, reported by version and name.

use crate::cli::{MigrateAction, MigrateArgs};
use anyhow::{bail, Context};
use skinstack_pg::MIGRATOR;
use sqlx::migrate::Migration;
use sqlx::{Connection, PgConnection};
use std::collections::BTreeMap;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs one `migrate` action against `DATABASE_URL`.
pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let Some(url) = args.database_url else {
        bail!("DATABASE_URL is not set (or pass --database-url)");
    };
    let mut conn = connect(&url).await?;
    let result = match args.action {
        MigrateAction::Up => up(&mut conn).await,
        MigrateAction::Down { to } => down(&mut conn, to).await,
        MigrateAction::Status => status(&mut conn).await,
    };
    // A failed goodbye changes nothing the command did.
    let _ = conn.close().await;
    result
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    // One connection is all a migration needs, and unlike a pool it reports the real cause
    // (refused, unknown host, bad password) at once instead of retrying until a timeout. The
    // timeout still bounds a silently dropped connection. The URL is not repeated in the
    // message because it may hold a password.
    const CONTEXT: &str = "cannot connect to the database at DATABASE_URL";
    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {}s", CONNECT_TIMEOUT.as_secs()))
        .context(CONTEXT)?
        .context(CONTEXT)
}

/// The up migrations this binary carries, by version.
fn known() -> BTreeMap<i64, &'static Migration> {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m))
        .collect()
}

/// The seed's name for a migration: sqlx turns `_` in file names into spaces.
fn name(migration: &Migration) -> String {
    migration.description.replace(' ', "_")
}

/// Applied versions with whether each succeeded; empty before the first migration.
async fn applied(conn: &mut PgConnection) -> anyhow::Result<BTreeMap<i64, bool>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .context("cannot read the migration history")?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(i64, bool)> = sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
        .fetch_all(&mut *conn)
        .await
        .context("cannot read the migration history")?;
    Ok(rows.into_iter().collect())
}

async fn up(conn: &mut PgConnection) -> anyhow::Result<()> {
    let before = applied(conn).await?;
    let result = MIGRATOR.run(&mut *conn).await;
    // Report what did get applied even if a later migration failed.
    let after = applied(conn).await?;
    let known = known();
    let mut count = 0;
    for version in after.keys().filter(|v| !before.contains_key(v)) {
        if let Some(m) = known.get(version) {
            println!("applied {version} {}", name(m));
            count += 1;
        }
    }
    result.context("migration failed")?;
    if count == 0 {
        println!(
            "nothing to apply: all {} migrations are applied",
            known.len()
        );
    }
    Ok(())
}

async fn down(conn: &mut PgConnection, to: Option<i64>) -> anyhow::Result<()> {
    let before = applied(conn).await?;
    let Some(&latest) = before.keys().next_back() else {
        println!("nothing to revert: no migration is applied");
        return Ok(());
    };
    // Without --to, only the latest one goes.
    let target = match to {
        Some(to) => to,
        None => before.keys().rev().nth(1).copied().unwrap_or(0),
    };
    if target >= latest {
        println!("nothing to revert: version {latest} is the latest applied");
        return Ok(());
    }
    let result = MIGRATOR.undo(&mut *conn, target).await;
    let after = applied(conn).await?;
    let known = known();
    for version in before.keys().rev().filter(|v| !after.contains_key(v)) {
        let name = known.get(version).map(|m| name(m)).unwrap_or_default();
        println!("reverted {version} {name}");
    }
    result.context("revert failed")?;
    Ok(())
}

async fn status(conn: &mut PgConnection) -> anyhow::Result<()> {
    let applied = applied(conn).await?;
    let known = known();
    for (version, migration) in &known {
        let state = match applied.get(version) {
            Some(true) => "applied",
            Some(false) => "failed",
            None => "pending",
        };
        println!("{version} {} {state}", name(migration));
    }
    for version in applied.keys().filter(|v| !known.contains_key(v)) {
        println!("{version} (not in this build) applied");
    }
    Ok(())
}
