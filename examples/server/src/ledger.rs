//! `skinstack-server approve-due`, `payouts create | list | export` and
//! `invoices create | list | mark-paid | export`: the ledger's jobs,
//! over a migrated PostgreSQL database. The rules live in `skinstack_core::service`; this
//! file connects, runs them, prints what happened, and writes payout CSV files.

use crate::cli::{ApproveDueArgs, InvoicesAction, InvoicesArgs, PayoutsAction, PayoutsArgs};
use anyhow::{bail, Context};
use async_trait::async_trait;
use chrono::Utc;
use skinstack_core::earning::amount_due;
use skinstack_core::earning::payout::{
    DeliveryError, PayoutBatch, PayoutMinimums, PayoutProvider, SkipReason,
};
use skinstack_core::export::spreadsheet_cell;
use skinstack_core::service::conversions::approve_due;
use skinstack_core::service::invoices::{create_statements, mark_statement_paid};
use skinstack_core::service::payouts::{create_payouts, PayoutError};
use skinstack_core::{
    MarkPaid, MerchantId, MerchantStatement, Page, PaymentReference, PayoutMethod, PayoutRepo,
    StatementIssue, StatementRepo,
};
use skinstack_pg::{Cipher, PgStore, SECRET_KEY_VAR};
use sqlx::postgres::PgPoolOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) async fn connect(url: Option<String>) -> anyhow::Result<PgStore> {
    let Some(url) = url else {
        bail!("DATABASE_URL is not set (or pass --database-url)");
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .context("cannot connect to the database at DATABASE_URL")?;
    // These jobs never read a merchant's credentials, so a missing key is no reason to refuse;
    // a key that is set must still be valid.
    let cipher = match std::env::var_os(SECRET_KEY_VAR) {
        Some(_) => Some(Cipher::from_env().context("SKINSTACK_SECRET_KEY is not a valid key")?),
        None => None,
    };
    Ok(PgStore::new(pool, cipher))
}

/// `approve-due`: approves every commission whose hold has passed.
pub async fn approve(args: ApproveDueArgs) -> anyhow::Result<()> {
    let store = connect(args.database_url).await?;
    let now = args.as_of.unwrap_or_else(Utc::now);
    let approved = approve_due(&store, now)
        .await
        .context("cannot approve commissions (is the database migrated?)")?;
    let plural = if approved.len() == 1 { "" } else { "s" };
    println!(
        "approved {} conversion{plural} as of {}",
        approved.len(),
        now.to_rfc3339()
    );
    Ok(())
}

/// The minimum payout of a currency without one of its own when `--min` gives none: 50.00.
const DEFAULT_MINIMUM: skinstack_core::Money = skinstack_core::Money::FIFTY;

/// `payouts ...`
pub async fn payouts(args: PayoutsArgs) -> anyhow::Result<()> {
    let store = connect(args.database_url).await?;
    match args.action {
        PayoutsAction::Create { min, out, as_of } => {
            let provider = CsvPayouts::new(out);
            let now = as_of.unwrap_or_else(Utc::now);
            let mut minimums = PayoutMinimums::from(DEFAULT_MINIMUM);
            for (currency, amount) in min {
                match currency {
                    Some(currency) => {
                        minimums.by_currency.insert(currency, amount);
                    }
                    None => minimums.default = amount,
                }
            }
            let run = match create_payouts(&store, &provider, now, minimums).await {
                Ok(run) => run,
                Err(PayoutError::Delivery { batch, error }) => {
                    bail!(
                        "batch {} is committed (its earnings are paid) but its files were not written: {error}; \
                         write them with `skinstack-server payouts export {} --out DIR`",
                        batch.id,
                        batch.id
                    )
                }
                Err(other) => {
                    return Err(other).context("cannot create payouts (is the database migrated?)")
                }
            };
            match &run.batch {
                Some(batch) => println!(
                    "batch {}: {} payout{}, {}",
                    batch.id,
                    batch.items.len(),
                    if batch.items.len() == 1 { "" } else { "s" },
                    batch.totals_text()
                ),
                None => println!("nothing to pay"),
            }
            for line in &run.delivered {
                println!("wrote {line}");
            }
            for skipped in &run.skipped {
                let why = match skipped.reason {
                    SkipReason::BelowMinimum => "below the minimum",
                    SkipReason::NotPositive => "not positive (carried to the next payout)",
                    SkipReason::NoPayoutMethod => "no payout method",
                    SkipReason::UnknownInfluencer => "profile deleted",
                    SkipReason::AwaitingMerchant => {
                        "awaiting the merchant (its statement is not paid yet)"
                    }
                };
                println!(
                    "skipped influencer {} balance {} {}: {why}",
                    skipped.influencer_id, skipped.balance, skipped.currency
                );
            }
        }
        PayoutsAction::List => {
            let batches = store
                .payout_batches()
                .await
                .context("cannot list payouts")?;
            if batches.is_empty() {
                println!("no payout batches");
            }
            for batch in batches {
                println!(
                    "{} {} {} payout{} {} (minimum {})",
                    batch.id,
                    batch.created_at.to_rfc3339(),
                    batch.items.len(),
                    if batch.items.len() == 1 { "" } else { "s" },
                    batch.totals_text(),
                    batch.minimum
                );
            }
        }
        PayoutsAction::Export { batch, out } => {
            let batches = store
                .payout_batches()
                .await
                .context("cannot list payouts")?;
            let Some(found) = batches.into_iter().find(|b| b.id == batch) else {
                bail!("no payout batch {batch}");
            };
            for line in CsvPayouts::new(out).deliver(&found).await? {
                println!("wrote {line}");
            }
        }
    }
    Ok(())
}

/// The payout provider of this version: one CSV file per payout method, for a person to pay
/// from (Stripe dashboard, PayPal mass payout, bank). Columns: influencer_id, display_name,
/// payout_account, amount, currency, reference.
pub struct CsvPayouts {
    dir: PathBuf,
}

impl CsvPayouts {
    /// Writes into `dir`, creating it if needed.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn write(&self, batch: &PayoutBatch) -> anyhow::Result<Vec<String>> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let mut written = Vec::new();
        for method in [
            PayoutMethod::Stripe,
            PayoutMethod::PayPal,
            PayoutMethod::Ach,
        ] {
            let items: Vec<_> = batch.items.iter().filter(|i| i.method == method).collect();
            if items.is_empty() {
                continue;
            }
            let path = self
                .dir
                .join(format!("payouts-{}-{}.csv", batch.id, method.as_str()));
            // Written aside and renamed: a reader never sees half a file.
            let partial = path.with_extension("csv.partial");
            write_csv(&partial, &items)?;
            std::fs::rename(&partial, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path.display().to_string());
        }
        Ok(written)
    }
}

fn write_csv(
    path: &Path,
    items: &[&skinstack_core::earning::payout::PayoutItem],
) -> anyhow::Result<()> {
    let mut out =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    out.write_record([
        "influencer_id",
        "display_name",
        "payout_account",
        "amount",
        "currency",
        "reference",
    ])?;
    for item in items {
        // A display name or an account is the influencer's own text: neutralised, as every
        // cell is, before an operator's spreadsheet can run it.
        let cells = [
            item.influencer_id.to_string(),
            item.display_name.clone(),
            item.account.clone(),
            item.amount.to_string(),
            item.currency.as_str().to_owned(),
            item.reference.clone(),
        ];
        out.write_record(cells.iter().map(|c| spreadsheet_cell(c).into_owned()))?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[async_trait]
impl PayoutProvider for CsvPayouts {
    async fn deliver(&self, batch: &PayoutBatch) -> Result<Vec<String>, DeliveryError> {
        self.write(batch).map_err(|err| DeliveryError(err.into()))
    }
}

fn describe(statement: &MerchantStatement) -> String {
    let total = statement.total();
    let paid = match (&statement.paid_at, &statement.payment_reference) {
        (Some(at), Some(reference)) => format!(" on {} ref {reference}", at.to_rfc3339()),
        _ => String::new(),
    };
    format!(
        "{} merchant {} {} {}{paid}: {} line{}, {} {} gross (fee {}, influencers {})",
        statement.id,
        statement.merchant_id,
        statement.period,
        statement.status.as_str(),
        statement.lines.len(),
        if statement.lines.len() == 1 { "" } else { "s" },
        total.gross,
        statement.currency,
        total.platform_fee,
        total.influencer_earnings,
    )
}

/// `invoices ...`
pub async fn invoices(args: InvoicesArgs) -> anyhow::Result<()> {
    let store = connect(args.database_url).await?;
    match args.action {
        InvoicesAction::Create {
            period,
            merchant,
            as_of,
        } => {
            let now = as_of.unwrap_or_else(Utc::now);
            let issued =
                create_statements(&store, period, merchant.map(MerchantId::from_uuid), now)
                    .await
                    .context("cannot issue statements")?;
            if issued.is_empty() {
                println!("nothing to bill for {period}");
            }
            for (merchant, issue) in issued {
                match issue {
                    StatementIssue::Issued(s) => println!("issued {}", describe(&s)),
                    StatementIssue::Existing(s) => println!("already issued {}", describe(&s)),
                    StatementIssue::NothingToBill => {
                        println!("nothing to bill for merchant {merchant} in {period}")
                    }
                }
            }
        }
        InvoicesAction::List => {
            let mut all = Vec::new();
            let mut page = Page::largest(None);
            loop {
                let batch = store
                    .statements(page)
                    .await
                    .context("cannot list statements")?;
                let next = page.next_cursor(&batch, |s| s.id);
                all.extend(batch);
                match next {
                    Some(after) => page = Page::largest(Some(after)),
                    None => break,
                }
            }
            if all.is_empty() {
                println!("no statements");
            }
            for statement in &all {
                println!("{}", describe(statement));
            }
            // Each merchant's statements are in its currency; dues of two are never added.
            let mut by_currency: std::collections::BTreeMap<_, Vec<_>> = Default::default();
            for statement in &all {
                by_currency
                    .entry(statement.currency)
                    .or_default()
                    .push(statement);
            }
            if by_currency.is_empty() {
                println!("due 0 USD");
            }
            for (currency, statements) in by_currency {
                println!("due {} {currency}", amount_due(statements));
            }
        }
        InvoicesAction::MarkPaid {
            id,
            reference,
            as_of,
        } => {
            let reference = PaymentReference::parse(&reference)
                .map_err(|reason| anyhow::anyhow!("reference {reason}"))?;
            let now = as_of.unwrap_or_else(Utc::now);
            match mark_statement_paid(&store, id, &reference, now).await {
                Ok(MarkPaid::Marked(s)) => println!("paid {}", describe(&s)),
                Ok(MarkPaid::AlreadyPaid(s)) => println!("already paid {}", describe(&s)),
                Err(skinstack_core::service::ServiceError::NotFound(_)) => {
                    bail!("no statement {id}")
                }
                Err(other) => return Err(other).context("cannot record the payment"),
            }
        }
        InvoicesAction::Export { id, out } => {
            let Some(statement) = store
                .statement_by_id(id)
                .await
                .context("cannot read the statement")?
            else {
                bail!("no statement {id}");
            };
            match out {
                Some(path) => {
                    let partial = path.with_extension("csv.partial");
                    let file = std::fs::File::create(&partial)
                        .with_context(|| format!("cannot write {}", partial.display()))?;
                    write_statement(file, &statement)?;
                    std::fs::rename(&partial, &path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                None => write_statement(std::io::stdout().lock(), &statement)?,
            }
        }
    }
    Ok(())
}

/// Writes `statement` as the API's CSV.
fn write_statement(
    mut to: impl std::io::Write,
    statement: &MerchantStatement,
) -> anyhow::Result<()> {
    let csv = skinstack_http::routes::invoices::statement_csv(statement)?;
    to.write_all(&csv).context("cannot write the CSV")?;
    to.flush().context("cannot write the CSV")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use skinstack_core::earning::payout::PayoutItem;
    use skinstack_core::{Currency, InfluencerId, Money, PayoutBatchId, PayoutItemId};

    #[tokio::test]
    async fn a_payout_csv_never_hands_a_spreadsheet_a_formula() {
        let hostile = r#"=HYPERLINK("http://x","claim")"#;
        let item = |name: &str, account: &str| PayoutItem {
            id: PayoutItemId::new(),
            influencer_id: InfluencerId::new(),
            display_name: name.to_owned(),
            method: PayoutMethod::PayPal,
            account: account.to_owned(),
            amount: Money::new(rust_decimal::Decimal::new(1_250, 2)).unwrap(),
            currency: Currency::USD,
            reference: format!("ref-{}", PayoutItemId::new()),
        };
        let batch = PayoutBatch {
            id: PayoutBatchId::new(),
            created_at: Utc::now(),
            minimum: Money::ZERO,
            items: vec![
                item(hostile, "+1@paypal.example.com"),
                item("@Ana", "-ana@paypal.example.com"),
                item("\tTab", "\rcr@paypal.example.com"),
                item("Ana Glow", "ana@paypal.example.com"),
            ],
        };
        let dir = std::env::temp_dir().join(format!("skinstack-csv-{}", uuid::Uuid::new_v4()));
        let written = CsvPayouts::new(dir.clone()).deliver(&batch).await.unwrap();
        assert_eq!(written.len(), 1);
        let mut reader = csv::Reader::from_path(&written[0]).unwrap();
        let mut rows = 0;
        let mut names = Vec::new();
        for record in reader.records() {
            let record = record.unwrap();
            rows += 1;
            for cell in record.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "a cell a spreadsheet would run: {cell:?}"
                );
            }
            names.push(record[1].to_owned());
        }
        assert_eq!(rows, 4);
        // The text is kept, shown as text.
        assert_eq!(names[0], format!("'{hostile}"));
        assert_eq!(names[3], "Ana Glow");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_payout_csv_gives_every_row_its_own_currency_and_totals_stay_apart() {
        let ana = InfluencerId::new();
        let item = |amount: i64, scale: u32, code: &str| PayoutItem {
            id: PayoutItemId::new(),
            influencer_id: ana,
            display_name: "Ana Glow".to_owned(),
            method: PayoutMethod::PayPal,
            account: "ana@paypal.example.com".to_owned(),
            amount: Money::new(rust_decimal::Decimal::new(amount, scale)).unwrap(),
            currency: Currency::parse(code).unwrap(),
            reference: format!("ref-{}", PayoutItemId::new()),
        };
        let batch = PayoutBatch {
            id: PayoutBatchId::new(),
            created_at: Utc::now(),
            minimum: Money::ZERO,
            items: vec![
                item(720, 2, "EUR"),
                item(1975, 0, "JPY"),
                item(720, 2, "USD"),
            ],
        };
        assert_eq!(batch.totals_text(), "7.20 EUR, 1975.00 JPY, 7.20 USD");
        let dir = std::env::temp_dir().join(format!("skinstack-csv-{}", uuid::Uuid::new_v4()));
        let written = CsvPayouts::new(dir.clone()).deliver(&batch).await.unwrap();
        let mut reader = csv::Reader::from_path(&written[0]).unwrap();
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[3].to_owned(), r[4].to_owned())
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("7.20".to_owned(), "EUR".to_owned()),
                ("1975.00".to_owned(), "JPY".to_owned()),
                ("7.20".to_owned(), "USD".to_owned()),
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
