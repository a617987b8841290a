//! `skinstack-server create-admin --email <email>`: the only way to make an administrator.
//! The password comes from a prompt (asked twice) on a terminal, or from the first line of
//! stdin when piped — never from a flag, where it would land in shell history and `ps`.

use crate::cli::CreateAdminArgs;
use anyhow::{bail, Context};
use skinstack_core::service::{accounts, Conflict, ServiceError};
use skinstack_core::{Argon2Hasher, Email, Health, Password};
use std::io::{BufRead, IsTerminal};

/// Creates the administrator and prints its id.
pub async fn run(args: CreateAdminArgs) -> anyhow::Result<()> {
    let email = Email::parse(&args.email).map_err(|reason| anyhow::anyhow!("email {reason}"))?;
    let password = read_password()?;
    let password =
        Password::parse(&password).map_err(|reason| anyhow::anyhow!("password {reason}"))?;
    let store = crate::import_products::connect(args.database_url.as_deref()).await?;
    store
        .check()
        .await
        .context("the database is not ready (run `skinstack-server migrate up`)")?;
    let admin =
        match accounts::create_admin(&store, &Argon2Hasher::default(), email, password).await {
            Ok(user) => user,
            Err(ServiceError::Conflict(Conflict::EmailTaken)) => {
                bail!("{} is already registered", args.email.trim())
            }
            Err(other) => return Err(other).context("cannot create the administrator"),
        };
    println!("created administrator {} ({})", admin.email, admin.id);
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (12 characters or more): ")
            .context("cannot read the password")?;
        let again = rpassword::prompt_password("Same password again: ")
            .context("cannot read the password")?;
        if first != again {
            bail!("the passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        // Only the line ending is dropped: spaces are part of a passphrase.
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    }
}
