//! Attribution: which link, if any, earns the commission on an order. Pure: the facts are
//! looked up by the caller, the decision is made here.
//!
//! # Rules, in order
//! 1. **Last click wins.** The order's click id (`ssclid`) attributes to the clicked link if
//!    the click is known, on one of *this merchant's* links, not made by a robot, not after the
//!    order, the order not placed before the link was created, within the link's program's
//!    cookie window before the order, and not spent. The window is closed at its end: a click
//!    exactly `cookie_window` before `ordered_at` attributes; one a second older does not. A
//!    click at the very instant of the order attributes, and so does an order at the very
//!    instant its link was created. The redirect records clicks only on links that exist, but
//!    a click id can be imported or forged into a shop's pages: the link's creation is checked
//!    on its own, not inferred from the click.
//!    A click is **spent** once it has attributed [`ClickReuseLimit`] orders (one by default,
//!    [`click_reused`]): one visit is one purchase, and an id that keeps buying is a cookie
//!    stuffed into other shoppers' sessions. A spent click falls through to rule 2.
//! 2. **Coupon.** Otherwise an order's coupon attributes to the link that **owns** the code at
//!    this merchant ([`CouponCode`](crate::CouponCode), compared upper-cased): a code the
//!    merchant assigned at or before `ordered_at` and not revoked at or before it. The interval
//!    is closed at its start and open at its end: a code assigned exactly at `ordered_at`
//!    attributes, one assigned a second later does not; a code revoked exactly at `ordered_at`
//!    does not, one revoked a second later still does. A requested code never attributes, and
//!    neither does a link's free-text `campaign_code`, which anyone creating a link can set.
//!    The owning link counts **active or not**: an influencer's code printed in a video keeps
//!    selling after the link is switched off, and the shop — not SkinStack — decides whether
//!    the code is still honoured. Should two owners' intervals overlap (a code revoked and
//!    re-assigned by servers whose clocks disagree), the later assignment wins.
//! 3. Otherwise the order is **unattributed**: stored and shown to the merchant, earning no
//!    commission.

use crate::domain::ClickId;
use crate::domain::{AttributedBy, Attribution, Currency, HoldDays};
use crate::domain::{
    CampaignCode, Commission, CookieWindow, CouponCodeId, FeeRate, InfluencerId, LinkId,
    MerchantId, Money, ProgramId,
};
use crate::earning::commission::CommissionSplit;
use crate::earning::signals::{click_reused, ClickReuseLimit};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// A link with the terms of its program: what attribution and commission need to know.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkTerms {
    /// The link.
    pub link_id: LinkId,
    /// Its influencer.
    pub influencer_id: InfluencerId,
    /// Its program.
    pub program_id: ProgramId,
    /// The program's merchant.
    pub merchant_id: MerchantId,
    /// Whether the link is switched on.
    pub is_active: bool,
    /// When the link was created.
    pub created_at: DateTime<Utc>,
    /// What the program pays.
    pub commission: Commission,
    /// The platform's fee.
    pub platform_fee_rate: FeeRate,
    /// The program's attribution window.
    pub cookie_window: CookieWindow,
    /// The program's hold before approval.
    pub hold_days: HoldDays,
}

impl LinkTerms {
    /// The commission the program pays on `amount` in `currency`: [`Commission::split`].
    pub fn split(&self, amount: Money, currency: Currency) -> CommissionSplit {
        self.commission
            .split(amount, self.platform_fee_rate, currency)
    }
}

/// A stored click with the terms of the link clicked.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickFacts {
    /// The click.
    pub click_id: ClickId,
    /// When it happened.
    pub clicked_at: DateTime<Utc>,
    /// Whether a robot made it.
    pub is_bot: bool,
    /// The clicker's address as stored: already anonymised ([`crate::anonymize_ip`]).
    pub ip: Option<IpAddr>,
    /// How many stored orders it has attributed so far.
    pub attributed_orders: u64,
    /// What it said for every click dimension (source, visitor families, country), as stored
    /// with it: copied onto the conversion it attributes ([`NewConversion::visit`]).
    pub visit: crate::tracking::breakdown::Visit,
    /// The link clicked.
    pub link: LinkTerms,
}

/// A coupon code that was assigned, with the terms of the link that owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct CouponFacts {
    /// The code.
    pub code_id: CouponCodeId,
    /// The code upper-cased, as orders' coupons are compared.
    pub key: CampaignCode,
    /// When the merchant assigned it: it attributes orders placed from then on.
    pub assigned_at: DateTime<Utc>,
    /// When it was revoked, if it was: it attributes no order placed from then on.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The owning link.
    pub link: LinkTerms,
}

impl CouponFacts {
    /// Whether the code owned its spelling when an order was placed at `ordered_at`.
    pub fn owned_at(&self, ordered_at: DateTime<Utc>) -> bool {
        self.assigned_at <= ordered_at && self.revoked_at.is_none_or(|r| ordered_at < r)
    }
}

/// Why an order's click id did not attribute it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickRejection {
    /// No such click is stored.
    Unknown,
    /// The click was on another merchant's link.
    OtherMerchant,
    /// A robot made the click.
    Bot,
    /// The click came after the order.
    AfterOrder,
    /// The click is older than the program's cookie window.
    OutsideWindow,
    /// The order was placed before the clicked link was created.
    BeforeLink,
    /// The click had already attributed its limit of orders ([`ClickReuseLimit`]).
    Reused,
}

/// The outcome: the link credited (with its terms), and why the click did not count if one
/// was reported but did not attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The credited link and the rule, or `None` for an unattributed order.
    pub winner: Option<(LinkTerms, AttributedBy)>,
    /// Set when the order carried a click id that did not attribute.
    pub click_rejected: Option<ClickRejection>,
}

impl Decision {
    /// The attribution to store.
    pub fn attribution(&self) -> Option<Attribution> {
        self.winner.as_ref().map(|(terms, by)| Attribution {
            link_id: terms.link_id,
            influencer_id: terms.influencer_id,
            program_id: terms.program_id,
            by: by.clone(),
        })
    }
}

/// Decides an order's attribution.
///
/// - `click_id`: the order's reported click id; `click` the stored click it names (`None` if
///   unknown).
/// - `coupon` and `coupon_codes`: the order's coupon and the assigned codes of that spelling
///   (any merchant's: only `merchant`'s count).
/// - `click_reuse`: how many orders one click may attribute.
pub fn attribute(
    merchant: MerchantId,
    ordered_at: DateTime<Utc>,
    click_id: Option<ClickId>,
    click: Option<&ClickFacts>,
    coupon: Option<&CampaignCode>,
    coupon_codes: &[CouponFacts],
    click_reuse: ClickReuseLimit,
) -> Decision {
    let click_rejected = match click_id {
        None => None,
        Some(id) => match click.filter(|c| c.click_id == id) {
            None => Some(ClickRejection::Unknown),
            Some(c) => match judge_click(merchant, ordered_at, c, click_reuse) {
                Ok(()) => {
                    return Decision {
                        winner: Some((c.link.clone(), AttributedBy::Click { click_id: id })),
                        click_rejected: None,
                    }
                }
                Err(why) => Some(why),
            },
        },
    };
    let winner = coupon.and_then(|code| {
        coupon_codes
            .iter()
            .filter(|c| c.link.merchant_id == merchant && c.key == *code)
            .filter(|c| c.owned_at(ordered_at))
            // The latest assignment; the id breaks exact ties deterministically.
            .max_by_key(|c| (c.assigned_at, c.code_id))
            .map(|c| (c.link.clone(), AttributedBy::Coupon { code: code.clone() }))
    });
    Decision {
        winner,
        click_rejected,
    }
}

fn judge_click(
    merchant: MerchantId,
    ordered_at: DateTime<Utc>,
    click: &ClickFacts,
    click_reuse: ClickReuseLimit,
) -> Result<(), ClickRejection> {
    if click.link.merchant_id != merchant {
        return Err(ClickRejection::OtherMerchant);
    }
    if click.is_bot {
        return Err(ClickRejection::Bot);
    }
    if click.clicked_at > ordered_at {
        return Err(ClickRejection::AfterOrder);
    }
    if ordered_at < click.link.created_at {
        return Err(ClickRejection::BeforeLink);
    }
    if ordered_at - click.clicked_at > click.link.cookie_window.duration() {
        return Err(ClickRejection::OutsideWindow);
    }
    // Last: a click that could not attribute anyway is rejected for its own reason.
    if click_reused(click.attributed_orders, click_reuse) {
        return Err(ClickRejection::Reused);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommissionRate;
    use chrono::{Duration, TimeZone};
    use rust_decimal::Decimal;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn terms(merchant: MerchantId) -> LinkTerms {
        LinkTerms {
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            program_id: ProgramId::new(),
            merchant_id: merchant,
            is_active: true,
            created_at: t0() - Duration::days(100),
            commission: Commission::Percentage(CommissionRate::new(Decimal::new(20, 0)).unwrap()),
            platform_fee_rate: FeeRate::default(),
            cookie_window: CookieWindow::new(7).unwrap(),
            hold_days: HoldDays::default(),
        }
    }

    /// `code` owned by `link`, assigned at `assigned_at` and never revoked.
    fn owned(link: &LinkTerms, code: &str, assigned_at: DateTime<Utc>) -> CouponFacts {
        CouponFacts {
            code_id: CouponCodeId::new(),
            key: CampaignCode::parse(code).unwrap(),
            assigned_at,
            revoked_at: None,
            link: link.clone(),
        }
    }

    fn code(value: &str) -> CampaignCode {
        CampaignCode::parse(value).unwrap()
    }

    fn click(link: &LinkTerms, at: DateTime<Utc>, is_bot: bool) -> ClickFacts {
        ClickFacts {
            click_id: ClickId::new(),
            clicked_at: at,
            is_bot,
            ip: None,
            attributed_orders: 0,
            visit: crate::tracking::breakdown::Visit::default(),
            link: link.clone(),
        }
    }

    fn by_click(merchant: MerchantId, ordered_at: DateTime<Utc>, c: &ClickFacts) -> Decision {
        attribute(
            merchant,
            ordered_at,
            Some(c.click_id),
            Some(c),
            None,
            &[],
            ClickReuseLimit::ONE,
        )
    }

    fn by_coupon(
        merchant: MerchantId,
        ordered_at: DateTime<Utc>,
        coupon: &str,
        codes: &[CouponFacts],
    ) -> Option<LinkId> {
        attribute(
            merchant,
            ordered_at,
            None,
            None,
            Some(&code(coupon)),
            codes,
            ClickReuseLimit::ONE,
        )
        .winner
        .map(|(l, _)| l.link_id)
    }

    #[test]
    fn a_click_exactly_at_the_end_of_the_window_attributes() {
        let m = MerchantId::new();
        let link = terms(m);
        let c = click(&link, t0() - Duration::days(7), false);
        let d = by_click(m, t0(), &c);
        assert_eq!(d.winner.unwrap().0.link_id, link.link_id);
        assert_eq!(d.click_rejected, None);
    }

    #[test]
    fn a_click_one_second_older_than_the_window_does_not() {
        let m = MerchantId::new();
        let c = click(
            &terms(m),
            t0() - Duration::days(7) - Duration::seconds(1),
            false,
        );
        let d = by_click(m, t0(), &c);
        assert_eq!(d.winner, None);
        assert_eq!(d.click_rejected, Some(ClickRejection::OutsideWindow));
    }

    #[test]
    fn a_click_at_the_instant_of_the_order_attributes_and_one_second_later_does_not() {
        let m = MerchantId::new();
        let link = terms(m);
        assert!(by_click(m, t0(), &click(&link, t0(), false))
            .winner
            .is_some());
        let late = by_click(m, t0(), &click(&link, t0() + Duration::seconds(1), false));
        assert_eq!(late.winner, None);
        assert_eq!(late.click_rejected, Some(ClickRejection::AfterOrder));
    }

    #[test]
    fn a_click_on_another_merchants_link_does_not_attribute() {
        let c = click(&terms(MerchantId::new()), t0(), false);
        let d = by_click(MerchantId::new(), t0(), &c);
        assert_eq!(d.winner, None);
        assert_eq!(d.click_rejected, Some(ClickRejection::OtherMerchant));
    }

    #[test]
    fn a_robots_click_does_not_attribute() {
        let m = MerchantId::new();
        let d = by_click(m, t0(), &click(&terms(m), t0(), true));
        assert_eq!(d.click_rejected, Some(ClickRejection::Bot));
        assert_eq!(d.winner, None);
    }

    #[test]
    fn an_unknown_click_id_falls_back_to_the_coupon() {
        let m = MerchantId::new();
        let link = terms(m);
        let coupon = code("ana20");
        let d = attribute(
            m,
            t0(),
            Some(ClickId::new()),
            None,
            Some(&coupon),
            &[owned(&link, "ANA20", t0() - Duration::days(1))],
            ClickReuseLimit::ONE,
        );
        assert_eq!(d.click_rejected, Some(ClickRejection::Unknown));
        let (winner, by) = d.winner.unwrap();
        assert_eq!(winner.link_id, link.link_id);
        assert_eq!(by, AttributedBy::Coupon { code: coupon });
    }

    #[test]
    fn the_click_beats_the_coupon_of_another_link() {
        let m = MerchantId::new();
        let clicked = terms(m);
        let coupon_link = terms(m);
        let c = click(&clicked, t0() - Duration::hours(1), false);
        let d = attribute(
            m,
            t0(),
            Some(c.click_id),
            Some(&c),
            Some(&code("ANA20")),
            &[owned(&coupon_link, "ANA20", t0() - Duration::days(1))],
            ClickReuseLimit::ONE,
        );
        assert_eq!(d.winner.unwrap().0.link_id, clicked.link_id);
    }

    #[test]
    fn an_expired_click_falls_back_to_the_coupon() {
        let m = MerchantId::new();
        let link = terms(m);
        let c = click(&link, t0() - Duration::days(8), false);
        let d = attribute(
            m,
            t0(),
            Some(c.click_id),
            Some(&c),
            Some(&code("ANA20")),
            &[owned(&link, "ANA20", t0() - Duration::days(9))],
            ClickReuseLimit::ONE,
        );
        assert_eq!(d.click_rejected, Some(ClickRejection::OutsideWindow));
        assert!(matches!(d.winner, Some((_, AttributedBy::Coupon { .. }))));
    }

    #[test]
    fn coupons_of_another_merchant_do_not_attribute() {
        let link = terms(MerchantId::new());
        let d = attribute(
            MerchantId::new(),
            t0(),
            None,
            None,
            Some(&code("ANA20")),
            &[owned(&link, "ANA20", t0() - Duration::days(1))],
            ClickReuseLimit::ONE,
        );
        assert_eq!(
            d,
            Decision {
                winner: None,
                click_rejected: None
            }
        );
    }

    #[test]
    fn a_code_assigned_exactly_at_the_order_attributes_and_one_assigned_a_second_later_does_not() {
        let m = MerchantId::new();
        let link = terms(m);
        assert_eq!(
            by_coupon(m, t0(), "ANA20", &[owned(&link, "ANA20", t0())]),
            Some(link.link_id)
        );
        let late = owned(&link, "ANA20", t0() + Duration::seconds(1));
        assert_eq!(by_coupon(m, t0(), "ANA20", &[late]), None);
    }

    #[test]
    fn a_revoked_code_attributes_orders_before_its_revocation_only() {
        let m = MerchantId::new();
        let link = terms(m);
        let mut revoked = owned(&link, "ANA20", t0() - Duration::days(10));
        revoked.revoked_at = Some(t0());
        assert_eq!(
            by_coupon(m, t0(), "ANA20", std::slice::from_ref(&revoked)),
            None
        );
        assert_eq!(
            by_coupon(m, t0() - Duration::seconds(1), "ANA20", &[revoked]),
            Some(link.link_id),
            "an order placed before the revocation keeps its owner"
        );
    }

    #[test]
    fn a_code_attributes_to_its_owner_whatever_other_links_are_called_and_the_later_owner_wins() {
        let m = MerchantId::new();
        let (ana, bea) = (terms(m), terms(m));
        let mut anas = owned(&ana, "ANA20", t0() - Duration::days(30));
        anas.revoked_at = Some(t0() - Duration::days(5));
        let beas = owned(&bea, "ANA20", t0() - Duration::days(5));
        let codes = [anas, beas];
        assert_eq!(
            by_coupon(m, t0() - Duration::days(6), "ana20", &codes),
            Some(ana.link_id)
        );
        assert_eq!(by_coupon(m, t0(), "ana20", &codes), Some(bea.link_id));
        assert_eq!(by_coupon(m, t0(), "GLOW", &codes), None, "another code");
    }

    #[test]
    fn an_inactive_link_still_owns_its_code() {
        let m = MerchantId::new();
        let mut link = terms(m);
        link.is_active = false;
        assert_eq!(
            by_coupon(m, t0(), "ANA20", &[owned(&link, "ANA20", t0())]),
            Some(link.link_id)
        );
    }

    #[test]
    fn no_click_and_no_coupon_is_unattributed() {
        let d = attribute(
            MerchantId::new(),
            t0(),
            None,
            None,
            None,
            &[],
            ClickReuseLimit::ONE,
        );
        assert_eq!(d.winner, None);
        assert_eq!(d.attribution(), None);
    }

    #[test]
    fn an_order_at_the_instant_the_link_was_created_attributes_and_one_a_second_earlier_does_not() {
        let m = MerchantId::new();
        let mut link = terms(m);
        link.created_at = t0();
        // A click predating its link can only be imported or forged.
        let c = click(&link, t0() - Duration::hours(1), false);
        assert!(by_click(m, t0(), &c).winner.is_some());
        let early = by_click(m, t0() - Duration::seconds(1), &c);
        assert_eq!(early.winner, None);
        assert_eq!(early.click_rejected, Some(ClickRejection::BeforeLink));
    }

    #[test]
    fn a_spent_click_falls_back_to_the_coupon_or_leaves_the_order_unattributed() {
        let m = MerchantId::new();
        let (clicked, coupon_link) = (terms(m), terms(m));
        let mut c = click(&clicked, t0() - Duration::hours(1), false);
        c.attributed_orders = 1;
        let codes = [owned(&coupon_link, "ANA20", t0() - Duration::days(1))];
        let d = attribute(
            m,
            t0(),
            Some(c.click_id),
            Some(&c),
            Some(&code("ANA20")),
            &codes,
            ClickReuseLimit::ONE,
        );
        assert_eq!(d.click_rejected, Some(ClickRejection::Reused));
        let (winner, by) = d.winner.unwrap();
        assert_eq!(winner.link_id, coupon_link.link_id);
        assert!(matches!(by, AttributedBy::Coupon { .. }));
        let alone = by_click(m, t0(), &c);
        assert_eq!(
            (alone.winner, alone.click_rejected),
            (None, Some(ClickRejection::Reused))
        );
        // A limit of two lets the second order through, and not the third.
        let two = ClickReuseLimit::new(2).unwrap();
        let second = attribute(m, t0(), Some(c.click_id), Some(&c), None, &[], two);
        assert_eq!(second.winner.unwrap().0.link_id, clicked.link_id);
        c.attributed_orders = 2;
        let third = attribute(m, t0(), Some(c.click_id), Some(&c), None, &[], two);
        assert_eq!(third.click_rejected, Some(ClickRejection::Reused));
    }

    #[test]
    fn a_click_that_cannot_attribute_anyway_is_rejected_for_its_own_reason_not_reuse() {
        let m = MerchantId::new();
        let mut c = click(&terms(m), t0() - Duration::days(8), false);
        c.attributed_orders = 5;
        assert_eq!(
            by_click(m, t0(), &c).click_rejected,
            Some(ClickRejection::OutsideWindow)
        );
    }
}
