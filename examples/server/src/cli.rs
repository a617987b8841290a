//! The command line: `skinstack-server <command>`.

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use skinstack_core::{BillingPeriod, Currency, Money, PayoutBatchId, StatementId};
use std::net::SocketAddr;
use std::path::PathBuf;

/// SkinStack's reference server.
#[derive(Debug, Parser)]
#[command(name = "skinstack-server", version, about)]
pub struct Cli {
    /// What to do (`serve` when omitted).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The server's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the redirect on --listen.
    Serve(ServeArgs),
    /// Apply, revert or list the database schema's migrations.
    Migrate(MigrateArgs),
    /// Create an administrator account (password from a prompt, or stdin when piped).
    CreateAdmin(CreateAdminArgs),
    /// Import a merchant's catalogue from CSV or a Shopify products.json export.
    ImportProducts(ImportProductsArgs),
    /// Approve every commission whose hold period has passed (idempotent; run it daily).
    ApproveDue(ApproveDueArgs),
    /// Create, list or re-export payout batches.
    Payouts(PayoutsArgs),
    /// Verify or un-verify a merchant (its links redirect only while it is verified).
    Merchants(MerchantsArgs),
    /// Maintain the raw clicks: drop old months (roll-ups, attributions and the ledger stay).
    Clicks(ClicksArgs),
    /// Issue merchant statements (invoices), list them, record payments, export CSV.
    Invoices(InvoicesArgs),
}

/// `skinstack-server merchants verify | unverify <id>`
#[derive(Debug, Args)]
pub struct MerchantsArgs {
    /// PostgreSQL URL of a migrated database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub action: MerchantsAction,
}

/// What `merchants` does.
#[derive(Debug, Subcommand)]
pub enum MerchantsAction {
    /// Verify a merchant: its programs open to influencers and its links redirect.
    Verify {
        /// The merchant's id.
        id: uuid::Uuid,
    },
    /// Put a merchant back to unverified: its links answer 410, its API keys stop working.
    Unverify {
        /// The merchant's id.
        id: uuid::Uuid,
    },
}

/// `skinstack-server clicks ...`
#[derive(Debug, Args)]
pub struct ClicksArgs {
    /// PostgreSQL URL of a migrated database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub action: ClicksAction,
}

/// What `clicks` does.
#[derive(Debug, Subcommand)]
pub enum ClicksAction {
    /// Drop the monthly partitions of raw clicks older than --older-than months (the current
    /// month is never counted; at least 12, the longest cookie window). Daily statistics,
    /// conversions and their attributions, and the ledger are kept.
    Prune {
        /// Keep this many whole months before the current one.
        #[arg(long, value_name = "MONTHS")]
        older_than: u32,
        /// Prune as of this instant (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME", value_parser = parse_instant)]
        as_of: Option<DateTime<Utc>>,
    },
}

/// `skinstack-server invoices ...`
#[derive(Debug, Args)]
pub struct InvoicesArgs {
    /// PostgreSQL URL of a migrated database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub action: InvoicesAction,
}

/// What `invoices` does.
#[derive(Debug, Subcommand)]
pub enum InvoicesAction {
    /// Issue the month's statement of every merchant with unbilled approved commissions (or
    /// of --merchant): idempotent, a month is billed once.
    Create {
        /// The month billed, as YYYY-MM.
        #[arg(long, value_name = "YYYY-MM", value_parser = parse_period)]
        period: BillingPeriod,
        /// Only this merchant.
        #[arg(long, value_name = "ID")]
        merchant: Option<uuid::Uuid>,
        /// Issue as of this instant (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME", value_parser = parse_instant)]
        as_of: Option<DateTime<Utc>>,
    },
    /// List every statement, oldest first, with what is due.
    List,
    /// Record a merchant's payment of a statement: its commissions become payable.
    MarkPaid {
        /// The statement.
        #[arg(value_parser = parse_statement)]
        id: StatementId,
        /// The payment's reference (a transfer id).
        #[arg(long)]
        reference: String,
        /// Record it as of this instant (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME", value_parser = parse_instant)]
        as_of: Option<DateTime<Utc>>,
    },
    /// Write a statement's lines as CSV to --out, or to standard output.
    Export {
        /// The statement.
        #[arg(value_parser = parse_statement)]
        id: StatementId,
        /// The CSV file to write.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn parse_period(value: &str) -> Result<BillingPeriod, String> {
    BillingPeriod::parse(value).map_err(|reason| format!("period {reason}"))
}

fn parse_header_name(value: &str) -> Result<axum::http::HeaderName, String> {
    axum::http::HeaderName::try_from(value)
        .map_err(|_| format!("{value:?} is not a header name such as CF-IPCountry"))
}

fn parse_statement(value: &str) -> Result<StatementId, String> {
    uuid::Uuid::try_parse(value)
        .map(StatementId::from_uuid)
        .map_err(|_| "expected a statement id (a UUID)".to_owned())
}

/// `skinstack-server create-admin --email <email>`
#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    /// The administrator's login address.
    #[arg(long)]
    pub email: String,

    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// `skinstack-server import-products --merchant <id> <file>`
#[derive(Debug, Args)]
pub struct ImportProductsArgs {
    /// The merchant whose catalogue this is.
    #[arg(long, value_name = "ID")]
    pub merchant: uuid::Uuid,

    /// Put every imported product in this program (one of the merchant's).
    #[arg(long, value_name = "ID")]
    pub program: Option<uuid::Uuid>,

    /// A CSV file (external_id, name, description, price, image_url, product_url, category,
    /// in_stock) or a Shopify `products.json` export.
    pub file: std::path::PathBuf,

    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// `skinstack-server approve-due`
#[derive(Debug, Args)]
pub struct ApproveDueArgs {
    /// PostgreSQL URL of a migrated database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Approve as of this instant (RFC 3339) instead of now: to replay a missed day.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub as_of: Option<DateTime<Utc>>,
}

/// `skinstack-server payouts ...`
#[derive(Debug, Args)]
pub struct PayoutsArgs {
    /// PostgreSQL URL of a migrated database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub action: PayoutsAction,
}

/// What `payouts` does.
#[derive(Debug, Subcommand)]
pub enum PayoutsAction {
    /// Pay every influencer's approved, unpaid earnings of at least --min in each currency,
    /// one item per influencer and currency, one CSV per payout method in --out; those left
    /// out are listed and stay payable.
    Create {
        /// Smallest payout: `AMOUNT` for every currency without its own (50.00 if not given),
        /// `CODE=AMOUNT` for one (`--min 50 --min JPY=5000`); repeatable.
        #[arg(long, value_name = "[CODE=]AMOUNT", value_parser = parse_minimum)]
        min: Vec<(Option<Currency>, Money)>,
        /// Directory for the CSV files (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Create the batch as of this instant (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME", value_parser = parse_instant)]
        as_of: Option<DateTime<Utc>>,
    },
    /// List every batch, newest first.
    List,
    /// Write a committed batch's CSV files again (its events stay paid once).
    Export {
        /// The batch.
        #[arg(value_parser = parse_batch)]
        batch: PayoutBatchId,
        /// Directory for the CSV files.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

fn parse_instant(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "expected an RFC 3339 time such as 2025-03-01T00:00:00Z".to_owned())
}

fn parse_money(value: &str) -> Result<Money, String> {
    Money::parse(value).map_err(|reason| format!("amount {reason}"))
}

/// `AMOUNT` (every currency) or `CODE=AMOUNT` (one currency, whose minor unit it must fit).
fn parse_minimum(value: &str) -> Result<(Option<Currency>, Money), String> {
    match value.split_once('=') {
        None => Ok((None, parse_money(value)?)),
        Some((code, amount)) => {
            let currency = Currency::parse(code).map_err(|reason| format!("currency {reason}"))?;
            let amount = parse_money(amount)?;
            currency
                .check(amount.amount())
                .map_err(|reason| format!("amount {reason}"))?;
            Ok((Some(currency), amount))
        }
    }
}

fn parse_batch(value: &str) -> Result<PayoutBatchId, String> {
    uuid::Uuid::try_parse(value)
        .map(PayoutBatchId::from_uuid)
        .map_err(|_| "expected a batch id (a UUID)".to_owned())
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

/// `skinstack-server serve ...`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Refuse orders dated more than this many days before they are received (1-365); orders
    /// more than 5 minutes ahead are always refused.
    #[arg(long, env = "SKINSTACK_MAX_ORDER_AGE_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(i64).range(1..=365))]
    pub max_order_age_days: i64,
    /// How many orders one click id (`ssclid`) may attribute (1-1000); later orders carrying it
    /// fall back to their coupon or stay unattributed, counted as `click_reuse` in /metrics.
    #[arg(long, env = "SKINSTACK_CLICK_REUSE_LIMIT", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub click_reuse_limit: u32,

    /// PostgreSQL URL; without one the server runs on an in-memory store with demo data.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Do not apply pending migrations at start-up.
    #[arg(long)]
    pub no_migrate: bool,

    /// Read the client address from the right-most X-Forwarded-For entry. Only behind a
    /// reverse proxy that sets it; otherwise clients can claim any address.
    #[arg(long)]
    pub trust_forwarded_for: bool,

    /// Record each click's country from this request header, set by the edge in front
    /// (CF-IPCountry, CloudFront-Viewer-Country, X-Vercel-IP-Country, ...). Off by default:
    /// only behind an edge that sets it on every request, otherwise clients can claim any
    /// country.
    #[arg(long, env = "SKINSTACK_COUNTRY_HEADER", value_parser = parse_header_name)]
    pub country_header: Option<axum::http::HeaderName>,

    /// Record each click's country from this MaxMind DB (.mmdb) country database
    /// (GeoLite2-Country, GeoIP2-Country, DB-IP's IP-to-Country Lite), read into memory at
    /// start; a file that is not one is a startup error. The client's full address is looked
    /// up in memory, then anonymised as always. --country-header wins when its header names a
    /// country. Behind a proxy, use it with --trust-forwarded-for.
    #[arg(long, value_name = "FILE", env = "SKINSTACK_GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,

    /// Keep no user agent and no referer of any click: only the families the statistics
    /// break down by (device, OS, browser, in-app app, and the referring page's registrable
    /// domain) are derived at the redirect and stored, in the database and the click journal.
    /// Robots are still told apart by their user agent.
    #[arg(long, env = "SKINSTACK_NO_VISITOR_HEADERS")]
    pub no_visitor_headers: bool,

    /// The public base URL of short links, such as https://skin.st: QR codes and the dashboard
    /// show links under it, and the dashboard's cookie is `Secure` when it is https
    /// (default: http://<listen address>).
    #[arg(long, env = "SKINSTACK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Without DATABASE_URL: let the demo accounts (ana@demo.skinstack.dev, the influencer,
    /// brand@demo.skinstack.dev, the merchant, and admin@demo.skinstack.dev, the administrator
    /// who verifies new merchants) log in with this password (12 characters or more). Without
    /// it the server generates one and prints it once, under the dashboard's URL.
    #[arg(long, env = "SKINSTACK_DEMO_PASSWORD", hide_env_values = true)]
    pub demo_password: Option<String>,

    /// Log lines as text or as one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Append every click to a journal in this directory before answering, and replay what a
    /// killed process left there at start-up: no click is lost to `kill -9` (only an OS crash
    /// can lose the last flush interval's), nor to a database outage longer than the click
    /// buffer lasts. One directory per process. On PostgreSQL the journal is on by default, in
    /// `<data-dir>/click-journal`.
    #[arg(long, value_name = "DIR", conflicts_with = "no_click_journal")]
    pub click_journal: Option<PathBuf>,

    /// Run without the click journal: a killed process loses its buffered clicks, and in a
    /// database outage longer than the buffer lasts, clicks are dropped (counted in
    /// `skinstack_clicks_dropped_total`) while redirects go on.
    #[arg(long)]
    pub no_click_journal: bool,

    /// Where the server keeps its local files (the click journal, and `set-aside.tsv` of
    /// clicks the database refused); created if missing. One directory per process.
    #[arg(
        long,
        value_name = "DIR",
        env = "SKINSTACK_DATA_DIR",
        default_value = "skinstack-data"
    )]
    pub data_dir: PathBuf,

    /// Clicks the in-memory buffer holds while the database is slow or away (at 1 000 clicks a
    /// second, the default lasts 100 s of an outage).
    #[arg(long, value_name = "CLICKS", default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub click_buffer: u32,

    /// Longest a redirect waits for room in a full click buffer before the click is spooled
    /// to the journal (or dropped without one), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub click_wait_ms: u64,

    /// How often, in seconds, the seed's `tracking_links.total_clicks` column is folded from
    /// the click roll-ups on PostgreSQL (the API reads the roll-ups, exact at once; this is
    /// the column's lag for SQL readers). Also folded after a graceful stop's last flush.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub click_total_interval: u64,

    /// PostgreSQL pool sizes, one pool per kind of work.
    #[command(flatten)]
    pub pools: crate::pools::PoolArgs,
}

impl ServeArgs {
    /// The journal directory, if the journal is on: `--click-journal`, else the data
    /// directory's unless `--no-click-journal`.
    pub fn journal_dir(&self) -> Option<PathBuf> {
        if self.no_click_journal {
            return None;
        }
        Some(
            self.click_journal
                .clone()
                .unwrap_or_else(|| self.data_dir.join("click-journal")),
        )
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["skinstack-server", "serve"].iter().chain(args);
        match Cli::try_parse_from(argv)?.command {
            Some(Command::Serve(serve)) => Ok(serve),
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn the_click_journal_is_on_by_default_in_the_data_directory_and_off_only_when_asked() {
        let journal = |args: &[&str]| serve(args).unwrap().journal_dir();
        if std::env::var_os("SKINSTACK_DATA_DIR").is_none() {
            assert_eq!(
                journal(&[]),
                Some(PathBuf::from("skinstack-data/click-journal"))
            );
        }
        assert_eq!(
            journal(&["--data-dir", "/srv/skin"]),
            Some(PathBuf::from("/srv/skin/click-journal"))
        );
        assert_eq!(
            journal(&["--data-dir", "/srv/skin", "--click-journal", "/mnt/j"]),
            Some(PathBuf::from("/mnt/j"))
        );
        assert_eq!(journal(&["--no-click-journal"]), None);
        assert!(serve(&["--no-click-journal", "--click-journal", "/mnt/j"]).is_err());
    }

    #[test]
    fn one_order_per_click_by_default_and_a_click_reuse_limit_of_zero_is_refused() {
        if std::env::var_os("SKINSTACK_CLICK_REUSE_LIMIT").is_none() {
            assert_eq!(serve(&[]).unwrap().click_reuse_limit, 1);
        }
        assert_eq!(
            serve(&["--click-reuse-limit", "3"])
                .unwrap()
                .click_reuse_limit,
            3
        );
        assert!(serve(&["--click-reuse-limit", "0"]).is_err());
        assert!(serve(&["--click-reuse-limit", "1001"]).is_err());
    }

    #[test]
    fn the_click_buffer_flags_refuse_an_empty_buffer_and_a_wait_past_a_second() {
        let defaults = serve(&[]).unwrap();
        assert_eq!(
            (defaults.click_buffer, defaults.click_wait_ms),
            (100_000, 5)
        );
        assert!(serve(&["--click-buffer", "0"]).is_err());
        assert!(serve(&["--click-wait-ms", "1001"]).is_err());
        let small = serve(&["--click-buffer", "200", "--click-wait-ms", "0"]).unwrap();
        assert_eq!((small.click_buffer, small.click_wait_ms), (200, 0));
    }
}
