//! The reference server (placeholder until `serve` lands).
fn main() {}
