//! Shared set-up for SkinStack's criterion benchmarks (the benchmarks are the bench targets).

use async_trait::async_trait;
use skinstack_core::store::ClickSink;
use skinstack_core::store::RepoResult;
use skinstack_core::Click;

/// A sink that accepts and forgets clicks, to measure the buffer alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardSink;

#[async_trait]
impl ClickSink for DiscardSink {
    async fn record_clicks(&self, _clicks: &[Click]) -> RepoResult<()> {
        Ok(())
    }
}

// Compiles and runs the README's examples as doc tests, so they cannot rot. They live here, the
// one crate that may depend on all the others.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
