//! Business rules that need storage. Each function takes the repositories it uses, so a
//! test can hand it the in-memory store or mocks.

pub mod links;
