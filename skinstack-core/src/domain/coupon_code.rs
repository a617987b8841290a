//! Coupon codes that belong to one influencer: each code is owned by one tracking link (which
//! names the influencer and the program), and only the merchant makes it attribute.
//!
//! A code's life: a member **requests** it for one of her links, or the merchant **assigns**
//! it to a member's link directly; the merchant approves a request (it becomes assigned) or
//! revokes it; an assigned code can be **revoked**. A revoked code is history: it keeps the
//! interval it was assigned for, and frees its spelling for another owner. Which orders a code
//! attributes is decided by [`crate::earning::attribution`], from the code's `assigned_at` and
//! `revoked_at`.
//!
//! A code is unique per merchant whatever its case (`ANA20` and `ana20` are one code) among the
//! codes not revoked: the store decides it atomically ([`crate::RepoError::CodeTaken`]).

use super::{CampaignCode, CouponCodeId, InfluencerId, LinkId, MerchantId};
use crate::error::Invalid;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// A coupon code as its owner spells it: 1–64 of `[A-Za-z0-9_-]`, trimmed, its case kept for
/// display. Shops compare discount codes case-insensitively, and so does [`CodeText::key`].
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CodeText(String);

impl CodeText {
    /// Trims and checks `value` (the rules of [`CampaignCode`]), keeping its case.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        CampaignCode::parse(value)?;
        Ok(Self(value.trim().to_owned()))
    }

    /// The code as spelled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code upper-cased: what an order's coupon is compared with, and what uniqueness is
    /// decided on.
    pub fn key(&self) -> CampaignCode {
        // Parsing succeeded once with the same rules, and upper-casing ASCII keeps them.
        CampaignCode::upper_cased(&self.0)
    }
}

impl fmt::Debug for CodeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Where a code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponState {
    /// Asked for by the member; attributes nothing until the merchant approves it.
    Requested,
    /// Given by the merchant: attributes orders placed from `assigned_at` on.
    Assigned,
    /// Withdrawn (or a request declined): attributes no order placed from `revoked_at` on.
    Revoked,
}

impl CouponState {
    /// The state as stored and as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CouponState::Requested => "requested",
            CouponState::Assigned => "assigned",
            CouponState::Revoked => "revoked",
        }
    }

    /// Reads a stored state.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value {
            "requested" => Ok(CouponState::Requested),
            "assigned" => Ok(CouponState::Assigned),
            "revoked" => Ok(CouponState::Revoked),
            _ => Err(Invalid::Format("one of requested, assigned, revoked")),
        }
    }
}

schema!(
    CodeText,
    "CodeText",
    string()
        .pattern(Some(trimmed(&format!(
            "[A-Za-z0-9_-]{{1,{}}}",
            CampaignCode::MAX_LEN
        ))))
        .description(Some(format!(
            "A coupon code as the shop knows it: 1–{} letters, digits, '_' or '-', kept as spelled; unique per merchant in any case.",
            CampaignCode::MAX_LEN
        )))
);
schema!(
    CouponState,
    "CouponState",
    string()
        .enum_values(Some(
            [CouponState::Requested, CouponState::Assigned, CouponState::Revoked]
                .map(CouponState::as_str)
        ))
        .description(Some(
            "`requested` (asked for by the influencer: attributes nothing until the merchant approves it), `assigned` (attributes the merchant's orders placed from `assigned_at` on) or `revoked` (attributes no order placed from `revoked_at` on; earlier attributions stand).",
        ))
);

/// A code ready to be stored: built by [`crate::service::coupon_codes`], which has checked who
/// may ask for it and that the link is the merchant's.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCouponCode {
    /// Its id.
    pub id: CouponCodeId,
    /// The merchant whose shop honours it.
    pub merchant_id: MerchantId,
    /// The code as spelled.
    pub code: CodeText,
    /// The link that owns it.
    pub link_id: LinkId,
    /// When it was asked for or assigned.
    pub created_at: DateTime<Utc>,
    /// `Some` for a code the merchant assigns at once; `None` for a member's request.
    pub assigned_at: Option<DateTime<Utc>>,
}

/// A stored coupon code.
#[derive(Debug, Clone, PartialEq)]
pub struct CouponCode {
    /// Its id.
    pub id: CouponCodeId,
    /// The merchant whose shop honours it.
    pub merchant_id: MerchantId,
    /// The code as spelled.
    pub code: CodeText,
    /// The link that owns it.
    pub link_id: LinkId,
    /// The owning link's influencer (read through the link, never stored twice).
    pub influencer_id: InfluencerId,
    /// Where it is in its life; always agrees with the two instants below.
    pub state: CouponState,
    /// When it was asked for or assigned.
    pub created_at: DateTime<Utc>,
    /// When the merchant assigned it (or approved the request); `None` if it never was.
    pub assigned_at: Option<DateTime<Utc>>,
    /// When it was revoked; `None` unless revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A change of state a code's current state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CouponTransitionError {
    /// Only a requested code can be approved.
    #[error("the coupon code is not awaiting approval")]
    NotRequested,
}

impl CouponCode {
    /// The code with its request approved at `at`: assigned from then on.
    pub fn approved(&self, at: DateTime<Utc>) -> Result<CouponCode, CouponTransitionError> {
        if self.state != CouponState::Requested {
            return Err(CouponTransitionError::NotRequested);
        }
        Ok(CouponCode {
            state: CouponState::Assigned,
            assigned_at: Some(at),
            ..self.clone()
        })
    }

    /// The code revoked at `at`; a code revoked before keeps its first `revoked_at`, so
    /// revoking twice changes nothing. Revoking a request declines it.
    pub fn revoked(&self, at: DateTime<Utc>) -> CouponCode {
        if self.state == CouponState::Revoked {
            return self.clone();
        }
        // An assignment stamped by a clock ahead of this one must not end before it began.
        let at = self.assigned_at.map_or(at, |assigned| at.max(assigned));
        CouponCode {
            state: CouponState::Revoked,
            revoked_at: Some(at),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn requested() -> CouponCode {
        CouponCode {
            id: CouponCodeId::new(),
            merchant_id: MerchantId::new(),
            code: CodeText::parse("Ana20").unwrap(),
            link_id: LinkId::new(),
            influencer_id: InfluencerId::new(),
            state: CouponState::Requested,
            created_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
            assigned_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn codes_keep_their_spelling_and_compare_upper_cased() {
        let code = CodeText::parse(" Ana20 ").unwrap();
        assert_eq!(code.as_str(), "Ana20");
        assert_eq!(code.key(), CampaignCode::parse("ANA20").unwrap());
        assert_eq!(code.key(), CodeText::parse("ana20").unwrap().key());
        assert!(CodeText::parse("ANA 20").is_err());
        assert!(CodeText::parse("").is_err());
        assert!(CodeText::parse(&"A".repeat(65)).is_err());
    }

    #[test]
    fn only_a_request_can_be_approved_and_approval_assigns_it_then() {
        let code = requested();
        let at = code.created_at + Duration::hours(1);
        let approved = code.approved(at).unwrap();
        assert_eq!(approved.state, CouponState::Assigned);
        assert_eq!(approved.assigned_at, Some(at));
        assert_eq!(
            approved.approved(at),
            Err(CouponTransitionError::NotRequested)
        );
        assert_eq!(
            approved.revoked(at).approved(at),
            Err(CouponTransitionError::NotRequested)
        );
    }

    #[test]
    fn revoking_twice_keeps_the_first_revocation_and_never_precedes_the_assignment() {
        let code = requested().approved(requested().created_at).unwrap();
        let assigned = code.assigned_at.unwrap();
        let revoked = code.revoked(assigned + Duration::days(2));
        assert_eq!(revoked.state, CouponState::Revoked);
        assert_eq!(revoked.revoked_at, Some(assigned + Duration::days(2)));
        assert_eq!(revoked.revoked(assigned + Duration::days(9)), revoked);
        let early = code.revoked(assigned - Duration::seconds(5));
        assert_eq!(early.revoked_at, Some(assigned));
        let declined = requested().revoked(assigned);
        assert_eq!(
            (declined.state, declined.assigned_at),
            (CouponState::Revoked, None)
        );
    }

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in [
            CouponState::Requested,
            CouponState::Assigned,
            CouponState::Revoked,
        ] {
            assert_eq!(CouponState::parse(state.as_str()), Ok(state));
        }
        assert!(CouponState::parse("approved").is_err());
    }
}
