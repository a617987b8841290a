//! The shopper's path: slug to snapshot (with the cache in front of the store), the click
//! buffer and its flusher, and which user agents are robots.

pub mod click_flush;
pub mod redirect;
pub mod robots;

pub use click_flush::{
    write_isolating, ClickFlusher, ClickJournal, ClickMetrics, ClickRecorder, FlushConfig,
    JournalError, JournalTicket, Recorded, RecorderClosed, ShutdownTimedOut,
};
pub use redirect::{
    CacheConfig, CachedAnswer, CachedResolver, LinkSnapshot, LinkStatus, PreviewCard,
    SnapshotParts, CLICK_ID_PARAM, PREVIEW_DESCRIPTION_CHARS,
};
pub use robots::{classify, is_bot, is_preview_fetcher, Agent};
