//! The command line: `skinstack-server <command>`.

use clap::{Args, Parser, Subcommand};

/// SkinStack's reference server.
#[derive(Debug, Parser)]
#[command(name = "skinstack-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The server's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply, revert or list the database schema's migrations.
    Migrate(MigrateArgs),
}

/// `skinstack-server migrate ...`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// PostgreSQL URL, such as postgres://user:password@host:5432/skinstack.
    // hide_env_values: the URL may carry a password, and --help must not print it.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// The migration step to take.
    #[command(subcommand)]
    pub action: MigrateAction,
}

/// What `migrate` does.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the latest applied migration, or every one above `--to`.
    Down {
        /// Revert down to this version: it and the ones below stay applied (0 reverts all).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
        to: Option<i64>,
    },
    /// List every migration as applied or pending.
    Status,
}
