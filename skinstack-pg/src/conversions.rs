//! `conversions`, `refunds` and `commission_events`: each write is one transaction holding the
//! row, its ledger event and the totals it changes. Idempotency is decided by unique
//! constraints (`ON CONFLICT DO NOTHING`), so concurrent deliveries store one row.
//!
//! Totals are updated link → influencer → merchant in every transaction, one statement each,
//! so concurrent writers always lock rows in the same order and cannot deadlock.

use crate::clicks::{scope_links, Values};
use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use skinstack_core::domain::*;
use skinstack_core::earning::attribution::{ClickFacts, CouponFacts, LinkTerms};
use skinstack_core::earning::ledger::*;
use skinstack_core::earning::{Balance, UnattributedOrders};
use skinstack_core::store::{ConversionRepo, LedgerQueries, Page, RepoResult};
use skinstack_core::tracking::breakdown::{
    Dimension, Scope, ValueConversions, Visit, VisitKey, COUPON, NONE,
};
use skinstack_core::tracking::visitor::{Platform, Visitor};
use skinstack_core::{
    CampaignCode, ClickId, Commission, CommissionSplit, CookieWindow, Entity, ExternalId, FeeRate,
    InfluencerId, LinkId, MerchantId, Money, ProgramId, RepoError,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A link joined with its program: what [`LinkTerms`] needs. A NULL seed default reads as
/// the default, a NULL `is_active` as inactive.
macro_rules! terms_select {
    ($tail:literal) => {
        concat!(
            "SELECT l.id AS link_id, l.influencer_id, l.program_id, p.merchant_id, \
             COALESCE(l.is_active, false) AS link_active, \
             COALESCE(l.created_at, 'epoch'::timestamptz) AS link_created_at, \
             COALESCE(p.commission_type, 'percentage') AS commission_type, p.commission_rate, \
             p.fixed_amount, COALESCE(p.cookie_window_days, 30) AS cookie_window_days, \
             COALESCE(p.platform_fee_rate, 0.20) AS platform_fee_rate, p.hold_days ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct TermsRow {
    link_id: Uuid,
    influencer_id: Uuid,
    program_id: Uuid,
    merchant_id: Uuid,
    link_active: bool,
    link_created_at: DateTime<Utc>,
    commission_type: String,
    commission_rate: Option<Decimal>,
    fixed_amount: Option<Decimal>,
    cookie_window_days: i32,
    platform_fee_rate: Decimal,
    hold_days: i32,
}

impl TryFrom<TermsRow> for LinkTerms {
    type Error = RepoError;

    fn try_from(row: TermsRow) -> RepoResult<LinkTerms> {
        let p = RowParser::new("tracking_links", row.link_id);
        Ok(LinkTerms {
            link_id: LinkId::from_uuid(row.link_id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            program_id: ProgramId::from_uuid(row.program_id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            is_active: row.link_active,
            created_at: row.link_created_at,
            commission: Commission::from_columns(
                &row.commission_type,
                row.commission_rate,
                row.fixed_amount,
            )
            .map_err(|err| p.corrupt(err))?,
            platform_fee_rate: p.field("platform_fee_rate", FeeRate::new(row.platform_fee_rate))?,
            cookie_window: p.field(
                "cookie_window_days",
                CookieWindow::new(i64::from(row.cookie_window_days)),
            )?,
            hold_days: p.field("hold_days", HoldDays::new(i64::from(row.hold_days)))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversionRow {
    id: Uuid,
    merchant_id: Uuid,
    order_id: String,
    amount: Decimal,
    currency: String,
    ordered_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    click_id: Option<Uuid>,
    coupon_code: Option<String>,
    product_external_ids: Vec<String>,
    link_id: Option<Uuid>,
    influencer_id: Option<Uuid>,
    program_id: Option<Uuid>,
    attributed_by: Option<String>,
    attributed_click_id: Option<Uuid>,
    commission_gross: Decimal,
    commission_fee: Decimal,
    commission_earnings: Decimal,
    hold_until: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    refunded_amount: Decimal,
    hold_reasons: Vec<String>,
    signals: Vec<String>,
    held_at: Option<DateTime<Utc>>,
    voided_at: Option<DateTime<Utc>>,
}

impl TryFrom<ConversionRow> for Conversion {
    type Error = RepoError;

    fn try_from(row: ConversionRow) -> RepoResult<Conversion> {
        let p = RowParser::new("conversions", row.id);
        let coupon_code = p.optional(
            "coupon_code",
            row.coupon_code.as_deref(),
            CampaignCode::parse,
        )?;
        let attribution = match (row.link_id, row.influencer_id, row.program_id) {
            (Some(link), Some(influencer), Some(program)) => {
                let by = match (
                    row.attributed_by.as_deref(),
                    row.attributed_click_id,
                    &coupon_code,
                ) {
                    (Some("click"), Some(click), _) => AttributedBy::Click {
                        click_id: ClickId::from_uuid(click),
                    },
                    (Some("coupon"), _, Some(code)) => AttributedBy::Coupon { code: code.clone() },
                    _ => return Err(p.corrupt("attributed_by does not match its evidence")),
                };
                Some(Attribution {
                    link_id: LinkId::from_uuid(link),
                    influencer_id: InfluencerId::from_uuid(influencer),
                    program_id: ProgramId::from_uuid(program),
                    by,
                })
            }
            _ => None,
        };
        let hold_reasons = row
            .hold_reasons
            .iter()
            .map(|r| HoldReason::parse(r).ok_or_else(|| p.corrupt("unknown hold reason")))
            .collect::<RepoResult<_>>()?;
        let signals = row
            .signals
            .iter()
            .map(|s| FraudSignal::parse(s).ok_or_else(|| p.corrupt("unknown fraud signal")))
            .collect::<RepoResult<_>>()?;
        let product_external_ids = row
            .product_external_ids
            .iter()
            .map(|id| p.field("product_external_ids", ExternalId::parse(id)))
            .collect::<RepoResult<_>>()?;
        Ok(Conversion {
            id: ConversionId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            order_id: p.field("order_id", ShopRef::parse(&row.order_id))?,
            amount: p.field("amount", Money::new(row.amount))?,
            currency: p.field("currency", Currency::parse(&row.currency))?,
            ordered_at: row.ordered_at,
            recorded_at: row.recorded_at,
            click_id: row.click_id.map(ClickId::from_uuid),
            coupon_code,
            product_external_ids,
            attribution,
            commission: CommissionSplit {
                gross: row.commission_gross,
                platform_fee: row.commission_fee,
                influencer_earnings: row.commission_earnings,
            },
            hold_until: row.hold_until,
            approved_at: row.approved_at,
            refunded_amount: p.field("refunded_amount", Money::new(row.refunded_amount))?,
            hold_reasons,
            signals,
            held_at: row.held_at,
            voided_at: row.voided_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    merchant_id: Uuid,
    refund_id: String,
    conversion_id: Uuid,
    amount: Decimal,
    recorded_at: DateTime<Utc>,
}

impl TryFrom<RefundRow> for Refund {
    type Error = RepoError;

    fn try_from(row: RefundRow) -> RepoResult<Refund> {
        let p = RowParser::new("refunds", row.conversion_id);
        Ok(Refund {
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            refund_id: p.field("refund_id", ShopRef::parse(&row.refund_id))?,
            conversion_id: ConversionId::from_uuid(row.conversion_id),
            amount: p.field("amount", Money::new(row.amount))?,
            recorded_at: row.recorded_at,
        })
    }
}

/// The columns of [`EventRow`], from `commission_events`.
macro_rules! event_select {
    () => {
        "SELECT id, conversion_id, kind, gross, platform_fee, influencer_earnings, sales, \
         link_id, influencer_id, merchant_id, currency, refund_id, payout_batch_id, \
         settles_event_id, occurred_at FROM commission_events"
    };
}
pub(crate) use event_select;

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: Uuid,
    conversion_id: Uuid,
    kind: String,
    gross: Decimal,
    platform_fee: Decimal,
    influencer_earnings: Decimal,
    sales: Decimal,
    link_id: Uuid,
    influencer_id: Uuid,
    merchant_id: Uuid,
    currency: String,
    refund_id: Option<String>,
    payout_batch_id: Option<Uuid>,
    settles_event_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for CommissionEvent {
    type Error = RepoError;

    fn try_from(row: EventRow) -> RepoResult<CommissionEvent> {
        let p = RowParser::new("commission_events", row.id);
        Ok(CommissionEvent {
            id: EventId::from_uuid(row.id),
            conversion_id: ConversionId::from_uuid(row.conversion_id),
            kind: EventKind::parse(&row.kind).ok_or_else(|| p.corrupt("unknown kind"))?,
            split: CommissionSplit {
                gross: row.gross,
                platform_fee: row.platform_fee,
                influencer_earnings: row.influencer_earnings,
            },
            sales: row.sales,
            link_id: LinkId::from_uuid(row.link_id),
            influencer_id: InfluencerId::from_uuid(row.influencer_id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            currency: p.field("currency", Currency::parse(&row.currency))?,
            refund_id: p.optional("refund_id", row.refund_id.as_deref(), ShopRef::parse)?,
            payout_batch_id: row.payout_batch_id.map(PayoutBatchId::from_uuid),
            settles: row.settles_event_id.map(EventId::from_uuid),
            occurred_at: row.occurred_at,
        })
    }
}

/// Adds each event's [`TotalsDelta`] to the totals of its link, influencer and merchant:
/// every link first, then every influencer, then every merchant, each summed per row, so that
/// any two writers lock rows in the same order and cannot deadlock. A table none of the deltas
/// changes is not touched (a payment moves no link total, an approval none at all).
pub(crate) async fn apply_totals(
    conn: &mut PgConnection,
    events: &[CommissionEvent],
) -> RepoResult<()> {
    let mut links: BTreeMap<Uuid, TotalsDelta> = BTreeMap::new();
    // An influencer's events in order, each with its currency: SeedTotals decides which count.
    let mut influencers: BTreeMap<Uuid, Vec<(Currency, TotalsDelta)>> = BTreeMap::new();
    let mut merchants: BTreeMap<Uuid, TotalsDelta> = BTreeMap::new();
    for event in events {
        let delta = TotalsDelta::of_event(event);
        for (rows, id) in [
            (&mut links, event.link_id.as_uuid()),
            (&mut merchants, event.merchant_id.as_uuid()),
        ] {
            let sum = rows.entry(id).or_default();
            *sum = sum.plus(&delta);
        }
        if !delta.earned.is_zero() || !delta.paid.is_zero() {
            influencers
                .entry(event.influencer_id.as_uuid())
                .or_default()
                .push((event.currency, delta));
        }
    }
    links.retain(|_, d| d.conversions != 0 || !d.sales.is_zero() || !d.commission.is_zero());
    merchants.retain(|_, d| !d.sales.is_zero() || !d.commissions_paid.is_zero());
    // A sum beyond a DECIMAL(10,2) total is refused (22003) and the transaction rolls back.
    if !links.is_empty() {
        let column = |f: fn(&TotalsDelta) -> Decimal| links.values().map(f).collect::<Vec<_>>();
        sqlx::query(
            "UPDATE tracking_links l SET \
             total_conversions = COALESCE(l.total_conversions, 0) + d.conversions, \
             total_revenue = COALESCE(l.total_revenue, 0) + d.sales, \
             total_commission = COALESCE(l.total_commission, 0) + d.commission \
             FROM UNNEST($1::uuid[], $2::int[], $3::numeric[], $4::numeric[]) \
                  AS d(id, conversions, sales, commission) \
             WHERE l.id = d.id",
        )
        .bind(links.keys().copied().collect::<Vec<_>>())
        .bind(
            links
                .values()
                .map(|d| i32::try_from(d.conversions).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(column(|d| d.sales))
        .bind(column(|d| d.commission))
        .execute(&mut *conn)
        .await
        .repo_numeric("amount")?;
    }
    if !influencers.is_empty() {
        // Locked in id order, read, moved by core's rule, written back.
        let rows: Vec<(Uuid, Option<String>, Decimal, Decimal)> = sqlx::query_as(
            "SELECT id, primary_currency, COALESCE(total_earned, 0), COALESCE(total_paid, 0) \
             FROM influencers WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(influencers.keys().copied().collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await
        .repo()?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut primaries = Vec::with_capacity(rows.len());
        let mut earned = Vec::with_capacity(rows.len());
        let mut paid = Vec::with_capacity(rows.len());
        for (id, primary, total_earned, total_paid) in rows {
            let p = RowParser::new("influencers", id);
            let mut seed = SeedTotals {
                primary_currency: p.optional(
                    "primary_currency",
                    primary.as_deref(),
                    Currency::parse,
                )?,
                earned: total_earned,
                paid: total_paid,
            };
            for (currency, delta) in influencers.get(&id).into_iter().flatten() {
                seed.apply(*currency, delta);
            }
            ids.push(id);
            primaries.push(seed.primary_currency.map(|c| c.as_str().to_owned()));
            earned.push(seed.earned);
            paid.push(seed.paid);
        }
        sqlx::query(
            "UPDATE influencers i SET primary_currency = d.primary_currency, \
             total_earned = d.earned, total_paid = d.paid \
             FROM UNNEST($1::uuid[], $2::text[], $3::numeric[], $4::numeric[]) \
                  AS d(id, primary_currency, earned, paid) \
             WHERE i.id = d.id",
        )
        .bind(ids)
        .bind(primaries)
        .bind(earned)
        .bind(paid)
        .execute(&mut *conn)
        .await
        .repo_numeric("amount")?;
    }
    if !merchants.is_empty() {
        let column = |f: fn(&TotalsDelta) -> Decimal| merchants.values().map(f).collect::<Vec<_>>();
        sqlx::query(
            "UPDATE merchants m SET total_sales = COALESCE(m.total_sales, 0) + d.sales, \
             total_commissions_paid = COALESCE(m.total_commissions_paid, 0) + d.commissions_paid \
             FROM UNNEST($1::uuid[], $2::numeric[], $3::numeric[]) AS d(id, sales, commissions_paid) \
             WHERE m.id = d.id",
        )
        .bind(merchants.keys().copied().collect::<Vec<_>>())
        .bind(column(|d| d.sales))
        .bind(column(|d| d.commissions_paid))
        .execute(&mut *conn)
        .await
        .repo_numeric("amount")?;
    }
    Ok(())
}

/// Inserts `events` as core built them, each `paid` one under its payout item (`items[i]`
/// for `events[i]`; `None` for other kinds). A payment of an event settled already is skipped
/// by the unique index: the caller compares the count returned with what it wrote.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    events: &[CommissionEvent],
    items: &[Option<PayoutItemId>],
) -> RepoResult<u64> {
    let column = |f: fn(&CommissionEvent) -> Decimal| events.iter().map(f).collect::<Vec<_>>();
    let ids = |f: fn(&CommissionEvent) -> Option<Uuid>| events.iter().map(f).collect::<Vec<_>>();
    let inserted = sqlx::query(
        "INSERT INTO commission_events (id, conversion_id, kind, gross, platform_fee, \
             influencer_earnings, sales, link_id, influencer_id, merchant_id, refund_id, \
             payout_batch_id, payout_item_id, settles_event_id, occurred_at, currency) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::numeric[], \
             $6::numeric[], $7::numeric[], $8::uuid[], $9::uuid[], $10::uuid[], $11::text[], \
             $12::uuid[], $13::uuid[], $14::uuid[], $15::timestamptz[], $16::text[]) \
         ON CONFLICT (settles_event_id) WHERE kind = 'paid' DO NOTHING",
    )
    .bind(ids(|e| Some(e.id.as_uuid())))
    .bind(ids(|e| Some(e.conversion_id.as_uuid())))
    .bind(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
    .bind(column(|e| e.split.gross))
    .bind(column(|e| e.split.platform_fee))
    .bind(column(|e| e.split.influencer_earnings))
    .bind(column(|e| e.sales))
    .bind(ids(|e| Some(e.link_id.as_uuid())))
    .bind(ids(|e| Some(e.influencer_id.as_uuid())))
    .bind(ids(|e| Some(e.merchant_id.as_uuid())))
    .bind(
        events
            .iter()
            .map(|e| e.refund_id.as_ref().map(ShopRef::as_str))
            .collect::<Vec<_>>(),
    )
    .bind(ids(|e| e.payout_batch_id.map(|b| b.as_uuid())))
    .bind(
        items
            .iter()
            .map(|i| i.map(|i| i.as_uuid()))
            .collect::<Vec<_>>(),
    )
    .bind(ids(|e| e.settles.map(|s| s.as_uuid())))
    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|e| e.currency.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .repo_numeric("amount")?;
    Ok(inserted.rows_affected())
}

/// Appends events core built (an accrual, a reversal, approvals, a release or a void) and
/// applies their totals.
pub(crate) async fn append(conn: &mut PgConnection, events: &[CommissionEvent]) -> RepoResult<()> {
    let written = insert_events(conn, events, &vec![None; events.len()]).await?;
    if written != events.len() as u64 {
        return Err(RepoError::Backend(
            format!("wrote {written} of {} ledger events", events.len()).into(),
        ));
    }
    apply_totals(conn, events).await
}

/// What a stored click says for every click dimension: its closed families by its visit code
/// (migration 0036), its referring domain and country as stored. A click stored before
/// migration 0034 has no code: it gets the families its stored user agent and referer give, by
/// the same rule.
fn stored_visit(row: &PgRow, parser: &RowParser) -> RepoResult<Visit> {
    let text = |column: &str| -> RepoResult<Option<String>> { row.try_get(column).repo() };
    let country = parser.optional("country", text("country")?.as_deref(), Country::parse)?;
    let code: Option<i32> = row.try_get("visit").repo()?;
    let Some(code) = code else {
        let source: String = row.try_get("source").repo()?;
        let source =
            ClickSource::parse(&source).ok_or_else(|| parser.corrupt("unknown click source"))?;
        let (user_agent, referer) = (text("user_agent")?, text("referer")?);
        let Visitor {
            agent,
            referrer_domain,
        } = Visitor::of(user_agent.as_deref(), referer.as_deref());
        return Ok(Visit {
            key: VisitKey { source, agent },
            referrer_domain,
            country,
        });
    };
    Ok(Visit {
        key: VisitKey::from_code(code)
            .ok_or_else(|| parser.corrupt(format!("visit code {code} names no families")))?,
        referrer_domain: text("referrer_domain")?,
        country,
    })
}

#[async_trait]
impl ConversionRepo for PgStore {
    async fn click_facts(&self, id: ClickId) -> RepoResult<Option<ClickFacts>> {
        // The uses are counted on the unique (attributed_click_id, attributed_click_use) index.
        let row = sqlx::query(terms_select!(
            ", c.clicked_at, c.is_bot, host(c.ip_prefix) AS ip, c.user_agent, c.referer, c.source, \
             c.visit, c.referrer_domain, c.country, \
             (SELECT count(*) FROM conversions v WHERE v.attributed_click_id = c.id) \
                 AS attributed_orders \
             FROM clicks c \
             JOIN tracking_links l ON l.id = c.link_id JOIN programs p ON p.id = l.program_id \
             WHERE c.id = $1 AND c.clicked_at = $2"
        ))
        .bind(id.as_uuid())
        // A click is stored at its id's time: naming it prunes the search to one partition.
        .bind(id.issued_at())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        let Some(row) = row else { return Ok(None) };
        let clicked_at: DateTime<Utc> = row.try_get("clicked_at").repo()?;
        let is_bot: bool = row.try_get("is_bot").repo()?;
        let ip: Option<String> = row.try_get("ip").repo()?;
        let attributed_orders: i64 = row.try_get("attributed_orders").repo()?;
        let terms: TermsRow = sqlx::FromRow::from_row(&row).repo()?;
        let parser = RowParser::new("clicks", id.as_uuid());
        Ok(Some(ClickFacts {
            click_id: id,
            clicked_at,
            is_bot,
            visit: stored_visit(&row, &parser)?,
            ip: parser.optional("ip_prefix", ip.as_deref(), |ip| {
                ip.parse::<std::net::IpAddr>()
                    .map_err(|_| skinstack_core::Invalid::Format("an IP address"))
            })?,
            attributed_orders: u64::try_from(attributed_orders).unwrap_or_default(),
            link: terms.try_into()?,
        }))
    }

    async fn coupon_facts(
        &self,
        merchant: MerchantId,
        code: &CampaignCode,
    ) -> RepoResult<Vec<CouponFacts>> {
        // `code` is upper-case already: the index on upper(code) answers this.
        let rows = sqlx::query(terms_select!(
            ", c.id AS code_id, c.assigned_at, c.revoked_at FROM coupon_codes c \
             JOIN tracking_links l ON l.id = c.link_id JOIN programs p ON p.id = l.program_id \
             WHERE c.merchant_id = $1 AND upper(c.code) = $2 AND c.assigned_at IS NOT NULL"
        ))
        .bind(merchant.as_uuid())
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter()
            .map(|row| {
                let terms: TermsRow = sqlx::FromRow::from_row(&row).repo()?;
                Ok(CouponFacts {
                    code_id: CouponCodeId::from_uuid(row.try_get("code_id").repo()?),
                    key: code.clone(),
                    assigned_at: row.try_get("assigned_at").repo()?,
                    revoked_at: row.try_get("revoked_at").repo()?,
                    link: terms.try_into()?,
                })
            })
            .collect()
    }

    async fn link_terms(&self, link: LinkId) -> RepoResult<LinkTerms> {
        let row: Option<TermsRow> = sqlx::query_as(terms_select!(
            "FROM tracking_links l JOIN programs p ON p.id = l.program_id WHERE l.id = $1"
        ))
        .bind(link.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.ok_or(RepoError::NotFound(Entity::Link))?.try_into()
    }

    async fn influencer_email(&self, influencer: InfluencerId) -> RepoResult<Option<Email>> {
        let email: Option<String> = sqlx::query_scalar(
            "SELECT u.email FROM influencers i JOIN users u ON u.id = i.user_id WHERE i.id = $1",
        )
        .bind(influencer.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        RowParser::new("influencers", influencer.as_uuid()).optional(
            "email",
            email.as_deref(),
            Email::parse,
        )
    }

    async fn insert_conversion(&self, new: NewConversion) -> RepoResult<ConversionInsert> {
        let mut tx = self.pool.begin().await.repo()?;
        let visit = new.visit.as_ref();
        let (by, click) = match new.attribution.as_ref().map(|a| &a.by) {
            Some(AttributedBy::Click { click_id }) => (Some("click"), Some(click_id.as_uuid())),
            Some(AttributedBy::Coupon { .. }) => (Some("coupon"), None),
            None => (None, None),
        };
        let inserted: Option<ConversionRow> = sqlx::query_as(
            "INSERT INTO conversions (id, merchant_id, order_id, amount, currency, ordered_at, \
             recorded_at, click_id, coupon_code, product_external_ids, link_id, influencer_id, \
             program_id, attributed_by, attributed_click_id, commission_gross, commission_fee, \
             commission_earnings, hold_until, hold_reasons, held_at, signals, attributed_click_use, \
             click_source, device, os, browser, platform, referrer_domain, country) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                     $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) \
             ON CONFLICT DO NOTHING RETURNING *",
        )
        .bind(new.id.as_uuid())
        .bind(new.merchant_id.as_uuid())
        .bind(new.order_id.as_str())
        .bind(new.amount.amount())
        .bind(new.currency.as_str())
        .bind(new.ordered_at)
        .bind(new.recorded_at)
        .bind(new.click_id.map(|c| c.as_uuid()))
        .bind(new.coupon_code.as_ref().map(CampaignCode::as_str))
        .bind(
            new.product_external_ids
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(new.attribution.as_ref().map(|a| a.link_id.as_uuid()))
        .bind(new.attribution.as_ref().map(|a| a.influencer_id.as_uuid()))
        .bind(new.attribution.as_ref().map(|a| a.program_id.as_uuid()))
        .bind(by)
        .bind(click)
        .bind(new.commission.gross)
        .bind(new.commission.platform_fee)
        .bind(new.commission.influencer_earnings)
        .bind(new.hold_until)
        .bind(
            new.hold_reasons
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>(),
        )
        .bind((!new.hold_reasons.is_empty()).then_some(new.recorded_at))
        .bind(new.signals.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        .bind(
            click
                .and(new.click_use)
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        )
        .bind(visit.map(|v| v.key.source.as_str()))
        .bind(visit.map(|v| v.key.agent.device.as_str()))
        .bind(visit.map(|v| v.key.agent.os.as_str()))
        .bind(visit.map(|v| v.key.agent.browser.as_str()))
        .bind(visit.and_then(|v| v.key.agent.platform).map(Platform::as_str))
        .bind(visit.and_then(|v| v.referrer_domain.as_deref()))
        .bind(visit.and_then(|v| v.country.as_ref()).map(Country::as_str))
        .fetch_optional(&mut *tx)
        .await
        .repo_numeric("amount")?;
        let Some(row) = inserted else {
            // Either unique key conflicted: the order's, or the click use's. Read committed:
            // this statement sees the row the conflicting delivery committed.
            let row: Option<ConversionRow> = sqlx::query_as(
                "SELECT * FROM conversions WHERE merchant_id = $1 AND order_id = $2",
            )
            .bind(new.merchant_id.as_uuid())
            .bind(new.order_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .repo()?;
            tx.rollback().await.repo()?;
            return Ok(match row {
                Some(row) => ConversionInsert::Existing(row.try_into()?),
                None => ConversionInsert::ClickSpent,
            });
        };
        // The insert holds conversions ROW EXCLUSIVE, which a currency change waits for (it
        // locks the table SHARE first): read now, the merchant's currency cannot change under
        // this order.
        let settles_in: String = sqlx::query_scalar("SELECT currency FROM merchants WHERE id = $1")
            .bind(new.merchant_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .repo()?
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        if settles_in != new.currency.as_str() {
            tx.rollback().await.repo()?;
            let currency = RowParser::new("merchants", new.merchant_id.as_uuid())
                .field("currency", Currency::parse(&settles_in))?;
            return Ok(ConversionInsert::WrongCurrency(currency));
        }
        let conversion = Conversion::try_from(row)?;
        if let Some(accrued) = CommissionEvent::accrual(new.accrual_event_id, &conversion) {
            append(&mut tx, &[accrued]).await?;
        }
        tx.commit().await.repo()?;
        Ok(ConversionInsert::Inserted(conversion))
    }

    async fn conversion_by_order(
        &self,
        merchant: MerchantId,
        order: &OrderId,
    ) -> RepoResult<Option<Conversion>> {
        let row: Option<ConversionRow> =
            sqlx::query_as("SELECT * FROM conversions WHERE merchant_id = $1 AND order_id = $2")
                .bind(merchant.as_uuid())
                .bind(order.as_str())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        row.map(Conversion::try_from).transpose()
    }

    async fn refund_by_id(
        &self,
        merchant: MerchantId,
        refund: &RefundId,
    ) -> RepoResult<Option<Refund>> {
        let row: Option<RefundRow> =
            sqlx::query_as("SELECT * FROM refunds WHERE merchant_id = $1 AND refund_id = $2")
                .bind(merchant.as_uuid())
                .bind(refund.as_str())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        row.map(Refund::try_from).transpose()
    }

    async fn insert_refund(&self, new: NewRefund) -> RepoResult<RefundInsert> {
        let mut tx = self.pool.begin().await.repo()?;
        let inserted: Option<RefundRow> = sqlx::query_as(
            "INSERT INTO refunds (merchant_id, refund_id, conversion_id, amount, recorded_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (merchant_id, refund_id) DO NOTHING RETURNING *",
        )
        .bind(new.merchant_id.as_uuid())
        .bind(new.refund_id.as_str())
        .bind(new.conversion_id.as_uuid())
        .bind(new.amount.amount())
        .bind(new.recorded_at)
        .fetch_optional(&mut *tx)
        .await
        .repo_numeric("amount")?;
        let Some(refund) = inserted else {
            let row: RefundRow =
                sqlx::query_as("SELECT * FROM refunds WHERE merchant_id = $1 AND refund_id = $2")
                    .bind(new.merchant_id.as_uuid())
                    .bind(new.refund_id.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .repo()?;
            tx.rollback().await.repo()?;
            return Ok(RefundInsert::Existing(row.try_into()?));
        };
        // Compare-and-set: the reversal was computed from `refunded_before`.
        let updated: Option<ConversionRow> = sqlx::query_as(
            "UPDATE conversions SET refunded_amount = refunded_amount + $2 \
             WHERE id = $1 AND merchant_id = $3 AND refunded_amount = $4 \
             AND (voided_at IS NOT NULL) = $5 RETURNING *",
        )
        .bind(new.conversion_id.as_uuid())
        .bind(new.amount.amount())
        .bind(new.merchant_id.as_uuid())
        .bind(new.refunded_before.amount())
        .bind(new.voided_before)
        .fetch_optional(&mut *tx)
        .await
        .repo_numeric("amount")?;
        let Some(conversion) = updated else {
            tx.rollback().await.repo()?;
            return Ok(RefundInsert::Stale);
        };
        let conversion = Conversion::try_from(conversion)?;
        if let Some(reversed) = CommissionEvent::reversal(&conversion, &new) {
            append(&mut tx, &[reversed]).await?;
        }
        tx.commit().await.repo()?;
        Ok(RefundInsert::Inserted(refund.try_into()?))
    }

    async fn approve_due(&self, now: DateTime<Utc>) -> RepoResult<Vec<ConversionId>> {
        let mut tx = self.pool.begin().await.repo()?;
        // SKIP LOCKED: a conversion being refunded right now is approved by the next run. The
        // row lock also keeps its refunds out until the approval (and its net) is written.
        // Core's Conversion::is_due in SQL (the contract case on held and voided conversions
        // proves both stores agree); the outer WHERE re-checks it on the locked row, so a hold
        // committed meanwhile is never approved.
        let due: Vec<ConversionRow> = sqlx::query_as(
            "UPDATE conversions SET approved_at = $1 WHERE id IN ( \
                 SELECT id FROM conversions WHERE approved_at IS NULL AND link_id IS NOT NULL \
                 AND held_at IS NULL AND voided_at IS NULL \
                 AND hold_until <= $1 ORDER BY id FOR UPDATE SKIP LOCKED) \
             AND held_at IS NULL AND voided_at IS NULL \
             RETURNING *",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        if due.is_empty() {
            tx.rollback().await.repo()?;
            return Ok(Vec::new());
        }
        let due: Vec<Conversion> = due
            .into_iter()
            .map(Conversion::try_from)
            .collect::<RepoResult<_>>()?;
        let ids: Vec<Uuid> = due.iter().map(|c| c.id.as_uuid()).collect();
        let events: Vec<EventRow> = sqlx::query_as(concat!(
            event_select!(),
            " WHERE conversion_id = ANY($1) ORDER BY occurred_at, id"
        ))
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .repo()?;
        let events: Vec<CommissionEvent> = events
            .into_iter()
            .map(CommissionEvent::try_from)
            .collect::<RepoResult<_>>()?;
        let approvals: Vec<CommissionEvent> = due
            .iter()
            .filter_map(|c| CommissionEvent::approval(EventId::new(), c, &events, now))
            .collect();
        append(&mut tx, &approvals).await?;
        tx.commit().await.repo()?;
        let mut approved: Vec<ConversionId> = due.iter().map(|c| c.id).collect();
        approved.sort();
        Ok(approved)
    }

    async fn program_hold_days(&self, program: ProgramId) -> RepoResult<HoldDays> {
        let days: Option<i32> = sqlx::query_scalar("SELECT hold_days FROM programs WHERE id = $1")
            .bind(program.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .repo()?;
        let days = days.ok_or(RepoError::NotFound(Entity::Program))?;
        RowParser::new("programs", program.as_uuid())
            .field("hold_days", HoldDays::new(i64::from(days)))
    }

    async fn set_program_hold_days(&self, program: ProgramId, days: HoldDays) -> RepoResult<()> {
        let updated = sqlx::query("UPDATE programs SET hold_days = $2 WHERE id = $1")
            .bind(program.as_uuid())
            .bind(i32::from(days.days()))
            .execute(&self.pool)
            .await
            .repo()?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Program));
        }
        Ok(())
    }
}

/// A conversion with its sums: `c.*` plus the view's columns.
macro_rules! view_select {
    ($tail:literal) => {
        concat!(
            "SELECT c.*, COALESCE(n.gross, 0) AS net_gross, COALESCE(n.fee, 0) AS net_fee, \
             COALESCE(n.earnings, 0) AS net_earnings, COALESCE(n.unsettled, false) AS unsettled, \
             COALESCE(pd.gross, 0) AS paid_gross, COALESCE(pd.fee, 0) AS paid_fee, \
             COALESCE(pd.earnings, 0) AS paid_earnings \
             FROM conversions c \
             LEFT JOIN LATERAL ( \
                 SELECT sum(e.gross) AS gross, sum(e.platform_fee) AS fee, \
                        sum(e.influencer_earnings) AS earnings, bool_or(p.id IS NULL) AS unsettled \
                 FROM commission_events e \
                 LEFT JOIN commission_events p ON p.kind = 'paid' AND p.settles_event_id = e.id \
                 WHERE e.conversion_id = c.id AND e.kind IN ('accrued', 'reversed', 'voided')) n ON true \
             LEFT JOIN LATERAL ( \
                 SELECT sum(e.gross) AS gross, sum(e.platform_fee) AS fee, \
                        sum(e.influencer_earnings) AS earnings \
                 FROM commission_events e WHERE e.conversion_id = c.id AND e.kind = 'paid') pd ON true ",
            $tail
        )
    };
}

/// One owner's ledger events summed per group of the facts core's balance rule reads: the
/// kind, whether the conversion is approved, whether a paid merchant statement billed it
/// (funded), whether a `paid` event settles it. `$1` is the
/// owner; the argument names its column.
macro_rules! balance_groups {
    ($owner:literal) => {
        concat!(
            "SELECT e.currency, e.kind, c.approved_at IS NOT NULL AS approved, \
             EXISTS (SELECT 1 FROM merchant_statement_lines fl \
                     JOIN merchant_statements fs ON fs.id = fl.statement_id \
                     WHERE fl.event_id = e.id AND fs.status = 'paid') AS funded, \
             p.id IS NOT NULL AS settled, \
             sum(e.gross) AS gross, sum(e.platform_fee) AS fee, \
             sum(e.influencer_earnings) AS earnings \
             FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
             LEFT JOIN commission_events p ON p.kind = 'paid' AND p.settles_event_id = e.id \
             WHERE ",
            $owner,
            " = $1 GROUP BY 1, 2, 3, 4, 5"
        )
    };
}

/// The groups [`balance_groups!`] returns, bucketed by core ([`Balance::add`]), one balance
/// per currency.
#[allow(clippy::type_complexity)]
fn balances(
    groups: Vec<(String, String, bool, bool, bool, Decimal, Decimal, Decimal)>,
) -> RepoResult<BTreeMap<Currency, Balance>> {
    let mut balances: BTreeMap<Currency, Balance> = BTreeMap::new();
    for (currency, kind, approved, funded, settled, gross, platform_fee, influencer_earnings) in
        groups
    {
        let kind = EventKind::parse(&kind).ok_or_else(|| {
            RepoError::Backend(format!("commission_events holds an unknown kind {kind:?}").into())
        })?;
        let currency = Currency::parse(&currency).map_err(|_| {
            RepoError::Backend(
                format!("commission_events holds a bad currency {currency:?}").into(),
            )
        })?;
        let balance = balances.entry(currency).or_default();
        let split = CommissionSplit {
            gross,
            platform_fee,
            influencer_earnings,
        };
        balance.add(kind, approved, funded, settled, &split);
    }
    Ok(balances)
}

fn view_from_row(row: &sqlx::postgres::PgRow) -> RepoResult<ConversionView> {
    let conversion: ConversionRow = sqlx::FromRow::from_row(row).repo()?;
    let split = |prefix: &str| -> RepoResult<CommissionSplit> {
        Ok(CommissionSplit {
            gross: row.try_get(format!("{prefix}_gross").as_str()).repo()?,
            platform_fee: row.try_get(format!("{prefix}_fee").as_str()).repo()?,
            influencer_earnings: row.try_get(format!("{prefix}_earnings").as_str()).repo()?,
        })
    };
    let unsettled: bool = row.try_get("unsettled").repo()?;
    Ok(ConversionView::new(
        conversion.try_into()?,
        split("net")?,
        split("paid")?,
        unsettled,
    ))
}

#[async_trait]
impl LedgerQueries for PgStore {
    async fn events_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<CommissionEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(concat!(
            event_select!(),
            " WHERE merchant_id = $1 ORDER BY occurred_at, id"
        ))
        .bind(merchant.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(CommissionEvent::try_from).collect()
    }

    async fn conversions_by_merchant(
        &self,
        merchant: MerchantId,
        filter: ConversionFilter,
        page: Page<ConversionId>,
    ) -> RepoResult<Vec<ConversionView>> {
        let rows = sqlx::query(view_select!(
            "WHERE c.merchant_id = $1 AND (NOT $2 OR c.link_id IS NULL) \
             AND (NOT $5 OR c.held_at IS NOT NULL) \
             AND (NOT $6 OR cardinality(c.signals) > 0) \
             AND ($3::uuid IS NULL OR c.id > $3) ORDER BY c.id LIMIT $4"
        ))
        .bind(merchant.as_uuid())
        .bind(filter == ConversionFilter::Unattributed)
        .bind(page.after.map(|c| c.as_uuid()))
        .bind(i64::from(page.limit()))
        .bind(filter == ConversionFilter::Held)
        .bind(filter == ConversionFilter::Signalled)
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.iter().map(view_from_row).collect()
    }

    async fn conversions_by_influencer(
        &self,
        influencer: InfluencerId,
        page: Page<ConversionId>,
    ) -> RepoResult<Vec<ConversionView>> {
        let rows = sqlx::query(view_select!(
            "WHERE c.influencer_id = $1 AND ($2::uuid IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3"
        ))
        .bind(influencer.as_uuid())
        .bind(page.after.map(|c| c.as_uuid()))
        .bind(i64::from(page.limit()))
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.iter().map(view_from_row).collect()
    }

    async fn earnings_summary(&self, influencer: InfluencerId) -> RepoResult<Vec<EarningsSummary>> {
        let groups = sqlx::query_as(balance_groups!("e.influencer_id"))
            .bind(influencer.as_uuid())
            .fetch_all(&self.pool)
            .await
            .repo()?;
        Ok(balances(groups)?
            .into_iter()
            .map(|(currency, balance)| balance.earnings(currency))
            .collect())
    }

    async fn merchant_commissions(&self, merchant: MerchantId) -> RepoResult<MerchantCommissions> {
        let currency: String = sqlx::query_scalar("SELECT currency FROM merchants WHERE id = $1")
            .bind(merchant.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .repo()?
            .ok_or(RepoError::NotFound(Entity::Merchant))?;
        let currency = RowParser::new("merchants", merchant.as_uuid())
            .field("currency", Currency::parse(&currency))?;
        let groups = sqlx::query_as(balance_groups!("e.merchant_id"))
            .bind(merchant.as_uuid())
            .fetch_all(&self.pool)
            .await
            .repo()?;
        let (orders, ordered, refunded): (i64, Decimal, Decimal) = sqlx::query_as(
            "SELECT count(*), COALESCE(sum(amount), 0), COALESCE(sum(refunded_amount), 0) \
             FROM conversions WHERE merchant_id = $1 AND link_id IS NULL",
        )
        .bind(merchant.as_uuid())
        .fetch_one(&self.pool)
        .await
        .repo()?;
        // Every event of a merchant is in its settlement currency.
        let balance = balances(groups)?.remove(&currency).unwrap_or_default();
        Ok(balance.commissions(
            currency,
            &UnattributedOrders {
                orders,
                ordered,
                refunded,
            },
        ))
    }

    async fn link_daily_stats(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyLinkStats>> {
        let rows: Vec<(NaiveDate, i64, i64, Decimal, Decimal, Decimal)> = sqlx::query_as(
            "WITH days AS ( \
                 SELECT d::date AS day FROM generate_series($2::date, $3::date, interval '1 day') d), \
             clicked AS ( \
                 SELECT day, sum(clicks)::bigint AS n FROM click_rollups_daily \
                 WHERE link_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day), \
             converted AS ( \
                 SELECT (c.ordered_at AT TIME ZONE 'UTC')::date AS day, \
                        count(*) FILTER (WHERE e.kind = 'accrued') AS n, \
                        sum(e.sales) AS revenue, sum(e.gross) AS commission, \
                        sum(e.influencer_earnings) AS earnings \
                 FROM commission_events e JOIN conversions c ON c.id = e.conversion_id \
                 WHERE e.link_id = $1 AND e.kind IN ('accrued', 'reversed', 'voided') \
                   AND c.ordered_at >= ($2::date)::timestamp AT TIME ZONE 'UTC' \
                   AND c.ordered_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC' \
                 GROUP BY 1) \
             SELECT days.day, COALESCE(clicked.n, 0), COALESCE(converted.n, 0), \
                    COALESCE(converted.revenue, 0), COALESCE(converted.commission, 0), \
                    COALESCE(converted.earnings, 0) \
             FROM days LEFT JOIN clicked USING (day) LEFT JOIN converted USING (day) \
             ORDER BY days.day",
        )
        .bind(link.as_uuid())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .repo()?;
        Ok(rows
            .into_iter()
            .map(
                |(day, clicks, conversions, revenue, commission, earnings)| DailyLinkStats {
                    day,
                    clicks,
                    conversions,
                    revenue,
                    commission,
                    earnings,
                },
            )
            .collect())
    }

    async fn conversion_breakdown(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<ValueConversions>> {
        if to < from {
            return Ok(Vec::new());
        }
        let (scoped, id) = scope_links(scope);
        let value = match Values::of(dimension) {
            Values::OfLink(value) => value,
            // Core's `breakdown::conversion_value`, in SQL: an order attributed by coupon had no
            // click, so its source is the coupon and it knows nothing of the rest.
            Values::Column(_) if dimension == Dimension::Source => format!(
                "CASE WHEN c.attributed_by = 'coupon' THEN '{COUPON}' \
                 ELSE COALESCE(c.click_source, '{NONE}') END"
            ),
            Values::Column(column) => format!(
                "CASE WHEN c.attributed_by = 'coupon' THEN '{NONE}' \
                 ELSE COALESCE(c.{column}, '{NONE}') END"
            ),
        };
        // Counted as link_daily_stats counts, by order day. An event's link is its conversion's
        // (core's CommissionEvent::accrual and reversal copy it): naming both lets the planner
        // reach the conversions through idx_conversions_link_ordered.
        let sql = format!(
            "SELECT {value}, c.currency, count(*) FILTER (WHERE e.kind = 'accrued'), \
                    sum(e.sales), sum(e.gross), sum(e.influencer_earnings) \
             FROM tracking_links l \
             JOIN conversions c ON c.link_id = l.id \
             JOIN commission_events e ON e.conversion_id = c.id AND e.link_id = l.id \
             WHERE {scoped} AND e.kind IN ('accrued', 'reversed', 'voided') \
               AND c.ordered_at >= ($2::date)::timestamp AT TIME ZONE 'UTC' \
               AND c.ordered_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC' \
             GROUP BY 1, 2"
        );
        let rows: Vec<(String, String, i64, Decimal, Decimal, Decimal)> = sqlx::query_as(&sql)
            .bind(id)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .repo()?;
        rows.into_iter()
            .map(
                |(value, currency, conversions, revenue, commission, earnings)| {
                    let currency = Currency::parse(&currency).map_err(|_| {
                        RepoError::Backend(
                            format!("conversions holds a bad currency {currency:?}").into(),
                        )
                    })?;
                    Ok(ValueConversions {
                        value,
                        currency,
                        conversions,
                        revenue,
                        commission,
                        earnings,
                    })
                },
            )
            .collect()
    }
}
