//! The storage contract, run against the in-memory store.

use skinstack_core::MemoryStore;

skinstack_core::contract_suite! {
    #[tokio::test]
    fn setup() -> MemoryStore { MemoryStore::new() }
}
