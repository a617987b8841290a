//! The contract for programs: they need their merchant; "open" means active programs of active merchants.

use super::*;

/// The contract cases for this aggregate.
#[allow(missing_docs)]
pub mod cases {
    use super::*;
    use crate::store::{Entity, RepoError};

    pub async fn programs_round_trip<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let pct = store
            .create_program(new_program(merchant.id))
            .await
            .unwrap();
        let fixed = NewProgram {
            commission: Commission::fixed(Money::new(Decimal::new(1250, 2)).unwrap()).unwrap(),
            cookie_window: CookieWindow::new(7).unwrap(),
            platform_fee_rate: FeeRate::new(Decimal::new(15, 2)).unwrap(),
            network: Network::Impact,
            enrollment_mode: EnrollmentMode::Invite,
            ..new_program(merchant.id)
        };
        let fixed = store.create_program(fixed.clone()).await.unwrap();
        assert_eq!(store.program_by_id(pct.id).await.unwrap(), pct);
        let stored = store.program_by_id(fixed.id).await.unwrap();
        assert_eq!(stored, fixed);
        assert_eq!(stored.cookie_window.days(), 7);
        assert_eq!(stored.platform_fee_rate.fraction(), Decimal::new(15, 2));
        assert!(
            matches!(stored.commission, Commission::Fixed(m) if m.amount() == Decimal::new(1250, 2))
        );
        let listed: Vec<_> = store
            .programs_by_merchant(merchant.id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(listed, vec![pct.id, fixed.id]);
        assert!(
            !store
                .set_program_active(pct.id, false)
                .await
                .unwrap()
                .is_active
        );
        assert!(!store.program_by_id(pct.id).await.unwrap().is_active);
    }

    pub async fn programs_need_their_merchant<S: Store>(store: &S) {
        assert_err!(
            store.create_program(new_program(MerchantId::new())).await,
            RepoError::NotFound(Entity::Merchant)
        );
    }

    pub async fn programs_can_be_updated<S: Store>(store: &S) {
        let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
        let program = store
            .create_program(new_program(merchant.id))
            .await
            .unwrap();
        let fixed = Commission::fixed(Money::new(Decimal::new(500, 2)).unwrap()).unwrap();
        let patch = ProgramPatch {
            name: Some(text("Glow VIP")),
            network: Some(Network::Levanta),
            commission: Some(fixed),
            cookie_window: Some(CookieWindow::new(60).unwrap()),
            enrollment_mode: Some(EnrollmentMode::Open),
        };
        let updated = store.update_program(program.id, patch).await.unwrap();
        assert_eq!(updated.name.as_str(), "Glow VIP");
        assert_eq!(updated.network, Network::Levanta);
        assert_eq!(updated.commission, fixed);
        assert_eq!(updated.cookie_window.days(), 60);
        assert_eq!(updated.enrollment_mode, EnrollmentMode::Open);
        assert_eq!(updated.platform_fee_rate, program.platform_fee_rate);
        assert_eq!(store.program_by_id(program.id).await.unwrap(), updated);
        // Back to a percentage: the old fixed amount must not linger as a second commission.
        let pct = Commission::Percentage(CommissionRate::new(Decimal::new(125, 1)).unwrap());
        let back = store
            .update_program(
                program.id,
                ProgramPatch {
                    commission: Some(pct),
                    ..ProgramPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(back.commission, pct);
        assert_eq!(store.program_by_id(program.id).await.unwrap(), back);
        assert_err!(
            store
                .update_program(ProgramId::new(), ProgramPatch::default())
                .await,
            RepoError::NotFound(Entity::Program)
        );
    }

    pub async fn open_programs_are_active_programs_of_active_merchants<S: Store>(store: &S) {
        let open = Fixture::create(store).await;
        let paused = Fixture::create(store).await;
        store
            .set_program_active(paused.program.id, false)
            .await
            .unwrap();
        let closed = Fixture::create(store).await;
        store
            .set_merchant_active(closed.merchant.id, false)
            .await
            .unwrap();
        let second = store
            .create_program(new_program(open.merchant.id))
            .await
            .unwrap();
        let all = store.open_programs(Page::first()).await.unwrap();
        assert_eq!(
            all.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![open.program.id, second.id]
        );
        let paged = store
            .open_programs(Page::new(1, Some(open.program.id)).unwrap())
            .await
            .unwrap();
        assert_eq!(
            paged.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![second.id]
        );
    }
    /// Every combination of an active or inactive merchant, verified or not, an active or
    /// inactive program and a product in a program or in none: the store's open lists hold exactly what core's
    /// `is_open` admits (the rule is written once in core; PostgreSQL filters in SQL).
    pub async fn open_lists_follow_the_core_rule<S: Store>(store: &S) {
        let mut programs = Vec::new();
        let mut products = Vec::new();
        for (merchant_active, verified) in
            [(true, true), (true, false), (false, true), (false, false)]
        {
            let merchant = store.create_merchant(new_merchant(None)).await.unwrap();
            for program_active in [true, false] {
                let program = store
                    .create_program(new_program(merchant.id))
                    .await
                    .unwrap();
                store
                    .set_program_active(program.id, program_active)
                    .await
                    .unwrap();
                let sku = format!("in-{}", program.id);
                let product = store
                    .create_product(new_product(merchant.id, Some(program.id), &sku))
                    .await
                    .unwrap();
                programs.push(program.id);
                products.push(product.id);
            }
            let loose = store
                .create_product(new_product(merchant.id, None, "loose"))
                .await
                .unwrap();
            products.push(loose.id);
            store
                .set_merchant_active(merchant.id, merchant_active)
                .await
                .unwrap();
            if verified {
                store
                    .set_merchant_verification(merchant.id, verified_now())
                    .await
                    .unwrap();
            }
        }
        let mut expected_programs = Vec::new();
        for id in &programs {
            let program = store.program_by_id(*id).await.unwrap();
            let merchant = store.merchant_by_id(program.merchant_id).await.unwrap();
            if program.is_open(&merchant) {
                expected_programs.push(*id);
            }
        }
        let mut expected_products = Vec::new();
        for id in &products {
            let product = store.product_by_id(*id).await.unwrap();
            let merchant = store.merchant_by_id(product.merchant_id).await.unwrap();
            let program = match product.program_id {
                Some(p) => Some(store.program_by_id(p).await.unwrap()),
                None => None,
            };
            if product.is_open(&merchant, program.as_ref()) {
                expected_products.push(*id);
            }
        }
        expected_programs.sort();
        expected_products.sort();
        // One open program and two open products (in it, and in no program) of the active,
        // verified merchant: the rule admits something and refuses the rest.
        assert_eq!((expected_programs.len(), expected_products.len()), (1, 2));
        let open_programs: Vec<_> = store
            .open_programs(Page::largest(None))
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(open_programs, expected_programs);
        let open_products: Vec<_> = store
            .list_products(&ProductQuery {
                open_only: true,
                page: Page::largest(None),
                ..ProductQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(open_products, expected_products);
    }
}
