//! The one place where PostgreSQL's errors become [`RepoError`]s.
//!
//! Constraint names come from the migrations (PostgreSQL's default `<table>_<column>_key` /
//! `_fkey` / `_check` names, plus the seed's explicit ones), so a renamed constraint shows up
//! here as a `Backend` error in the contract suite rather than as a silently wrong variant.

use skinstack_core::error::{Invalid, ValidationError};
use skinstack_core::store::{BoxError, RepoError, RepoResult};
use skinstack_core::Entity;
use std::fmt;
use uuid::Uuid;

const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";
const CHECK_VIOLATION: &str = "23514";
const NUMERIC_OUT_OF_RANGE: &str = "22003";

/// Maps a sqlx error to the repository error it means. `numeric_field` names the money or
/// rate column a statement writes, for a numeric overflow (22003), which PostgreSQL reports
/// without a column.
pub(crate) fn repo_error(err: sqlx::Error, numeric_field: Option<&'static str>) -> RepoError {
    let Some(db) = err.as_database_error() else {
        return backend(err);
    };
    let code = db.code();
    let constraint = db.constraint();
    match (code.as_deref(), constraint) {
        (Some(UNIQUE_VIOLATION), Some(name)) => match name {
            "users_email_key" => RepoError::EmailTaken,
            "influencers_user_id_key" | "merchants_user_id_key" => RepoError::ProfileExists,
            "products_merchant_id_external_id_key" => RepoError::DuplicateExternalId,
            "tracking_links_slug_key" | "idx_tracking_links_slug" => RepoError::SlugTaken,
            "program_memberships_program_id_influencer_id_key" => RepoError::MembershipExists,
            "coupon_codes_merchant_id_code_key" => RepoError::CodeTaken,
            _ => backend(err),
        },
        (Some(FOREIGN_KEY_VIOLATION), Some(name)) => match referenced_entity(name) {
            Some(entity) => RepoError::NotFound(entity),
            None => backend(err),
        },
        (Some(CHECK_VIOLATION), name) => RepoError::Invalid(ValidationError::new(
            name.and_then(checked_field).unwrap_or("value"),
            Invalid::OutOfRange("within what the database accepts"),
        )),
        (Some(NUMERIC_OUT_OF_RANGE), _) => RepoError::Invalid(ValidationError::new(
            numeric_field.unwrap_or("value"),
            Invalid::OutOfRange("within the column's precision"),
        )),
        (Some(code), _) if refuses_the_data(code) => RepoError::Rejected(err.into()),
        _ => backend(err),
    }
}

/// SQLSTATE classes 22 (data exception: a NUL in text, a bad encoding, a value out of range)
/// and 23 (integrity constraint violation) blame the statement's data: retrying it cannot
/// succeed. Every other class (08 connection, 53 resources, 57 shutdown, 40 serialization,
/// 42 a schema mid-migration, ...) may pass on a retry and stays a transient `Backend` error.
fn refuses_the_data(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("23")
}

/// The entity a foreign key points at, by the constraint's name.
fn referenced_entity(constraint: &str) -> Option<Entity> {
    Some(match constraint {
        "influencers_user_id_fkey" | "merchants_user_id_fkey" | "sessions_user_id_fkey" => {
            Entity::User
        }
        "programs_merchant_id_fkey"
        | "products_merchant_id_fkey"
        | "merchant_api_keys_merchant_id_fkey"
        | "webhook_deliveries_merchant_id_fkey"
        | "coupon_codes_merchant_id_fkey" => Entity::Merchant,
        "products_program_id_fkey"
        | "tracking_links_program_id_fkey"
        | "program_memberships_program_id_fkey"
        | "program_invitations_program_id_fkey" => Entity::Program,
        "tracking_links_influencer_id_fkey" | "program_memberships_influencer_id_fkey" => {
            Entity::Influencer
        }
        "tracking_links_product_id_fkey" => Entity::Product,
        "coupon_codes_link_id_fkey" => Entity::Link,
        "merchant_statement_lines_statement_id_fkey" => Entity::Statement,
        _ => return None,
    })
}

/// The field a CHECK constraint guards, by the constraint's name.
fn checked_field(constraint: &str) -> Option<&'static str> {
    Some(match constraint {
        "users_role_check" => "role",
        "influencers_preferred_payout_method_check" => "preferred_payout_method",
        "programs_network_check" => "network",
        "programs_commission_type_check" | "valid_commission" => "commission_type",
        "programs_commission_rate_check" => "commission_rate",
        "products_category_check" => "category",
        "programs_enrollment_mode_check" => "enrollment_mode",
        "program_memberships_state_check" => "state",
        "program_memberships_message_check" => "message",
        "program_invitations_email_check" => "email",
        "coupon_codes_code_check" => "code",
        "merchants_max_order_amount_check" => "max_order_amount",
        "conversions_hold_reasons_check" => "hold_reasons",
        "conversions_signals_check" => "signals",
        _ => return None,
    })
}

fn backend(err: impl Into<BoxError>) -> RepoError {
    RepoError::Backend(err.into())
}

/// Shorthand for mapping a statement's sqlx result.
pub(crate) trait SqlxResultExt<T> {
    /// Maps the error with [`repo_error`].
    fn repo(self) -> RepoResult<T>;
    /// Maps the error with [`repo_error`], naming the numeric column the statement writes.
    fn repo_numeric(self, field: &'static str) -> RepoResult<T>;
}

impl<T> SqlxResultExt<T> for Result<T, sqlx::Error> {
    fn repo(self) -> RepoResult<T> {
        self.map_err(|err| repo_error(err, None))
    }

    fn repo_numeric(self, field: &'static str) -> RepoResult<T> {
        self.map_err(|err| repo_error(err, Some(field)))
    }
}

/// A stored row the library cannot read back: the database holds data SkinStack did not write.
#[derive(Debug, thiserror::Error)]
pub(crate) struct CorruptRow {
    table: &'static str,
    id: Uuid,
    problem: String,
}

impl fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} row {} holds data SkinStack did not write: {}",
            self.table, self.id, self.problem
        )
    }
}

/// Parses the columns of one stored row, turning a refusal into a `Backend` error that names
/// the table, the row and the field.
pub(crate) struct RowParser {
    table: &'static str,
    id: Uuid,
}

impl RowParser {
    /// A parser for the row `id` of `table`.
    pub(crate) fn new(table: &'static str, id: Uuid) -> Self {
        Self { table, id }
    }

    /// The value, or a `Backend` error naming `field`.
    pub(crate) fn field<T>(
        &self,
        field: &'static str,
        parsed: Result<T, Invalid>,
    ) -> RepoResult<T> {
        parsed.map_err(|reason| self.corrupt(ValidationError::new(field, reason)))
    }

    /// An optional column: `None` stays `None`, a value must parse.
    pub(crate) fn optional<T>(
        &self,
        field: &'static str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> RepoResult<Option<T>> {
        value.map(|v| self.field(field, parse(v))).transpose()
    }

    /// A `Backend` error for this row.
    pub(crate) fn corrupt(&self, problem: impl fmt::Display) -> RepoError {
        backend(CorruptRow {
            table: self.table,
            id: self.id,
            problem: problem.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_without_a_database_cause_are_backend_failures() {
        assert!(matches!(
            repo_error(sqlx::Error::PoolTimedOut, Some("price")),
            RepoError::Backend(_)
        ));
    }

    async fn db_error(pool: &sqlx::PgPool, sql: &str) -> sqlx::Error {
        sqlx::query(sql).execute(pool).await.unwrap_err()
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn check_violations_name_their_field(pool: sqlx::PgPool) {
        let err = db_error(
            &pool,
            "INSERT INTO users (email, password_hash, role) VALUES ('a@b.co', '$x', 'root')",
        )
        .await;
        match repo_error(err, None) {
            RepoError::Invalid(err) => assert_eq!(err.field, "role"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn numeric_overflow_names_the_field_the_statement_writes(pool: sqlx::PgPool) {
        let err = db_error(&pool, "SELECT 123456789012.00::DECIMAL(10,2)").await;
        match repo_error(err, Some("price")) {
            RepoError::Invalid(err) => assert_eq!(err.field, "price"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn unknown_database_errors_are_backend_failures(pool: sqlx::PgPool) {
        let err = db_error(&pool, "SELECT * FROM no_such_table").await;
        assert!(matches!(repo_error(err, None), RepoError::Backend(_)));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn data_and_constraint_errors_are_permanent_and_connection_errors_transient(
        pool: sqlx::PgPool,
    ) {
        use skinstack_core::ErrorClass;
        // 22021: text cannot hold NUL; 23502: a NOT NULL column left NULL; 22P02: bad syntax.
        let nul = sqlx::query("SELECT $1::text")
            .bind("a\0b")
            .execute(&pool)
            .await
            .unwrap_err();
        let not_null = db_error(
            &pool,
            "INSERT INTO clicks (id, link_id, clicked_at) VALUES (gen_random_uuid(), NULL, now())",
        )
        .await;
        let syntax = db_error(&pool, "SELECT 'x'::uuid").await;
        for err in [nul, not_null, syntax] {
            let code = err
                .as_database_error()
                .and_then(|e| e.code())
                .map(|c| c.into_owned());
            let mapped = repo_error(err, None);
            assert!(
                matches!(mapped, RepoError::Rejected(_)),
                "{code:?}: {mapped:?}"
            );
            assert_eq!(mapped.class(), ErrorClass::Permanent);
        }
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
        ] {
            assert_eq!(repo_error(err, None).class(), ErrorClass::Transient);
        }
        // Shutting the server down (57P01) is transient: the flusher waits for it to return.
        let shutdown = db_error(
            &pool,
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '57P01'; END $$",
        )
        .await;
        assert_eq!(repo_error(shutdown, None).class(), ErrorClass::Transient);
    }

    #[test]
    fn every_foreign_key_of_the_schema_names_its_entity() {
        for (name, entity) in [
            ("influencers_user_id_fkey", Entity::User),
            ("merchants_user_id_fkey", Entity::User),
            ("sessions_user_id_fkey", Entity::User),
            ("programs_merchant_id_fkey", Entity::Merchant),
            ("products_merchant_id_fkey", Entity::Merchant),
            ("merchant_api_keys_merchant_id_fkey", Entity::Merchant),
            ("webhook_deliveries_merchant_id_fkey", Entity::Merchant),
            ("products_program_id_fkey", Entity::Program),
            ("tracking_links_influencer_id_fkey", Entity::Influencer),
            ("tracking_links_program_id_fkey", Entity::Program),
            ("tracking_links_product_id_fkey", Entity::Product),
            ("program_memberships_program_id_fkey", Entity::Program),
            ("program_memberships_influencer_id_fkey", Entity::Influencer),
            ("program_invitations_program_id_fkey", Entity::Program),
            ("coupon_codes_merchant_id_fkey", Entity::Merchant),
            ("coupon_codes_link_id_fkey", Entity::Link),
            (
                "merchant_statement_lines_statement_id_fkey",
                Entity::Statement,
            ),
        ] {
            assert_eq!(referenced_entity(name), Some(entity), "{name}");
        }
        assert_eq!(referenced_entity("something_else_fkey"), None);
    }

    #[test]
    fn corrupt_rows_name_table_row_and_field() {
        let id = Uuid::nil();
        let err = RowParser::new("users", id)
            .field::<()>(
                "role",
                Err(Invalid::Format("one of influencer, merchant, admin")),
            )
            .unwrap_err();
        let RepoError::Backend(source) = err else {
            panic!("expected a backend error, got {err:?}");
        };
        assert_eq!(
            source.to_string(),
            format!("users row {id} holds data SkinStack did not write: role must be one of influencer, merchant, admin")
        );
    }
}
