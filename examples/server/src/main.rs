//! The reference server's entry point: parse the command line, run the command, and turn any
//! failure into one line on stderr and a non-zero exit.

mod cli;
mod clicks;
mod create_admin;
mod demo;
mod import_products;
mod ledger;
mod merchants;
mod migrate;
mod pools;
mod serve;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let command = match cli::Cli::parse().command {
        Some(command) => command,
        // No subcommand means `serve` with its defaults (and DATABASE_URL from the environment).
        None => match cli::Cli::parse_from(["skinstack-server", "serve"]).command {
            Some(command) => command,
            None => unreachable!("`serve` parses as a command"),
        },
    };
    let result = match command {
        cli::Command::Serve(args) => serve::run(args).await,
        cli::Command::Migrate(args) => migrate::run(args).await,
        cli::Command::CreateAdmin(args) => create_admin::run(args).await,
        cli::Command::ImportProducts(args) => import_products::run(args).await,
        cli::Command::ApproveDue(args) => ledger::approve(args).await,
        cli::Command::Payouts(args) => ledger::payouts(args).await,
        cli::Command::Merchants(args) => merchants::run(args).await,
        cli::Command::Clicks(args) => clicks::run(args).await,
        cli::Command::Invoices(args) => ledger::invoices(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("skinstack-server: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The cause chain on one line. sqlx's errors already print their source, so a cause whose
/// text is already there is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}
