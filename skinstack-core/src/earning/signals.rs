//! Fraud signals: small pure checks on an order and what attributed it. A signal that fires
//! never refuses the order; it holds the commission for a person to release or void, because
//! every signal has honest exceptions (a shopper on a phone switches networks between the click
//! and the checkout; a fan who is also a friend buys through the link).
//!
//! # Signals
//! - **Self-referral**: the order's customer email names the influencer's own mailbox. Both are
//!   compared as [`mailbox`]es, so `Ana+shop@Example.com` is `ana@example.com`. The customer email
//!   is compared when the order is recorded and not kept.
//! - **Click reuse**: a click id that already attributed [`ClickReuseLimit`] orders (1 unless the
//!   operator says otherwise). One click is one shopper's visit; a click id that keeps buying is
//!   a cookie stuffed into other people's sessions. Later orders carrying it do not attribute by
//!   click (they fall back to a coupon or stay unattributed) and the reuse is counted.
//! - **Shopper mismatch**: the order carries the buyer's address (Shopify's `browser_ip`) and its
//!   anonymised prefix ([`anonymize_ip`]) differs from the click's.
//! - **Above maximum**: the order's amount is above the merchant's maximum order amount.
//!
//! [`fired`] applies them all to one recorded order; the conversion keeps what fired
//! ([`FraudSignal`]) and is held for each signal's [`FraudSignal::hold_reason`].

use crate::domain::{
    add_hold_reason, anonymize_ip, AttributedBy, Email, FraudSignal, HoldReason, Money,
};
use crate::earning::attribution::{ClickFacts, ClickRejection, Decision};
use std::net::IpAddr;

/// What an order tells about its buyer, beyond what attributes it. Compared when the order is
/// recorded, never stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Buyer<'a> {
    /// The customer's email, as the shop reports it.
    pub email: Option<&'a Email>,
    /// The address the order was placed from (Shopify's `browser_ip`), whole.
    pub ip: Option<IpAddr>,
}

/// The signals that fire on an order, sorted: click reuse when its click was spent; the others
/// only on an attributed order (an unattributed one has no commission to hold). `click` is the
/// stored click the order named, `influencer` the credited influencer's account email, and
/// `above_maximum` whether the amount exceeds the merchant's maximum.
pub fn fired(
    decision: &Decision,
    click: Option<&ClickFacts>,
    buyer: Buyer<'_>,
    influencer: Option<&Email>,
    above_maximum: bool,
) -> Vec<FraudSignal> {
    let mut signals = Vec::new();
    if decision.click_rejected == Some(ClickRejection::Reused) {
        signals.push(FraudSignal::ClickReuse);
    }
    let Some((_, by)) = &decision.winner else {
        return signals;
    };
    if above_maximum {
        signals.push(FraudSignal::OrderAboveMaximum);
    }
    if influencer.is_some_and(|influencer| self_referral(buyer.email, influencer)) {
        signals.push(FraudSignal::SelfReferral);
    }
    // Only the click that attributed the order says who shopped.
    if let (AttributedBy::Click { click_id }, Some(click)) = (by, click) {
        if click.click_id == *click_id && shopper_mismatch(buyer.ip, click.ip) {
            signals.push(FraudSignal::ShopperMismatch);
        }
    }
    signals
}

/// The reasons a commission is held for from the start, given the signals that fired.
pub fn hold_reasons(signals: &[FraudSignal]) -> Vec<HoldReason> {
    let mut reasons = Vec::new();
    for reason in signals.iter().filter_map(|s| s.hold_reason()) {
        add_hold_reason(&mut reasons, reason);
    }
    reasons
}

/// The form of an address that names one person's mailbox: the normalised address with any
/// `+tag` removed from its local part (`ana+shop@example.com` → `ana@example.com`).
pub fn mailbox(email: &Email) -> String {
    let address = email.as_str();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _tag)| base);
            format!("{local}@{domain}")
        }
        None => address.to_owned(),
    }
}

/// Whether the customer who placed the order is the influencer who earns on it. An order
/// without a customer email cannot show it.
pub fn self_referral(customer: Option<&Email>, influencer: &Email) -> bool {
    customer.is_some_and(|customer| mailbox(customer) == mailbox(influencer))
}

/// How many orders one click id may attribute. At least 1: a click that may attribute nothing
/// would make the click path pointless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickReuseLimit(u32);

impl ClickReuseLimit {
    /// One order per click: the default, since one visit is one purchase.
    pub const ONE: Self = Self(1);

    /// A limit of `orders` per click; `None` for 0.
    pub fn new(orders: u32) -> Option<Self> {
        (orders > 0).then_some(Self(orders))
    }

    /// The number of orders.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for ClickReuseLimit {
    fn default() -> Self {
        Self::ONE
    }
}

/// Whether a click that has already attributed `earlier_orders` orders is spent: the next order
/// carrying it must not attribute by click.
pub fn click_reused(earlier_orders: u64, limit: ClickReuseLimit) -> bool {
    earlier_orders >= u64::from(limit.get())
}

/// Whether the buyer's address and the clicker's differ in their anonymised prefix. `click_ip` is
/// the click's stored (already anonymised) address; unknown on either side shows nothing.
pub fn shopper_mismatch(order_ip: Option<IpAddr>, click_ip: Option<IpAddr>) -> bool {
    match (order_ip, click_ip) {
        (Some(order), Some(click)) => anonymize_ip(order) != anonymize_ip(click),
        _ => false,
    }
}

/// Whether an order's amount is above the merchant's maximum. The maximum itself is allowed.
pub fn above_maximum(amount: Money, maximum: Money) -> bool {
    amount > maximum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        ClickId, Commission, CommissionRate, CookieWindow, FeeRate, HoldDays, InfluencerId, LinkId,
        MerchantId, ProgramId,
    };
    use crate::earning::attribution::LinkTerms;
    use chrono::Utc;
    use rust_decimal_macros::dec;

    fn terms() -> LinkTerms {
        LinkTerms {
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            program_id: ProgramId::new(),
            merchant_id: MerchantId::new(),
            is_active: true,
            created_at: Utc::now(),
            commission: Commission::Percentage(CommissionRate::new(dec!(20)).unwrap()),
            platform_fee_rate: FeeRate::default(),
            cookie_window: CookieWindow::default(),
            hold_days: HoldDays::default(),
        }
    }

    fn stored_click(ip: &str) -> ClickFacts {
        ClickFacts {
            click_id: ClickId::new(),
            clicked_at: Utc::now(),
            is_bot: false,
            ip: Some(anonymize_ip(ip.parse().unwrap())),
            attributed_orders: 0,
            visit: crate::tracking::breakdown::Visit::default(),
            link: terms(),
        }
    }

    fn by_click(click: &ClickFacts) -> Decision {
        Decision {
            winner: Some((
                click.link.clone(),
                AttributedBy::Click {
                    click_id: click.click_id,
                },
            )),
            click_rejected: None,
        }
    }

    #[test]
    fn every_signal_fires_on_its_own_evidence_and_they_come_sorted() {
        let click = stored_click("203.0.113.77");
        let ana = email("ana@glow.example");
        let buyer = Buyer {
            email: Some(&ana),
            ip: Some("198.51.100.9".parse().unwrap()),
        };
        let all = fired(&by_click(&click), Some(&click), buyer, Some(&ana), true);
        assert_eq!(
            all,
            [
                FraudSignal::OrderAboveMaximum,
                FraudSignal::SelfReferral,
                FraudSignal::ShopperMismatch
            ]
        );
        assert_eq!(
            hold_reasons(&all),
            [
                HoldReason::OrderAboveMaximum,
                HoldReason::SelfReferral,
                HoldReason::ShopperMismatch
            ]
        );
        let honest = Buyer {
            email: Some(&email("bea@glow.example")),
            ip: Some("203.0.113.5".parse().unwrap()),
        };
        assert!(fired(&by_click(&click), Some(&click), honest, Some(&ana), false).is_empty());
        // Without the buyer's address or email nothing can show.
        assert!(fired(
            &by_click(&click),
            Some(&click),
            Buyer::default(),
            Some(&ana),
            false
        )
        .is_empty());
    }

    #[test]
    fn a_spent_click_is_click_reuse_and_holds_nothing() {
        let click = stored_click("203.0.113.77");
        let spent = Decision {
            winner: None,
            click_rejected: Some(ClickRejection::Reused),
        };
        let ana = email("ana@glow.example");
        let buyer = Buyer {
            email: Some(&ana),
            ip: Some("198.51.100.9".parse().unwrap()),
        };
        let signals = fired(&spent, Some(&click), buyer, Some(&ana), true);
        assert_eq!(
            signals,
            [FraudSignal::ClickReuse],
            "unattributed: nothing to hold"
        );
        assert!(hold_reasons(&signals).is_empty());
    }

    #[test]
    fn a_coupon_order_is_never_a_shopper_mismatch_but_can_be_a_self_referral() {
        let click = stored_click("203.0.113.77");
        let by_coupon = Decision {
            winner: Some((
                terms(),
                AttributedBy::Coupon {
                    code: crate::CampaignCode::parse("ANA20").unwrap(),
                },
            )),
            click_rejected: Some(ClickRejection::Reused),
        };
        let ana = email("ana+x@glow.example");
        let buyer = Buyer {
            email: Some(&ana),
            ip: Some("198.51.100.9".parse().unwrap()),
        };
        assert_eq!(
            fired(
                &by_coupon,
                Some(&click),
                buyer,
                Some(&email("ana@glow.example")),
                false
            ),
            [FraudSignal::ClickReuse, FraudSignal::SelfReferral]
        );
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn a_mailbox_drops_the_plus_tag_and_case() {
        assert_eq!(mailbox(&email("Ana+Shop@Glow.Example")), "ana@glow.example");
        assert_eq!(mailbox(&email("ana@glow.example")), "ana@glow.example");
        assert_eq!(mailbox(&email("a+b+c@x.example")), "a@x.example");
    }

    #[test]
    fn an_influencer_buying_through_her_own_link_is_a_self_referral() {
        let ana = email("ana@glow.example");
        assert!(self_referral(Some(&email(" ANA+deal@glow.example")), &ana));
        assert!(!self_referral(Some(&email("bea@glow.example")), &ana));
        assert!(!self_referral(Some(&email("ana@other.example")), &ana));
        assert!(!self_referral(None, &ana));
    }

    #[test]
    fn a_click_is_spent_once_it_attributed_its_limit() {
        assert!(!click_reused(0, ClickReuseLimit::ONE));
        assert!(click_reused(1, ClickReuseLimit::ONE));
        let three = ClickReuseLimit::new(3).unwrap();
        assert!(!click_reused(2, three));
        assert!(click_reused(3, three));
        assert_eq!(ClickReuseLimit::new(0), None);
        assert_eq!(ClickReuseLimit::default(), ClickReuseLimit::ONE);
    }

    #[test]
    fn shoppers_in_the_same_network_prefix_match_and_others_do_not() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // The click's address is stored anonymised; the order's arrives whole.
        assert!(!shopper_mismatch(ip("203.0.113.77"), ip("203.0.113.0")));
        assert!(shopper_mismatch(ip("198.51.100.9"), ip("203.0.113.0")));
        assert!(!shopper_mismatch(
            ip("2001:db8:abcd:12::1"),
            ip("2001:db8:abcd::")
        ));
        assert!(shopper_mismatch(
            ip("2001:db8:abce::1"),
            ip("2001:db8:abcd::")
        ));
        assert!(!shopper_mismatch(
            ip("::ffff:203.0.113.5"),
            ip("203.0.113.0")
        ));
        assert!(!shopper_mismatch(None, ip("203.0.113.0")));
        assert!(!shopper_mismatch(ip("203.0.113.77"), None));
    }

    #[test]
    fn the_maximum_order_amount_itself_is_allowed() {
        let max = Money::new(dec!(1000.00)).unwrap();
        assert!(!above_maximum(max, max));
        assert!(above_maximum(Money::new(dec!(1000.01)).unwrap(), max));
    }
}
