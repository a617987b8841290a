//! The ledger's read side for the people it concerns: an influencer's earnings, conversions
//! and per-link daily series; a merchant's conversions, unattributed orders and commissions.
//!
//! Every function checks the actor here, as the rest of [`crate::service`] does: a wrong
//! role is `Forbidden`, someone else's link is `NotFound`.

use super::links::owned;
use super::profiles::{own_influencer, own_merchant};
use super::{Actor, Rejection, ServiceResult};
use crate::domain::{ConversionId, Currency, LinkId, Slug};
use crate::earning::ledger::{
    ConversionFilter, ConversionView, DailyLinkStats, EarningsSummary, MerchantCommissions,
};
use crate::store::{InfluencerRepo, LedgerQueries, LinkRepo, MerchantRepo, Page, RepoError};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The longest daily series one request may ask for, in days.
pub const MAX_SERIES_DAYS: i64 = 366;

/// The earliest day a statement can name: nothing SkinStack stores is older.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(day) => day,
    None => panic!("1970-01-01 is a date"),
};

/// The last day a statement can name: RFC 3339 (and so every timestamp SkinStack accepts)
/// ends with year 9999.
pub const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(day) => day,
    None => panic!("9999-12-31 is a date"),
};

/// A span of UTC days, `from` to `to` inclusive, at most [`MAX_SERIES_DAYS`] long, within
/// [`FIRST_DAY`]..=[`LAST_DAY`]. Any two dates a client sends are either a range or a
/// `Rejected` naming the field: no date arithmetic on them can overflow (chrono panics on
/// `NaiveDate - Duration` beyond its own range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    from: NaiveDate,
    to: NaiveDate,
}

fn within_span(field: &'static str, day: NaiveDate) -> ServiceResult<NaiveDate> {
    if (FIRST_DAY..=LAST_DAY).contains(&day) {
        Ok(day)
    } else {
        Err(Rejection::DayOutOfSpan { field }.into())
    }
}

impl DayRange {
    /// `from`..=`to`; `Rejected` if either is outside [`FIRST_DAY`]..=[`LAST_DAY`], `to` is
    /// before `from`, or the span is too long.
    pub fn new(from: NaiveDate, to: NaiveDate) -> ServiceResult<Self> {
        let from = within_span("from", from)?;
        let to = within_span("to", to)?;
        if to < from {
            return Err(Rejection::DaysReversed.into());
        }
        if (to - from).num_days() >= MAX_SERIES_DAYS {
            return Err(Rejection::TooManyDays.into());
        }
        Ok(Self { from, to })
    }

    /// The `days` days ending with `today` (clamped to 1..=[`MAX_SERIES_DAYS`], and to start
    /// no earlier than [`FIRST_DAY`]); `Rejected` naming `to` if `today` is outside
    /// [`FIRST_DAY`]..=[`LAST_DAY`].
    pub fn last(days: i64, today: NaiveDate) -> ServiceResult<Self> {
        let to = within_span("to", today)?;
        let back = u64::try_from(days.clamp(1, MAX_SERIES_DAYS) - 1).unwrap_or(0);
        let from = to
            .checked_sub_days(Days::new(back))
            .map_or(FIRST_DAY, |from| from.max(FIRST_DAY));
        Ok(Self { from, to })
    }

    /// The first day.
    pub const fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub const fn to(&self) -> NaiveDate {
        self.to
    }
}

/// The actor's earnings: pending, approved, paid and balance, one summary per currency
/// (by code), and the summary of their primary currency (that of `total_earned`; zeros in
/// USD before the first earning).
pub async fn influencer_earnings<S>(
    store: &S,
    actor: &Actor,
) -> ServiceResult<(EarningsSummary, Vec<EarningsSummary>)>
where
    S: InfluencerRepo + LedgerQueries + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    let all = store.earnings_summary(influencer.id).await?;
    let primary = influencer.primary_currency.unwrap_or_default();
    let summary = all
        .iter()
        .find(|s| s.currency == primary)
        .copied()
        .unwrap_or(EarningsSummary {
            currency: primary,
            ..EarningsSummary::default()
        });
    Ok((summary, all))
}

/// The conversions attributed to the actor's links, oldest first, one page at a time.
pub async fn influencer_conversions<S>(
    store: &S,
    actor: &Actor,
    page: Page<ConversionId>,
) -> ServiceResult<Vec<ConversionView>>
where
    S: InfluencerRepo + LedgerQueries + ?Sized,
{
    let influencer = own_influencer(store, actor).await?;
    Ok(store.conversions_by_influencer(influencer.id, page).await?)
}

/// One row per day of `range` for the actor's link `link`: clicks, conversions, revenue,
/// commission and the influencer's earnings. Someone else's link is `NotFound`.
pub async fn link_daily_series<S>(
    store: &S,
    actor: &Actor,
    link: LinkId,
    range: DayRange,
) -> ServiceResult<(Currency, Vec<DailyLinkStats>)>
where
    S: InfluencerRepo + LinkRepo + LedgerQueries + ?Sized,
{
    let link = owned(store, actor, link).await?;
    let days = store
        .link_daily_stats(link.id, range.from, range.to)
        .await?;
    Ok((link.currency, days))
}

/// The actor's merchant's conversions (all, or only the unattributed ones), oldest first.
pub async fn merchant_conversions<S>(
    store: &S,
    actor: &Actor,
    filter: ConversionFilter,
    page: Page<ConversionId>,
) -> ServiceResult<Vec<ConversionView>>
where
    S: MerchantRepo + LedgerQueries + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    Ok(store
        .conversions_by_merchant(merchant.id, filter, page)
        .await?)
}

/// The actor's merchant's commissions: pending, approved, owed, paid, and unattributed sales.
pub async fn merchant_commissions<S>(store: &S, actor: &Actor) -> ServiceResult<MerchantCommissions>
where
    S: MerchantRepo + LedgerQueries + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    Ok(store.merchant_commissions(merchant.id).await?)
}

/// One of a merchant's links by what it sold: attributed conversions, their amounts net of
/// refunds, and the gross commission they carry net of reversals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopLink {
    /// The link.
    pub link: LinkId,
    /// Its slug.
    pub slug: Slug,
    /// Conversions attributed to it.
    pub conversions: i64,
    /// Their amounts, net of refunds.
    pub revenue: Decimal,
    /// The commission they carry, net of reversals.
    pub commission: Decimal,
}

/// The actor's merchant's `limit` links with the most revenue, best first. It reads every
/// conversion of the merchant's, a page at a time: fine for a dashboard over a catalogue's
/// worth of orders; a very large shop would want it precomputed.
pub async fn merchant_top_links<S>(
    store: &S,
    actor: &Actor,
    limit: usize,
) -> ServiceResult<Vec<TopLink>>
where
    S: MerchantRepo + LinkRepo + LedgerQueries + ?Sized,
{
    let merchant = own_merchant(store, actor).await?;
    let mut totals: HashMap<LinkId, (i64, Decimal, Decimal)> = HashMap::new();
    let mut after = None;
    loop {
        let request = Page::largest(after);
        let page = store
            .conversions_by_merchant(merchant.id, ConversionFilter::All, request)
            .await?;
        for view in &page {
            let conversion = &view.conversion;
            if let Some(attribution) = &conversion.attribution {
                let entry = totals.entry(attribution.link_id).or_default();
                entry.0 += 1;
                entry.1 += conversion.net_amount().amount();
                entry.2 += view.net_commission.gross;
            }
        }
        match request.next_cursor(&page, |view| view.conversion.id) {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut ranked: Vec<_> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(b.1 .0.cmp(&a.1 .0)));
    let mut top = Vec::with_capacity(limit.min(ranked.len()));
    for (link, (conversions, revenue, commission)) in ranked {
        if top.len() == limit {
            break;
        }
        // A deleted link keeps its conversions but has no slug left to show.
        let slug = match store.link_by_id(link).await {
            Ok(found) => found.slug,
            Err(RepoError::NotFound(_)) => continue,
            Err(other) => return Err(other.into()),
        };
        top.push(TopLink {
            link,
            slug,
            conversions,
            revenue,
            commission,
        });
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::{LinkId, Role};
    use crate::service::ServiceError;
    use crate::testkit::{new_link, Fixture};
    use crate::MemoryStore;
    use chrono::Duration;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_day_range_is_ordered_and_bounded() {
        assert!(DayRange::new(day("2026-01-02"), day("2026-01-01")).is_err());
        let one = DayRange::new(day("2026-01-01"), day("2026-01-01")).unwrap();
        assert_eq!(
            (one.from(), one.to()),
            (day("2026-01-01"), day("2026-01-01"))
        );
        // 366 days inclusive is allowed, 367 is not.
        assert!(DayRange::new(day("2026-01-01"), day("2027-01-01")).is_ok());
        assert!(DayRange::new(day("2026-01-01"), day("2027-01-02")).is_err());
        let last = DayRange::last(30, day("2026-03-30")).unwrap();
        assert_eq!(
            (last.from(), last.to()),
            (day("2026-03-01"), day("2026-03-30"))
        );
        assert_eq!(
            DayRange::last(0, day("2026-03-30")).unwrap().from(),
            day("2026-03-30")
        );
    }

    #[test]
    fn days_beyond_the_span_are_rejected_by_field_not_a_panic() {
        let rejected = |result: ServiceResult<DayRange>| match result {
            Err(ServiceError::Rejected(rejection)) => rejection.field(),
            other => panic!("expected a rejection, got {other:?}"),
        };
        // chrono's own extremes: `NaiveDate::MIN - 29 days` panics in chrono itself.
        assert_eq!(rejected(DayRange::last(30, NaiveDate::MIN)), "to");
        assert_eq!(rejected(DayRange::last(30, NaiveDate::MAX)), "to");
        assert_eq!(
            rejected(DayRange::new(NaiveDate::MIN, day("2026-01-01"))),
            "from"
        );
        assert_eq!(
            rejected(DayRange::new(day("2026-01-01"), NaiveDate::MAX)),
            "to"
        );
        assert_eq!(
            rejected(DayRange::new(day("1969-12-31"), day("1970-01-01"))),
            "from"
        );
        assert_eq!(
            rejected(DayRange::new(
                day("9999-12-31"),
                NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap()
            )),
            "to"
        );
        // The span's own ends are days like any other; a series near the start is cut there.
        let first = DayRange::last(30, FIRST_DAY).unwrap();
        assert_eq!((first.from(), first.to()), (FIRST_DAY, FIRST_DAY));
        let early = DayRange::last(30, day("1970-01-10")).unwrap();
        assert_eq!(early.from(), FIRST_DAY);
        let end = DayRange::new(day("9999-12-01"), LAST_DAY).unwrap();
        assert_eq!(end.to(), LAST_DAY);
        assert_eq!(
            DayRange::last(30, LAST_DAY).unwrap().from(),
            day("9999-12-02")
        );
    }

    #[tokio::test]
    async fn top_links_rank_a_merchants_links_by_revenue_net_of_refunds() {
        use crate::service::conversions::{record_conversion, record_refund};
        use crate::testkit::conversions::{cents, click_at, order, refund, t0};
        let store = MemoryStore::new();
        let fx = Fixture::create(&store).await;
        let small = store.insert_link(new_link(&fx, "small")).await.unwrap();
        let big = store.insert_link(new_link(&fx, "big")).await.unwrap();
        let gone = store.insert_link(new_link(&fx, "gone")).await.unwrap();
        let sell = |id: &'static str, link: LinkId, amount: i64| {
            let store = store.clone();
            let fx = fx.clone();
            async move {
                let clicked = click_at(&store, link, t0() - Duration::hours(1), false).await;
                let mut o = order(&fx, id, cents(amount), t0());
                o.click_id = Some(clicked);
                record_conversion(&store, t0(), o).await.unwrap()
            }
        };
        sell("1", small.id, 3000).await;
        sell("2", big.id, 5000).await;
        sell("3", big.id, 2000).await;
        sell("4", gone.id, 9000).await;
        // Unattributed: no click, no coupon.
        record_conversion(&store, t0(), order(&fx, "5", cents(10_000), t0()))
            .await
            .unwrap();
        // A refund brings `big` down to 45.00, still above `small`.
        record_refund(&store, t0(), refund(&fx, "2", "r1", cents(2500)))
            .await
            .unwrap();
        store.delete_link(gone.id).await.unwrap();

        let merchant = Actor::new(fx.merchant_user.clone()).unwrap();
        let top = merchant_top_links(&store, &merchant, 10).await.unwrap();
        let ranked: Vec<_> = top
            .iter()
            .map(|t| (t.slug.as_str(), t.conversions, t.revenue))
            .collect();
        assert_eq!(
            ranked,
            vec![
                ("big", 2, Decimal::new(4500, 2)),
                ("small", 1, Decimal::new(3000, 2))
            ]
        );
        assert!(top[0].commission > top[1].commission);
        // A deleted link does not take a place in the top.
        let first = merchant_top_links(&store, &merchant, 1).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].slug.as_str(), "big");
    }

    #[tokio::test]
    async fn each_side_sees_only_its_own_statements() {
        let store = MemoryStore::new();
        let fx = Fixture::create(&store).await;
        let link = store.insert_link(new_link(&fx, "statement")).await.unwrap();
        let influencer = Actor::new(fx.influencer_user.clone()).unwrap();
        let merchant = Actor::new(fx.merchant_user.clone()).unwrap();
        assert_eq!(influencer.role(), Role::Influencer);

        let earnings = influencer_earnings(&store, &influencer).await.unwrap();
        assert_eq!(earnings, (EarningsSummary::default(), Vec::new()));
        assert!(matches!(
            influencer_earnings(&store, &merchant).await,
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            merchant_commissions(&store, &influencer).await,
            Err(ServiceError::Forbidden(_))
        ));
        let range = DayRange::last(7, day("2026-03-30")).unwrap();
        let (currency, series) = link_daily_series(&store, &influencer, link.id, range)
            .await
            .unwrap();
        assert_eq!((currency, series.len()), (Currency::USD, 7));
        assert!(matches!(
            link_daily_series(&store, &influencer, LinkId::new(), range).await,
            Err(ServiceError::NotFound(_))
        ));
        assert_eq!(
            merchant_top_links(&store, &merchant, 5).await.unwrap(),
            vec![]
        );
        assert!(matches!(
            merchant_top_links(&store, &influencer, 5).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
}
