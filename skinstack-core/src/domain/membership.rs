//! Program enrollment: which influencers a merchant's program accepts.
//!
//! - [`EnrollmentMode`]: how a program takes members: `open` (joining approves at once),
//!   `approval` (the default: the merchant approves each application) or `invite` (only
//!   invited influencers join).
//! - [`MembershipState`]: one influencer in one program: `invited`, `pending`, `approved`,
//!   `rejected` or `banned`. [`transition`] is the one statement of which moves are legal;
//!   the services call it, the stores only apply its answer (compare-and-set on the state
//!   read, so a concurrent change is noticed rather than overwritten).
//! - [`InviteToken`]: the secret an invitation is accepted with. Like a session token, only
//!   its SHA-256 is stored.
//! - [`link_redirects`]: a banned member's links stop redirecting; no other state stops a
//!   link (links are only created for approved members, and links older than enrollment got
//!   an approved membership from migration 0024).

use super::{Email, InfluencerId, InvitationId, MembershipId, ProgramId};
use crate::auth::{HashError, TokenHash};
use crate::domain::BoundedText;
use crate::error::Invalid;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand::TryRngCore as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a program takes members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentMode {
    /// Anyone may join; joining approves at once.
    Open,
    /// Influencers apply and the merchant approves or rejects each application.
    #[default]
    Approval,
    /// Only influencers the merchant invited may join.
    Invite,
}

impl EnrollmentMode {
    /// Every mode, in the order forms list them.
    pub const ALL: [EnrollmentMode; 3] = [
        EnrollmentMode::Open,
        EnrollmentMode::Approval,
        EnrollmentMode::Invite,
    ];

    /// The value stored in `programs.enrollment_mode`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EnrollmentMode::Open => "open",
            EnrollmentMode::Approval => "approval",
            EnrollmentMode::Invite => "invite",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value {
            "open" => Ok(EnrollmentMode::Open),
            "approval" => Ok(EnrollmentMode::Approval),
            "invite" => Ok(EnrollmentMode::Invite),
            _ => Err(Invalid::Format("one of open, approval, invite")),
        }
    }
}

/// Where one influencer stands with one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipState {
    /// The merchant invited them; they have not accepted yet.
    Invited,
    /// They applied; the merchant has not decided yet.
    Pending,
    /// A member: they may create links.
    Approved,
    /// The merchant turned the application down.
    Rejected,
    /// The merchant removed them: their links stop redirecting. Final.
    Banned,
}

impl MembershipState {
    /// Every state, in the order dashboards list them.
    pub const ALL: [MembershipState; 5] = [
        MembershipState::Invited,
        MembershipState::Pending,
        MembershipState::Approved,
        MembershipState::Rejected,
        MembershipState::Banned,
    ];

    /// The value stored in `program_memberships.state`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MembershipState::Invited => "invited",
            MembershipState::Pending => "pending",
            MembershipState::Approved => "approved",
            MembershipState::Rejected => "rejected",
            MembershipState::Banned => "banned",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value {
            "invited" => Ok(MembershipState::Invited),
            "pending" => Ok(MembershipState::Pending),
            "approved" => Ok(MembershipState::Approved),
            "rejected" => Ok(MembershipState::Rejected),
            "banned" => Ok(MembershipState::Banned),
            _ => Err(Invalid::Format(
                "one of invited, pending, approved, rejected, banned",
            )),
        }
    }
}

impl fmt::Display for MembershipState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

schema!(
    EnrollmentMode,
    "EnrollmentMode",
    string()
        .enum_values(Some(EnrollmentMode::ALL.map(EnrollmentMode::as_str)))
        .description(Some(
            "How influencers join: `open` (joining approves at once), `approval` (the merchant decides; the default) or `invite` (invited influencers only).",
        ))
);
schema!(
    MembershipState,
    "MembershipState",
    string()
        .enum_values(Some(MembershipState::ALL.map(MembershipState::as_str)))
        .description(Some(
            "Where an influencer stands with a program: `invited`, `pending` (applied), `approved` (a member), `rejected` or `banned`.",
        ))
);

/// Whether a link of an influencer whose membership of the link's program is `state` (`None`:
/// no membership) redirects, as far as enrollment decides: everything but a ban lets it.
pub const fn link_redirects(state: Option<MembershipState>) -> bool {
    !matches!(state, Some(MembershipState::Banned))
}

/// Something an influencer or a merchant does to a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MembershipAction {
    /// The influencer applies (or, in open mode, joins).
    Apply,
    /// The influencer withdraws a pending application.
    Withdraw,
    /// The influencer accepts an invitation.
    AcceptInvite,
    /// The merchant invites the influencer.
    Invite,
    /// The merchant approves.
    Approve,
    /// The merchant rejects.
    Reject,
    /// The merchant bans.
    Ban,
}

/// What a legal move does to the membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The membership is (created or moved) in this state.
    To(MembershipState),
    /// The membership is removed (a withdrawn application).
    Remove,
}

/// Why a move is not legal, as a type the API answers with (409 or 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionRefused {
    /// The program only takes invited influencers.
    #[error("the program takes invited influencers only")]
    InviteOnly,
    /// The influencer already applied, is a member, or was turned down.
    #[error("there is already a membership in state {0}")]
    AlreadyEnrolled(MembershipState),
    /// A banned influencer stays banned.
    #[error("the influencer is banned from the program")]
    Banned,
    /// There is nothing in a state this move applies to.
    #[error("no membership in a state this applies to")]
    NotApplicable,
}

/// The one rule of enrollment: what `action` does in a program of `mode` to a membership now
/// in `current` (`None`: none yet).
///
/// | action        | from                               | to                         |
/// |---------------|------------------------------------|----------------------------|
/// | apply         | none                               | approved (open), pending (approval); invite mode refuses |
/// | withdraw      | pending                            | removed                    |
/// | accept invite | invited, or none (invited by email before the account had a profile) | approved |
/// | invite        | none, invited (renewed), rejected  | invited                    |
/// | approve       | pending, rejected                  | approved                   |
/// | reject        | pending                            | rejected                   |
/// | ban           | any but banned                     | banned                     |
///
/// Nothing leaves `banned`. A rejected influencer does not re-apply (the merchant may still
/// approve or invite them), so a refusal cannot be spammed away.
pub fn transition(
    mode: EnrollmentMode,
    current: Option<MembershipState>,
    action: MembershipAction,
) -> Result<Transition, TransitionRefused> {
    use MembershipAction as A;
    use MembershipState as S;
    if current == Some(S::Banned) {
        return Err(TransitionRefused::Banned);
    }
    match (action, current) {
        (A::Apply, None) => match mode {
            EnrollmentMode::Open => Ok(Transition::To(S::Approved)),
            EnrollmentMode::Approval => Ok(Transition::To(S::Pending)),
            EnrollmentMode::Invite => Err(TransitionRefused::InviteOnly),
        },
        (A::Apply, Some(state)) => Err(TransitionRefused::AlreadyEnrolled(state)),
        (A::Withdraw, Some(S::Pending)) => Ok(Transition::Remove),
        (A::AcceptInvite, None | Some(S::Invited)) => Ok(Transition::To(S::Approved)),
        (A::Invite, None | Some(S::Invited | S::Rejected)) => Ok(Transition::To(S::Invited)),
        (A::Invite, Some(state)) => Err(TransitionRefused::AlreadyEnrolled(state)),
        (A::Approve, Some(S::Pending | S::Rejected)) => Ok(Transition::To(S::Approved)),
        (A::Reject, Some(S::Pending)) => Ok(Transition::To(S::Rejected)),
        (A::Ban, Some(_)) => Ok(Transition::To(S::Banned)),
        _ => Err(TransitionRefused::NotApplicable),
    }
}

/// What an influencer writes when applying: 1–1000 characters, lines allowed.
pub type ApplicationMessage = BoundedText<1000>;

/// A membership to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMembership {
    /// The program.
    pub program_id: ProgramId,
    /// The influencer.
    pub influencer_id: InfluencerId,
    /// Its first state, as [`transition`] decided.
    pub state: MembershipState,
    /// The application's message, if any.
    pub message: Option<ApplicationMessage>,
}

/// One influencer in one program. There is at most one per pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    /// Its id.
    pub id: MembershipId,
    /// The program.
    pub program_id: ProgramId,
    /// The influencer.
    pub influencer_id: InfluencerId,
    /// Where it stands.
    pub state: MembershipState,
    /// The application's message, if the influencer wrote one.
    pub message: Option<ApplicationMessage>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
}

/// A membership with what the member brought the program: sums of their links' totals on
/// it (clicks, conversions net of reversals, gross commission net of reversals), the numbers
/// the ledger keeps on each link.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberStats {
    /// The membership.
    pub membership: Membership,
    /// Clicks on the member's links in the program.
    pub clicks: i64,
    /// Conversions attributed to those links.
    pub conversions: i64,
    /// Commission earned through those links.
    pub earnings: Decimal,
}

/// How long an invitation can be accepted.
pub const INVITATION_TTL: Duration = Duration::days(14);

/// The secret an invitation is accepted with: `ssi_` and 32 bytes from the OS CSPRNG in
/// base64url. Shown to the merchant once to pass on; never stored. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteToken(String);

impl InviteToken {
    /// What every invite token starts with, so a pasted one is recognisable.
    pub const PREFIX: &'static str = "ssi_";

    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, HashError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| HashError::new(e.to_string()))?;
        Ok(Self(format!(
            "{}{}",
            Self::PREFIX,
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Accepts a token presented by a client if it has the form this type generates.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let expected = Invalid::Format("an invitation token (ssi_...)");
        let Some(rest) = value.strip_prefix(Self::PREFIX) else {
            return Err(expected);
        };
        match URL_SAFE_NO_PAD.decode(rest) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(value.to_owned())),
            _ => Err(expected),
        }
    }

    /// The token, to hand to the merchant once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps instead of the token.
    pub fn hash(&self) -> TokenHash {
        TokenHash::digest(&self.0)
    }
}

impl InviteToken {
    /// Characters after [`InviteToken::PREFIX`]: 32 bytes in unpadded base64url.
    pub const ENCODED_LEN: usize = 43;
}

// 43 base64url characters hold 258 bits: the last one carries the 32 bytes' final 4 bits and
// 2 zero bits, which the strict decoder `parse` uses insists on, so only the 16 characters
// whose value is a multiple of 4 end a token.
schema!(
    InviteToken,
    "InviteToken",
    string()
        .pattern(Some(format!(
            "^{}[A-Za-z0-9_-]{{{}}}[AEIMQUYcgkosw048]$",
            InviteToken::PREFIX,
            InviteToken::ENCODED_LEN - 1
        )))
        .description(Some(
            "An invitation token as `POST /v1/programs/{id}/invitations` showed it: `ssi_` and 32 bytes in unpadded base64url.",
        ))
);

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken([redacted])")
    }
}

/// An invitation to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    /// The program.
    pub program_id: ProgramId,
    /// Whose account may accept it.
    pub email: Email,
    /// The token's SHA-256.
    pub token_hash: TokenHash,
    /// Until when it can be accepted.
    pub expires_at: DateTime<Utc>,
}

/// A stored invitation. Accepted at most once (the store decides it atomically).
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The program.
    pub program_id: ProgramId,
    /// Whose account may accept it.
    pub email: Email,
    /// Until when it can be accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted, if it was.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Invitation {
    /// Whether it can still be accepted at `now`: not accepted and not expired.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnrollmentMode as M;
    use MembershipAction as A;
    use MembershipState as S;

    #[test]
    fn modes_and_states_round_trip_and_unknown_ones_are_refused() {
        for m in [M::Open, M::Approval, M::Invite] {
            assert_eq!(EnrollmentMode::parse(m.as_str()), Ok(m));
        }
        for s in S::ALL {
            assert_eq!(MembershipState::parse(s.as_str()), Ok(s));
        }
        assert!(EnrollmentMode::parse("closed").is_err());
        assert!(MembershipState::parse("member").is_err());
        assert_eq!(EnrollmentMode::default(), M::Approval);
    }

    #[test]
    fn applying_joins_an_open_program_at_once_waits_in_approval_mode_and_is_refused_by_invite_only()
    {
        assert_eq!(
            transition(M::Open, None, A::Apply),
            Ok(Transition::To(S::Approved))
        );
        assert_eq!(
            transition(M::Approval, None, A::Apply),
            Ok(Transition::To(S::Pending))
        );
        assert_eq!(
            transition(M::Invite, None, A::Apply),
            Err(TransitionRefused::InviteOnly)
        );
    }

    #[test]
    fn nobody_applies_twice_and_a_rejected_influencer_cannot_reapply() {
        for mode in [M::Open, M::Approval, M::Invite] {
            for state in [S::Invited, S::Pending, S::Approved, S::Rejected] {
                assert_eq!(
                    transition(mode, Some(state), A::Apply),
                    Err(TransitionRefused::AlreadyEnrolled(state))
                );
            }
        }
    }

    #[test]
    fn nothing_leaves_banned() {
        for mode in [M::Open, M::Approval, M::Invite] {
            for action in [
                A::Apply,
                A::Withdraw,
                A::AcceptInvite,
                A::Invite,
                A::Approve,
                A::Reject,
                A::Ban,
            ] {
                assert_eq!(
                    transition(mode, Some(S::Banned), action),
                    Err(TransitionRefused::Banned),
                    "{action:?} in {mode:?}"
                );
            }
        }
    }

    #[test]
    fn the_merchant_approves_pending_or_rejected_rejects_pending_and_bans_any_member() {
        let m = M::Approval;
        assert_eq!(
            transition(m, Some(S::Pending), A::Approve),
            Ok(Transition::To(S::Approved))
        );
        assert_eq!(
            transition(m, Some(S::Rejected), A::Approve),
            Ok(Transition::To(S::Approved))
        );
        assert_eq!(
            transition(m, Some(S::Approved), A::Approve),
            Err(TransitionRefused::NotApplicable)
        );
        assert_eq!(
            transition(m, Some(S::Pending), A::Reject),
            Ok(Transition::To(S::Rejected))
        );
        assert_eq!(
            transition(m, Some(S::Approved), A::Reject),
            Err(TransitionRefused::NotApplicable)
        );
        for state in [S::Invited, S::Pending, S::Approved, S::Rejected] {
            assert_eq!(
                transition(m, Some(state), A::Ban),
                Ok(Transition::To(S::Banned))
            );
        }
        assert_eq!(
            transition(m, None, A::Ban),
            Err(TransitionRefused::NotApplicable)
        );
        assert_eq!(
            transition(m, None, A::Approve),
            Err(TransitionRefused::NotApplicable)
        );
    }

    #[test]
    fn only_a_pending_application_is_withdrawn_and_it_is_removed() {
        assert_eq!(
            transition(M::Approval, Some(S::Pending), A::Withdraw),
            Ok(Transition::Remove)
        );
        for state in [None, Some(S::Approved), Some(S::Rejected), Some(S::Invited)] {
            assert_eq!(
                transition(M::Approval, state, A::Withdraw),
                Err(TransitionRefused::NotApplicable)
            );
        }
    }

    #[test]
    fn invitations_go_to_newcomers_or_the_rejected_and_are_accepted_into_membership() {
        for mode in [M::Open, M::Approval, M::Invite] {
            for state in [None, Some(S::Invited), Some(S::Rejected)] {
                assert_eq!(
                    transition(mode, state, A::Invite),
                    Ok(Transition::To(S::Invited))
                );
            }
            for state in [S::Pending, S::Approved] {
                assert_eq!(
                    transition(mode, Some(state), A::Invite),
                    Err(TransitionRefused::AlreadyEnrolled(state))
                );
            }
            for state in [None, Some(S::Invited)] {
                assert_eq!(
                    transition(mode, state, A::AcceptInvite),
                    Ok(Transition::To(S::Approved))
                );
            }
            assert_eq!(
                transition(mode, Some(S::Approved), A::AcceptInvite),
                Err(TransitionRefused::NotApplicable)
            );
        }
    }

    #[test]
    fn only_a_ban_stops_links() {
        assert!(link_redirects(None));
        for state in [S::Invited, S::Pending, S::Approved, S::Rejected] {
            assert!(link_redirects(Some(state)));
        }
        assert!(!link_redirects(Some(S::Banned)));
    }

    #[test]
    fn invite_tokens_round_trip_hide_in_debug_and_refuse_other_forms() {
        let token = InviteToken::generate().unwrap();
        assert!(token.expose().starts_with("ssi_"));
        assert_eq!(InviteToken::parse(token.expose()), Ok(token.clone()));
        assert_eq!(
            InviteToken::parse(token.expose()).unwrap().hash(),
            token.hash()
        );
        assert!(!format!("{token:?}").contains(&token.expose()[4..]));
        assert!(InviteToken::parse("ssk_abc").is_err());
        assert!(InviteToken::parse("ssi_tooshort").is_err());
    }

    #[test]
    fn an_invitation_is_open_until_it_expires_or_is_accepted() {
        let now = Utc::now();
        let mut invitation = Invitation {
            id: InvitationId::new(),
            program_id: ProgramId::new(),
            email: Email::parse("ana@example.com").unwrap(),
            expires_at: now + Duration::seconds(1),
            accepted_at: None,
            created_at: now,
        };
        assert!(invitation.is_open_at(now));
        assert!(!invitation.is_open_at(now + Duration::seconds(1)));
        invitation.accepted_at = Some(now);
        assert!(!invitation.is_open_at(now));
    }

    #[test]
    fn application_messages_are_bounded_and_may_span_lines() {
        assert!(ApplicationMessage::parse("Hi!\nI post skincare daily.").is_ok());
        assert_eq!(
            ApplicationMessage::parse(&"x".repeat(1001)),
            Err(Invalid::TooLong { max: 1000 })
        );
    }
}
