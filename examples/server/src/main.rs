//! The reference server's entry point: parse the command line, run the command, and turn any
//! failure into one line on stderr and a non-zero exit.

mod cli;
mod migrate;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Migrate(args) => migrate::run(args).await,
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
