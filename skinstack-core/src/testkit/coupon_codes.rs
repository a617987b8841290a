//! The contract for coupon codes: unique per merchant in any case among the codes not revoked
//! (decided atomically, so concurrent claims get one owner), state changes only from the state
//! expected, cascades with the owning link and merchant, and attribution through the store by
//! the owned code only, from its assignment until its revocation.

use super::conversions::*;
use super::*;
use crate::service::conversions::record_conversion;
use chrono::{DateTime, Duration, Utc};

/// When [`cast`]'s codes are assigned: well before [`t0`], so every order of the ledger cases
/// (placed at `t0` or later, or at most two days before) attributes.
pub fn codes_assigned_at() -> DateTime<Utc> {
    t0() - Duration::days(30)
}

/// Stores `code` for `link` of `merchant`, assigned at `at` (`None`: requested), straight
/// through the store.
pub async fn store_code<S: CouponCodeRepo + ?Sized>(
    store: &S,
    merchant: MerchantId,
    link: LinkId,
    code: &str,
    at: Option<DateTime<Utc>>,
) -> RepoResult<CouponCode> {
    store
        .insert_coupon_code(NewCouponCode {
            id: CouponCodeId::new(),
            merchant_id: merchant,
            code: CodeText::parse(code).expect("valid code"),
            link_id: link,
            created_at: at.unwrap_or(t0()),
            assigned_at: at,
        })
        .await
}

/// Assigns `code` to `link` of the fixture's merchant at `at`.
pub async fn assign_code<S: CouponCodeRepo + ?Sized>(
    store: &S,
    f: &Fixture,
    link: LinkId,
    code: &str,
    at: DateTime<Utc>,
) -> CouponCode {
    store_code(store, f.merchant.id, link, code, Some(at))
        .await
        .expect("code assigned")
}

/// A second influencer with a link of her own on the fixture's program.
async fn second_influencer<S: LedgerStore>(store: &S, f: &Fixture, slug: &str) -> TrackingLink {
    let user = store.create_user(new_user(Role::Influencer)).await.unwrap();
    let bea = store
        .create_influencer(new_influencer(user.id))
        .await
        .unwrap();
    store
        .insert_link(NewLink {
            influencer_id: bea.id,
            ..new_link(f, slug)
        })
        .await
        .unwrap()
}

/// The contract cases for coupon codes.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn coupon_codes_round_trip_and_are_listed_per_merchant_and_influencer<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "ana-codes")).await.unwrap();
        let assigned = assign_code(store, &f, link.id, "Ana20", t0()).await;
        assert_eq!(assigned.code.as_str(), "Ana20", "stored as given");
        assert_eq!(
            (assigned.state, assigned.influencer_id, assigned.link_id),
            (CouponState::Assigned, f.influencer.id, link.id)
        );
        assert_eq!(
            (
                assigned.created_at,
                assigned.assigned_at,
                assigned.revoked_at
            ),
            (t0(), Some(t0()), None)
        );
        assert_eq!(
            store.coupon_code_by_id(assigned.id).await.unwrap(),
            assigned
        );
        let requested = store_code(store, f.merchant.id, link.id, "ANA-SPRING", None)
            .await
            .unwrap();
        assert_eq!(
            (requested.state, requested.assigned_at),
            (CouponState::Requested, None)
        );
        let other = Fixture::create(store).await;
        let theirs = store
            .insert_link(new_link(&other, "their-codes"))
            .await
            .unwrap();
        assign_code(store, &other, theirs.id, "THEIRS", t0()).await;

        let mine = store
            .coupon_codes_by_merchant(f.merchant.id, Page::first())
            .await
            .unwrap();
        assert_eq!(
            mine,
            vec![assigned.clone(), requested.clone()],
            "in id order"
        );
        let first = store
            .coupon_codes_by_merchant(f.merchant.id, Page::new(1, None).unwrap())
            .await
            .unwrap();
        let rest = store
            .coupon_codes_by_merchant(f.merchant.id, Page::new(10, Some(first[0].id)).unwrap())
            .await
            .unwrap();
        assert_eq!(
            (first, rest),
            (vec![assigned.clone()], vec![requested.clone()])
        );
        assert_eq!(
            store
                .coupon_codes_by_influencer(f.influencer.id, Page::first())
                .await
                .unwrap(),
            vec![assigned, requested]
        );
        assert_eq!(
            store
                .coupon_codes_by_influencer(other.influencer.id, Page::first())
                .await
                .unwrap()
                .len(),
            1
        );
        assert_err!(
            store.coupon_code_by_id(CouponCodeId::new()).await,
            RepoError::NotFound(Entity::CouponCode)
        );
    }

    pub async fn coupon_codes_are_unique_per_merchant_in_any_case_until_revoked<S: LedgerStore>(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "ana-unique")).await.unwrap();
        let bea = second_influencer(store, &f, "bea-unique").await;
        let anas = assign_code(store, &f, link.id, "ANA20", t0()).await;
        for (spelling, requested) in [("ana20", None), ("Ana20", Some(t0())), ("ANA20", None)] {
            assert_err!(
                store_code(store, f.merchant.id, bea.id, spelling, requested).await,
                RepoError::CodeTaken
            );
        }
        // Another merchant's shop is another namespace.
        let other = Fixture::create(store).await;
        let theirs = store
            .insert_link(new_link(&other, "their-unique"))
            .await
            .unwrap();
        assign_code(store, &other, theirs.id, "ana20", t0()).await;
        // A revoked code is history: its spelling is free for a new owner.
        let revoked = anas.revoked(t0() + Duration::days(1));
        assert!(store
            .transition_coupon_code(CouponState::Assigned, &revoked)
            .await
            .unwrap());
        let beas = assign_code(store, &f, bea.id, "Ana20", t0() + Duration::days(2)).await;
        assert_eq!(beas.influencer_id, bea.influencer_id);
        assert_err!(
            store_code(store, f.merchant.id, link.id, "ANA20", None).await,
            RepoError::CodeTaken
        );
    }

    pub async fn two_influencers_claiming_one_code_concurrently_get_one_owner<
        S: LedgerStore + Clone,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let mut links = vec![store.insert_link(new_link(&f, "claim-0")).await.unwrap()];
        for n in 1..8 {
            links.push(second_influencer(store, &f, &format!("claim-{n}")).await);
        }
        for round in 0..3 {
            let tasks: Vec<_> = links
                .iter()
                .enumerate()
                .map(|(n, link)| {
                    let (store, merchant, link) = (store.clone(), f.merchant.id, link.id);
                    // Every spelling of one code, requested and assigned at once.
                    let spelling = if n % 2 == 0 { "glow-race" } else { "GLOW-RACE" };
                    let code = format!("{spelling}{round}");
                    let at = (n % 3 == 0).then(t0);
                    tokio::spawn(async move { store_code(&store, merchant, link, &code, at).await })
                })
                .collect();
            let mut owners = Vec::new();
            for task in tasks {
                match task.await.expect("task ran") {
                    Ok(code) => owners.push(code),
                    Err(RepoError::CodeTaken) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(owners.len(), 1, "round {round}: {owners:?}");
        }
        let stored = store
            .coupon_codes_by_merchant(f.merchant.id, Page::first())
            .await
            .unwrap();
        assert_eq!(stored.len(), 3);
    }

    pub async fn coupon_codes_change_state_only_from_the_state_expected<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store.insert_link(new_link(&f, "ana-states")).await.unwrap();
        let asked = store_code(store, f.merchant.id, link.id, "ASKED", None)
            .await
            .unwrap();
        let approved = asked.approved(t0() + Duration::hours(1)).unwrap();
        assert!(store
            .transition_coupon_code(CouponState::Requested, &approved)
            .await
            .unwrap());
        // A second approval raced the first: it finds the code assigned and changes nothing.
        let late = asked.approved(t0() + Duration::hours(2)).unwrap();
        assert!(!store
            .transition_coupon_code(CouponState::Requested, &late)
            .await
            .unwrap());
        assert_eq!(store.coupon_code_by_id(asked.id).await.unwrap(), approved);
        let revoked = approved.revoked(t0() + Duration::days(3));
        assert!(store
            .transition_coupon_code(CouponState::Assigned, &revoked)
            .await
            .unwrap());
        let stored = store.coupon_code_by_id(asked.id).await.unwrap();
        assert_eq!(stored, revoked);
        assert_eq!(
            (stored.assigned_at, stored.revoked_at),
            (
                Some(t0() + Duration::hours(1)),
                Some(t0() + Duration::days(3))
            )
        );
        let declined = store_code(store, f.merchant.id, link.id, "DECLINED", None)
            .await
            .unwrap();
        let gone = declined.revoked(t0());
        assert!(store
            .transition_coupon_code(CouponState::Requested, &gone)
            .await
            .unwrap());
        assert_eq!(store.coupon_code_by_id(declined.id).await.unwrap(), gone);
        assert_err!(
            store
                .transition_coupon_code(
                    CouponState::Requested,
                    &CouponCode {
                        id: CouponCodeId::new(),
                        ..gone
                    }
                )
                .await,
            RepoError::NotFound(Entity::CouponCode)
        );
    }

    pub async fn coupon_codes_need_and_go_with_their_link_and_merchant<S: LedgerStore>(store: &S) {
        let f = Fixture::create(store).await;
        let link = store
            .insert_link(new_link(&f, "ana-cascade"))
            .await
            .unwrap();
        assert_err!(
            store_code(store, f.merchant.id, LinkId::new(), "NOLINK", None).await,
            RepoError::NotFound(Entity::Link)
        );
        assert_err!(
            store_code(store, MerchantId::new(), link.id, "NOMERCHANT", None).await,
            RepoError::NotFound(Entity::Merchant)
        );
        let code = assign_code(store, &f, link.id, "GONE", t0()).await;
        store.delete_link(link.id).await.unwrap();
        assert_err!(
            store.coupon_code_by_id(code.id).await,
            RepoError::NotFound(Entity::CouponCode)
        );
        // The code went with its link, and its spelling with it.
        let again = store.insert_link(new_link(&f, "ana-again")).await.unwrap();
        let code = assign_code(store, &f, again.id, "GONE", t0()).await;
        store.delete_merchant(f.merchant.id).await.unwrap();
        assert_err!(
            store.coupon_code_by_id(code.id).await,
            RepoError::NotFound(Entity::CouponCode)
        );
    }

    pub async fn coupons_attribute_to_the_owner_only_from_assignment_until_revocation<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let f = Fixture::create(store).await;
        let ana = store.insert_link(new_link(&f, "ana-owner")).await.unwrap();
        // Bea copies Ana's code onto her own link as its campaign code: it takes nothing.
        let bea = second_influencer(store, &f, "bea-thief").await;
        assert_eq!(
            bea.campaign_code,
            Some(CampaignCode::parse("ANA20").unwrap())
        );
        let coupon = |id: &str, at: DateTime<Utc>| {
            let mut o = order(&f, id, cents(4500), at);
            o.coupon_code = Some(CampaignCode::parse("ana20").unwrap());
            o
        };
        let attributed =
            |r: crate::service::conversions::Recorded| r.conversion.attribution.map(|a| a.link_id);
        let r = record_conversion(store, t0(), coupon("before-any-code", t0()))
            .await
            .unwrap();
        assert_eq!(
            attributed(r),
            None,
            "a link's campaign code attributes nothing"
        );
        let code = store_code(store, f.merchant.id, ana.id, "ANA20", None)
            .await
            .unwrap();
        let r = record_conversion(
            store,
            t0() + Duration::hours(1),
            coupon("while-requested", t0() + Duration::hours(1)),
        )
        .await
        .unwrap();
        assert_eq!(attributed(r), None, "a requested code attributes nothing");
        let assigned_at = t0() + Duration::days(1);
        let code = code.approved(assigned_at).unwrap();
        assert!(store
            .transition_coupon_code(CouponState::Requested, &code)
            .await
            .unwrap());
        let cases = [
            ("a-second-before", assigned_at - Duration::seconds(1), None),
            ("at-assignment", assigned_at, Some(ana.id)),
            ("later", assigned_at + Duration::days(1), Some(ana.id)),
        ];
        for (id, at, expected) in cases {
            let r = record_conversion(store, at, coupon(id, at)).await.unwrap();
            assert_eq!(attributed(r), expected, "{id}");
        }
        let revoked_at = assigned_at + Duration::days(5);
        assert!(store
            .transition_coupon_code(CouponState::Assigned, &code.revoked(revoked_at))
            .await
            .unwrap());
        let cases = [
            // Reported after the revocation but placed before it: still the owner's.
            (
                "placed-before-revocation",
                revoked_at - Duration::seconds(1),
                Some(ana.id),
            ),
            ("at-revocation", revoked_at, None),
        ];
        for (id, at, expected) in cases {
            let r = record_conversion(store, revoked_at + Duration::hours(1), coupon(id, at))
                .await
                .unwrap();
            assert_eq!(attributed(r), expected, "{id}");
        }
        // Past attributions stand.
        let later = store
            .conversion_by_order(f.merchant.id, &ShopRef::parse("later").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(later.attribution.map(|a| a.link_id), Some(ana.id));
        let l = store.link_by_id(ana.id).await.unwrap();
        assert_eq!(l.total_conversions, 3);
        assert_eq!(store.link_by_id(bea.id).await.unwrap().total_conversions, 0);
        assert_totals_match_ledger(store, f.merchant.id, &[ana.id, bea.id], &[f.influencer.id])
            .await;
    }
}
