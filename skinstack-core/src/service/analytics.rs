//! Breakdowns for the people they concern: an influencer's links (one or all of them), a
//! merchant's programs (one or all of them), split by one [`Dimension`] over a [`DayRange`].
//!
//! Every function checks the actor here, as the rest of [`crate::service`] does: a wrong role is
//! `Forbidden`, someone else's link or program is `NotFound`. The figures come from the stores'
//! roll-ups ([`crate::tracking::breakdown`]), so a year of a busy link costs O(days × values).

use super::profiles::{own_influencer, own_merchant};
use super::statements::DayRange;
use super::{links, programs, Actor, ServiceResult};
use crate::domain::{InfluencerId, LinkId, ProductId, ProgramId};
use crate::store::{
    ClickRollups, InfluencerRepo, LedgerQueries, LinkRepo, MerchantRepo, ProductRepo, ProgramRepo,
};
use crate::tracking::breakdown::{combine, sum_rows, BreakdownRow, Dimension, Scope};
use serde::Serialize;

/// The most rows a breakdown lists; the rest are summed into one row valued [`OTHERS`].
/// Open dimensions (referring domains) take any value a client sends, so a flood of made-up
/// referers must not make a breakdown unbounded.
pub const MAX_ROWS: usize = 100;

/// The value of the row that sums every value beyond [`MAX_ROWS`].
pub const OTHERS: &str = "*";

/// One breakdown: the rows of one dimension over one range of days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// What the rows split by.
    pub dimension: Dimension,
    /// The first day (UTC).
    pub from: chrono::NaiveDate,
    /// The last day (UTC), inclusive.
    pub to: chrono::NaiveDate,
    /// At most [`MAX_ROWS`] values, most human clicks first (then most conversions, then by
    /// value), then the [`OTHERS`] row if there were more.
    pub rows: Vec<BreakdownRow>,
}

/// The breakdown of the actor's link `link`. Someone else's link is `NotFound`.
pub async fn link_breakdown<S>(
    store: &S,
    actor: &Actor,
    link: LinkId,
    dimension: Dimension,
    range: DayRange,
) -> ServiceResult<Breakdown>
where
    S: Reads + ?Sized,
{
    let link = links::owned(store, actor, link).await?;
    breakdown(store, Scope::Link(link.id), dimension, range).await
}

/// The breakdown of every link of the actor (an influencer).
pub async fn influencer_breakdown<S>(
    store: &S,
    actor: &Actor,
    dimension: Dimension,
    range: DayRange,
) -> ServiceResult<Breakdown>
where
    S: Reads + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    breakdown(store, Scope::Influencer(influencer.id), dimension, range).await
}

/// The breakdown of the actor's merchant's program `program`. Someone else's is `NotFound`.
pub async fn program_breakdown<S>(
    store: &S,
    actor: &Actor,
    program: ProgramId,
    dimension: Dimension,
    range: DayRange,
) -> ServiceResult<Breakdown>
where
    S: Reads + ?Sized,
{
    let program = programs::owned(store, actor, program).await?;
    breakdown(store, Scope::Program(program.id), dimension, range).await
}

/// The breakdown of every program of the actor's merchant.
pub async fn merchant_breakdown<S>(
    store: &S,
    actor: &Actor,
    dimension: Dimension,
    range: DayRange,
) -> ServiceResult<Breakdown>
where
    S: Reads + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    breakdown(store, Scope::Merchant(merchant.id), dimension, range).await
}

/// What a breakdown reads: the roll-ups, the ledger, and the names behind link values.
pub trait Reads:
    ClickRollups + LedgerQueries + LinkRepo + ProductRepo + InfluencerRepo + MerchantRepo + ProgramRepo
{
}

impl<S> Reads for S where
    S: ClickRollups
        + LedgerQueries
        + LinkRepo
        + ProductRepo
        + InfluencerRepo
        + MerchantRepo
        + ProgramRepo
        + ?Sized
{
}

async fn breakdown<S>(
    store: &S,
    scope: Scope,
    dimension: Dimension,
    range: DayRange,
) -> ServiceResult<Breakdown>
where
    S: Reads + ?Sized,
{
    let (from, to) = (range.from(), range.to());
    let clicks = store.click_breakdown(scope, dimension, from, to).await?;
    let conversions = store
        .conversion_breakdown(scope, dimension, from, to)
        .await?;
    let mut rows = combine(clicks, conversions);
    if rows.len() > MAX_ROWS {
        let rest = rows.split_off(MAX_ROWS);
        rows.push(sum_rows(OTHERS, &rest));
    }
    for row in rows.iter_mut() {
        row.label = label(store, dimension, &row.value).await;
    }
    Ok(Breakdown {
        dimension,
        from,
        to,
        rows,
    })
}

/// The readable name of a link, product or member value, if it still exists: the caller owns
/// the scope the value came from, so naming it reveals nothing new.
async fn label<S>(store: &S, dimension: Dimension, value: &str) -> Option<String>
where
    S: Reads + ?Sized,
{
    let id = uuid::Uuid::parse_str(value).ok()?;
    match dimension {
        Dimension::Link => store
            .link_by_id(LinkId::from_uuid(id))
            .await
            .ok()
            .map(|l| l.slug.to_string()),
        Dimension::Product => store
            .product_by_id(ProductId::from_uuid(id))
            .await
            .ok()
            .map(|p| p.name.to_string()),
        Dimension::Member => store
            .influencer_by_id(InfluencerId::from_uuid(id))
            .await
            .ok()
            .map(|i| i.display_name.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::{Click, ClickSource};
    use crate::memory::MemoryStore;
    use crate::service::ServiceError;
    use crate::store::ClickSink;
    use crate::testkit::{new_link, Fixture};
    use chrono::Utc;

    fn today() -> DayRange {
        DayRange::last(1, Utc::now().date_naive()).unwrap()
    }

    #[tokio::test]
    async fn a_link_breaks_down_by_source_for_its_influencer_and_is_not_found_for_others() {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let link = store.insert_link(new_link(&f, "split")).await.unwrap();
        let phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        let clicks = [
            Click::new(link.id, None, Some(phone), None),
            Click::new(link.id, None, Some(phone), None).from_source(ClickSource::Qr),
            Click::new(link.id, None, Some(phone), None).from_source(ClickSource::Qr),
        ];
        store.record_clicks(&clicks).await.unwrap();
        let influencer = Actor::new(f.influencer_user.clone()).unwrap();
        let merchant = Actor::new(f.merchant_user.clone()).unwrap();
        let got = link_breakdown(&store, &influencer, link.id, Dimension::Source, today())
            .await
            .unwrap();
        let rows: Vec<(&str, i64)> = got
            .rows
            .iter()
            .map(|r| (r.value.as_str(), r.clicks))
            .collect();
        assert_eq!(rows, [("qr", 2), ("link", 1)]);
        assert!(got
            .rows
            .iter()
            .all(|r| r.conversion_rate == Some(rust_decimal::Decimal::ZERO)));
        assert!(matches!(
            link_breakdown(
                &store,
                &influencer,
                LinkId::new(),
                Dimension::Source,
                today()
            )
            .await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            merchant_breakdown(&store, &influencer, Dimension::Source, today()).await,
            Err(ServiceError::Forbidden(_))
        ));
        // The merchant sees the same clicks through its program, split by member.
        let members = merchant_breakdown(&store, &merchant, Dimension::Member, today())
            .await
            .unwrap();
        assert_eq!(members.rows.len(), 1);
        assert_eq!(members.rows[0].clicks, 3);
        assert_eq!(
            members.rows[0].label.as_deref(),
            Some(f.influencer.display_name.to_string().as_str())
        );
    }

    #[test]
    fn rows_beyond_the_cap_are_summed_into_one() {
        let row = |value: &str, clicks| BreakdownRow {
            value: value.into(),
            label: None,
            clicks,
            qr_scans: 0,
            robot_hits: 1,
            conversions: 0,
            conversion_rate: None,
            money: Vec::new(),
        };
        let summed = sum_rows(OTHERS, &[row("a.example", 3), row("b.example", 5)]);
        assert_eq!(summed.value, OTHERS);
        assert_eq!((summed.clicks, summed.robot_hits), (8, 2));
        assert_eq!(summed.conversion_rate, Some(rust_decimal::Decimal::ZERO));
    }
}
