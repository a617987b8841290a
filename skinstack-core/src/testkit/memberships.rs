//! Program memberships and invitations: one membership per influencer and program (also
//! under concurrency), compare-and-set state changes, cascades, per-member counts both stores
//! compute alike, invitations accepted once, and a ban reaching the resolver.

use super::conversions::{cast, cents, click_at, order, t0};
use super::*;
use crate::auth::TokenHash;
use crate::service::conversions::record_conversion;
use crate::tracking::LinkStatus;
use chrono::{Duration, Utc};

/// A second influencer, with no membership of anything.
pub async fn newcomer<S: Store + ?Sized>(store: &S) -> Influencer {
    let user = store
        .create_user(new_user(Role::Influencer))
        .await
        .expect("user");
    store
        .create_influencer(new_influencer(user.id))
        .await
        .expect("influencer")
}

/// An application of `influencer` to the fixture's program.
pub fn application(f: &Fixture, influencer: InfluencerId) -> NewMembership {
    NewMembership {
        program_id: f.program.id,
        influencer_id: influencer,
        state: MembershipState::Pending,
        message: Some(ApplicationMessage::parse("I post skincare routines daily.").unwrap()),
    }
}

/// An invitation to the fixture's program for `email`, valid for a day from `t0`.
fn invitation(f: &Fixture, email: &str, token: &InviteToken) -> NewInvitation {
    NewInvitation {
        program_id: f.program.id,
        email: Email::parse(email).unwrap(),
        token_hash: token.hash(),
        expires_at: t0() + Duration::days(1),
    }
}

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn memberships_round_trip_one_per_influencer_and_program<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let ana = f.influencer.id;
        let member = store.membership_of(f.program.id, ana).await.unwrap();
        assert_eq!(member.map(|m| m.state), Some(MembershipState::Approved));

        let bea = newcomer(store).await;
        assert_eq!(
            store.membership_of(f.program.id, bea.id).await.unwrap(),
            None
        );
        let applied = store
            .insert_membership(application(&f, bea.id))
            .await
            .unwrap();
        assert_eq!(applied.state, MembershipState::Pending);
        assert_eq!(
            applied.message.as_ref().map(|m| m.as_str()),
            Some("I post skincare routines daily.")
        );
        assert_eq!(
            store.membership_of(f.program.id, bea.id).await.unwrap(),
            Some(applied.clone())
        );
        assert_err!(
            store.insert_membership(application(&f, bea.id)).await,
            RepoError::MembershipExists
        );
        let listed = store.memberships_of_influencer(bea.id).await.unwrap();
        assert_eq!(listed, vec![applied]);
        assert_err!(
            store
                .insert_membership(NewMembership {
                    program_id: ProgramId::new(),
                    ..application(&f, bea.id)
                })
                .await,
            RepoError::NotFound(Entity::Program)
        );
        assert_err!(
            store
                .insert_membership(application(&f, InfluencerId::new()))
                .await,
            RepoError::NotFound(Entity::Influencer)
        );
    }

    pub async fn concurrent_applications_give_one_membership<S: Store + Clone>(store: &S) {
        let f = Fixture::create(store).await;
        let bea = newcomer(store).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, new) = (store.clone(), application(&f, bea.id));
                tokio::spawn(async move { store.insert_membership(new).await })
            })
            .collect();
        let (mut won, mut lost) = (0, 0);
        for task in tasks {
            match task.await.expect("task ran") {
                Ok(_) => won += 1,
                Err(RepoError::MembershipExists) => lost += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((won, lost), (1, 7));
        assert_eq!(
            store.memberships_of_influencer(bea.id).await.unwrap().len(),
            1
        );
    }

    pub async fn membership_states_move_only_from_the_state_read<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let bea = newcomer(store).await;
        let m = store
            .insert_membership(application(&f, bea.id))
            .await
            .unwrap();
        let approved = store
            .set_membership_state(m.id, MembershipState::Pending, MembershipState::Approved)
            .await
            .unwrap()
            .expect("moved from pending");
        assert_eq!(approved.state, MembershipState::Approved);
        assert!(approved.updated_at >= m.updated_at);
        assert_eq!(
            store
                .set_membership_state(m.id, MembershipState::Pending, MembershipState::Rejected)
                .await
                .unwrap(),
            None,
            "a stale decision changes nothing"
        );
        assert!(!store
            .delete_membership(m.id, MembershipState::Pending)
            .await
            .unwrap());
        assert_eq!(
            store
                .membership_of(f.program.id, bea.id)
                .await
                .unwrap()
                .map(|m| m.state),
            Some(MembershipState::Approved)
        );
        assert!(store
            .delete_membership(m.id, MembershipState::Approved)
            .await
            .unwrap());
        assert_eq!(
            store.membership_of(f.program.id, bea.id).await.unwrap(),
            None
        );
        assert_err!(
            store
                .set_membership_state(m.id, MembershipState::Approved, MembershipState::Banned)
                .await,
            RepoError::NotFound(Entity::Membership)
        );
        // Removed, the pair is free again.
        store
            .insert_membership(application(&f, bea.id))
            .await
            .unwrap();
    }

    pub async fn memberships_go_with_their_program_and_influencer<S: Store>(store: &S) {
        let f = Fixture::create(store).await;
        let token = InviteToken::generate().unwrap();
        store
            .insert_invitation(invitation(&f, "cleo@example.com", &token))
            .await
            .unwrap();
        store.delete_user(f.influencer_user.id).await.unwrap();
        assert!(store
            .memberships_of_influencer(f.influencer.id)
            .await
            .unwrap()
            .is_empty());
        let bea = newcomer(store).await;
        store
            .insert_membership(application(&f, bea.id))
            .await
            .unwrap();
        store.delete_merchant(f.merchant.id).await.unwrap();
        assert!(store
            .memberships_of_influencer(bea.id)
            .await
            .unwrap()
            .is_empty());
        assert_err!(
            store.invitation_by_token(&token.hash()).await,
            RepoError::NotFound(Entity::Invitation)
        );
    }

    pub async fn members_are_listed_by_state_with_the_sums_of_their_links_totals<S: LedgerStore>(
        store: &S,
    ) {
        let (f, link) = cast(store).await;
        // A second link of Ana's in the program, one in another program of the merchant, and
        // one of another influencer: only Ana's two in this program count for her.
        let second = store.insert_link(new_link(&f, "ana-second")).await.unwrap();
        let other_program = store
            .create_program(new_program(f.merchant.id))
            .await
            .unwrap();
        let elsewhere = store
            .insert_link(NewLink {
                program_id: other_program.id,
                campaign_code: None,
                ..new_link(&f, "ana-elsewhere")
            })
            .await
            .unwrap();
        let bea = newcomer(store).await;
        let pending = store
            .insert_membership(application(&f, bea.id))
            .await
            .unwrap();
        for (l, at) in [
            (link.id, t0()),
            (link.id, t0() + Duration::minutes(1)),
            (second.id, t0()),
            (elsewhere.id, t0()),
        ] {
            click_at(store, l, at, false).await;
        }
        click_at(store, link.id, t0(), true).await; // robots do not count
        let c = click_at(store, second.id, t0() + Duration::minutes(2), false).await;
        let mut o = order(&f, "m-1", cents(5000), t0() + Duration::hours(1));
        o.click_id = Some(c);
        record_conversion(store, t0() + Duration::hours(1), o)
            .await
            .unwrap();

        let all = store
            .members_of_program(f.program.id, None, Page::first())
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        let ana = &all[0];
        assert_eq!(ana.membership.influencer_id, f.influencer.id);
        assert_eq!(
            (ana.clicks, ana.conversions, ana.earnings),
            (4, 1, Decimal::new(1000, 2)),
            "Ana's two links in the program, and 20 % of 50.00"
        );
        let mut sums = (0, 0, Decimal::ZERO);
        for id in [link.id, second.id] {
            let l = store.link_by_id(id).await.unwrap();
            sums = (
                sums.0 + l.total_clicks,
                sums.1 + l.total_conversions,
                sums.2 + l.total_commission,
            );
        }
        assert_eq!(
            (ana.clicks, ana.conversions, ana.earnings),
            sums,
            "the ledger's own totals"
        );
        assert_eq!(all[1].membership, pending);
        assert_eq!(
            (all[1].clicks, all[1].conversions, all[1].earnings),
            (0, 0, Decimal::ZERO)
        );

        let approved = store
            .members_of_program(f.program.id, Some(MembershipState::Approved), Page::first())
            .await
            .unwrap();
        assert_eq!(approved.len(), 1);
        assert_eq!(approved[0], *ana);
        let page = Page::new(1, Some(ana.membership.id)).unwrap();
        let next = store
            .members_of_program(f.program.id, None, page)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].membership.id, pending.id);
    }

    pub async fn invitations_are_found_by_token_and_accepted_once<S: Store + Clone>(store: &S) {
        let f = Fixture::create(store).await;
        let token = InviteToken::generate().unwrap();
        let stored = store
            .insert_invitation(invitation(&f, "Cleo@Example.com", &token))
            .await
            .unwrap();
        assert_eq!(stored.email.as_str(), "cleo@example.com");
        assert_eq!(stored.accepted_at, None);
        assert_eq!(
            store.invitation_by_token(&token.hash()).await.unwrap(),
            stored
        );
        assert_err!(
            store
                .invitation_by_token(&TokenHash::from_bytes([7; 32]))
                .await,
            RepoError::NotFound(Entity::Invitation)
        );
        let now = t0() + Duration::hours(1);
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (store, id) = (store.clone(), stored.id);
                tokio::spawn(async move { store.accept_invitation(id, now).await })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            if task.await.expect("task ran").unwrap() {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1, "an invitation is accepted once");
        let after = store.invitation_by_token(&token.hash()).await.unwrap();
        assert_eq!(
            after.accepted_at.map(|t| t.timestamp()),
            Some(now.timestamp())
        );

        let late = InviteToken::generate().unwrap();
        let expiring = store
            .insert_invitation(invitation(&f, "dee@example.com", &late))
            .await
            .unwrap();
        assert!(!store
            .accept_invitation(expiring.id, expiring.expires_at)
            .await
            .unwrap());
        assert_err!(
            store
                .insert_invitation(NewInvitation {
                    program_id: ProgramId::new(),
                    ..invitation(&f, "eve@example.com", &InviteToken::generate().unwrap())
                })
                .await,
            RepoError::NotFound(Entity::Program)
        );
    }

    pub async fn a_banned_members_links_stop_resolving_as_live<S: Store + LinkResolver>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "ana-ban")).await.unwrap();
        let status = || async {
            store
                .resolve(&link.slug)
                .await
                .unwrap()
                .expect("the link resolves")
                .status_at(Utc::now())
        };
        assert_eq!(status().await, LinkStatus::Live);
        let member = store
            .membership_of(f.program.id, f.influencer.id)
            .await
            .unwrap()
            .unwrap();
        store
            .set_membership_state(
                member.id,
                MembershipState::Approved,
                MembershipState::Banned,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status().await, LinkStatus::Gone);
    }
}
