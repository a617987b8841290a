//! Attribution: which link, if any, earns the commission on an order. Pure: the facts are
//! looked up by the caller, the decision is made here.
//!
//! # Rules, in order
//! 1. **Last click wins.** The order's click id (`ssclid`) attributes to the clicked link if
//!    the click is known, on one of *this merchant's* links, not made by a robot, not after the
//!    order (so a click never attributes an order placed before the link existed either: clicks
//!    are recorded by the redirect, which serves only links that exist), and within the link's program's cookie window before it. The window is closed at
//!    its end: a click exactly `cookie_window` before `ordered_at` attributes; one a second
//!    older does not. A click at the very instant of the order attributes.
//! 2. **Coupon.** Otherwise an order's coupon attributes to this merchant's link whose
//!    campaign code it is (codes are compared upper-cased). Links are considered **active or
//!    not**: an influencer's code printed in a video keeps selling after the link is switched
//!    off, and the shop — not SkinStack — decides whether the code is still honoured. When
//!    several links carry the code, an active one is preferred, then the newest.
//! 3. Otherwise the order is **unattributed**: stored and shown to the merchant, earning no
//!    commission.

use crate::domain::ClickId;
use crate::domain::{AttributedBy, Attribution, HoldDays};
use crate::domain::{
    CampaignCode, Commission, CookieWindow, FeeRate, InfluencerId, LinkId, MerchantId, Money,
    ProgramId,
};
use crate::earning::commission::CommissionSplit;
use chrono::{DateTime, Utc};

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
    /// The link's coupon code.
    pub campaign_code: Option<CampaignCode>,
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
    /// The commission the program pays on `amount`: [`Commission::split`].
    pub fn split(&self, amount: Money) -> CommissionSplit {
        self.commission.split(amount, self.platform_fee_rate)
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
    /// The link clicked.
    pub link: LinkTerms,
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
/// - `coupon` and `coupon_links`: the order's coupon and the links carrying it as campaign
///   code (any merchant's: only `merchant`'s count).
pub fn attribute(
    merchant: MerchantId,
    ordered_at: DateTime<Utc>,
    click_id: Option<ClickId>,
    click: Option<&ClickFacts>,
    coupon: Option<&CampaignCode>,
    coupon_links: &[LinkTerms],
) -> Decision {
    let click_rejected = match click_id {
        None => None,
        Some(id) => match click.filter(|c| c.click_id == id) {
            None => Some(ClickRejection::Unknown),
            Some(c) => match judge_click(merchant, ordered_at, c) {
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
        coupon_links
            .iter()
            .filter(|l| l.merchant_id == merchant && l.campaign_code.as_ref() == Some(code))
            // Active first, then the newest; the id breaks exact ties deterministically.
            .max_by_key(|l| (l.is_active, l.created_at, l.link_id))
            .map(|l| (l.clone(), AttributedBy::Coupon { code: code.clone() }))
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
    if ordered_at - click.clicked_at > click.link.cookie_window.duration() {
        return Err(ClickRejection::OutsideWindow);
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

    fn terms(merchant: MerchantId, code: Option<&str>) -> LinkTerms {
        LinkTerms {
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            program_id: ProgramId::new(),
            merchant_id: merchant,
            campaign_code: code.map(|c| CampaignCode::parse(c).unwrap()),
            is_active: true,
            created_at: t0() - Duration::days(100),
            commission: Commission::Percentage(CommissionRate::new(Decimal::new(20, 0)).unwrap()),
            platform_fee_rate: FeeRate::default(),
            cookie_window: CookieWindow::new(7).unwrap(),
            hold_days: HoldDays::default(),
        }
    }

    fn click(link: &LinkTerms, at: DateTime<Utc>, is_bot: bool) -> ClickFacts {
        ClickFacts {
            click_id: ClickId::new(),
            clicked_at: at,
            is_bot,
            link: link.clone(),
        }
    }

    fn by_click(merchant: MerchantId, ordered_at: DateTime<Utc>, c: &ClickFacts) -> Decision {
        attribute(merchant, ordered_at, Some(c.click_id), Some(c), None, &[])
    }

    #[test]
    fn a_click_exactly_at_the_end_of_the_window_attributes() {
        let m = MerchantId::new();
        let link = terms(m, None);
        let c = click(&link, t0() - Duration::days(7), false);
        let d = by_click(m, t0(), &c);
        assert_eq!(d.winner.unwrap().0.link_id, link.link_id);
        assert_eq!(d.click_rejected, None);
    }

    #[test]
    fn a_click_one_second_older_than_the_window_does_not() {
        let m = MerchantId::new();
        let c = click(
            &terms(m, None),
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
        let link = terms(m, None);
        assert!(by_click(m, t0(), &click(&link, t0(), false))
            .winner
            .is_some());
        let late = by_click(m, t0(), &click(&link, t0() + Duration::seconds(1), false));
        assert_eq!(late.winner, None);
        assert_eq!(late.click_rejected, Some(ClickRejection::AfterOrder));
    }

    #[test]
    fn a_click_on_another_merchants_link_does_not_attribute() {
        let c = click(&terms(MerchantId::new(), None), t0(), false);
        let d = by_click(MerchantId::new(), t0(), &c);
        assert_eq!(d.winner, None);
        assert_eq!(d.click_rejected, Some(ClickRejection::OtherMerchant));
    }

    #[test]
    fn a_robots_click_does_not_attribute() {
        let m = MerchantId::new();
        let d = by_click(m, t0(), &click(&terms(m, None), t0(), true));
        assert_eq!(d.click_rejected, Some(ClickRejection::Bot));
        assert_eq!(d.winner, None);
    }

    #[test]
    fn an_unknown_click_id_falls_back_to_the_coupon() {
        let m = MerchantId::new();
        let link = terms(m, Some("ANA20"));
        let code = CampaignCode::parse("ana20").unwrap();
        let d = attribute(
            m,
            t0(),
            Some(ClickId::new()),
            None,
            Some(&code),
            std::slice::from_ref(&link),
        );
        assert_eq!(d.click_rejected, Some(ClickRejection::Unknown));
        let (winner, by) = d.winner.unwrap();
        assert_eq!(winner.link_id, link.link_id);
        assert_eq!(by, AttributedBy::Coupon { code });
    }

    #[test]
    fn the_click_beats_the_coupon_of_another_link() {
        let m = MerchantId::new();
        let clicked = terms(m, None);
        let coupon_link = terms(m, Some("ANA20"));
        let c = click(&clicked, t0() - Duration::hours(1), false);
        let d = attribute(
            m,
            t0(),
            Some(c.click_id),
            Some(&c),
            Some(&CampaignCode::parse("ANA20").unwrap()),
            &[coupon_link],
        );
        assert_eq!(d.winner.unwrap().0.link_id, clicked.link_id);
    }

    #[test]
    fn an_expired_click_falls_back_to_the_coupon() {
        let m = MerchantId::new();
        let link = terms(m, Some("ANA20"));
        let c = click(&link, t0() - Duration::days(8), false);
        let d = attribute(
            m,
            t0(),
            Some(c.click_id),
            Some(&c),
            link.campaign_code.as_ref(),
            std::slice::from_ref(&link),
        );
        assert_eq!(d.click_rejected, Some(ClickRejection::OutsideWindow));
        assert!(matches!(d.winner, Some((_, AttributedBy::Coupon { .. }))));
    }

    #[test]
    fn coupons_of_another_merchant_do_not_attribute() {
        let link = terms(MerchantId::new(), Some("ANA20"));
        let d = attribute(
            MerchantId::new(),
            t0(),
            None,
            None,
            link.campaign_code.as_ref(),
            std::slice::from_ref(&link),
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
    fn coupons_prefer_an_active_link_then_the_newest_and_inactive_ones_still_count() {
        let m = MerchantId::new();
        let code = CampaignCode::parse("GLOW").unwrap();
        let mut old_active = terms(m, Some("GLOW"));
        old_active.created_at = t0() - Duration::days(300);
        let mut new_inactive = terms(m, Some("GLOW"));
        new_inactive.is_active = false;
        new_inactive.created_at = t0() - Duration::days(1);
        let mut newer_active = terms(m, Some("GLOW"));
        newer_active.created_at = t0() - Duration::days(50);
        let pick = |links: &[LinkTerms]| {
            attribute(m, t0(), None, None, Some(&code), links)
                .winner
                .map(|(l, _)| l.link_id)
        };
        assert_eq!(
            pick(&[
                old_active.clone(),
                new_inactive.clone(),
                newer_active.clone()
            ]),
            Some(newer_active.link_id)
        );
        assert_eq!(pick(&[new_inactive.clone()]), Some(new_inactive.link_id));
    }

    #[test]
    fn no_click_and_no_coupon_is_unattributed() {
        let d = attribute(MerchantId::new(), t0(), None, None, None, &[]);
        assert_eq!(d.winner, None);
        assert_eq!(d.attribution(), None);
    }
}
