//! The storage contract, run against the in-memory store.
#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use skinstack_core::MemoryStore;

skinstack_core::contract_suite! {
    #[tokio::test]
    fn setup() -> MemoryStore { MemoryStore::new() }
}
