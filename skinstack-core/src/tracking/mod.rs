//! The shopper's path: slug to snapshot (with the cache in front of the store), the click
//! buffer and its flusher, which user agents are robots, what a click says about its visitor
//! (device, OS, browser, app, referring domain), the daily roll-ups statistics read, and how
//! long raw clicks are kept.

pub(crate) mod agent_memo;
pub mod breakdown;
pub mod click_flush;
pub mod redirect;
pub mod retention;
pub mod robots;
pub mod rollup;
pub mod visitor;

pub use breakdown::{Dimension, Scope, Visit, VisitKey};
pub use click_flush::{
    write_isolating, ClickFlusher, ClickJournal, ClickMetrics, ClickRecorder, FlushConfig,
    JournalError, JournalTicket, Recorded, RecorderClosed, ShutdownTimedOut,
};
pub use redirect::{
    CacheConfig, CachedAnswer, CachedResolver, LinkSnapshot, LinkStatus, PreviewCard,
    SnapshotParts, CLICK_ID_PARAM, PREVIEW_DESCRIPTION_CHARS,
};
pub use retention::{Retention, MIN_RETENTION_MONTHS};
pub use robots::{classify, is_bot, is_preview_fetcher, Agent};
pub use rollup::{rollup_day, ClickCounts, DailyClicks, DailyRollups, DayRollup};
pub use visitor::{referrer_domain, Browser, Device, Os, Platform, UserAgentFacts, Visitor};
