//! "Open": what influencers may browse and link to. The one statement of the rule; the
//! in-memory store and the services call it, PostgreSQL's queries filter by it (the contract
//! case `open_lists_follow_the_core_rule` proves both stores list exactly what it admits).

use super::{Merchant, Product, Program};

/// Whether something of a merchant, in a program or in none, is open to influencers: the
/// merchant is open ([`Merchant::is_open`]: active and verified) and the program, if there is
/// one, is active too. `program_active` is `None` for a product promoted under no program.
pub const fn is_open(merchant_open: bool, program_active: Option<bool>) -> bool {
    merchant_open && !matches!(program_active, Some(false))
}

impl Program {
    /// Whether influencers see this program: it is active and `merchant` (its merchant) is
    /// active and verified.
    pub fn is_open(&self, merchant: &Merchant) -> bool {
        debug_assert_eq!(self.merchant_id, merchant.id, "not the program's merchant");
        is_open(merchant.is_open(), Some(self.is_active))
    }
}

impl Product {
    /// Whether influencers see this product: `merchant` (its merchant) is active and verified,
    /// and `program` (its program), if it has one, is active.
    pub fn is_open(&self, merchant: &Merchant, program: Option<&Program>) -> bool {
        debug_assert_eq!(self.merchant_id, merchant.id, "not the product's merchant");
        debug_assert_eq!(
            self.program_id,
            program.map(|p| p.id),
            "not the product's program"
        );
        is_open(merchant.is_open(), program.map(|p| p.is_active))
    }
}

#[cfg(test)]
mod tests {
    use super::is_open;

    #[test]
    fn open_needs_an_active_merchant_and_an_active_program_if_there_is_one() {
        assert!(is_open(true, Some(true)));
        assert!(
            is_open(true, None),
            "a product in no program is its merchant's"
        );
        assert!(!is_open(true, Some(false)));
        assert!(!is_open(false, Some(true)));
        assert!(!is_open(false, None));
        assert!(!is_open(false, Some(false)));
    }
}
