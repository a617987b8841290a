//! `programs`: commission programs.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::store::{Page, ProgramRepo, RepoResult};
use skinstack_core::{
    Commission, CookieWindow, Currency, EnrollmentMode, Entity, FeeRate, MerchantId, Name, Network,
    NewProgram, Program, ProgramId, ProgramPatch, RepoError,
};
use uuid::Uuid;

/// The columns a `ProgramRow` reads. The seed gives commission_type, cookie_window_days and
/// platform_fee_rate defaults but no NOT NULL, so a NULL reads as the default.
macro_rules! columns {
    () => {
        "id, merchant_id, name, network, \
         COALESCE(commission_type, 'percentage') AS commission_type, \
         commission_rate, fixed_amount, \
         COALESCE(cookie_window_days, 30) AS cookie_window_days, \
         COALESCE(platform_fee_rate, 0.20) AS platform_fee_rate, \
         enrollment_mode, is_active, created_at, updated_at, \
         (SELECT cm.currency FROM merchants cm WHERE cm.id = merchant_id) AS currency"
    };
}

#[derive(sqlx::FromRow)]
struct ProgramRow {
    id: Uuid,
    merchant_id: Uuid,
    name: String,
    network: String,
    commission_type: String,
    commission_rate: Option<Decimal>,
    fixed_amount: Option<Decimal>,
    cookie_window_days: i32,
    platform_fee_rate: Decimal,
    enrollment_mode: String,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    currency: String,
}

impl TryFrom<ProgramRow> for Program {
    type Error = RepoError;

    fn try_from(row: ProgramRow) -> RepoResult<Program> {
        let p = RowParser::new("programs", row.id);
        Ok(Program {
            id: ProgramId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            currency: p.field("currency", Currency::parse(&row.currency))?,
            name: p.field("name", Name::parse(&row.name))?,
            network: p.field("network", Network::parse(&row.network))?,
            commission: Commission::from_columns(
                &row.commission_type,
                row.commission_rate,
                row.fixed_amount,
            )
            .map_err(|err| p.corrupt(err))?,
            cookie_window: p.field(
                "cookie_window_days",
                CookieWindow::new(i64::from(row.cookie_window_days)),
            )?,
            platform_fee_rate: p.field("platform_fee_rate", FeeRate::new(row.platform_fee_rate))?,
            enrollment_mode: p.field(
                "enrollment_mode",
                EnrollmentMode::parse(&row.enrollment_mode),
            )?,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn found(row: Option<ProgramRow>) -> RepoResult<Program> {
    row.ok_or(RepoError::NotFound(Entity::Program))?.try_into()
}

#[async_trait]
impl ProgramRepo for PgStore {
    async fn create_program(&self, new: NewProgram) -> RepoResult<Program> {
        let (rate, fixed) = match new.commission {
            Commission::Percentage(rate) => (Some(rate.percent()), None),
            Commission::Fixed(amount) => (None, Some(amount.amount())),
        };
        // Every value was range-checked by its domain type for the seed's precisions; an
        // overflow here would mean the two disagree, so it is reported against the amount.
        let row: ProgramRow = sqlx::query_as(concat!(
            "INSERT INTO programs (id, merchant_id, name, network, commission_type, \
             commission_rate, fixed_amount, cookie_window_days, platform_fee_rate, enrollment_mode) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
            columns!()
        ))
        .bind(ProgramId::new().as_uuid())
        .bind(new.merchant_id.as_uuid())
        .bind(new.name.as_str())
        .bind(new.network.as_str())
        .bind(new.commission.type_str())
        .bind(rate)
        .bind(fixed)
        .bind(i32::from(new.cookie_window.days()))
        .bind(new.platform_fee_rate.fraction())
        .bind(new.enrollment_mode.as_str())
        .fetch_one(&self.pool)
        .await
        .repo_numeric(if fixed.is_some() {
            "fixed_amount"
        } else {
            "commission_rate"
        })?;
        row.try_into()
    }

    async fn program_by_id(&self, id: ProgramId) -> RepoResult<Program> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM programs WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn programs_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Program>> {
        let rows: Vec<ProgramRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM programs WHERE merchant_id = $1 ORDER BY created_at, id"
        ))
        .bind(merchant.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(Program::try_from).collect()
    }

    async fn set_program_active(&self, id: ProgramId, active: bool) -> RepoResult<Program> {
        let row = sqlx::query_as(concat!(
            "UPDATE programs SET is_active = $2 WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(active)
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        found(row)
    }

    async fn update_program(&self, id: ProgramId, patch: ProgramPatch) -> RepoResult<Program> {
        // A new commission replaces all three columns, so a fixed amount never lingers beside
        // a percentage (valid_commission would accept both).
        let (rate, fixed) = match patch.commission {
            Some(Commission::Percentage(rate)) => (Some(rate.percent()), None),
            Some(Commission::Fixed(amount)) => (None, Some(amount.amount())),
            None => (None, None),
        };
        let row = sqlx::query_as(concat!(
            "UPDATE programs SET \
             name = COALESCE($2, name), \
             network = COALESCE($3, network), \
             commission_type = CASE WHEN $4::text IS NULL THEN commission_type ELSE $4 END, \
             commission_rate = CASE WHEN $4::text IS NULL THEN commission_rate ELSE $5 END, \
             fixed_amount = CASE WHEN $4::text IS NULL THEN fixed_amount ELSE $6 END, \
             cookie_window_days = COALESCE($7, cookie_window_days), \
             enrollment_mode = COALESCE($8, enrollment_mode) \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(patch.name.as_ref().map(Name::as_str))
        .bind(patch.network.map(Network::as_str))
        .bind(patch.commission.map(|c| c.type_str()))
        .bind(rate)
        .bind(fixed)
        .bind(patch.cookie_window.map(|w| i32::from(w.days())))
        .bind(patch.enrollment_mode.map(EnrollmentMode::as_str))
        .fetch_optional(&self.pool)
        .await
        .repo_numeric(if fixed.is_some() {
            "fixed_amount"
        } else {
            "commission_rate"
        })?;
        found(row)
    }

    async fn open_programs(&self, page: Page<ProgramId>) -> RepoResult<Vec<Program>> {
        // "Open" is core's `domain::is_open` (merchant active and verified, program active),
        // written as SQL; the contract case `open_lists_follow_the_core_rule` proves the two
        // agree.
        let rows: Vec<ProgramRow> = sqlx::query_as(
            "SELECT p.id, p.merchant_id, p.name, p.network, \
             COALESCE(p.commission_type, 'percentage') AS commission_type, \
             p.commission_rate, p.fixed_amount, \
             COALESCE(p.cookie_window_days, 30) AS cookie_window_days, \
             COALESCE(p.platform_fee_rate, 0.20) AS platform_fee_rate, \
             p.enrollment_mode, p.is_active, p.created_at, p.updated_at, m.currency \
             FROM programs p JOIN merchants m ON m.id = p.merchant_id \
             WHERE p.is_active AND m.is_active AND m.verified_at IS NOT NULL \
             AND ($1::uuid IS NULL OR p.id > $1) \
             ORDER BY p.id LIMIT $2",
        )
        .bind(page.after.map(|id| id.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(Program::try_from).collect()
    }
}
