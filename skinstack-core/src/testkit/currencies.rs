//! The contract for currencies: merchants settling in EUR, JPY and USD with one influencer.
//! Each merchant's orders, statements and totals stay in its currency, the influencer's
//! balances and payout items stay apart per currency, and a merchant's currency is fixed once
//! it has an order.

use super::conversions::*;
use super::invoices::fund_everything;
use super::*;
use crate::earning::EarningsSummary;
use crate::service::conversions::*;
use crate::service::payouts::create_payouts;
use chrono::Duration;

/// The contract cases for currencies.
#[allow(missing_docs)]
pub mod cases {
    use super::*;

    pub async fn each_currency_keeps_its_own_orders_balances_statements_and_payouts<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let (f, usd_link) = cast(store).await;
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        // Two more brands, settling in EUR and JPY, with the same influencer as a member.
        let mut links = vec![(f.merchant.id, Currency::USD, usd_link.id)];
        for (currency, slug) in [(eur, "ana-eur"), (jpy, "ana-jpy")] {
            let brand = Fixture::create(store).await;
            let patch = MerchantPatch {
                currency: Some(currency),
                ..MerchantPatch::default()
            };
            let merchant = store
                .update_merchant(brand.merchant.id, patch)
                .await
                .unwrap();
            assert_eq!(merchant.currency, currency);
            // The default maximum order (10 000.00) is in the merchant's currency: a yen shop
            // sets its own, or ¥12,345 would be held for review.
            let max = Money::new(Decimal::new(1_000_000, 0)).unwrap();
            let max = MaxOrderAmount::new(max).unwrap();
            store.set_max_order_amount(merchant.id, max).await.unwrap();
            store
                .insert_membership(NewMembership {
                    program_id: brand.program.id,
                    influencer_id: f.influencer.id,
                    state: MembershipState::Approved,
                    message: None,
                })
                .await
                .unwrap();
            let link = store
                .insert_link(NewLink {
                    influencer_id: f.influencer.id,
                    ..new_link(&brand, slug)
                })
                .await
                .unwrap();
            // Programs, products and links read their merchant's currency, changed or not.
            assert_eq!(link.currency, currency);
            assert_eq!(
                store
                    .program_by_id(brand.program.id)
                    .await
                    .unwrap()
                    .currency,
                currency
            );
            assert_eq!(
                store
                    .product_by_id(brand.product.id)
                    .await
                    .unwrap()
                    .currency,
                currency
            );
            assert_eq!(store.link_by_id(link.id).await.unwrap().currency, currency);
            links.push((merchant.id, currency, link.id));
        }
        // One order through a click on each: 45.00 USD, 45.00 EUR, ¥12,345 at 20 %.
        let amounts = [
            cents(4500),
            cents(4500),
            Money::new(Decimal::new(12345, 0)).unwrap(),
        ];
        for (i, ((merchant, currency, link), amount)) in links.iter().zip(amounts).enumerate() {
            let click = click_at(store, *link, t0() - Duration::hours(1), false).await;
            let mut o = order(&f, &format!("multi-{i}"), amount, t0());
            o.merchant_id = *merchant;
            o.currency = *currency;
            o.click_id = Some(click);
            let recorded = record_conversion(store, t0(), o).await.unwrap();
            assert_eq!(recorded.conversion.currency, *currency);
            assert!(recorded.conversion.attribution.is_some());
        }
        // ¥12,345 × 20 % = 2,469; fee 493.8 → ¥494; earnings ¥1,975: whole yen.
        let yen = store
            .conversion_by_order(links[2].0, &ShopRef::parse("multi-2").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                yen.commission.gross,
                yen.commission.platform_fee,
                yen.commission.influencer_earnings
            ),
            (
                Decimal::new(2469, 0),
                Decimal::new(494, 0),
                Decimal::new(1975, 0)
            )
        );
        // An order in another currency than the merchant's is refused, and nothing is kept.
        let mut dollars_to_euros = order(&f, "multi-wrong", cents(1000), t0());
        dollars_to_euros.merchant_id = links[1].0;
        let err = record_conversion(store, t0(), dollars_to_euros)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConversionError::WrongCurrency { expected, reported: Currency::USD } if expected == eur),
            "{err:?}"
        );
        assert!(store
            .conversion_by_order(links[1].0, &ShopRef::parse("multi-wrong").unwrap())
            .await
            .unwrap()
            .is_none());
        // With an order recorded, the currency is fixed.
        let change = MerchantPatch {
            currency: Some(Currency::USD),
            ..MerchantPatch::default()
        };
        assert!(matches!(
            store.update_merchant(links[1].0, change).await,
            Err(RepoError::CurrencyLocked)
        ));
        // Approved and billed: one statement per merchant, in its currency.
        let approved_at = t0() + Duration::days(31);
        approve_due(store, approved_at).await.unwrap();
        let statements = fund_everything(store, approved_at).await;
        for (merchant, currency, _) in &links {
            let theirs: Vec<_> = statements
                .iter()
                .filter(|s| s.merchant_id == *merchant)
                .collect();
            assert_eq!(theirs.len(), 1, "{statements:?}");
            assert_eq!(theirs[0].currency, *currency);
        }
        let balances = store.earnings_summary(f.influencer.id).await.unwrap();
        let approved: Vec<(Currency, Decimal)> =
            balances.iter().map(|s| (s.currency, s.approved)).collect();
        assert_eq!(
            approved,
            [
                (eur, Decimal::new(720, 2)),
                (jpy, Decimal::new(1975, 0)),
                (Currency::USD, Decimal::new(720, 2)),
            ],
            "one balance per currency, by code, never added together"
        );
        // The seed totals hold the first currency earned in.
        let influencer = store.influencer_by_id(f.influencer.id).await.unwrap();
        assert_eq!(influencer.primary_currency, Some(Currency::USD));
        assert_eq!(influencer.total_earned, Decimal::new(720, 2));
        // A payout pays each currency as its own item, the yen above its own minimum.
        let provider = RecordingProvider::default();
        let minimums = crate::earning::PayoutMinimums {
            default: cents(500),
            by_currency: [(jpy, Money::new(Decimal::new(1000, 0)).unwrap())]
                .into_iter()
                .collect(),
        };
        let run = create_payouts(store, &provider, approved_at, minimums)
            .await
            .unwrap();
        let batch = run.batch.expect("a batch");
        let items: Vec<(Currency, Decimal)> = batch
            .items
            .iter()
            .map(|i| (i.currency, i.amount.amount()))
            .collect();
        assert_eq!(
            items,
            [
                (eur, Decimal::new(720, 2)),
                (jpy, Decimal::new(1975, 0)),
                (Currency::USD, Decimal::new(720, 2)),
            ]
        );
        assert!(batch
            .items
            .iter()
            .all(|i| i.influencer_id == f.influencer.id));
        for s in store.earnings_summary(f.influencer.id).await.unwrap() {
            assert_eq!(
                (s.approved, s.balance),
                (Decimal::ZERO, Decimal::ZERO),
                "{s:?}"
            );
            assert_ne!(s, EarningsSummary::default());
        }
        // Each merchant's ledger is one currency; the influencer's seed totals were checked
        // above (they span merchants, which this check reads one at a time).
        for (merchant, _, link) in &links {
            assert_totals_match_ledger(store, *merchant, &[*link], &[]).await;
        }
    }

    pub async fn a_currency_change_racing_a_first_order_never_leaves_an_order_in_another_currency<
        S: LedgerStore,
    >(
        store: &S,
    ) {
        let eur = Currency::parse("EUR").unwrap();
        let (mut changed, mut recorded) = (0, 0);
        for round in 0..12 {
            let f = Fixture::create(store).await;
            let change = MerchantPatch {
                currency: Some(eur),
                ..MerchantPatch::default()
            };
            let first = order(&f, &format!("race-{round}"), cents(4500), t0());
            let (change, first) = tokio::join!(
                store.update_merchant(f.merchant.id, change),
                record_conversion(store, t0(), first)
            );
            let merchant = store.merchant_by_id(f.merchant.id).await.unwrap();
            match (&change, &first) {
                // The change came first: the USD order is refused, nothing kept.
                (Ok(_), Err(ConversionError::WrongCurrency { expected, .. })) => {
                    assert_eq!((*expected, merchant.currency), (eur, eur));
                    changed += 1;
                }
                // The order came first: the change is refused.
                (Err(RepoError::CurrencyLocked), Ok(_)) => {
                    assert_eq!(merchant.currency, Currency::USD);
                    recorded += 1;
                }
                other => panic!("round {round}: {other:?}"),
            }
            let stored = store
                .conversion_by_order(
                    f.merchant.id,
                    &ShopRef::parse(&format!("race-{round}")).unwrap(),
                )
                .await
                .unwrap();
            assert!(
                stored.iter().all(|c| c.currency == merchant.currency),
                "round {round}: {stored:?} under {}",
                merchant.currency
            );
        }
        eprintln!("currency race: the change first {changed} times, the order first {recorded}");
        assert_eq!(changed + recorded, 12);
    }
}
